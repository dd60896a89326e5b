// Rule loading shared by the commands: rule files (YAML or JSON) compiled,
// or one compiled rule file read; diagnostics printed.
#ifndef WEIR_BINDINGS_CLI_LOAD_H_
#define WEIR_BINDINGS_CLI_LOAD_H_

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "weir/engine.h"
#include "weir/rules.h"

namespace weir::cli {

struct LoadedRules {
  std::shared_ptr<const RuleSet> rules;
  std::map<std::string, ActionDef> actions;
  bool from_compiled_file = false;
  double load_ms = 0, compile_ms = 0;
  long rss_loaded_kb = 0;
};

// Loads rule files (YAML or JSON) and compiles them, or reads one compiled
// rule file (weir compile). Prints diagnostics; false on failure.
bool LoadRules(const std::vector<std::string>& files, FILE* err, LoadedRules* out,
               const LoadOptions& options = {});

}  // namespace weir::cli

#endif  // WEIR_BINDINGS_CLI_LOAD_H_
