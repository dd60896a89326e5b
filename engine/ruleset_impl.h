// The compiled rule set's internals, shared by the compiler and the matcher.
//
// Layout: a trie of the path segments rules name; a node a rule tests holds a
// LeafIndex with one index per predicate family. Predicates, clauses and
// conjunctions are interned and linked by CSR posting lists; matching counts
// satisfied clauses per conjunction (the event-ruler/quamina idea), so no
// per-event work depends on rules that the event does not touch.
#ifndef WEIR_ENGINE_RULESET_IMPL_H_
#define WEIR_ENGINE_RULESET_IMPL_H_

#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "engine/decimal.h"
#include "engine/encoded_rules.h"
#include "engine/scalar.h"
#include "re2/set.h"
#include "weir/engine.h"

namespace weir {

constexpr uint32_t kNone = 0xFFFFFFFFu;

// String-keyed maps looked up by std::string_view without a copy (this
// Abseil's own string_view is a distinct type).
struct SvHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const {
    return absl::Hash<absl::string_view>{}(absl::string_view(s.data(), s.size()));
  }
};
struct SvEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};
template <typename V>
using StrMap = absl::flat_hash_map<std::string, V, SvHash, SvEq>;

// Compressed posting lists: ids of list i are ids[offsets[i] .. offsets[i+1]).
struct Postings {
  std::vector<uint32_t> offsets{0};
  std::vector<uint32_t> ids;
  size_t size() const { return offsets.size() - 1; }
  const uint32_t* begin(uint32_t i) const { return ids.data() + offsets[i]; }
  const uint32_t* end(uint32_t i) const { return ids.data() + offsets[i + 1]; }
  void Add(const std::vector<uint32_t>& list) {
    ids.insert(ids.end(), list.begin(), list.end());
    offsets.push_back(static_cast<uint32_t>(ids.size()));
  }
};

// Globs over one family of values at one path.
struct GlobIndex {
  StrMap<uint32_t> exact;
  StrMap<uint32_t> prefix;  // "lit*"
  std::vector<uint32_t> prefix_lens;                   // distinct, ascending
  StrMap<uint32_t> suffix;  // "*lit"
  std::vector<uint32_t> suffix_lens;
  std::vector<uint32_t> any;                           // "*"
  StrMap<uint32_t> infix;                              // "*lit*": lit anywhere
  std::vector<uint32_t> infix_lens;
  // Each map again when it holds at most kFew literals (FinishGlobIndex),
  // compared one by one: hashing a value, or each prefix, suffix or
  // substring of each length the literals have, costs more than a few
  // comparisons that mostly fail at the first byte (infix: 17 probes of a
  // 10-byte value for three literals of three lengths).
  static constexpr size_t kFew = 8;
  using Few = std::vector<std::pair<std::string, uint32_t>>;
  Few exact_few, prefix_few, suffix_few, infix_few;
  std::unique_ptr<RE2::Set> set;                       // everything else
  std::vector<uint32_t> set_preds;
  std::vector<std::string> set_globs;                  // for DebugString

