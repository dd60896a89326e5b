// weir::nats against a real nats-server on 127.0.0.1 (started and stopped by
// the test, on a free port, in a temporary directory).
#include "weir/nats.h"

#include <arpa/inet.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "nats/client.h"
#include "weir/actions.h"
#include "weir/open.h"
#include "weir/stream.h"

namespace weir::nats {
namespace {

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

class NatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / absl::StrCat("weir-nats-", getpid(), "-", ++n_);
    std::filesystem::create_directories(dir_);
    port_ = FreePort();
    url_ = absl::StrCat("nats://127.0.0.1:", port_);
    pid_ = fork();
    if (pid_ == 0) {
      std::string p = std::to_string(port_), sd = (dir_ / "js").string();
      freopen("/dev/null", "w", stderr);
      freopen("/dev/null", "w", stdout);
      execlp("nats-server", "nats-server", "-js", "-a", "127.0.0.1", "-p", p.c_str(), "-sd",
             sd.c_str(), nullptr);
      _exit(127);
    }
    for (int i = 0; i < 200; ++i) {
      if (natsConnection_ConnectTo(&nc_, url_.c_str()) == NATS_OK) break;
      absl::SleepFor(absl::Milliseconds(25));
    }
    ASSERT_NE(nc_, nullptr) << "nats-server did not start";
    ASSERT_EQ(natsConnection_JetStream(&js_, nc_, nullptr), NATS_OK);
  }
  void TearDown() override {
    if (js_) jsCtx_Destroy(js_);
    if (nc_) natsConnection_Destroy(nc_);
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    std::filesystem::remove_all(dir_);
  }
  void AddStream(const char* name, const char* subject) {
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = name;
    const char* subj[] = {subject};
    cfg.Subjects = subj;
    cfg.SubjectsLen = 1;
    jsStreamInfo* si = nullptr;
    ASSERT_EQ(js_AddStream(&si, js_, &cfg, nullptr, nullptr), NATS_OK);
    jsStreamInfo_Destroy(si);
  }
  void Publish(const char* subject, const std::string& data) {
    jsPubAck* pa = nullptr;
    ASSERT_EQ(
        js_Publish(&pa, js_, subject, data.data(), static_cast<int>(data.size()), nullptr, nullptr),
        NATS_OK);
    jsPubAck_Destroy(pa);
  }
  uint64_t StreamMsgs(const char* stream) {
    jsStreamInfo* si = nullptr;
    if (js_GetStreamInfo(&si, js_, stream, nullptr, nullptr) != NATS_OK) return ~0ull;
    uint64_t n = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    return n;
  }
  uint64_t ConsumerLeft(const char* stream, const char* consumer) {
    jsConsumerInfo* ci = nullptr;
    if (js_GetConsumerInfo(&ci, js_, stream, consumer, nullptr, nullptr) != NATS_OK) return ~0ull;
    uint64_t n = ci->NumPending + ci->NumAckPending;
    jsConsumerInfo_Destroy(ci);
    return n;
  }
  std::shared_ptr<const RuleSet> Rules(const std::string& yaml,
                                       std::map<std::string, ActionDef>* actions = nullptr) {
    std::string path = (dir_ / "rules.yaml").string();
    std::ofstream(path) << yaml;
    auto o = OpenRules({path});
    EXPECT_TRUE(o.ok() && o->ok());
    if (actions) *actions = o->actions;
    return o->rules;
  }

  static inline int n_ = 0;
  std::filesystem::path dir_;
  int port_ = 0;
  std::string url_;
  pid_t pid_ = -1;
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
};

TEST(NatsUrl, CredentialsAreRedacted) {
  EXPECT_EQ(RedactUrl("nats://alice:s3cret@host:4222"), "nats://***@host:4222");
  EXPECT_EQ(RedactUrl("nats://tok@a:1, nats://b:2"), "nats://***@a:1,nats://b:2");
  EXPECT_EQ(RedactUrl("nats://host:4222"), "nats://host:4222");
}

