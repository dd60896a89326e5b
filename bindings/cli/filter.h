// The NDJSON filter stage shared by `weir filter` and `weir bench`: reads
// lines, matches them on N threads, emits results in input order.
#ifndef WEIR_BINDINGS_CLI_FILTER_H_
#define WEIR_BINDINGS_CLI_FILTER_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "weir/engine.h"

namespace weir::cli {

enum class Format { kAnnotated, kEvent, kIds, kCount, kNone };

struct FilterOptions {
  Format format = Format::kAnnotated;
  int threads = 1;
  bool validate_all = false;
  EventLimits limits;
  FILE* out = stdout;
  FILE* err = stderr;
  FILE* errors_file = nullptr;  // bad lines verbatim
  bool name_lines = false;      // ids format: NAME:LINE
};

struct FilterStats {
  uint64_t lines = 0, blank = 0, bad = 0, events = 0, matched = 0, bytes = 0;
  std::vector<uint64_t> rule_hits;  // by rule index
};

// Runs one input (fd, shown as `name` in messages).
absl::Status FilterInput(const std::shared_ptr<const RuleSet>& rules, int fd,
                         const std::string& name, const FilterOptions& options,
                         FilterStats* stats);

}  // namespace weir::cli

#endif  // WEIR_BINDINGS_CLI_FILTER_H_
