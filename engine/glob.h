// Globs: `*` matches any run of bytes; `\*` and `\\` are literal. The
// canonical escaped text is what Predicate::text holds.
#ifndef WEIR_ENGINE_GLOB_H_
#define WEIR_ENGINE_GLOB_H_

#include <string>
#include <string_view>
#include <vector>

namespace weir {

struct Glob {
  // Literal runs between stars, unescaped. "a*b" -> {"a","b"}; "*" -> {}.
  std::vector<std::string> literals;
  bool leading_star = false;
  bool trailing_star = false;
  size_t stars = 0;

  bool is_exact() const { return stars == 0; }
  // lit*  (one literal, one trailing star)
  bool is_prefix() const { return stars == 1 && trailing_star && !leading_star; }
  bool is_suffix() const { return stars == 1 && leading_star && !trailing_star; }
  bool is_any() const { return literals.empty() && stars > 0; }
};

// Parses canonical glob text. Consecutive stars collapse to one. Returns
// false on a backslash before anything but `*` or `\`, or a trailing one;
// *error then says why.
bool ParseGlob(std::string_view text, Glob* glob, std::string* error);

// Whether canonical glob text is a plain literal (no star, no escape): it
// matches exactly itself, and ParseGlob would give that one literal.
inline bool IsLiteralGlob(std::string_view text) {
  // (find_first_of calls memchr once per byte: a compile of 100k values
  // made 700k calls.)
  for (char c : text)
    if (c == '*' || c == '\\') return false;
  return true;
}

bool GlobMatch(const Glob& glob, std::string_view s);

// Escapes `*` and `\` so `literal` matches only itself.
std::string EscapeGlobLiteral(std::string_view literal);

// An RE2 pattern equivalent to the glob (anchoring is the caller's).
std::string GlobToRegex(const Glob& glob);

}  // namespace weir

#endif  // WEIR_ENGINE_GLOB_H_
