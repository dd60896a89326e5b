// weir/rules.h: rule files (YAML or JSON) and their dialect front ends.
//
// Thread safety: LoadRuleFiles and ParseRules are reentrant (no shared state);
// the returned values are plain data.
//
// A rule file holds `rules:` (each with one dialect: `filter`, `events` or
// `pattern`) and an `actions:` map; see docs/rules.md. Every mistake becomes
// a Diagnostic with file:line:column and the rule id; all are collected.
#ifndef WEIR_RULES_H_
#define WEIR_RULES_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weir/condition.h"
#include "weir/diagnostic.h"

namespace weir {

// A generic settings tree (an action's settings as written in the file, with
// ${VAR} expanded).
struct ConfigValue {
  enum class Kind { kNull, kScalar, kList, kMap };
  Kind kind = Kind::kNull;
  std::string scalar;
  std::vector<ConfigValue> list;
  std::vector<std::pair<std::string, ConfigValue>> map;  // in file order
  SourceLocation where;

  // Declared so clang (C++20, libstdc++ 12) does not instantiate
  // std::pair<std::string, ConfigValue> while ConfigValue is incomplete.
  ConfigValue() = default;
  const ConfigValue* Find(std::string_view key) const;
};

struct ActionDef {
  std::string name;   // map key, or "<rule-id>#<n>" for inline actions
  std::string type;   // stdout | file | exec | webhook
  ConfigValue settings;
  SourceLocation where;
};

struct RuleDef {
  std::string id;
  std::string description;
  bool enabled = true;
  std::string dialect;  // filter | events | pattern
  Condition condition;
  std::vector<std::string> actions;  // names of ActionDefs
  SourceLocation where;
};

struct RuleSetDef {
  std::vector<RuleDef> rules;              // in file order, files in the order given
  std::map<std::string, ActionDef> actions;  // by name, including inline ones
};

struct LoadOptions {
  // Looks up ${NAME} in action settings; defaults to getenv.
  std::function<std::optional<std::string>(const std::string&)> env;
  // False: ${NAME} references in action settings are checked but kept as
  // written, not expanded (weir compile, which must not store secrets).
  bool expand_env = true;
  // Limits, reported as diagnostics when exceeded.
  size_t max_rules = 1'000'000;
  size_t max_conjunctions_per_rule = 1024;  // after expanding $or
  size_t max_wildcard_stars = 32;
  size_t max_pattern_bytes = 4096;
};

struct LoadResult {
  RuleSetDef ruleset;
  std::vector<Diagnostic> diagnostics;
  bool ok() const { return diagnostics.empty(); }
};

// Reads and lowers the given files (YAML or JSON, detected by content).
// Rule ids must be unique across all files.
LoadResult LoadRuleFiles(const std::vector<std::string>& paths, const LoadOptions& options = {});

// Same, for text already in memory; `name` is used in diagnostics.
struct RuleText {
  std::string name;
  std::string text;
};
LoadResult ParseRules(const std::vector<RuleText>& files, const LoadOptions& options = {});

}  // namespace weir

#endif  // WEIR_RULES_H_
