// NDJSON sources: a file descriptor or a string split into batches of whole
// lines. From a file batches hold about batch_bytes; from a pipe, socket or
// terminal a batch ends at what has come once it holds a whole line, so that
// a slow stream is not held back. Lines stay where read() put them: only a
// partial last line is copied, to the next batch. A large regular file is
// mapped instead, and batches borrow its bytes (MappedSource).
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "stream/mapped_file.h"
#include "weir/stream.h"

namespace weir {
namespace {

constexpr char kBom[] = "\xEF\xBB\xBF";

using OnCut = std::function<void(const EventPosition&, std::string_view)>;

// The line [start, end) of a batch's bytes `data`, `end` at its newline or
// at the end of the input, as an event at `pos`: without a trailing CR, and
// cut to max_line (the cut bytes go to on_cut). Both sources below split
// with it, so that a line is the same event whichever of them reads it.
void AddWholeLine(EventBatch* b, const char* data, size_t start, size_t end, size_t max_line,
                  const EventPosition& pos, const OnCut& on_cut) {
  size_t len = end - start;
  if (len > 0 && data[end - 1] == '\r') --len;
  if (len > max_line && on_cut)
    on_cut(pos, std::string_view(data + start + max_line, end - start - max_line));
  EventBatch::Event e;
  e.offset = static_cast<uint32_t>(start);
  e.length = static_cast<uint32_t>(std::min(len, max_line));
  e.full_length = len;
  e.position = pos;
  b->AddRef(e);
}

class LineSource : public Source {
 public:
  LineSource(std::string name, const FdSourceOptions& o, bool stream)
      : name_(std::move(name)),
        stream_(stream),
        max_line_(o.max_event_bytes),
        batch_bytes_(std::max<size_t>(o.batch_bytes, 4096)),
        read_total_(o.start_offset),
        line_no_(o.start_line),
        bom_pending_(o.start_offset == 0),
        on_cut_(o.on_cut) {}

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
  // Skips to the end of an over-long line (at `pos`); returns its remaining length.
  uint64_t SkipRestOfLine(const EventPosition& pos, bool* ends_with_cr);
  EventPosition NextPosition(uint64_t base, size_t start) const {
    EventPosition p;
    p.line = line_no_ + 1;
    p.offset = base + start;
    return p;
  }
  void AddLine(EventBatch* b, uint64_t base, size_t start, size_t len, uint64_t full) {
    EventBatch::Event e;
    e.offset = static_cast<uint32_t>(start);
    e.length = static_cast<uint32_t>(len);
    e.full_length = full;
    e.position = NextPosition(base, start);
    ++line_no_;
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
  OnCut on_cut_;
};

uint64_t LineSource::SkipRestOfLine(const EventPosition& pos, bool* ends_with_cr) {
  uint64_t skipped = 0;
  char buf[64 << 10];
  for (;;) {
    size_t n = Read(buf, sizeof buf);
    if (n == 0) return skipped;
    const char* nl = static_cast<const char*>(std::memchr(buf, '\n', n));
    size_t len = nl ? static_cast<size_t>(nl - buf) : n;
    if (len > 0) *ends_with_cr = buf[len - 1] == '\r';
    if (on_cut_ && len > 0) on_cut_(pos, std::string_view(buf, len));
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
      AddWholeLine(b, data, start, end, max_line_, NextPosition(base, start), on_cut_);
      ++line_no_;
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
    const EventPosition pos = NextPosition(base, start);
    if (on_cut_)
      on_cut_(pos, std::string_view(data + start + max_line_, partial - max_line_));
    uint64_t full = partial + SkipRestOfLine(pos, &cr);
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

// A regular file read through a read-only mapping: a batch borrows about
// batch_bytes of whole lines from it, so the bytes are never copied (reading
// CityLots through read() spent a fifth of the whole `weir filter` run in
// the kernel's copy: docs/performance.md, "Reading the input"). Batches end
// Matcher::kPadding bytes before the end of the mapping at the latest, so
// the bytes simdjson may read past an event are mapped (their content does
// not matter: inside a read() batch an event is followed by the next line
// too). What the mapping does not cover in whole lines (the last bytes, a
// line longer than a batch, anything appended since the file was opened)
// is read by an FdSource from there on, with the same line numbers and
// offsets. Pages of batches the sink is done with are dropped, so the
// mapping does not grow the resident set with the file.
class MappedSource : public Source {
 public:
  MappedSource(int fd, std::string name, const FdSourceOptions& o, std::unique_ptr<MappedFile> map,
               uint64_t start)
      : fd_(fd),
        name_(std::move(name)),
        opts_(o),
        map_(std::move(map)),
        pos_(start),
        dropped_(0),
        line_no_(o.start_line),
        max_line_(o.max_event_bytes),
        batch_bytes_(std::max<size_t>(o.batch_bytes, 4096)),
        limit_(map_->size() - Matcher::kPadding) {
    if (o.start_offset == 0 && pos_ + 3 <= limit_ && std::memcmp(map_->data() + pos_, kBom, 3) == 0)
      pos_ += 3;
  }

  const std::string& name() const override { return name_; }

  void Interrupt() override {
    interrupted_ = true;
    if (Source* r = rest_ptr_.load()) r->Interrupt();
  }

  void Done(const EventBatch& batch) override {
    // (rest_ is made on the reading thread; Done may run on another.)
    if (Source* r = rest_ptr_.load()) return r->Done(batch);
    // In steps of 8 MiB: one madvise per several batches.
    const uint64_t upto =
        std::min<uint64_t>(batch.end_offset, map_->size()) & ~uint64_t{(8 << 20) - 1};
    if (upto > dropped_) {
      madvise(const_cast<char*>(map_->data()) + dropped_, upto - dropped_, MADV_DONTNEED);
      dropped_ = upto;
    }
  }

  absl::Status Next(EventBatch* b, bool* got) override {
    b->Clear();
    *got = false;
    if (interrupted_) return absl::OkStatus();
    if (rest_) return rest_->Next(b, got);
    struct stat st;
    if (map_->truncated() ||
        (fstat(fd_, &st) == 0 && static_cast<uint64_t>(st.st_size) < map_->size()))
      return absl::DataLossError(absl::StrCat(
          "the input file shrank while it was read (truncated by another process?); stopped after "
          "line ",
          line_no_));
    const char* base = map_->data();
    if (pos_ < limit_) {
      const size_t want = std::min<size_t>(limit_, pos_ + batch_bytes_);
      const void* nl = memrchr(base + pos_, '\n', want - pos_);
      // A line longer than a batch: on to its newline, if it is near.
      const size_t far = std::min<size_t>(limit_, pos_ + std::max(batch_bytes_, max_line_ + 2));
      if (!nl && far > want) nl = std::memchr(base + want, '\n', far - want);
      if (nl) {
        const size_t end = static_cast<size_t>(static_cast<const char*>(nl) - base) + 1;
        Split(b, end);
        *got = true;
        return absl::OkStatus();
      }
    }
    // The rest by read(), from the first byte not yet in a batch.
    if (lseek(fd_, static_cast<off_t>(pos_), SEEK_SET) < 0)
      return absl::InternalError(absl::StrCat("cannot seek to ", pos_, ": ", std::strerror(errno)));
    FdSourceOptions o = opts_;
    o.start_offset = pos_;
    o.start_line = line_no_;
    rest_ = std::make_unique<FdSource>(fd_, name_, o, false, -1);
    rest_ptr_.store(rest_.get());
    if (interrupted_) rest_->Interrupt();
    return rest_->Next(b, got);
  }

 private:
  // The lines of [pos_, end) (end just after a newline) into b.
  void Split(EventBatch* b, size_t end) {
    const char* data = map_->data() + pos_;
    const size_t n = end - pos_;
    b->Borrow(data, n);
    size_t start = 0;
    while (start < n) {
      const size_t e = static_cast<size_t>(
          static_cast<const char*>(std::memchr(data + start, '\n', n - start)) - data);
      EventPosition pos;
      pos.line = line_no_ + 1;
      pos.offset = pos_ + start;
      AddWholeLine(b, data, start, e, max_line_, pos, opts_.on_cut);
      ++line_no_;
      start = e + 1;
    }
    pos_ = end;
    b->end_offset = pos_;
    b->end_line = line_no_;
  }

  int fd_;
  std::string name_;
  FdSourceOptions opts_;
  std::unique_ptr<MappedFile> map_;
  uint64_t pos_;      // the first byte not yet in a batch
  uint64_t dropped_;  // pages before this are given back
  uint64_t line_no_;
  size_t max_line_, batch_bytes_;
  size_t limit_;  // batches end by here: kPadding mapped bytes follow
  std::atomic<bool> interrupted_{false};
  std::unique_ptr<FdSource> rest_;
  std::atomic<Source*> rest_ptr_{nullptr};  // rest_, for Interrupt() from other threads
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
  if (!stream && static_cast<uint64_t>(st.st_size) >= options.map_min_bytes &&
      static_cast<uint64_t>(st.st_size) > 2 * Matcher::kPadding) {
    const off_t at = lseek(fd, 0, SEEK_CUR);
    if (at >= 0 && at < st.st_size) {
      if (auto map = MappedFile::Map(fd, static_cast<size_t>(st.st_size)))
        return std::unique_ptr<Source>(new MappedSource(fd, std::move(name), options,
                                                        std::move(map), static_cast<uint64_t>(at)));
    }
  }
  return std::unique_ptr<Source>(new FdSource(fd, std::move(name), options, stream, wake));
}

std::unique_ptr<Source> MakeMemorySource(std::string ndjson, std::string name,
                                         const FdSourceOptions& options) {
  return std::make_unique<MemorySource>(std::move(ndjson), std::move(name), options);
}

}  // namespace weir
