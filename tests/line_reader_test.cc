// NDJSON splitting: line numbers, CRLF, a last line without newline, lines
// over the limit, padding after every batch.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "engine/line_reader.h"
#include "gtest/gtest.h"
#include "weir/engine.h"

namespace weir {
namespace {

struct Line {
  uint64_t number;
  std::string text;
  uint64_t full;
  bool operator==(const Line&) const = default;
};

std::vector<Line> ReadAll(const std::string& input, size_t max_line, size_t batch = 16) {
  FILE* f = tmpfile();
  EXPECT_EQ(fwrite(input.data(), 1, input.size(), f), input.size());
  fflush(f);
  rewind(f);
  LineReader r(fileno(f), max_line, batch);
  std::vector<Line> out;
  Batch b;
  for (;;) {
    bool got = false;
    EXPECT_TRUE(r.Next(&b, &got).ok());
    if (!got) break;
    EXPECT_GE(b.readable(), b.lines.back().offset + b.lines.back().length + Matcher::kPadding);
    for (const LineRef& l : b.lines) out.push_back({l.number, std::string(b.line(l)), l.full_length});
  }
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
  LineReader r(fds[0], 1000);
  Batch b;
  bool got = false;
  ASSERT_TRUE(r.Next(&b, &got).ok());
  got_first = true;
  ASSERT_TRUE(got);
  ASSERT_EQ(b.lines.size(), 1u);  // before the writer went on
  EXPECT_EQ(b.line(b.lines[0]), "{\"a\":1}");
  ASSERT_TRUE(r.Next(&b, &got).ok());
  ASSERT_TRUE(got);
  ASSERT_EQ(b.lines.size(), 1u);
  EXPECT_EQ(b.line(b.lines[0]), "{\"b\":2}");
  EXPECT_EQ(b.lines[0].number, 2u);
  ASSERT_TRUE(r.Next(&b, &got).ok());
  EXPECT_FALSE(got);
  writer.join();
  close(fds[0]);
}

}  // namespace
}  // namespace weir
