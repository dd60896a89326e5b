// Matcher: one simdjson On-Demand pass over an event, guided by the trie of
// paths the rules name; per-path indexes fire predicates; clause counting
// finds the conjunctions (and so the rules) that hold.
#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/casefold.h"
#include "engine/json_token.h"
#include "engine/ruleset_impl.h"
#include "engine/scan.h"
#include "engine/validate.h"
#include "simdjson.h"

namespace weir {

namespace od = simdjson::ondemand;
static_assert(Matcher::kPadding >= simdjson::SIMDJSON_PADDING);

namespace {
// The On-Demand parser's first-stage index of the event it parsed, so that
// validating a matched event does not index it again (a tenth of the time
// when most events match). simdjson keeps it private; access checking does
// not apply to the arguments of an explicit instantiation
// ([temp.spec.general]/6), which is how this names it. Checked against
// simdjson 3 (Debian's 3.0.1): a renamed member fails to compile.
static_assert(simdjson::SIMDJSON_VERSION_MAJOR == 3);
using StageImpl = std::unique_ptr<simdjson::internal::dom_parser_implementation>;
const StageImpl& FirstStage(const od::parser& p);
template <StageImpl od::parser::*Member>
struct FirstStageAccess {
  friend const StageImpl& FirstStage(const od::parser& p) { return p.*Member; }
};
template struct FirstStageAccess<&od::parser::implementation>;

// The document's token iterator, to tell whether a walk over a cut event
// stayed inside the part that was indexed (see MatcherImpl::CutPoint).
// Protected in simdjson 3; named the same way.
const od::json_iterator& DocIter(const od::document& d);
template <od::json_iterator od::document::*Member>
struct DocIterAccess {
  friend const od::json_iterator& DocIter(const od::document& d) { return d.*Member; }
};
template struct DocIterAccess<&od::document::iter>;

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
}  // namespace

class MatcherImpl {
 public:
  MatcherImpl(std::shared_ptr<const RuleSet> rules, const EventLimits& limits)
      : limits_(limits), od_parser_(limits.max_event_bytes), validator_(limits.max_depth) {
    Bind(std::move(rules));
  }

  void Bind(std::shared_ptr<const RuleSet> rules) {
    rules_ = std::move(rules);
    segs_.resize(rules_->segment_count());
    for (size_t i = 0; i < segs_.size(); ++i) {
      const RuleSetImpl& m = rules_->segment(i);
      Scratch& sc = segs_[i];
      sc.pred_epoch.assign(m.num_preds, 0);
      sc.pred_head.assign(m.num_preds, kNone);
      sc.clause_epoch.assign(m.clause_preds.size(), 0);
      sc.rule_epoch.assign(m.RuleCount(), 0);
      sc.seen.assign(m.nodes.size(), 0);
    }
    epoch_ = 0;
    visit_ = 0;
    // The cut needs every key the rules name at the top level; a few
    // searches per event at most.
    cut_keys_.clear();
    for (size_t i = 0; i < segs_.size(); ++i) {
      for (const auto& [name, id] : rules_->segment(i).nodes[0].children) {
        std::string quoted = absl::StrCat("\"", name, "\"");
        if (std::find(cut_keys_.begin(), cut_keys_.end(), quoted) == cut_keys_.end())
          cut_keys_.push_back(std::move(quoted));
      }
    }
    if (cut_keys_.size() > kMaxCutKeys) cut_keys_.clear();
  }

  absl::Status Match(std::string_view event, std::vector<uint32_t>* out) {
    absl::Status st = MatchOnce(event, out);
    if (st.ok()) return st;
    out->clear();
    // A bad event: On-Demand stops where it noticed; the full parser names
    // the first real problem, so messages do not depend on the rules.
    absl::Status full = Validate(event);
    return full.ok() ? st : full;
  }

