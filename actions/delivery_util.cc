// Delivery ids and the retry schedule (weir/actions.h).
#include <openssl/evp.h>

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "weir/actions.h"

namespace weir {
namespace {

void Field(EVP_MD_CTX* ctx, std::string_view s) {
  uint64_t n = s.size();
  EVP_DigestUpdate(ctx, &n, sizeof n);  // length-prefixed: fields cannot run together
  EVP_DigestUpdate(ctx, s.data(), s.size());
}

}  // namespace

std::string DeliveryId(std::string_view input, const EventPosition& position,
                       std::string_view event, std::string_view rule_id,
                       std::string_view action) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  Field(ctx, input);
  uint64_t pos[3] = {position.line, position.offset, position.sequence};
  EVP_DigestUpdate(ctx, pos, sizeof pos);
  Field(ctx, event);
  Field(ctx, rule_id);
  Field(ctx, action);
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  static const char kHex[] = "0123456789abcdef";
  std::string id = "msg_";
  for (int i = 0; i < 16; ++i) {
    id.push_back(kHex[md[i] >> 4]);
    id.push_back(kHex[md[i] & 15]);
  }
  return id;
}

absl::Duration RetryDelay(const RetryPolicy& policy, int next_attempt,
                          std::optional<absl::Duration> retry_after) {
  absl::Duration cap = std::max(policy.max_backoff, absl::Milliseconds(1));
  if (retry_after) return std::clamp(*retry_after, absl::ZeroDuration(), cap);
  // backoff * 2^(retries so far - 1), the upper half jittered: retries of
  // many deliveries that failed together spread out instead of returning in
  // one wave.
  int shift = std::clamp(next_attempt - 2, 0, 40);
  absl::Duration base = policy.backoff;
  for (int i = 0; i < shift && base < cap; ++i) base *= 2;
  base = std::min(base, cap);
  thread_local std::minstd_rand rng(std::random_device{}());
  double jitter = std::uniform_real_distribution<double>(0.5, 1.0)(rng);
  return base * jitter;
}

}  // namespace weir