TEST_F(NatsTest, MissingStreamIsAClearErrorWithoutTheCredentials) {
  SourceOptions o;
  o.connect.url = absl::StrCat("nats://alice:s3cret@127.0.0.1:", port_);
  o.connect.log = [](std::string_view) {};
  o.stream = "NOPE";
  o.consumer = "c";
  auto s = MakeSource(o);
  ASSERT_FALSE(s.ok());
  std::string m(s.status().message());
  EXPECT_NE(m.find("no stream 'NOPE'"), std::string::npos) << m;
  EXPECT_EQ(m.find("s3cret"), std::string::npos) << m;
  EXPECT_EQ(m.find("alice"), std::string::npos) << m;
}

// Counts what the pipeline hands over, and bad events by sequence.
class CountingSink : public Sink {
 public:
  absl::Status OnBatch(const BatchResult& r) override {
    for (const Match& m : r.matches) seqs.insert(m.position.sequence);
    for (const BadEvent& b : r.bad) bad.insert(b.position.sequence);
    events += r.events;
    return absl::OkStatus();
  }
  std::set<uint64_t> seqs, bad;
  uint64_t events = 0;
};

TEST_F(NatsTest, SourceReadsEveryMessageAndAcksAfterTheSink) {
  AddStream("EV", "ev.>");
  const int n = 3000;
  for (int i = 0; i < n; ++i)
    Publish("ev.x", i == 7 ? std::string("not json")
                           : absl::StrCat("{\"i\":", i, ",\"k\":\"", i % 3 ? "b" : "a", "\"}"));
  auto rules = Rules("rules:\n  - id: k-a\n    filter:\n      k: a\n");
  SourceOptions o;
  o.connect.url = url_;
  o.stream = "EV";
  o.consumer = "c1";
  auto src = MakeSource(o);
  ASSERT_TRUE(src.ok()) << src.status();
  EXPECT_EQ((*src)->name(), "nats:EV/c1");
  Pipeline p(rules);
  CountingSink sink;
  std::thread t([&] { ASSERT_TRUE(p.Run(**src, sink).ok()); });
  absl::Time end = absl::Now() + absl::Seconds(20);
  while (ConsumerLeft("EV", "c1") != 0 && absl::Now() < end) absl::SleepFor(absl::Milliseconds(20));
  p.Stop();
  t.join();
  EXPECT_EQ(sink.seqs.size(), 1000u);          // i % 3 == 0: sequences 1, 4, 7 (bad), ...
  EXPECT_EQ(sink.bad, std::set<uint64_t>{8});  // the bad message, acknowledged too
  EXPECT_EQ(ConsumerLeft("EV", "c1"), 0u);
}

