// RuleSet::Compile: interns paths, predicates, clauses and conjunctions and
// builds the per-path indexes.
#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/glob.h"
#include "engine/ruleset_impl.h"

namespace weir {
namespace {

const char* KindName(PredicateKind k) {
  switch (k) {
    case PredicateKind::kTextGlob:
      return "text";
    case PredicateKind::kStringGlob:
      return "string";
    case PredicateKind::kFoldedGlob:
      return "folded";
    case PredicateKind::kNumberEq:
      return "number";
    case PredicateKind::kNumberRange:
      return "range";
    case PredicateKind::kLiteral:
      return "literal";
    case PredicateKind::kCidr:
      return "cidr";
    case PredicateKind::kExists:
      return "exists";
    case PredicateKind::kAnythingBut:
      return "anything-but";
  }
  return "?";
}

void AppendPredKey(const Predicate& p, std::string* k) {
  absl::StrAppend(k, KindName(p.kind), ":", p.text);
  if (p.kind == PredicateKind::kNumberRange) {
    absl::StrAppend(k, p.lo_open ? "(" : "[", p.lo, ",", p.hi, p.hi_open ? ")" : "]");
  }
  if (!p.excluded.empty()) {
    *k += "{";
    for (const Predicate& e : p.excluded) {
      AppendPredKey(e, k);
      *k += ";";
    }
    *k += "}";
  }
}

absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

std::vector<uint32_t> LengthsOf(const StrMap<uint32_t>& m) {
  std::set<uint32_t> s;
  for (const auto& [k, v] : m) s.insert(static_cast<uint32_t>(k.size()));
  return std::vector<uint32_t>(s.begin(), s.end());
}

}  // namespace

absl::Status FinishGlobIndex(GlobIndex* g, const CompileOptions& options) {
  g->prefix_lens = LengthsOf(g->prefix);
  g->suffix_lens = LengthsOf(g->suffix);
  g->infix_lens = LengthsOf(g->infix);
  for (auto [map, few] : {std::pair{&g->exact, &g->exact_few}, std::pair{&g->prefix, &g->prefix_few},
                          std::pair{&g->suffix, &g->suffix_few}, std::pair{&g->infix, &g->infix_few}}) {
    few->clear();
    if (map->size() > GlobIndex::kFew) continue;
    for (const auto& [lit, id] : *map) few->emplace_back(lit, id);
    std::sort(few->begin(), few->end());  // the same order every run
  }
  g->set.reset();
  if (g->set_preds.empty()) return absl::OkStatus();
  RE2::Options ro;
  ro.set_max_mem(options.max_wildcard_automaton_bytes);
  ro.set_log_errors(false);
  g->set = std::make_unique<RE2::Set>(ro, RE2::ANCHOR_BOTH);
  for (const std::string& re : g->set_globs) {
    std::string err;
    if (g->set->Add(re, &err) < 0)
      return absl::InvalidArgumentError(absl::StrCat("wildcard does not compile: ", err));
  }
  if (!g->set->Compile())
    return absl::ResourceExhaustedError("wildcards exceed the automaton memory budget");
  return absl::OkStatus();
}

void FinishTrie(std::vector<TrieNode>* nodes) {
  for (TrieNode& n : *nodes) {
    n.few.clear();
    if (n.children.size() > TrieNode::kFewChildren) continue;
    for (const auto& [name, id] : n.children) {
      TrieNode::FewChild& c = n.few.emplace_back();
      c.name = name;
      c.id = id;
      std::memset(c.head, 0, sizeof c.head);
      std::memcpy(c.head, name.data(), std::min(name.size(), sizeof c.head));
    }
    // The same order every run.
    std::sort(
        n.few.begin(), n.few.end(),
        [](const TrieNode::FewChild& a, const TrieNode::FewChild& b) { return a.name < b.name; });
  }
}

void FinishTracking(RuleSetImpl* m) {
  m->pred_track.assign(m->num_preds, 0);
  m->track_contexts = false;
  for (uint32_t j = 0; j < m->conjs.size(); ++j) {
    if (!m->conjs[j].consistent) continue;
    m->track_contexts = true;
    for (const uint32_t* c = m->conj_clauses.begin(j); c != m->conj_clauses.end(j); ++c)
      for (const uint32_t* p = m->clause_preds.begin(*c); p != m->clause_preds.end(*c); ++p)
        m->pred_track[*p] = 1;
  }
}

void FinishDirectRules(RuleSetImpl* m) {
  std::vector<uint32_t> uses(m->clause_preds.size(), 0);  // positive conjunctions per clause
  for (uint32_t c : m->conj_clauses.ids) ++uses[c];
  m->pred_rule.assign(m->num_preds, kNone);
  for (uint32_t p = 0; p < m->num_preds; ++p) {
    if (m->pred_clauses.end(p) - m->pred_clauses.begin(p) != 1) continue;
    const uint32_t c = *m->pred_clauses.begin(p);
    if (m->clause_negated[c] || uses[c] != 1 ||
        m->clause_conjs.end(c) - m->clause_conjs.begin(c) != 1)
      continue;
    const uint32_t j = *m->clause_conjs.begin(c);
    if (m->conj_clauses.end(j) - m->conj_clauses.begin(j) != 1 ||
        m->conj_negated.end(j) != m->conj_negated.begin(j) || m->conjs[j].consistent)
      continue;
    m->pred_rule[p] = m->conjs[j].rule;
  }
}

size_t CidrKey(const IpNetwork& a, int prefix, char* out) {
  out[0] = a.v6 ? 6 : 4;
  out[1] = static_cast<char>(prefix);
  size_t n = a.v6 ? 16 : 4;
  for (size_t i = 0; i < n; ++i) {
    int bits = std::clamp(prefix - static_cast<int>(8 * i), 0, 8);
    uint8_t mask = bits == 0 ? 0 : static_cast<uint8_t>(0xFF << (8 - bits));
    out[2 + i] = static_cast<char>(a.addr[i] & mask);
  }
  return 2 + n;
}

void FinishDirect(LeafIndex* leaf) {
  std::stable_partition(leaf->direct.begin(), leaf->direct.end(), [](const DirectPred& d) {
    return d.source.kind != PredicateKind::kCidr;
  });
  leaf->direct_eval = 0;
  leaf->cidr.clear();
  leaf->cidr_lengths_v4.clear();
  leaf->cidr_lengths_v6.clear();
  std::set<int> v4, v6;
  for (const DirectPred& d : leaf->direct) {
    IpNetwork net;
    if (d.source.kind != PredicateKind::kCidr || !ParseCidr(d.source.text, &net)) {
      ++leaf->direct_eval;
      continue;
    }
    char key[18];
    size_t n = CidrKey(net, net.prefix, key);
    leaf->cidr[std::string(key, n)].push_back(d.id);
    (net.v6 ? v6 : v4).insert(net.prefix);
  }
  leaf->cidr_lengths_v4.assign(v4.begin(), v4.end());
  leaf->cidr_lengths_v6.assign(v6.begin(), v6.end());
}

void FinishRangeBounds(NumberRangeIndex* idx) {
  idx->bounds.clear();
  idx->bound_doubles.clear();
  for (const auto& t : idx->bound_text) {
    idx->bounds.push_back(ParseCanonical(t));
    idx->bound_doubles.push_back(CanonicalToDouble(t));
  }
  idx->leaves = 1;
  while (idx->leaves < 2 * idx->bounds.size() + 1) idx->leaves *= 2;
}

namespace {

class Compiler {
 public:
  explicit Compiler(const CompileOptions& o, RuleSetImpl* impl) : opts_(o), impl_(impl) {
    impl_->nodes.emplace_back();  // root
  }

