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

#include "absl/status/statusor.h"
#include "weir/diagnostic.h"
#include "weir/rule_def.h"

namespace weir {

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
  // Bytes in one rule file; more (also an endless device such as /dev/zero)
  // is an error naming the file.
  size_t max_file_bytes = size_t{256} << 20;
  // Nesting of maps and lists in a rule file (the top-level map is 1), and
  // of pattern objects in a `pattern` (its own map is 1, each `$or`
  // alternative and each nested object one more).
  size_t max_nesting_depth = 256;
  size_t max_pattern_depth = 64;
  // A JSON rule file of 256 KiB or more is read on up to this many threads
  // (each a part of its rules; 0 or 1: on the calling thread only), and on
  // no more than the machine has cores. `env` may then be called from any
  // of them, one call at a time.
  size_t load_threads = 2;
};

// A system that posts signed webhooks to `weir serve` (`sources:` in a rule
// file): how its requests are signed and with what secret.
struct SourceDef {
  std::string name;
  std::string signature;  // standard | github | uipath | arcgis | secret-header | none
  std::string secret;     // ${NAME} expanded; never printed
  int64_t tolerance_seconds = 300;  // Standard Webhooks timestamps further away are refused
  SourceLocation where;
};

struct LoadResult {
  RuleSetDef ruleset;
  std::map<std::string, SourceDef> sources;  // by name, from every file
  std::vector<Diagnostic> diagnostics;
  bool ok() const { return diagnostics.empty(); }
};

// Reads and lowers the given files (YAML or JSON, detected by content).
// Rule ids must be unique across all files. A file that cannot be read
// (missing, a directory, over options.max_file_bytes) is one diagnostic
// without a position.
LoadResult LoadRuleFiles(const std::vector<std::string>& paths, const LoadOptions& options = {});

// Same, for text already in memory; `name` is used in diagnostics.
struct RuleText {
  std::string name;
  std::string text;
};
LoadResult ParseRules(const std::vector<RuleText>& files, const LoadOptions& options = {});

// The bytes of a rule file (or a compiled one), read once: a pipe such as
// /dev/stdin cannot be read again, so look at these bytes to tell a compiled
// rule file (IsCompiledRuleFile) and pass them on (ParseRules or
// ReadCompiledRules). Refuses a directory, a file that cannot be opened and
// one over options.max_file_bytes; the message does not name the file.
absl::StatusOr<std::string> ReadRuleFile(const std::string& path,
                                         const LoadOptions& options = {});

}  // namespace weir

#endif  // WEIR_RULES_H_