// weir's own pull requests (nats/client.h, Puller): a fetch that gives up
// before its messages arrive leaves them "late"; the next fetch returns
// them, never more than asked, and every message comes exactly once. This
// is the case in which cnats 3.4.1's natsSubscription_Fetch wrote past its
// array (docs/scale-out.md, "Known problems").
TEST_F(NatsTest, PullerReturnsLateMessagesOnceAndNeverMoreThanAsked) {
  AddStream("PL", "pl.>");
  const int n = 2000;
  for (int i = 0; i < n; ++i) Publish("pl.x", absl::StrCat(i));
  ConnectOptions co;
  co.url = url_;
  auto client = Client::Connect(co);
  ASSERT_TRUE(client.ok()) << client.status();
  ConsumerDefaults d;
  ASSERT_TRUE((*client)->EnsureConsumer("PL", "p", "", d).ok());
  auto puller = Puller::Bind(**client, "PL", "p");
  ASSERT_TRUE(puller.ok()) << puller.status();
  EXPECT_FALSE(Puller::Bind(**client, "PL", "nope").ok());

  std::set<std::string> seen;
  int copies = 0;
  absl::Time end = absl::Now() + absl::Seconds(20);
  for (int round = 0; static_cast<int>(seen.size()) < n && absl::Now() < end; ++round) {
    // Large asks with a 1 ms wait (most of each arrives late), then small
    // ones that must be served from what arrived late.
    int batch = round % 2 == 0 ? 500 : 7;
    std::vector<natsMsg*> msgs;
    std::string error;
    natsStatus s = (*puller)->Fetch(&msgs, batch, 1, &error);
    ASSERT_TRUE(s == NATS_OK) << natsStatus_GetText(s) << " " << error;
    ASSERT_LE(static_cast<int>(msgs.size()), batch);
    for (natsMsg* m : msgs) {
      std::string data(natsMsg_GetData(m), natsMsg_GetDataLength(m));
      if (!seen.insert(data).second) ++copies;
      (*puller)->Ack(m);
      natsMsg_Destroy(m);
    }
  }
  EXPECT_EQ(static_cast<int>(seen.size()), n);
  EXPECT_EQ(copies, 0);
  natsConnection_Flush((*client)->nc());
  end = absl::Now() + absl::Seconds(5);
  while (ConsumerLeft("PL", "p") != 0 && absl::Now() < end) absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(ConsumerLeft("PL", "p"), 0u);

  // Nothing left: a fetch waits out its time and returns none.
  std::vector<natsMsg*> none;
  absl::Time t0 = absl::Now();
  EXPECT_EQ((*puller)->Fetch(&none, 10, 200, nullptr), NATS_OK);
  EXPECT_TRUE(none.empty());
  EXPECT_GE(absl::Now() - t0, absl::Milliseconds(150));
  EXPECT_LT(absl::Now() - t0, absl::Seconds(2));
}

TEST_F(NatsTest, SinkPublishesToAStreamOnceEvenWhenRunTwice) {
  AddStream("OUT", "out.>");
  auto rules = Rules("rules:\n  - id: k-a\n    filter:\n      k: a\n");
  std::string in;
  for (int i = 0; i < 500; ++i) absl::StrAppend(&in, "{\"k\":\"", i % 2 ? "a" : "b", "\"}\n");
  SinkOptions so;
  so.connect.url = url_;
  so.subject = "out.matched";
  for (int pass = 0; pass < 2; ++pass) {
    auto sink = MakeSink(so);
    ASSERT_TRUE(sink.ok()) << sink.status();
    auto src = MakeMemorySource(in, "events.ndjson");
    Pipeline p(rules);
    ASSERT_TRUE(p.Run(*src, **sink).ok());
  }
  // Same input name and lines: the same Nats-Msg-Id, stored once.
  EXPECT_EQ(StreamMsgs("OUT"), 250u);
}

// An executor of the test's own: fails the first `fail` attempts of each
// delivery (retry), then succeeds; records attempts per id.
class FlakyExecutor : public Executor {
 public:
  explicit FlakyExecutor(int fail, int attempts) : fail_(fail), attempts_(attempts) {}
  void Start(const Delivery& d, std::function<void(Outcome)> done) override {
    std::lock_guard<std::mutex> l(mu_);
    int a = ++seen_[std::string(d.id)];
    last_attempt_[std::string(d.id)] = d.attempt;
    if (a <= fail_) {
      done(Outcome{Outcome::Kind::kRetry, 503, "busy", std::nullopt});
    } else {
      ++delivered_;
      done(Outcome{});
    }
  }
  std::string target() const override { return "test"; }
  RetryPolicy retry() const override {
    return RetryPolicy{attempts_, absl::Milliseconds(20), absl::Milliseconds(50)};
  }
  int delivered() {
    std::lock_guard<std::mutex> l(mu_);
    return delivered_;
  }
  std::map<std::string, int> last_attempt() {
    std::lock_guard<std::mutex> l(mu_);
    return last_attempt_;
  }

 private:
  std::mutex mu_;
  int fail_, attempts_, delivered_ = 0;
  std::map<std::string, int> seen_, last_attempt_;
};

