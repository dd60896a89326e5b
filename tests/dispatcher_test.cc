// The dispatcher against executors of the test's own (as an embedder would
// register them): recording, retries, Retry-After, dead letters,
// deactivation, restarts on the same state directory, replay, backpressure.
// Webhook delivery to a real HTTP receiver is in webhook_test and run_test.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "tests/test_util.h"
#include "weir/actions.h"

namespace weir {
namespace {

namespace fs = std::filesystem;

// What executors saw, shared with the test.
struct Seen {
  std::mutex mu;
  std::vector<std::pair<std::string, int>> calls;  // (id, attempt)
  std::vector<std::chrono::steady_clock::time_point> times;
  size_t size() {
    std::lock_guard<std::mutex> l(mu);
    return calls.size();
  }
};

class ScriptedExecutor : public Executor {
 public:
  using Script = std::function<Outcome(const Delivery&)>;
  ScriptedExecutor(std::shared_ptr<Seen> seen, Script script, RetryPolicy retry = {},
                   DeactivationPolicy deact = {}, std::string target = "test:target")
      : seen_(std::move(seen)), script_(std::move(script)), retry_(retry), deact_(deact),
        target_(std::move(target)) {}
  void Start(const Delivery& d, std::function<void(Outcome)> done) override {
    {
      std::lock_guard<std::mutex> l(seen_->mu);
      seen_->calls.emplace_back(std::string(d.id), d.attempt);
      seen_->times.push_back(std::chrono::steady_clock::now());
    }
    done(script_(d));
  }
  std::string target() const override { return target_; }
  RetryPolicy retry() const override { return retry_; }
  DeactivationPolicy deactivation() const override { return deact_; }

 private:
  std::shared_ptr<Seen> seen_;
  Script script_;
  RetryPolicy retry_;
  DeactivationPolicy deact_;
  std::string target_;
};

// Never completes until released (a slow target). The held callbacks live
// in `Held`, which may outlive the executor (and the dispatcher).
struct Held {
  std::mutex mu;
  std::vector<std::function<void(Outcome)>> done;
  size_t size() {
    std::lock_guard<std::mutex> l(mu);
    return done.size();
  }
  void ReleaseAll() {
    std::vector<std::function<void(Outcome)>> h;
    {
      std::lock_guard<std::mutex> l(mu);
      h.swap(done);
    }
    for (auto& f : h) f(Outcome{});
  }
};

class HeldExecutor : public Executor {
 public:
  explicit HeldExecutor(std::shared_ptr<Held> held) : held_(std::move(held)) {}
  void Start(const Delivery& d, std::function<void(Outcome)> done) override {
    std::lock_guard<std::mutex> l(held_->mu);
    held_->done.push_back(std::move(done));
  }
  std::string target() const override { return "test:held"; }
  int concurrency() const override { return 1000; }

 private:
  std::shared_ptr<Held> held_;
};

class NamedSource : public Source {
 public:
  explicit NamedSource(std::string n) : name_(std::move(n)) {}
  const std::string& name() const override { return name_; }
  absl::Status Next(EventBatch*, bool* got) override {
    *got = false;
    return absl::OkStatus();
  }

 private:
  std::string name_;
};

constexpr char kRules[] = R"(
rules:
  - id: all
    filter: {kind: "*"}
    actions: [hook]
actions:
  hook: {stdout: {}}
)";

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           absl::StrCat("weir-dispatcher-", getpid(), "-", ::testing::UnitTest::GetInstance()
                                                              ->current_test_info()
                                                              ->name());
    fs::remove_all(dir_);
    rules_ = testing::CompileText(kRules);
    ASSERT_NE(rules_, nullptr);
  }
  void TearDown() override { fs::remove_all(dir_); }

  DispatcherOptions Options() {
    DispatcherOptions o;
    o.state_dir = dir_.string();
    o.log = [this](std::string_view m) {
      std::lock_guard<std::mutex> l(log_mu_);
      log_.push_back(std::string(m));
    };
    return o;
  }

  std::unique_ptr<Dispatcher> Open(std::unique_ptr<Executor> e, DispatcherOptions o) {
    std::map<std::string, std::unique_ptr<Executor>> m;
    m["hook"] = std::move(e);
    auto d = Dispatcher::Open(o, std::move(m));
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? *std::move(d) : nullptr;
  }

  // `n` events, all matching rule 0, from lines first..first+n-1.
  absl::Status Feed(Dispatcher& d, int n, int first = 1) {
    events_.clear();
    for (int i = 0; i < n; ++i) events_.push_back(absl::StrCat(R"({"kind":"k","n":)", first + i, "}"));
    BatchResult r;
    r.source = &source_;
    r.rules = rules_;
    static const uint32_t kSlot = 0;
    for (int i = 0; i < n; ++i) {
      Match m;
      m.event = events_[i];
      m.position.line = static_cast<uint64_t>(first + i);
      m.rules = absl::MakeConstSpan(&kSlot, 1);
      r.matches.push_back(m);
    }
    d.Prepare(&r);
    return d.OnBatch(r);
  }

  std::vector<std::string> DeadLetterLines() {
    std::ifstream in(dir_ / "dead-letter.ndjson");
    std::vector<std::string> v;
    for (std::string line; std::getline(in, line);) v.push_back(line);
    return v;
  }

  const ActionStats Stats(Dispatcher& d) {
    for (const ActionStats& s : d.Summary())
      if (s.action == "hook") return s;
    return {};
  }

  fs::path dir_;
  std::shared_ptr<const RuleSet> rules_;
  NamedSource source_{"events.ndjson"};
  std::vector<std::string> events_;
  std::mutex log_mu_;
  std::vector<std::string> log_;
};

