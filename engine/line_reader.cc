#include "engine/line_reader.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "weir/engine.h"

namespace weir {

LineReader::LineReader(int fd, size_t max_line, size_t batch_bytes)
    : fd_(fd), max_line_(max_line), batch_bytes_(batch_bytes) {}

bool LineReader::Fill() {
  if (eof_) return false;
  if (pos_ > 0) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  size_t old = buf_.size();
  size_t want = std::max(batch_bytes_, size_t{64} << 10);
  buf_.resize(old + want);
  ssize_t n;
  do {
    n = ::read(fd_, buf_.data() + old, want);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    if (n < 0) error_ = errno;
    buf_.resize(old);
    eof_ = true;
    return false;
  }
  buf_.resize(old + static_cast<size_t>(n));
  return true;
}

absl::Status LineReader::Next(Batch* batch, bool* got) {
  batch->bytes.clear();
  batch->lines.clear();
  batch->sequence = sequence_;
  while (batch->bytes.size() < batch_bytes_) {
    const char* start = buf_.data() + pos_;
    size_t avail = buf_.size() - pos_;
    const char* nl = static_cast<const char*>(std::memchr(start, '\n', avail));
    if (!nl) {
      if (avail > max_line_) {
        // Too long: keep the head for the report, skip to the next newline.
        LineRef ref{++line_no_, static_cast<uint32_t>(batch->bytes.size()),
                    static_cast<uint32_t>(max_line_), avail};
        batch->bytes.append(start, max_line_);
        batch->bytes.push_back('\n');
        pos_ = buf_.size();
        for (;;) {
          if (!Fill()) break;
          const char* p = static_cast<const char*>(std::memchr(buf_.data(), '\n', buf_.size()));
          if (p) {
            ref.full_length += static_cast<uint64_t>(p - buf_.data());
            pos_ = static_cast<size_t>(p - buf_.data()) + 1;
            break;
          }
          ref.full_length += buf_.size();
          pos_ = buf_.size();
        }
        batch->lines.push_back(ref);
        continue;
      }
      if (Fill()) continue;
      start = buf_.data() + pos_;  // Fill may have moved the bytes
      avail = buf_.size() - pos_;
      if (avail == 0) break;
      nl = start + avail;  // last line without a newline
    }
    size_t len = static_cast<size_t>(nl - start);
    size_t full = len;
    if (len > 0 && start[len - 1] == '\r') --len;
    LineRef ref{++line_no_, static_cast<uint32_t>(batch->bytes.size()),
                static_cast<uint32_t>(std::min(len, max_line_)), len};
    batch->bytes.append(start, ref.length);
    batch->bytes.push_back('\n');
    batch->lines.push_back(ref);
    pos_ += std::min(full + 1, buf_.size() - pos_);
  }
  batch->bytes.append(Matcher::kPadding, ' ');
  if (error_) return absl::InternalError(absl::StrCat("read error: ", std::strerror(error_)));
  *got = !batch->lines.empty();
  if (*got) ++sequence_;
  return absl::OkStatus();
}

}  // namespace weir
