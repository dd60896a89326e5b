// Fuzzes the NDJSON pipeline: the input is read by LineReader from a file
// descriptor and every line is matched the way `weir filter` does it
// (MatchPadded, then ValidatePadded before anything is output), against the
// fixed rule set of fuzz_rules.h.
//
// Each input goes through three readers with small limits:
//   A: memfd, max_line 4096 (= max_event_bytes), batch 4096;
//   B: memfd, max_line 40, batch 1 (one line per batch);
//   C: a SOCK_SEQPACKET socket fed in 7-byte records, so reads return short
//      chunks at fixed places (like a pipe, but deterministic); max_line 24,
//      batch 100.
// The batches are checked against a plain split of the input: line numbers,
// contents (the first max_line bytes, one trailing \r removed), which lines
// are too long, and the padding after the last line.
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "engine/line_reader.h"
#include "fuzz/fuzz_rules.h"

namespace {

using weir::Batch;
using weir::LineRef;
using weir::Matcher;

struct State {
  std::shared_ptr<const weir::RuleSet> rules;
  std::unique_ptr<Matcher> m;
};

State& Get() {
  static State* s = [] {
    auto* st = new State;
    const weir::EventLimits limits = weir::fuzz::FuzzLimits();
    st->rules = weir::fuzz::CompileOrDie(weir::fuzz::FuzzRuleDefs());
    st->m = std::make_unique<Matcher>(st->rules, limits);
    return st;
  }();
  return *s;
}

[[noreturn]] void Fail(const char* config, const std::string& what) {
  std::fprintf(stderr, "\n*** ndjson_fuzzer (reader %s): %s\n", config, what.c_str());
  std::abort();
}

struct Expected {
  std::string text;  // as LineReader should report it
  bool too_long;
};

// The reference split: lines end at \n (the last one may not); one \r before
// the end is dropped; a line longer than max_line keeps its first max_line bytes.
std::vector<Expected> Split(std::string_view in, size_t max_line) {
  std::vector<Expected> out;
  size_t i = 0;
  while (i < in.size()) {
    size_t nl = in.find('\n', i);
    size_t end = nl == std::string_view::npos ? in.size() : nl;
    std::string_view line = in.substr(i, end - i);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out.push_back({std::string(line.substr(0, max_line)), line.size() > max_line});
    i = end + 1;
  }
  return out;
}

int MemFd(const uint8_t* data, size_t size) {
  int fd = memfd_create("ndjson_fuzzer", MFD_CLOEXEC);
  if (fd < 0) {
    std::perror("memfd_create");
    std::abort();
  }
  for (size_t off = 0; off < size;) {
    ssize_t n = write(fd, data + off, size - off);
    if (n <= 0) {
      std::perror("write");
      std::abort();
    }
    off += static_cast<size_t>(n);
  }
  lseek(fd, 0, SEEK_SET);
  return fd;
}

// Returns the reading end of a SEQPACKET pair holding the input in `chunk`
// byte records, or -1 when it does not fit the socket buffer.
int Chunked(const uint8_t* data, size_t size, size_t chunk) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    std::perror("socketpair");
    std::abort();
  }
  for (size_t off = 0; off < size; off += chunk) {
    size_t n = std::min(chunk, size - off);
    if (send(sv[1], data + off, n, MSG_DONTWAIT) != static_cast<ssize_t>(n)) {
      close(sv[0]);
      close(sv[1]);
      return -1;
    }
  }
  shutdown(sv[1], SHUT_WR);
  close(sv[1]);
  return sv[0];
}

void Run(const char* config, int fd, std::string_view input, size_t max_line, size_t batch_bytes) {
  State& s = Get();
  std::vector<Expected> want = Split(input, max_line);
  weir::LineReader reader(fd, max_line, batch_bytes);
  Batch batch;
  std::vector<uint32_t> matches;
  size_t k = 0;
  uint64_t last_seq = 0;
  for (int guard = 0;; ++guard) {
    if (guard > static_cast<int>(input.size()) + 2) Fail(config, "LineReader does not finish");
    bool got = false;
    absl::Status st = reader.Next(&batch, &got);
    if (!st.ok()) Fail(config, "read error: " + st.ToString());
    if (!got) {
      if (!batch.lines.empty()) Fail(config, "lines returned at end of input");
      break;
    }
    if (batch.lines.empty()) Fail(config, "an empty batch");
    if (guard > 0 && batch.sequence != last_seq + 1) Fail(config, "batch sequence skips");
    last_seq = batch.sequence;
    const LineRef& back = batch.lines.back();
    if (batch.readable() < uint64_t{back.offset} + back.length + Matcher::kPadding)
      Fail(config, "no padding after the last line");
    for (const LineRef& ref : batch.lines) {
      if (uint64_t{ref.offset} + ref.length > batch.readable())
        Fail(config, "a line outside its batch");
      std::string_view line = batch.line(ref);
      if (k >= want.size()) Fail(config, "more lines than the input has");
      if (ref.number != k + 1)
        Fail(config, "line " + std::to_string(k + 1) + " is numbered " + std::to_string(ref.number));
      const Expected& e = want[k];
      if (line != e.text || batch.too_long(ref) != e.too_long)
        Fail(config, "line " + std::to_string(k + 1) + " is \"" + std::string(line) + "\"" +
                         (batch.too_long(ref) ? " (too long, full_length " +
                                                    std::to_string(ref.full_length) + ")"
                                              : "") +
                         ", expected \"" + e.text + "\"" + (e.too_long ? " (too long)" : ""));
      ++k;
      if (batch.too_long(ref)) continue;
      // As `weir filter` does: match, then validate what would be output.
      absl::Status m = s.m->MatchPadded(line, &matches);
      if (m.ok() && !matches.empty()) m = s.m->ValidatePadded(line);
    }
  }
  if (k != want.size())
    Fail(config, "read " + std::to_string(k) + " lines of " + std::to_string(want.size()));
  close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  Run("A", MemFd(data, size), input, 4096, 4096);
  Run("B", MemFd(data, size), input, 40, 1);
  int fd = Chunked(data, size, 7);
  if (fd >= 0) Run("C", fd, input, 24, 100);
  return 0;
}
