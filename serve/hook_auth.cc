#include "serve/hook_auth.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "actions/signature.h"

namespace weir::serve {

std::string VerifyHook(const SourceDef& source,
                       const std::vector<std::pair<std::string, std::string>>& headers,
                       std::string_view body, absl::Time now) {
  std::optional<SignatureScheme> scheme = ParseSignatureScheme(source.signature);
  if (!scheme) return "the source's signature scheme is unknown";
  HeaderLookup lookup = [&](std::string_view name) -> std::optional<std::string_view> {
    std::string lower = absl::AsciiStrToLower(std::string(name));
    for (const auto& [k, v] : headers)
      if (k == lower) return std::string_view(v);
    return std::nullopt;
  };
  absl::Status st = VerifySignature(*scheme, source.secret, lookup, body, now,
                                    absl::Seconds(source.tolerance_seconds));
  return st.ok() ? "" : std::string(st.message());
}

}  // namespace weir::serve
