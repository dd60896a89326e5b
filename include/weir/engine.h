// weir/engine.h: compile rules once, then match events against them.
//
// Thread safety: a RuleSet is immutable after Compile() or Deserialize() and
// may be shared by any number of threads without locking (hold it by
// shared_ptr); the parts a deserialized set decodes on first use are decoded
// once, under a std::once_flag. A Matcher is per-thread scratch:
// thread-compatible, not thread-safe; give each thread its own. Match() does
// not allocate in steady state.
//
// Cost: matching reads each event once (simdjson On-Demand), visits only the
// paths some rule names, and looks values up in per-path indexes, so the cost
// per event does not grow with the number of rules.
#ifndef WEIR_ENGINE_H_
#define WEIR_ENGINE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weir/rule_def.h"

namespace weir {

struct CompileOptions {
  // Rule changes are kept in a delta compiled on its own until it holds more
  // than this many rules; then the whole set is recompiled.
  size_t max_delta_rules = 256;
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
class EncodedRules;
class EncodedCompilation;

// The compiled, immutable rule set.
//
// Rules can be added and removed at run time without recompiling the whole
// set: Update() returns a new RuleSet that shares the compiled base with the
// old one and holds the changes in a small delta plus a removal bitmap.
// Threads matching on the old RuleSet go on undisturbed (hold it by
// shared_ptr; swap the pointer to publish the new one).
class RuleSet {
 public:
  // Compiles the rules (a RuleSetDef from LoadRuleFiles, or built in code).
  // Fails with InvalidArgument for conditions the front ends should have
  // rejected, AlreadyExists for a repeated non-empty id, ResourceExhausted
  // when a limit is hit.
  static absl::StatusOr<std::shared_ptr<const RuleSet>> Compile(
      std::vector<RuleDef> rules, const CompileOptions& options = {});

  // A new set: `from` without the rules whose ids are in `remove`, plus
  // `add` (a rule whose id is already present replaces it). Cost grows with
  // the size of the change and of the delta, not with the whole set, until
  // the delta passes max_delta_rules and the set is recompiled in one piece.
  // NotFound if an id to remove is not present.
  static absl::StatusOr<std::shared_ptr<const RuleSet>> Update(
      const std::shared_ptr<const RuleSet>& from, std::vector<RuleDef> add,
      const std::vector<std::string>& remove);

  ~RuleSet();
  RuleSet(const RuleSet&) = delete;
  RuleSet& operator=(const RuleSet&) = delete;

  // Rule slots, in order: the compiled base in the order given, then rules
  // added by Update() in the order added. A removed rule keeps its slot.
  size_t size() const;
  // The rule's definition. For a set read by Deserialize(), the first call
  // decodes every rule's definition (once; thread-safe), which id() and
  // enabled() do not need: use those on hot paths.
  const RuleDef& rule(size_t index) const;
  std::string_view id(size_t index) const;
  bool enabled(size_t index) const;
  // The rule's dialect ("filter", "events", "pattern", or what a RuleDef
  // built in code says); decodes only for a name other than those.
  std::string_view dialect(size_t index) const;
  bool removed(size_t index) const;
  size_t enabled_count() const;  // live and enabled
  // The slot of the live rule with this id.
  std::optional<size_t> Find(std::string_view id) const;

  // The compiled set, rules included, in weir's binary form (appended to
  // *out), which Deserialize() reads back far faster than Compile() builds
  // it: `weir compile` writes it to a file. A set with updates is written as
  // one piece. The form is versioned; another version's is refused.
  absl::Status Serialize(std::string* out) const;
  // Reads what Serialize() wrote. Damaged or foreign bytes give
  // InvalidArgument (the structure is checked, not trusted); the options are
  // those of later updates and of the wildcard automata, rebuilt here.
  static absl::StatusOr<std::shared_ptr<const RuleSet>> Deserialize(
      std::string_view bytes, const CompileOptions& options = {});
  // Canonical dump of the compiled indexes, for golden tests and `weir check -v`.
  std::string DebugString() const;

  // Internal: compiles rules held encoded (weir/open.h's rule-file reader
  // fills them as it reads) and keeps them encoded, as a set read by
  // Deserialize() does: a big rule file is never held as RuleDefs at once.
  static absl::StatusOr<std::shared_ptr<const RuleSet>> CompileEncoded(
      EncodedRules&& rules, const CompileOptions& options = {});
  // Internal: the set `compilation` compiled (engine/encoded_rules.h), which
  // must have been given every rule of `rules`, in order.
  static absl::StatusOr<std::shared_ptr<const RuleSet>> FinishEncoded(
      EncodedCompilation&& compilation, EncodedRules&& rules);

  // Internal: compiled pieces, for the Matcher.
  size_t segment_count() const { return segments_.size(); }
  const RuleSetImpl& segment(size_t i) const { return *segments_[i].impl; }
  uint32_t segment_offset(size_t i) const { return segments_[i].offset; }

 private:
  struct Segment {
    std::shared_ptr<const RuleSetImpl> impl;
    uint32_t offset;
  };
  struct Shared;  // options and the base's id index, shared across updates
  friend class EncodedCompilation;  // builds a Shared
  const Segment& SegmentOf(size_t index) const;
  RuleSet() = default;

  std::vector<Segment> segments_;
  std::shared_ptr<const std::vector<uint64_t>> removed_;  // bitmap over the base's rules
  std::shared_ptr<const Shared> shared_;
  size_t removed_count_ = 0;
  size_t enabled_ = 0;
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
  // Same verdict and messages, cheaper for the event given to the last
  // successful MatchPadded() (its parse is reused); any other event is
  // checked as by ValidatePadded().
  absl::Status ValidateMatchedPadded(std::string_view event);

  const RuleSet& rules() const;
  // Rebinds to another compiled set (hot reload); buffers are kept.
  void Reset(std::shared_ptr<const RuleSet> rules);

 private:
  std::unique_ptr<MatcherImpl> impl_;
};

}  // namespace weir

#endif  // WEIR_ENGINE_H_