absl::Time Soon() { return absl::Now() + absl::Seconds(10); }

TEST_F(DispatcherTest, DeliversEveryActionOnceWithStableIds) {
  auto seen = std::make_shared<Seen>();
  auto d = Open(std::make_unique<ScriptedExecutor>(seen, [](const Delivery&) { return Outcome{}; }),
                Options());
  ASSERT_TRUE(Feed(*d, 100).ok());
  ASSERT_TRUE(d->Drain(Soon()).ok());
  EXPECT_EQ(seen->size(), 100u);
  std::set<std::string> ids;
  for (auto& [id, attempt] : seen->calls) {
    ids.insert(id);
    EXPECT_EQ(attempt, 1);
    EXPECT_EQ(id.size(), 36u);
    EXPECT_EQ(id.rfind("msg_", 0), 0u);
  }
  EXPECT_EQ(ids.size(), 100u);
  ActionStats s = Stats(*d);
  EXPECT_EQ(s.matched, 100u);
  EXPECT_EQ(s.delivered, 100u);
  EXPECT_EQ(s.pending, 0u);
  EXPECT_EQ(s.target, "test:target");
  // The same event at the same position gets the same id.
  EXPECT_EQ(DeliveryId("events.ndjson", {1, 0, 0}, R"({"kind":"k","n":1})", "all", "hook"),
            seen->calls[0].first);
}

TEST_F(DispatcherTest, RetriesThenDeliversOnce) {
  auto seen = std::make_shared<Seen>();
  RetryPolicy retry{3, absl::Milliseconds(20), absl::Seconds(1)};
  auto d = Open(std::make_unique<ScriptedExecutor>(
                    seen,
                    [](const Delivery& dl) {
                      Outcome o;
                      if (dl.attempt == 1) {
                        o.kind = Outcome::Kind::kRetry;
                        o.status = 503;
                        o.reason = "HTTP 503";
                      }
                      return o;
                    },
                    retry),
                Options());
  ASSERT_TRUE(Feed(*d, 5).ok());
  ASSERT_TRUE(d->Drain(Soon()).ok());
  ActionStats s = Stats(*d);
  EXPECT_EQ(s.delivered, 5u);
  EXPECT_EQ(s.retried, 5u);
  EXPECT_EQ(s.dead_lettered, 0u);
  EXPECT_EQ(seen->size(), 10u);
  std::map<std::string, int> by_id;
  for (auto& [id, attempt] : seen->calls) by_id[id] = std::max(by_id[id], attempt);
  for (auto& [id, attempt] : by_id) EXPECT_EQ(attempt, 2) << id;
}

TEST_F(DispatcherTest, RetryAfterIsHonoured) {
  auto seen = std::make_shared<Seen>();
  RetryPolicy retry{2, absl::Milliseconds(1), absl::Seconds(5)};
  auto d = Open(std::make_unique<ScriptedExecutor>(
                    seen,
                    [](const Delivery& dl) {
                      Outcome o;
                      if (dl.attempt == 1) {
                        o.kind = Outcome::Kind::kRetry;
                        o.status = 429;
                        o.retry_after = absl::Milliseconds(600);
                      }
                      return o;
                    },
                    retry),
                Options());
  ASSERT_TRUE(Feed(*d, 1).ok());
  ASSERT_TRUE(d->Drain(Soon()).ok());
  ASSERT_EQ(seen->times.size(), 2u);
  auto waited = seen->times[1] - seen->times[0];
  EXPECT_GE(waited, std::chrono::milliseconds(590));
  EXPECT_LT(waited, std::chrono::milliseconds(3000));
}

