// actions/signature.h (private): HMAC-SHA256 webhook signatures, signing and
// verifying, in the header formats of the systems weir talks to.
//
// Thread safety: the free functions are reentrant; a Signer is immutable
// after construction and may be shared by threads.
#ifndef WEIR_ACTIONS_SIGNATURE_H_
#define WEIR_ACTIONS_SIGNATURE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace weir {

enum class SignatureScheme {
  kStandard,      // Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature
  kGithub,        // X-Hub-Signature-256: sha256=<hex>
  kUipath,        // X-UiPath-Signature: <base64>
  kArcgis,        // x-esriHook-Signature: sha256=<base64>
  kSecretHeader,  // secret: <the secret as is>
  kNone,
};

// "standard", "github", "uipath", "arcgis", "secret-header", "none".
std::optional<SignatureScheme> ParseSignatureScheme(std::string_view name);
std::string_view SignatureSchemeName(SignatureScheme scheme);
// The names in the order above, comma-separated (for diagnostics).
std::string_view SignatureSchemeNames();

// Raw 32-byte HMAC-SHA256.
std::string HmacSha256(std::string_view key, std::string_view data);
std::string Base64Encode(std::string_view bytes);
// Standard base64 with '=' padding; nullopt when `text` is not that.
std::optional<std::string> Base64Decode(std::string_view text);
std::string HexEncode(std::string_view bytes);  // lower case

// The HMAC key a secret stands for under `scheme`. Standard Webhooks: a
// `whsec_` secret's key is the base64 after the prefix (an error when that is
// not base64); a secret without the prefix is used as its raw bytes. Other
// schemes use the secret's bytes. The error never quotes the secret.
absl::StatusOr<std::string> SigningKey(SignatureScheme scheme, std::string_view secret);

struct SignatureHeader {
  std::string name;
  std::string value;
};

// Signs bodies for one (scheme, secret); the key is decoded and the HMAC set
// up once.
class Signer {
 public:
  static absl::StatusOr<std::unique_ptr<Signer>> Create(SignatureScheme scheme,
                                                        std::string_view secret);
  ~Signer();
  Signer(const Signer&) = delete;
  Signer& operator=(const Signer&) = delete;

  SignatureScheme scheme() const { return scheme_; }
  // The headers that carry the signature of `body` (none for `none`). `id`
  // and `timestamp` (Unix seconds) are signed by the standard scheme only;
  // the caller sends them as webhook-id and webhook-timestamp.
  std::vector<SignatureHeader> Sign(std::string_view id, int64_t timestamp,
                                    std::string_view body) const;
  std::string Mac(std::string_view data) const;  // raw HMAC-SHA256 with this key

 private:
  struct Ctx;
  Signer(SignatureScheme scheme, std::string secret, std::string key);
  SignatureScheme scheme_;
  std::string secret_;  // secret-header sends it as is
  std::string key_;
  std::unique_ptr<Ctx> ctx_;
};

// Looks a request header up by name, case-insensitively; nullopt if absent.
using HeaderLookup = std::function<std::optional<std::string_view>(std::string_view name)>;

// Checks an incoming request signed under `scheme` with `secret`. OK, or
// Unauthenticated with a reason that never quotes the secret. Standard
// Webhooks: `webhook-signature` may hold several space-separated `v1,<sig>`
// entries (one matching is enough) and a `webhook-timestamp` further than
// `tolerance` from `now` is refused (replay). Comparisons take constant time.
absl::Status VerifySignature(SignatureScheme scheme, std::string_view secret,
                             const HeaderLookup& headers, std::string_view body, absl::Time now,
                             absl::Duration tolerance = absl::Minutes(5));

}  // namespace weir

#endif  // WEIR_ACTIONS_SIGNATURE_H_