  absl::Status MatchOnce(std::string_view event, std::vector<uint32_t>* out) {
    out->clear();
    if (event.size() > limits_.max_event_bytes) return TooBig(event.size());
    NextEpoch();
    indexed_ = {};
    cut_ = 0;
    if (const size_t cut = CutPoint(event)) {
      // The walk over the cut event is the walk over the whole one as long
      // as it reads no token past the cut: then it is kept. Otherwise, or on
      // any error, the event is parsed whole, so errors are reported as
      // from a whole parse.
      if (!Parse(event, cut) && Walk(out).ok() && WithinIndex()) {
        indexed_ = event;
        cut_ = cut;
        return absl::OkStatus();
      }
      out->clear();
      NextEpoch();  // what the abandoned walk stamped does not count
    }
    if (auto err = Parse(event, event.size())) return JsonError(err);
    indexed_ = event;
    return Walk(out);
  }

  // Where to cut an event so that simdjson's first stage indexes only the
  // part the walk reads; 0: not at all. It depends on the event and the
  // rules only, so an event's verdict never depends on the events before it
  // (which is why cutting where the last event's walk stopped was dropped).
  // The cut is just after the first '}' that follows the first occurrence
  // of every key the rules name at the top level, written as a JSON string.
  // Nothing here has to be right about the JSON: a '}' inside a string
  // leaves the cut part with an unclosed string (a first-stage error), and
  // a cut before what the walk needs makes the walk read past the index
  // (WithinIndex); both parse the event whole. What the cut gives up:
  // stage-1 errors (bad UTF-8, an unclosed string) past the cut in an event
  // that matches nothing; a matched event is still validated whole.
  size_t CutPoint(std::string_view e) const {
    if (cut_keys_.empty() || e.size() < kMinCutRest) return 0;
    size_t end = e.size();
    while (end > 0 && IsJsonSpace(e[end - 1])) --end;
    // Without a final '}' the whole parse fails, and so must the event.
    if (end == 0 || e[end - 1] != '}') return 0;
    size_t from = 0;
    for (const std::string& k : cut_keys_) {
      const char* at = FindShort(e.data(), end, k);  // the padding follows e
      if (at == nullptr) return 0;
      from = std::max(from, static_cast<size_t>(at - e.data()) + k.size());
    }
    const void* brace = std::memchr(e.data() + from, '}', end - from);
    if (brace == nullptr) return 0;
    const size_t cut = static_cast<size_t>(static_cast<const char*>(brace) - e.data()) + 1;
    return end - cut >= kMinCutRest ? cut : 0;
  }

  // Stage 1 over event[0, len): the whole event or a cut.
  simdjson::error_code Parse(std::string_view event, size_t len) {
    return od_parser_
        .iterate(simdjson::padded_string_view(event.data(), len, event.size() + Matcher::kPadding))
        .get(doc_);
  }

  // Whether the walk consumed only indexed tokens. The iterator only moves
  // forward and a token is acted on only once consumed (a peek at the next
  // token follows the consumption of an opening bracket, a colon or a
  // comma, never of the closing '}' that ends a cut), so this is the test.
  bool WithinIndex() const {
    const od::json_iterator& it = DocIter(doc_);
    const StageImpl& stage = FirstStage(od_parser_);
    return it.is_alive() &&
           it.position() <= stage->structural_indexes.get() + stage->n_structural_indexes;
  }

  // Walks the parsed document once per segment.
  absl::Status Walk(std::vector<uint32_t>* out) {
    od::document& doc = doc_;
    simdjson::error_code err;
    // Each segment (the compiled base, then the delta of run-time changes)
    // walks the same parsed document; rewinding skips re-indexing it.
    for (size_t i = 0; i < segs_.size(); ++i) {
      m_ = &rules_->segment(i);
      sc_ = &segs_[i];
      if (i > 0) doc.rewind();
      od::object root;
      err = doc.get_object().get(root);
      if (err) {
        if (err == simdjson::INCORRECT_TYPE) return absl::InvalidArgumentError("not a JSON object");
        return JsonError(err);
      }
      candidates_.clear();
      direct_.clear();
      hits_.clear();
      ctx_.clear();
      ctx_.push_back({kNone, kNone, 0});
      arrays_ = 0;
      error_ = simdjson::SUCCESS;
      if (!m_->nodes[0].children.empty()) {
        depth_ = 1;
        if (!VisitObject(root, 0, 0)) return JsonError(error_);
      }
      Collect(rules_->segment_offset(i), i == 0, out);
    }
    return absl::OkStatus();
  }

