// Compiled rule files: a header (magic, version, length, checksum), the
// actions with their ${NAME} references as written, and RuleSet::Serialize's
// bytes.
#include "weir/compiled_rules.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "engine/wire.h"
#include "rules/env.h"

namespace weir {
namespace {

// Not text (so never taken for YAML or JSON); \r\n and \x1a show a file
// damaged by newline conversion, as in PNG's signature.
constexpr std::string_view kMagic("\x89WEIR\r\n\x1a", 8);
constexpr uint32_t kVersion = 3;  // 2: number ranges as a segment tree; 3: rules kept encoded
constexpr size_t kHeaderBytes = 8 + 4 + 4 + 8 + 8;
constexpr int kMaxConfigDepth = 512;

void PutWhere(wire::Writer& w, const SourceLocation& where) {
  w.Str(where.file);
  w.U32(static_cast<uint32_t>(where.line));
  w.U32(static_cast<uint32_t>(where.column));
}

void GetWhere(wire::Reader& r, SourceLocation* where) {
  r.Str(&where->file);
  where->line = static_cast<int>(r.U32());
  where->column = static_cast<int>(r.U32());
}

void PutConfig(wire::Writer& w, const ConfigValue& v) {
  w.U8(static_cast<uint8_t>(v.kind));
  PutWhere(w, v.where);
  switch (v.kind) {
    case ConfigValue::Kind::kNull:
      break;
    case ConfigValue::Kind::kScalar:
      w.Str(v.scalar);
      break;
    case ConfigValue::Kind::kList:
      w.U32(static_cast<uint32_t>(v.list.size()));
      for (const ConfigValue& e : v.list) PutConfig(w, e);
      break;
    case ConfigValue::Kind::kMap:
      w.U32(static_cast<uint32_t>(v.map.size()));
      for (const auto& [k, e] : v.map) {
        w.Str(k);
        PutConfig(w, e);
      }
      break;
  }
}

// Reads a settings tree, expanding ${NAME} in its scalars.
bool GetConfig(wire::Reader& r, const EnvLookup& env, int depth, ConfigValue* v,
               std::vector<Diagnostic>* diags) {
  if (depth > kMaxConfigDepth) return false;
  uint8_t kind = r.U8();
  GetWhere(r, &v->where);
  switch (kind) {
    case static_cast<uint8_t>(ConfigValue::Kind::kNull):
      v->kind = ConfigValue::Kind::kNull;
      break;
    case static_cast<uint8_t>(ConfigValue::Kind::kScalar): {
      v->kind = ConfigValue::Kind::kScalar;
      std::vector<std::string> errors;
      ExpandEnv(r.StrView(), &env, &v->scalar, &errors);
      for (std::string& e : errors) diags->push_back({v->where, "", std::move(e)});
      break;
    }
    case static_cast<uint8_t>(ConfigValue::Kind::kList):
      v->kind = ConfigValue::Kind::kList;
      v->list.resize(r.Count(16));
      for (ConfigValue& e : v->list)
        if (!GetConfig(r, env, depth + 1, &e, diags)) return false;
      break;
    case static_cast<uint8_t>(ConfigValue::Kind::kMap):
      v->kind = ConfigValue::Kind::kMap;
      v->map.resize(r.Count(20));
      for (auto& [k, e] : v->map) {
        r.Str(&k);
        if (!GetConfig(r, env, depth + 1, &e, diags)) return false;
      }
      break;
    default:
      return false;
  }
  return r.ok();
}

absl::Status Refused(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("not a usable compiled rule file: ", why));
}

}  // namespace

bool IsCompiledRuleFile(std::string_view head) { return head.substr(0, kMagic.size()) == kMagic; }

absl::StatusOr<std::string> WriteCompiledRules(const RuleSet& rules,
                                               const std::map<std::string, ActionDef>& actions) {
  std::string body;
  wire::Writer w(&body);
  w.U32(static_cast<uint32_t>(actions.size()));
  for (const auto& [name, a] : actions) {
    w.Str(name);
    w.Str(a.type);
    PutConfig(w, a.settings);
    PutWhere(w, a.where);
  }
  if (absl::Status s = rules.Serialize(&body); !s.ok()) return s;
  std::string out;
  out.reserve(kHeaderBytes + body.size());
  out.append(kMagic);
  wire::Writer h(&out);
  h.U32(kVersion);
  h.U32(0);  // flags, none yet
  h.U64(body.size());
  h.U64(wire::Checksum(body));
  out += body;
  return out;
}

absl::StatusOr<CompiledRuleFile> ReadCompiledRules(std::string_view bytes,
                                                   const LoadOptions& options,
                                                   const CompileOptions& compile) {
  if (!IsCompiledRuleFile(bytes)) return Refused("it does not start with weir's signature");
  if (bytes.size() < kHeaderBytes) return Refused("it is truncated");
  wire::Reader h(bytes.substr(kMagic.size(), kHeaderBytes - kMagic.size()));
  uint32_t version = h.U32();
  uint32_t flags = h.U32();
  uint64_t length = h.U64();
  uint64_t checksum = h.U64();
  if (version != kVersion || flags != 0)
    return Refused(absl::StrCat("it is of version ", version, "; this weir reads version ",
                                kVersion, " (compile the rule files again)"));
  std::string_view body = bytes.substr(kHeaderBytes);
  if (length != body.size())
    return Refused(absl::StrCat("it holds ", body.size(), " bytes after the header, not ", length,
                                " (truncated or damaged)"));
  if (wire::Checksum(body) != checksum) return Refused("its checksum does not match (damaged)");

  EnvLookup env = options.env;
  if (!env) {
    env = [](const std::string& name) -> std::optional<std::string> {
      const char* v = std::getenv(name.c_str());
      if (!v) return std::nullopt;
      return std::string(v);
    };
  }
  CompiledRuleFile out;
  wire::Reader r(body);
  uint32_t nactions = r.Count(24);
  for (uint32_t i = 0; i < nactions && r.ok(); ++i) {
    ActionDef a;
    r.Str(&a.name);
    r.Str(&a.type);
    const size_t diags_before = out.diagnostics.size();
    if (!GetConfig(r, env, 0, &a.settings, &out.diagnostics)) return Refused("damaged actions");
    GetWhere(r, &a.where);
    // Named as on loading: the action, and the rule of an inline one
    // ("<rule-id>#<n>").
    for (size_t k = diags_before; k < out.diagnostics.size(); ++k) {
      Diagnostic& d = out.diagnostics[k];
      d.message.insert(0, absl::StrCat("action '", a.name, "': "));
      if (size_t hash = a.name.rfind('#'); hash != std::string::npos)
        d.rule_id = a.name.substr(0, hash);
    }
    std::string name = a.name;
    out.actions.emplace(std::move(name), std::move(a));
  }
  if (!r.ok()) return Refused("damaged actions");
  // What is left is the rule set (Serialize's bytes).
  auto rules = RuleSet::Deserialize(r.Rest(), compile);
  if (!rules.ok()) return rules.status();
  out.rules = *std::move(rules);
  return out;
}

}  // namespace weir
