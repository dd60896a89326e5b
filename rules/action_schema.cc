// The action schema: executors, their settings and ${NAME} expansion.
#include "rules/action_schema.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "rules/env.h"
#include "rules/schema.h"

namespace weir {

// Expands ${NAME} and ${NAME:-default} (or only checks them, when the
// references are to be kept).
bool ActionSchema::Expand(const RNode& at, const std::string& in, DiagSink& d,
                          std::string* out) {
  errors_.clear();
  bool ok = ExpandEnv(in, opts_.expand_env ? &opts_.env : nullptr, out, &errors_);
  for (const std::string& e : errors_) d.Error(at, e);
  return ok;
}

bool ActionSchema::ReadConfig(const RNode& n, DiagSink& d, ConfigValue* out) {
  out->where = d.Where(n);
  if (n.IsNull()) {
    out->kind = ConfigValue::Kind::kNull;
    return true;
  }
  if (n.IsScalar()) {
    out->kind = ConfigValue::Kind::kScalar;
    return Expand(n, n.Scalar(), d, &out->scalar);
  }
  bool ok = true;
  if (n.IsSequence()) {
    out->kind = ConfigValue::Kind::kList;
    for (const auto& e : n) {
      out->list.emplace_back();
      ok &= ReadConfig(e, d, &out->list.back());
    }
    return ok;
  }
  out->kind = ConfigValue::Kind::kMap;
  for (const auto& kv : n) {
    out->map.emplace_back(kv.first.Scalar(), ConfigValue{});
    ok &= ReadConfig(kv.second, d, &out->map.back().second);
  }
  return ok;
}

bool ActionSchema::Read(const RNode& n, const std::string& name, DiagSink& rule_sink,
                        ActionDef* def) {
  // Every message names the action: top-level ones are outside any rule.
  const std::string prefix = absl::StrCat("action '", name, "': ");
  DiagSink d(rule_sink, prefix);
  if (!n.IsMap() || n.size() != 1) {
    d.Error(n, "an action is a map with one executor: stdout, file, exec or webhook");
    return false;
  }
  auto kv = *n.begin();
  std::string type = kv.first.Scalar();
  // Which executors exist, and what their settings mean, is the executors'
  // business (weir::actions checks them with their positions): an embedding
  // program may register executors of its own.
  bool name_ok = !type.empty() && type.size() <= 64;
  for (char c : type)
    name_ok &= (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  if (!name_ok) {
    d.Error(kv.first, absl::StrCat("'", type, "' is not an executor name (such as stdout, file, exec or webhook)"));
    return false;
  }
  def->name = name;
  def->type = type;
  def->where = d.Where(n);
  const RNode& s = kv.second;
  size_t before = d.count();
  if (!s.IsNull() && !s.IsMap()) {
    d.Error(s, absl::StrCat("the settings of '", type, "' must be a map"));
    return false;
  }
  ReadConfig(s, d, &def->settings);
  return d.count() == before;
}


}  // namespace weir
