// NDJSON input split into batches of whole lines. Each batch owns its bytes
// (with Matcher::kPadding readable bytes after the last line), so batches can
// be matched on other threads while the next one is read.
#ifndef WEIR_ENGINE_LINE_READER_H_
#define WEIR_ENGINE_LINE_READER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace weir {

struct LineRef {
  uint64_t number;      // 1-based physical line number
  uint32_t offset;      // into Batch::bytes
  uint32_t length;      // without the newline (and a trailing \r)
  uint64_t full_length; // > length when the line was cut for being too long
};

struct Batch {
  uint64_t sequence = 0;
  std::string bytes;
  std::vector<LineRef> lines;
  std::string_view line(const LineRef& l) const { return {bytes.data() + l.offset, l.length}; }
  bool too_long(const LineRef& l) const { return l.full_length > l.length; }
};

class LineReader {
 public:
  // Reads from `fd` (not owned). Lines longer than `max_line` are reported
  // with their first max_line bytes only; the rest is skipped.
  LineReader(int fd, size_t max_line, size_t batch_bytes = 1 << 20);

  // Fills `batch` with the next lines; false at end of input (batch empty).
  // A read error is returned as a status.
  absl::Status Next(Batch* batch, bool* got);

 private:
  bool Fill();  // reads more into buf_; false at EOF

  int fd_;
  size_t max_line_;
  size_t batch_bytes_;
  std::string buf_;   // unconsumed input
  size_t pos_ = 0;    // start of unconsumed bytes in buf_
  bool eof_ = false;
  int error_ = 0;
  uint64_t line_no_ = 0;
  uint64_t sequence_ = 0;
};

}  // namespace weir

#endif  // WEIR_ENGINE_LINE_READER_H_
