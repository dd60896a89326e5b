// Delivery ids and the retry schedule (weir/actions.h).
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "weir/actions.h"

namespace weir {
namespace {

// Fields go in length-prefixed (8 bytes, little-endian) so that two different
// inputs can never run together into the same bytes.
void Uint(EVP_MD_CTX* ctx, uint64_t v) {
  unsigned char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
  EVP_DigestUpdate(ctx, b, sizeof b);
}

void Field(EVP_MD_CTX* ctx, std::string_view s) {
  Uint(ctx, s.size());
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
  Uint(ctx, position.line);
  Uint(ctx, position.offset);
  Uint(ctx, position.sequence);
  Field(ctx, event);
  Field(ctx, rule_id);
  Field(ctx, action);
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "msg_";
  for (int i = 0; i < 16; ++i) {  // 128 bits: 32 hex characters
    id.push_back(kHex[md[i] >> 4]);
    id.push_back(kHex[md[i] & 15]);
  }
  return id;
}

absl::Duration RetryDelay(const RetryPolicy& policy, int next_attempt,
                          std::optional<absl::Duration> retry_after) {
  absl::Duration cap = std::max(policy.max_backoff, absl::Milliseconds(1));
  if (retry_after) return std::clamp(*retry_after, absl::ZeroDuration(), cap);
  // backoff * 2^(retries so far - 1), jittered in its upper half: deliveries
  // that failed together spread out instead of coming back in one wave.
  int shift = std::clamp(next_attempt - 2, 0, 40);
  absl::Duration base = std::max(policy.backoff, absl::ZeroDuration());
  for (int i = 0; i < shift && base < cap; ++i) base *= 2;
  base = std::min(base, cap);
  thread_local std::minstd_rand rng(std::random_device{}());
  double jitter = std::uniform_real_distribution<double>(0.5, 1.0)(rng);
  return base * jitter;
}

}  // namespace weir
