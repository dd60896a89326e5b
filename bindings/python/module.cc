// The Python module `weir` (compiled part: weir._weir). See
// docs/embedding.md and weir/__init__.pyi for the API.
//
// Thread safety: an Engine may be used from many Python threads at once.
// add() and remove() are serialized by a mutex and publish a new compiled
// snapshot (RuleSet::Update); match() and match_many() release the GIL and
// match on the snapshot current when they start, each call with a Matcher
// taken from a small pool, so matching threads never wait for updates.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "weir/engine.h"
#include "weir/rules.h"

namespace py = pybind11;

namespace weir::python {
namespace {

#ifndef WEIR_VERSION
#define WEIR_VERSION "0.0.0"
#endif

// A Python exception type created at import (weir.RuleError).
PyObject* g_rule_error = nullptr;

struct Pooled {
  std::unique_ptr<Matcher> matcher;
  std::string buffer;  // the event, copied with Matcher::kPadding readable bytes after it
  std::vector<uint32_t> hits;
};

class Engine {
 public:
  Engine() {
    auto empty = RuleSet::Compile({});
    rules_ = *std::move(empty);
  }

  // All the rules of `text` (YAML or JSON) or none: diagnostics raise.
  void Add(const std::string& text, bool replace, const std::string& name) {
    LoadResult r = ParseRules({{name, text}});
    if (!r.ok()) ThrowRuleError(r.diagnostics);
    std::lock_guard<std::mutex> lock(update_mu_);
    std::shared_ptr<const RuleSet> cur = Snapshot();
    std::vector<Diagnostic> dup;
    for (const RuleDef& rule : r.ruleset.rules) {
      if (!replace && cur->Find(rule.id))
        dup.push_back({rule.where, rule.id,
                       "a rule with this id exists already (add(..., replace=True) replaces it)"});
    }
    if (!dup.empty()) ThrowRuleError(dup);
    auto next = RuleSet::Update(cur, std::move(r.ruleset.rules), {});
    if (!next.ok()) throw py::value_error(std::string(next.status().message()));
    Publish(*std::move(next));
  }

  void Remove(const std::string& id) {
    std::lock_guard<std::mutex> lock(update_mu_);
    std::shared_ptr<const RuleSet> cur = Snapshot();
    if (!cur->Find(id)) throw py::key_error(absl::StrCat("no rule '", id, "'"));
    auto next = RuleSet::Update(cur, {}, {id});
    if (!next.ok()) throw py::key_error(std::string(next.status().message()));
    Publish(*std::move(next));
  }

  std::vector<std::string> RuleIds() {
    std::shared_ptr<const RuleSet> rs = Snapshot();
    std::vector<std::string> ids;
    for (size_t i = 0; i < rs->size(); ++i)
      if (!rs->removed(i)) ids.emplace_back(rs->id(i));
    return ids;
  }

  size_t Size() { return Snapshot()->size() - RemovedCount(*Snapshot()); }

  // Ids of the rules `event` matches, in rule order. The GIL is released.
  py::list Match(py::handle event) {
    std::string_view bytes = Bytes(event);
    std::vector<std::string_view> ids;
    std::string error;
    std::shared_ptr<const RuleSet> rs = Snapshot();
    {
      py::gil_scoped_release release;
      std::unique_ptr<Pooled> p = Take(rs);
      error = MatchOne(*p, *rs, bytes, &ids);
      Give(std::move(p));
    }
    if (!error.empty()) throw py::value_error(error);
    py::list out;
    for (std::string_view id : ids) out.append(py::str(id.data(), id.size()));
    return out;
  }

  // One list of ids per event; the first malformed event raises ValueError
  // naming its index. The GIL is released while matching the batch.
  py::list MatchMany(py::iterable events) {
    std::vector<py::object> keep;  // the bytes' owners stay alive
    std::vector<std::string_view> views;
    for (py::handle e : events) {
      keep.push_back(py::reinterpret_borrow<py::object>(e));
      views.push_back(Bytes(e));
    }
    std::shared_ptr<const RuleSet> rs = Snapshot();
    std::vector<std::vector<std::string_view>> all(views.size());
    std::string error;
    size_t bad_at = 0;
    {
      py::gil_scoped_release release;
      std::unique_ptr<Pooled> p = Take(rs);
      for (size_t i = 0; i < views.size(); ++i) {
        error = MatchOne(*p, *rs, views[i], &all[i]);
        if (!error.empty()) {
          bad_at = i;
          break;
        }
      }
      Give(std::move(p));
    }
    if (!error.empty()) throw py::value_error(absl::StrCat("event ", bad_at, ": ", error));
    py::list out;
    for (const auto& ids : all) {
      py::list l;
      for (std::string_view id : ids) l.append(py::str(id.data(), id.size()));
      out.append(std::move(l));
    }
    return out;
  }

 private:
  static size_t RemovedCount(const RuleSet& rs) {
    size_t n = 0;
    for (size_t i = 0; i < rs.size(); ++i) n += rs.removed(i);
    return n;
  }

