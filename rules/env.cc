#include "rules/env.h"

#include "absl/strings/str_cat.h"

namespace weir {
namespace {

// [A-Za-z_][A-Za-z0-9_]*
bool ValidVarName(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

bool ExpandEnv(std::string_view in, const EnvLookup* env, std::string* out,
               std::vector<std::string>* errors) {
  out->clear();
  bool ok = true;
  for (size_t i = 0; i < in.size();) {
    // $${ is a literal ${. Kept as written when the references are kept, so
    // that expanding later still sees it as one.
    if (in.substr(i, 3) == "$${") {
      out->append(env ? "${" : "$${");
      i += 3;
      continue;
    }
    if (in[i] != '$' || i + 1 == in.size() || in[i + 1] != '{') {
      out->push_back(in[i++]);
      continue;
    }
    size_t close = in.find('}', i + 2);
    if (close == std::string_view::npos) {
      errors->push_back("unterminated ${ in action setting (write $${ for a literal ${)");
      return false;
    }
    std::string_view body = in.substr(i + 2, close - i - 2), name = body, def;
    bool has_def = false;
    if (size_t p = body.find(":-"); p != std::string_view::npos) {
      name = body.substr(0, p);
      def = body.substr(p + 2);
      has_def = true;
    }
    std::optional<std::string> value;
    if (!ValidVarName(name)) {
      errors->push_back(absl::StrCat("bad variable name '", absl::string_view(name.data(), name.size()),
                                     "' in ${...}"));
      ok = false;
    } else if (!env) {
      out->append(in.substr(i, close + 1 - i));
    } else if ((value = (*env)(std::string(name)))) {
      *out += *value;
    } else if (has_def) {
      out->append(def);
    } else {
      absl::string_view n(name.data(), name.size());
      errors->push_back(absl::StrCat("environment variable ", n,
                                     " is not set (give a default with ${", n, ":-value})"));
      ok = false;
    }
    i = close + 1;
  }
  return ok;
}

}  // namespace weir
