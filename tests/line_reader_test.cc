// NDJSON splitting: line numbers, CRLF, a last line without newline, lines
// over the limit, padding after every batch.
#include <cstdio>

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

}  // namespace
}  // namespace weir