  [[noreturn]] static void ThrowRuleError(const std::vector<Diagnostic>& diags) {
    std::string msg;
    for (const Diagnostic& d : diags) {
      if (!msg.empty()) msg += "\n";
      msg += d.ToString();
    }
    py::list problems;
    for (const Diagnostic& d : diags) {
      py::dict p;
      p["line"] = d.where.line;
      p["column"] = d.where.column;
      p["rule"] = d.rule_id;
      p["message"] = d.message;
      problems.append(p);
    }
    py::object err = py::reinterpret_borrow<py::object>(g_rule_error)(msg);
    err.attr("problems") = problems;
    PyErr_SetObject(g_rule_error, err.ptr());
    throw py::error_already_set();
  }

  static std::string_view Bytes(py::handle event) {
    if (PyUnicode_Check(event.ptr())) {
      Py_ssize_t n = 0;
      const char* s = PyUnicode_AsUTF8AndSize(event.ptr(), &n);
      if (!s) throw py::error_already_set();
      return {s, static_cast<size_t>(n)};
    }
    if (PyBytes_Check(event.ptr()))
      return {PyBytes_AS_STRING(event.ptr()), static_cast<size_t>(PyBytes_GET_SIZE(event.ptr()))};
    throw py::type_error("an event is a str or bytes holding one JSON object");
  }

  // "" on success.
  static std::string MatchOne(Pooled& p, const RuleSet& rs, std::string_view event,
                              std::vector<std::string_view>* ids) {
    p.buffer.assign(event.data(), event.size());
    p.buffer.append(Matcher::kPadding, ' ');
    std::string_view padded(p.buffer.data(), event.size());
    // A malformed event is an error whether or not it would match: check it
    // whole, then match on the same parse.
    absl::Status st = p.matcher->ValidatePadded(padded);
    if (st.ok()) st = p.matcher->MatchPadded(padded, &p.hits);
    if (!st.ok()) return std::string(st.message());
    ids->clear();
    for (uint32_t h : p.hits) ids->push_back(rs.id(h));
    return "";
  }

  std::shared_ptr<const RuleSet> Snapshot() {
    std::lock_guard<std::mutex> lock(snap_mu_);
    return rules_;
  }
  void Publish(std::shared_ptr<const RuleSet> rs) {
    std::lock_guard<std::mutex> lock(snap_mu_);
    rules_ = std::move(rs);
  }

  std::unique_ptr<Pooled> Take(const std::shared_ptr<const RuleSet>& rs) {
    std::unique_ptr<Pooled> p;
    {
      std::lock_guard<std::mutex> lock(pool_mu_);
      if (!pool_.empty()) {
        p = std::move(pool_.back());
        pool_.pop_back();
      }
    }
    if (!p) {
      p = std::make_unique<Pooled>();
      p->matcher = std::make_unique<Matcher>(rs);
    } else if (&p->matcher->rules() != rs.get()) {
      p->matcher->Reset(rs);
    }
    return p;
  }
  void Give(std::unique_ptr<Pooled> p) {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (pool_.size() < 64) pool_.push_back(std::move(p));
  }

  std::mutex update_mu_;  // one add/remove at a time
  std::mutex snap_mu_;    // guards rules_ (held only to copy the pointer)
  std::shared_ptr<const RuleSet> rules_;
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<Pooled>> pool_;
};

}  // namespace
}  // namespace weir::python

PYBIND11_MODULE(_weir, m) {
  using weir::python::Engine;
  m.doc() = "weir: a compiled event-filter and trigger rule engine";
  m.attr("__version__") = WEIR_VERSION;
  py::object value_error = py::reinterpret_borrow<py::object>(PyExc_ValueError);
  weir::python::g_rule_error =
      PyErr_NewExceptionWithDoc("weir.RuleError",
                                "Rules with mistakes; str() lists each as "
                                "'NAME:LINE:COLUMN: rule ID: message', .problems as dicts.",
                                value_error.ptr(), nullptr);
  m.attr("RuleError") = py::handle(weir::python::g_rule_error);

  py::class_<Engine>(m, "Engine",
                     "A set of rules, changed at run time and matched from many threads.")
      .def(py::init<>())
      .def("add", &Engine::Add, py::arg("text"), py::arg("replace") = false,
           py::arg("name") = "<rules>",
           "Adds the rules of a rule file's text (YAML or JSON): all of them, or none when\n"
           "there is a mistake (RuleError, naming each with its line and column). A rule\n"
           "whose id exists already is an error unless replace=True.")
      .def("remove", &Engine::Remove, py::arg("rule_id"),
           "Removes the rule with this id (KeyError if there is none).")
      .def("match", &Engine::Match, py::arg("event"),
           "The ids of the rules that match one event (a JSON object as str or bytes), in\n"
           "rule order. ValueError for a malformed event. Releases the GIL.")
      .def("match_many", &Engine::MatchMany, py::arg("events"),
           "match() for each event of an iterable, in one call that releases the GIL once.\n"
           "ValueError names the index of the first malformed event.")
      .def("rule_ids", &Engine::RuleIds, "The ids of the rules, in rule order.")
      .def("__len__", &Engine::Size);
}
