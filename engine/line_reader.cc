#include "engine/line_reader.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "weir/engine.h"

namespace weir {

void Batch::Reserve(size_t n) {
  n += Matcher::kPadding;
  if (n <= capacity_) return;
  size_t cap = std::max(n, capacity_ * 2);
  // No zero-filling: every byte is written by read() or memcpy before use.
  auto fresh = std::make_unique_for_overwrite<char[]>(cap);
  if (size_) std::memcpy(fresh.get(), data_.get(), size_);
  data_ = std::move(fresh);
  capacity_ = cap;
}

LineReader::LineReader(int fd, size_t max_line, size_t batch_bytes)
    : fd_(fd), max_line_(max_line), batch_bytes_(std::max<size_t>(batch_bytes, 4096)) {
  struct stat st;
  stream_ = fstat(fd, &st) != 0 || !S_ISREG(st.st_mode);
}

size_t LineReader::Read(char* dst, size_t room) {
  if (eof_ || room == 0) return 0;
  ssize_t n;
  do {
    n = ::read(fd_, dst, room);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    if (n < 0) error_ = errno;
    eof_ = true;
    return 0;
  }
  return static_cast<size_t>(n);
}

uint64_t LineReader::SkipRestOfLine(bool* ends_with_cr) {
  uint64_t skipped = 0;
  char buf[64 << 10];
  for (;;) {
    size_t n = Read(buf, sizeof buf);
    if (n == 0) return skipped;
    const char* nl = static_cast<const char*>(std::memchr(buf, '\n', n));
    size_t len = nl ? static_cast<size_t>(nl - buf) : n;
    if (len > 0) *ends_with_cr = buf[len - 1] == '\r';
    skipped += len;
    if (nl) {
      carry_.assign(nl + 1, static_cast<size_t>(buf + n - (nl + 1)));  // what follows
      return skipped;
    }
  }
}

absl::Status LineReader::Next(Batch* b, bool* got) {
  b->lines.clear();
  b->sequence = sequence_;
  b->size_ = 0;
  b->Reserve(carry_.size() + batch_bytes_);
  std::memcpy(b->data_.get(), carry_.data(), carry_.size());
  b->size_ = carry_.size();
  carry_.clear();
  size_t start = 0;  // of the first line not yet recorded
  size_t want = batch_bytes_;
  for (;;) {
    // Fill the batch (or at least get one whole line in). A stream (pipe,
    // socket, terminal) hands over what has come once it holds a whole
    // line: a slow producer's events must not wait for a full batch.
    while (b->size_ < want && !eof_) {
      char* at = b->data_.get() + b->size_;
      size_t n = Read(at, b->capacity_ - Matcher::kPadding - b->size_);
      b->size_ += n;
      if (n == 0) break;
      if (stream_ && std::memchr(at, '\n', n)) break;
    }
    const char* base = b->data_.get();
    for (;;) {
      const char* nl =
          static_cast<const char*>(std::memchr(base + start, '\n', b->size_ - start));
      size_t end = nl ? static_cast<size_t>(nl - base) : b->size_;
      if (!nl && !eof_) break;      // a partial line: needs more input
      if (!nl && end == start) break;  // nothing after the last newline
      size_t len = end - start;
      if (len > 0 && base[end - 1] == '\r') --len;
      b->lines.push_back({++line_no_, static_cast<uint32_t>(start),
                          static_cast<uint32_t>(std::min(len, max_line_)), len});
      start = nl ? end + 1 : end;
      if (!nl) break;
    }
    size_t partial = b->size_ - start;
    if (eof_ || partial <= max_line_ + 1) {
      if (!b->lines.empty() || eof_) {
        // Done: the partial line goes to the next batch.
        carry_.assign(b->data_.get() + start, partial);
        b->size_ = start;
        break;
      }
      // One long line fills the batch: grow it and read on.
      want = b->size_ + batch_bytes_;
      b->Reserve(want);
      continue;
    }
    // A line longer than max_line without its newline yet: keep its head,
    // skip the rest without buffering it.
    bool cr = base[b->size_ - 1] == '\r';
    uint64_t full = partial + SkipRestOfLine(&cr);
    if (cr) --full;
    b->lines.push_back({++line_no_, static_cast<uint32_t>(start),
                        static_cast<uint32_t>(max_line_), full});
    b->size_ = start + max_line_;
    break;
  }
  // Lines are followed by their newline, later lines or these spaces, so
  // simdjson may read kPadding bytes past any of them.
  std::memset(b->data_.get() + b->size_, ' ', Matcher::kPadding);
  b->readable_ = b->size_ + Matcher::kPadding;
  if (!b->lines.empty()) ++sequence_;
  *got = !b->lines.empty();
  if (error_) return absl::InternalError(absl::StrCat("read error: ", std::strerror(error_)));
  return absl::OkStatus();
}

}  // namespace weir
