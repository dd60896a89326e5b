// The fast JSON reader: simdjson On-Demand into NodeTrees.
#include "rules/json_reader.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <atomic>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "engine/json_token.h"
#include "rules/line_index.h"
#include "simdjson.h"

namespace weir {
namespace {

namespace od = simdjson::ondemand;

// Where the top-level "rules" array is and where to cut it into pieces
// between elements, found by a scan that knows only strings and brackets.
// Each piece is then parsed on its own: simdjson's buffers are several times
// the size of what it parses, which for a whole large file is several times
// the file. Pieces are at most 1 MiB, and a 32nd of the file at least
// 64 KiB: threads take them one by one, and end close together.
size_t PieceBytes(size_t text_size) {
  return std::clamp(text_size / 32, size_t{64} << 10, size_t{1} << 20);
}

struct RulesPiece {
  size_t begin, end;  // [begin, end) of a run of elements
  size_t elements;
};

struct RulesSplit {
  size_t open = 0, close = 0;  // the array's '[' and ']'
  std::vector<RulesPiece> pieces;
  size_t elements = 0;
};

size_t SkipSpace(std::string_view t, size_t i) {
  while (i < t.size() && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r')) ++i;
  return i;
}

// The closing quote of the string whose text starts at j, or t.size().
size_t StringEnd(std::string_view t, size_t j) {
#if defined(__SSE2__)
  // 16 bytes at a time to the next quote or backslash (the text has no
  // padding: whole blocks only, the rest byte by byte).
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
  for (;;) {
    while (j + 16 <= t.size()) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(t.data() + j));
      const unsigned m = static_cast<unsigned>(
          _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash))));
      if (m == 0) {
        j += 16;
        continue;
      }
      j += static_cast<size_t>(__builtin_ctz(m));
      break;
    }
    while (j < t.size() && t[j] != '"' && t[j] != '\\') ++j;
    if (j >= t.size() || t[j] == '"') return j;
    j += 2;  // an escape: the next byte is not the end
  }
#else
  while (j < t.size() && t[j] != '"') j += t[j] == '\\' ? 2 : 1;
  return std::min(j, t.size());
#endif
}

// False when the text is not shaped as expected (no top-level "rules" key
// holding an array, two of them, unbalanced brackets): the other readers
// then read it, and report what is wrong.
bool SplitRules(std::string_view t, RulesSplit* out) {
  const size_t piece_bytes = PieceBytes(t.size());
  size_t depth = 0, piece = 0, piece_elements = 0;
  bool found = false, in_rules = false, any = false;
  for (size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if (c == '"') {
      size_t j = StringEnd(t, i + 1);
      if (j >= t.size()) return false;
      if (depth == 1 && t.substr(i + 1, j - i - 1) == "rules") {
        size_t k = SkipSpace(t, j + 1);
        if (k < t.size() && t[k] == ':') {  // the key, not a value
          k = SkipSpace(t, k + 1);
          if (found || k >= t.size() || t[k] != '[') return false;
          found = in_rules = true;
          out->open = k;
          piece = k + 1;
          depth = 2;
          i = k;
          continue;
        }
      }
      if (in_rules && depth == 2) any = true;
      i = j;
    } else if (c == '{' || c == '[') {
      if (in_rules && depth == 2) any = true;
      ++depth;
    } else if (c == '}' || c == ']') {
      if (depth == 0) return false;
      if (in_rules && depth == 2) {
        out->close = i;
        if (any) ++out->elements;
        out->pieces.push_back({piece, i, out->elements - piece_elements});
        in_rules = false;
      }
      --depth;
    } else if (in_rules && depth == 2) {
      if (c == ',') {
        ++out->elements;
        any = false;
        if (i - piece >= piece_bytes) {
          out->pieces.push_back({piece, i, out->elements - piece_elements});
          piece = i + 1;
          piece_elements = out->elements;
        }
      } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
        any = true;
      }
    }
  }
  return found && depth == 0 && !in_rules;
}

class JsonReader {
 public:
  explicit JsonReader(size_t max_depth) : max_depth_(max_depth) {}

  NodeMark too_deep() const { return too_deep_; }

