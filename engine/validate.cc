#include "engine/validate.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "engine/decimal.h"
#include "engine/scan.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

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

// How deep the array at p nests; it holds no strings, so its brackets are
// all structural.
size_t ExactNest(const char* p, const char* e) {
  size_t depth = 0, deepest = 0;
  for (; p < e; ++p) {
    if (*p == '[') {
      deepest = std::max(deepest, ++depth);
    } else if (*p == ']') {
      --depth;
    }
  }
  return deepest;
}

#if defined(__x86_64__) && defined(__GNUC__)
#define WEIR_NUMERIC_SPANS 1
// Arrays of numbers (GeoJSON coordinates, samples) are most of the bytes of
// many events, and checking them structural by structural is most of the
// cost of validating a matched event. An array made only of numbers, commas,
// brackets and spaces has no strings, so its grammar is a property of its
// bytes alone: this checks it 64 bytes at a time with bit masks, as
// simdjson's first stage finds its structurals, and the walk then takes the
// whole array as one value. Anything else in the array (an exponent, a tab, a
// string, an object) gives up, and the array is checked the usual way.
//
// One bit per byte in each mask. What the byte before, or the one before
// that, is comes from loads one and two bytes back rather than from
// shifting the masks: fewer instructions, and no carries between blocks.
// Only single spaces between tokens, so that the previous byte that is not
// a space is one of those two.
//
// AVX-512BW or AVX2, chosen at run time (WEIR_VALIDATE_SIMD=avx2 or none
// chooses less, for tests); elsewhere every array is checked the usual way.
// Function attributes rather than target pragmas, which Clang does not take.
#define WEIR_AVX512BW __attribute__((target("avx512f,avx512bw,bmi,popcnt")))
#define WEIR_AVX2 __attribute__((target("avx2,bmi,popcnt")))

// The masks of one 64-byte block, as the scan needs them.
struct BlockMasks {
  uint64_t d, m, dot, comma, open, close, w;  // digit, '-', '.', ',', '[', ']', ' '
  uint64_t w1, d1, m1, p1, z1;                // the byte before: ' ', digit, '-', '.', '0'
  uint64_t d2, p2;                            // two bytes before: digit, '.'
  // The previous byte that is not a space: ',', '[', ']'.
  uint64_t after_comma, after_open, after_close;
};

WEIR_AVX512BW inline uint64_t Digits(__m512i v) {
  return _mm512_cmplt_epu8_mask(_mm512_sub_epi8(v, _mm512_set1_epi8('0')), _mm512_set1_epi8(10));
}
WEIR_AVX512BW inline uint64_t Eq(__m512i v, char c) {
  return _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(c));
}

// Reads [b - 2, b + 64).
WEIR_AVX512BW inline BlockMasks Masks512(const char* b) {
  const __m512i v = _mm512_loadu_si512(b);
  const __m512i v1 = _mm512_loadu_si512(b - 1);  // the byte before
  const __m512i v2 = _mm512_loadu_si512(b - 2);  // and the one before that
  BlockMasks k;
  k.d = Digits(v), k.m = Eq(v, '-'), k.dot = Eq(v, '.'), k.comma = Eq(v, ',');
  k.open = Eq(v, '['), k.close = Eq(v, ']'), k.w = Eq(v, ' ');
  k.w1 = Eq(v1, ' '), k.d1 = Digits(v1), k.m1 = Eq(v1, '-'), k.p1 = Eq(v1, '.');
  k.z1 = Eq(v1, '0'), k.d2 = Digits(v2), k.p2 = Eq(v2, '.');
  const __m512i pv = _mm512_mask_blend_epi8(k.w1, v1, v2);
  k.after_comma = Eq(pv, ','), k.after_open = Eq(pv, '['), k.after_close = Eq(pv, ']');
  return k;
}

// The same from two 32-byte halves.
struct Halves {
  __m256i lo, hi;
};
WEIR_AVX2 inline Halves Load2(const char* b) {
  return {_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b)),
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 32))};
}
WEIR_AVX2 inline uint64_t Bits(__m256i lo, __m256i hi) {
  return static_cast<uint32_t>(_mm256_movemask_epi8(lo)) |
         uint64_t{static_cast<uint32_t>(_mm256_movemask_epi8(hi))} << 32;
}
WEIR_AVX2 inline uint64_t Eq(Halves v, char c) {
  const __m256i x = _mm256_set1_epi8(c);
  return Bits(_mm256_cmpeq_epi8(v.lo, x), _mm256_cmpeq_epi8(v.hi, x));
}
WEIR_AVX2 inline __m256i Digits(__m256i v) {  // v - '0' is at most 9, unsigned
  const __m256i x = _mm256_sub_epi8(v, _mm256_set1_epi8('0'));
  return _mm256_cmpeq_epi8(_mm256_min_epu8(x, _mm256_set1_epi8(9)), x);
}
WEIR_AVX2 inline uint64_t Digits(Halves v) { return Bits(Digits(v.lo), Digits(v.hi)); }

