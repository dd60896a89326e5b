// `weir filter`'s output: a Sink that formats matched events on the
// matching threads and writes them, bad-line reports and rule hit counts in
// input order. `weir bench` uses it without output.
#ifndef WEIR_BINDINGS_CLI_FILTER_H_
#define WEIR_BINDINGS_CLI_FILTER_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "weir/engine.h"
#include "weir/stream.h"

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

class FormatSink : public Sink {
 public:
  FormatSink(const FilterOptions& options, FilterStats* stats) : o_(options), stats_(stats) {}
  void Prepare(BatchResult* result) override;
  absl::Status OnBatch(const BatchResult& result) override;

 private:
  const FilterOptions& o_;
  FilterStats* stats_;
  std::string errors_;  // scratch
};

PipelineOptions ToPipelineOptions(const FilterOptions& options);

// Runs one input (fd, shown as `name` in messages) through `pipeline`.
absl::Status FilterInput(Pipeline& pipeline, int fd, const std::string& name,
                         const FilterOptions& options, FilterStats* stats);

}  // namespace weir::cli

#endif  // WEIR_BINDINGS_CLI_FILTER_H_