TEST_F(DispatcherTest, ExhaustedRetriesGoToTheDeadLetters) {
  auto seen = std::make_shared<Seen>();
  RetryPolicy retry{2, absl::Milliseconds(5), absl::Seconds(1)};
  auto d = Open(std::make_unique<ScriptedExecutor>(
                    seen,
                    [](const Delivery&) {
                      return Outcome{Outcome::Kind::kRetry, 503, "HTTP 503", std::nullopt};
                    },
                    retry),
                Options());
  ASSERT_TRUE(Feed(*d, 3).ok());
  ASSERT_TRUE(d->Drain(Soon()).ok());
  ActionStats s = Stats(*d);
  EXPECT_EQ(s.delivered + s.dead_lettered, s.matched);
  EXPECT_EQ(s.dead_lettered, 3u);
  auto lines = DeadLetterLines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[0], ::testing::HasSubstr(R"("rule":"all","action":"hook","event":{"kind":"k")"));
  EXPECT_THAT(lines[0], ::testing::HasSubstr(R"("attempts":2,"last_status":503,"reason":"HTTP 503")"));
}

TEST_F(DispatcherTest, GoneDeactivatesTheTarget) {
  auto seen = std::make_shared<Seen>();
  auto d = Open(std::make_unique<ScriptedExecutor>(
                    seen,
                    [](const Delivery&) {
                      return Outcome{Outcome::Kind::kGone, 410, "HTTP 410", std::nullopt};
                    },
                    RetryPolicy{5, absl::Milliseconds(5), absl::Seconds(1)}),
                Options());
  ASSERT_TRUE(Feed(*d, 1).ok());
  ASSERT_TRUE(d->Drain(Soon()).ok());
  EXPECT_TRUE(Stats(*d).deactivated);
  ASSERT_TRUE(Feed(*d, 4, 2).ok());
  ASSERT_TRUE(d->Drain(Soon()).ok());
  EXPECT_EQ(seen->size(), 1u);  // nothing more was attempted
  auto lines = DeadLetterLines();
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_THAT(lines[4], ::testing::HasSubstr(R"("reason":"deactivated")"));
  std::lock_guard<std::mutex> l(log_mu_);
  ASSERT_FALSE(log_.empty());
  EXPECT_THAT(log_[0], ::testing::HasSubstr("target test:target deactivated"));
}

TEST_F(DispatcherTest, DeactivationPolicyCountsFailedDeliveriesNotAttempts) {
  auto seen = std::make_shared<Seen>();
  auto d = Open(std::make_unique<ScriptedExecutor>(
                    seen,
                    [](const Delivery&) {
                      return Outcome{Outcome::Kind::kRetry, 500, "HTTP 500", std::nullopt};
                    },
                    RetryPolicy{3, absl::Milliseconds(2), absl::Seconds(1)},
                    DeactivationPolicy{2, 5}),
                Options());
  ASSERT_TRUE(Feed(*d, 1).ok());
  ASSERT_TRUE(d->Drain(Soon()).ok());
  EXPECT_FALSE(Stats(*d).deactivated);  // 3 attempts, 1 failed delivery
  ASSERT_TRUE(Feed(*d, 1, 2).ok());
  ASSERT_TRUE(d->Drain(Soon()).ok());
  EXPECT_TRUE(Stats(*d).deactivated);
  EXPECT_EQ(seen->size(), 6u);
  // The state directory keeps it.
  d.reset();
  auto seen2 = std::make_shared<Seen>();
  auto d2 = Open(std::make_unique<ScriptedExecutor>(seen2, [](const Delivery&) { return Outcome{}; }),
                 Options());
  EXPECT_TRUE(Stats(*d2).deactivated);
  ASSERT_TRUE(Feed(*d2, 1, 3).ok());
  ASSERT_TRUE(d2->Drain(Soon()).ok());
  EXPECT_EQ(seen2->size(), 0u);
  EXPECT_EQ(DeadLetterLines().size(), 3u);
}

