// The action schema: an action's executor and its settings, with ${NAME}
// expanded (or checked) in the settings.
#ifndef WEIR_RULES_ACTION_SCHEMA_H_
#define WEIR_RULES_ACTION_SCHEMA_H_

#include <string>
#include <vector>

#include "rules/frontend.h"
#include "weir/rule_def.h"
#include "weir/rules.h"

namespace weir {

class ActionSchema {
 public:
  // Keeps a reference to `options` (its env is set).
  explicit ActionSchema(const LoadOptions& options) : opts_(options) {}

  // Reads the action `name` from `n` ({executor: settings}) into *def.
  // False after reporting to `d` when it is wrong; each message starts
  // "action 'NAME': ".
  bool Read(const RNode& n, const std::string& name, DiagSink& d, ActionDef* def);

  // ${NAME} in `in` expanded (as in action settings), reported at `at`.
  bool Expand(const RNode& at, const std::string& in, DiagSink& d, std::string* out);

 private:
  bool ReadConfig(const RNode& n, DiagSink& d, ConfigValue* out);

  const LoadOptions& opts_;
  std::vector<std::string> errors_;  // scratch for Expand
};

}  // namespace weir

#endif  // WEIR_RULES_ACTION_SCHEMA_H_
