#include "engine/scalar.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace weir {

bool ParseIp(std::string_view text, IpNetwork* out) {
  if (text.empty() || text.size() > 45) return false;
  char buf[64];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = 0;
  *out = IpNetwork{};
  if (text.find(':') != std::string_view::npos) {
    if (inet_pton(AF_INET6, buf, out->addr.data()) != 1) return false;
    out->v6 = true;
    out->prefix = 128;
  } else {
    if (inet_pton(AF_INET, buf, out->addr.data()) != 1) return false;
    out->prefix = 32;
  }
  return true;
}

bool ParseCidr(std::string_view text, IpNetwork* net) {
  size_t slash = text.find('/');
  if (!ParseIp(text.substr(0, slash), net)) return false;
  if (slash == std::string_view::npos) return true;
  std::string_view bits = text.substr(slash + 1);
  if (bits.empty() || bits.size() > 3) return false;
  int n = 0;
  for (char c : bits) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  if (n > (net->v6 ? 128 : 32)) return false;
  net->prefix = n;
  return true;
}

bool InNetwork(const IpNetwork& net, const IpNetwork& a) {
  if (net.v6 != a.v6) return false;
  int full = net.prefix / 8, rest = net.prefix % 8;
  if (std::memcmp(net.addr.data(), a.addr.data(), full) != 0) return false;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (net.addr[full] & mask) == (a.addr[full] & mask);
}

absl::StatusOr<std::unique_ptr<ScalarPredicate>> ScalarPredicate::Compile(const Predicate& p) {
  auto sp = std::make_unique<ScalarPredicate>();
  sp->kind_ = p.kind;
  std::string err;
  switch (p.kind) {
    case PredicateKind::kTextGlob:
    case PredicateKind::kStringGlob:
    case PredicateKind::kFoldedGlob:
      if (!ParseGlob(p.text, &sp->glob_, &err)) return absl::InvalidArgumentError(err);
      break;
    case PredicateKind::kNumberEq:
      sp->lo_store_ = p.text;
      sp->lo_ = ParseCanonical(sp->lo_store_);
      break;
    case PredicateKind::kNumberRange:
      sp->lo_store_ = p.lo;
      sp->hi_store_ = p.hi;
      sp->has_lo_ = !p.lo.empty();
      sp->has_hi_ = !p.hi.empty();
      if (sp->has_lo_) sp->lo_ = ParseCanonical(sp->lo_store_);
      if (sp->has_hi_) sp->hi_ = ParseCanonical(sp->hi_store_);
      sp->lo_open_ = p.lo_open;
      sp->hi_open_ = p.hi_open;
      break;
    case PredicateKind::kLiteral:
      if (p.text != "true" && p.text != "false" && p.text != "null")
        return absl::InvalidArgumentError(absl::StrCat("not a JSON literal: ", p.text));
      sp->literal_ = p.text;
      break;
    case PredicateKind::kCidr:
      if (!ParseCidr(p.text, &sp->net_))
        return absl::InvalidArgumentError(absl::StrCat("not a CIDR block: ", p.text));
      break;
    case PredicateKind::kExists:
      break;
    case PredicateKind::kAnythingBut:
      for (const Predicate& e : p.excluded) {
        if (e.kind == PredicateKind::kAnythingBut || e.kind == PredicateKind::kExists)
          return absl::InvalidArgumentError("anything-but cannot nest anything-but or exists");
        auto sub = Compile(e);
        if (!sub.ok()) return sub.status();
        sp->excluded_.push_back(*std::move(sub));
      }
      break;
  }
  return sp;
}

bool ScalarPredicate::needs_number() const {
  if (kind_ == PredicateKind::kNumberEq || kind_ == PredicateKind::kNumberRange) return true;
  for (const auto& e : excluded_)
    if (e->needs_number()) return true;
  return false;
}

bool ScalarPredicate::needs_fold() const {
  if (kind_ == PredicateKind::kFoldedGlob) return true;
  for (const auto& e : excluded_)
    if (e->needs_fold()) return true;
  return false;
}

bool ScalarPredicate::Eval(const ScalarValue& v) const {
  switch (kind_) {
    case PredicateKind::kTextGlob:
      return GlobMatch(glob_, v.text);
    case PredicateKind::kStringGlob:
      return v.type == ScalarType::kString && GlobMatch(glob_, v.text);
    case PredicateKind::kFoldedGlob:
      return v.type == ScalarType::kString && GlobMatch(glob_, v.folded);
    case PredicateKind::kNumberEq:
      return v.type == ScalarType::kNumber && v.num && CompareDecimal(*v.num, lo_) == 0;
    case PredicateKind::kNumberRange: {
      if (v.type != ScalarType::kNumber || !v.num) return false;
      if (has_lo_) {
        int c = CompareDecimal(*v.num, lo_);
        if (c < 0 || (c == 0 && lo_open_)) return false;
      }
      if (has_hi_) {
        int c = CompareDecimal(*v.num, hi_);
        if (c > 0 || (c == 0 && hi_open_)) return false;
      }
      return true;
    }
    case PredicateKind::kLiteral:
      return v.type != ScalarType::kString && v.type != ScalarType::kNumber && v.text == literal_;
    case PredicateKind::kCidr: {
      if (v.type != ScalarType::kString) return false;
      IpNetwork a;
      return ParseIp(v.text, &a) && InNetwork(net_, a);
    }
    case PredicateKind::kExists:
      return true;
    case PredicateKind::kAnythingBut:
      for (const auto& e : excluded_)
        if (e->Eval(v)) return false;
      return true;
  }
  return false;
}

}  // namespace weir
