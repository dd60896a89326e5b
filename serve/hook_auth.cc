#include "serve/hook_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace weir::serve {
namespace {

std::string HmacSha256(absl::string_view key, absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &n);
  return std::string(reinterpret_cast<char*>(out), n);
}

bool Same(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

const std::string* Find(const std::vector<std::pair<std::string, std::string>>& headers,
                        std::string_view name) {
  for (const auto& [k, v] : headers)
    if (k == name) return &v;
  return nullptr;
}

}  // namespace

std::string VerifyHook(const SourceDef& source,
                       const std::vector<std::pair<std::string, std::string>>& headers,
                       std::string_view body, absl::Time now) {
  const std::string& scheme = source.signature;
  if (scheme == "none") return "";
  auto header = [&](std::string_view name) { return Find(headers, name); };
  if (scheme == "secret-header") {
    const std::string* h = header("secret");
    if (!h) return "missing 'secret' header";
    return Same(*h, source.secret) ? "" : "wrong secret";
  }
  if (scheme == "github") {
    const std::string* h = header("x-hub-signature-256");
    absl::string_view v = h ? absl::string_view(*h) : "";
    if (!h || !absl::ConsumePrefix(&v, "sha256=")) return "missing X-Hub-Signature-256";
    std::string want = absl::BytesToHexString(HmacSha256(source.secret, absl::string_view(body.data(), body.size())));
    return Same(absl::AsciiStrToLower(v), want) ? "" : "wrong signature";
  }
  if (scheme == "uipath") {
    const std::string* h = header("x-uipath-signature");
    if (!h) return "missing X-UiPath-Signature";
    std::string want = absl::Base64Escape(HmacSha256(source.secret, absl::string_view(body.data(), body.size())));
    return Same(absl::StripAsciiWhitespace(*h), want) ? "" : "wrong signature";
  }
  if (scheme == "arcgis") {
    const std::string* h = header("x-esrihook-signature");
    absl::string_view v = h ? absl::string_view(*h) : "";
    if (!h || !absl::ConsumePrefix(&v, "sha256=")) return "missing x-esriHook-Signature";
    std::string want = absl::Base64Escape(HmacSha256(source.secret, absl::string_view(body.data(), body.size())));
    return Same(v, want) ? "" : "wrong signature";
  }
  if (scheme == "standard") {
    const std::string *id = header("webhook-id"), *ts = header("webhook-timestamp"),
                      *sig = header("webhook-signature");
    if (!id || !ts || !sig) return "missing webhook-id, webhook-timestamp or webhook-signature";
    int64_t t = 0;
    if (!absl::SimpleAtoi(*ts, &t)) return "webhook-timestamp is not a number";
    int64_t skew = absl::ToUnixSeconds(now) - t;
    if (std::llabs(skew) > source.tolerance_seconds)
      return "webhook-timestamp is too far from now (replay?)";
    // A whsec_ secret is base64; any other is used as its bytes.
    std::string key = source.secret;
    absl::string_view s = source.secret;
    if (absl::ConsumePrefix(&s, "whsec_") && !absl::Base64Unescape(s, &key))
      return "the source's secret is not valid whsec_ base64";
    std::string want =
        absl::Base64Escape(HmacSha256(key, absl::StrCat(*id, ".", *ts, ".", absl::string_view(body.data(), body.size()))));
    bool ok = false;
    for (absl::string_view one : absl::StrSplit(*sig, ' ', absl::SkipEmpty())) {
      if (absl::ConsumePrefix(&one, "v1,")) ok |= Same(one, want);
    }
    return ok ? "" : "wrong signature";
  }
  return absl::StrCat("unknown signature scheme '", scheme, "'");
}

}  // namespace weir::serve