TEST_F(NatsTest, OutboxRecordsOnceAndWorkersRetryAndDeadLetter) {
  auto rules = Rules(
      "rules:\n  - id: k-a\n    filter:\n      k: a\n    actions: [ok]\n"
      "  - id: k-b\n    filter:\n      k: b\n    actions: [never]\n"
      "actions:\n  ok:\n    stdout: {}\n  never:\n    stdout: {}\n");
  std::string in;
  for (int i = 0; i < 100; ++i) absl::StrAppend(&in, "{\"k\":\"", i % 2 ? "a" : "b", "\"}\n");
  OutboxOptions oo;
  oo.connect.url = url_;
  for (int pass = 0; pass < 2; ++pass) {
    auto outbox = MakeOutbox(oo);
    ASSERT_TRUE(outbox.ok()) << outbox.status();
    auto src = MakeMemorySource(in, "events.ndjson");
    Pipeline p(rules);
    ASSERT_TRUE(p.Run(*src, **outbox).ok());
  }
  EXPECT_EQ(StreamMsgs("WEIR_ACTIONS"), 100u);          // the second pass was recognised
  auto ok = std::make_unique<FlakyExecutor>(2, 5);      // delivered on attempt 3
  auto never = std::make_unique<FlakyExecutor>(99, 3);  // dead after 3
  FlakyExecutor* okp = ok.get();
  FlakyExecutor* neverp = never.get();
  std::map<std::string, std::unique_ptr<Executor>> ex;
  ex["ok"] = std::move(ok);
  ex["never"] = std::move(never);
  DeliveryOptions d;
  d.outbox = oo;
  d.log = [](std::string_view) {};
  auto w = DeliveryWorker::Start(d, std::move(ex));
  ASSERT_TRUE(w.ok()) << w.status();
  absl::Time end = absl::Now() + absl::Seconds(30);
  while (absl::Now() < end && ((*w)->stats().delivered < 50 || (*w)->stats().dead_lettered < 50))
    absl::SleepFor(absl::Milliseconds(20));
  DeliveryStats st = (*w)->stats();
  EXPECT_EQ(st.delivered, 50u);
  EXPECT_EQ(st.dead_lettered, 50u);
  EXPECT_EQ(okp->delivered(), 50);
  for (const auto& [id, a] : okp->last_attempt()) EXPECT_EQ(a, 3) << id;
  for (const auto& [id, a] : neverp->last_attempt()) EXPECT_EQ(a, 3) << id;
  // Acknowledgements are sent without waiting for the server: the
  // consumer's count catches up shortly after.
  absl::StatusOr<uint64_t> pending = (*w)->Pending();
  for (int i = 0; i < 100 && pending.ok() && *pending != 0; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
    pending = (*w)->Pending();
  }
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(*pending, 0u);
  (*w)->Stop(absl::Now() + absl::Seconds(2));
  // The dead letters are in the stream (100 records + 50 dead).
  EXPECT_EQ(StreamMsgs("WEIR_ACTIONS"), 150u);
}

// Answers 410 Gone while `gone` is set, else delivers; counts calls.
class GoneExecutor : public Executor {
 public:
  void Start(const Delivery&, std::function<void(Outcome)> done) override {
    ++calls;
    if (gone.load()) {
      done(Outcome{fail_kind, fail_kind == Outcome::Kind::kGone ? 410 : 400, "", std::nullopt});
    } else {
      ++delivered;
      done(Outcome{});
    }
  }
  std::string target() const override { return "http://127.0.0.1:9/gone"; }
  DeactivationPolicy deactivation() const override { return policy; }
  Outcome::Kind fail_kind = Outcome::Kind::kGone;
  DeactivationPolicy policy;
  std::atomic<bool> gone{true};
  std::atomic<int> calls{0}, delivered{0};
};

