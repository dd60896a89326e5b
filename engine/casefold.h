// Unicode simple case folding of UTF-8 text (EventBridge equals-ignore-case).
#ifndef WEIR_ENGINE_CASEFOLD_H_
#define WEIR_ENGINE_CASEFOLD_H_

#include <string>
#include <string_view>

namespace weir {

// Appends the simple case fold of `utf8` to `*out` (cleared first). Invalid
// UTF-8 bytes are copied unchanged. ASCII-only text takes a fast path.
void FoldCase(std::string_view utf8, std::string* out);

}  // namespace weir

#endif  // WEIR_ENGINE_CASEFOLD_H_