  bool Read(std::string_view text, size_t threads, RuleFileVisitor* visitor) {
    RulesSplit split;
    if (!SplitRules(text, &split)) return false;
    lines_.Reset(text.data(), text.size());
    kid_stack_.clear();
    // Pass 1: everything but the rules (uri_fields must be known first),
    // from the text with an empty rules array.
    {
      std::string top_text(text.data(), split.open + 1);
      top_text.append(text.data() + split.close, text.size() - split.close);
      simdjson::padded_string json(top_text);
      Place(json.data(), 0, split.open + 1, split.close - split.open - 1);
      od::document doc;
      od::object root;
      if (parser_.iterate(json).get(doc) || doc.get_object().get(root)) return false;
      NodeTree top_tree;
      uint32_t top;
      bool have_rules = false;
      if (!BuildObject(&top_tree, root, 1, Mark(json.data()), &top, "rules", &have_rules))
        return false;
      // Anything after the object (another one) is yaml-cpp's to report.
      if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return false;
      if (!have_rules) return false;
      if (!visitor->Top(top_tree.Node(top))) return false;
    }
    // Pass 2: the rules, a piece at a time, on up to `threads` threads for
    // a large file. Each thread takes the next piece not yet taken; the
    // first piece goes into `visitor`, each later one into a part of its own
    // (Fork). This thread joins the parts in order, each as soon as it is
    // read (settled first: a visitor may compile it there),
    // and reads pieces itself only while the next part is not read yet: a
    // thread that also compiles reads less (docs/performance.md, "Fifth
    // round: loading on two cores").
    const std::span<const RulesPiece> all = split.pieces;
    const size_t threads_used =
        text.size() < kParallelJsonBytes ? 1 : std::min(threads, all.size());
    enum : int { kPending, kRead, kFailed };
    struct Part {
      std::unique_ptr<RuleFileVisitor> visitor;
      std::atomic<int> state{kPending};
      NodeMark too_deep;  // when it failed, where the reader found it too deep
    };
    // Part i - 1 holds piece i.
    std::vector<Part> parts(threads_used > 1 ? all.size() - 1 : 0);
    for (Part& p : parts) {
      p.visitor = visitor->Fork();
      if (!p.visitor) {  // (then everything on this thread)
        parts = std::vector<Part>();
        break;
      }
    }
    visitor->Reserve(split.elements);
    std::atomic<size_t> next{1};  // the next piece not taken
    // The first piece that could not be read: pieces after it are not taken
    // (those before it are, so that the first failure is the one reported).
    std::atomic<size_t> failed_at{SIZE_MAX};
    auto fail = [&failed_at](size_t i) {
      size_t at = failed_at.load();
      while (i < at && !failed_at.compare_exchange_weak(at, i)) {
      }
    };
    // Takes the next piece and reads it into its part; false when there is
    // none left to take.
    auto read_one = [&](JsonReader& reader) {
      const size_t i = next.fetch_add(1);
      if (i >= all.size() || i > failed_at.load()) return false;
      Part& p = parts[i - 1];
      p.visitor->Reserve(all[i].elements);
      const bool read = reader.ReadRules(text, all.subspan(i, 1), p.visitor.get());
      if (!read) {
        p.too_deep = reader.too_deep();
        fail(i);
      }
      p.state.store(read ? kRead : kFailed, std::memory_order_release);
      p.state.notify_all();
      return true;
    };
    std::vector<std::unique_ptr<JsonReader>> readers;
    std::vector<std::thread> workers;
    if (!parts.empty()) {
      for (size_t k = 1; k < threads_used; ++k) {
        readers.push_back(std::make_unique<JsonReader>(max_depth_));
        JsonReader* r = readers.back().get();
        r->lines_.Reset(text.data(), text.size());
        try {
          workers.emplace_back([&read_one, r] {
            while (read_one(*r)) {
            }
          });
        } catch (const std::system_error&) {
          // No thread to be had (a process limit): this one reads more.
        }
      }
    }
    lines_.Rewind();
    bool ok = ReadRules(text, all.subspan(0, parts.empty() ? all.size() : 1), visitor);
    if (ok) visitor->Settled(split.elements);
    // The parts in order, as if read here (joined early, what a part still
    // holds goes early too). The first part that gives up ends it (and
    // says whether it was too deep).
    for (size_t c = 0; ok && c < parts.size();) {
      Part& p = parts[c];
      const int state = p.state.load(std::memory_order_acquire);
      if (state == kRead) {
        p.visitor->Settled(split.elements);
        ok = visitor->Join(*p.visitor);
        p.visitor.reset();
        ++c;
      } else if (state == kFailed) {
        too_deep_ = p.too_deep;
        ok = false;
      } else if (!read_one(*this)) {
        // Part c was taken by another thread, which gives it a state.
        p.state.wait(kPending);
      }
    }
    if (!ok) fail(0);  // the other threads take no more pieces
    for (std::thread& t : workers) t.join();
    return ok;
  }

 private:
  // The rules of `pieces` into `visitor`, each on its own, in one reused
  // tree, a piece of the array at a time.
  bool ReadRules(std::string_view text, std::span<const RulesPiece> pieces,
                 RuleFileVisitor* visitor) {
    NodeTree tree;
    std::string buf;
    od::document doc;
    for (const RulesPiece& p : pieces) {
      buf.reserve(p.end - p.begin + 2 + simdjson::SIMDJSON_PADDING);
      buf.clear();
      buf.push_back('[');
      buf.append(text.data() + p.begin, p.end - p.begin);
      buf.push_back(']');
      simdjson::padded_string_view json(buf.data(), buf.size(), buf.capacity());
      Place(buf.data(), p.begin - 1, std::string::npos, 0);
      od::array rules;
      if (parser_.iterate(json).get(doc) || doc.get_array().get(rules)) return false;
      for (auto er : rules) {
        od::value rv;
        uint32_t r;
        tree.Clear();
        if (std::move(er).get(rv) || !Build(&tree, rv, 3, &r)) return false;
        visitor->Rule(tree.Node(r));
      }
      if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return false;
    }
    return true;
  }

