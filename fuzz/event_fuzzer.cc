// Fuzzes matching one event against a fixed rule set (fuzz_rules.h) with small
// limits (max_depth 16, max_event_bytes 4096).
//
// Never crashes, and decides consistently:
// - Match (copying) and MatchPadded (on an exact-size copy whose padding holds
//   JSON-looking garbage, so reads past the event show up) agree;
// - when ValidatePadded accepts the event: both Match calls succeed, a second
//   Match after the validation gives the same rules, a rule set without the
//   array-consistent rules gives the same answer for the other rules, and the
//   slow reference evaluator of the differential test agrees;
// - with rules that name one top-level key (CutRuleDefs), so that events are
//   cut after it: matching and then validating a matched event (as the
//   pipeline does) rejects exactly what ValidatePadded rejects, with its
//   error, unless the event matches nothing, and matches as the reference;
// - when ValidatePadded rejects it: a failing Match gives the same error, and a
//   Match that succeeded (it reads lazily) succeeds again with the same rules;
// - ValidatePadded accepts exactly what the reference's strict JSON parser
//   accepts as one object with valid UTF-8, within the limits;
// - matches are ascending, unique and name enabled rules only.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/allow.h"
#include "fuzz/fuzz_rules.h"
#include "simdjson.h"
#include "tests/reference.h"

namespace {

using weir::Matcher;

struct State {
  std::vector<weir::RuleDef> defs;
  std::shared_ptr<const weir::RuleSet> rules;
  std::shared_ptr<const weir::RuleSet> plain;  // same indexes, array-consistent rules disabled
  std::vector<bool> consistent;                // per rule: has an array-consistent conjunction
  std::unique_ptr<Matcher> m, m_plain;
  std::unique_ptr<weir::testing::Reference> ref;
  // CutRuleDefs: events are cut after `p`, and matched ones validated after
  // the cut.
  std::vector<weir::RuleDef> cut_defs;
  std::unique_ptr<Matcher> m_cut;
  std::unique_ptr<weir::testing::Reference> ref_cut;
};

State& Get() {
  static State* s = [] {
    auto* st = new State;
    const weir::EventLimits limits = weir::fuzz::FuzzLimits();
    st->defs = weir::fuzz::FuzzRuleDefs();
    std::vector<weir::RuleDef> plain = st->defs;
    for (weir::RuleDef& r : plain) {
      bool c = false;
      for (const weir::Conjunction& j : r.condition.any_of) c = c || j.array_consistent;
      st->consistent.push_back(c);
      if (c) r.enabled = false;
    }
    st->rules = weir::fuzz::CompileOrDie(st->defs);
    st->plain = weir::fuzz::CompileOrDie(plain);
    st->m = std::make_unique<Matcher>(st->rules, limits);
    st->m_plain = std::make_unique<Matcher>(st->plain, limits);
    st->ref = std::make_unique<weir::testing::Reference>(st->defs);
    st->cut_defs = weir::fuzz::CutRuleDefs();
    st->m_cut = std::make_unique<Matcher>(weir::fuzz::CompileOrDie(st->cut_defs), limits);
    st->ref_cut = std::make_unique<weir::testing::Reference>(st->cut_defs);
    return st;
  }();
  return *s;
}

std::string Ids(const State& s, const std::vector<uint32_t>& v) {
  std::string out;
  for (uint32_t i : v) out += (i < s.defs.size() ? s.defs[i].id : "#" + std::to_string(i)) + " ";
  return out;
}

[[noreturn]] void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "\n*** event_fuzzer: %s\n%s\n", what, detail.c_str());
  std::abort();
}

std::string Show(const char* name, const absl::Status& st, const State& s,
                 const std::vector<uint32_t>& m) {
  return std::string(name) + ": " + st.ToString() + " [" + Ids(s, m) + "]\n";
}

void CheckList(const State& s, const std::vector<uint32_t>& m) {
  for (size_t i = 0; i < m.size(); ++i) {
    if (m[i] >= s.defs.size()) Fail("match index out of range", Ids(s, m));
    if (i > 0 && m[i - 1] >= m[i]) Fail("matches not ascending and unique", Ids(s, m));
    if (!s.defs[m[i]].enabled) Fail("a disabled rule matched", Ids(s, m));
  }
}

// Whether the event has a number with 20 or more digits: simdjson before
// 3.6.3 (Debian has 3.0.1) returns a wrong get_double() for 0.<20+ digits>
// (simdjson issue #2093). Tolerated with WEIR_FUZZ_ALLOW=simdjson-2093.
bool LongNumber(std::string_view e) {
  size_t digits = 0;
  for (char ch : e) {
    if (ch >= '0' && ch <= '9') {
      if (++digits >= 20) return true;
    } else if (ch != '.') {
      digits = 0;
    }
  }
  return false;
}

