#include "weir/open.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/encoded_rules.h"
#include "rules/schema.h"
#include "weir/compiled_rules.h"

namespace weir {
namespace {

double MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

long PeakRssKb() {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return ru.ru_maxrss;  // kilobytes on Linux
}

}  // namespace

absl::StatusOr<OpenedRules> OpenRules(const std::vector<std::string>& paths,
                                      const LoadOptions& options, const CompileOptions& compile) {
  OpenedRules out;
  auto t0 = std::chrono::steady_clock::now();
  // Each file is read once, whole (a pipe cannot be read twice), and what
  // it is told from its bytes.
  std::vector<RuleText> texts;
  texts.reserve(paths.size());
  std::string unreadable;  // one line per file that cannot be read
  for (const std::string& p : paths) {
    absl::StatusOr<std::string> bytes = ReadRuleFile(p, options);
    if (!bytes.ok()) {
      absl::StrAppend(&unreadable, unreadable.empty() ? "" : "\n", p, ": ",
                      bytes.status().message());
      continue;
    }
    if (IsCompiledRuleFile(std::string_view(*bytes).substr(0, 8))) {
      if (paths.size() > 1)
        return absl::InvalidArgumentError(absl::StrCat(
            p, " is a compiled rule file; it cannot be combined with other rule files"));
      auto c = ReadCompiledRules(*bytes, options, compile);
      if (!c.ok()) return absl::InvalidArgumentError(absl::StrCat(p, ": ", c.status().message()));
      out.diagnostics = std::move(c->diagnostics);
      if (out.ok()) out.rules = std::move(c->rules);
      out.actions = std::move(c->actions);
      out.from_compiled_file = true;
      out.timings.load_ms = MsSince(t0);
      out.timings.peak_rss_kb_after_load = PeakRssKb();
      return out;
    }
    texts.push_back({p, *std::move(bytes)});
  }
  if (!unreadable.empty()) return absl::InvalidArgumentError(unreadable);
  // Rules are held encoded from the moment they are read, and compiled one
  // at a time: RuleDefs for all of a big file would be ten times its size.
  EncodedRules encoded;
  LoadResult lr = ParseRulesEncoded(&texts, options, &encoded);
  texts = {};
  out.timings.load_ms = MsSince(t0);
  out.timings.peak_rss_kb_after_load = PeakRssKb();
  out.diagnostics = std::move(lr.diagnostics);
  // Actions come back with mistakes elsewhere too, so that their executors
  // can report theirs in the same pass.
  out.actions = std::move(lr.ruleset.actions);
  if (!out.ok()) return out;
  auto t1 = std::chrono::steady_clock::now();
  encoded.ShrinkToFit();  // grown by doubling; compiling needs the room
  auto compiled = RuleSet::CompileEncoded(std::move(encoded), compile);
  out.timings.compile_ms = MsSince(t1);
  if (!compiled.ok())
    return absl::Status(compiled.status().code(),
                        absl::StrCat("cannot compile the rules: ", compiled.status().message()));
  out.rules = *std::move(compiled);
  return out;
}

}  // namespace weir