  // Sizes the tables for `clauses` clauses and `preds` predicates (upper
  // bounds), so that they are not rehashed or moved as they grow.
  void Reserve(size_t clauses, size_t preds, size_t conjs = 0) {
    impl_->conjs.reserve(conjs);
    impl_->conj_clauses.offsets.reserve(conjs + 1);
    impl_->conj_clauses.ids.reserve(conjs > 0 ? clauses : 0);
    impl_->conj_negated.offsets.reserve(conjs + 1);
    single_clauses_.reserve(2 * preds + 2);
    pred_clause_pairs_.reserve(preds);
    impl_->clause_preds.offsets.reserve(clauses + 1);
    impl_->clause_preds.ids.reserve(preds);
    clause_uses_.reserve(clauses);
    clause_negated_.reserve(clauses);
  }

  absl::Status AddRule(uint32_t rule_index, const RuleDef& rule) {
    for (const Conjunction& conj : rule.condition.any_of) {
      std::vector<uint32_t>& pos = pos_;
      std::vector<uint32_t>& neg = neg_;
      pos.clear();
      neg.clear();
      for (const Clause& clause : conj.all_of) {
        auto id = InternClause(clause);
        if (!id.ok()) return id.status();
        auto& list = clause.negated ? neg : pos;
        if (std::find(list.begin(), list.end(), *id) == list.end()) list.push_back(*id);
      }
      uint32_t cid = static_cast<uint32_t>(impl_->conjs.size());
      bool consistent = conj.array_consistent && pos.size() >= 2;
      impl_->conjs.push_back({rule_index, consistent});
      impl_->conj_clauses.Add(pos);
      impl_->conj_negated.Add(neg);
      for (uint32_t c : pos) ++clause_uses_[c];
      if (pos.empty()) impl_->always.push_back(cid);
    }
    return absl::OkStatus();
  }

  absl::Status Finish() {
    impl_->num_preds = num_preds_;
    impl_->pred_clauses = FromPairs(pred_clause_pairs_, num_preds_);
    // Anchor each conjunction on its rarest positive clause (the one fewest
    // conjunctions use): a clause shared by many rules, like "source is
    // item", must not touch them all on every event. The other clauses are
    // checked only for the candidates an anchor yields.
    std::vector<std::pair<uint32_t, uint32_t>> anchored;  // (clause, conj)
    anchored.reserve(impl_->conjs.size());
    for (uint32_t j = 0; j < impl_->conjs.size(); ++j) {
      uint32_t best = kNone;
      size_t best_uses = SIZE_MAX;
      for (const uint32_t* c = impl_->conj_clauses.begin(j); c != impl_->conj_clauses.end(j); ++c) {
        if (clause_uses_[*c] < best_uses) {
          best_uses = clause_uses_[*c];
          best = *c;
        }
      }
      if (best != kNone) anchored.push_back({best, j});
    }
    impl_->clause_conjs = FromPairs(anchored, clause_uses_.size());
    impl_->clause_negated = std::move(clause_negated_);
    FinishTrie(&impl_->nodes);
    FinishTracking(impl_);
    FinishDirectRules(impl_);
    std::vector<uint32_t> leaf_node(impl_->leaves.size(), 0);
    for (uint32_t n = 0; n < impl_->nodes.size(); ++n)
      if (impl_->nodes[n].leaf != kNone) leaf_node[impl_->nodes[n].leaf] = n;
    for (size_t i = 0; i < impl_->leaves.size(); ++i) {
      LeafIndex& leaf = impl_->leaves[i];
      const std::pair<GlobIndex*, PredicateKind> families[] = {
          {&leaf.text, PredicateKind::kTextGlob},
          {&leaf.str, PredicateKind::kStringGlob},
          {&leaf.folded, PredicateKind::kFoldedGlob}};
      for (auto [g, kind] : families) {
        absl::Status s = FinishGlobs(g, GlobKey(static_cast<uint32_t>(i), kind), leaf_node[i]);
        if (!s.ok()) return s;
      }
      FinishRanges(i);
      FinishDirect(&impl_->leaves[i]);
    }
    // By id: the infix keys above came in hash order, and equal sets must
    // give equal bytes (Serialize).
    std::sort(impl_->pred_keys.begin(), impl_->pred_keys.end());
    return absl::OkStatus();
  }

