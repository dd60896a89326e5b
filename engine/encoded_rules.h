// Rules held encoded, one after another: what the rule-file reader fills as
// it reads, what RuleSet::CompileEncoded compiles one rule at a time, and
// what a compiled set keeps instead of RuleDefs (decoded on first use, as
// for a compiled rule file). A big rule file is so never held as RuleDefs
// all at once: 400,000 rules are about 25 MB here and about 250 MB as
// RuleDefs (docs/limits.md, "Memory").
//
// Not thread-safe while written; reading (Cursor) a const object is.
#ifndef WEIR_ENGINE_ENCODED_RULES_H_
#define WEIR_ENGINE_ENCODED_RULES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "engine/wire.h"
#include "weir/engine.h"
#include "weir/rule_def.h"

namespace weir {

class EncodedRules {
 public:
  void Add(const RuleDef& rule);
  // An empty object that numbers paths and files as this one does now, for
  // rules encoded elsewhere (on another thread) and then appended here.
  EncodedRules Seeded() const;
  // Adds other's rules after these. Their bytes move as they are when
  // other was Seeded() from this and the paths and files both added since
  // agree on their numbers (as when they read parts of one file on one
  // path); else they are decoded and encoded again.
  void Append(EncodedRules&& other);
  size_t size() const { return count_; }
  size_t byte_size() const { return total_; }
  // Conjunctions, clauses and predicates of the enabled rules, and the
  // bytes of all ids, to size compile tables.
  size_t conjunctions() const { return conjs_; }
  size_t clauses() const { return clauses_; }
  size_t predicates() const { return preds_; }
  size_t id_bytes() const { return id_bytes_; }

  // A point to come back to (a rule-file reader's trial undone). Paths and
  // file names added since stay in their tables, unused.
  struct Mark {
    size_t count = 0, blocks = 0, last_block = 0, total = 0, conjs = 0, clauses = 0, preds = 0,
           id_bytes = 0;
  };
  Mark Here() const {
    Mark m;
    m.count = count_;
    m.blocks = blocks_.size();
    m.last_block = blocks_.empty() ? 0 : blocks_.back().size();
    m.total = total_;
    m.conjs = conjs_;
    m.clauses = clauses_;
    m.preds = preds_;
    m.id_bytes = id_bytes_;
    return m;
  }
  void Rewind(const Mark& m);
  // Gives back the room left in the last block.
  void ShrinkToFit() {
    if (!blocks_.empty()) blocks_.back().shrink_to_fit();
  }

  // Rule after rule, from the first.
  class Cursor {
   public:
    explicit Cursor(const EncodedRules& rules)
        : rules_(rules), r_(rules.blocks_.empty() ? std::string_view() : rules.blocks_[0]) {}
    // The next rule into *rule (reusing its buffers); false at the end or
    // on damaged bytes (then ok() is false).
    bool Next(RuleDef* rule);
    bool ok() const { return ok_; }

   private:
    bool GetPredicate(Predicate* p, int depth);
    const EncodedRules& rules_;
    wire::Reader r_;
    size_t block_ = 0;
    size_t read_ = 0;
    bool ok_ = true;
  };

  // The rules' own form in a compiled set (serialize.cc): written as is,
  // read back with its structure checked as it is decoded.
  void Write(wire::Writer& w) const;
  bool Read(wire::Reader& r, size_t count);

  // The dialect's code in a set's per-rule flags (no decoding needed to
  // name it): 1 filter, 2 events, 3 pattern, 4 none, 0 any other name.
  static uint8_t DialectCode(std::string_view dialect);
  static std::string_view DialectName(uint8_t code);
  // A rule's flags byte, as encoded and as RuleSetImpl::rule_flags holds
  // it: bit 0 enabled, bits 1-3 the dialect's code.
  static uint8_t Flags(const RuleDef& rule) {
    return static_cast<uint8_t>((rule.enabled ? 1u : 0) | unsigned{DialectCode(rule.dialect)} << 1);
  }

 private:
  uint32_t PathIndex(const std::string& path);
  uint32_t FileIndex(const std::string& file);
  void PutPredicate(const Predicate& p);

  // The rules' bytes in blocks of up to 1 MiB, a rule never split: one
  // string grown by doubling would hold up to twice the bytes, and for a
  // moment three times, as it moves.
  static constexpr size_t kBlock = 1 << 20;
  std::vector<std::string> blocks_;
  std::string scratch_;  // the rule being encoded
  size_t total_ = 0;
  std::vector<std::string> paths_;
  absl::flat_hash_map<std::string, uint32_t> path_index_;
  uint32_t last_path_ = UINT32_MAX;  // the path PathIndex gave last
  std::vector<std::string> files_;  // 1-based in the bytes; 0 is none
  size_t seed_paths_ = 0, seed_files_ = 0;  // paths_ and files_ from Seeded()
  size_t count_ = 0;
  size_t conjs_ = 0, clauses_ = 0, preds_ = 0, id_bytes_ = 0;
};

// Compiling rules held encoded while later ones are still being read: the
// rule-file reader hands over each part of a file as soon as it is read, in
// the file's order, and RuleSet::FinishEncoded builds the set once the last
// part is in (weir/open.h; docs/performance.md, "Fifth round: loading on
// two cores").
// RuleSet::CompileEncoded is the same with one part.
//
// Not thread-safe: one thread adds; the parts it reads must not change.
class EncodedCompilation {
 public:
  // `rules`, `conjunctions`, `clauses` and `predicates` size the tables
  // (estimates are fine: they grow past them).
  EncodedCompilation(const CompileOptions& options, size_t rules, size_t conjunctions,
                     size_t clauses, size_t predicates);
  EncodedCompilation(EncodedCompilation&&) noexcept;
  EncodedCompilation& operator=(EncodedCompilation&&) noexcept;
  ~EncodedCompilation();
  // Compiles the rules of `part`, from its first, after those added before.
  // After a failure the rest is ignored (RuleSet::FinishEncoded says what
  // failed).
  void Add(const EncodedRules& part);
  // Rules added so far.
  size_t size() const;

 private:
  friend class RuleSet;
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace weir

#endif  // WEIR_ENGINE_ENCODED_RULES_H_
