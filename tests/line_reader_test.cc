// The NDJSON sources (weir/stream.h): line numbers, offsets, CRLF, a last
// line without newline, lines over the limit, padding after every batch, a
// byte-order mark, resuming.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "gtest/gtest.h"
#include "weir/engine.h"
#include "weir/stream.h"

namespace weir {
namespace {

struct Line {
  uint64_t number;
  std::string text;
  uint64_t full;
  uint64_t offset = 0;
  bool operator==(const Line&) const = default;
};

std::vector<Line> Drain(Source& src, bool with_offsets) {
  std::vector<Line> out;
  EventBatch b;
  uint64_t last_end = 0;
  for (;;) {
    bool got = false;
    b.Clear();
    EXPECT_TRUE(src.Next(&b, &got).ok());
    if (!got) break;
    EXPECT_GE(b.size(), b.events().back().offset + b.events().back().length);
    // The padding is readable (ASan checks it) and after every event.
    const auto& back = b.events().back();
    std::string pad(b.data() + back.offset + back.length, Matcher::kPadding);
    EXPECT_EQ(pad.size(), Matcher::kPadding);
    EXPECT_GE(b.end_offset, last_end);
    last_end = b.end_offset;
    EXPECT_EQ(b.end_line, back.position.line);
    for (const auto& e : b.events())
      out.push_back({e.position.line, std::string(b.event(e)), e.full_length,
                     with_offsets ? e.position.offset : 0});
  }
  return out;
}

std::vector<Line> ReadAll(const std::string& input, size_t max_line, size_t batch = 16,
                          bool with_offsets = false, uint64_t start_offset = 0,
                          uint64_t start_line = 0) {
  FILE* f = tmpfile();
  EXPECT_EQ(fwrite(input.data(), 1, input.size(), f), input.size());
  fflush(f);
  rewind(f);
  FdSourceOptions o;
  o.max_event_bytes = max_line;
  o.batch_bytes = batch;
  o.start_offset = start_offset;
  o.start_line = start_line;
  auto src = MakeFdSource(fileno(f), "t", o);
  EXPECT_TRUE(src.ok()) << src.status();
  std::vector<Line> out = Drain(**src, with_offsets);
  // The memory source splits the same way.
  auto mem = MakeMemorySource(input, "m", o);
  EXPECT_EQ(Drain(*mem, with_offsets), out);
  // So does the file read through a mapping (batches borrow its bytes).
  rewind(f);
  o.map_min_bytes = 0;
  auto mapped = MakeFdSource(fileno(f), "t", o);
  EXPECT_TRUE(mapped.ok()) << mapped.status();
  EXPECT_EQ(Drain(**mapped, with_offsets), out);
  fclose(f);
  return out;
}

TEST(LineReader, SplitsAndNumbers) {
  auto lines = ReadAll("{\"a\":1}\n\n{\"b\":2}\r\n{\"c\":3}", 100);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], (Line{1, "{\"a\":1}", 7}));
  EXPECT_EQ(lines[1], (Line{2, "", 0}));
  EXPECT_EQ(lines[2], (Line{3, "{\"b\":2}", 7}));
  EXPECT_EQ(lines[3], (Line{4, "{\"c\":3}", 7}));
}

TEST(LineReader, TooLongLinesAreCutAndTheRestGoesOn) {
  std::string big(100000, 'x');
  auto lines = ReadAll("{}\n" + big + "\n{\"z\":1}\n", 50, 64);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1].number, 2u);
  EXPECT_EQ(lines[1].text.size(), 50u);
  EXPECT_EQ(lines[1].full, 100000u);
  EXPECT_EQ(lines[2], (Line{3, "{\"z\":1}", 7}));
}

TEST(LineReader, ManySmallBatches) {
  std::string in;
  for (int i = 0; i < 5000; ++i) in += "{\"i\":" + std::to_string(i) + "}\n";
  auto lines = ReadAll(in, 1000, 100);
  ASSERT_EQ(lines.size(), 5000u);
  EXPECT_EQ(lines[4999].text, "{\"i\":4999}");
  EXPECT_EQ(lines[4999].number, 5000u);
}

TEST(LineReader, EmptyInput) { EXPECT_TRUE(ReadAll("", 10).empty()); }

// Mapped files: many batches of whole lines, a last line without newline,
// and a file that shrinks while it is read.
TEST(LineReader, MappedFileMatchesRead) {
  std::string input;
  for (int i = 0; i < 5000; ++i)
    input += "{\"n\":" + std::to_string(i) + (i % 7 == 0 ? "}\r\n" : i % 11 == 0 ? "}\n\n" : "}\n");
  input += std::string(9000, 'x') + "\n{\"last\":1}";
  std::vector<Line> lines = ReadAll(input, 5000, 4096, true);
  ASSERT_GT(lines.size(), 5000u);
  EXPECT_EQ(lines.back().text, "{\"last\":1}");
  // Resumed in the middle.
  EXPECT_EQ(ReadAll(input, 5000, 4096, true, lines[100].offset, 100).front(), lines[100]);
}

TEST(LineReader, MappedFileThatShrinksStopsWithAnError) {
  FILE* f = tmpfile();
  std::string line = std::string(100, 'a') + "\n";
  for (int i = 0; i < 20000; ++i) fwrite(line.data(), 1, line.size(), f);
  fflush(f);
  rewind(f);
  FdSourceOptions o;
  o.batch_bytes = 64 << 10;
  o.map_min_bytes = 0;
  auto src = MakeFdSource(fileno(f), "t", o);
  ASSERT_TRUE(src.ok());
  EventBatch b;
  bool got = false;
  ASSERT_TRUE((*src)->Next(&b, &got).ok());
  ASSERT_TRUE(got);
  EXPECT_EQ(b.data()[0], 'a');
  ASSERT_EQ(ftruncate(fileno(f), 0), 0);
  // The borrowed bytes are gone with the file: they read as NUL, not SIGBUS.
  EXPECT_EQ(b.data()[0], '\0');
  EXPECT_EQ(b.data()[1000], '\0');
  absl::Status st = (*src)->Next(&b, &got);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << st;
  fclose(f);
}

