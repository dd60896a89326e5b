#include "engine/decimal.h"

#include <cmath>
#include <cstdlib>

namespace weir {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Shared tail of both parsers once the pieces are located: mantissa digits
// (int part + frac part, as written) and the decimal exponent.
void Normalize(bool neg, std::string_view int_part, std::string_view frac_part, int64_t e10,
               std::string* storage, DecimalView* view) {
  storage->clear();
  storage->append(int_part);
  storage->append(frac_part);
  // value = 0.<all digits> * 10^(len(int_part) + e10)
  int64_t exp = static_cast<int64_t>(int_part.size()) + e10;
  size_t first = 0;
  while (first < storage->size() && (*storage)[first] == '0') ++first;
  size_t last = storage->size();
  while (last > first && (*storage)[last - 1] == '0') --last;
  if (first == last) {
    *view = DecimalView{};
    return;
  }
  exp -= static_cast<int64_t>(first);
  view->neg = neg;
  view->digits = std::string_view(*storage).substr(first, last - first);
  view->exp = exp;
}

// Parses [eE][+-]?digits at text[i..]; saturates far outside any real range.
bool ParseExponent(std::string_view text, size_t& i, int64_t* e10) {
  *e10 = 0;
  if (i >= text.size() || (text[i] != 'e' && text[i] != 'E')) return true;
  ++i;
  bool eneg = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) eneg = text[i++] == '-';
  if (i >= text.size() || !IsDigit(text[i])) return false;
  int64_t e = 0;
  while (i < text.size() && IsDigit(text[i])) {
    if (e < 1'000'000'000'000LL) e = e * 10 + (text[i] - '0');
    ++i;
  }
  *e10 = eneg ? -e : e;
  return true;
}

}  // namespace

bool ParseJsonNumber(std::string_view text, std::string* storage, DecimalView* view) {
  size_t i = 0;
  bool neg = false;
  if (i < text.size() && text[i] == '-') {
    neg = true;
    ++i;
  }
  size_t int_begin = i;
  if (i >= text.size() || !IsDigit(text[i])) return false;
  if (text[i] == '0') {
    ++i;
  } else {
    while (i < text.size() && IsDigit(text[i])) ++i;
  }
  std::string_view int_part = text.substr(int_begin, i - int_begin);
  std::string_view frac_part;
  if (i < text.size() && text[i] == '.') {
    size_t fb = ++i;
    while (i < text.size() && IsDigit(text[i])) ++i;
    if (i == fb) return false;
    frac_part = text.substr(fb, i - fb);
  }
  int64_t e10;
  if (!ParseExponent(text, i, &e10)) return false;
  if (i != text.size()) return false;
  Normalize(neg, int_part, frac_part, e10, storage, view);
  return true;
}

bool IsJsonNumber(std::string_view t) {
  size_t i = 0, n = t.size();
  if (i < n && t[i] == '-') ++i;
  if (i >= n || !IsDigit(t[i])) return false;
  if (t[i] == '0') {
    ++i;
  } else {
    while (i < n && IsDigit(t[i])) ++i;
  }
  if (i < n && t[i] == '.') {
    size_t b = ++i;
    while (i < n && IsDigit(t[i])) ++i;
    if (i == b) return false;
  }
  if (i < n && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < n && (t[i] == '+' || t[i] == '-')) ++i;
    size_t b = i;
    while (i < n && IsDigit(t[i])) ++i;
    if (i == b) return false;
  }
  return i == n;
}

bool ParseRuleNumber(std::string_view text, std::string* storage, DecimalView* view) {
  size_t i = 0;
  bool neg = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) neg = text[i++] == '-';
  size_t ib = i;
  while (i < text.size() && IsDigit(text[i])) ++i;
  std::string_view int_part = text.substr(ib, i - ib);
  std::string_view frac_part;
  if (i < text.size() && text[i] == '.') {
    size_t fb = ++i;
    while (i < text.size() && IsDigit(text[i])) ++i;
    frac_part = text.substr(fb, i - fb);
  }
  if (int_part.empty() && frac_part.empty()) return false;
  int64_t e10;
  if (!ParseExponent(text, i, &e10)) return false;
  if (i != text.size()) return false;
  Normalize(neg, int_part, frac_part, e10, storage, view);
  return true;
}

void CanonicalDecimal(const DecimalView& d, std::string* out) {
  out->clear();
  if (d.digits.empty()) {
    out->push_back('0');
    return;
  }
  if (d.neg) out->push_back('-');
  out->append(d.digits);
  out->push_back('e');
  out->append(std::to_string(d.exp));
}

DecimalView ParseCanonical(std::string_view c) {
  DecimalView d;
  if (c == "0" || c.empty()) return d;
  size_t i = 0;
  if (c[0] == '-') {
    d.neg = true;
    i = 1;
  }
  size_t e = c.find('e', i);
  d.digits = c.substr(i, e - i);
  d.exp = std::strtoll(std::string(c.substr(e + 1)).c_str(), nullptr, 10);
  return d;
}

double CanonicalToDouble(std::string_view c) {
  DecimalView d = ParseCanonical(c);
  if (d.digits.empty()) return 0;
  if (d.exp > 100000) return d.neg ? -HUGE_VAL : HUGE_VAL;
  if (d.exp < -100000) return d.neg ? -0.0 : 0.0;
  std::string text = d.neg ? "-0." : "0.";
  text.append(d.digits);
  text.push_back('e');
  text.append(std::to_string(d.exp));
  return std::strtod(text.c_str(), nullptr);
}

int CompareDecimal(const DecimalView& a, const DecimalView& b) {
  bool az = a.digits.empty(), bz = b.digits.empty();
  if (az || bz) {
    if (az && bz) return 0;
    if (az) return b.neg ? 1 : -1;
    return a.neg ? -1 : 1;
  }
  if (a.neg != b.neg) return a.neg ? -1 : 1;
  int mag;
  if (a.exp != b.exp) {
    mag = a.exp < b.exp ? -1 : 1;
  } else {
    int c = a.digits.compare(b.digits);
    mag = c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  return a.neg ? -mag : mag;
}

}  // namespace weir