 private:
  uint32_t Node(const std::string& path) {
    // Rules often come in runs on one path.
    if (path == last_path_) return last_node_;
    last_node_ = Walk(path);
    last_path_ = path;
    return last_node_;
  }

  uint32_t Walk(const std::string& path) {
    uint32_t cur = 0;
    for (absl::string_view seg : absl::StrSplit(path, '.')) {
      auto& children = impl_->nodes[cur].children;
      auto it = children.find(std::string_view(seg.data(), seg.size()));
      if (it != children.end()) {
        cur = it->second;
        continue;
      }
      uint32_t id = static_cast<uint32_t>(impl_->nodes.size());
      children.emplace(std::string(seg), id);
      TrieNode n;
      n.path = cur == 0 ? std::string(seg) : absl::StrCat(impl_->nodes[cur].path, ".", seg);
      impl_->nodes.push_back(std::move(n));
      cur = id;
    }
    return cur;
  }

  LeafIndex& Leaf(uint32_t node) {
    if (impl_->nodes[node].leaf == kNone) {
      impl_->nodes[node].leaf = static_cast<uint32_t>(impl_->leaves.size());
      impl_->leaves.emplace_back();
      range_preds_.emplace_back();
      range_bounds_.emplace_back();
    }
    return impl_->leaves[impl_->nodes[node].leaf];
  }

  absl::StatusOr<uint32_t> InternClause(const Clause& clause) {
    if (clause.path.empty()) return absl::InvalidArgumentError("empty path");
    uint32_t node = Node(clause.path);
    std::vector<uint32_t>& preds = clause_scratch_;
    preds.clear();
    for (const Predicate& p : clause.any_of) {
      auto id = InternPred(node, p);
      if (!id.ok()) return id.status();
      preds.push_back(*id);
    }
    if (preds.empty()) return absl::InvalidArgumentError("clause with no predicate");
    std::sort(preds.begin(), preds.end());
    preds.erase(std::unique(preds.begin(), preds.end()), preds.end());
    const uint32_t next = static_cast<uint32_t>(clause_uses_.size());
    uint32_t id;
    bool inserted;
    if (preds.size() == 1) {
      // Most clauses test one value: found by the predicate, no string.
      const size_t slot = size_t{preds[0]} * 2 + clause.negated;
      if (single_clauses_.size() <= slot)
        single_clauses_.resize(2 * (size_t{num_preds_} + 1), kNone);
      inserted = single_clauses_[slot] == kNone;
      if (inserted) single_clauses_[slot] = next;
      id = single_clauses_[slot];
    } else {
      auto [it, added] = clauses_.emplace(
          absl::StrCat(clause.negated ? "!" : "", absl::StrJoin(preds, ",")), next);
      id = it->second;
      inserted = added;
    }
    if (inserted) {
      for (uint32_t p : preds) pred_clause_pairs_.push_back({p, id});
      impl_->clause_preds.Add(preds);
      clause_uses_.push_back(0);
      clause_negated_.push_back(clause.negated);
    }
    return id;
  }