WEIR_AVX2 inline BlockMasks Masks256(const char* b) {
  const Halves v = Load2(b), v1 = Load2(b - 1), v2 = Load2(b - 2);
  BlockMasks k;
  k.d = Digits(v), k.m = Eq(v, '-'), k.dot = Eq(v, '.'), k.comma = Eq(v, ',');
  k.open = Eq(v, '['), k.close = Eq(v, ']'), k.w = Eq(v, ' ');
  k.w1 = Eq(v1, ' '), k.d1 = Digits(v1), k.m1 = Eq(v1, '-'), k.p1 = Eq(v1, '.');
  k.z1 = Eq(v1, '0'), k.d2 = Digits(v2), k.p2 = Eq(v2, '.');
  const __m256i space = _mm256_set1_epi8(' ');
  const Halves pv = {_mm256_blendv_epi8(v1.lo, v2.lo, _mm256_cmpeq_epi8(v1.lo, space)),
                     _mm256_blendv_epi8(v1.hi, v2.hi, _mm256_cmpeq_epi8(v1.hi, space))};
  k.after_comma = Eq(pv, ','), k.after_open = Eq(pv, '['), k.after_close = Eq(pv, ']');
  return k;
}

// What the scan carries from block to block.
struct ArrayScan {
  uint64_t dot_carry = 0;  // the digits after a dot run on into the next block
  size_t depth = 0, nest_bound = 0;
};

// One block of the array (first: the block of its '['; avail: the bytes of
// the event from b on). -1: not an array of numbers; 0: it goes on; else
// how many bytes of this block it takes, up to its ']'. Plain code, inlined
// into each loader's loop and compiled for its instruction set there.
__attribute__((always_inline)) inline int ScanBlock(const BlockMasks& k, bool first,
                                                    ptrdiff_t avail, ArrayScan* s) {
  const uint64_t d = k.d, m = k.m, dot = k.dot, comma = k.comma, open = k.open, close = k.close,
                 w = k.w;
  // The bytes of the array in this block: up to its closing bracket,
  // which can only be here if the block closes as many as are open.
  uint64_t in = avail >= 64 ? ~uint64_t{0} : (uint64_t{1} << avail) - 1;
  const size_t opens = static_cast<size_t>(__builtin_popcountll(open & in));
  const size_t closes = static_cast<size_t>(__builtin_popcountll(close & in));
  s->nest_bound = std::max(s->nest_bound, s->depth + opens);
  bool done = false;
  if (closes < s->depth) {
    s->depth += opens - closes;
  } else {
    for (uint64_t br = (open | close) & in; br != 0; br &= br - 1) {
      const uint64_t bit = br & -br;
      if (open & bit) {
        ++s->depth;
      } else if (--s->depth == 0) {
        in &= (bit << 1) - 1;
        done = true;
        break;
      }
    }
  }
  const uint64_t t = d | m | dot;  // bytes of number tokens
  // Something else, or two spaces in a row: give up.
  if ((~(t | comma | open | close | w) | (w & k.w1)) & in) return -1;
  const uint64_t t1 = k.d1 | k.m1 | k.p1;
  // Numbers: -?(0|[1-9][0-9]*)(\.[0-9]+)? (an exponent gives up above).
  uint64_t bad = (m & t1)         // a minus inside a token
                 | (k.m1 & ~d)    // a minus not followed by a digit
                 | (dot & ~k.d1)  // a dot not after a digit
                 | (k.p1 & ~d);   // a dot not followed by a digit
  // A digit after a zero that begins the integer part (after neither a
  // digit nor a dot).
  bad |= d & k.z1 & ~k.d2 & ~k.p2;
  // One dot per number: the digits after a dot run to a byte that is not
  // a dot. Adding the run's first bit carries through it to that byte.
  uint64_t sum;
  bool out = __builtin_add_overflow(d, k.p1, &sum);
  out |= __builtin_add_overflow(sum, s->dot_carry, &sum);
  bad |= sum & ~d & dot;
  // Order, spaces aside: the previous byte that is not a space.
  const uint64_t after_comma = k.after_comma, after_open = k.after_open,
                 after_close = k.after_close;
  const uint64_t after_token = ~(after_comma | after_open | after_close);
  const uint64_t own = first ? 1 : 0;                  // the array's own '[' is the walk's to check
  bad |= (t & ~t1) & ~(after_comma | after_open);      // a number after , or [
  bad |= (open & ~own) & ~(after_comma | after_open);  // [ after , or [
  bad |= comma & ~(after_token | after_close);         // , after a number or ]
  bad |= close & ~(after_token | after_close | after_open);  // ] after a number, ] or [
  if (bad & in) return -1;
  s->dot_carry = out;
  return done ? 64 - __builtin_clzll(in) : 0;
}