  // Matched events are validated before they are output (docs/limits.md, "What is validated"); the
  // match's own parse read only the paths rules name.
  absl::Status ValidateLast(std::string_view event) {
    if (event.data() != indexed_.data() || event.size() != indexed_.size()) return Validate(event);
    const StageImpl& stage = FirstStage(od_parser_);
    walk_error_ = cut_ ? validator_.CheckAfterCut(event.data(), event.size(), cut_,
                                                  stage->structural_indexes.get(),
                                                  stage->n_structural_indexes)
                       : validator_.CheckIndexed(event.data(), event.size(),
                                                 stage->structural_indexes.get(),
                                                 stage->n_structural_indexes);
    return walk_error_ ? Explain(event) : absl::OkStatus();
  }

  bool EnsureDom(size_t size) {
    // simdjson rejects nesting equal to its max_depth; ours is inclusive.
    if (dom_ready_ && dom_parser_.capacity() >= size) return true;
    if (dom_parser_.allocate(std::max<size_t>(size, 4096), limits_.max_depth + 1)) return false;
    dom_ready_ = true;
    return true;
  }

  // Checks the whole event: exactly one JSON object, every value valid.
  // Numbers are checked against the JSON grammar, not the double range, so
  // 1e400 and 30-digit integers are valid (they match exactly).
  absl::Status Validate(std::string_view event) {
    if (event.size() > limits_.max_event_bytes) return TooBig(event.size());
    walk_error_ = validator_.Check(event.data(), event.size());
    return walk_error_ ? Explain(event) : absl::OkStatus();
  }

  // Names the first problem of an event the validator rejected, with
  // simdjson's DOM parser (which finds the same problems and words them
  // better; it is also stricter about number range, which weir is not).
  absl::Status Explain(std::string_view event) {
    if (walk_error_ == simdjson::DEPTH_ERROR) return JsonError(simdjson::DEPTH_ERROR);
    if (!EnsureDom(event.size())) return JsonError(simdjson::MEMALLOC);
    simdjson::dom::element el;
    auto err = dom_parser_.parse(event.data(), event.size(), false).get(el);
    if (err && err != simdjson::NUMBER_ERROR) return JsonError(err);
    if (!err && !el.is_object()) return absl::InvalidArgumentError("not a JSON object");
    return JsonError(walk_error_ ? walk_error_ : simdjson::TAPE_ERROR);
  }

  const RuleSet& rules() const { return *rules_; }

 private:
  // Per-segment stamps: an entry is current when it equals epoch_.
  struct Scratch {
    std::vector<uint32_t> pred_epoch, pred_head, clause_epoch, rule_epoch;
    std::vector<uint32_t> seen;  // per trie node: the object visit it was seen in
  };
  struct Ctx {
    uint32_t parent, array, depth;
  };
  struct Hit {
    uint32_t ctx, next;
  };

  absl::Status TooBig(size_t n) {
    return absl::InvalidArgumentError(absl::StrCat("event is ", n, " bytes, over the limit of ",
                                                   limits_.max_event_bytes));
  }
  absl::Status JsonError(simdjson::error_code e) {
    switch (e) {
      case simdjson::DEPTH_ERROR:
        return absl::InvalidArgumentError(
            absl::StrCat("nested deeper than the limit of ", limits_.max_depth));
      case simdjson::UTF8_ERROR:
        return absl::InvalidArgumentError("invalid UTF-8");
      case simdjson::CAPACITY:
        return absl::InvalidArgumentError("event is over the size limit");
      case simdjson::TAPE_ERROR:
        return absl::InvalidArgumentError(
            "invalid JSON: bad structure (a missing or extra comma, colon, brace or bracket)");
      case simdjson::INCOMPLETE_ARRAY_OR_OBJECT:
        return absl::InvalidArgumentError("invalid JSON: an object or array is not closed");
      case simdjson::TRAILING_CONTENT:
        return absl::InvalidArgumentError("invalid JSON: more content after the object");
      case simdjson::UNCLOSED_STRING:
        return absl::InvalidArgumentError("invalid JSON: a string is not terminated");
      case simdjson::STRING_ERROR:
      case simdjson::UNESCAPED_CHARS:
        return absl::InvalidArgumentError("invalid JSON: bad string (escape or control character)");
      case simdjson::NUMBER_ERROR:
        return absl::InvalidArgumentError("invalid JSON: bad number");
      case simdjson::T_ATOM_ERROR:
      case simdjson::F_ATOM_ERROR:
      case simdjson::N_ATOM_ERROR:
        return absl::InvalidArgumentError("invalid JSON: bad literal (true, false or null)");
      case simdjson::EMPTY:
        return absl::InvalidArgumentError("invalid JSON: empty");
      default:  // simdjson's own texts are not the documented reasons
        return absl::InvalidArgumentError("invalid JSON");
    }
  }