  bool empty() const {
    return exact.empty() && prefix.empty() && suffix.empty() && any.empty() && infix.empty() &&
           set_preds.empty();
  }
  // The few lists are compared first byte (last, for suffixes) first: most
  // literals fail there, and a call to memcmp for each was 7% of the time of
  // matching CityLots against the mixed set (docs/performance.md).
  static bool SameAt(std::string_view s, const std::string& lit, size_t i, size_t j) {
    return lit.empty() || s[i] == lit[j];
  }
  template <typename Fire>
  void Match(std::string_view s, std::vector<int>* re_hits, Fire&& fire) const {
    if (!exact_few.empty()) {
      for (const auto& [lit, id] : exact_few)
        if (s.size() == lit.size() && SameAt(s, lit, 0, 0) && s == lit) fire(id);
    } else if (!exact.empty()) {
      auto it = exact.find(s);
      if (it != exact.end()) fire(it->second);
    }
    if (!prefix_few.empty()) {
      for (const auto& [lit, id] : prefix_few)
        if (s.size() >= lit.size() && SameAt(s, lit, 0, 0) && s.starts_with(lit)) fire(id);
    } else {
      for (uint32_t len : prefix_lens) {
        if (len > s.size()) break;
        auto it = prefix.find(s.substr(0, len));
        if (it != prefix.end()) fire(it->second);
      }
    }
    if (!suffix_few.empty()) {
      for (const auto& [lit, id] : suffix_few)
        if (s.size() >= lit.size() && SameAt(s, lit, s.size() - 1, lit.size() - 1) &&
            s.ends_with(lit))
          fire(id);
    } else {
      for (uint32_t len : suffix_lens) {
        if (len > s.size()) break;
        auto it = suffix.find(s.substr(s.size() - len));
        if (it != suffix.end()) fire(it->second);
      }
    }
    for (uint32_t p : any) fire(p);
    // Otherwise every substring of each length some "*lit*" has: a few hash
    // probes per byte, no automaton (used only while the lengths are few).
    if (!infix_few.empty()) {
      for (const auto& [lit, id] : infix_few) {
        if (s.find(lit) != std::string_view::npos) fire(id);
      }
    } else {
      for (uint32_t len : infix_lens) {
        if (len > s.size()) break;
        for (size_t i = 0; i + len <= s.size(); ++i) {
          auto it = infix.find(s.substr(i, len));
          if (it != infix.end()) fire(it->second);
        }
      }
    }
    // RE2::Set::Match allocates its set of matches (three mallocs and
    // frees) whenever it is asked which patterns matched; asked only
    // whether one did, it allocates nothing and stops at the first. Most
    // values match no glob: ask that first.
    if (set && set->Match(s, nullptr)) {
      if (set_preds.size() == 1) {
        fire(set_preds[0]);
      } else if (set->Match(s, re_hits)) {
        for (int i : *re_hits) fire(set_preds[i]);
      }
    }
  }
};

struct NumberRangeIndex {
  // Elementary intervals over the sorted distinct bounds: slot 2i+1 is bound
  // i itself, slot 2i the open gap below it; slot 2k is above the last one.
  std::vector<std::string> bound_text;
  std::vector<DecimalView> bounds;
  std::vector<double> bound_doubles;  // each bound correctly rounded
  // A segment tree over the slots, so that memory grows as n log n with n
  // ranges, not n^2 (nested ranges such as `> i` for every i each covered
  // most slots). `leaves` is the power of two >= 2k+1; node 1 is the root,
  // node v has children 2v and 2v+1, slot s is node leaves+s. A range is
  // listed at the O(log n) nodes that tile its slots exactly, so the
  // predicates of a value at slot s are those on the path from its leaf to
  // the root, each once.
  size_t leaves = 0;
  Postings nodes;  // 2 * leaves lists (list 0 unused)
  bool empty() const { return bounds.empty() && nodes.ids.empty(); }
};

struct DirectPred {
  uint32_t id;
  std::unique_ptr<ScalarPredicate> pred;
  Predicate source;  // what `pred` was compiled from (for compiled files)
};

// Hash key of a double; -0.0 and 0.0 are one value.
inline uint64_t DoubleKey(double d) {
  if (d == 0) d = 0;
  uint64_t k;
  std::memcpy(&k, &d, sizeof k);
  return k;
}

