#include "engine/glob.h"

#include "re2/re2.h"

namespace weir {

bool ParseGlob(std::string_view text, Glob* glob, std::string* error) {
  *glob = Glob{};
  std::string cur;
  bool last_was_star = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\') {
      if (i + 1 >= text.size()) {
        *error = "a backslash at the end of a wildcard escapes nothing (write \\\\ for a backslash)";
        return false;
      }
      char n = text[++i];
      if (n != '*' && n != '\\') {
        *error = std::string("a backslash may only escape * or \\, not '") + n + "'";
        return false;
      }
      cur.push_back(n);
      last_was_star = false;
    } else if (c == '*') {
      if (last_was_star) continue;
      if (glob->stars == 0 && cur.empty() && glob->literals.empty()) {
        glob->leading_star = true;
      } else {
        glob->literals.push_back(std::move(cur));
        cur.clear();
      }
      ++glob->stars;
      last_was_star = true;
    } else {
      cur.push_back(c);
      last_was_star = false;
    }
  }
  if (last_was_star) {
    glob->trailing_star = true;
  } else {
    glob->literals.push_back(std::move(cur));
  }
  // A lone "*" is leading and trailing at once.
  if (glob->stars > 0 && glob->literals.empty()) glob->leading_star = glob->trailing_star = true;
  return true;
}

bool GlobMatch(const Glob& g, std::string_view s) {
  if (g.is_exact()) return g.literals.size() == 1 && s == g.literals[0];
  if (g.is_any()) return true;
  size_t lo = 0, hi = s.size();
  size_t first = 0, last = g.literals.size();
  if (!g.leading_star) {
    const std::string& p = g.literals[0];
    if (s.substr(0, p.size()) != p) return false;
    lo = p.size();
    first = 1;
  }
  if (!g.trailing_star) {
    const std::string& p = g.literals[last - 1];
    if (hi - lo < p.size() || s.substr(hi - p.size()) != p) return false;
    hi -= p.size();
    --last;
  }
  // Middle literals: leftmost match in order is optimal for star-only globs.
  for (size_t k = first; k < last; ++k) {
    std::string_view window = s.substr(lo, hi - lo);
    size_t pos = window.find(g.literals[k]);
    if (pos == std::string_view::npos) return false;
    lo += pos + g.literals[k].size();
  }
  return true;
}

std::string EscapeGlobLiteral(std::string_view literal) {
  std::string out;
  out.reserve(literal.size());
  for (char c : literal) {
    if (c == '*' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

std::string GlobToRegex(const Glob& g) {
  std::string re = "(?s)";
  if (g.leading_star) re += ".*";
  for (size_t i = 0; i < g.literals.size(); ++i) {
    if (i > 0) re += ".*";
    re += RE2::QuoteMeta(g.literals[i]);
  }
  if (g.trailing_star && !g.literals.empty()) re += ".*";
  return re;
}

}  // namespace weir