  void NextEpoch() {
    if (++epoch_ == 0 || visit_ > 0xF0000000u) {  // wrapped: clear the stamps
      for (Scratch& sc : segs_) {
        for (auto* v : {&sc.pred_epoch, &sc.clause_epoch, &sc.rule_epoch, &sc.seen})
          std::fill(v->begin(), v->end(), 0);
      }
      epoch_ = 1;
      visit_ = 0;
    }
  }

  bool Fail(simdjson::error_code e) {
    error_ = e;
    return false;
  }

  // The key's bytes; unescapes only when the key holds a backslash.
  // *in_event: the key is read in place (no escapes), so that the event's
  // padding follows it.
  bool Key(od::field& field, std::string_view* key, bool* in_event) {
    const char* p = field.key().raw();
    if (const char* q = PlainStringEnd(p)) {
      *key = std::string_view(p, static_cast<size_t>(q - p));
      *in_event = true;
      return true;
    }
    *in_event = false;
    auto err = field.unescaped_key().get(*key);
    return err ? Fail(err) : true;
  }

  // Whether key starts with c's name (n bytes, key at least as long).
  static bool StartsWithName(std::string_view key, bool in_event, const TrieNode::FewChild& c,
                             size_t n) {
#if defined(__SSE2__)
    if (in_event && n <= 16) {
      // Reads 16 bytes of the key: past its end lies the rest of the event
      // and its padding.
      const __m128i k = _mm_loadu_si128(reinterpret_cast<const __m128i*>(key.data()));
      const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(c.head));
      const unsigned eq = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(k, h)));
      const unsigned want = n == 16 ? 0xFFFFu : (1u << n) - 1;
      return (eq & want) == want;
    }
