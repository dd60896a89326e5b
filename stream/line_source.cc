// NDJSON sources: a file descriptor or a string split into batches of whole
// lines. From a file batches hold about batch_bytes; from a pipe, socket or
// terminal a batch ends at what has come once it holds a whole line, so that
// a slow stream is not held back. Lines stay where read() put them: only a
// partial last line is copied, to the next batch.
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "weir/stream.h"

namespace weir {
namespace {

constexpr char kBom[] = "\xEF\xBB\xBF";

class LineSource : public Source {
 public:
  LineSource(std::string name, const FdSourceOptions& o, bool stream)
      : name_(std::move(name)),
        stream_(stream),
        max_line_(o.max_event_bytes),
        batch_bytes_(std::max<size_t>(o.batch_bytes, 4096)),
        read_total_(o.start_offset),
        line_no_(o.start_line),
        bom_pending_(o.start_offset == 0) {}

  const std::string& name() const override { return name_; }
  absl::Status Next(EventBatch* batch, bool* got) override;

 protected:
  // Reads up to `room` bytes into dst; 0 at the end of input (or when
  // interrupted: interrupted_ is set then). Sets error_ on a read error.
  virtual size_t ReadSome(char* dst, size_t room) = 0;
  std::atomic<bool> interrupted_{false};
  int error_ = 0;

 private:
  size_t Read(char* dst, size_t room) {
    if (eof_ || room == 0) return 0;
    size_t n = ReadSome(dst, room);
    if (n == 0) eof_ = true;
    read_total_ += n;
    return n;
  }
  // Skips to the end of an over-long line; returns its remaining length.
  uint64_t SkipRestOfLine(bool* ends_with_cr);
  void AddLine(EventBatch* b, uint64_t base, size_t start, size_t len, uint64_t full) {
    EventBatch::Event e;
    e.offset = static_cast<uint32_t>(start);
    e.length = static_cast<uint32_t>(len);
    e.full_length = full;
    e.position.line = ++line_no_;
    e.position.offset = base + start;
    b->AddRef(e);
  }

