#include "rules/node.h"

#include "yaml-cpp/yaml.h"

namespace weir {
namespace {
const std::string kNoScalar;
}  // namespace

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

uint32_t NodeTree::AddYaml(const YAML::Node& node) {
  YAML::Mark m = node.Mark();
  NodeMark mark{m.line, m.column};
  std::vector<uint32_t> kids;
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      uint32_t self = Add(Type::kMap, {}, false, mark);
      for (const auto& kv : node) {
        kids.push_back(AddYaml(kv.first));
        kids.push_back(AddYaml(kv.second));
      }
      SetKids(self, kids.data(), kids.size());
      return self;
    }
    case YAML::NodeType::Sequence: {
      uint32_t self = Add(Type::kSequence, {}, false, mark);
      for (const auto& e : node) kids.push_back(AddYaml(e));
      SetKids(self, kids.data(), kids.size());
      return self;
    }
    case YAML::NodeType::Scalar:
      return Add(Type::kScalar, node.Scalar(), node.Tag() == "!", mark);
    default:  // Null (Undefined does not occur in a loaded document)
      return Add(Type::kNull, {}, false, mark);
  }
}

}  // namespace weir
