// RuleSet::Serialize and RuleSet::Deserialize: the compiled set as bytes
// (weir compile). What the compiler interned (rules, the path trie, the
// per-path value maps, the posting lists) is stored; what is cheap to derive
// from it (RE2 automata, literal lengths, decimal bounds, CIDR and
// anything-but predicates) is rebuilt by the compiler's own finishing steps.
// Nothing read is trusted: every id is checked against what it indexes
// before a Matcher may use it.
#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/decimal.h"
#include "engine/ruleset_impl.h"
#include "engine/wire.h"

namespace weir {
namespace {

// Bump when the layout below changes.
constexpr uint32_t kFormat = 2;  // 2: rules in encoded_rules.h's form; fewer predicate keys
// anything-but holds predicates; they hold no further ones in practice.
constexpr int kMaxPredicateDepth = 4;

using wire::Reader;
using wire::Writer;

absl::Status Damaged(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("damaged compiled rules: ", what));
}

void PutPredicate(Writer& w, const Predicate& p) {
  w.U8(static_cast<uint8_t>(p.kind));
  w.Str(p.text);
  w.Str(p.lo);
  w.Str(p.hi);
  w.U8(p.lo_open);
  w.U8(p.hi_open);
  w.U32(static_cast<uint32_t>(p.excluded.size()));
  for (const Predicate& e : p.excluded) PutPredicate(w, e);
}

bool GetPredicate(Reader& r, Predicate* p, int depth = 0) {
  uint8_t kind = r.U8();
  if (kind > static_cast<uint8_t>(PredicateKind::kAnythingBut)) return false;
  p->kind = static_cast<PredicateKind>(kind);
  r.Str(&p->text);
  r.Str(&p->lo);
  r.Str(&p->hi);
  p->lo_open = r.U8() != 0;
  p->hi_open = r.U8() != 0;
  uint32_t n = r.Count(19);
  if (n > 0 && depth >= kMaxPredicateDepth) return false;
  p->excluded.resize(n);
  for (Predicate& e : p->excluded)
    if (!GetPredicate(r, &e, depth + 1)) return false;
  return r.ok();
}

// Maps are written in value order, so that equal sets give equal bytes.
void PutMap(Writer& w, const StrMap<uint32_t>& m) {
  std::vector<std::pair<uint32_t, std::string_view>> items;
  items.reserve(m.size());
  for (const auto& [k, v] : m) items.push_back({v, k});
  std::sort(items.begin(), items.end());
  w.U32(static_cast<uint32_t>(items.size()));
  for (const auto& [v, k] : items) {
    w.Str(k);
    w.U32(v);
  }
}

void GetMap(Reader& r, StrMap<uint32_t>* m) {
  uint32_t n = r.Count(8);
  m->reserve(n);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    std::string_view k = r.StrView();
    uint32_t v = r.U32();
    if (!m->emplace(k, v).second) r.Fail();  // a key twice
  }
}

void PutPostings(Writer& w, const Postings& p) {
  w.Vec(p.offsets);
  w.Vec(p.ids);
}

void GetPostings(Reader& r, Postings* p) {
  r.Vec(&p->offsets);
  r.Vec(&p->ids);
}

void PutStrings(Writer& w, const std::vector<std::string>& v) {
  w.U32(static_cast<uint32_t>(v.size()));
  for (const std::string& s : v) w.Str(s);
}

void GetStrings(Reader& r, std::vector<std::string>* v) {
  v->resize(r.Count(4));
  for (std::string& s : *v) r.Str(&s);
}

void PutGlobs(Writer& w, const GlobIndex& g) {
  PutMap(w, g.exact);
  PutMap(w, g.prefix);
  PutMap(w, g.suffix);
  PutMap(w, g.infix);
  w.Vec(g.any);
  w.Vec(g.set_preds);
  PutStrings(w, g.set_globs);
}

void GetGlobs(Reader& r, GlobIndex* g) {
  GetMap(r, &g->exact);
  GetMap(r, &g->prefix);
  GetMap(r, &g->suffix);
  GetMap(r, &g->infix);
  r.Vec(&g->any);
  r.Vec(&g->set_preds);
  GetStrings(r, &g->set_globs);
}

