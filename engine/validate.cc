#include "engine/validate.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "engine/decimal.h"
#include "engine/scan.h"

namespace weir {
namespace {

using simdjson::error_code;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

#if defined(__SSE2__)
// Bit i set where p[i] (i < 16) is in [lo, hi].
unsigned InRange(__m128i v, char lo, char hi) {
  return static_cast<unsigned>(_mm_movemask_epi8(
      _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(static_cast<char>(lo - 1))),
                    _mm_cmpgt_epi8(_mm_set1_epi8(static_cast<char>(hi + 1)), v))));
}
#endif

// The common number shapes, -?digits(.digits)? within 32 bytes, from one
// mask of the bytes that are not digits: past an optional leading minus it
// must be empty or one dot. Everything else (exponents, long numbers) the
// scalar way.
bool NumberOk(const char* p, const char* e) {
#if defined(__SSE2__)
  const size_t len = static_cast<size_t>(e - p);
  if (len <= 32) {
    // Reads 32 bytes: the event is followed by its padding.
    __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16));
    const uint64_t digit = InRange(lo, '0', '9') | uint64_t{InRange(hi, '0', '9')} << 16;
    const unsigned s = p[0] == '-';  // where the digits start
    // Not digits, within the token, after the sign (64-bit: len may be 32).
    const uint64_t other = ~digit & ((uint64_t{1} << len) - 1) & ~uint64_t{s};
    if (other == 0) return len > s && (p[s] != '0' || len == s + 1u);
    const unsigned q = static_cast<unsigned>(__builtin_ctzll(other));
    if ((other & (other - 1)) == 0 && p[q] == '.') {
      // One dot, with digits on both sides; no leading zero before it.
      return q > s && q + 1 < len && (p[s] != '0' || q == s + 1);
    }
  }
#endif
  return IsJsonNumber(std::string_view(p, static_cast<size_t>(e - p)));
}

// Whether [p, e) holds a backslash; strings are mostly short.
bool HasBackslash(const char* p, const char* e) {
#if defined(__SSE2__)
  // Reads whole 16-byte blocks: the event is followed by its padding.
  for (; p < e; p += 16) {
    unsigned m = ByteMask(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), '\\');
    if (e - p < 16) m &= (1u << (e - p)) - 1;
    if (m) return true;
  }
  return false;
#else
  return std::memchr(p, '\\', static_cast<size_t>(e - p)) != nullptr;
#endif
}

// Where a number token may start.
bool StartsNumber(char c) { return c == '-' || static_cast<unsigned char>(c - '0') <= 9; }

bool LiteralOk(const char* p, const char* e) {
  std::string_view t(p, static_cast<size_t>(e - p));
  return t == "true" || t == "false" || t == "null";
}

}  // namespace

// A string token runs from its quote to the next structural character; the
// first stage has checked its UTF-8 and control characters and that it is
// closed, so only escapes are left, and only when there is a backslash.
bool JsonValidator::StringOk(const char* quote, const char* end) {
  const char* body = quote + 1;
  if (!HasBackslash(body, end)) return true;
  if (!impl_ && Reserve(0)) return false;  // parse_string needs an implementation
  size_t need = static_cast<size_t>(end - body) + simdjson::SIMDJSON_PADDING;
  if (unescaped_.size() < need) unescaped_.resize(need);
  return impl_->parse_string(reinterpret_cast<const uint8_t*>(body),
                             reinterpret_cast<uint8_t*>(unescaped_.data())) != nullptr;
}

error_code JsonValidator::Reserve(size_t len) {
  if (!impl_) {
    return simdjson::get_active_implementation()->create_dom_parser_implementation(
        std::max<size_t>(len, 4096), max_depth_ + 2, impl_);
  }
  return impl_->capacity() < len ? impl_->set_capacity(len) : simdjson::SUCCESS;
}

error_code JsonValidator::Check(const char* buf, size_t len) {
  if (auto e = Reserve(len)) return e;
  if (auto e =
          impl_->stage1(reinterpret_cast<const uint8_t*>(buf), len, simdjson::stage1_mode::regular))
    return e;
  return CheckIndexed(buf, len, impl_->structural_indexes.get(), impl_->n_structural_indexes);
}

error_code JsonValidator::CheckAfterCut(const char* buf, size_t len, size_t cut,
                                        const uint32_t* idx, uint32_t n) {
  if (auto e = Reserve(len - cut)) return e;
  if (auto e = impl_->stage1(reinterpret_cast<const uint8_t*>(buf + cut), len - cut,
                             simdjson::stage1_mode::regular)) {
    if (e != simdjson::EMPTY) return e;  // only whitespace after the cut
    impl_->n_structural_indexes = 0;
  }
  const uint32_t m = impl_->n_structural_indexes;
  // Grown, never shrunk: std::vector::resize would zero-fill on every call.
  if (joined_cap_ < size_t{n} + m + 4) {
    joined_cap_ = std::max(2 * joined_cap_, size_t{n} + m + 4);
    joined_ = std::make_unique<uint32_t[]>(joined_cap_);
  }
  uint32_t* out = joined_.get();
  std::memcpy(out, idx, size_t{n} * sizeof(uint32_t));
  const uint32_t* rest = impl_->structural_indexes.get();
  const uint32_t offset = static_cast<uint32_t>(cut);
  uint32_t k = 0;
#if defined(__SSE2__)
  // Four at a time: the compiler leaves this loop scalar (it cannot rule
  // out that the buffers overlap).
  const __m128i add = _mm_set1_epi32(static_cast<int>(offset));
  for (; k + 4 <= m; k += 4) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rest + k));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + n + k), _mm_add_epi32(v, add));
  }
