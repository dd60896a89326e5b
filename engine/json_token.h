// A number's text as written, from simdjson On-Demand (internal).
#ifndef WEIR_ENGINE_JSON_TOKEN_H_
#define WEIR_ENGINE_JSON_TOKEN_H_

#include <string_view>

#include "simdjson.h"

namespace weir {

// raw_json_token() runs to the next structural character, so it may carry
// trailing whitespace; a valid number spans all of what remains.
inline std::string_view NumberText(simdjson::ondemand::value& v) {
  std::string_view raw = v.raw_json_token();
  while (!raw.empty() &&
         (raw.back() == ' ' || raw.back() == '\t' || raw.back() == '\n' || raw.back() == '\r'))
    raw.remove_suffix(1);
  return raw;
}

}  // namespace weir

#endif  // WEIR_ENGINE_JSON_TOKEN_H_
