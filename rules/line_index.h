// Positions in a rule file's text, as yaml-cpp (the reference reader) gives
// them: 0-based lines and byte columns.
#ifndef WEIR_RULES_LINE_INDEX_H_
#define WEIR_RULES_LINE_INDEX_H_

#include <cstring>
#include <vector>

#include "rules/node.h"

namespace weir {

// Byte offset in a text -> line and column. Offsets come in document order,
// so a cursor finds the line.
class LineIndex {
 public:
  void Reset(const char* base, size_t size) {
    base_ = base;
    starts_.assign(1, 0);
    for (const char* p = base; (p = static_cast<const char*>(
                                    std::memchr(p, '\n', size - static_cast<size_t>(p - base))));
         ++p)
      starts_.push_back(static_cast<size_t>(p - base) + 1);
    line_ = 0;
  }
  void Rewind() { line_ = 0; }
  size_t LineStart(size_t line) const { return line < starts_.size() ? starts_[line] : 0; }
  NodeMark Mark(const char* at) { return MarkAt(static_cast<size_t>(at - base_)); }
  NodeMark MarkAt(size_t off) {
    if (off < starts_[line_]) line_ = 0;
    while (line_ + 1 < starts_.size() && starts_[line_ + 1] <= off) ++line_;
    return {static_cast<int>(line_), static_cast<int>(off - starts_[line_])};
  }

 private:
  const char* base_ = nullptr;
  std::vector<size_t> starts_;
  size_t line_ = 0;
};

}  // namespace weir

#endif  // WEIR_RULES_LINE_INDEX_H_