void PutLeaf(Writer& w, const LeafIndex& leaf) {
  PutGlobs(w, leaf.text);
  PutGlobs(w, leaf.str);
  PutGlobs(w, leaf.folded);
  PutMap(w, leaf.num_eq);
  PutStrings(w, leaf.ranges.bound_text);
  PutPostings(w, leaf.ranges.nodes);
  w.U32(leaf.lit_true);
  w.U32(leaf.lit_false);
  w.U32(leaf.lit_null);
  w.U32(leaf.exists);
  w.U32(static_cast<uint32_t>(leaf.direct.size()));
  for (const DirectPred& d : leaf.direct) {
    w.U32(d.id);
    PutPredicate(w, d.source);
  }
  w.U8(leaf.needs_number);
  w.U8(leaf.needs_fold);
}

bool GetLeaf(Reader& r, LeafIndex* leaf) {
  GetGlobs(r, &leaf->text);
  GetGlobs(r, &leaf->str);
  GetGlobs(r, &leaf->folded);
  GetMap(r, &leaf->num_eq);
  GetStrings(r, &leaf->ranges.bound_text);
  GetPostings(r, &leaf->ranges.nodes);
  leaf->lit_true = r.U32();
  leaf->lit_false = r.U32();
  leaf->lit_null = r.U32();
  leaf->exists = r.U32();
  leaf->direct.resize(r.Count(23));
  for (DirectPred& d : leaf->direct) {
    d.id = r.U32();
    if (!GetPredicate(r, &d.source)) return false;
  }
  leaf->needs_number = r.U8() != 0;
  leaf->needs_fold = r.U8() != 0;
  return r.ok();
}

// Whether text is a canonical decimal (decimal.h: "0" or
// "[-]DIGITSe<exp>", digits without leading or trailing zeros), the form
// the matcher computes from events.
bool IsCanonical(std::string_view text) {
  if (text == "0") return true;
  if (!text.empty() && text[0] == '-') text.remove_prefix(1);
  size_t e = text.find('e');
  if (e == 0 || e == std::string_view::npos || text[0] == '0' || text[e - 1] == '0') return false;
  for (size_t i = 0; i < e; ++i)
    if (text[i] < '0' || text[i] > '9') return false;
  int64_t exp;
  std::string_view tail = text.substr(e + 1);
  return absl::SimpleAtoi(absl::string_view(tail.data(), tail.size()), &exp) &&
         std::to_string(exp) == tail;
}

// Posting lists: n lists, offsets ascending from 0 to ids.size(), ids < bound.
bool PostingsOk(const Postings& p, size_t n, size_t bound) {
  if (p.offsets.size() != n + 1 || p.offsets[0] != 0 || p.offsets.back() != p.ids.size())
    return false;
  for (size_t i = 0; i < n; ++i)
    if (p.offsets[i] > p.offsets[i + 1]) return false;
  for (uint32_t id : p.ids)
    if (id >= bound) return false;
  return true;
}

bool IdsOk(const std::vector<uint32_t>& ids, size_t bound) {
  return std::all_of(ids.begin(), ids.end(), [&](uint32_t id) { return id < bound; });
}

bool MapOk(const StrMap<uint32_t>& m, size_t bound) {
  return std::all_of(m.begin(), m.end(), [&](const auto& kv) { return kv.second < bound; });
}

bool OptionalOk(uint32_t id, size_t bound) { return id == kNone || id < bound; }

