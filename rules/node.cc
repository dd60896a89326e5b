#include "rules/node.h"

#include "absl/strings/str_cat.h"
#include "yaml-cpp/yaml.h"

namespace weir {
namespace {
const std::string kNoScalar;
}  // namespace

std::string TooDeepMessage(size_t max_depth) {
  return absl::StrCat("the rule file is nested deeper than the limit of ", max_depth,
                      " (maps and lists both count)");
}

const std::string& RNode::Scalar() const {
  if (!tree_) return kNoScalar;
  return tree_->nodes_[index_].scalar;
}

size_t RNode::size() const {
  if (!tree_) return 0;
  const auto& d = tree_->nodes_[index_];
  if (d.type == NodeTree::Type::kSequence) return d.kid_count;
  if (d.type == NodeTree::Type::kMap) return d.kid_count / 2;
  return 0;
}

RNode RNode::operator[](std::string_view key) const {
  if (!IsMap()) return RNode();
  const auto& d = tree_->nodes_[index_];
  for (uint32_t i = d.kid_begin; i < d.kid_begin + d.kid_count; i += 2) {
    const auto& k = tree_->nodes_[tree_->kids_[i]];
    if (k.type == NodeTree::Type::kScalar && k.scalar == key)
      return RNode(tree_, tree_->kids_[i + 1]);
  }
  return RNode();
}

RNode::iterator RNode::begin() const {
  if (!tree_) return iterator(nullptr, 0, 0, 1);
  const auto& d = tree_->nodes_[index_];
  bool map = d.type == NodeTree::Type::kMap;
  uint32_t n = (map || d.type == NodeTree::Type::kSequence) ? d.kid_count : 0;
  return iterator(tree_, d.kid_begin, d.kid_begin + n, map ? 2 : 1);
}

RNode::iterator RNode::end() const {
  if (!tree_) return iterator(nullptr, 0, 0, 1);
  const auto& d = tree_->nodes_[index_];
  bool map = d.type == NodeTree::Type::kMap;
  uint32_t n = (map || d.type == NodeTree::Type::kSequence) ? d.kid_count : 0;
  return iterator(tree_, d.kid_begin + n, d.kid_begin + n, map ? 2 : 1);
}

void RNode::iterator::Load() {
  item_ = NodeItem();
  if (pos_ >= end_) return;
  if (step_ == 2) {
    item_.first = RNode(tree_, tree_->kids_[pos_]);
    item_.second = RNode(tree_, tree_->kids_[pos_ + 1]);
  } else {
    static_cast<RNode&>(item_) = RNode(tree_, tree_->kids_[pos_]);
  }
}

namespace {

// Copies a yaml-cpp document into a NodeTree. yaml-cpp shares the node of an
// alias, so a document can be a cycle (an alias inside its own anchor) or
// expand exponentially ("billion laughs"); both are refused, as is nesting
// deeper than the front ends recurse.
class YamlCopier {
 public:
  YamlCopier(NodeTree* tree, size_t max_nodes, size_t max_depth)
      : tree_(tree), max_nodes_(max_nodes), max_depth_(max_depth) {}

  bool Copy(const YAML::Node& node, uint32_t* out) {
    if (++count_ > max_nodes_) return Fail(node, "the rule file expands to too many values "
                                                 "(YAML aliases repeat what they name)");
    YAML::Mark m = node.Mark();
    NodeMark mark{m.line, m.column};
    switch (node.Type()) {
      case YAML::NodeType::Map:
      case YAML::NodeType::Sequence: {
        for (const YAML::Node& a : open_)
          if (a.is(node))
            return Fail(node, "a YAML alias refers to a value that contains it");
        if (open_.size() >= max_depth_) return Fail(node, TooDeepMessage(max_depth_));
        const bool map = node.Type() == YAML::NodeType::Map;
        uint32_t self = tree_->Add(map ? NodeTree::Type::kMap : NodeTree::Type::kSequence, {},
                                   false, mark);
        open_.push_back(node);
        std::vector<uint32_t> kids;
        uint32_t k;
        for (const auto& item : node) {
          if (map) {
            if (!Copy(item.first, &k)) return false;
            kids.push_back(k);
            if (!Copy(item.second, &k)) return false;
          } else if (!Copy(item, &k)) {
            return false;
          }
          kids.push_back(k);
        }
        open_.pop_back();
        tree_->SetKids(self, kids.data(), kids.size());
        *out = self;
        return true;
      }
      case YAML::NodeType::Scalar:
        *out = tree_->Add(NodeTree::Type::kScalar, node.Scalar(), node.Tag() == "!", mark);
        return true;
      default:  // Null (Undefined does not occur in a loaded document)
        *out = tree_->Add(NodeTree::Type::kNull, {}, false, mark);
        return true;
    }
  }

  const std::string& error() const { return error_; }
  NodeMark error_mark() const { return error_mark_; }

 private:
  bool Fail(const YAML::Node& at, std::string message) {
    error_ = std::move(message);
    error_mark_ = {at.Mark().line, at.Mark().column};
    return false;
  }

  NodeTree* tree_;
  size_t max_nodes_;
  size_t max_depth_;
  size_t count_ = 0;
  std::vector<YAML::Node> open_;  // containers being copied, outermost first
  std::string error_;
  NodeMark error_mark_;
};

}  // namespace

bool NodeTree::AddYaml(const YAML::Node& node, size_t max_nodes, size_t max_depth,
                       std::string* error, NodeMark* error_mark) {
  YamlCopier copier(this, max_nodes, max_depth);
  uint32_t root;
  if (copier.Copy(node, &root)) return true;
  *error = copier.error();
  *error_mark = copier.error_mark();
  return false;
}

}  // namespace weir
