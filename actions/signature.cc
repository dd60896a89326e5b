// HMAC-SHA256 webhook signatures (see signature.h and docs/delivery.md).
#include "actions/signature.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include <array>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace weir {
namespace {

constexpr std::string_view kWhsecPrefix = "whsec_";
constexpr size_t kMacSize = 32;

struct SchemeName {
  SignatureScheme scheme;
  std::string_view name;
};
constexpr std::array<SchemeName, 6> kSchemes = {{
    {SignatureScheme::kStandard, "standard"},
    {SignatureScheme::kGithub, "github"},
    {SignatureScheme::kUipath, "uipath"},
    {SignatureScheme::kArcgis, "arcgis"},
    {SignatureScheme::kSecretHeader, "secret-header"},
    {SignatureScheme::kNone, "none"},
}};

// This Abseil build has its own string_view type.
absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }
std::string_view Sv(absl::string_view s) { return std::string_view(s.data(), s.size()); }

bool IsBase64Char(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/';
}

std::optional<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2) return std::nullopt;
  std::string out(hex.size() / 2, '\0');
  auto val = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = val(hex[2 * i]), lo = val(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<char>(hi * 16 + lo);
  }
  return out;
}

// Constant-time equality of two MACs (lengths are public).
bool SameMac(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

EVP_MAC* HmacAlgorithm() {
  // Fetched once: a fetch per signature costs a lock and a lookup.
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

}  // namespace

std::optional<SignatureScheme> ParseSignatureScheme(std::string_view name) {
  for (const auto& s : kSchemes)
    if (s.name == name) return s.scheme;
  return std::nullopt;
}

std::string_view SignatureSchemeName(SignatureScheme scheme) {
  for (const auto& s : kSchemes)
    if (s.scheme == scheme) return s.name;
  return "none";
}

std::string_view SignatureSchemeNames() {
  return "standard, github, uipath, arcgis, secret-header, none";
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // A zero-length key still needs a valid pointer.
  static const unsigned char kEmpty = 0;
  const void* k = key.empty() ? static_cast<const void*>(&kEmpty) : key.data();
  HMAC(EVP_sha256(), k, static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  return std::string(reinterpret_cast<char*>(md), len);
}

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(n);
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  // EVP_DecodeBlock is lenient about whitespace and reports '=' padding as
  // output bytes; check the form here and trim what the padding stood for.
  std::string in(text);
  if (in.size() % 4 == 1) return std::nullopt;
  while (in.size() % 4) in.push_back('=');  // unpadded secrets are common
  size_t pad = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '=') {
      if (i + 2 < in.size()) return std::nullopt;  // '=' only in the last two places
      ++pad;
    } else if (pad > 0 || !IsBase64Char(c)) {
      return std::nullopt;
    }
  }
  std::string out(in.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0 || static_cast<size_t>(n) < pad) return std::nullopt;
  out.resize(n - pad);
  return out;
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

absl::StatusOr<std::string> SigningKey(SignatureScheme scheme, std::string_view secret) {
  if (scheme == SignatureScheme::kStandard && absl::StartsWith(Av(secret), Av(kWhsecPrefix))) {
    std::optional<std::string> key = Base64Decode(secret.substr(kWhsecPrefix.size()));
    if (!key || key->empty())
      return absl::InvalidArgumentError("a 'whsec_' secret must be base64 after the prefix");
    return *std::move(key);
  }
  return std::string(secret);
}

struct Signer::Ctx {
  EVP_MAC_CTX* ctx = nullptr;  // initialized with the key; duplicated per signature
  ~Ctx() { EVP_MAC_CTX_free(ctx); }
};

Signer::Signer(SignatureScheme scheme, std::string secret, std::string key)
    : scheme_(scheme), secret_(std::move(secret)), key_(std::move(key)), ctx_(new Ctx) {}

Signer::~Signer() = default;

absl::StatusOr<std::unique_ptr<Signer>> Signer::Create(SignatureScheme scheme,
                                                       std::string_view secret) {
  absl::StatusOr<std::string> key = SigningKey(scheme, secret);
  if (!key.ok()) return key.status();
  std::unique_ptr<Signer> s(new Signer(scheme, std::string(secret), *std::move(key)));
  if (scheme != SignatureScheme::kNone && scheme != SignatureScheme::kSecretHeader &&
      HmacAlgorithm() != nullptr && !s->key_.empty()) {
    s->ctx_->ctx = EVP_MAC_CTX_new(HmacAlgorithm());
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    if (s->ctx_->ctx == nullptr ||
        EVP_MAC_init(s->ctx_->ctx, reinterpret_cast<const unsigned char*>(s->key_.data()),
                     s->key_.size(), params) != 1) {
      EVP_MAC_CTX_free(s->ctx_->ctx);
      s->ctx_->ctx = nullptr;  // Mac() falls back to the one-shot HMAC()
    }
  }
  return s;
}

