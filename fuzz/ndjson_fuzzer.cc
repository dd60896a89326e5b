// Fuzzes the NDJSON sources of weir/stream.h: the input is read by the fd
// source (and the memory source) and every line is matched the way the
// pipeline does it (MatchPadded, then ValidateMatchedPadded before anything
// is output), against the fixed rule set of fuzz_rules.h.
//
// Each input goes through three readers with small limits:
//   A: memfd, max_line 4096 (= max_event_bytes), batch 4096;
//   B: memfd, max_line 40, batch 1 (one line per batch);
//   C: a SOCK_SEQPACKET socket fed in 7-byte records, so reads return short
//      chunks at fixed places (like a pipe, but deterministic); max_line 24,
//      batch 100;
//   D: the memory source, max_line 4096, batch 4096.
// The batches are checked against a plain split of the input: line numbers,
// byte offsets, contents (the first max_line bytes, one trailing \r removed),
// which lines are too long, a leading byte-order mark skipped, and the
// padding after the last line.
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

#include "fuzz/fuzz_rules.h"
#include "weir/stream.h"

namespace {

using weir::EventBatch;
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
  std::string text;  // as the source should report it
  bool too_long;
  uint64_t offset;
};

// The reference split: lines end at \n (the last one may not); one \r before
// the end is dropped; a line longer than max_line keeps its first max_line bytes.
std::vector<Expected> Split(std::string_view in, size_t max_line) {
  std::vector<Expected> out;
  size_t i = in.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
  while (i < in.size()) {
    size_t nl = in.find('\n', i);
    size_t end = nl == std::string_view::npos ? in.size() : nl;
    std::string_view line = in.substr(i, end - i);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out.push_back({std::string(line.substr(0, max_line)), line.size() > max_line, i});
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

void Check(const char* config, weir::Source& source, std::string_view input, size_t max_line) {
  State& s = Get();
  std::vector<Expected> want = Split(input, max_line);
  EventBatch batch;
  std::vector<uint32_t> matches;
  size_t k = 0;
  for (int guard = 0;; ++guard) {
    if (guard > static_cast<int>(input.size()) + 2) Fail(config, "the source does not finish");
    bool got = false;
    batch.Clear();
    absl::Status st = source.Next(&batch, &got);
    if (!st.ok()) Fail(config, "read error: " + st.ToString());
    if (!got) {
      if (!batch.empty()) Fail(config, "lines returned at end of input");
      break;
    }
    if (batch.empty()) Fail(config, "an empty batch");
    const EventBatch::Event& back = batch.events().back();
    if (batch.end_line != back.position.line) Fail(config, "end_line is not the last line's");
    // Readable padding after the last line (ASan checks the reads).
    volatile char sink = 0;
    for (size_t i = 0; i < Matcher::kPadding; ++i) sink = sink + batch.data()[back.offset + back.length + i];
    for (const EventBatch::Event& e : batch.events()) {
      if (uint64_t{e.offset} + e.length > batch.size()) Fail(config, "a line outside its batch");
      std::string_view line = batch.event(e);
      if (k >= want.size()) Fail(config, "more lines than the input has");
      if (e.position.line != k + 1)
        Fail(config, "line " + std::to_string(k + 1) + " is numbered " +
                         std::to_string(e.position.line));
      const Expected& x = want[k];
      if (e.position.offset != x.offset)
        Fail(config, "line " + std::to_string(k + 1) + " is at offset " +
                         std::to_string(e.position.offset) + ", expected " +
                         std::to_string(x.offset));
      if (line != x.text || batch.too_long(e) != x.too_long)
        Fail(config, "line " + std::to_string(k + 1) + " is \"" + std::string(line) + "\"" +
                         (batch.too_long(e) ? " (too long, full_length " +
                                                  std::to_string(e.full_length) + ")"
                                            : "") +
                         ", expected \"" + x.text + "\"" + (x.too_long ? " (too long)" : ""));
      ++k;
      if (batch.too_long(e)) continue;
      // As the pipeline does: match, then validate what would be output.
      absl::Status m = s.m->MatchPadded(line, &matches);
      if (m.ok() && !matches.empty()) m = s.m->ValidateMatchedPadded(line);
    }
  }
  if (k != want.size())
    Fail(config, "read " + std::to_string(k) + " lines of " + std::to_string(want.size()));
}

void Run(const char* config, int fd, std::string_view input, size_t max_line, size_t batch_bytes) {
  weir::FdSourceOptions o;
  o.max_event_bytes = max_line;
  o.batch_bytes = batch_bytes;
  auto source = weir::MakeFdSource(fd, config, o);
  if (!source.ok()) Fail(config, "MakeFdSource: " + source.status().ToString());
  Check(config, **source, input, max_line);
  close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  Run("A", MemFd(data, size), input, 4096, 4096);
  Run("B", MemFd(data, size), input, 40, 1);
  int fd = Chunked(data, size, 7);
  if (fd >= 0) Run("C", fd, input, 24, 100);
  weir::FdSourceOptions o;
  o.max_event_bytes = 4096;
  o.batch_bytes = 4096;
  auto mem = weir::MakeMemorySource(std::string(input), "D", o);
  Check("D", *mem, input, 4096);
  return 0;
}
