// The threaded pipeline does not hold a slow stream back: a pipe that brings
// one line and waits gets that line's match to the sink at once, on 1, 2 and
// 4 threads (the reader is blocked in read() meanwhile). Run under TSan.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "test_util.h"
#include "weir/stream.h"

namespace weir::testing {
namespace {

class FlagSink : public Sink {
 public:
  absl::Status OnBatch(const BatchResult& r) override {
    for (const Match& m : r.matches) {
      (void)m;
      if (++matched == 1) first_seen = true;
    }
    return absl::OkStatus();
  }
  std::atomic<bool> first_seen{false};
  std::atomic<int> matched{0};
};

TEST(StreamConcurrency, ASlowStreamIsNotHeldBack) {
  auto rules = CompileText("rules:\n  - id: a\n    filter: {x: [1]}\n");
  ASSERT_TRUE(rules);
  for (int threads : {1, 2, 4}) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    FlagSink sink;
    std::atomic<bool> waited_in_vain{false};
    std::thread writer([&] {
      const std::string first = "{\"x\":1}\n";
      EXPECT_EQ(write(fds[1], first.data(), first.size()), static_cast<ssize_t>(first.size()));
      // Up to 5 s for the first match to reach the sink while nothing else comes.
      auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (!sink.first_seen && std::chrono::steady_clock::now() < until) usleep(2000);
      waited_in_vain = !sink.first_seen;
      const std::string rest = "{\"x\":1}\n{\"x\":2}\n";
      EXPECT_EQ(write(fds[1], rest.data(), rest.size()), static_cast<ssize_t>(rest.size()));
      close(fds[1]);
    });
    PipelineOptions o;
    o.threads = threads;
    Pipeline p(rules, o);
    auto src = MakeFdSource(fds[0], "pipe");
    ASSERT_TRUE(src.ok());
    PipelineStats stats;
    ASSERT_TRUE(p.Run(**src, sink, &stats).ok());
    writer.join();
    close(fds[0]);
    EXPECT_FALSE(waited_in_vain) << threads << " threads: the first match waited for more input";
    EXPECT_EQ(sink.matched, 2) << threads;
    EXPECT_EQ(stats.lines, 3u);
  }
}

// Stop() from another thread ends a Run() blocked on a silent pipe.
TEST(StreamConcurrency, StopInterruptsABlockedSource) {
  auto rules = CompileText("rules:\n  - id: a\n    filter: {x: [1]}\n");
  ASSERT_TRUE(rules);
  for (int threads : {1, 2}) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    ASSERT_EQ(write(fds[1], "{\"x\":1}\n", 8), 8);
    PipelineOptions o;
    o.threads = threads;
    Pipeline p(rules, o);
    FlagSink sink;
    std::thread stopper([&] {
      while (!sink.first_seen) usleep(1000);
      p.Stop();
    });
    auto src = MakeFdSource(fds[0], "pipe");
    ASSERT_TRUE(src.ok());
    ASSERT_TRUE(p.Run(**src, sink).ok());
    stopper.join();
    EXPECT_EQ(sink.matched, 1);
    close(fds[0]);
    close(fds[1]);
  }
}

}  // namespace
}  // namespace weir::testing