  // A predicate already interned at this node is found in the index it went
  // into (a value map, a literal slot); only the kinds kept in lists (globs
  // for the automaton, ranges, anything-but, CIDR) need a key of their own.
  // No per-predicate string is kept for the common kinds: with 100k rules
  // those keys were a quarter of the compiled set's memory.
  absl::StatusOr<uint32_t> InternPred(uint32_t node, const Predicate& p) {
    LeafIndex& leaf = Leaf(node);
    const uint32_t id = num_preds_;
    // Finds `text` in `map`, or adds it with the next id.
    auto in_map = [&](StrMap<uint32_t>& map, std::string_view text) -> uint32_t {
      auto [it, added] = map.try_emplace(text, id);
      if (added) ++num_preds_;
      return it->second;
    };
    auto in_slot = [&](uint32_t* slot) -> uint32_t {
      if (*slot == kNone) *slot = num_preds_++;
      return *slot;
    };
    std::string err;
    switch (p.kind) {
      case PredicateKind::kTextGlob:
      case PredicateKind::kStringGlob:
      case PredicateKind::kFoldedGlob: {
        GlobIndex& g = p.kind == PredicateKind::kTextGlob     ? leaf.text
                       : p.kind == PredicateKind::kStringGlob ? leaf.str
                                                              : leaf.folded;
        if (p.kind == PredicateKind::kFoldedGlob) leaf.needs_fold = true;
        if (IsLiteralGlob(p.text)) return in_map(g.exact, p.text);  // the common case
        Glob glob;
        if (!ParseGlob(p.text, &glob, &err)) return absl::InvalidArgumentError(err);
        if (glob.is_exact()) return in_map(g.exact, glob.literals[0]);
        if (glob.is_any()) {
          if (g.any.empty()) g.any.push_back(num_preds_++);
          return g.any[0];
        }
        if (glob.is_prefix()) return in_map(g.prefix, glob.literals[0]);
        if (glob.is_suffix()) return in_map(g.suffix, glob.literals[0]);
        if (glob.stars == 2 && glob.leading_star && glob.trailing_star &&
            glob.literals.size() == 1) {
          const size_t before = num_preds_;
          uint32_t got = in_map(g.infix, glob.literals[0]);
          if (num_preds_ != before)
            infix_globs_[GlobKey(impl_->nodes[node].leaf, p.kind)].emplace_back(got,
                                                                                GlobToRegex(glob));
          return got;
        }
        if (glob.stars > opts_.max_wildcard_stars)
          return absl::ResourceExhaustedError(absl::StrCat("wildcard '", p.text, "' has ",
                                                           glob.stars, " stars; the limit is ",
                                                           opts_.max_wildcard_stars));
        auto [known, key] = Keyed(node, p);
        if (known) return key;
        g.set_preds.push_back(id);
        g.set_globs.push_back(GlobToRegex(glob));
        return id;
      }
      case PredicateKind::kNumberEq: {
        leaf.needs_number = true;
        const size_t before = num_preds_;
        uint32_t got = in_map(leaf.num_eq, p.text);
        if (num_preds_ != before) leaf.num_eq_doubles.insert(DoubleKey(CanonicalToDouble(p.text)));
        return got;
      }
      case PredicateKind::kLiteral: {
        uint32_t* slot = p.text == "true"    ? &leaf.lit_true
                         : p.text == "false" ? &leaf.lit_false
                         : p.text == "null"  ? &leaf.lit_null
                                             : nullptr;
        if (!slot) return absl::InvalidArgumentError(absl::StrCat("not a JSON literal: ", p.text));
        return in_slot(slot);
      }
      case PredicateKind::kExists:
        if (p.text.empty()) return in_slot(&leaf.exists);
        return absl::InvalidArgumentError("an exists test takes no value");
      case PredicateKind::kNumberRange: {
        leaf.needs_number = true;
        auto [known, key] = Keyed(node, p);
        if (known) return key;
        {
          const uint32_t leaf_index = impl_->nodes[node].leaf;
          StrMap<uint32_t>& bounds = range_bounds_[leaf_index];
          auto bound = [&](const std::string& text) -> uint32_t {
            if (text.empty()) return kNone;
            return bounds.try_emplace(text, static_cast<uint32_t>(bounds.size())).first->second;
          };
          range_preds_[leaf_index].push_back({id, bound(p.lo), bound(p.hi), p.lo_open, p.hi_open});
        }
        return id;
      }
      case PredicateKind::kCidr:
      case PredicateKind::kAnythingBut: {
        auto sp = ScalarPredicate::Compile(p);
        if (!sp.ok()) return sp.status();
        auto [known, key] = Keyed(node, p);
        if (known) return key;
        if ((*sp)->needs_number()) leaf.needs_number = true;
        if ((*sp)->needs_fold()) leaf.needs_fold = true;
        leaf.direct.push_back({id, *std::move(sp), p});
        return id;
      }
    }
    return absl::InvalidArgumentError("unknown predicate kind");
  }

  // For the kinds kept in lists: {true, id} if `p` is interned at `node`
  // already, else {false, the next id}, taken, with its key kept.
  std::pair<bool, uint32_t> Keyed(uint32_t node, const Predicate& p) {
    // Interned by an unambiguous key (texts with their lengths: an excluded
    // value may hold ';' or '}'); DebugString shows the readable one.
    std::string key = absl::StrCat(node, "|");
    AppendInternKey(p, &key);
    auto [it, added] = keyed_.try_emplace(std::move(key), num_preds_);
    if (!added) return {true, it->second};
    std::string shown = absl::StrCat(node, "|");
    AppendPredKey(p, &shown);
    impl_->pred_keys.emplace_back(num_preds_, std::move(shown));
    return {false, num_preds_++};
  }

  static void AppendInternKey(const Predicate& p, std::string* k) {
    absl::StrAppend(k, static_cast<int>(p.kind), ":", p.text.size(), ":", p.text, ":", p.lo.size(),
                    ":", p.lo, ":", p.hi.size(), ":", p.hi, p.lo_open ? "(" : "[",
                    p.hi_open ? ")" : "]", p.excluded.size(), "{");
    for (const Predicate& e : p.excluded) AppendInternKey(e, k);
    *k += "}";
  }

  static uint64_t GlobKey(uint32_t leaf, PredicateKind kind) {
    return uint64_t{leaf} << 8 | static_cast<uint64_t>(kind);
  }

