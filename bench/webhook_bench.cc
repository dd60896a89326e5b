// webhook_bench: deliveries/s of the webhook executor to a local
// http_receiver, next to http_load driving the same receiver alone (the
// receiver's own limit), in one run.
//
//   webhook_bench [--receiver PATH] [--load PATH] [-n N] [--targets T]
//                 [--concurrency C] [--body-bytes B] [--inline] [--json]
//
// T targets are T paths on one receiver (one executor each: separate targets
// for the dispatcher, one connection pool for libcurl). Each executor keeps C
// deliveries in flight (its concurrency), signed with the standard scheme;
// http_load then posts N requests over T*C connections to the same receiver.
// By default a driver thread calls Start() (as the dispatcher's delivery
// thread does) and completions are handed back to it; --inline starts the
// next delivery from the completion callback itself (no thread hand-over).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "actions/builtin.h"
#include "weir/actions.h"

#ifndef WEIR_HTTP_RECEIVER
#define WEIR_HTTP_RECEIVER "http_receiver"
#endif
#ifndef WEIR_HTTP_LOAD
#define WEIR_HTTP_LOAD "http_load"
#endif

namespace {

[[noreturn]] void Usage(const std::string& msg) {
  fprintf(stderr, "webhook_bench: %s\n", msg.c_str());
  exit(2);
}

// Runs `argv`, returns its stdout's first line; `pid` set when it is to keep
// running (the receiver), else waits for it.
std::string Spawn(const std::vector<std::string>& args, pid_t* keep) {
  int fds[2];
  if (pipe(fds) != 0) Usage("pipe");
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  std::string line;
  char c;
  while (read(fds[0], &c, 1) == 1 && c != '\n') line.push_back(c);
  if (keep) {
    *keep = pid;
  } else {
    std::string rest;
    while (read(fds[0], &c, 1) == 1) {
    }
    int status;
    waitpid(pid, &status, 0);
  }
  close(fds[0]);
  return line;
}

weir::ConfigValue Scalar(std::string s) {
  weir::ConfigValue v;
  v.kind = weir::ConfigValue::Kind::kScalar;
  v.scalar = std::move(s);
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::string receiver = WEIR_HTTP_RECEIVER, load = WEIR_HTTP_LOAD;
  long total = 200000;
  int targets = 1, concurrency = 4;
  size_t body_bytes = 300;
  bool json = false, inline_start = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--receiver") receiver = value();
    else if (a == "--load") load = value();
    else if (a == "-n") total = atol(value().c_str());
    else if (a == "--targets") targets = atoi(value().c_str());
    else if (a == "--concurrency") concurrency = atoi(value().c_str());
    else if (a == "--body-bytes") body_bytes = strtoul(value().c_str(), nullptr, 10);
    else if (a == "--json") json = true;
    else if (a == "--inline") inline_start = true;
    else Usage("unknown flag " + a);
  }
  if (total <= 0 || targets <= 0 || concurrency <= 0) Usage("-n, --targets, --concurrency > 0");

  pid_t rpid = -1;
  std::string port = Spawn({receiver, "--port", "0", "--dedupe"}, &rpid);
  if (port.empty()) Usage("http_receiver did not start");

  std::vector<std::unique_ptr<weir::Executor>> execs;
  for (int t = 0; t < targets; ++t) {
    weir::ActionDef def;
    def.name = "bench-" + std::to_string(t);
    def.type = "webhook";
    def.settings.kind = weir::ConfigValue::Kind::kMap;
    def.settings.map.emplace_back(
        "url", Scalar("http://127.0.0.1:" + port + "/hook/" + std::to_string(t)));
    def.settings.map.emplace_back("secret", Scalar("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
    def.settings.map.emplace_back("concurrency", Scalar(std::to_string(concurrency)));
    std::vector<weir::Diagnostic> diags;
    auto e = weir::WebhookFactory()->Create(def, &diags);
    if (!e) Usage(diags.empty() ? "no executor" : diags[0].ToString());
    execs.push_back(std::move(e));
  }

  std::string event = "{\"event\":\"resource.ResourceCreated\",\"resource\":{\"type\":\"itemsvc.";
  while (event.size() + 3 < body_bytes) event.push_back('x');
  event += "\"}}";
  // Ids made up front: Delivery's strings must outlive the delivery.
  std::vector<std::string> ids(total);
  for (long i = 0; i < total; ++i) ids[i] = "msg_" + std::to_string(1000000000 + i);

  // The driver (this thread, as the dispatcher's delivery thread would) keeps
  // `concurrency` deliveries per target in flight; completions come back on
  // the delivery thread and are handed over here.
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int> free_slots;  // target index per finished delivery
  long delivered = 0, other = 0;
  std::atomic<long> next{0};
  std::function<void(int)> start = [&](int t) {
    long n = next.fetch_add(1);
    if (n >= total) return;
    weir::Delivery d;
    d.id = ids[n];
    d.rule_id = "bench";
    d.action = "bench";
    d.event = event;
    execs[t]->Start(d, [&, t](weir::Outcome o) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (o.kind == weir::Outcome::Kind::kDelivered) {
          ++delivered;
        } else {
          ++other;
        }
        if (!inline_start) free_slots.push_back(t);
        cv.notify_one();
      }
      if (inline_start) start(t);
    });
  };
  auto t0 = std::chrono::steady_clock::now();
  for (int t = 0; t < targets; ++t)
    for (int c = 0; c < concurrency; ++c) start(t);
  std::vector<int> slots;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return !free_slots.empty() || delivered + other == total; });
      if (delivered + other == total) break;
      slots.swap(free_slots);
    }
    for (int t : slots) start(t);
    slots.clear();
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double rate = total / secs;

  std::string stats =
      Spawn({"/usr/bin/curl", "-s", "http://127.0.0.1:" + port + "/_stats"}, nullptr);
  std::string load_line =
      Spawn({load, "--port", port, "-n", std::to_string(total), "-c",
             std::to_string(targets * concurrency), "--body-bytes", std::to_string(body_bytes),
             "--json"},
            nullptr);
  kill(rpid, SIGTERM);
  int status;
  waitpid(rpid, &status, 0);
  execs.clear();

  if (json) {
    printf("{\"inline\":%s,\"targets\":%d,\"concurrency\":%d,\"deliveries\":%ld,\"delivered\":%ld,"
           "\"seconds\":%.3f,\"per_second\":%.0f,\"receiver\":%s,\"http_load\":%s}\n",
           inline_start ? "true" : "false", targets, concurrency, total, delivered, secs, rate,
           stats.c_str(), load_line.c_str());
  } else {
    printf("webhook executor (%s): %d target(s) x concurrency %d: %ld deliveries (%ld 2xx) in "
           "%.3f s = %.0f/s\n  receiver saw %s\n  http_load alone, %d connections: %s\n",
           inline_start ? "started from the callback" : "driver thread", targets, concurrency,
           total, delivered, secs, rate, stats.c_str(),
           targets * concurrency, load_line.c_str());
  }
  return delivered == total ? 0 : 1;
}