#endif
    return std::memcmp(key.data(), c.name.data(), n) == 0;
  }

  bool VisitObject(od::object& obj, uint32_t node_id, uint32_t ctx) {
    if (depth_ > limits_.max_depth) return Fail(simdjson::DEPTH_ERROR);
    const TrieNode& node = m_->nodes[node_id];
    // Plain keys the rules name at this level, seen in this object: the first
    // occurrence counts, and once all are seen the rest is skipped.
    const uint32_t visit = ++visit_;
    const size_t dotted_start = dotted_.size();
    struct Restore {
      std::vector<uint32_t>& v;
      size_t n;
      ~Restore() { v.resize(n); }
    } restore{dotted_, dotted_start};
    size_t seen = 0;
    const size_t wanted = node.children.size();
    for (auto fr : obj) {
      // The field and its value are used where the iterator made them:
      // copying them (two narrow stores read back as one 16-byte load)
      // stalled store forwarding, a tenth of the mixed set's time.
      if (auto e = fr.error()) return Fail(e);
      od::field& field = fr.value_unsafe();
      std::string_view key;
      bool in_event;
      if (!Key(field, &key, &in_event)) return false;
      // The child the key (or its part before the first dot) names.
      uint32_t target = kNone;
      size_t dot = std::string_view::npos;
      if (node.few.empty()) {
        dot = key.find('.');
        auto it = node.children.find(key.substr(0, dot));
        if (it != node.children.end()) target = it->second;
      } else {
        // A few children: compared, not hashed, and no scan for a dot in
        // the many keys that name none of them. Names hold no dots.
        for (const TrieNode::FewChild& c : node.few) {
          const size_t n = c.name.size();
          // The first byte rejects most names.
          if (n > 0 && (key.empty() || key[0] != c.name[0])) continue;
          if (key.size() >= n && StartsWithName(key, in_event, c, n) &&
              (key.size() == n || key[n] == '.')) {
            target = c.id;
            if (key.size() > n) dot = n;
            break;
          }
        }
      }
      if (target == kNone) continue;
      if (dot == std::string_view::npos) {
        if (sc_->seen[target] == visit) continue;  // a later duplicate
        sc_->seen[target] = visit;
        ++seen;
      } else {
        // A dotted key names the same path as its split form, unless the
        // plain key it starts with came before it (first occurrence counts).
        if (sc_->seen[target] == visit) continue;
        std::string_view rest = key.substr(dot + 1);
        bool found = true;
        for (;;) {
          size_t d = rest.find('.');
          const auto& ch = m_->nodes[target].children;
          auto jt = ch.find(rest.substr(0, d));
          if (jt == ch.end()) {
            found = false;
            break;
          }
          target = jt->second;
          if (d == std::string_view::npos) break;
          rest = rest.substr(d + 1);
        }
        if (!found) continue;
        // A repeated dotted key is a later occurrence too. Dotted keys are
        // rare: a short list of this object's ones is enough.
        if (std::find(dotted_.begin() + dotted_start, dotted_.end(), target) != dotted_.end())
          continue;
        dotted_.push_back(target);
      }
      if (!VisitValue(field.value(), target, ctx)) return false;
      if (seen == wanted) break;  // nothing later in this object can count
    }
    return true;
  }

  bool VisitValue(od::value& v, uint32_t node_id, uint32_t ctx) {
    const TrieNode& node = m_->nodes[node_id];
    od::json_type t;
    if (auto e = v.type().get(t)) return Fail(e);
    switch (t) {
      case od::json_type::object: {
        if (node.children.empty()) return true;
        auto o = v.get_object();  // (not copied: see VisitObject)
        if (auto e = o.error()) return Fail(e);
        ++depth_;
        bool ok = VisitObject(o.value_unsafe(), node_id, ctx);
        --depth_;
        return ok;
      }
      case od::json_type::array: {
        auto a = v.get_array();
        if (auto e = a.error()) return Fail(e);
        if (++depth_ > limits_.max_depth) return Fail(simdjson::DEPTH_ERROR);
        uint32_t array_id = ++arrays_;
        for (auto er : a.value_unsafe()) {
          if (auto e = er.error()) return Fail(e);
          od::value& elem = er.value_unsafe();  // (not copied: see VisitObject)
          uint32_t ectx = ctx;
          if (m_->track_contexts) {
            ectx = static_cast<uint32_t>(ctx_.size());
            ctx_.push_back({ctx, array_id, ctx_[ctx].depth + 1});
          }
          if (!VisitValue(elem, node_id, ectx)) return false;
        }
        --depth_;
        return true;
      }
      case od::json_type::string: {
        if (node.leaf == kNone) return true;
        std::string_view s;
        if (auto e = v.get_string().get(s)) return Fail(e);
        MatchScalar(m_->leaves[node.leaf], ScalarType::kString, s, ctx);
        return true;
      }
      case od::json_type::number: {
        if (node.leaf == kNone) return true;
        std::string_view raw = NumberText(v);
        const LeafIndex& leaf = m_->leaves[node.leaf];
        // The exact decimal is parsed only when a binary double cannot
        // decide (see MatchScalar); textual rules need neither.
        num_parsed_ = false;
        // simdjson 3.0's get_double misreads numbers whose integer part is 0
        // with 20 or more characters (its issue 2093; checked right on a
        // million longer ones with other integer parts): those take the exact
        // path only.
        const bool zero_int = raw[0] == '0' || (raw.size() > 1 && raw[0] == '-' && raw[1] == '0');
        have_double_ = leaf.needs_number && (raw.size() <= 19 || !zero_int) &&
                       !v.get_double().get(double_);
        if (!MatchScalar(leaf, ScalarType::kNumber, raw, ctx)) return Fail(simdjson::NUMBER_ERROR);
        return true;
      }
      case od::json_type::boolean: {
        bool b;
        if (auto e = v.get_bool().get(b)) return Fail(e);
        if (node.leaf == kNone) return true;
        MatchScalar(m_->leaves[node.leaf], b ? ScalarType::kTrue : ScalarType::kFalse,
                    b ? "true" : "false", ctx);
        return true;
      }
      case od::json_type::null: {
        bool is_null;
        if (auto e = v.is_null().get(is_null)) return Fail(e);
        if (!is_null) return Fail(simdjson::N_ATOM_ERROR);
        if (node.leaf == kNone) return true;
        MatchScalar(m_->leaves[node.leaf], ScalarType::kNull, "null", ctx);
        return true;
      }
    }
    return true;
  }

  // The event number as an exact decimal; false if it is not a JSON number.
  bool ExactNumber(std::string_view text) {
    if (!num_parsed_) {
      if (!ParseJsonNumber(text, &num_store_, &num_)) return false;
      num_parsed_ = true;
    }
    return true;
  }

  // Returns false only for a number that is not valid JSON.
  bool MatchScalar(const LeafIndex& leaf, ScalarType type, std::string_view text, uint32_t ctx) {
    auto fire = [this, ctx](uint32_t p) { Fire(p, ctx); };
    if (!leaf.text.empty()) leaf.text.Match(text, &re_hits_, fire);
    ScalarValue sv{type, text, nullptr, {}};
    if (type == ScalarType::kString) {
      if (!leaf.str.empty()) leaf.str.Match(text, &re_hits_, fire);
      if (leaf.needs_fold) {
        FoldCase(text, &fold_);
        sv.folded = fold_;
        if (!leaf.folded.empty()) leaf.folded.Match(fold_, &re_hits_, fire);
      }
    } else if (type == ScalarType::kNumber) {
      // Doubles decide most comparisons: correctly rounded conversion is
      // monotonic, so double(a) < double(b) implies a < b, and unequal
      // doubles imply unequal values. Ties fall back to exact decimals.
      if (leaf.needs_number) {
        if (!leaf.num_eq.empty() &&
            (!have_double_ || leaf.num_eq_doubles.contains(DoubleKey(double_)))) {
          if (!ExactNumber(text)) return false;
          CanonicalDecimal(num_, &canon_);
          auto it = leaf.num_eq.find(canon_);
          if (it != leaf.num_eq.end()) fire(it->second);
        }
        const NumberRangeIndex& r = leaf.ranges;
        if (!r.nodes.ids.empty()) {
          size_t slot = kNone;
          if (have_double_) {
            size_t i = std::lower_bound(r.bound_doubles.begin(), r.bound_doubles.end(), double_) -
                       r.bound_doubles.begin();
            if (i == r.bound_doubles.size() || r.bound_doubles[i] != double_) slot = 2 * i;
          }
          if (slot == kNone) {
            if (!ExactNumber(text)) return false;
            size_t i = std::lower_bound(r.bounds.begin(), r.bounds.end(), num_,
                                        [](const DecimalView& a, const DecimalView& b) {
                                          return CompareDecimal(a, b) < 0;
                                        }) -
                       r.bounds.begin();
            slot = (i < r.bounds.size() && CompareDecimal(r.bounds[i], num_) == 0) ? 2 * i + 1
                                                                                  : 2 * i;
          }
          for (size_t v = r.leaves + slot; v >= 1; v /= 2)
            for (const uint32_t* p = r.nodes.begin(v); p != r.nodes.end(v); ++p) fire(*p);
        }
      }
      if (!leaf.direct.empty()) {
        if (!ExactNumber(text)) return false;
        sv.num = &num_;
      }
    } else if (type == ScalarType::kTrue) {
      if (leaf.lit_true != kNone) fire(leaf.lit_true);
    } else if (type == ScalarType::kFalse) {
      if (leaf.lit_false != kNone) fire(leaf.lit_false);
    } else if (leaf.lit_null != kNone) {
      fire(leaf.lit_null);
    }
    if (leaf.exists != kNone) fire(leaf.exists);
    for (size_t i = 0; i < leaf.direct_eval; ++i)
      if (leaf.direct[i].pred->Eval(sv)) fire(leaf.direct[i].id);
    if (!leaf.cidr.empty() && type == ScalarType::kString) {
      IpNetwork a;
      if (ParseIp(text, &a)) {
        char key[18];
        for (uint8_t len : a.v6 ? leaf.cidr_lengths_v6 : leaf.cidr_lengths_v4) {
          size_t n = CidrKey(a, len, key);
          auto it = leaf.cidr.find(absl::string_view(key, n));
          if (it != leaf.cidr.end())
            for (uint32_t id : it->second) fire(id);
        }
      }
    }
    return true;
  }

  void Fire(uint32_t p, uint32_t ctx) {
    bool first = sc_->pred_epoch[p] != epoch_;
    if (first) {
      sc_->pred_epoch[p] = epoch_;
      sc_->pred_head[p] = kNone;
    }
    if (m_->track_contexts && m_->pred_track[p]) {
      hits_.push_back({ctx, sc_->pred_head[p]});
      sc_->pred_head[p] = static_cast<uint32_t>(hits_.size() - 1);
    }
    if (!first) return;
    if (m_->pred_rule[p] != kNone) {
      direct_.push_back(m_->pred_rule[p]);
      return;
    }
    for (const uint32_t* c = m_->pred_clauses.begin(p); c != m_->pred_clauses.end(p); ++c) {
      if (sc_->clause_epoch[*c] == epoch_) continue;
      sc_->clause_epoch[*c] = epoch_;
      if (m_->clause_negated[*c]) continue;
      // Each conjunction is listed under one anchor clause only; the others
      // are checked in Collect, once all of the event has been read.
      candidates_.insert(candidates_.end(), m_->clause_conjs.begin(*c), m_->clause_conjs.end(*c));
    }
  }

  bool ConjHolds(uint32_t j) {
    for (const uint32_t* c = m_->conj_clauses.begin(j); c != m_->conj_clauses.end(j); ++c)
      if (sc_->clause_epoch[*c] != epoch_) return false;
    for (const uint32_t* c = m_->conj_negated.begin(j); c != m_->conj_negated.end(j); ++c)
      if (sc_->clause_epoch[*c] == epoch_) return false;
    if (m_->conjs[j].consistent) return Consistent(j);
    return true;
  }

  // Whether two array-element contexts can come from one event object: they
  // must not sit in different elements of the same array.
  bool Compatible(uint32_t a, uint32_t b) const {
    if (a == b) return true;
    while (ctx_[a].depth > ctx_[b].depth) a = ctx_[a].parent;
    while (ctx_[b].depth > ctx_[a].depth) b = ctx_[b].parent;
    if (a == b) return true;  // one lies inside the other's element
    while (ctx_[a].parent != ctx_[b].parent) {
      a = ctx_[a].parent;
      b = ctx_[b].parent;
    }
    return ctx_[a].array != ctx_[b].array;
  }

  // Backtracking over the clauses of conjunction j: pick one hit per clause,
  // pairwise compatible. Hits per clause are few in practice.
  bool Consistent(uint32_t j) {
    choice_lists_.clear();
    choice_offsets_.assign(1, 0);
    for (const uint32_t* c = m_->conj_clauses.begin(j); c != m_->conj_clauses.end(j); ++c) {
      for (const uint32_t* p = m_->clause_preds.begin(*c); p != m_->clause_preds.end(*c); ++p) {
        if (sc_->pred_epoch[*p] != epoch_) continue;
        for (uint32_t h = sc_->pred_head[*p]; h != kNone; h = hits_[h].next)
          choice_lists_.push_back(hits_[h].ctx);
      }
      choice_offsets_.push_back(static_cast<uint32_t>(choice_lists_.size()));
    }
    chosen_.clear();
    size_t budget = 1 << 16;
    return Search(0, &budget);
  }

  bool Search(size_t k, size_t* budget) {
    if (k + 1 == choice_offsets_.size()) return true;
    for (uint32_t i = choice_offsets_[k]; i < choice_offsets_[k + 1]; ++i) {
      if ((*budget)-- == 0) return true;  // pathological: accept rather than stall
      uint32_t c = choice_lists_[i];
      bool ok = true;
      for (uint32_t prev : chosen_)
        if (!Compatible(prev, c)) {
          ok = false;
          break;
        }
      if (!ok) continue;
      chosen_.push_back(c);
      if (Search(k + 1, budget)) return true;
      chosen_.pop_back();
    }
    return false;
  }

  void Collect(uint32_t offset, bool base, std::vector<uint32_t>* out) {
    size_t first = out->size();
    auto match = [&](uint32_t r) {
      sc_->rule_epoch[r] = epoch_;
      if (base && rules_->removed(r)) return;
      out->push_back(offset + r);
    };
    for (uint32_t r : direct_)
      if (sc_->rule_epoch[r] != epoch_) match(r);
    auto take = [&](uint32_t j) {
      uint32_t r = m_->conjs[j].rule;
      if (sc_->rule_epoch[r] == epoch_) return;
      if (!ConjHolds(j)) return;
      match(r);
    };
    for (uint32_t j : candidates_) take(j);
    for (uint32_t j : m_->always) take(j);
    std::sort(out->begin() + static_cast<ptrdiff_t>(first), out->end());
  }

  EventLimits limits_;
  std::shared_ptr<const RuleSet> rules_;
  const RuleSetImpl* m_ = nullptr;
  od::parser od_parser_;
  od::document doc_;
  std::string_view indexed_;  // the event od_parser_ holds the index of
  size_t cut_ = 0;            // indexed_ was indexed up to here (0: whole)
  // Cutting pays when the part left out is at least this long (a first
  // stage over it costs less than the searches and a second call).
  static constexpr size_t kMinCutRest = 256;
  static constexpr size_t kMaxCutKeys = 4;
  std::vector<std::string> cut_keys_;  // top-level keys the rules name, quoted
  JsonValidator validator_;
  simdjson::error_code walk_error_ = simdjson::SUCCESS;
  simdjson::dom::parser dom_parser_;
  bool dom_ready_ = false;
  simdjson::error_code error_ = simdjson::SUCCESS;
  size_t depth_ = 0;

  std::vector<Scratch> segs_;
  std::vector<uint32_t> dotted_;  // trie nodes reached by dotted keys, per open object
  Scratch* sc_ = nullptr;
  uint32_t epoch_ = 0;
  uint32_t visit_ = 0;
  std::vector<uint32_t> candidates_;
  std::vector<uint32_t> direct_;  // rules matched by a pred alone (pred_rule)
  std::vector<Hit> hits_;
  std::vector<Ctx> ctx_;
  uint32_t arrays_ = 0;
  std::vector<uint32_t> choice_lists_, choice_offsets_, chosen_;
  std::vector<int> re_hits_;
  std::string fold_, num_store_, canon_;
  DecimalView num_;
  bool num_parsed_ = false;
  bool have_double_ = false;
  double double_ = 0;
};

Matcher::Matcher(std::shared_ptr<const RuleSet> rules, const EventLimits& limits)
    : impl_(std::make_unique<MatcherImpl>(std::move(rules), limits)) {}
Matcher::~Matcher() = default;

absl::Status Matcher::MatchPadded(std::string_view event, std::vector<uint32_t>* matches) {
  return impl_->Match(event, matches);
}

absl::Status Matcher::Match(std::string_view event, std::vector<uint32_t>* matches) {
  thread_local std::string buf;
  buf.assign(event);
  buf.append(kPadding, ' ');
  return impl_->Match(std::string_view(buf.data(), event.size()), matches);
}

absl::Status Matcher::ValidatePadded(std::string_view event) { return impl_->Validate(event); }
absl::Status Matcher::ValidateMatchedPadded(std::string_view event) {
  return impl_->ValidateLast(event);
}
const RuleSet& Matcher::rules() const { return impl_->rules(); }
void Matcher::Reset(std::shared_ptr<const RuleSet> rules) { impl_->Bind(std::move(rules)); }

}  // namespace weir
