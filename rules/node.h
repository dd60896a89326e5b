// The tree the dialect front ends read: a compact, read-only copy of a rule
// file's YAML or JSON (types, scalars as written, whether a scalar was quoted,
// positions). It replaces yaml-cpp's nodes inside the loader, which cost
// about ten allocations and a shared_ptr each: JSON rule files are read
// straight into it with simdjson, YAML files are copied into it from
// yaml-cpp. The interface follows the part of YAML::Node the loader used.
//
// Not thread-safe to build; a finished tree may be read from any thread.
// Nodes are handles into their NodeTree and live as long as it does.
#ifndef WEIR_RULES_NODE_H_
#define WEIR_RULES_NODE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace YAML {
class Node;
}

namespace weir {

// The message of a rule file nested deeper than `max_depth`, whichever
// reader finds it.
std::string TooDeepMessage(size_t max_depth);

// 0-based, as yaml-cpp's Mark; -1 when unknown.
struct NodeMark {
  int line = -1;
  int column = -1;
};

class NodeTree;
struct NodeItem;

class RNode {
 public:
  RNode() = default;  // undefined: what a missing key gives

  bool IsDefined() const { return tree_ != nullptr; }
  explicit operator bool() const { return IsDefined(); }
  bool IsNull() const;
  bool IsScalar() const;
  bool IsSequence() const;
  bool IsMap() const;
  // The scalar as written (without quotes or escapes); empty for others.
  const std::string& Scalar() const;
  // A quoted YAML scalar or a JSON string: always a string, never a number.
  bool Quoted() const;
  NodeMark Mark() const;
  // Elements of a sequence, pairs of a map, 0 otherwise.
  size_t size() const;
  // The value of the first pair whose key is `key`, or an undefined node.
  RNode operator[](std::string_view key) const;

  // Iterates the elements of a sequence (each item is the element) or the
  // pairs of a map (item.first, item.second), as yaml-cpp does.
  class iterator;
  iterator begin() const;
  iterator end() const;

 private:
  friend class NodeTree;
  RNode(const NodeTree* tree, uint32_t index) : tree_(tree), index_(index) {}

  const NodeTree* tree_ = nullptr;
  uint32_t index_ = 0;
};

struct NodeItem : RNode {
  RNode first, second;
};

class RNode::iterator {
 public:
  const NodeItem& operator*() const { return item_; }
  const NodeItem* operator->() const { return &item_; }
  iterator& operator++() {
    pos_ += step_;
    Load();
    return *this;
  }
  bool operator==(const iterator& o) const { return pos_ == o.pos_; }
  bool operator!=(const iterator& o) const { return pos_ != o.pos_; }

 private:
  friend class RNode;
  iterator(const NodeTree* tree, uint32_t pos, uint32_t end, uint32_t step)
      : tree_(tree), pos_(pos), end_(end), step_(step) {
    Load();
  }
  void Load();

  const NodeTree* tree_;
  uint32_t pos_, end_, step_;
  NodeItem item_;
};

class NodeTree {
 public:
  enum class Type : uint8_t { kNull, kScalar, kSequence, kMap };

  // Empties the tree but keeps its nodes' strings, whose buffers the next
  // tree reuses (the JSON reader builds one tree a rule, 100k times).
  void Clear() {
    size_ = 0;
    kids_.clear();
  }
  // Adds a node; children are attached afterwards with SetKids (a map's are
  // key, value, key, value...).
  uint32_t Add(Type type, std::string_view scalar, bool quoted, NodeMark mark) {
    if (size_ == nodes_.size()) nodes_.emplace_back();
    Data& d = nodes_[size_];
    d.type = type;
    d.quoted = quoted;
    d.mark = mark;
    d.kid_begin = d.kid_count = 0;
    d.scalar.assign(scalar.data(), scalar.size());
    return static_cast<uint32_t>(size_++);
  }
  void SetKids(uint32_t node, const uint32_t* kids, size_t n) {
    nodes_[node].kid_begin = static_cast<uint32_t>(kids_.size());
    nodes_[node].kid_count = static_cast<uint32_t>(n);
    kids_.insert(kids_.end(), kids, kids + n);
  }
  RNode Node(uint32_t index) const { return RNode(this, index); }

  // Adds a copy of a yaml-cpp document (its root is node 0 of an empty
  // tree). False, with a message and where, when the document is a cycle,
  // nests deeper than max_depth, or expands (through aliases) to more than
  // max_nodes.
  bool AddYaml(const YAML::Node& node, size_t max_nodes, size_t max_depth, std::string* error,
               NodeMark* error_mark);

 private:
  friend class RNode;
  struct Data {
    Type type = Type::kNull;
    bool quoted = false;
    NodeMark mark;
    uint32_t kid_begin = 0, kid_count = 0;
    std::string scalar;
  };
  std::vector<Data> nodes_;  // [0, size_) in use
  size_t size_ = 0;
  std::vector<uint32_t> kids_;
};

inline bool RNode::IsNull() const {
  return tree_ && tree_->nodes_[index_].type == NodeTree::Type::kNull;
}
inline bool RNode::IsScalar() const {
  return tree_ && tree_->nodes_[index_].type == NodeTree::Type::kScalar;
}
inline bool RNode::IsSequence() const {
  return tree_ && tree_->nodes_[index_].type == NodeTree::Type::kSequence;
}
inline bool RNode::IsMap() const {
  return tree_ && tree_->nodes_[index_].type == NodeTree::Type::kMap;
}
inline bool RNode::Quoted() const { return tree_ && tree_->nodes_[index_].quoted; }
inline NodeMark RNode::Mark() const { return tree_ ? tree_->nodes_[index_].mark : NodeMark{}; }

}  // namespace weir

#endif  // WEIR_RULES_NODE_H_