struct LeafIndex {
  GlobIndex text;    // kTextGlob: any scalar's text
  GlobIndex str;     // kStringGlob
  GlobIndex folded;  // kFoldedGlob
  StrMap<uint32_t> num_eq;                        // canonical decimal
  absl::flat_hash_set<uint64_t> num_eq_doubles;   // DoubleKey of each: rules out most misses
  NumberRangeIndex ranges;
  uint32_t lit_true = kNone, lit_false = kNone, lit_null = kNone;
  uint32_t exists = kNone;
  // kAnythingBut, evaluated one by one: [0, direct_eval); then kCidr,
  // looked up in `cidr` instead (FinishDirect), so that a value costs one
  // address parse and one lookup per distinct prefix length, not one test
  // per block.
  std::vector<DirectPred> direct;
  size_t direct_eval = 0;
  // Key: family (4 or 6), prefix length, then the address masked to it.
  absl::flat_hash_map<std::string, std::vector<uint32_t>> cidr;
  std::vector<uint8_t> cidr_lengths_v4, cidr_lengths_v6;  // ascending, distinct
  bool needs_number = false;       // some predicate compares numeric value
  bool needs_fold = false;
};

struct TrieNode {
  StrMap<uint32_t> children;
  // The same, when there are at most kFewChildren: events have many keys
  // that name no child, and comparing a few names beats hashing each key.
  // 12 covers objects like CityLots' properties (9 keys, mostly distinct
  // first bytes), where comparing first bytes beats hashing every key.
  static constexpr size_t kFewChildren = 12;
  struct FewChild {
    std::string name;
    uint32_t id;
    // The name's first 16 bytes, zero-filled: a key is compared with it in
    // one 16-byte load (keys read in place sit in a padded event), not by a
    // call to memcmp per key.
    char head[16];
  };
  std::vector<FewChild> few;
  uint32_t leaf = kNone;
  std::string path;        // dotted, for DebugString
};

struct CompiledConj {
  uint32_t rule;
  bool consistent;          // array consistency must be checked
};

class RuleSetImpl {
 public:
  // The rules. For a set read by RuleSet::Deserialize or compiled by
  // RuleSet::CompileEncoded (`lazy`), empty until DecodeCold(): use
  // RuleCount(), Id(), Enabled() and Dialect(), which never decode.
  std::vector<RuleDef> rules;
  size_t RuleCount() const { return lazy ? id_ends.size() : rules.size(); }
  std::string_view Id(size_t i) const {
    if (!lazy) return rules[i].id;
    size_t begin = i == 0 ? 0 : id_ends[i - 1];
    return std::string_view(ids).substr(begin, id_ends[i] - begin);
  }
  bool Enabled(size_t i) const { return lazy ? (rule_flags[i] & 1) != 0 : rules[i].enabled; }
  std::string_view Dialect(size_t i) const {
    if (lazy && (rule_flags[i] >> 1) != 0) return EncodedRules::DialectName(rule_flags[i] >> 1);
    DecodeCold();
    return rules[i].dialect;
  }
  std::vector<TrieNode> nodes;  // nodes[0] is the root
  std::vector<LeafIndex> leaves;

  uint32_t num_preds = 0;
  std::vector<uint8_t> pred_track;  // record hits (for array consistency)
  Postings pred_clauses;            // pred -> clauses
  std::vector<uint8_t> clause_negated;
  Postings clause_preds;            // clause -> preds
  Postings clause_conjs;            // clause -> conjs anchored on it (one anchor per conj)
  std::vector<CompiledConj> conjs;
  Postings conj_clauses;            // conj -> positive clauses
  Postings conj_negated;            // conj -> negated clauses
  std::vector<uint32_t> always;     // conjs with no positive clause
  // Per pred: the rule it alone makes match (its one clause is the only
  // one of a plain conjunction), or kNone. The common subscription, one
  // field and some values, then skips clause and conjunction bookkeeping:
  // with 100k rules that is a handful of cache misses per match.
  std::vector<uint32_t> pred_rule;
  bool track_contexts = false;
  size_t enabled = 0;
  // Per predicate of the kinds held in lists (globs for the automaton,
  // ranges, anything-but, CIDR): its id and "trie node|kind:value...", for
  // DebugString. The others are read back from the indexes they are in.
  std::vector<std::pair<uint32_t, std::string>> pred_keys;