// A pipe that brings one line and then waits: the line comes out at once,
// not when a batch is full or the pipe closes (weir filter as a stream stage).
TEST(LineReader, AStreamHandsOverWhatHasCome) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::atomic<bool> got_first{false};
  std::thread writer([&] {
    const std::string first = "{\"a\":1}\n{\"b\"";  // a whole line and part of the next
    EXPECT_EQ(write(fds[1], first.data(), first.size()), static_cast<ssize_t>(first.size()));
    for (int i = 0; i < 200 && !got_first; ++i) usleep(10000);  // up to 2 s
    const std::string rest = ":2}\n";
    EXPECT_EQ(write(fds[1], rest.data(), rest.size()), static_cast<ssize_t>(rest.size()));
    close(fds[1]);
  });
  FdSourceOptions o;
  o.max_event_bytes = 1000;
  auto src = MakeFdSource(fds[0], "pipe", o);
  ASSERT_TRUE(src.ok());
  Source& r = **src;
  EventBatch b;
  bool got = false;
  ASSERT_TRUE(r.Next(&b, &got).ok());
  got_first = true;
  ASSERT_TRUE(got);
  ASSERT_EQ(b.events().size(), 1u);  // before the writer went on
  EXPECT_EQ(b.event(b.events()[0]), "{\"a\":1}");
  b.Clear();
  ASSERT_TRUE(r.Next(&b, &got).ok());
  ASSERT_TRUE(got);
  ASSERT_EQ(b.events().size(), 1u);
  EXPECT_EQ(b.event(b.events()[0]), "{\"b\":2}");
  EXPECT_EQ(b.events()[0].position.line, 2u);
  EXPECT_EQ(b.events()[0].position.offset, 8u);
  b.Clear();
  ASSERT_TRUE(r.Next(&b, &got).ok());
  EXPECT_FALSE(got);
  writer.join();
  close(fds[0]);
}

TEST(LineReader, Offsets) {
  auto lines = ReadAll("{\"a\":1}\r\n\n{\"b\":2}", 100, 4096, true);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], (Line{1, "{\"a\":1}", 7, 0}));
  EXPECT_EQ(lines[1], (Line{2, "", 0, 9}));
  EXPECT_EQ(lines[2], (Line{3, "{\"b\":2}", 7, 10}));
}

TEST(LineReader, ByteOrderMarkAtTheStartIsSkipped) {
  auto lines = ReadAll("\xEF\xBB\xBF{\"a\":1}\n\xEF\xBB\xBF{}\n", 100, 4096, true);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], (Line{1, "{\"a\":1}", 7, 3}));
  // Only at the start of the input: later it is part of the line (and bad).
  EXPECT_EQ(lines[1], (Line{2, "\xEF\xBB\xBF{}", 5, 11}));
  // A BOM alone, or part of one.
  EXPECT_TRUE(ReadAll("\xEF\xBB\xBF", 100).empty());
  lines = ReadAll("\xEF\xBB", 100);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].text, "\xEF\xBB");
}

TEST(LineReader, ResumesAtAnOffset) {
  const std::string in = "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n";
  auto all = ReadAll(in, 100, 4096, true);
  ASSERT_EQ(all.size(), 3u);
  auto rest = ReadAll(in, 100, 4096, true, all[1].offset, 1);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0], all[1]);
  EXPECT_EQ(rest[1], all[2]);
}

TEST(LineReader, AStreamCannotResumeAtAnOffset) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  FdSourceOptions o;
  o.start_offset = 10;
  auto src = MakeFdSource(fds[0], "pipe", o);
  EXPECT_FALSE(src.ok());
  close(fds[0]);
  close(fds[1]);
}

// Interrupt() wakes a Next() blocked on a silent pipe.
TEST(LineReader, InterruptWakesABlockedRead) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  auto src = MakeFdSource(fds[0], "pipe");
  ASSERT_TRUE(src.ok());
  ASSERT_EQ(write(fds[1], "{}\n{\"partial", 13), 13);
  EventBatch b;
  bool got = false;
  ASSERT_TRUE((*src)->Next(&b, &got).ok());
  ASSERT_TRUE(got);
  std::thread stopper([&] {
    usleep(50000);
    (*src)->Interrupt();
  });
  b.Clear();
  ASSERT_TRUE((*src)->Next(&b, &got).ok());
  EXPECT_FALSE(got);  // the partial line is dropped, not reported
  stopper.join();
  close(fds[0]);
  close(fds[1]);
}

TEST(EventBatch, AddCopiesAndPads) {
  EventBatch b;
  b.Add("{\"a\":1}", {5, 40, 7});
  b.Add("{}", {6, 50, 8});
  ASSERT_EQ(b.events().size(), 2u);
  EXPECT_EQ(b.event(b.events()[0]), "{\"a\":1}");
  EXPECT_EQ(b.event(b.events()[1]), "{}");
  EXPECT_EQ(b.events()[1].position.sequence, 8u);
  EXPECT_FALSE(b.too_long(b.events()[1]));
  EventBatch moved = std::move(b);
  EXPECT_EQ(moved.event(moved.events()[1]), "{}");
  moved.Clear();
  EXPECT_TRUE(moved.empty());
}

}  // namespace
}  // namespace weir
