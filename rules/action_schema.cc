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
  static const std::map<std::string, std::set<std::string>> kKeys = {
      {"stdout", {}},
      {"file", {"path"}},
      {"exec", {"command", "timeout"}},
      {"webhook",
       {"url", "secret", "signature", "body", "headers", "timeout", "retry", "rate", "tls",
        "config"}},
  };
  if (!n.IsMap() || n.size() != 1) {
    d.Error(n, "an action is a map with one executor: stdout, file, exec or webhook");
    return false;
  }
  auto kv = *n.begin();
  std::string type = kv.first.Scalar();
  auto it = kKeys.find(type);
  if (it == kKeys.end()) {
    d.Error(kv.first, absl::StrCat("unknown executor '", type,
                                   "' (expected stdout, file, exec or webhook)"));
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
  if (s.IsMap()) CheckKeys(s, it->second, absl::StrCat("'", type, "' settings").c_str(), d);
  ReadConfig(s, d, &def->settings);
  auto require = [&](const char* key) {
    if (!s.IsMap() || !s[key]) d.Error(n, absl::StrCat("'", type, "' needs '", key, "'"));
  };
  if (type == "file") require("path");
  if (type == "exec") require("command");
  if (type == "webhook") {
    require("url");
    CheckWebhook(s, d);
  }
  return d.count() == before;
}

void ActionSchema::CheckWebhook(const RNode& s, DiagSink& d) {
  if (!s.IsMap()) return;
  if (auto v = s["signature"]) {
    static const std::set<std::string> kinds = {"standard", "github",        "uipath",
                                                "arcgis",   "secret-header", "none"};
    if (!v.IsScalar() || !kinds.count(v.Scalar()))
      d.Error(v, absl::StrCat("unknown signature scheme (expected one of: ",
                              absl::StrJoin(kinds, ", "), ")"));
  }
  if (auto v = s["body"];
      v && !(v.IsScalar() && (v.Scalar() == "event" || v.Scalar() == "envelope")))
    d.Error(v, "'body' must be event or envelope");
  if (auto v = s["retry"]) {
    if (v.IsMap()) CheckKeys(v, {"attempts", "backoff", "max_backoff"}, "retry", d);
    else d.Error(v, "'retry' must be a map");
  }
  if (auto v = s["tls"]) {
    if (v.IsMap()) CheckKeys(v, {"ca_file"}, "tls", d);
    else d.Error(v, "'tls' must be a map");
  }
  if (auto v = s["headers"]; v && !v.IsMap()) d.Error(v, "'headers' must be a map");
  if (auto v = s["config"]) {
    if (!v.IsMap()) {
      d.Error(v, "'config' must be a map");
    } else if (CheckKeys(v, {"deactivationPolicy"}, "config", d)) {
      if (auto p = v["deactivationPolicy"]) {
        if (p.IsMap()) {
          CheckKeys(p, {"numberOfFailures", "daysInPast"}, "deactivationPolicy", d);
          for (const char* k : {"numberOfFailures", "daysInPast"}) {
            auto x = p[k];
            if (x && !(x.IsScalar() && KindOf(x) == ScalarKind::kNumber))
              d.Error(x, absl::StrCat("'", k, "' must be a number"));
          }
        } else {
          d.Error(p, "'deactivationPolicy' must be a map");
        }
      }
    }
  }
}

}  // namespace weir
