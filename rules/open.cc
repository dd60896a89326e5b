#include "weir/open.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "engine/encoded_rules.h"
#include "rules/schema.h"
#include "weir/compiled_rules.h"

namespace weir {
namespace {

// The largest rule file compiled as it is read.
constexpr size_t kCompileAsReadBytes = size_t{16} << 20;

double MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

long PeakRssKb() {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return ru.ru_maxrss;  // kilobytes on Linux
}

// Compiles a rule file's parts as the loader reads them (weir/open.h: with
// two threads, one reads the later parts while the other compiles).
class CompileAsRead : public EncodedRulesConsumer {
 public:
  explicit CompileAsRead(const CompileOptions& options) : options_(options) {}

  void Take(const EncodedRules& part, size_t file_rules) override {
    if (!compilation_) {
      // The tables sized for the whole file, as the first part would have
      // them: a part is a fair sample of a generated file, and a guess
      // that is wrong costs only growing them.
      const size_t n = std::max<size_t>(part.size(), 1);
      auto scaled = [&](size_t x) { return x / n * file_rules + x % n * file_rules / n; };
      compilation_.emplace(options_, file_rules, scaled(part.conjunctions()),
                           scaled(part.clauses()), scaled(part.predicates()));
    }
    compilation_->Add(part);
  }
  void Drop() override { compilation_.reset(); }
  // The compilation, if it holds exactly the `n` rules read.
  std::optional<EncodedCompilation> Done(size_t n) {
    if (!compilation_ || compilation_->size() != n) return std::nullopt;
    return std::move(compilation_);
  }

 private:
  const CompileOptions options_;
  std::optional<EncodedCompilation> compilation_;
};

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
  // One file of moderate size is compiled as it is read: that holds its
  // text, what it read and the compiled tables at once, which for a big
  // file would be more than the memory limit allows (docs/limits.md,
  // "Memory").
  CompileAsRead as_read(compile);
  const bool compile_as_read = texts.size() == 1 && texts[0].text.size() <= kCompileAsReadBytes;
  LoadResult lr =
      ParseRulesEncoded(&texts, options, &encoded, compile_as_read ? &as_read : nullptr);
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
  // An error is reported the same either way: the rules were compiled in
  // the same order.
  std::optional<EncodedCompilation> compiled_as_read = as_read.Done(encoded.size());
  auto compiled = compiled_as_read
                      ? RuleSet::FinishEncoded(*std::move(compiled_as_read), std::move(encoded))
                      : RuleSet::CompileEncoded(std::move(encoded), compile);
  out.timings.compile_ms = MsSince(t1);
  if (!compiled.ok())
    return absl::Status(compiled.status().code(),
                        absl::StrCat("cannot compile the rules: ", compiled.status().message()));
  out.rules = *std::move(compiled);
  return out;
}

}  // namespace weir