TEST_F(DispatcherTest, ARestartDeliversWhatTheOutboxHolds) {
  auto h = std::make_shared<Held>();
  auto d = Open(std::make_unique<HeldExecutor>(h), Options());
  ASSERT_TRUE(Feed(*d, 20).ok());
  for (int i = 0; i < 200 && h->size() < 20; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(h->size(), 20u);
  d->Stop(absl::Now() + absl::Milliseconds(50));  // nothing completes: all stay in the outbox
  d.reset();
  auto seen = std::make_shared<Seen>();
  auto d2 = Open(std::make_unique<ScriptedExecutor>(seen, [](const Delivery&) { return Outcome{}; }),
                 Options());
  EXPECT_EQ(Stats(*d2).pending, 20u);
  ASSERT_TRUE(d2->Drain(Soon()).ok());
  EXPECT_EQ(seen->size(), 20u);
  EXPECT_EQ(Stats(*d2).pending, 0u);
  h->ReleaseAll();  // a late completion of the old executor is harmless
}

TEST_F(DispatcherTest, TheStateDirectoryIsLocked) {
  auto seen = std::make_shared<Seen>();
  auto d = Open(std::make_unique<ScriptedExecutor>(seen, [](const Delivery&) { return Outcome{}; }),
                Options());
  std::map<std::string, std::unique_ptr<Executor>> m;
  auto second = Dispatcher::Open(Options(), std::move(m));
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(std::string(second.status().message()), ::testing::HasSubstr("in use by another weir process"));
}

TEST_F(DispatcherTest, ReplayResendsDeadLetters) {
  {
    auto seen = std::make_shared<Seen>();
    auto d = Open(std::make_unique<ScriptedExecutor>(
                      seen,
                      [](const Delivery&) {
                        return Outcome{Outcome::Kind::kFailed, 400, "HTTP 400", std::nullopt};
                      }),
                  Options());
    ASSERT_TRUE(Feed(*d, 4).ok());
    ASSERT_TRUE(d->Drain(Soon()).ok());
    EXPECT_EQ(Stats(*d).dead_lettered, 4u);
  }
  ASSERT_EQ(DeadLetterLines().size(), 4u);
  auto seen = std::make_shared<Seen>();
  auto d = Open(std::make_unique<ScriptedExecutor>(seen, [](const Delivery&) { return Outcome{}; }),
                Options());
  auto n = d->ReplayDeadLetters();
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 4u);
  ASSERT_TRUE(d->Drain(Soon()).ok());
  EXPECT_EQ(seen->size(), 4u);
  EXPECT_EQ(DeadLetterLines().size(), 0u);
}

TEST_F(DispatcherTest, ReadingWaitsWhileTheOutboxIsFull) {
  auto h = std::make_shared<Held>();
  DispatcherOptions o = Options();
  o.max_pending = 10;
  auto d = Open(std::make_unique<HeldExecutor>(h), o);
  ASSERT_TRUE(Feed(*d, 10).ok());
  std::atomic<bool> second_done{false};
  std::thread t([&] {
    std::vector<std::string> keep;
    EXPECT_TRUE(Feed(*d, 5, 11).ok());
    second_done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(second_done.load());
  for (int i = 0; i < 200 && h->size() < 10; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  h->ReleaseAll();
  t.join();
  EXPECT_TRUE(second_done.load());
  for (int i = 0; i < 200 && h->size() < 5; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  h->ReleaseAll();
  ASSERT_TRUE(d->Drain(Soon()).ok());
  EXPECT_EQ(Stats(*d).delivered, 15u);
}

TEST_F(DispatcherTest, RecordsWhereAFileInputResumes) {
  auto seen = std::make_shared<Seen>();
  auto d = Open(std::make_unique<ScriptedExecutor>(seen, [](const Delivery&) { return Outcome{}; }),
                Options());
  EventBatch batch;
  batch.end_offset = 1234;
  batch.end_line = 56;
  BatchResult r;
  r.source = &source_;
  r.batch = &batch;
  r.rules = rules_;
  ASSERT_TRUE(d->OnBatch(r).ok());
  auto p = d->Resume("events.ndjson");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->offset, 1234u);
  EXPECT_EQ(p->line, 56u);
  EXPECT_FALSE(d->Resume("other").has_value());
  ASSERT_TRUE(d->Finish("events.ndjson").ok());
  EXPECT_FALSE(d->Resume("events.ndjson").has_value());
}

}  // namespace
}  // namespace weir