  absl::Status FinishGlobs(GlobIndex* g, uint64_t key, uint32_t node) {
    if (LengthsOf(g->infix).size() > kMaxInfixLengths) {
      // Too many distinct lengths for substring probing: the automaton
      // (which keeps no literal: the keys are kept for DebugString).
      const PredicateKind kind = static_cast<PredicateKind>(key & 0xFF);
      for (const auto& [lit, id] : g->infix) {
        Predicate p;
        p.kind = kind;
        p.text = absl::StrCat("*", EscapeGlobLiteral(lit), "*");
        std::string k = absl::StrCat(node, "|");
        AppendPredKey(p, &k);
        impl_->pred_keys.emplace_back(id, std::move(k));
      }
      for (auto& [id, re] : infix_globs_[key]) {
        g->set_preds.push_back(id);
        g->set_globs.push_back(re);
      }
      g->infix.clear();
    }
    return FinishGlobIndex(g, opts_);
  }

  void FinishRanges(size_t leaf_index) {
    auto& preds = range_preds_[leaf_index];
    if (preds.empty()) return;
    NumberRangeIndex& idx = impl_->leaves[leaf_index].ranges;
    StrMap<uint32_t>& texts = range_bounds_[leaf_index];
    // The bounds in numeric order, and each bound's rank in it.
    std::vector<std::pair<DecimalView, uint32_t>> order;
    order.reserve(texts.size());
    for (const auto& [text, i] : texts) order.emplace_back(ParseCanonical(text), i);
    std::sort(order.begin(), order.end(),
              [](const auto& a, const auto& b) { return CompareDecimal(a.first, b.first) < 0; });
    std::vector<std::string_view> by_index(texts.size());
    for (const auto& [text, i] : texts) by_index[i] = text;
    std::vector<uint32_t> rank(texts.size());
    idx.bound_text.clear();
    idx.bound_text.reserve(order.size());
    for (size_t r = 0; r < order.size(); ++r) {
      rank[order[r].second] = static_cast<uint32_t>(r);
      idx.bound_text.emplace_back(by_index[order[r].second]);
    }
    order = {};
    FinishRangeBounds(&idx);
    const size_t k = idx.bounds.size();
    const size_t leaves = idx.leaves;
    // The segment tree's lists, in two passes over the ranges (count, then
    // fill) rather than through (node, predicate) pairs: with n log n of
    // them, the pairs were the largest thing compiling held.
    Postings& nodes = idx.nodes;
    nodes.offsets.assign(2 * leaves + 1, 0);
    auto tile = [&](auto&& visit) {
      for (const RangePred& p : preds) {
        size_t first = p.lo == kNone ? 0 : 2 * rank[p.lo] + (p.lo_open ? 2 : 1);
        size_t last = p.hi == kNone ? 2 * k : 2 * rank[p.hi] + (p.hi_open ? 0 : 1);
        last = std::min(last, 2 * k);
        if (first > last) continue;  // an empty range
        // The nodes that tile [first, last], bottom-up.
        for (size_t l = first + leaves, r = last + leaves + 1; l < r; l /= 2, r /= 2) {
          if (l & 1) visit(l++, p.id);
          if (r & 1) visit(--r, p.id);
        }
      }
    };
    tile([&](size_t node, uint32_t) { ++nodes.offsets[node + 1]; });
    for (size_t i = 0; i < 2 * leaves; ++i) nodes.offsets[i + 1] += nodes.offsets[i];
    nodes.ids.resize(nodes.offsets.back());
    std::vector<uint32_t> next(nodes.offsets.begin(), nodes.offsets.end() - 1);
    tile([&](size_t node, uint32_t id) { nodes.ids[next[node]++] = id; });
    preds = {};
    texts = {};
  }

  const CompileOptions& opts_;
  RuleSetImpl* impl_;
  // Posting lists from (list, id) pairs, ids in the order given.
  static Postings FromPairs(const std::vector<std::pair<uint32_t, uint32_t>>& pairs, size_t n) {
    Postings out;
    out.offsets.assign(n + 1, 0);
    for (const auto& [list, id] : pairs) ++out.offsets[list + 1];
    for (size_t i = 0; i < n; ++i) out.offsets[i + 1] += out.offsets[i];
    out.ids.resize(pairs.size());
    std::vector<uint32_t> next(out.offsets.begin(), out.offsets.end() - 1);
    for (const auto& [list, id] : pairs) out.ids[next[list]++] = id;
    return out;
  }

