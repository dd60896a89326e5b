// weir/open.h: opening the rules a command or service runs on: rule files
// (YAML or JSON), read and compiled, or one compiled rule file (weir
// compile), read. Prints nothing: mistakes come back as diagnostics, other
// failures as a status.
//
// Thread safety: reentrant (no shared state); the result is plain data and
// an immutable RuleSet.
#ifndef WEIR_OPEN_H_
#define WEIR_OPEN_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "weir/diagnostic.h"
#include "weir/engine.h"
#include "weir/rules.h"

namespace weir {

struct OpenedRules {
  // Null when there are diagnostics.
  std::shared_ptr<const RuleSet> rules;
  std::map<std::string, ActionDef> actions;
  std::vector<Diagnostic> diagnostics;
  bool from_compiled_file = false;
  struct Timings {
    double load_ms = 0;     // reading the files (and lowering the dialects)
    // Compiling, after the reading; 0 for a compiled rule file. One rule
    // file of up to 16 MiB is compiled as it is read, mostly within load_ms.
    double compile_ms = 0;
    long peak_rss_kb_after_load = 0;  // the process's peak RSS once read
  } timings;
  bool ok() const { return diagnostics.empty(); }
};

// Reads each file once (a pipe works too). Files that cannot be read are
// named one a line in the status message. A compiled rule file must come
// alone. Fails (with the message to show after "weir: ") when a compiled
// rule file is combined with others, cannot be read or is damaged, or when
// the rules cannot be compiled; rule mistakes are diagnostics in the result.
absl::StatusOr<OpenedRules> OpenRules(const std::vector<std::string>& paths,
                                      const LoadOptions& options = {},
                                      const CompileOptions& compile = {});

}  // namespace weir

#endif  // WEIR_OPEN_H_
