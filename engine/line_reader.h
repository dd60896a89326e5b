// NDJSON input split into batches of whole lines: up to the batch size from
// a file, and from a pipe or socket as many as have come, so that a slow
// stream is not held back. Each batch owns its bytes (with
// Matcher::kPadding readable bytes after the last line), so batches can be
// matched on other threads while the next one is read. Lines stay where
// read() put them: only a partial last line is copied, to the next batch.
#ifndef WEIR_ENGINE_LINE_READER_H_
#define WEIR_ENGINE_LINE_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace weir {

struct LineRef {
  uint64_t number;       // 1-based physical line number
  uint32_t offset;       // into the batch's bytes
  uint32_t length;       // without the newline (and a trailing \r); at most max_line
  uint64_t full_length;  // > length when the line was cut for being too long
};

class Batch {
 public:
  uint64_t sequence = 0;
  std::vector<LineRef> lines;

  std::string_view line(const LineRef& l) const { return {data_.get() + l.offset, l.length}; }
  bool too_long(const LineRef& l) const { return l.full_length > l.length; }
  // Bytes that may be read from the start of the buffer (content + padding).
  size_t readable() const { return readable_; }

 private:
  friend class LineReader;
  void Reserve(size_t n);  // keeps the first size_ bytes

  std::unique_ptr<char[]> data_;
  size_t capacity_ = 0;
  size_t size_ = 0;
  size_t readable_ = 0;
};

class LineReader {
 public:
  // Reads from `fd` (not owned). Lines longer than `max_line` are reported
  // with their first max_line bytes only; the rest is skipped.
  LineReader(int fd, size_t max_line, size_t batch_bytes = 1 << 20);

  // Fills `batch` with the next lines; *got is false at end of input. A
  // read error is returned as a status.
  absl::Status Next(Batch* batch, bool* got);

 private:
  // Appends up to `room` bytes from fd; 0 at end of input.
  size_t Read(char* dst, size_t room);
  // Skips to the end of an over-long line; returns its remaining length.
  uint64_t SkipRestOfLine(bool* ends_with_cr);

  int fd_;
  bool stream_;  // not a regular file: batches end at what has come
  size_t max_line_;
  size_t batch_bytes_;
  std::string carry_;  // a partial line read past the end of the last batch
  bool eof_ = false;
  int error_ = 0;
  uint64_t line_no_ = 0;
  uint64_t sequence_ = 0;
};

}  // namespace weir

#endif  // WEIR_ENGINE_LINE_READER_H_