  absl::flat_hash_map<std::string, uint32_t> keyed_;  // Keyed()'s predicates
  std::string last_path_;  // Node()'s last answer
  uint32_t last_node_ = 0;
  uint32_t num_preds_ = 0;
  std::vector<std::pair<uint32_t, uint32_t>> pred_clause_pairs_;  // (pred, clause)
  std::vector<uint32_t> clause_uses_;  // positive uses per clause, to pick anchors
  std::vector<uint32_t> pos_, neg_, clause_scratch_;
  absl::flat_hash_map<std::string, uint32_t> clauses_;            // "!p1,p2": clause
  std::vector<uint32_t> single_clauses_;  // [2 p + negated]: its one-predicate clause, or kNone
  std::vector<uint8_t> clause_negated_;
  // Per leaf: its ranges, their bounds numbered in the order first seen.
  struct RangePred {
    uint32_t id, lo, hi;  // lo, hi: in range_bounds_, or kNone (unbounded)
    bool lo_open, hi_open;
  };
  std::vector<std::vector<RangePred>> range_preds_;
  std::vector<StrMap<uint32_t>> range_bounds_;
  // "*lit*" globs per index, in case they go to the automaton after all.
  static constexpr size_t kMaxInfixLengths = 6;
  std::map<uint64_t, std::vector<std::pair<uint32_t, std::string>>> infix_globs_;
};

}  // namespace

namespace {

absl::StatusOr<std::shared_ptr<const RuleSetImpl>> CompileSegment(std::vector<RuleDef> rules,
                                                                  const CompileOptions& options) {
  auto impl = std::make_shared<RuleSetImpl>();
  impl->rules = std::move(rules);
  Compiler c(options, impl.get());
  size_t clauses = 0, preds = 0;
  for (const RuleDef& r : impl->rules) {
    if (!r.enabled) continue;
    for (const Conjunction& conj : r.condition.any_of) {
      clauses += conj.all_of.size();
      for (const Clause& clause : conj.all_of) preds += clause.any_of.size();
    }
  }
  c.Reserve(clauses, preds);
  for (size_t i = 0; i < impl->rules.size(); ++i) {
    const RuleDef& r = impl->rules[i];
    if (!r.enabled) continue;
    ++impl->enabled;
    absl::Status s = c.AddRule(static_cast<uint32_t>(i), r);
    if (!s.ok()) return absl::Status(s.code(), absl::StrCat("rule '", r.id, "': ", s.message()));
  }
  absl::Status s = c.Finish();
  if (!s.ok()) return s;
  return std::shared_ptr<const RuleSetImpl>(std::move(impl));
}

}  // namespace

RuleSet::~RuleSet() = default;

size_t RuleSet::size() const {
  const Segment& last = segments_.back();
  return last.offset + last.impl->RuleCount();
}

const RuleDef& RuleSet::rule(size_t i) const {
  const Segment& seg = SegmentOf(i);
  seg.impl->DecodeCold();
  return seg.impl->rules[i - seg.offset];
}

const RuleSet::Segment& RuleSet::SegmentOf(size_t i) const {
  for (size_t s = segments_.size(); s-- > 1;)
    if (i >= segments_[s].offset) return segments_[s];
  return segments_[0];
}

std::string_view RuleSet::id(size_t i) const {
  const Segment& seg = SegmentOf(i);
  return seg.impl->Id(i - seg.offset);
}

bool RuleSet::enabled(size_t i) const {
  const Segment& seg = SegmentOf(i);
  return seg.impl->Enabled(i - seg.offset);
}

std::string_view RuleSet::dialect(size_t i) const {
  const Segment& seg = SegmentOf(i);
  return seg.impl->Dialect(i - seg.offset);
}

bool RuleSet::removed(size_t i) const {
  return removed_ && i < segments_[0].impl->RuleCount() && ((*removed_)[i / 64] >> (i % 64)) & 1;
}

size_t RuleSet::enabled_count() const { return enabled_; }

std::optional<size_t> RuleSet::Find(std::string_view id) const {
  for (size_t s = segments_.size(); s-- > 1;) {
    const RuleSetImpl& m = *segments_[s].impl;
    for (size_t i = 0; i < m.RuleCount(); ++i)
      if (m.Id(i) == id) return segments_[s].offset + i;
  }
  std::optional<uint32_t> slot = shared_->BaseIds().Find(id);
  if (!slot || removed(*slot)) return std::nullopt;
  return *slot;
}

absl::StatusOr<std::shared_ptr<const RuleSet>> RuleSet::Compile(std::vector<RuleDef> rules,
                                                                const CompileOptions& options) {
  auto shared = std::make_shared<Shared>();
  shared->options = options;
  {
    // Repeated ids first (a plain map: the rules move into the piece).
    absl::flat_hash_set<std::string_view> seen;
    seen.reserve(rules.size());
    for (const RuleDef& r : rules)
      if (!r.id.empty() && !seen.insert(r.id).second)
        return absl::AlreadyExistsError(absl::StrCat("rule id '", r.id, "' is used twice"));
  }
  auto seg = CompileSegment(std::move(rules), options);
  if (!seg.ok()) return seg.status();
  shared->base_ids.emplace(seg->get());
  shared->base_ids->Reserve((*seg)->RuleCount());
  for (size_t i = 0; i < (*seg)->RuleCount(); ++i)
    if (!(*seg)->Id(i).empty()) shared->base_ids->Insert(static_cast<uint32_t>(i));
  std::shared_ptr<RuleSet> rs(new RuleSet());
  rs->enabled_ = (*seg)->enabled;
  rs->segments_.push_back({*std::move(seg), 0});
  rs->shared_ = std::move(shared);
  return std::shared_ptr<const RuleSet>(std::move(rs));
}

struct EncodedCompilation::State {
  explicit State(const CompileOptions& options)
      : shared(std::make_shared<RuleSet::Shared>()),
        impl(std::make_shared<RuleSetImpl>()),
        compiler(SetOptions(shared.get(), options), impl.get()) {}
  static const CompileOptions& SetOptions(RuleSet::Shared* shared, const CompileOptions& o) {
    shared->options = o;
    return shared->options;
  }
  std::shared_ptr<RuleSet::Shared> shared;
  std::shared_ptr<RuleSetImpl> impl;
  Compiler compiler;
  RuleDef rule;  // one at a time, its buffers reused
  uint32_t count = 0;
  absl::Status status;
};

EncodedCompilation::EncodedCompilation(const CompileOptions& options, size_t rules,
                                       size_t conjunctions, size_t clauses, size_t predicates)
    : s_(std::make_unique<State>(options)) {
  s_->shared->base_ids.emplace(s_->impl.get());
  s_->shared->base_ids->Reserve(rules);
  s_->impl->lazy = true;
  s_->impl->id_ends.reserve(rules);
  s_->impl->rule_flags.reserve(rules);
  s_->compiler.Reserve(clauses, predicates, conjunctions);
}

EncodedCompilation::EncodedCompilation(EncodedCompilation&&) noexcept = default;
EncodedCompilation& EncodedCompilation::operator=(EncodedCompilation&&) noexcept = default;
EncodedCompilation::~EncodedCompilation() = default;

size_t EncodedCompilation::size() const { return s_->count; }

void EncodedCompilation::Add(const EncodedRules& part) {
  State& s = *s_;
  if (!s.status.ok()) return;
  RuleSetImpl& impl = *s.impl;
  const size_t id_bytes = impl.ids.size() + part.id_bytes();
  if (id_bytes > impl.ids.capacity()) impl.ids.reserve(std::max(id_bytes, 2 * impl.ids.capacity()));
  RuleDef& r = s.rule;
  EncodedRules::Cursor cursor(part);
  for (; cursor.Next(&r); ++s.count) {
    const uint32_t i = s.count;
    impl.ids += r.id;
    impl.id_ends.push_back(static_cast<uint32_t>(impl.ids.size()));
    impl.rule_flags.push_back(EncodedRules::Flags(r));
    if (!r.id.empty() && !s.shared->base_ids->Insert(i)) {
      s.status = absl::AlreadyExistsError(absl::StrCat("rule id '", r.id, "' is used twice"));
      return;
    }
    if (!r.enabled) continue;
    ++impl.enabled;
    absl::Status st = s.compiler.AddRule(i, r);
    if (!st.ok()) {
      s.status = absl::Status(st.code(), absl::StrCat("rule '", r.id, "': ", st.message()));
      return;
    }
  }
  if (!cursor.ok()) s.status = absl::InternalError("rules held encoded are damaged");
}

absl::StatusOr<std::shared_ptr<const RuleSet>> RuleSet::CompileEncoded(
    EncodedRules&& rules, const CompileOptions& options) {
  EncodedCompilation c(options, rules.size(), rules.conjunctions(), rules.clauses(),
                       rules.predicates());
  c.Add(rules);
  return FinishEncoded(std::move(c), std::move(rules));
}

absl::StatusOr<std::shared_ptr<const RuleSet>> RuleSet::FinishEncoded(
    EncodedCompilation&& compilation, EncodedRules&& rules) {
  EncodedCompilation::State& s = *compilation.s_;
  if (!s.status.ok()) return s.status;
  if (s.count != rules.size()) return absl::InternalError("not every rule was compiled");
  absl::Status st = s.compiler.Finish();
  if (!st.ok()) return st;
  s.impl->cold = std::move(rules);
  std::shared_ptr<RuleSet> rs(new RuleSet());
  rs->enabled_ = s.impl->enabled;
  rs->segments_.push_back({std::move(s.impl), 0});
  rs->shared_ = std::move(s.shared);
  return std::shared_ptr<const RuleSet>(std::move(rs));
}

absl::StatusOr<std::shared_ptr<const RuleSet>> RuleSet::Update(
    const std::shared_ptr<const RuleSet>& from, std::vector<RuleDef> add,
    const std::vector<std::string>& remove) {
  const Segment& base = from->segments_[0];
  const size_t nbase = base.impl->RuleCount();
  std::vector<RuleDef> delta;
  if (from->segments_.size() > 1) delta = from->segments_[1].impl->rules;
  std::vector<uint64_t> removed =
      from->removed_ ? *from->removed_ : std::vector<uint64_t>((nbase + 63) / 64, 0);
  size_t removed_count = from->removed_count_;
  // Live enabled rules of the base, kept up to date as rules are taken out.
  size_t base_enabled =
      from->enabled_ - (from->segments_.size() > 1 ? from->segments_[1].impl->enabled : 0);

  // Takes a live rule out of the base (by bit) or the delta; false if absent.
  auto take_out = [&](std::string_view id) {
    for (size_t i = 0; i < delta.size(); ++i) {
      if (delta[i].id == id) {
        delta.erase(delta.begin() + static_cast<ptrdiff_t>(i));
        return true;
      }
    }
    std::optional<uint32_t> slot = from->shared_->BaseIds().Find(id);
    if (!slot) return false;
    uint64_t& word = removed[*slot / 64];
    uint64_t bit = uint64_t{1} << (*slot % 64);
    if (word & bit) return false;
    word |= bit;
    ++removed_count;
    if (base.impl->Enabled(*slot)) --base_enabled;
    return true;
  };
  for (const std::string& id : remove)
    if (!take_out(id)) return absl::NotFoundError(absl::StrCat("no rule with id '", id, "'"));
  for (RuleDef& r : add) {
    if (!r.id.empty()) take_out(r.id);
    delta.push_back(std::move(r));
  }

  const CompileOptions& options = from->shared_->options;
  if (delta.size() > options.max_delta_rules || removed_count > nbase / 2 + 64) {
    // Too much has changed: one piece again.
    base.impl->DecodeCold();
    std::vector<RuleDef> all;
    all.reserve(nbase - removed_count + delta.size());
    for (size_t i = 0; i < nbase; ++i)
      if (!((removed[i / 64] >> (i % 64)) & 1)) all.push_back(base.impl->rules[i]);
    for (RuleDef& r : delta) all.push_back(std::move(r));
    return Compile(std::move(all), options);
  }
  std::shared_ptr<RuleSet> rs(new RuleSet());
  rs->shared_ = from->shared_;
  rs->segments_.push_back(base);
  rs->enabled_ = base_enabled;
  if (!delta.empty()) {
    auto seg = CompileSegment(std::move(delta), options);
    if (!seg.ok()) return seg.status();
    rs->enabled_ += (*seg)->enabled;
    rs->segments_.push_back({*std::move(seg), static_cast<uint32_t>(nbase)});
  }
  rs->removed_count_ = removed_count;
  if (removed_count > 0)
    rs->removed_ = std::make_shared<const std::vector<uint64_t>>(std::move(removed));
  return std::shared_ptr<const RuleSet>(std::move(rs));
}

namespace {

// "path kind:value" per predicate, from the indexes the predicates went
// into, and from the keys kept for the kinds held in lists. Read
// defensively: a set read from a damaged compiled file may hold anything
// (a predicate then has an empty key).
std::vector<std::string> PredKeys(const RuleSetImpl& m) {
  std::vector<std::string> keys(m.num_preds);
  auto set = [&](uint32_t id, std::string_view path, std::string_view kind, std::string_view text) {
    if (id < keys.size())
      keys[id] = absl::StrCat(AbslView(path), " ", AbslView(kind), ":", AbslView(text));
  };
  for (const TrieNode& n : m.nodes) {
    if (n.leaf == kNone || n.leaf >= m.leaves.size()) continue;
    const LeafIndex& leaf = m.leaves[n.leaf];
    const std::pair<const GlobIndex*, PredicateKind> families[] = {
        {&leaf.text, PredicateKind::kTextGlob},
        {&leaf.str, PredicateKind::kStringGlob},
        {&leaf.folded, PredicateKind::kFoldedGlob}};
    for (auto [g, kind] : families) {
      const char* k = KindName(kind);
      for (const auto& [lit, id] : g->exact) set(id, n.path, k, EscapeGlobLiteral(lit));
      for (const auto& [lit, id] : g->prefix)
        set(id, n.path, k, absl::StrCat(EscapeGlobLiteral(lit), "*"));
      for (const auto& [lit, id] : g->suffix)
        set(id, n.path, k, absl::StrCat("*", EscapeGlobLiteral(lit)));
      for (const auto& [lit, id] : g->infix)
        set(id, n.path, k, absl::StrCat("*", EscapeGlobLiteral(lit), "*"));
      for (uint32_t id : g->any) set(id, n.path, k, "*");
    }
    for (const auto& [text, id] : leaf.num_eq) set(id, n.path, "number", text);
    if (leaf.lit_true != kNone) set(leaf.lit_true, n.path, "literal", "true");
    if (leaf.lit_false != kNone) set(leaf.lit_false, n.path, "literal", "false");
    if (leaf.lit_null != kNone) set(leaf.lit_null, n.path, "literal", "null");
    if (leaf.exists != kNone) set(leaf.exists, n.path, "exists", "");
  }
  // "node|kind:value" -> "path kind:value".
  for (const auto& [id, k] : m.pred_keys) {
    if (id >= keys.size()) continue;
    absl::string_view key(k);
    size_t bar = key.find('|');
    uint32_t node;
    if (bar != absl::string_view::npos && absl::SimpleAtoi(key.substr(0, bar), &node) &&
        node < m.nodes.size())
      keys[id] = absl::StrCat(m.nodes[node].path, " ", key.substr(bar + 1));
    else
      keys[id] = absl::StrCat("? ", key);
  }
  return keys;
}

}  // namespace

std::string RuleSet::DebugString() const {
  std::string out;
  for (size_t s = 0; s < segments_.size(); ++s) {
    const RuleSetImpl& m = *segments_[s].impl;
    m.DecodeCold();
    if (segments_.size() > 1) absl::StrAppend(&out, "segment ", s, "\n");
    absl::StrAppend(&out, "rules ", m.RuleCount(), " enabled ", m.enabled, " preds ", m.num_preds,
                    " clauses ", m.clause_preds.size(), " conjs ", m.conjs.size(), " paths ",
                    m.leaves.size(), "\n");
    std::vector<std::string> keys = PredKeys(m);
    for (uint32_t p = 0; p < m.num_preds; ++p) {
      if (keys[p].empty()) keys[p] = "? ?";  // only in a damaged compiled file
      absl::StrAppend(&out, "pred ", p, ": ", keys[p], "\n");
    }
    for (uint32_t c = 0; c < m.clause_preds.size(); ++c) {
      absl::StrAppend(&out, "clause ", c, m.clause_negated[c] ? " not" : "", " any of [",
                      absl::StrJoin(m.clause_preds.begin(c), m.clause_preds.end(c), ","), "]\n");
    }
    for (uint32_t j = 0; j < m.conjs.size(); ++j) {
      absl::StrAppend(&out, "conj ", j, " rule ", AbslView(m.Id(m.conjs[j].rule)), " all of [",
                      absl::StrJoin(m.conj_clauses.begin(j), m.conj_clauses.end(j), ","), "]");
      if (m.conj_negated.begin(j) != m.conj_negated.end(j))
        absl::StrAppend(&out, " none of [",
                        absl::StrJoin(m.conj_negated.begin(j), m.conj_negated.end(j), ","), "]");
      if (m.conjs[j].consistent) out += " same-element";
      out += "\n";
    }
  }
  if (removed_count_ > 0) absl::StrAppend(&out, "removed ", removed_count_, "\n");
  return out;
}

}  // namespace weir