TEST_F(NatsTest, A410DeactivatesTheTargetForEveryWorkerUntilItsKeyIsDeleted) {
  auto rules = Rules(
      "rules:\n  - id: all\n    filter:\n      k: a\n    actions: [hook]\n"
      "actions:\n  hook:\n    stdout: {}\n");
  OutboxOptions oo;
  oo.connect.url = url_;
  auto record = [&](int first, int n) {
    std::string in;
    for (int i = first; i < first + n; ++i) absl::StrAppend(&in, "{\"k\":\"a\",\"i\":", i, "}\n");
    auto outbox = MakeOutbox(oo);
    ASSERT_TRUE(outbox.ok()) << outbox.status();
    auto src = MakeMemorySource(in, absl::StrCat("batch-", first, ".ndjson"));
    Pipeline p(rules);
    ASSERT_TRUE(p.Run(*src, **outbox).ok());
  };
  auto start = [&](GoneExecutor** e, int policy_failures = 0) {
    auto ex = std::make_unique<GoneExecutor>();
    if (policy_failures > 0) {
      ex->fail_kind = Outcome::Kind::kFailed;
      ex->policy = DeactivationPolicy{policy_failures, 1};
    }
    *e = ex.get();
    std::map<std::string, std::unique_ptr<Executor>> m;
    m["hook"] = std::move(ex);
    DeliveryOptions d;
    d.outbox = oo;
    d.log = [](std::string_view) {};
    auto w = DeliveryWorker::Start(d, std::move(m));
    EXPECT_TRUE(w.ok()) << w.status();
    return w.ok() ? *std::move(w) : nullptr;
  };
  auto wait_settled = [&](DeliveryWorker* w, uint64_t n) {
    absl::Time end = absl::Now() + absl::Seconds(20);
    while (absl::Now() < end && w->stats().delivered + w->stats().dead_lettered < n)
      absl::SleepFor(absl::Milliseconds(20));
  };

  // The first 410 deactivates; the rest go to the dead letters unsent.
  record(0, 20);
  GoneExecutor* e1 = nullptr;
  auto w1 = start(&e1);
  ASSERT_TRUE(w1);
  wait_settled(w1.get(), 20);
  EXPECT_EQ(w1->stats().dead_lettered, 20u);
  EXPECT_EQ(w1->stats().deactivated, 1u);
  EXPECT_EQ(e1->calls.load(), 1);
  w1->Stop(absl::Now() + absl::Seconds(2));

  // Another worker (a new process) knows from the bucket.
  kvStore* kv = nullptr;
  ASSERT_EQ(js_KeyValue(&kv, js_, "WEIR_ACTIONS_TARGETS"), NATS_OK);
  record(20, 5);
  GoneExecutor* e2 = nullptr;
  auto w2 = start(&e2);
  ASSERT_TRUE(w2);
  wait_settled(w2.get(), 5);
  EXPECT_EQ(w2->stats().dead_lettered, 5u);
  EXPECT_EQ(e2->calls.load(), 0);

  // Deleting the target's key reactivates it (within 2 s).
  e2->gone = false;
  kvKeysList keys = {nullptr, 0};
  ASSERT_EQ(kvStore_Keys(&keys, kv, nullptr), NATS_OK);
  ASSERT_EQ(keys.Count, 1);
  ASSERT_EQ(kvStore_Delete(kv, keys.Keys[0]), NATS_OK);
  kvKeysList_Destroy(&keys);
  kvStore_Destroy(kv);
  absl::SleepFor(absl::Milliseconds(2100));
  record(25, 5);
  wait_settled(w2.get(), 10);
  EXPECT_EQ(w2->stats().delivered, 5u);
  EXPECT_EQ(e2->delivered.load(), 5);
  w2->Stop(absl::Now() + absl::Seconds(2));

  // A deactivation policy: the third failure in a day deactivates.
  record(30, 10);
  GoneExecutor* e3 = nullptr;
  auto w3 = start(&e3, 3);
  ASSERT_TRUE(w3);
  wait_settled(w3.get(), 10);
  EXPECT_EQ(w3->stats().dead_lettered, 10u);
  EXPECT_EQ(w3->stats().deactivated, 1u);
  EXPECT_EQ(e3->calls.load(), 3);
  w3->Stop(absl::Now() + absl::Seconds(2));
}

}  // namespace
}  // namespace weir::nats
