// weir/engine.h: compile rules once, then match events against them.
//
// Thread safety: a RuleSet is immutable after Compile() and may be shared by
// any number of threads without locking (hold it by shared_ptr). A Matcher is
// per-thread scratch: thread-compatible, not thread-safe; give each thread its
// own. Match() does not allocate in steady state.
//
// Cost: matching reads each event once (simdjson On-Demand), visits only the
// paths some rule names, and looks values up in per-path indexes, so the cost
// per event does not grow with the number of rules.
#ifndef WEIR_ENGINE_H_
#define WEIR_ENGINE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weir/rules.h"

namespace weir {

struct CompileOptions {
  // A glob general enough to need the regex automaton (not exact, prefix,
  // suffix or `*`) may hold at most this many stars.
  size_t max_wildcard_stars = 32;
  // Memory budget for each path's wildcard automaton (RE2::Set).
  int64_t max_wildcard_automaton_bytes = 64 << 20;
};

struct EventLimits {
  size_t max_event_bytes = 4 << 20;  // a longer line is bad
  size_t max_depth = 128;            // deeper nesting is bad
};

class RuleSetImpl;

// The compiled, immutable rule set.
class RuleSet {
 public:
  // Compiles the rules (a RuleSetDef from LoadRuleFiles, or built in code).
  // Fails with InvalidArgument for conditions the front ends should have
  // rejected, ResourceExhausted when a limit is hit.
  static absl::StatusOr<std::shared_ptr<const RuleSet>> Compile(
      std::vector<RuleDef> rules, const CompileOptions& options = {});

  ~RuleSet();
  RuleSet(const RuleSet&) = delete;
  RuleSet& operator=(const RuleSet&) = delete;

  size_t size() const;                       // rules, enabled or not
  const RuleDef& rule(size_t index) const;   // in the order given
  size_t enabled_count() const;

  // Canonical dump of the compiled indexes, for golden tests and `weir check -v`.
  std::string DebugString() const;

  const RuleSetImpl& impl() const { return *impl_; }

 private:
  explicit RuleSet(std::unique_ptr<RuleSetImpl> impl);
  std::unique_ptr<RuleSetImpl> impl_;
};

class MatcherImpl;

class Matcher {
 public:
  // Bytes that must be readable after an event handed to MatchPadded().
  static constexpr size_t kPadding = 64;

  explicit Matcher(std::shared_ptr<const RuleSet> rules, const EventLimits& limits = {});
  ~Matcher();
  Matcher(const Matcher&) = delete;
  Matcher& operator=(const Matcher&) = delete;

  // Matches one event (one JSON object). On success `matches` holds the
  // indexes of the matching enabled rules in ascending order. An event that
  // is not a JSON object, is malformed where matching read it, or is over a
  // limit gives InvalidArgument with a plain reason. An event is only read as
  // far as matching needs: call Validate() before trusting it further.
  absl::Status Match(std::string_view event, std::vector<uint32_t>* matches);
  // Same, where kPadding bytes after event.end() are readable (no copy).
  absl::Status MatchPadded(std::string_view event, std::vector<uint32_t>* matches);

  // Checks the whole event: exactly one valid JSON object, valid UTF-8, within
  // the limits. `event` must have kPadding readable bytes after it.
  absl::Status ValidatePadded(std::string_view event);

  const RuleSet& rules() const;
  // Rebinds to another compiled set (hot reload); buffers are kept.
  void Reset(std::shared_ptr<const RuleSet> rules);

 private:
  std::unique_ptr<MatcherImpl> impl_;
};

}  // namespace weir

#endif  // WEIR_ENGINE_H_
