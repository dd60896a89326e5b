// A small notification service embedding weir, built against the installed
// package (see README.md): subscriptions are rules in a RuleSet, changed at
// run time from one thread while the pipeline's matching threads run on the
// snapshot they started with; matches go through the Dispatcher (a durable
// outbox in a temporary state directory) to an executor of our own, `notify`,
// which appends a line to each subscriber's in-memory inbox.
//
// Exits 0 when every subscriber got exactly the notifications expected.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "weir/actions.h"
#include "weir/engine.h"
#include "weir/rules.h"
#include "weir/stream.h"

namespace {

// Per-subscriber lines, written by the executor (any thread), read by main.
class Inbox {
 public:
  void Append(const std::string& subscriber, std::string line) {
    std::lock_guard<std::mutex> lock(mu_);
    lines_[subscriber].push_back(std::move(line));
    ++total_;
    cv_.notify_all();
  }
  // Whether `total` notifications arrived within `timeout`.
  bool WaitForTotal(size_t total, absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoSeconds(timeout), [&] { return total_ >= total; });
  }
  std::map<std::string, std::vector<std::string>> Lines() {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::vector<std::string>> lines_;
  size_t total_ = 0;
};

// The `notify` executor. A subscription's rule id is "SUBSCRIBER:NAME".
class NotifyExecutor : public weir::Executor {
 public:
  explicit NotifyExecutor(std::shared_ptr<Inbox> inbox) : inbox_(std::move(inbox)) {}
  void Start(const weir::Delivery& d, std::function<void(weir::Outcome)> done) override {
    std::string rule(d.rule_id);
    std::string subscriber = rule.substr(0, rule.find(':'));
    inbox_->Append(subscriber, rule + " " + std::string(d.event));
    done(weir::Outcome{});  // kDelivered
  }
  std::string target() const override { return "inbox"; }

 private:
  std::shared_ptr<Inbox> inbox_;
};

class NotifyFactory : public weir::ExecutorFactory {
 public:
  explicit NotifyFactory(std::shared_ptr<Inbox> inbox) : inbox_(std::move(inbox)) {}
  std::unique_ptr<weir::Executor> Create(
      const weir::ActionDef& action, std::vector<weir::Diagnostic>* diagnostics) const override {
    // `notify` takes no settings: refuse any, as the built-in executors do.
    if (action.settings.kind == weir::ConfigValue::Kind::kMap && !action.settings.map.empty()) {
      diagnostics->push_back({action.where, "", "'notify' takes no settings"});
      return nullptr;
    }
    return std::make_unique<NotifyExecutor>(inbox_);
  }

 private:
  std::shared_ptr<Inbox> inbox_;
};

// One subscription: a rule from its condition (any rule-file dialect),
// triggering the `notify` action. Exits on a mistake.
weir::RuleDef Subscription(const std::string& id, const std::string& condition) {
  weir::LoadResult r =
      weir::ParseRules({{id, absl::StrCat("rules: [{id: \"", id, "\", ", condition, "}]")}});
  if (!r.ok()) {
    for (const auto& d : r.diagnostics) fprintf(stderr, "%s\n", d.ToString().c_str());
    exit(2);
  }
  weir::RuleDef rule = std::move(r.ruleset.rules[0]);
  rule.actions = {"notify"};
  return rule;
}

void Check(const absl::Status& st, const char* what) {
  if (st.ok()) return;
  fprintf(stderr, "notification-service: %s: %s\n", what, st.ToString().c_str());
  exit(1);
}

void Write(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      perror("write");
      exit(1);
    }
    done += n;
  }
}

std::string Event(int job, const char* type, const char* priority) {
  return absl::StrCat("{\"JobId\":", job, ",\"Type\":\"", type, "\",\"Priority\":\"", priority,
                      "\"}\n");
}

}  // namespace

