// Direct evaluation of one predicate on one scalar value: used for
// anything-but exclusions, CIDR blocks and array-consistency checks, where an
// index would not pay.
#ifndef WEIR_ENGINE_SCALAR_H_
#define WEIR_ENGINE_SCALAR_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/decimal.h"
#include "engine/glob.h"
#include "weir/condition.h"

namespace weir {

enum class ScalarType : uint8_t { kString, kNumber, kTrue, kFalse, kNull };

// One scalar as the matcher sees it. For strings `text` is the decoded
// content; for numbers the JSON text; for literals the word. `num` is set
// for numbers when some predicate needs the value; `folded` for strings
// when some predicate compares case-insensitively.
struct ScalarValue {
  ScalarType type;
  std::string_view text;
  const DecimalView* num = nullptr;
  std::string_view folded;
};

struct IpNetwork {
  bool v6 = false;
  std::array<uint8_t, 16> addr{};
  int prefix = 0;
};
// "10.0.0.0/24", "2001:db8::/32"; a bare address is a /32 or /128.
bool ParseCidr(std::string_view text, IpNetwork* net);
// Parses an IPv4 or IPv6 address; false if `text` is not one.
bool ParseIp(std::string_view text, IpNetwork* addr);
bool InNetwork(const IpNetwork& net, const IpNetwork& addr);

class ScalarPredicate {
 public:
  static absl::StatusOr<std::unique_ptr<ScalarPredicate>> Compile(const Predicate& p);
  bool Eval(const ScalarValue& v) const;
  // Whether Eval needs v.num / v.folded.
  bool needs_number() const;
  bool needs_fold() const;

 private:
  PredicateKind kind_;
  Glob glob_;
  std::string lo_store_, hi_store_;
  DecimalView lo_, hi_;
  bool has_lo_ = false, has_hi_ = false, lo_open_ = false, hi_open_ = false;
  std::string literal_;
  IpNetwork net_;
  std::vector<std::unique_ptr<ScalarPredicate>> excluded_;
};

}  // namespace weir

#endif  // WEIR_ENGINE_SCALAR_H_
