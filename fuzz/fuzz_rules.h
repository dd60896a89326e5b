// A fixed rule set for the event and NDJSON fuzzers, built in code (not from
// a rule file, so it does not change when the front ends do). It holds every
// predicate kind, several glob shapes per index, negated clauses,
// array-consistent conjunctions, dotted and deep paths, and a disabled rule.
#ifndef WEIR_FUZZ_FUZZ_RULES_H_
#define WEIR_FUZZ_FUZZ_RULES_H_

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/casefold.h"
#include "engine/decimal.h"
#include "weir/engine.h"
#include "weir/rules.h"

namespace weir::fuzz {

// Small limits keep each input fast (and reach the limit paths).
inline EventLimits FuzzLimits() {
  EventLimits limits;
  limits.max_depth = 16;
  limits.max_event_bytes = 4096;
  return limits;
}

inline Predicate Pred(PredicateKind kind, std::string text = "") {
  Predicate p;
  p.kind = kind;
  p.text = std::move(text);
  return p;
}
inline Predicate Text(std::string glob) { return Pred(PredicateKind::kTextGlob, std::move(glob)); }
inline Predicate Str(std::string glob) { return Pred(PredicateKind::kStringGlob, std::move(glob)); }
// `glob` is folded here, as the front ends do.
inline Predicate Folded(const std::string& glob) {
  std::string f;
  FoldCase(glob, &f);
  return Pred(PredicateKind::kFoldedGlob, std::move(f));
}
inline std::string Canon(const std::string& number) {
  std::string store, out;
  DecimalView v;
  if (!ParseRuleNumber(number, &store, &v)) {
    std::fprintf(stderr, "fuzz_rules.h: bad number %s\n", number.c_str());
    std::abort();
  }
  CanonicalDecimal(v, &out);
  return out;
}
inline Predicate Num(const std::string& n) { return Pred(PredicateKind::kNumberEq, Canon(n)); }
// Empty bound: unbounded.
inline Predicate Range(const std::string& lo, bool lo_open, const std::string& hi, bool hi_open) {
  Predicate p = Pred(PredicateKind::kNumberRange);
  if (!lo.empty()) p.lo = Canon(lo);
  if (!hi.empty()) p.hi = Canon(hi);
  p.lo_open = lo_open;
  p.hi_open = hi_open;
  return p;
}
inline Predicate Lit(std::string word) { return Pred(PredicateKind::kLiteral, std::move(word)); }
inline Predicate Cidr(std::string block) { return Pred(PredicateKind::kCidr, std::move(block)); }
inline Predicate Exists() { return Pred(PredicateKind::kExists); }
inline Predicate AnythingBut(std::vector<Predicate> excluded) {
  Predicate p = Pred(PredicateKind::kAnythingBut);
  p.excluded = std::move(excluded);
  return p;
}

inline Clause C(std::string path, std::vector<Predicate> any_of, bool negated = false) {
  Clause c;
  c.path = std::move(path);
  c.any_of = std::move(any_of);
  c.negated = negated;
  return c;
}
inline Clause Not(std::string path, std::vector<Predicate> any_of) {
  return C(std::move(path), std::move(any_of), true);
}
inline Conjunction All(std::vector<Clause> clauses, bool array_consistent = false) {
  Conjunction j;
  j.all_of = std::move(clauses);
  j.array_consistent = array_consistent;
  return j;
}
inline Conjunction Same(std::vector<Clause> clauses) { return All(std::move(clauses), true); }

inline RuleDef R(std::string id, std::vector<Conjunction> any_of, bool enabled = true) {
  RuleDef r;
  r.id = std::move(id);
  r.dialect = "pattern";
  r.enabled = enabled;
  r.condition.any_of = std::move(any_of);
  return r;
}

inline std::vector<RuleDef> FuzzRuleDefs() {
  std::vector<RuleDef> r;
  // Text globs (filter dialect): exact, prefix, suffix, `*`, general, escapes;
  // numbers and literals are matched by their text.
  r.push_back(R("text-exact", {All({C("event", {Text("resource.ResourceCreated")})})}));
  r.push_back(R("text-prefix-and", {All({C("event", {Text("resource.Resource*")}),
                                         C("resource.type", {Text("itemsvc.*")})})}));
  r.push_back(R("text-suffix", {All({C("a", {Text("*z"), Text("*.png")})})}));
  r.push_back(R("text-any", {All({C("b", {Text("*")})})}));
  r.push_back(R("text-general", {All({C("event", {Text("resource.Resource*Deleted")})}),
                                 All({C("a", {Text("*a*b*c*"), Text("x\\*y*"), Text("*\\\\*q")})})}));
  r.push_back(R("text-number", {All({C("inputParams.other", {Text("1*"), Text("-0"), Text("1e*")})})}));
  r.push_back(R("text-literal-words", {All({C("resource.archived", {Text("true"), Text("null")})})}));
  r.push_back(R("text-empty", {All({C("a", {Text("")})})}));
  // String globs (pattern dialect): exact, prefix, suffix, wildcards.
  r.push_back(R("str-exact", {All({C("Type", {Str("job.faulted"), Str("")})})}));
  r.push_back(R("str-nested-array", {All({C("Jobs.Robot.Name", {Str("bench-*")}),
                                          C("Jobs.State", {Str("Faulted"), Str("Pending")})})}));
  r.push_back(R("str-wildcards", {All({C("s", {Str("*/lib/*"), Str("a*b*c"), Str("\\**\\\\"),
                                               Str("*é*"), Str("**x")})})}));
  r.push_back(R("str-and-text", {All({C("mixed", {Text("1*"), Str("1*"), Str("*")})})}));
  // Case-folded globs.
  r.push_back(R("folded", {All({C("f", {Folded("ÉTÉ"), Folded("Σ*"), Folded("*KELVIN"),
                                        Folded("a*ß*c")})}),
                           All({C("message.jobStatus", {Folded("OPEN")})})}));
  // Numbers: equality by value, ranges (open, closed, unbounded, a point).
  r.push_back(R("num-eq", {All({C("n", {Num("35"), Num("-0"), Num("37.807807921694092"),
                                        Num("1e400"), Num("-1.5e-7")})}),
                           All({C("message.percentComplete", {Num("20"), Num("50")})})}));
  r.push_back(R("num-ranges", {All({C("n", {Range("0", false, "100", true)}),
                                    C("m", {Range("-1.5", true, "", false)})})}));
  r.push_back(R("num-range-more", {All({C("n", {Range("", false, "1e-3", false),
                                                Range("5", false, "5", false),
                                                Range("1e9", true, "", false)})})}));
  r.push_back(R("num-range-when", {All({C("info.when", {Range("1716193261350", false,
                                                              "1716193400000", true)})})}));
  // Literals.
  r.push_back(R("literals", {All({C("b", {Lit("true")}), C("c", {Lit("null"), Lit("false")})})}));
  // exists and negated exists; a conjunction with only a negated clause.
  r.push_back(R("exists", {All({C("info.when", {Exists()})})}));
  r.push_back(R("not-exists", {All({C("event", {Exists()}), Not("e", {Exists()})})}));
  r.push_back(R("only-not-exists", {All({Not("zz", {Exists()})})}));
  r.push_back(R("negated-value", {All({C("m", {Exists()}), Not("m", {Str("bad"), Num("0")})})}));
  // anything-but with every kind of exclusion.
  r.push_back(R("anything-but", {All({C("s", {AnythingBut({Str("stopped"), Num("123"),
                                                           Str("init*"), Str("*.png"),
                                                           Folded("X"), Str("a*b*c")})})})}));
  r.push_back(R("anything-but-num", {All({C("n", {AnythingBut({Num("100"), Num("2e2")})}),
                                          C("s", {Exists()})})}));
  // CIDR blocks, IPv4 and IPv6.
  r.push_back(R("cidr", {All({C("ip", {Cidr("10.0.0.0/24"), Cidr("2001:db8::/32"),
                                       Cidr("192.168.1.1"), Cidr("0.0.0.0/0")})})}));
  r.push_back(R("cidr-v6-or-exists", {All({C("ip6", {Cidr("::/0"), Cidr("fe80::/10")}),
                                           Not("ip", {Cidr("10.0.0.0/8")})})}));
  // Array consistency: the clauses must hold in the same array elements.
  r.push_back(R("same-element", {Same({C("employees.firstName", {Str("Anna")}),
                                       C("employees.lastName", {Str("Smith")})})}));
  r.push_back(R("same-element-nested", {Same({C("a.b.c", {Str("x"), Str("y*")}),
                                              C("a.b.d", {Num("1"), Range("2", false, "3", false)}),
                                              C("a.e", {Exists()}), C("top", {Exists()})})}));
  r.push_back(R("same-element-negated", {Same({C("events.operation", {Str("share")}),
                                               C("events.source", {Str("item")}),
                                               Not("events.id", {Str("x")})})}));
  r.push_back(R("same-element-arrays-of-arrays",
                {Same({C("g.h", {Text("*")}), C("g.i", {AnythingBut({Str("no")})})})}));
  // Dotted paths (the event may write "detail.state.status" or nest it).
  r.push_back(R("dotted", {All({C("detail.state.status", {Str("running")}),
                                C("detail.x", {Exists()})})}));
  r.push_back(R("deep", {All({C("d.d.d.d.d.d.d.d.d.d.d.d.d.d.d", {Exists()})})}));
  r.push_back(R("escaped-key", {All({C("k\"q", {Text("*")}), C("uni.ключ", {Str("*")})})}));
  // Several alternatives, one of which has no positive clause.
  r.push_back(R("or", {All({C("x", {Str("1")})}), All({C("y", {Num("1")})}),
                       All({Not("x", {Exists()}), Not("y", {Exists()})})}));
  r.push_back(R("mixed-kinds", {All({C("k", {Text("a*"), Str("b"), Num("1"), Lit("null"),
                                             Cidr("10.0.0.0/8"), Range("7", true, "8", true),
                                             AnythingBut({Str("c")}), Folded("D*")})})}));
  // Disabled: must never match.
  r.push_back(R("disabled", {All({C("event", {Exists()})}), All({Not("zz", {Exists()})})},
                /*enabled=*/false));
  return r;
}

// Rules that name one top-level key, `p`, so that the matcher cuts events
// after the object that holds it (the fixed set above names too many keys for
// a cut); one matches almost every event, so that the rest of the event is
// validated after the cut, as for a matched line.
inline std::vector<RuleDef> CutRuleDefs() {
  std::vector<RuleDef> r;
  r.push_back(R("cut-absent", {All({Not("p.zz", {Exists()})})}));
  r.push_back(R("cut-value", {All({C("p.s", {Str("a*"), Num("1")})})}));
  return r;
}

inline std::shared_ptr<const RuleSet> CompileOrDie(std::vector<RuleDef> defs) {
  auto rs = RuleSet::Compile(std::move(defs));
  if (!rs.ok()) {
    std::fprintf(stderr, "fuzz_rules.h: the fixed rule set does not compile: %s\n",
                 std::string(rs.status().message()).c_str());
    std::abort();
  }
  return *std::move(rs);
}

}  // namespace weir::fuzz

#endif  // WEIR_FUZZ_FUZZ_RULES_H_