int main() {
  // The dispatcher's outbox lives in a state directory: a fresh one per run.
  char tmpl[] = "/tmp/notification-service.XXXXXX";
  if (!mkdtemp(tmpl)) {
    perror("mkdtemp");
    return 1;
  }
  std::string state_dir = tmpl;

  // Executors: the built-in ones plus ours, made for the actions we use.
  auto inbox = std::make_shared<Inbox>();
  weir::ExecutorRegistry registry = weir::ExecutorRegistry::Builtins();
  registry.Register("notify", std::make_shared<NotifyFactory>(inbox));
  std::map<std::string, weir::ActionDef> actions;
  weir::ActionDef notify;
  notify.name = "notify";
  notify.type = "notify";
  actions["notify"] = notify;
  weir::ExecutorRegistry::Executors executors = registry.CreateAll(actions);
  if (!executors.ok()) {
    for (const auto& d : executors.diagnostics) fprintf(stderr, "%s\n", d.ToString().c_str());
    return 2;
  }
  weir::DispatcherOptions dispatcher_options;
  dispatcher_options.state_dir = state_dir + "/state";
  auto dispatcher = weir::Dispatcher::Open(dispatcher_options, std::move(executors.by_action));
  Check(dispatcher.status(), "opening the dispatcher");

  // The first subscriptions, compiled once.
  std::vector<weir::RuleDef> initial;
  initial.push_back(Subscription("alice:faulted", "pattern: {Type: [job.faulted]}"));
  initial.push_back(Subscription("bob:high", "pattern: {Priority: [high]}"));
  auto compiled = weir::RuleSet::Compile(std::move(initial));
  Check(compiled.status(), "compiling");
  std::shared_ptr<const weir::RuleSet> rules = *compiled;

  // Events arrive on a pipe (as from a socket); the pipeline matches them on
  // two threads and hands them, in order, to the dispatcher.
  int fds[2];
  if (pipe(fds) != 0) {
    perror("pipe");
    return 1;
  }
  auto source = weir::MakeFdSource(fds[0], "events");
  Check(source.status(), "opening the source");
  weir::PipelineOptions pipeline_options;
  pipeline_options.threads = 2;
  weir::Pipeline pipeline(rules, pipeline_options);
  weir::PipelineStats stats;
  absl::Status run_status;
  std::thread runner([&] { run_status = pipeline.Run(**source, **dispatcher, &stats); });

  auto publish = [&](std::vector<weir::RuleDef> add, std::vector<std::string> remove) {
    auto next = weir::RuleSet::Update(rules, std::move(add), remove);
    Check(next.status(), "updating the subscriptions");
    rules = *next;
    pipeline.SetRules(rules);  // batches read from now on match on it
  };
  auto wait = [&](size_t total, const char* phase) {
    if (!inbox->WaitForTotal(total, absl::Seconds(30))) {
      fprintf(stderr, "notification-service: %s: notifications did not arrive\n", phase);
      exit(1);
    }
  };

  // 1: alice and bob.
  Write(fds[1], Event(1, "job.faulted", "low") + Event(2, "job.created", "high") +
                    Event(3, "job.faulted", "high"));
  wait(4, "phase 1");

  // 2: carol subscribes to every job.* event, bob unsubscribes.
  publish({Subscription("carol:jobs", "pattern: {Type: [{prefix: job.}]}")}, {"bob:high"});
  Write(fds[1], Event(4, "job.completed", "high") + Event(5, "job.faulted", "low"));
  wait(7, "phase 2");

  // 3: while 2,000 progress events stream in from another thread, this
  // thread adds and removes 200 temporary subscriptions (which match none of
  // them). Matching never waits for an update; carol gets every event.
  constexpr int kProgress = 2000, kChurn = 200;
  std::thread feeder([&] {
    std::string chunk;
    for (int i = 0; i < kProgress; ++i) {
      chunk += Event(100 + i, "job.progress", "low");
      if (chunk.size() > 4096 || i == kProgress - 1) {
        Write(fds[1], chunk);
        chunk.clear();
      }
    }
  });
  for (int i = 0; i < kChurn; ++i) {
    std::string id = absl::StrCat("tmp:", i);
    std::vector<std::string> remove;
    if (i > 0) remove.push_back(absl::StrCat("tmp:", i - 1));
    publish({Subscription(id, absl::StrCat("pattern: {Type: [job.never-", i, "]}"))}, remove);
  }
  publish({}, {absl::StrCat("tmp:", kChurn - 1)});
  feeder.join();
  wait(7 + kProgress, "phase 3");
  printf("%d subscription updates published while %d events streamed\n", kChurn + 1, kProgress);

  // The end of the input ends Run(); then what is recorded is delivered.
  close(fds[1]);
  runner.join();
  Check(run_status, "running the pipeline");
  Check((*dispatcher)->Drain(absl::Now() + absl::Seconds(10)), "draining");

  bool ok = true;
  std::map<std::string, std::vector<std::string>> lines = inbox->Lines();
  std::map<std::string, size_t> want = {{"alice", 3}, {"bob", 2}, {"carol", 2 + kProgress}};
  printf("events: %llu, matched: %llu, subscriptions now: %zu\n",
         static_cast<unsigned long long>(stats.events),
         static_cast<unsigned long long>(stats.matched), rules->enabled_count());
  for (auto& [who, got] : lines) {
    std::sort(got.begin(), got.end());
    size_t progress = 0;
    printf("inbox %s: %zu\n", who.c_str(), got.size());
    for (const std::string& l : got) {
      if (l.find("job.progress") != std::string::npos) {
        ++progress;
        continue;
      }
      printf("  %s\n", l.c_str());
    }
    if (progress) printf("  ... and %zu job.progress notifications\n", progress);
    if (!want.count(who) || want[who] != got.size()) ok = false;
  }
  if (lines.size() != want.size()) ok = false;
  for (const weir::ActionStats& s : (*dispatcher)->Summary())
    printf("action %s (%s): matched %llu, delivered %llu, pending %llu\n", s.action.c_str(),
           s.target.c_str(), static_cast<unsigned long long>(s.matched),
           static_cast<unsigned long long>(s.delivered),
           static_cast<unsigned long long>(s.pending));
  (*dispatcher)->Stop(absl::Now() + absl::Seconds(5));
  dispatcher->reset();
  std::filesystem::remove_all(state_dir);
  printf("%s\n", ok ? "ok" : "UNEXPECTED NOTIFICATIONS");
  return ok ? 0 : 1;
}