std::string Signer::Mac(std::string_view data) const {
  if (ctx_->ctx == nullptr) return HmacSha256(key_, data);
  EVP_MAC_CTX* c = EVP_MAC_CTX_dup(ctx_->ctx);
  if (c == nullptr) return HmacSha256(key_, data);
  unsigned char md[EVP_MAX_MD_SIZE];
  size_t len = 0;
  EVP_MAC_update(c, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  EVP_MAC_final(c, md, &len, sizeof md);
  EVP_MAC_CTX_free(c);
  return std::string(reinterpret_cast<char*>(md), len);
}

std::vector<SignatureHeader> Signer::Sign(std::string_view id, int64_t timestamp,
                                          std::string_view body) const {
  switch (scheme_) {
    case SignatureScheme::kStandard:
      return {{"webhook-signature",
               absl::StrCat("v1,", Base64Encode(Mac(absl::StrCat(Av(id), ".", timestamp, ".", Av(body)))))}};
    case SignatureScheme::kGithub:
      return {{"X-Hub-Signature-256", absl::StrCat("sha256=", HexEncode(Mac(body)))}};
    case SignatureScheme::kUipath:
      return {{"X-UiPath-Signature", Base64Encode(Mac(body))}};
    case SignatureScheme::kArcgis:
      return {{"x-esriHook-Signature", absl::StrCat("sha256=", Base64Encode(Mac(body)))}};
    case SignatureScheme::kSecretHeader:
      return {{"secret", secret_}};
    case SignatureScheme::kNone:
      break;
  }
  return {};
}

absl::Status VerifySignature(SignatureScheme scheme, std::string_view secret,
                             const HeaderLookup& headers, std::string_view body, absl::Time now,
                             absl::Duration tolerance) {
  auto missing = [](std::string_view name) {
    return absl::UnauthenticatedError(absl::StrCat("missing ", Av(name), " header"));
  };
  auto wrong = [](std::string_view name) {
    return absl::UnauthenticatedError(absl::StrCat(Av(name), " does not match"));
  };
  if (scheme == SignatureScheme::kNone) return absl::OkStatus();
  if (scheme == SignatureScheme::kSecretHeader) {
    std::optional<std::string_view> got = headers("secret");
    if (!got) return missing("secret");
    if (!SameMac(*got, secret)) return wrong("secret header");
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> key = SigningKey(scheme, secret);
  if (!key.ok()) return absl::UnauthenticatedError(key.status().message());
  switch (scheme) {
    case SignatureScheme::kStandard: {
      std::optional<std::string_view> id = headers("webhook-id");
      std::optional<std::string_view> ts = headers("webhook-timestamp");
      std::optional<std::string_view> sig = headers("webhook-signature");
      if (!id) return missing("webhook-id");
      if (!ts) return missing("webhook-timestamp");
      if (!sig) return missing("webhook-signature");
      int64_t seconds = 0;
      if (!absl::SimpleAtoi(Av(*ts), &seconds))
        return absl::UnauthenticatedError("webhook-timestamp is not a number");
      if (absl::AbsDuration(now - absl::FromUnixSeconds(seconds)) > tolerance)
        return absl::UnauthenticatedError(
            absl::StrCat("webhook-timestamp is more than ", absl::FormatDuration(tolerance),
                         " away from now"));
      std::string want = HmacSha256(*key, absl::StrCat(Av(*id), ".", Av(*ts), ".", Av(body)));
      for (absl::string_view entry : absl::StrSplit(Av(*sig), ' ', absl::SkipEmpty())) {
        size_t comma = entry.find(',');
        if (comma == std::string_view::npos || entry.substr(0, comma) != "v1") continue;
        std::optional<std::string> got = Base64Decode(Sv(entry.substr(comma + 1)));
        if (got && SameMac(*got, want)) return absl::OkStatus();
      }
      return wrong("webhook-signature");
    }
    case SignatureScheme::kGithub: {
      std::optional<std::string_view> sig = headers("X-Hub-Signature-256");
      if (!sig) return missing("X-Hub-Signature-256");
      if (!absl::StartsWith(Av(*sig), "sha256=")) return wrong("X-Hub-Signature-256");
      std::optional<std::string> got = HexDecode(sig->substr(7));
      if (!got || !SameMac(*got, HmacSha256(*key, body))) return wrong("X-Hub-Signature-256");
      return absl::OkStatus();
    }
    case SignatureScheme::kUipath: {
      std::optional<std::string_view> sig = headers("X-UiPath-Signature");
      if (!sig) return missing("X-UiPath-Signature");
      std::optional<std::string> got = Base64Decode(Sv(absl::StripAsciiWhitespace(Av(*sig))));
      if (!got || !SameMac(*got, HmacSha256(*key, body))) return wrong("X-UiPath-Signature");
      return absl::OkStatus();
    }
    case SignatureScheme::kArcgis: {
      std::optional<std::string_view> sig = headers("x-esriHook-Signature");
      if (!sig) return missing("x-esriHook-Signature");
      if (!absl::StartsWith(Av(*sig), "sha256=")) return wrong("x-esriHook-Signature");
      std::optional<std::string> got = Base64Decode(sig->substr(7));
      if (!got || !SameMac(*got, HmacSha256(*key, body))) return wrong("x-esriHook-Signature");
      return absl::OkStatus();
    }
    default:
      break;
  }
  return absl::OkStatus();
}

}  // namespace weir