// Every id a Matcher follows stays inside what it indexes. Also rebuilds
// what is derived: each leaf's lookup structures, the trie's short child
// lists, the tracked predicates, the direct rules, the enabled count.
absl::Status CheckAndFinish(RuleSetImpl& m, const CompileOptions& options) {
  const size_t npreds = m.num_preds, nclauses = m.clause_preds.size(), nconjs = m.conjs.size();
  if (m.nodes.empty()) return Damaged("no path trie");
  std::vector<uint8_t> has_parent(m.nodes.size(), 0);
  std::vector<uint8_t> leaf_used(m.leaves.size(), 0);
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    for (const auto& [seg, child] : m.nodes[i].children) {
      // Children come after their parent, each with one parent: a tree.
      if (child <= i || child >= m.nodes.size() || has_parent[child]++)
        return Damaged("path trie");
    }
    uint32_t leaf = m.nodes[i].leaf;
    if (leaf != kNone && (leaf >= m.leaves.size() || leaf_used[leaf]++))
      return Damaged("path trie leaf");
  }
  FinishTrie(&m.nodes);
  for (LeafIndex& leaf : m.leaves) {
    for (GlobIndex* g : {&leaf.text, &leaf.str, &leaf.folded}) {
      if (!MapOk(g->exact, npreds) || !MapOk(g->prefix, npreds) || !MapOk(g->suffix, npreds) ||
          !MapOk(g->infix, npreds) || !IdsOk(g->any, npreds) || !IdsOk(g->set_preds, npreds) ||
          g->set_preds.size() != g->set_globs.size())
        return Damaged("wildcard index");
      if (absl::Status s = FinishGlobIndex(g, options); !s.ok()) return s;
    }
    if (!MapOk(leaf.num_eq, npreds)) return Damaged("number index");
    for (const auto& [text, id] : leaf.num_eq) {
      if (!IsCanonical(text)) return Damaged("number index");
      leaf.num_eq_doubles.insert(DoubleKey(CanonicalToDouble(text)));
    }
    NumberRangeIndex& ranges = leaf.ranges;
    for (size_t i = 0; i < ranges.bound_text.size(); ++i) {
      if (!IsCanonical(ranges.bound_text[i])) return Damaged("number ranges");
    }
    FinishRangeBounds(&ranges);
    for (size_t i = 1; i < ranges.bounds.size(); ++i) {
      if (CompareDecimal(ranges.bounds[i - 1], ranges.bounds[i]) >= 0)
        return Damaged("number ranges");
    }
    // The matcher reads the tree's nodes 1 .. 2 * leaves - 1 (none at all
    // only when there are no ranges).
    const Postings& nodes = ranges.nodes;
    const bool none = ranges.bounds.empty() && nodes.ids.empty() && nodes.offsets.size() == 1;
    if (!none && !PostingsOk(nodes, 2 * ranges.leaves, npreds)) return Damaged("number ranges");
    if (!OptionalOk(leaf.lit_true, npreds) || !OptionalOk(leaf.lit_false, npreds) ||
        !OptionalOk(leaf.lit_null, npreds) || !OptionalOk(leaf.exists, npreds))
      return Damaged("literal index");
    for (DirectPred& d : leaf.direct) {
      if (d.id >= npreds) return Damaged("direct predicates");
      auto sp = ScalarPredicate::Compile(d.source);
      if (!sp.ok()) return Damaged(sp.status().message());
      d.pred = *std::move(sp);
    }
    FinishDirect(&leaf);
  }
  if (m.clause_negated.size() != nclauses ||
      !PostingsOk(m.pred_clauses, npreds, nclauses) ||
      !PostingsOk(m.clause_preds, nclauses, npreds) ||
      !PostingsOk(m.clause_conjs, nclauses, nconjs) ||
      !PostingsOk(m.conj_clauses, nconjs, nclauses) ||
      !PostingsOk(m.conj_negated, nconjs, nclauses) || !IdsOk(m.always, nconjs))
    return Damaged("posting lists");
  for (const CompiledConj& c : m.conjs)
    if (c.rule >= m.RuleCount()) return Damaged("conjunctions");
  m.enabled = static_cast<size_t>(std::count_if(m.rule_flags.begin(), m.rule_flags.end(),
                                                [](uint8_t f) { return (f & 1) != 0; }));
  FinishTracking(&m);
  FinishDirectRules(&m);
  return absl::OkStatus();
}

}  // namespace

void RuleSetImpl::DecodeCold() const {
  if (!lazy) return;
  std::call_once(cold_once, [this] {
    // Written once, under the flag, by whichever thread asks first; the
    // object was made non-const (make_shared), so this is well-defined.
    // Damaged bytes (which the checksum did not catch: made on purpose)
    // stop it early, leaving defaults: nothing that indexes anything comes
    // from here.
    auto* m = const_cast<RuleSetImpl*>(this);
    m->rules.resize(RuleCount());
    EncodedRules::Cursor cursor(cold);
    for (size_t i = 0; i < m->rules.size(); ++i) {
      if (cursor.ok()) cursor.Next(&m->rules[i]);
      m->rules[i].id = Id(i);  // what matching reports
      m->rules[i].enabled = Enabled(i);
    }
  });
}

