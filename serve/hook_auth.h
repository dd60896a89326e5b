// serve/hook_auth.h: checks the signature of a webhook another system posted
// to `weir serve` (POST /hooks/NAME), by the scheme its `sources:` entry
// names.
//
// Thread safety: reentrant.
#ifndef WEIR_SERVE_HOOK_AUTH_H_
#define WEIR_SERVE_HOOK_AUTH_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "weir/rules.h"

namespace weir::serve {

// "" when the request is signed as `source` says; otherwise why not (for the
// 401 answer: never the secret or the expected signature). Header names in
// lower case.
std::string VerifyHook(const SourceDef& source,
                       const std::vector<std::pair<std::string, std::string>>& headers,
                       std::string_view body, absl::Time now);

}  // namespace weir::serve

#endif  // WEIR_SERVE_HOOK_AUTH_H_
