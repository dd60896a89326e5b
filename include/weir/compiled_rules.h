// weir/compiled_rules.h: compiled rule files (`weir compile`), which start a
// large rule set in a fraction of the time that reading and compiling its
// rule files takes.
//
// Thread safety: reentrant functions over plain values; the RuleSet they
// give is immutable (see weir/engine.h).
//
// A compiled rule file holds a RuleSet (RuleSet::Serialize) and the actions
// of the rule files it came from, with their ${NAME} references as written:
// secrets are not stored, and are looked up when the file is read. The
// format is weir's own, for the machine that wrote it; it carries a version
// and a checksum, and damaged or foreign files are refused with a clear
// error. Keep the rule files: they are the source.
#ifndef WEIR_COMPILED_RULES_H_
#define WEIR_COMPILED_RULES_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "weir/engine.h"
#include "weir/rules.h"

namespace weir {

// Whether a file's first bytes are those of a compiled rule file.
bool IsCompiledRuleFile(std::string_view head);

// The bytes of a compiled rule file. Load the rule files with
// LoadOptions::expand_env = false, so that `actions` hold ${NAME} as written.
absl::StatusOr<std::string> WriteCompiledRules(const RuleSet& rules,
                                               const std::map<std::string, ActionDef>& actions);

struct CompiledRuleFile {
  std::shared_ptr<const RuleSet> rules;
  std::map<std::string, ActionDef> actions;  // ${NAME} expanded
  // Mistakes found on reading: variables that are not set.
  std::vector<Diagnostic> diagnostics;
  bool ok() const { return diagnostics.empty(); }
};

// Reads a compiled rule file's bytes. A damaged, truncated or foreign file
// gives InvalidArgument; `options.env` expands the actions' ${NAME}.
absl::StatusOr<CompiledRuleFile> ReadCompiledRules(std::string_view bytes,
                                                   const LoadOptions& options = {},
                                                   const CompileOptions& compile = {});

}  // namespace weir

#endif  // WEIR_COMPILED_RULES_H_