absl::Status RuleSet::Serialize(std::string* out) const {
  if (segments_.size() > 1 || removed_count_ > 0) {
    // Updates pending: write the live rules as one freshly compiled piece.
    std::vector<RuleDef> live;
    for (size_t i = 0; i < size(); ++i)
      if (!removed(i)) live.push_back(rule(i));
    auto whole = Compile(std::move(live), shared_->options);
    if (!whole.ok()) return whole.status();
    return (*whole)->Serialize(out);
  }
  const RuleSetImpl& m = *segments_[0].impl;
  Writer w(out);
  w.U32(kFormat);
  w.U32(static_cast<uint32_t>(m.RuleCount()));
  for (size_t i = 0; i < m.RuleCount(); ++i) {
    w.Str(m.Id(i));
    w.U8(m.lazy ? m.rule_flags[i] : EncodedRules::Flags(m.rules[i]));
  }
  // The rules' encoded form: a lazy set's own, else made here.
  if (m.lazy) {
    m.cold.Write(w);
  } else {
    EncodedRules enc;
    for (const RuleDef& rule : m.rules) enc.Add(rule);
    enc.Write(w);
  }
  w.U32(static_cast<uint32_t>(m.pred_keys.size()));
  for (const auto& [id, key] : m.pred_keys) {
    w.U32(id);
    w.Str(key);
  }
  w.U32(static_cast<uint32_t>(m.nodes.size()));
  for (const TrieNode& n : m.nodes) {
    PutMap(w, n.children);
    w.U32(n.leaf);
    w.Str(n.path);
  }
  w.U32(static_cast<uint32_t>(m.leaves.size()));
  for (const LeafIndex& leaf : m.leaves) PutLeaf(w, leaf);
  w.U32(m.num_preds);
  PutPostings(w, m.pred_clauses);
  w.Vec(m.clause_negated);
  PutPostings(w, m.clause_preds);
  PutPostings(w, m.clause_conjs);
  w.U32(static_cast<uint32_t>(m.conjs.size()));
  for (const CompiledConj& c : m.conjs) {
    w.U32(c.rule);
    w.U8(c.consistent);
  }
  PutPostings(w, m.conj_clauses);
  PutPostings(w, m.conj_negated);
  w.Vec(m.always);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const RuleSet>> RuleSet::Deserialize(
    std::string_view bytes, const CompileOptions& options) {
  Reader r(bytes);
  uint32_t format = r.U32();
  if (!r.ok()) return Damaged("too short");
  if (format != kFormat)
    return absl::InvalidArgumentError(absl::StrCat(
        "compiled rules of format ", format, "; this weir reads format ", kFormat,
        " (compile the rule files again)"));
  auto impl = std::make_shared<RuleSetImpl>();
  RuleSetImpl& m = *impl;
  // Rules: ids and enabled flags, compact; the rest stays encoded.
  m.lazy = true;
  const uint32_t nrules = r.Count(5);
  m.id_ends.resize(nrules);
  m.rule_flags.resize(nrules);
  for (uint32_t i = 0; i < nrules && r.ok(); ++i) {
    std::string_view id = r.StrView();
    m.ids.append(id);
    m.id_ends[i] = static_cast<uint32_t>(m.ids.size());
    m.rule_flags[i] = r.U8();
    if ((m.rule_flags[i] >> 1) > 4) return Damaged("rule flags");
  }
  if (!m.cold.Read(r, nrules)) return Damaged("rules");
  m.pred_keys.resize(r.Count(8));
  for (auto& [id, key] : m.pred_keys) {
    id = r.U32();
    r.Str(&key);
  }
  m.nodes.resize(r.Count(12));
  for (TrieNode& n : m.nodes) {
    GetMap(r, &n.children);
    n.leaf = r.U32();
    r.Str(&n.path);
  }
  m.leaves.resize(r.Count(64));
  for (LeafIndex& leaf : m.leaves)
    if (!GetLeaf(r, &leaf)) return Damaged("path indexes");
  m.num_preds = r.U32();
  GetPostings(r, &m.pred_clauses);
  r.Vec(&m.clause_negated);
  GetPostings(r, &m.clause_preds);
  GetPostings(r, &m.clause_conjs);
  m.conjs.resize(r.Count(5));
  for (CompiledConj& c : m.conjs) {
    c.rule = r.U32();
    c.consistent = r.U8() != 0;
  }
  GetPostings(r, &m.conj_clauses);
  GetPostings(r, &m.conj_negated);
  r.Vec(&m.always);
  if (!r.ok()) return Damaged("truncated");
  if (!r.done()) return Damaged("trailing bytes");
  if (absl::Status s = CheckAndFinish(m, options); !s.ok()) return s;
  auto shared = std::make_shared<Shared>();
  shared->options = options;
  shared->unindexed = impl;  // ids are indexed when first looked up
  std::shared_ptr<RuleSet> rs(new RuleSet());
  rs->enabled_ = m.enabled;
  rs->segments_.push_back({std::move(impl), 0});
  rs->shared_ = std::move(shared);
  return std::shared_ptr<const RuleSet>(std::move(rs));
}

}  // namespace weir
