// EventBridge's limit on wildcard complexity, computed as event-ruler (the
// engine behind EventBridge) computes it, so that a pattern EventBridge
// refuses as "too complex" is refused here too.
//
// event-ruler compiles the wildcard patterns of one field into a byte
// automaton and measures its complexity as the largest number of pattern
// prefixes ("wildcard rule prefixes") one input value can match at once,
// summed over the patterns (MachineComplexityEvaluator). This evaluates the
// same measure by running every pattern's automaton on every input the
// patterns can tell apart (the subset construction over the bytes that occur
// in them, plus one that occurs in none). Each pattern is taken as event-ruler
// takes it: the JSON string with its quotes, so `*.png` is the bytes `"*.png"`.
//
// Reentrant; no shared state.
#ifndef WEIR_RULES_WILDCARD_COMPLEXITY_H_
#define WEIR_RULES_WILDCARD_COMPLEXITY_H_

#include <cstddef>
#include <string>
#include <vector>

namespace weir {

// One pattern as its automaton reads it: bytes, and kStar for each
// unescaped `*`.
struct WildcardBytes {
  static constexpr int kStar = 256;
  std::vector<int> items;
  int kind = 0;  // patterns of different kinds never count as duplicates
};

// An EventBridge wildcard (`\*` and `\\` are escapes; the caller has checked
// the syntax) wrapped in quotes, as event-ruler compiles it.
WildcardBytes QuotedWildcard(const std::string& text);

// The complexity of these patterns on one field (duplicates, same kind and
// items, count once), or
// `cap` when it reaches `cap`. Bounded work: the search stops at `cap`, and
// after `max_states` distinct automaton states it returns `cap` too.
size_t WildcardComplexity(const std::vector<WildcardBytes>& patterns, size_t cap,
                          size_t max_states = 200'000);

// A cheap upper bound of WildcardComplexity(patterns): before its first star
// a pattern is in one state at a time, and after it in at most one state per
// item left, plus one for each star. Most patterns (`*.png`, `*text*`) are
// under the limit by this bound alone.
size_t WildcardComplexityBound(const std::vector<WildcardBytes>& patterns);

}  // namespace weir

#endif  // WEIR_RULES_WILDCARD_COMPLEXITY_H_
