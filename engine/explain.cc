// Explain: a rule's condition evaluated directly on a parsed copy of the
// event, with the matcher's semantics, recording why each alternative failed.
//
// The matcher decides the same things with indexes over one streaming pass;
// here every clause is evaluated on its own, so the first failing one can be
// named. The parts that decide values (ScalarPredicate, exact decimals, case
// folding, globs) are the engine's own.
#include "weir/explain.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/casefold.h"
#include "engine/decimal.h"
#include "engine/glob.h"
#include "engine/json_token.h"
#include "engine/scalar.h"
#include "simdjson.h"

namespace weir {

namespace od = simdjson::ondemand;

namespace {

absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

std::vector<std::string_view> Split(std::string_view s) {
  std::vector<std::string_view> out;
  for (;;) {
    size_t d = s.find('.');
    out.push_back(s.substr(0, d));
    if (d == std::string_view::npos) return out;
    s.remove_prefix(d + 1);
  }
}

// The event as a tree that keeps what matching looks at: keys in order
// (duplicates too), numbers as written, strings decoded.
struct Node {
  enum Kind : uint8_t { kObject, kArray, kString, kNumber, kTrue, kFalse, kNull };
  Kind kind = kNull;
  std::string text;
  std::vector<std::pair<std::string, Node>> fields;
  std::vector<Node> items;
  Node() = default;  // for clang, as ConfigValue in weir/rule_def.h
};

simdjson::error_code Build(od::value v, Node* out) {
  od::json_type t;
  if (auto e = v.type().get(t)) return e;
  switch (t) {
    case od::json_type::object: {
      out->kind = Node::kObject;
      od::object o;
      if (auto e = v.get_object().get(o)) return e;
      for (auto fr : o) {
        od::field f;
        if (auto e = std::move(fr).get(f)) return e;
        std::string_view key;
        if (auto e = f.unescaped_key().get(key)) return e;
        out->fields.emplace_back(std::string(key), Node{});
        if (auto e = Build(f.value(), &out->fields.back().second)) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::array: {
      out->kind = Node::kArray;
      od::array a;
      if (auto e = v.get_array().get(a)) return e;
      for (auto er : a) {
        od::value el;
        if (auto e = std::move(er).get(el)) return e;
        out->items.emplace_back();
        if (auto e = Build(el, &out->items.back())) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::string: {
      out->kind = Node::kString;
      std::string_view s;
      if (auto e = v.get_string().get(s)) return e;
      out->text = s;
      return simdjson::SUCCESS;
    }
    case od::json_type::number:
      out->kind = Node::kNumber;
      out->text = NumberText(v);
      return simdjson::SUCCESS;
    case od::json_type::boolean: {
      bool b;
      if (auto e = v.get_bool().get(b)) return e;
      out->kind = b ? Node::kTrue : Node::kFalse;
      out->text = b ? "true" : "false";
      return simdjson::SUCCESS;
    }
    case od::json_type::null:
      out->kind = Node::kNull;
      out->text = "null";
      return simdjson::SUCCESS;
  }
  return simdjson::INCORRECT_TYPE;
}

// One scalar at a path, with the array elements it sits in.
struct Value {
  const Node* node;
  std::vector<std::pair<const Node*, size_t>> at;  // (array, element index)
  ScalarType type;
  std::string folded;
  // Parsed when viewed: a DecimalView points into its storage, which moves
  // with the Value.
  mutable std::string num_store;
  mutable DecimalView num;

  ScalarValue View() const {
    bool has_num = type == ScalarType::kNumber && ParseJsonNumber(node->text, &num_store, &num);
    ScalarValue v{type, node->text, has_num ? &num : nullptr, {}};
    if (type == ScalarType::kString) v.folded = folded;
    return v;
  }
};

struct PathValues {
  std::vector<Value> values;
  bool objects = false;  // an object sat where the path ends
};

// The values at `segs` below `v`, as the matcher reads them: arrays stepped
// through at every level; in one object the first occurrence of a key
// counts, a dotted key names the same path as its split form, and is ignored
// when the plain key it starts with came before it; a repeated dotted key
// counts once.
void Collect(const Node& v, const std::vector<std::string_view>& segs, size_t k,
             std::vector<std::pair<const Node*, size_t>>& at, PathValues* out) {
  if (v.kind == Node::kArray) {
    for (size_t i = 0; i < v.items.size(); ++i) {
      at.emplace_back(&v, i);
      Collect(v.items[i], segs, k, at, out);
      at.pop_back();
    }
    return;
  }
  if (v.kind == Node::kObject) {
    if (k == segs.size()) {
      out->objects = true;  // objects are not values
      return;
    }
    std::vector<std::string_view> plain, dotted;
    for (const auto& [key, val] : v.fields) {
      std::string_view kv = key;
      size_t dot = kv.find('.');
      std::string_view first = kv.substr(0, dot);
      if (std::find(plain.begin(), plain.end(), first) != plain.end()) continue;
      if (dot == std::string_view::npos) {
        plain.push_back(kv);
      } else {
        if (std::find(dotted.begin(), dotted.end(), kv) != dotted.end()) continue;
        dotted.push_back(kv);
      }
      // Does the key name segs[k], segs[k+1], ...?
      size_t j = k;
      bool named = true;
      for (std::string_view part : Split(kv)) {
        if (j == segs.size() || part != segs[j]) {
          named = false;
          break;
        }
        ++j;
      }
      if (named) Collect(val, segs, j, at, out);
    }
    return;
  }
  if (k != segs.size()) return;
  Value x;
  x.node = &v;
  x.at = at;
  switch (v.kind) {
    case Node::kString:
      x.type = ScalarType::kString;
      FoldCase(v.text, &x.folded);
      break;
    case Node::kNumber:
      x.type = ScalarType::kNumber;
      break;
    case Node::kTrue: x.type = ScalarType::kTrue; break;
    case Node::kFalse: x.type = ScalarType::kFalse; break;
    default: x.type = ScalarType::kNull; break;
  }
  out->values.push_back(std::move(x));
}

// Whether two values can come from one event object: they must not sit in
// different elements of the same array.
bool Compatible(const Value& a, const Value& b) {
  for (const auto& [arr, i] : a.at)
    for (const auto& [arr2, j] : b.at)
      if (arr == arr2 && i != j) return false;
  return true;
}

// JSON text of a value, strings shortened.
std::string Shown(const Node& n) {
  if (n.kind != Node::kString) return n.text;
  std::string_view s = n.text;
  bool cut = s.size() > FailedCondition::kMaxStringBytes;
  if (cut) {
    size_t end = FailedCondition::kMaxStringBytes;
    // Not inside a UTF-8 sequence.
    while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
    s = s.substr(0, end);
  }
  std::string out = "\"";
  for (char ch : s) {
    unsigned char u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (u < 0x20) {
      char b[8];
      snprintf(b, sizeof b, "\\u%04x", u);
      out += b;
    } else {
      out += ch;
    }
  }
  if (cut) out += "...";
  out += '"';
  return out;
}

std::string Quote(std::string_view s) {
  Node n;
  n.kind = Node::kString;
  n.text = std::string(s);
  return Shown(n);
}

// A canonical decimal as a person writes it: 35, 3.25, 0.001, 1e400.
std::string HumanNumber(std::string_view canonical) {
  DecimalView d = ParseCanonical(canonical);
  if (d.digits.empty()) return "0";
  std::string out = d.neg ? "-" : "";
  const int64_t n = static_cast<int64_t>(d.digits.size());
  if (d.exp > 0 && d.exp <= 21) {
    if (n <= d.exp) {
      absl::StrAppend(&out, Sv(d.digits), std::string(static_cast<size_t>(d.exp - n), '0'));
    } else {
      absl::StrAppend(&out, Sv(d.digits.substr(0, static_cast<size_t>(d.exp))), ".",
                      Sv(d.digits.substr(static_cast<size_t>(d.exp))));
    }
  } else if (d.exp <= 0 && d.exp > -6) {
    absl::StrAppend(&out, "0.", std::string(static_cast<size_t>(-d.exp), '0'), Sv(d.digits));
  } else {
    out += d.digits[0];
    if (n > 1) absl::StrAppend(&out, ".", Sv(d.digits.substr(1)));
    absl::StrAppend(&out, "e", d.exp - 1);
  }
  return out;
}

// Whether the predicate wants exactly one value (for `one of ...`).
bool IsSingleValue(const Predicate& p) {
  switch (p.kind) {
    case PredicateKind::kTextGlob:
    case PredicateKind::kStringGlob:
      return IsLiteralGlob(p.text) || [&] {
        Glob g;
        std::string err;
        return ParseGlob(p.text, &g, &err) && g.is_exact();
      }();
    case PredicateKind::kNumberEq:
    case PredicateKind::kLiteral:
      return true;
    default:
      return false;
  }
}

std::string DescribeGlob(const Predicate& p) {
  const char* what = p.kind == PredicateKind::kTextGlob ? "a value" : "a string";
  const char* fold = p.kind == PredicateKind::kFoldedGlob ? " in any case" : "";
  Glob g;
  std::string err;
  if (!ParseGlob(p.text, &g, &err)) return absl::StrCat(what, " matching ", Quote(p.text));
  if (g.is_exact()) return absl::StrCat(Quote(g.literals[0]), fold);
  if (g.is_any()) return p.kind == PredicateKind::kTextGlob ? "any value" : "any string";
  if (g.is_prefix()) return absl::StrCat(what, " starting with ", Quote(g.literals[0]), fold);
  if (g.is_suffix()) return absl::StrCat(what, " ending with ", Quote(g.literals[0]), fold);
  if (g.stars == 2 && g.leading_star && g.trailing_star && g.literals.size() == 1)
    return absl::StrCat(what, " containing ", Quote(g.literals[0]), fold);
  return absl::StrCat(what, " matching the wildcard ", Quote(p.text), fold);
}

std::string DescribePredicate(const Predicate& p);

std::string DescribeList(const std::vector<Predicate>& preds, bool one_of) {
  std::vector<std::string> parts;
  bool all_single = true;
  for (const Predicate& p : preds) {
    parts.push_back(DescribePredicate(p));
    all_single = all_single && IsSingleValue(p);
  }
  if (parts.size() == 1) return parts[0];
  if (all_single) return absl::StrCat(one_of ? "one of " : "", absl::StrJoin(parts, ", "));
  return absl::StrJoin(parts, " or ");
}

std::string DescribePredicate(const Predicate& p) {
  switch (p.kind) {
    case PredicateKind::kTextGlob:
    case PredicateKind::kStringGlob:
    case PredicateKind::kFoldedGlob:
      return DescribeGlob(p);
    case PredicateKind::kNumberEq:
      return HumanNumber(p.text);
    case PredicateKind::kNumberRange: {
      if (!p.lo.empty() && !p.hi.empty() && !p.lo_open && !p.hi_open)
        return absl::StrCat("a number between ", HumanNumber(p.lo), " and ", HumanNumber(p.hi));
      std::string s = "a number";
      if (!p.lo.empty()) absl::StrAppend(&s, p.lo_open ? " > " : " >= ", HumanNumber(p.lo));
      if (!p.lo.empty() && !p.hi.empty()) s += " and";
      if (!p.hi.empty()) absl::StrAppend(&s, p.hi_open ? " < " : " <= ", HumanNumber(p.hi));
      return s;
    }
    case PredicateKind::kLiteral:
      return p.text;
    case PredicateKind::kCidr:
      return absl::StrCat("an IP address in ", p.text);
    case PredicateKind::kExists:
      return "any value";
    case PredicateKind::kAnythingBut:
      return absl::StrCat("anything but ", DescribeList(p.excluded, false));
  }
  return "?";
}

struct CompiledClause {
  const Clause* clause;
  std::vector<std::unique_ptr<ScalarPredicate>> preds;
  std::vector<std::string_view> segs;
};

struct CompiledRule {
  std::vector<std::vector<CompiledClause>> conjs;
};

}  // namespace

std::string DescribeClause(const Clause& clause) {
  if (clause.negated) {
    bool all_exists = std::all_of(clause.any_of.begin(), clause.any_of.end(),
                                  [](const Predicate& p) { return p.kind == PredicateKind::kExists; });
    if (all_exists) return "absent";
    return absl::StrCat("no value that is ", DescribeList(clause.any_of, true));
  }
  return DescribeList(clause.any_of, true);
}

class Explainer::Impl {
 public:
  Impl(std::vector<RuleDef> rules, const EventLimits& limits)
      : rules_(std::move(rules)),
        limits_(limits),
        parser_(limits.max_event_bytes) {}

  absl::Status Prepare() {
    // Depth is checked before parsing; the parser must not refuse first.
    if (parser_.allocate(4096, std::max<size_t>(limits_.max_depth + 1,
                                                simdjson::DEFAULT_MAX_DEPTH)))
      return absl::ResourceExhaustedError("cannot allocate the JSON parser");
    auto empty = RuleSet::Compile({});
    if (!empty.ok()) return empty.status();
    checker_ = std::make_unique<Matcher>(*empty, limits_);
    compiled_.resize(rules_.size());
    for (size_t r = 0; r < rules_.size(); ++r) {
      for (const Conjunction& conj : rules_[r].condition.any_of) {
        std::vector<CompiledClause> cc;
        for (const Clause& cl : conj.all_of) {
          CompiledClause c;
          c.clause = &cl;
          c.segs = Split(cl.path);
          for (const Predicate& p : cl.any_of) {
            auto sp = ScalarPredicate::Compile(p);
            if (!sp.ok())
              return absl::InvalidArgumentError(
                  absl::StrCat("rule '", rules_[r].id, "': ", sp.status().message()));
            c.preds.push_back(*std::move(sp));
          }
          cc.push_back(std::move(c));
        }
        compiled_[r].conjs.push_back(std::move(cc));
      }
    }
    return absl::OkStatus();
  }

  size_t size() const { return rules_.size(); }
  const RuleDef& rule(size_t i) const { return rules_[i]; }

  absl::Status Explain(std::string_view event, std::vector<RuleExplanation>* out) {
    out->clear();
    buf_.assign(event);
    buf_.append(Matcher::kPadding, ' ');
    std::string_view padded(buf_.data(), event.size());
    // The matcher's full check, so bad lines read as they do in `weir filter`.
    absl::Status st = checker_->ValidatePadded(padded);
    if (!st.ok()) return st;
    root_ = Node{};
    od::document doc;
    auto err = parser_.iterate(simdjson::padded_string_view(buf_.data(), event.size(), buf_.size()))
                   .get(doc);
    od::value v;
    if (!err) err = doc.get_value().get(v);
    if (!err) err = Build(v, &root_);
    if (err)
      return absl::InvalidArgumentError(
          absl::StrCat("invalid JSON: ", simdjson::error_message(err)));
    if (root_.kind != Node::kObject) return absl::InvalidArgumentError("not a JSON object");
    cache_.clear();
    for (size_t r = 0; r < rules_.size(); ++r) out->push_back(ExplainRule(r));
    return absl::OkStatus();
  }

 private:
  const PathValues& At(const CompiledClause& c) {
    auto it = cache_.find(c.clause->path);
    if (it != cache_.end()) return it->second;
    PathValues pv;
    std::vector<std::pair<const Node*, size_t>> at;
    Collect(root_, c.segs, 0, at, &pv);
    return cache_.emplace(c.clause->path, std::move(pv)).first->second;
  }

  static bool Holds(const CompiledClause& c, const Value& v) {
    ScalarValue sv = v.View();
    for (const auto& p : c.preds)
      if (p->Eval(sv)) return true;
    return false;
  }

  static void Fill(const std::vector<const Value*>& vals, FailedCondition* f) {
    f->found_total = vals.size();
    for (size_t i = 0; i < vals.size() && i < FailedCondition::kMaxFound; ++i)
      f->found.push_back(Shown(*vals[i]->node));
  }

  // Backtracking over the positive clauses' satisfying values, pairwise
  // compatible; with the matcher's budget (exhausted: accepted).
  static bool Search(const std::vector<std::vector<const Value*>>& options, size_t k,
                     std::vector<const Value*>& chosen, size_t* budget, bool* exhausted) {
    if (k == options.size()) return true;
    for (const Value* v : options[k]) {
      if ((*budget)-- == 0) {
        *exhausted = true;
        return true;
      }
      bool ok = true;
      for (const Value* c : chosen) ok = ok && Compatible(*c, *v);
      if (!ok) continue;
      chosen.push_back(v);
      if (Search(options, k + 1, chosen, budget, exhausted)) return true;
      chosen.pop_back();
    }
    return false;
  }

  static bool Consistent(const std::vector<std::vector<const Value*>>& options, bool* exhausted) {
    std::vector<const Value*> chosen;
    size_t budget = 1 << 16;
    *exhausted = false;
    return Search(options, 0, chosen, &budget, exhausted);
  }

  AlternativeExplanation ExplainConj(const std::vector<CompiledClause>& conj, bool consistent) {
    AlternativeExplanation alt;
    std::vector<std::vector<const Value*>> options;
    std::vector<size_t> option_clause;
    for (size_t i = 0; i < conj.size(); ++i) {
      const CompiledClause& c = conj[i];
      const PathValues& pv = At(c);
      std::vector<const Value*> sat, all;
      for (const Value& v : pv.values) {
        all.push_back(&v);
        if (Holds(c, v)) sat.push_back(&v);
      }
      FailedCondition f;
      f.clause = i;
      f.path = c.clause->path;
      f.wanted = DescribeClause(*c.clause);
      f.objects = pv.objects;
      if (c.clause->negated) {
        if (sat.empty()) continue;
        f.reason = FailedCondition::Reason::kPresent;
        Fill(sat, &f);
        alt.failed = std::move(f);
        return alt;
      }
      if (sat.empty()) {
        f.reason = all.empty() ? FailedCondition::Reason::kAbsent
                               : FailedCondition::Reason::kNoValueMatched;
        Fill(all, &f);
        alt.failed = std::move(f);
        return alt;
      }
      options.push_back(std::move(sat));
      option_clause.push_back(i);
    }
    if (consistent && options.size() >= 2) {
      bool exhausted;
      if (!Consistent(options, &exhausted)) {
        // The first clause that cannot be met together with those before it.
        size_t k = 2;
        for (; k < options.size(); ++k) {
          std::vector<std::vector<const Value*>> prefix(options.begin(), options.begin() + k);
          if (!Consistent(prefix, &exhausted)) break;
        }
        const CompiledClause& c = conj[option_clause[k - 1]];
        FailedCondition f;
        f.reason = FailedCondition::Reason::kOtherElements;
        f.clause = option_clause[k - 1];
        f.path = c.clause->path;
        f.wanted = DescribeClause(*c.clause);
        Fill(options[k - 1], &f);
        alt.failed = std::move(f);
        return alt;
      }
    }
    alt.matched = true;
    return alt;
  }

  RuleExplanation ExplainRule(size_t r) {
    const RuleDef& def = rules_[r];
    RuleExplanation ex;
    ex.id = def.id;
    ex.enabled = def.enabled;
    bool any = false;
    for (size_t j = 0; j < compiled_[r].conjs.size(); ++j) {
      ex.alternatives.push_back(
          ExplainConj(compiled_[r].conjs[j], def.condition.any_of[j].array_consistent));
      any = any || ex.alternatives.back().matched;
    }
    ex.matched = def.enabled && any;
    return ex;
  }

  std::vector<RuleDef> rules_;
  std::vector<CompiledRule> compiled_;
  EventLimits limits_;
  std::unique_ptr<Matcher> checker_;
  od::parser parser_;
  std::string buf_;
  Node root_;
  std::map<std::string, PathValues> cache_;
};

Explainer::Explainer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Explainer::~Explainer() = default;

absl::StatusOr<std::unique_ptr<Explainer>> Explainer::Create(std::vector<RuleDef> rules,
                                                              const EventLimits& limits) {
  auto impl = std::make_unique<Impl>(std::move(rules), limits);
  absl::Status st = impl->Prepare();
  if (!st.ok()) return st;
  return std::unique_ptr<Explainer>(new Explainer(std::move(impl)));
}

size_t Explainer::size() const { return impl_->size(); }
const RuleDef& Explainer::rule(size_t i) const { return impl_->rule(i); }
absl::Status Explainer::Explain(std::string_view event, std::vector<RuleExplanation>* out) {
  return impl_->Explain(event, out);
}

absl::StatusOr<RuleExplanation> Explain(const RuleDef& rule, std::string_view event) {
  auto ex = Explainer::Create({rule});
  if (!ex.ok()) return ex.status();
  std::vector<RuleExplanation> out;
  absl::Status st = (*ex)->Explain(event, &out);
  if (!st.ok()) return st;
  return std::move(out[0]);
}

}  // namespace weir
