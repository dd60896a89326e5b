// weir/condition.h: the dialect-neutral form of a rule's condition.
//
// Thread safety: plain value types; const access from many threads is safe.
//
// Every rule dialect (`filter`, `events`, `pattern`) lowers to this form, and
// the engine compiles only this form, so one indexed matcher serves them all.
// A Condition is in disjunctive normal form: OR of Conjunctions, each an AND
// of Clauses, each an OR of Predicates that test the values at one path.
#ifndef WEIR_CONDITION_H_
#define WEIR_CONDITION_H_

#include <string>
#include <vector>

namespace weir {

enum class PredicateKind {
  // Any scalar, matched by its text: a string by its decoded content, a number
  // by its JSON text as written, true/false/null by those words (filter
  // dialect). `text` is a glob (see below).
  kTextGlob,
  // A JSON string whose decoded content matches the glob `text`.
  kStringGlob,
  // A JSON string whose Unicode simple case fold matches the glob `text`
  // (already folded by the front end).
  kFoldedGlob,
  // A JSON number equal by exact decimal value to `text` (canonical decimal,
  // see decimal.h).
  kNumberEq,
  // A JSON number within [lo, hi] (each bound optional, open or closed).
  kNumberRange,
  // The JSON literal `text`: "true", "false" or "null".
  kLiteral,
  // A JSON string holding an IP address inside the CIDR block `text`.
  kCidr,
  // Any scalar value is present at the path (objects and arrays are not
  // leaves; an array's scalar elements are).
  kExists,
  // A scalar is present that none of `excluded` matches (EventBridge
  // anything-but). `excluded` holds predicates of the kinds above.
  kAnythingBut,
};

// A glob is a pattern over the whole value: `*` matches any run of bytes
// (also empty); `\*` and `\\` are a literal star and backslash. Front ends
// produce globs in this canonical escaped form.
struct Predicate {
  PredicateKind kind = PredicateKind::kTextGlob;
  std::string text;
  // kNumberRange bounds as canonical decimals; empty means unbounded.
  std::string lo, hi;
  bool lo_open = false, hi_open = false;
  std::vector<Predicate> excluded;  // kAnythingBut only

  bool operator==(const Predicate&) const = default;
};

struct Clause {
  std::string path;  // dotted; arrays are stepped through transparently
  std::vector<Predicate> any_of;
  // The clause holds when NO value at the path satisfies any_of (EventBridge
  // `exists: false` is a negated kExists).
  bool negated = false;

  bool operator==(const Clause&) const = default;
};

struct Conjunction {
  std::vector<Clause> all_of;
  // Values matched for different clauses must come from the same element of
  // every array they share (EventBridge array consistency).
  bool array_consistent = false;
};

struct Condition {
  std::vector<Conjunction> any_of;
};

}  // namespace weir

#endif  // WEIR_CONDITION_H_
