// Small byte scans over padded event bytes (SSE2 where available). They read
// whole 16-byte blocks, so up to 15 bytes past what they find must be
// readable, which the events' padding guarantees.
#ifndef WEIR_ENGINE_SCAN_H_
#define WEIR_ENGINE_SCAN_H_

#include <cstring>

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

}  // namespace weir

#endif  // WEIR_ENGINE_SCAN_H_
