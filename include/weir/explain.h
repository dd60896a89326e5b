// weir/explain.h: why an event did or did not match a rule.
//
// Thread safety: an Explainer is immutable after Create() except for its
// per-event scratch: thread-compatible, not thread-safe; give each thread its
// own. The result types are plain values.
//
// Explain() evaluates a rule's condition (weir/condition.h) on a parsed copy
// of the event with the same semantics as the compiled matcher (weir/engine.h):
// dotted keys, the first of duplicate keys, arrays stepped through, numbers
// by exact decimal value, array consistency. Its verdict is the matcher's;
// what it adds is the reason: for each alternative (conjunction) of a rule
// that did not match, the first condition that failed, what it wanted and
// what the event held there. It is a diagnostic tool: it builds the whole
// event and evaluates every rule directly, so it is far slower than Match().
#ifndef WEIR_EXPLAIN_H_
#define WEIR_EXPLAIN_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weir/condition.h"
#include "weir/engine.h"
#include "weir/rule_def.h"

namespace weir {

// The first condition of an alternative that did not hold.
struct FailedCondition {
  enum class Reason {
    kAbsent,         // nothing at the path (no value; maybe only objects)
    kNoValueMatched, // values at the path, none of them what was wanted
    kPresent,        // the condition wanted the path absent (or without such values)
    kOtherElements,  // values match, but only in other elements of an array
                     // than the values matched by the earlier conditions
  };
  Reason reason = Reason::kAbsent;
  size_t clause = 0;   // index in the conjunction's all_of
  std::string path;
  std::string wanted;  // in plain words, e.g. `a string starting with "bench-"`
  // The values the reason is about, as JSON text (strings shortened, at most
  // kMaxFound of them); `found_total` counts them all. For kAbsent it is
  // empty; `objects` says that the path held only objects (never values).
  std::vector<std::string> found;
  size_t found_total = 0;
  bool objects = false;

  static constexpr size_t kMaxFound = 8;
  static constexpr size_t kMaxStringBytes = 60;
};

struct AlternativeExplanation {
  bool matched = false;
  std::optional<FailedCondition> failed;  // set when !matched
};

struct RuleExplanation {
  std::string id;
  bool enabled = true;
  // The matcher's verdict: an enabled rule with an alternative that holds.
  bool matched = false;
  // One per conjunction of the condition, in order. For a disabled rule they
  // say what would have held.
  std::vector<AlternativeExplanation> alternatives;
};

class Explainer {
 public:
  // InvalidArgument for a condition the compiler would refuse (a bad glob,
  // CIDR block or literal).
  static absl::StatusOr<std::unique_ptr<Explainer>> Create(std::vector<RuleDef> rules,
                                                            const EventLimits& limits = {});
  ~Explainer();
  Explainer(const Explainer&) = delete;
  Explainer& operator=(const Explainer&) = delete;

  size_t size() const;
  const RuleDef& rule(size_t index) const;

  // Explains every rule on one event (one JSON object), in rule order. The
  // whole event is checked first: a bad one gives InvalidArgument with the
  // reason the matcher's full check gives (weir/engine.h).
  absl::Status Explain(std::string_view event, std::vector<RuleExplanation>* out);

 private:
  class Impl;
  explicit Explainer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One rule on one event (convenience; builds an Explainer).
absl::StatusOr<RuleExplanation> Explain(const RuleDef& rule, std::string_view event);

// What a clause wants, in plain words: `"a"`, `one of "a", "b"`,
// `a number between 0 and 10`, `absent`, ...
std::string DescribeClause(const Clause& clause);

}  // namespace weir

#endif  // WEIR_EXPLAIN_H_