// Where the array whose '[' is at p ends (one past its ']'), when it is a
// valid array of numbers and arrays of numbers within [p, e); otherwise
// nullptr. *nest_out: a bound on how deep it nests, never below the depth
// (the array itself is 1). Reads whole 64-byte blocks from p - 2 on: the
// caller makes sure the two bytes before p belong to the event, and the
// event is followed by its padding. One per instruction set, alike.
#define WEIR_NUMERIC_ARRAY_END(name, target, masks)                         \
  target const char* name(const char* p, const char* e, size_t* nest_out) { \
    ArrayScan s;                                                            \
    for (const char* b = p; b < e; b += 64) {                               \
      const int took = ScanBlock(masks(b), b == p, e - b, &s);              \
      if (took < 0) return nullptr;                                         \
      if (took > 0) {                                                       \
        *nest_out = s.nest_bound;                                           \
        return b + took;                                                    \
      }                                                                     \
    }                                                                       \
    return nullptr;                                                         \
  }
WEIR_NUMERIC_ARRAY_END(NumericArrayEnd512, WEIR_AVX512BW, Masks512)
WEIR_NUMERIC_ARRAY_END(NumericArrayEnd256, WEIR_AVX2, Masks256)
#undef WEIR_NUMERIC_ARRAY_END
#undef WEIR_AVX2
#undef WEIR_AVX512BW

using ArrayEnd = const char* (*)(const char*, const char*, size_t*);

// The widest the CPU has, or what WEIR_VALIDATE_SIMD asks for (avx2, none);
// nullptr: none.
ArrayEnd NumericArrayEnd() {
  static const ArrayEnd pick = []() -> ArrayEnd {
    const char* want = std::getenv("WEIR_VALIDATE_SIMD");
    const std::string_view w = want ? want : "";
    if (w == "none") return nullptr;
    if (w != "avx2" && __builtin_cpu_supports("avx512bw")) return NumericArrayEnd512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") &&
        __builtin_cpu_supports("popcnt"))
      return NumericArrayEnd256;
    return nullptr;
  }();
  return pick;
}
#endif  // __x86_64__ && __GNUC__

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

uint32_t* JsonValidator::Joined(size_t n) {
  // Grown, never shrunk: std::vector::resize would zero-fill on every call.
  if (joined_cap_ < n) {
    joined_cap_ = std::max(2 * joined_cap_, n);
    joined_ = std::make_unique<uint32_t[]>(joined_cap_);
  }
  return joined_.get();
}

namespace {

// out[k] = in[k] + offset for k < m.
uint32_t* AppendShifted(uint32_t* out, const uint32_t* in, uint32_t m, uint32_t offset) {
  uint32_t k = 0;
#if defined(__SSE2__)
  // Four at a time: the compiler leaves this loop scalar (it cannot rule
  // out that the buffers overlap).
  const __m128i add = _mm_set1_epi32(static_cast<int>(offset));
  for (; k + 4 <= m; k += 4) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + k));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + k), _mm_add_epi32(v, add));
  }
#endif
  for (; k < m; ++k) out[k] = in[k] + offset;
  return out + m;
}

}  // namespace

