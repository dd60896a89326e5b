// Layout of one rule (wire.h's varints and strings):
//   id, flags (bit 0 enabled, bits 1-3 the dialect's code), [dialect if code
//   0], description, actions (count, names), file (index, 0: none), line,
//   column, condition: conjunctions (count; each: array-consistent byte,
//   clauses (count; each: path index, negated byte, predicates)).
// A predicate: a head byte (kind in bits 0-3; has lo, has hi, has excluded,
// has open flags in bits 4-7), text, [lo], [hi], [open flags],
// [excluded: count, predicates].
#include "engine/encoded_rules.h"

#include <algorithm>

namespace weir {
namespace {

// anything-but holds predicates; they hold no further ones in practice.
constexpr int kMaxPredicateDepth = 4;

// The i-th element of a list being decoded again over the previous rule's:
// reusing it keeps its strings' and vectors' buffers (a clause's path, its
// predicates), which clearing the list would free and the next rule allocate
// again. Elements past the decoded count are dropped by the caller.
template <typename T>
T& Slot(std::vector<T>& v, size_t i) {
  return i < v.size() ? v[i] : v.emplace_back();
}

}  // namespace

uint8_t EncodedRules::DialectCode(std::string_view d) {
  return d == "filter" ? 1 : d == "events" ? 2 : d == "pattern" ? 3 : d.empty() ? 4 : 0;
}

std::string_view EncodedRules::DialectName(uint8_t code) {
  switch (code) {
    case 1:
      return "filter";
    case 2:
      return "events";
    case 3:
      return "pattern";
    default:
      return "";
  }
}

uint32_t EncodedRules::PathIndex(const std::string& path) {
  // Rules often come in runs on one path: no hashing for those.
  if (last_path_ < paths_.size() && paths_[last_path_] == path) return last_path_;
  auto [it, added] = path_index_.try_emplace(path, static_cast<uint32_t>(paths_.size()));
  if (added) paths_.push_back(path);
  last_path_ = it->second;
  return it->second;
}

uint32_t EncodedRules::FileIndex(const std::string& file) {
  if (file.empty()) return 0;
  // Rule files are few, and rules come in runs of one file.
  for (size_t i = files_.size(); i-- > 0;)
    if (files_[i] == file) return static_cast<uint32_t>(i + 1);
  files_.push_back(file);
  return static_cast<uint32_t>(files_.size());
}

void EncodedRules::PutPredicate(const Predicate& p) {
  wire::Writer w(&scratch_);
  const bool open = p.lo_open || p.hi_open;
  w.U8(static_cast<uint8_t>(static_cast<unsigned>(p.kind) | (p.lo.empty() ? 0 : 0x10u) |
                            (p.hi.empty() ? 0 : 0x20u) | (p.excluded.empty() ? 0 : 0x40u) |
                            (open ? 0x80u : 0)));
  w.VarStr(p.text);
  if (!p.lo.empty()) w.VarStr(p.lo);
  if (!p.hi.empty()) w.VarStr(p.hi);
  if (open) w.U8(static_cast<uint8_t>((p.lo_open ? 1u : 0) | (p.hi_open ? 2u : 0)));
  if (!p.excluded.empty()) {
    w.Var(p.excluded.size());
    for (const Predicate& e : p.excluded) PutPredicate(e);
  }
}

void EncodedRules::Add(const RuleDef& rule) {
  scratch_.clear();
  wire::Writer w(&scratch_);
  w.VarStr(rule.id);
  const uint8_t flags = Flags(rule);
  w.U8(flags);
  if ((flags >> 1) == 0) w.VarStr(rule.dialect);
  w.VarStr(rule.description);
  w.Var(rule.actions.size());
  for (const std::string& a : rule.actions) w.VarStr(a);
  w.Var(FileIndex(rule.where.file));
  w.Var(static_cast<uint32_t>(rule.where.line));
  w.Var(static_cast<uint32_t>(rule.where.column));
  w.Var(rule.condition.any_of.size());
  id_bytes_ += rule.id.size();
  if (rule.enabled) conjs_ += rule.condition.any_of.size();
  for (const Conjunction& conj : rule.condition.any_of) {
    w.U8(conj.array_consistent);
    w.Var(conj.all_of.size());
    if (rule.enabled) clauses_ += conj.all_of.size();
    for (const Clause& clause : conj.all_of) {
      w.Var(PathIndex(clause.path));
      w.U8(clause.negated);
      w.Var(clause.any_of.size());
      if (rule.enabled) preds_ += clause.any_of.size();
      for (const Predicate& p : clause.any_of) PutPredicate(p);
    }
  }
  if (blocks_.empty() || blocks_.back().size() + scratch_.size() > blocks_.back().capacity()) {
    // Blocks grow from 4 KiB to kBlock, so that a small set stays small.
    blocks_.emplace_back();
    blocks_.back().reserve(std::max(scratch_.size(), std::clamp(total_, size_t{4096}, kBlock)));
  }
  blocks_.back() += scratch_;
  total_ += scratch_.size();
  ++count_;
}

EncodedRules EncodedRules::Seeded() const {
  EncodedRules e;
  e.paths_ = paths_;
  e.path_index_ = path_index_;
  e.files_ = files_;
  e.seed_paths_ = paths_.size();
  e.seed_files_ = files_.size();
  return e;
}

namespace {

// Whether the names `other` added past its first `seed` agree with those
// `mine` has at the same numbers (either may have added more).
bool SameNumbers(const std::vector<std::string>& mine, const std::vector<std::string>& other,
                 size_t seed) {
  if (mine.size() < seed || other.size() < seed) return false;
  for (size_t i = seed; i < std::min(mine.size(), other.size()); ++i)
    if (mine[i] != other[i]) return false;
  return true;
}

}  // namespace

void EncodedRules::Append(EncodedRules&& other) {
  if (!SameNumbers(paths_, other.paths_, other.seed_paths_) ||
      !SameNumbers(files_, other.files_, other.seed_files_)) {
    RuleDef rule;
    Cursor cursor(other);
    while (cursor.Next(&rule)) Add(rule);
    return;
  }
  for (size_t i = paths_.size(); i < other.paths_.size(); ++i) {
    path_index_.try_emplace(other.paths_[i], static_cast<uint32_t>(i));
    paths_.push_back(std::move(other.paths_[i]));
  }
  for (size_t i = files_.size(); i < other.files_.size(); ++i)
    files_.push_back(std::move(other.files_[i]));
  for (std::string& block : other.blocks_) blocks_.push_back(std::move(block));
  count_ += other.count_;
  total_ += other.total_;
  conjs_ += other.conjs_;
  clauses_ += other.clauses_;
  preds_ += other.preds_;
  id_bytes_ += other.id_bytes_;
  other = EncodedRules();
}

void EncodedRules::Rewind(const Mark& m) {
  count_ = m.count;
  blocks_.resize(m.blocks);
  if (!blocks_.empty()) blocks_.back().resize(m.last_block);
  total_ = m.total;
  conjs_ = m.conjs;
  id_bytes_ = m.id_bytes;
  clauses_ = m.clauses;
  preds_ = m.preds;
}

bool EncodedRules::Cursor::GetPredicate(Predicate* p, int depth) {
  const uint8_t head = r_.U8();
  if ((head & 0xF) > static_cast<uint8_t>(PredicateKind::kAnythingBut)) return false;
  p->kind = static_cast<PredicateKind>(head & 0xF);
  p->text.assign(r_.VarStrView());
  if (head & 0x10)
    p->lo.assign(r_.VarStrView());
  else
    p->lo.clear();
  if (head & 0x20)
    p->hi.assign(r_.VarStrView());
  else
    p->hi.clear();
  const uint8_t open = (head & 0x80) ? r_.U8() : 0;
  p->lo_open = open & 1;
  p->hi_open = (open & 2) != 0;
  size_t n = 0;
  if (head & 0x40) {
    if (depth >= kMaxPredicateDepth) return false;
    n = r_.VarCount(2);
    for (size_t i = 0; i < n; ++i)
      if (!GetPredicate(&Slot(p->excluded, i), depth + 1)) return false;
  }
  p->excluded.resize(n);
  return r_.ok();
}

bool EncodedRules::Cursor::Next(RuleDef* rule) {
  if (!ok_ || read_ >= rules_.count_) return false;
  ok_ = false;
  while (r_.done() && block_ + 1 < rules_.blocks_.size())
    r_ = wire::Reader(rules_.blocks_[++block_]);
  rule->id.assign(r_.VarStrView());
  const uint8_t flags = r_.U8();
  rule->enabled = flags & 1;
  const uint8_t code = static_cast<uint8_t>(flags >> 1);
  if (code > 4) return false;
  if (code == 0)
    rule->dialect.assign(r_.VarStrView());
  else
    rule->dialect.assign(DialectName(code));
  rule->description.assign(r_.VarStrView());
  // Lists grow as their items are read, never to a count read first: a
  // damaged count then fails when the bytes run out, before it allocates.
  rule->actions.clear();
  for (size_t i = 0, n = r_.VarCount(1); i < n && r_.ok(); ++i)
    rule->actions.emplace_back(r_.VarStrView());
  const uint64_t file = r_.Var();
  if (file > rules_.files_.size()) return false;
  if (file > 0)
    rule->where.file = rules_.files_[file - 1];
  else
    rule->where.file.clear();
  rule->where.line = static_cast<int>(static_cast<uint32_t>(r_.Var()));
  rule->where.column = static_cast<int>(static_cast<uint32_t>(r_.Var()));
  // (Counts are bounded by the bytes left: VarCount.)
  const size_t n = r_.VarCount(2);
  for (size_t i = 0; i < n; ++i) {
    Conjunction& conj = Slot(rule->condition.any_of, i);
    conj.array_consistent = r_.U8() != 0;
    const size_t m = r_.VarCount(3);
    for (size_t j = 0; j < m; ++j) {
      Clause& clause = Slot(conj.all_of, j);
      const uint64_t path = r_.Var();
      if (path >= rules_.paths_.size()) return false;
      clause.path = rules_.paths_[path];
      clause.negated = r_.U8() != 0;
      const size_t q = r_.VarCount(2);
      for (size_t k = 0; k < q; ++k)
        if (!GetPredicate(&Slot(clause.any_of, k), 0)) return false;
      clause.any_of.resize(q);
    }
    conj.all_of.resize(m);
    if (!r_.ok()) return false;
  }
  rule->condition.any_of.resize(n);
  if (!r_.ok()) return false;
  ++read_;
  ok_ = true;
  return true;
}

void EncodedRules::Write(wire::Writer& w) const {
  w.U32(static_cast<uint32_t>(paths_.size()));
  for (const std::string& p : paths_) w.Str(p);
  w.U32(static_cast<uint32_t>(files_.size()));
  for (const std::string& f : files_) w.Str(f);
  w.U32(static_cast<uint32_t>(total_));
  for (const std::string& b : blocks_) w.Raw(b.data(), b.size());
}

bool EncodedRules::Read(wire::Reader& r, size_t count) {
  *this = EncodedRules();
  paths_.resize(r.Count(4));
  for (std::string& p : paths_) r.Str(&p);
  files_.resize(r.Count(4));
  for (std::string& f : files_) r.Str(&f);
  blocks_.emplace_back();
  r.Str(&blocks_.back());
  total_ = blocks_.back().size();
  count_ = count;  // (the sizes for compiling are not needed: read sets are compiled already)
  return r.ok();
}

}  // namespace weir