  // A lazy set holds its rules' ids and flags compactly and keeps the rest
  // encoded until something asks for it (RuleSet::rule, an update that
  // recompiles): matching never does, and 100k RuleDefs cost more to build,
  // and ten times more memory, than the rest of the set. DecodeCold() fills
  // `rules`, once; it is thread-safe. All of these are set before the set is
  // shared.
  bool lazy = false;
  std::string ids;                  // concatenated
  std::vector<uint32_t> id_ends;    // per rule: end of its id in `ids`
  std::vector<uint8_t> rule_flags;  // per rule: bit 0 enabled, bits 1-3 the dialect's code
  EncodedRules cold;
  mutable std::once_flag cold_once;
  void DecodeCold() const;
};

// Rule id -> slot, for the rules of one compiled piece: a set of slots
// hashed and compared by the ids they have (in the piece's own storage), so
// that ids are not stored twice (400k ids: 2.6 MB instead of 21 MB).
class IdIndex {
 public:
  explicit IdIndex(const RuleSetImpl* m) : set_(0, Hash{m}, Eq{m}) {}
  void Reserve(size_t n) { set_.reserve(n); }
  // False if a rule with the same id is there already.
  bool Insert(uint32_t slot) { return set_.insert(slot).second; }
  std::optional<uint32_t> Find(std::string_view id) const {
    auto it = set_.find(id);
    if (it == set_.end()) return std::nullopt;
    return *it;
  }

 private:
  struct Hash {
    using is_transparent = void;
    const RuleSetImpl* m;
    size_t operator()(std::string_view id) const { return SvHash{}(id); }
    size_t operator()(uint32_t slot) const { return SvHash{}(m->Id(slot)); }
  };
  struct Eq {
    using is_transparent = void;
    const RuleSetImpl* m;
    bool operator()(uint32_t a, uint32_t b) const { return m->Id(a) == m->Id(b); }
    bool operator()(uint32_t a, std::string_view b) const { return m->Id(a) == b; }
    bool operator()(std::string_view a, uint32_t b) const { return a == m->Id(b); }
  };
  absl::flat_hash_set<uint32_t, Hash, Eq> set_;
};

struct RuleSet::Shared {
  CompileOptions options;
  // id -> slot in the base segment. Compile() fills it (it finds repeated
  // ids); for a set read by Deserialize() it is built from `unindexed` on
  // first use (Find, Update), once, thread-safely.
  const IdIndex& BaseIds() const {
    if (unindexed) {
      std::call_once(ids_once, [this] {
        auto& ids = const_cast<std::optional<IdIndex>&>(base_ids);
        ids.emplace(unindexed.get());
        ids->Reserve(unindexed->RuleCount());
        for (size_t i = 0; i < unindexed->RuleCount(); ++i)
          if (!unindexed->Id(i).empty()) ids->Insert(static_cast<uint32_t>(i));
      });
    }
    return *base_ids;
  }
  std::optional<IdIndex> base_ids;
  std::shared_ptr<const RuleSetImpl> unindexed;
  mutable std::once_flag ids_once;
};

// The steps that derive lookup structures from what the compiler interned;
// compiled files store only the interned part and run these again.
// Lengths of the literals (prefix/suffix/infix) and the RE2::Set of the rest.
absl::Status FinishGlobIndex(GlobIndex* g, const CompileOptions& options);
// bounds and bound_doubles from bound_text (sorted canonical decimals).
void FinishRangeBounds(NumberRangeIndex* idx);
// Orders `direct` (anything-but first) and builds the CIDR index from it.
void FinishDirect(LeafIndex* leaf);
// The CIDR index key of `addr` masked to `prefix` bits, into `out` (18 bytes).
size_t CidrKey(const IpNetwork& addr, int prefix, char* out);
// TrieNode::few from children.
void FinishTrie(std::vector<TrieNode>* nodes);
// pred_track and track_contexts: the predicates of array-consistent
// conjunctions record where they matched.
void FinishTracking(RuleSetImpl* m);
// pred_rule from the posting lists.
void FinishDirectRules(RuleSetImpl* m);

}  // namespace weir

#endif  // WEIR_ENGINE_RULESET_IMPL_H_