error_code JsonValidator::CheckAfterCut(const char* buf, size_t len, size_t cut,
                                        const uint32_t* idx, uint32_t n) {
#if defined(WEIR_NUMERIC_SPANS)
  // The first array after the cut, when it holds only numbers, is checked
  // on its bytes; the first stage indexes what comes before and after it.
  const ArrayEnd array_end = NumericArrayEnd();
  if (len <= UINT32_MAX && array_end != nullptr) {
    if (const void* open = std::memchr(buf + cut, '[', len - cut)) {
      const char* p = static_cast<const char*>(open);
      size_t nest = 0;
      const char* q = p - buf >= 2 ? array_end(p, buf + len, &nest) : nullptr;
      if (q != nullptr) {
        Span span{static_cast<uint32_t>(p - buf), static_cast<uint32_t>(q - buf),
                  static_cast<uint32_t>(nest)};
        error_code result;
        if (CheckAroundSpan(buf, len, cut, idx, n, span, &result)) return result;
      }
    }
  }
#endif
  if (auto e = Reserve(len - cut)) return e;
  if (auto e = impl_->stage1(reinterpret_cast<const uint8_t*>(buf + cut), len - cut,
                             simdjson::stage1_mode::regular)) {
    if (e != simdjson::EMPTY) return e;  // only whitespace after the cut
    impl_->n_structural_indexes = 0;
  }
  const uint32_t m = impl_->n_structural_indexes;
  uint32_t* out = Joined(size_t{n} + m + 4);
  std::memcpy(out, idx, size_t{n} * sizeof(uint32_t));
  AppendShifted(out + n, impl_->structural_indexes.get(), m, static_cast<uint32_t>(cut));
  return CheckIndexed(buf, len, out, n + m, Span{});
}

// The first stage's state where the span starts (a '[' outside strings: the
// cut part before it ends in no string, escape or UTF-8 sequence, which its
// own first stage checks) and just after it ends (after a ']', and the span
// holds none of those) is its initial one, so indexing the bytes before and
// after the span apart gives the index a first stage over all of them would,
// less the span's inner structurals. Any first-stage error there: false,
// and the caller indexes the rest as one, for the same error codes.
bool JsonValidator::CheckAroundSpan(const char* buf, size_t len, size_t cut, const uint32_t* idx,
                                    uint32_t n, Span span, error_code* result) {
  if (Reserve(len - cut)) return false;
  auto index = [&](size_t from, size_t to, uint32_t* count) {
    *count = 0;
    if (from == to) return true;
    error_code e = impl_->stage1(reinterpret_cast<const uint8_t*>(buf + from), to - from,
                                 simdjson::stage1_mode::regular);
    if (e == simdjson::EMPTY) return true;
    *count = impl_->n_structural_indexes;
    return e == simdjson::SUCCESS;
  };
  uint32_t before = 0;
  if (!index(cut, span.begin, &before)) return false;
  // Structurals are fewer than bytes.
  uint32_t* out = Joined(size_t{n} + (len - cut) + 4);
  std::memcpy(out, idx, size_t{n} * sizeof(uint32_t));
  uint32_t* at =
      AppendShifted(out + n, impl_->structural_indexes.get(), before, static_cast<uint32_t>(cut));
  *at++ = span.begin;
  // What follows the span is mostly a few closing brackets: when it is only
  // spaces and operators, each operator is a structural and there is no
  // first stage to run.
  bool simple = len - span.end <= 64;
  for (size_t k = span.end; simple && k < len; ++k) {
    switch (buf[k]) {
      case '{':
      case '}':
      case '[':
      case ']':
      case ':':
      case ',':
        *at++ = static_cast<uint32_t>(k);
        break;
      case ' ':
      case '\t':
      case '\n':
      case '\r':
        break;
      default:
        simple = false;
    }
  }
  if (!simple) {
    at = out + n + before + 1;
    uint32_t after = 0;
    if (!index(span.end, len, &after)) return false;
    at = AppendShifted(at, impl_->structural_indexes.get(), after, span.end);
  }
  *result = CheckIndexed(buf, len, out, static_cast<uint32_t>(at - out), span);
  return true;
}

error_code JsonValidator::CheckIndexed(const char* buf, size_t len, const uint32_t* idx, uint32_t n,
                                       Span span) {
  if (stack_.empty()) stack_.resize(max_depth_ + 1);
  if (n == 0) return simdjson::EMPTY;
  if (buf[idx[0]] != '{') return simdjson::INCORRECT_TYPE;
  // Only escapes are left to check in strings: one scan of the whole event
  // for a backslash costs less than one per string.
  // The span has none.
  const bool escapes = span.begin < len
                           ? std::memchr(buf, '\\', span.begin) != nullptr ||
                                 std::memchr(buf + span.end, '\\', len - span.end) != nullptr
                           : std::memchr(buf, '\\', len) != nullptr;
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
        if (idx[i] == span.begin) {  // checked already: one value
          if (depth + span.nest > max_depth_ &&
              depth + ExactNest(buf + span.begin, buf + span.end) > max_depth_)
            return simdjson::DEPTH_ERROR;
          ++i;
          goto after;
        }
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
              buf[idx[i + 1]] != ',' || buf[idx[i + 2]] != '[' || idx[i + 2] == span.begin)
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