// Nesting depth of a parsed value: the top-level object is 1.
size_t Depth(const weir::testing::Json& j) {
  size_t d = 0;
  for (const auto& f : j.fields) d = std::max(d, Depth(f.second));
  for (const auto& i : j.items) d = std::max(d, Depth(i));
  bool container = j.kind == weir::testing::Json::kObject || j.kind == weir::testing::Json::kArray;
  return container ? d + 1 : 0;
}

// Fills the padding with bytes that would change a number, close a string or
// a container, or start an escape, if anything read them as part of the event.
constexpr char kGarbage[] = "9\"\\]}e1,{\"a\":[";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  State& s = Get();
  const std::string_view event(reinterpret_cast<const char*>(data), size);

  std::vector<uint32_t> a, b, c;
  absl::Status s1 = s.m->Match(event, &a);
  CheckList(s, a);

  std::unique_ptr<char[]> buf(new char[size + Matcher::kPadding]);
  if (size) std::memcpy(buf.get(), data, size);
  for (size_t i = 0; i < Matcher::kPadding; ++i)
    buf[size + i] = kGarbage[i % (sizeof(kGarbage) - 1)];
  const std::string_view padded(buf.get(), size);
  absl::Status s2 = s.m->MatchPadded(padded, &b);
  CheckList(s, b);
  absl::Status v = s.m->ValidatePadded(padded);

  auto all = [&] {
    return Show("Match", s1, s, a) + Show("MatchPadded", s2, s, b) +
           "ValidatePadded: " + v.ToString() + "\nevent: " + std::string(event);
  };

  {
    weir::testing::Json doc;
    const std::string text(event);
    const weir::EventLimits limits = weir::fuzz::FuzzLimits();
    bool oracle = size <= limits.max_event_bytes && weir::testing::JsonParser::Parse(text, &doc) &&
                  doc.kind == weir::testing::Json::kObject && Depth(doc) <= limits.max_depth &&
                  simdjson::validate_utf8(text.data(), text.size());
    if (oracle != v.ok()) Fail("validation disagrees with the strict parser", all());
  }

  {
    // As the pipeline does with the cut rules: match, then validate a
    // matched event (after the cut, the rest of the event only). A bad
    // event may pass only by matching nothing; an error is the full
    // validation's.
    std::vector<uint32_t> k, r;
    absl::Status sc = s.m_cut->MatchPadded(padded, &k);
    if (sc.ok() && !k.empty()) sc = s.m_cut->ValidateMatchedPadded(padded);
    auto cut = [&] {
      return all() + "\ncut rules: " + sc.ToString() + " [" + std::to_string(k.size()) +
             " matched]";
    };
    if (!sc.ok() && sc != v) Fail("the cut rules' error differs from ValidatePadded's", cut());
    if (sc.ok() && !k.empty() && !v.ok()) Fail("a matched bad event passed after a cut", cut());
    if (v.ok() && !sc.ok()) Fail("the cut rules rejected a valid event", cut());
    if (v.ok() && s.ref_cut->Match(std::string(event), &r) && r != k &&
        !(LongNumber(event) && weir::fuzz::Allowed("simdjson-2093")))
      Fail("the cut rules and the reference evaluator disagree",
           cut() + "\nreference matched " + std::to_string(r.size()));
  }

  if (v.ok()) {
    if (!s1.ok() || !s2.ok()) Fail("a valid event was rejected", all());
    if (a != b) Fail("Match and MatchPadded disagree", all());
    absl::Status s3 = s.m->Match(event, &c);
    if (!s3.ok() || c != a) Fail("a second Match disagrees", all() + "\n" + Show("again", s3, s, c));
    // Without the array-consistent rules the others decide alike.
    std::vector<uint32_t> p, want;
    absl::Status s4 = s.m_plain->MatchPadded(padded, &p);
    for (uint32_t i : a)
      if (!s.consistent[i]) want.push_back(i);
    if (!s4.ok() || p != want)
      Fail("the rule set without array-consistent rules disagrees",
           all() + "\n" + Show("plain", s4, s, p));
    std::vector<uint32_t> r;
    if (!s.ref->Match(std::string(event), &r))
      Fail("the reference rejects a valid event", all());
    if (r != a && !(LongNumber(event) && weir::fuzz::Allowed("simdjson-2093")))
      Fail("the engine and the reference evaluator disagree",
           all() + "\nreference: [" + Ids(s, r) + "]");
  } else {
    if (!s1.ok() && s1 != v) Fail("Match's error differs from ValidatePadded's", all());
    if (!s2.ok() && s2 != v) Fail("MatchPadded's error differs from ValidatePadded's", all());
    if (s1.ok() && !a.empty()) {
      absl::Status s3 = s.m->Match(event, &c);
      if (!s3.ok() || c != a)
        Fail("a second Match disagrees", all() + "\n" + Show("again", s3, s, c));
    }
  }
  return 0;
}
