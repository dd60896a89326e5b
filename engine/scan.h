// Small byte scans over padded event bytes (SSE2 where available). They read
// whole 16-byte blocks, so up to 15 bytes past what they find must be
// readable, which the events' padding guarantees.
#ifndef WEIR_ENGINE_SCAN_H_
#define WEIR_ENGINE_SCAN_H_

#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace weir {

#if defined(__SSE2__)
// Bit i set where byte i of v equals c.
inline unsigned ByteMask(__m128i v, char c) {
  return static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(c))));
}
#endif

// The closing quote of a string whose body starts at p, when no backslash
// comes before it; otherwise nullptr (the string has escapes: unescape it).
// The string must be closed, as simdjson's first stage has checked. Inline:
// keys are short, and a call to memchr costs more than the scan.
inline const char* PlainStringEnd(const char* p) {
#if defined(__SSE2__)
  for (;; p += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    unsigned q = ByteMask(v, '"');
    unsigned b = ByteMask(v, '\\');
    if (q) {
      unsigned at = static_cast<unsigned>(__builtin_ctz(q));
      return (b & ((1u << at) - 1)) ? nullptr : p + at;
    }
    if (b) return nullptr;
  }
#else
  for (;; ++p) {
    if (*p == '"') return p;
    if (*p == '\\') return nullptr;
  }
#endif
}

// The first occurrence of `needle` (at least 2 bytes) in [p, p + n), or
// nullptr. Candidates are where its first two bytes are, 16 positions at a
// time: cheaper than memmem for the short needles (quoted keys) and early
// hits this is for. Reads up to 16 bytes past p + n.
inline const char* FindShort(const char* p, size_t n, std::string_view needle) {
  const size_t k = needle.size();
  if (n < k) return nullptr;
  const size_t last = n - k;  // the last position a match can start at
#if defined(__SSE2__)
  const __m128i first = _mm_set1_epi8(needle[0]);
  const __m128i second = _mm_set1_epi8(needle[1]);
  for (size_t i = 0; i <= last; i += 16) {
    __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 1));
    unsigned m = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(b, second))));
    while (m) {
      const size_t at = i + static_cast<size_t>(__builtin_ctz(m));
      if (at > last) return nullptr;
      if (std::memcmp(p + at + 2, needle.data() + 2, k - 2) == 0) return p + at;
      m &= m - 1;
    }
  }
  return nullptr;
#else
  for (size_t i = 0; i <= last; ++i)
    if (std::memcmp(p + i, needle.data(), k) == 0) return p + i;
  return nullptr;
#endif
}

}  // namespace weir

#endif  // WEIR_ENGINE_SCAN_H_
