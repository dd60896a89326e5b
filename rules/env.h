// ${NAME} and ${NAME:-default} in action settings.
#ifndef WEIR_RULES_ENV_H_
#define WEIR_RULES_ENV_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace weir {

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// Writes `in` to *out with every reference replaced by the variable's value
// from `env` (or its default), and each $${ by a literal ${. With a null `env` the references are only
// checked and kept as written (compiled rule files store them so, not the
// secrets they name). Each mistake appends a message to *errors; values
// are never part of one, they may be secrets. False if there was one.
bool ExpandEnv(std::string_view in, const EnvLookup* env, std::string* out,
               std::vector<std::string>* errors);

}  // namespace weir

#endif  // WEIR_RULES_ENV_H_
