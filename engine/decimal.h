// Exact decimal numbers: canonical form and ordering, so `35`, `35.0` and
// `3.5e1` are equal and long literals keep every digit.
#ifndef WEIR_ENGINE_DECIMAL_H_
#define WEIR_ENGINE_DECIMAL_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace weir {

// value = (neg ? -1 : 1) * 0.d1d2d3... * 10^exp; digits has no leading or
// trailing zeros; zero has empty digits and neg == false.
struct DecimalView {
  bool neg = false;
  std::string_view digits;
  int64_t exp = 0;
};

// Parses the JSON number grammar (strict) into `view`, using `*storage` for
// the digits. Returns false if `text` is not a JSON number.
bool ParseJsonNumber(std::string_view text, std::string* storage, DecimalView* view);

// Whether `text` is a JSON number (grammar only; nothing is stored).
bool IsJsonNumber(std::string_view text);

// Lenient form for rule files (YAML numbers): also `+1`, `.5`, `1.`, `1E3`.
bool ParseRuleNumber(std::string_view text, std::string* storage, DecimalView* view);

// Canonical text: "0", or "[-]DIGITSe<exp>". Equal values have equal text.
void CanonicalDecimal(const DecimalView& d, std::string* out);
// Parses canonical text back.
DecimalView ParseCanonical(std::string_view canonical);

// The nearest double (correctly rounded, as strtod); +-inf or 0 outside the
// double range.
double CanonicalToDouble(std::string_view canonical);

// <0, 0, >0
int CompareDecimal(const DecimalView& a, const DecimalView& b);

}  // namespace weir

#endif  // WEIR_ENGINE_DECIMAL_H_
