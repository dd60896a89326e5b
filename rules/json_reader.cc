// The fast JSON reader: simdjson On-Demand into NodeTrees.
#include "rules/json_reader.h"

#include <cstdint>
#include <vector>

#include "engine/json_token.h"
#include "rules/line_index.h"
#include "simdjson.h"

namespace weir {
namespace {

namespace od = simdjson::ondemand;

class JsonReader {
 public:
  explicit JsonReader(size_t max_depth) : max_depth_(max_depth) {}

  NodeMark too_deep() const { return too_deep_; }

  bool Read(std::string_view text, RuleFileVisitor* visitor) {
    simdjson::padded_string json(text);
    od::parser parser;
    od::document doc;
    od::object root;
    if (parser.iterate(json).get(doc) || doc.get_object().get(root)) return false;
    lines_.Reset(json.data(), text.size());
    kid_stack_.clear();
    // Pass 1: everything but the rules (uri_fields must be known first).
    NodeTree top_tree;
    uint32_t top;
    bool have_rules = false;
    if (!BuildObject(&top_tree, root, 1, lines_.Mark(json.data()), &top, "rules", &have_rules))
      return false;
    // Anything after the object (another one) is yaml-cpp's to report.
    if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return false;
    if (!have_rules) return false;
    if (!visitor->Top(top_tree.Node(top))) return false;
    // Pass 2: each rule on its own, in one reused tree.
    doc.rewind();
    lines_.Rewind();
    if (doc.get_object().get(root)) return false;
    NodeTree tree;
    for (auto fr : root) {
      od::field f;
      std::string_view key;
      if (std::move(fr).get(f) || f.unescaped_key().get(key)) return false;
      if (key != "rules") continue;
      od::array rules;
      if (f.value().get_array().get(rules)) return false;
      // Counting rewinds the array, but only when it succeeds: a broken
      // array is left to the other readers.
      size_t count = 0;
      if (rules.count_elements().get(count)) return false;
      visitor->Reserve(count);
      for (auto er : rules) {
        od::value rv;
        uint32_t r;
        tree.Clear();
        if (std::move(er).get(rv) || !Build(&tree, rv, 3, &r)) return false;
        visitor->Rule(tree.Node(r));
      }
      return true;  // a second "rules" key: yaml-cpp's path reports it
    }
    return false;
  }

 private:
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
      kid_stack_.push_back(tree->Add(NodeTree::Type::kScalar, key, true, lines_.Mark(key_at)));
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
    const NodeMark mark = lines_.Mark(at);
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

  const size_t max_depth_;
  NodeMark too_deep_;
  LineIndex lines_;
  std::vector<uint32_t> kid_stack_;  // children of the containers being built
};

}  // namespace

bool LooksLikeJson(std::string_view text) {
  size_t i = text.find_first_not_of(" \t\r\n");
  return i != std::string_view::npos && text[i] == '{';
}

bool ReadJsonRules(std::string_view text, size_t max_depth, RuleFileVisitor* visitor,
                   NodeMark* too_deep) {
  JsonReader reader(max_depth);
  bool ok = reader.Read(text, visitor);
  *too_deep = reader.too_deep();
  return ok;
}

}  // namespace weir