#endif
  for (; k < m; ++k) out[n + k] = rest[k] + offset;
  return CheckIndexed(buf, len, out, n + m);
}

error_code JsonValidator::CheckIndexed(const char* buf, size_t len, const uint32_t* idx,
                                       uint32_t n) {
  if (stack_.empty()) stack_.resize(max_depth_ + 1);
  if (n == 0) return simdjson::EMPTY;
  if (buf[idx[0]] != '{') return simdjson::INCORRECT_TYPE;
  // Only escapes are left to check in strings: one scan of the whole event
  // for a backslash costs less than one per string.
  const bool escapes = std::memchr(buf, '\\', len) != nullptr;
  // A scalar token ends where the next structural begins, less whitespace.
  auto next_structural = [&](uint32_t k) { return buf + (k + 1 < n ? idx[k + 1] : len); };
  auto token_end = [&](uint32_t k) {
    const char* e = next_structural(k);
    e -= e[-1] == ' ';  // without a branch: one space, as before "]", is common
    while (IsSpace(e[-1])) --e;
    return e;
  };
  // The string token at structural k (its escapes, if the event has any).
  auto string_ok = [&](uint32_t k) {
    return !escapes || StringOk(buf + idx[k], next_structural(k));
  };
  char* stack = stack_.data();
  size_t depth = 0;
  uint32_t i = 0;
  // A goto state machine over the structurals: value, key, after a value.
value:
  if (i >= n) return simdjson::INCOMPLETE_ARRAY_OR_OBJECT;
  {
    const char* p = buf + idx[i];
    switch (*p) {
      case '{':
      case '[': {
        const char close = *p == '{' ? '}' : ']';
        if (depth >= max_depth_) return simdjson::DEPTH_ERROR;
        if (++i < n && buf[idx[i]] == close) {  // empty
          ++i;
          goto after;
        }
        stack[depth++] = close;
        if (close == '}') goto key;
        goto value;
      }
      case '"':
        if (!string_ok(i)) return simdjson::STRING_ERROR;
        ++i;
        goto after;
      case '-':
      case '0':
      case '1':
      case '2':
      case '3':
      case '4':
      case '5':
      case '6':
      case '7':
      case '8':
      case '9':
        // Arrays of numbers (coordinates, samples) are the bulk of many
        // events: stay here while a comma leads to another number, and
        // while "], [" leads from one such array to the next (GeoJSON
        // rings: same depth, the parent an array too).
        for (;;) {
          if (!NumberOk(p, token_end(i))) return simdjson::NUMBER_ERROR;
          if (++i + 1 >= n || stack[depth - 1] != ']') goto after;
          if (buf[idx[i]] == ',') {
            p = buf + idx[i + 1];
            if (!StartsNumber(*p)) goto after;
            ++i;
            continue;
          }
          if (i + 3 >= n || depth < 2 || stack[depth - 2] != ']' || buf[idx[i]] != ']' ||
              buf[idx[i + 1]] != ',' || buf[idx[i + 2]] != '[')
            goto after;
          p = buf + idx[i + 3];
          if (!StartsNumber(*p)) goto after;
          i += 3;
        }
      case 't':
      case 'f':
      case 'n':
        if (!LiteralOk(p, token_end(i))) return simdjson::T_ATOM_ERROR;
        ++i;
        goto after;
      default:
        return simdjson::TAPE_ERROR;
    }
  }
key:
  for (;;) {
    if (i + 2 >= n) return simdjson::INCOMPLETE_ARRAY_OR_OBJECT;
    if (buf[idx[i]] != '"') return simdjson::TAPE_ERROR;
    if (!string_ok(i)) return simdjson::STRING_ERROR;
    if (buf[idx[i + 1]] != ':') return simdjson::TAPE_ERROR;
    i += 2;
    // Flat objects are runs of "key": "string",: stay here while a string
    // value is followed by a comma.
    if (i + 1 >= n || buf[idx[i]] != '"' || buf[idx[i + 1]] != ',') goto value;
    if (!string_ok(i)) return simdjson::STRING_ERROR;
    i += 2;
  }
after:
  if (depth == 0) return i == n ? simdjson::SUCCESS : simdjson::TRAILING_CONTENT;
  if (i >= n) return simdjson::INCOMPLETE_ARRAY_OR_OBJECT;
  if (buf[idx[i]] == ',') {
    ++i;
    if (stack[depth - 1] == '}') goto key;
    goto value;
  }
  if (buf[idx[i]] == stack[depth - 1]) {
    --depth;
    ++i;
    goto after;
  }
  return simdjson::TAPE_ERROR;
}

}  // namespace weir