  std::string name_;
  bool stream_;  // not a regular file: batches end at what has come
  size_t max_line_;
  size_t batch_bytes_;
  std::string carry_;  // a partial line read past the end of the last batch
  bool eof_ = false;
  uint64_t read_total_;  // input offset after the last byte read
  uint64_t line_no_;
  bool bom_pending_;
};

uint64_t LineSource::SkipRestOfLine(bool* ends_with_cr) {
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

absl::Status LineSource::Next(EventBatch* b, bool* got) {
  b->Clear();
  *got = false;
  // Offset in the input of the batch's first byte.
  const uint64_t base = read_total_ - carry_.size();
  std::memcpy(b->Reserve(carry_.size() + batch_bytes_), carry_.data(), carry_.size());
  b->Commit(carry_.size());
  carry_.clear();
  size_t start = 0;  // of the first line not yet recorded
  size_t want = batch_bytes_;
  for (;;) {
    // Fill the batch (or at least get one whole line in). A stream (pipe,
    // socket, terminal) hands over what has come once it holds a whole
    // line: a slow producer's events must not wait for a full batch.
    while (b->size() < want && !eof_) {
      size_t room = want - b->size();
      char* at = b->Reserve(room);
      size_t n = Read(at, room);
      b->Commit(n);
      if (n == 0) break;
      if (stream_ && std::memchr(at, '\n', n)) break;
    }
    const char* data = b->data();
    // Interrupted: a partial last line is dropped, not taken for a whole one.
    const bool at_end = eof_ && !interrupted_;
    if (bom_pending_) {
      size_t have = std::min<size_t>(b->size(), 3);
      if (std::memcmp(data, kBom, have) != 0 || (have < 3 && eof_)) {
        bom_pending_ = false;
      } else if (have == 3) {
        bom_pending_ = false;
        start = 3;
      } else {
        continue;  // a byte-order mark may be coming
      }
    }
    for (;;) {
      const char* nl =
          static_cast<const char*>(std::memchr(data + start, '\n', b->size() - start));
      size_t end = nl ? static_cast<size_t>(nl - data) : b->size();
      if (!nl && !at_end) break;       // a partial line: needs more input
      if (!nl && end == start) break;  // nothing after the last newline
      size_t len = end - start;
      if (len > 0 && data[end - 1] == '\r') --len;
      AddLine(b, base, start, std::min(len, max_line_), len);
      start = nl ? end + 1 : end;
      if (!nl) break;
    }
    size_t partial = b->size() - start;
    if (eof_ || partial <= max_line_ + 1) {
      if (!b->empty() || eof_) {
        // Done: the partial line goes to the next batch.
        if (!eof_) carry_.assign(data + start, partial);
        b->Truncate(start);
        break;
      }
      // One long line fills the batch: grow it and read on.
      want = b->size() + batch_bytes_;
      continue;
    }
    // A line longer than max_line without its newline yet: keep its head,
    // skip the rest without buffering it.
    bool cr = data[b->size() - 1] == '\r';
    uint64_t full = partial + SkipRestOfLine(&cr);
    if (cr) --full;
    AddLine(b, base, start, max_line_, full);
    b->Truncate(start + max_line_);
    break;
  }
  b->end_offset = read_total_ - carry_.size();
  b->end_line = line_no_;
  *got = !b->empty();
  if (error_) return absl::InternalError(absl::StrCat("read error: ", std::strerror(error_)));
  return absl::OkStatus();
}

class FdSource : public LineSource {
 public:
  FdSource(int fd, std::string name, const FdSourceOptions& o, bool stream, int wake_fd)
      : LineSource(std::move(name), o, stream), fd_(fd), poll_(stream), wake_fd_(wake_fd) {}
  ~FdSource() override {
    if (wake_fd_ >= 0) close(wake_fd_);
  }

  void Interrupt() override {
    interrupted_ = true;
    if (wake_fd_ >= 0) {
      uint64_t one = 1;
      [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
    }
  }

 protected:
  size_t ReadSome(char* dst, size_t room) override {
    for (;;) {
      if (interrupted_) return 0;
      if (poll_) {
        // Waits for input or Interrupt(); a signal (EINTR) re-checks the flag.
        pollfd p[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
        int r = poll(p, 2, -1);
        if (r < 0) {
          if (errno == EINTR) continue;
          error_ = errno;
          return 0;
        }
        if (p[1].revents) continue;  // woken: interrupted_ is set
      }
      ssize_t n = ::read(fd_, dst, room);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      error_ = errno;
      return 0;
    }
  }

 private:
  int fd_;
  bool poll_;
  int wake_fd_;
};

class MemorySource : public LineSource {
 public:
  MemorySource(std::string text, std::string name, const FdSourceOptions& o)
      : LineSource(std::move(name), o, false),
        text_(std::move(text)),
        pos_(std::min<uint64_t>(o.start_offset, text_.size())) {}
  void Interrupt() override { interrupted_ = true; }

 protected:
  size_t ReadSome(char* dst, size_t room) override {
    if (interrupted_) return 0;
    size_t n = std::min(room, text_.size() - pos_);
    std::memcpy(dst, text_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string text_;
  size_t pos_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Source>> MakeFdSource(int fd, std::string name,
                                                     const FdSourceOptions& options) {
  struct stat st;
  if (fstat(fd, &st) != 0)
    return absl::InvalidArgumentError(std::strerror(errno));
  const bool stream = !S_ISREG(st.st_mode);
  int wake = -1;
  if (stream) {
    if (options.start_offset > 0)
      return absl::InvalidArgumentError(
          "not a regular file: it cannot be read from an offset");
    wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake < 0)
      return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  } else if (options.start_offset > 0 &&
             lseek(fd, static_cast<off_t>(options.start_offset), SEEK_SET) < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot seek to ", options.start_offset, ": ", std::strerror(errno)));
  }
  return std::unique_ptr<Source>(new FdSource(fd, std::move(name), options, stream, wake));
}

std::unique_ptr<Source> MakeMemorySource(std::string ndjson, std::string name,
                                         const FdSourceOptions& options) {
  return std::make_unique<MemorySource>(std::move(ndjson), std::move(name), options);
}

}  // namespace weir