  // A JSON object at `depth` into `tree` (see Build), without the key `skip` if given:
  // *skipped tells whether it was there.
  bool BuildObject(NodeTree* tree, od::object& o, size_t depth, NodeMark mark, uint32_t* out,
                   std::string_view skip = {}, bool* skipped = nullptr) {
    *out = tree->Add(NodeTree::Type::kMap, {}, false, mark);
    const size_t start = kid_stack_.size();
    for (auto fr : o) {
      od::field f;
      std::string_view key;
      if (std::move(fr).get(f)) return false;
      const char* key_at = f.key().raw() - 1;  // before unescaped_key() consumes it
      if (f.unescaped_key().get(key)) return false;
      if (skipped && key == skip) {
        *skipped = true;
        continue;
      }
      kid_stack_.push_back(tree->Add(NodeTree::Type::kScalar, key, true, Mark(key_at)));
      od::value cv = f.value();
      uint32_t child;
      if (!Build(tree, cv, depth + 1, &child)) return false;
      kid_stack_.push_back(child);
    }
    CloseContainer(tree, *out, start);
    return true;
  }

  // A JSON value at `depth` into `tree`, keeping what the dialects look at:
  // strings are quoted scalars, numbers keep their text as written. False on
  // anything unexpected (the file is then read by yaml-cpp).
  bool Build(NodeTree* tree, od::value& v, size_t depth, uint32_t* out) {
    const char* at;
    od::json_type t;
    if (v.current_location().get(at) || v.type().get(t)) return false;
    const NodeMark mark = Mark(at);
    // Checked before going deeper: the depth of the recursion is bounded.
    if (depth > max_depth_ && (t == od::json_type::object || t == od::json_type::array)) {
      too_deep_ = mark;
      return false;
    }
    switch (t) {
      case od::json_type::object: {
        od::object o;
        return !v.get_object().get(o) && BuildObject(tree, o, depth, mark, out);
      }
      case od::json_type::array: {
        od::array a;
        if (v.get_array().get(a)) return false;
        *out = tree->Add(NodeTree::Type::kSequence, {}, false, mark);
        const size_t start = kid_stack_.size();
        for (auto er : a) {
          od::value ev;
          uint32_t child;
          if (std::move(er).get(ev) || !Build(tree, ev, depth + 1, &child)) return false;
          kid_stack_.push_back(child);
        }
        CloseContainer(tree, *out, start);
        return true;
      }
      case od::json_type::string: {
        std::string_view sv;
        if (v.get_string().get(sv)) return false;
        *out = tree->Add(NodeTree::Type::kScalar, sv, true, mark);
        return true;
      }
      case od::json_type::number:
        *out = tree->Add(NodeTree::Type::kScalar, NumberText(v), false, mark);
        return true;
      case od::json_type::boolean: {
        bool b;
        if (v.get_bool().get(b)) return false;
        *out = tree->Add(NodeTree::Type::kScalar, b ? "true" : "false", false, mark);
        return true;
      }
      case od::json_type::null: {
        bool n;
        if (v.is_null().get(n) || !n) return false;
        *out = tree->Add(NodeTree::Type::kNull, {}, false, mark);
        return true;
      }
    }
    return false;
  }

  // Attaches the children pushed on kid_stack_ since `start` to `node`.
  void CloseContainer(NodeTree* tree, uint32_t node, size_t start) {
    tree->SetKids(node, kid_stack_.data() + start, kid_stack_.size() - start);
    kid_stack_.resize(start);
  }

  // Where the buffer being parsed sits in the text: its byte 0 is at
  // `offset`, and from `gap_at` on it skips `gap` bytes of the text.
  void Place(const char* buf, size_t offset, size_t gap_at, size_t gap) {
    buf_ = buf;
    offset_ = offset;
    gap_at_ = gap_at;
    gap_ = gap;
  }
  NodeMark Mark(const char* at) {
    size_t off = static_cast<size_t>(at - buf_);
    if (off >= gap_at_) off += gap_;
    return lines_.MarkAt(offset_ + off);
  }

  const size_t max_depth_;
  NodeMark too_deep_;
  const char* buf_ = nullptr;
  size_t offset_ = 0, gap_at_ = std::string::npos, gap_ = 0;
  LineIndex lines_;
  std::vector<uint32_t> kid_stack_;  // children of the containers being built
  od::parser parser_;
};

}  // namespace

bool LooksLikeJson(std::string_view text) {
  size_t i = text.find_first_not_of(" \t\r\n");
  return i != std::string_view::npos && text[i] == '{';
}

bool ReadJsonRules(std::string_view text, size_t max_depth, size_t threads,
                   RuleFileVisitor* visitor, NodeMark* too_deep) {
  JsonReader reader(max_depth);
  bool ok = reader.Read(text, threads, visitor);
  *too_deep = reader.too_deep();
  return ok;
}

}  // namespace weir
