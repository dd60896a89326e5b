// `weir filter`'s output: a Sink that formats matched events on the
// matching threads and writes them, bad-line reports and rule hit counts in
// input order, with a progress line on stderr. `weir bench` uses it without
// output.
#ifndef WEIR_BINDINGS_CLI_FILTER_H_
#define WEIR_BINDINGS_CLI_FILTER_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "weir/engine.h"
#include "weir/stream.h"

namespace weir::cli {

enum class Format { kAnnotated, kEvent, kIds, kCount, kNone };

struct FilterStats {
  uint64_t lines = 0, blank = 0, bad = 0, events = 0, matched = 0, bytes = 0;
  std::vector<uint64_t> rule_hits;  // by rule index
};

// A progress line on stderr, redrawn in place at most every 100 ms
// ("\r...\x1b[K"), ended with a newline by Finish().
class Progress {
 public:
  // `delay`: how long the command runs before the line first appears.
  Progress(FILE* err, bool enabled, std::chrono::milliseconds delay)
      : err_(err), enabled_(enabled), delay_(delay), start_(Clock::now()) {}
  // The input being read and its size (0 when unknown: a stream).
  void StartInput(const std::string& name, uint64_t size) {
    name_ = name;
    input_size_ = size;
    input_start_bytes_ = -1;
  }
  void Update(const FilterStats& s, bool force = false);
  // Clears the line before something else is written to stderr.
  void Clear();
  void Finish(const FilterStats& s);

 private:
  using Clock = std::chrono::steady_clock;
  FILE* err_;
  bool enabled_;
  std::chrono::milliseconds delay_;
  Clock::time_point start_, last_{};
  bool drawn_ = false;
  std::string name_;
  uint64_t input_size_ = 0;
  int64_t input_start_bytes_ = -1;  // stats.bytes when this input began
};

struct FilterOptions {
  Format format = Format::kAnnotated;
  int threads = 1;
  bool validate_all = false;
  EventLimits limits;
  FILE* out = stdout;
  FILE* err = stderr;
  std::string out_name = "standard output";
  FILE* errors_file = nullptr;  // bad lines verbatim
  std::string errors_name;
  bool name_lines = false;      // ids format: NAME:LINE
  int progress_mode = 0;  // 1 --progress, -1 --no-progress, 0 when stderr is a terminal
  Progress* progress = nullptr;
};

// The part of over-long lines that their batch does not keep, on its way to
// the --errors file: appended by the reading thread, taken by the sink in
// input order. Kept in an unnamed temporary file, not in memory.
class CutLines {
 public:
  CutLines();
  ~CutLines();
  bool ok() const { return fd_ >= 0; }
  void Append(uint64_t line, std::string_view bytes);
  // Writes what is kept of `line` to `out` and forgets it; false on a write error.
  bool CopyTo(uint64_t line, FILE* out);

 private:
  std::mutex mu_;
  int fd_ = -1;
  uint64_t end_ = 0;
  struct Piece {
    uint64_t line, offset, length;
  };
  std::vector<Piece> pieces_;  // in order
};

class FormatSink : public Sink {
 public:
  FormatSink(const FilterOptions& options, FilterStats* stats, CutLines* cut)
      : o_(options), stats_(stats), cut_(cut) {}
  void Prepare(BatchResult* result) override;
  // A failed write gives DataLoss: "cannot write NAME: reason".
  absl::Status OnBatch(const BatchResult& result) override;

 private:
  const FilterOptions& o_;
  FilterStats* stats_;
  CutLines* cut_;
  std::string errors_;  // scratch
  bool gzip_hinted_ = false;
};

PipelineOptions ToPipelineOptions(const FilterOptions& options);

// Runs one input (fd, shown as `name` in messages) through `pipeline`. A
// write error comes back as DataLoss (see FormatSink).
absl::Status FilterInput(Pipeline& pipeline, int fd, const std::string& name,
                         const FilterOptions& options, FilterStats* stats);

// "cannot write NAME: strerror(errno)" as DataLoss.
absl::Status WriteError(const std::string& name, int error);

}  // namespace weir::cli

#endif  // WEIR_BINDINGS_CLI_FILTER_H_
