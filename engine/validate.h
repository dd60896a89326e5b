// Full validation of one event (is it exactly one valid JSON object?) without
// building anything: simdjson's first stage (structural index, UTF-8 and
// string checks) and then a check of the grammar over the structural index.
//
// Why not simdjson's DOM parser: it also converts every number and writes a
// tape, which matched events do not need (they are validated before output:
// docs/limits.md, "What is validated"); on number-heavy events this is about
// twice as fast. Numbers are checked against the JSON grammar only, so 1e400
// is valid, as everywhere in weir.
//
// Not thread-safe: one per thread (it owns its index buffers).
#ifndef WEIR_ENGINE_VALIDATE_H_
#define WEIR_ENGINE_VALIDATE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "simdjson.h"

namespace weir {

class JsonValidator {
 public:
  explicit JsonValidator(size_t max_depth) : max_depth_(max_depth) {}

  // SUCCESS when buf[0, len) is one JSON object nested at most max_depth
  // deep (the object itself is depth 1), with only whitespace around it.
  // Otherwise an error code that says roughly what is wrong (callers that
  // need exact wording ask the DOM parser). buf must be followed by at least
  // simdjson::SIMDJSON_PADDING readable bytes.
  simdjson::error_code Check(const char* buf, size_t len);

  // Same, over a structural index simdjson's first stage already built for
  // exactly these bytes (idx[0, n), as in dom_parser_implementation).
  simdjson::error_code CheckIndexed(const char* buf, size_t len, const uint32_t* idx, uint32_t n) {
    return CheckIndexed(buf, len, idx, n, Span{});
  }

  // Same, where the first stage indexed only buf[0, cut) (idx[0, n)), cut
  // just after a structural '}': the rest is indexed here and the two
  // indexes are joined. The first stage's state at a structural '}' is its
  // initial one (outside strings, no pending escape or UTF-8 sequence, an
  // operator before the next byte), so the joined index is the one a first
  // stage over all of buf would build, and its errors are the same.
  simdjson::error_code CheckAfterCut(const char* buf, size_t len, size_t cut, const uint32_t* idx,
                                     uint32_t n);

 private:
  // An array of numbers already checked on its bytes (NumericArrayEnd in
  // validate.cc): its '[' at `begin` is one structural in the index, and the
  // walk takes it as one value that ends at `end`, nesting at most `nest`
  // arrays deep (the array itself is 1).
  struct Span {
    uint32_t begin = UINT32_MAX, end = 0, nest = 0;
  };
  simdjson::error_code CheckIndexed(const char* buf, size_t len, const uint32_t* idx, uint32_t n,
                                    Span span);
  // CheckAfterCut with the first array after the cut checked on its bytes;
  // false when that does not apply (then the caller indexes all the rest).
  bool CheckAroundSpan(const char* buf, size_t len, size_t cut, const uint32_t* idx, uint32_t n,
                       Span span, simdjson::error_code* result);
  uint32_t* Joined(size_t n);
  simdjson::error_code Reserve(size_t len);
  bool StringOk(const char* quote, const char* end);

  size_t max_depth_;
  std::unique_ptr<simdjson::internal::dom_parser_implementation> impl_;
  std::vector<char> stack_;  // closing character of each open container
  std::string unescaped_;    // scratch for strings with escapes
  std::unique_ptr<uint32_t[]> joined_;  // CheckAfterCut's index
  size_t joined_cap_ = 0;
};

}  // namespace weir

#endif  // WEIR_ENGINE_VALIDATE_H_
