// weir/rule_def.h: rules and actions as plain values, the form the rule-file
// reader (weir/rules.h) produces and the engine (weir/engine.h) compiles, so
// that the engine does not depend on the reader.
//
// Thread safety: plain value types; const access from many threads is safe.
#ifndef WEIR_RULE_DEF_H_
#define WEIR_RULE_DEF_H_

#include <map>
#include <string>
#include <string_view>
#include <utility>
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

}  // namespace weir

#endif  // WEIR_RULE_DEF_H_
