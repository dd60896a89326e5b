// The pipeline (weir/stream.h): every event is matched and validated before
// the sink sees it, in input order, on 1 or N threads; bad lines are reported
// with their documented reasons; rules swap at a batch boundary; Stop().
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "test_util.h"
#include "weir/stream.h"

namespace weir::testing {
namespace {

constexpr char kRules[] = R"(rules:
  - id: a
    filter: {x: [1, 2]}
  - id: b
    filter: {x: [2]}
)";

struct Seen {
  uint64_t line;
  std::string event;
  std::vector<std::string> ids;
  bool operator==(const Seen&) const = default;
};

// Records what it sees; checks the order of batches and that Prepare ran.
class RecordingSink : public Sink {
 public:
  void Prepare(BatchResult* r) override { r->prepared = "prepared"; }
  absl::Status OnBatch(const BatchResult& r) override {
    EXPECT_EQ(r.prepared, "prepared");
    EXPECT_EQ(r.batch->sequence, next_sequence++);
    for (const Match& m : r.matches) {
      Seen s{m.position.line, std::string(m.event), {}};
      for (uint32_t slot : m.rules) s.ids.push_back(std::string(r.rules->id(slot)));
      seen.push_back(std::move(s));
    }
    for (const BadEvent& b : r.bad) bad.push_back(absl::StrCat(b.position.line, ": ", b.reason));
    if (fail_after && ++batches == fail_after) return absl::DataLossError("sink broke");
    return absl::OkStatus();
  }
  std::vector<Seen> seen;
  std::vector<std::string> bad;
  uint64_t next_sequence = 0;
  int fail_after = 0, batches = 0;
};

std::string Events(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) absl::StrAppend(&s, "{\"x\":", i % 3, ",\"i\":", i, "}\n");
  return s;
}

TEST(Pipeline, MatchesInOrderOnOneAndManyThreads) {
  auto rules = CompileText(kRules);
  ASSERT_TRUE(rules);
  const std::string input = Events(3000);
  std::vector<Seen> first;
  for (int threads : {1, 2, 4}) {
    PipelineOptions o;
    o.threads = threads;
    o.max_batches_in_flight = 3;
    Pipeline p(rules, o);
    FdSourceOptions so;
    so.batch_bytes = 4096;  // many batches
    auto src = MakeMemorySource(input, "mem", so);
    RecordingSink sink;
    PipelineStats stats;
    ASSERT_TRUE(p.Run(*src, sink, &stats).ok());
    EXPECT_EQ(stats.lines, 3000u);
    EXPECT_EQ(stats.events, 3000u);
    EXPECT_EQ(stats.matched, 2000u);
    EXPECT_EQ(stats.bytes, input.size());
    ASSERT_EQ(sink.seen.size(), 2000u) << threads;
    EXPECT_EQ(sink.seen[1], (Seen{3, "{\"x\":2,\"i\":2}", {"a", "b"}}));
    if (first.empty()) first = sink.seen;
    EXPECT_EQ(sink.seen, first) << threads;
  }
}

TEST(Pipeline, BadLinesHaveTheirReasonsAndMatchedEventsAreValidated) {
  auto rules = CompileText(kRules);
  ASSERT_TRUE(rules);
  // Line 2 matches where matching reads it, but is not valid JSON further on:
  // it must not reach the sink.
  const std::string input =
      "{\"x\":1}\n{\"x\":1,\"y\":[1,}\n\n[1]\n" + std::string(200, ' ') + "{\"x\":2}\n";
  for (bool all : {false, true}) {
    PipelineOptions o;
    o.validate_all = all;
    o.limits.max_event_bytes = 100;
    FdSourceOptions so;
    so.max_event_bytes = 100;
    Pipeline p(rules, o);
    auto src = MakeMemorySource(input, "mem", so);
    RecordingSink sink;
    PipelineStats stats;
    ASSERT_TRUE(p.Run(*src, sink, &stats).ok());
    ASSERT_EQ(sink.seen.size(), 1u);
    EXPECT_EQ(sink.seen[0].line, 1u);
    ASSERT_EQ(sink.bad.size(), 3u);
    EXPECT_EQ(sink.bad[0].substr(0, 3), "2: ");
    EXPECT_EQ(sink.bad[1].substr(0, 3), "4: ");
    EXPECT_EQ(sink.bad[2], "5: event is 207 bytes, over the limit of 100");
    EXPECT_EQ(stats.blank, 1u);
    EXPECT_EQ(stats.bad, 3u);
  }
}

TEST(Pipeline, SinkErrorStopsTheRun) {
  auto rules = CompileText(kRules);
  ASSERT_TRUE(rules);
  for (int threads : {1, 3}) {
    PipelineOptions o;
    o.threads = threads;
    Pipeline p(rules, o);
    FdSourceOptions so;
    so.batch_bytes = 4096;
    auto src = MakeMemorySource(Events(5000), "mem", so);
    RecordingSink sink;
    sink.fail_after = 2;
    absl::Status st = p.Run(*src, sink);
    EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
    EXPECT_EQ(sink.batches, 2);
  }
}

// Rules swapped by SetRules() apply from the next batch read.
class SwappingSink : public RecordingSink {
 public:
  absl::Status OnBatch(const BatchResult& r) override {
    if (r.batch->sequence == 0) pipeline->SetRules(next);
    return RecordingSink::OnBatch(r);
  }
  Pipeline* pipeline = nullptr;
  std::shared_ptr<const RuleSet> next;
};

TEST(Pipeline, SetRulesSwapsBetweenBatches) {
  auto rules = CompileText(kRules);
  auto other = CompileText("rules:\n  - id: c\n    filter: {x: [0]}\n");
  ASSERT_TRUE(rules && other);
  Pipeline p(rules);
  SwappingSink sink;
  sink.pipeline = &p;
  sink.next = other;
  FdSourceOptions so;
  so.batch_bytes = 4096;
  auto src = MakeMemorySource(Events(3000), "mem", so);
  ASSERT_TRUE(p.Run(*src, sink).ok());
  EXPECT_EQ(p.rules(), other);
  ASSERT_FALSE(sink.seen.empty());
  EXPECT_EQ(sink.seen.front().ids, std::vector<std::string>{"a"});
  EXPECT_EQ(sink.seen.back().ids, std::vector<std::string>{"c"});
}

class StoppingSink : public RecordingSink {
 public:
  absl::Status OnBatch(const BatchResult& r) override {
    pipeline->Stop();
    return RecordingSink::OnBatch(r);
  }
  Pipeline* pipeline = nullptr;
};

TEST(Pipeline, StopEndsTheRunAndStays) {
  auto rules = CompileText(kRules);
  ASSERT_TRUE(rules);
  for (int threads : {1, 2}) {
    PipelineOptions o;
    o.threads = threads;
    o.max_batches_in_flight = 2;
    Pipeline p(rules, o);
    StoppingSink sink;
    sink.pipeline = &p;
    FdSourceOptions so;
    so.batch_bytes = 4096;
    auto src = MakeMemorySource(Events(20000), "mem", so);
    PipelineStats stats;
    ASSERT_TRUE(p.Run(*src, sink, &stats).ok());
    EXPECT_TRUE(p.stopped());
    EXPECT_LT(stats.lines, 20000u);
    EXPECT_GT(stats.lines, 0u);
    RecordingSink again;
    auto src2 = MakeMemorySource(Events(10), "mem");
    ASSERT_TRUE(p.Run(*src2, again).ok());
    EXPECT_TRUE(again.seen.empty());
  }
}

}  // namespace
}  // namespace weir::testing
