// The stdout, file and exec executors and the registry's diagnostics, with
// actions read from rule text (real positions) and real files and processes.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <sstream>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "weir/actions.h"
#include "weir/rules.h"

namespace weir {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Actions from a rule file whose `actions:` map is `yaml` (indented by 2).
std::map<std::string, ActionDef> Actions(const std::string& yaml) {
  std::string text = "rules:\n  - id: r\n    filter: {a: b}\nactions:\n" + yaml;
  LoadResult r = ParseRules({{"x.yaml", text}});
  std::string diags;
  for (const auto& d : r.diagnostics) diags += d.ToString() + "\n";
  EXPECT_TRUE(r.ok()) << diags;
  return r.ruleset.actions;
}

std::string DiagText(const std::vector<Diagnostic>& ds) {
  std::string s;
  for (const auto& d : ds) s += d.ToString() + "\n";
  return s;
}

std::unique_ptr<Executor> Make(const std::string& yaml, const std::string& name = "a") {
  auto actions = Actions(yaml);
  auto all = ExecutorRegistry::Builtins().CreateAll(actions);
  EXPECT_TRUE(all.ok()) << DiagText(all.diagnostics);
  auto it = all.by_action.find(name);
  if (it == all.by_action.end()) return nullptr;
  return std::move(it->second);
}

Outcome Deliver(Executor& e, std::string_view event, std::string_view id = "msg_1") {
  Delivery d;
  d.id = id;
  d.rule_id = "r";
  d.action = "a";
  d.event = event;
  std::promise<Outcome> p;
  auto f = p.get_future();
  e.Start(d, [&p](Outcome o) { p.set_value(std::move(o)); });
  if (f.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    ADD_FAILURE() << "no outcome within 20 s";
    return Outcome{Outcome::Kind::kFailed, 0, "test timeout", std::nullopt};
  }
  return f.get();
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/weir_exec_XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(dir_); }
  std::string operator/(const std::string& f) const { return dir_ + "/" + f; }

 private:
  std::string dir_;
};

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(Registry, TypesAndFind) {
  ExecutorRegistry r = ExecutorRegistry::Builtins();
  auto types = r.types();
  EXPECT_TRUE(std::set<std::string>(types.begin(), types.end()).count("exec"));
  EXPECT_NE(r.Find("stdout"), nullptr);
  EXPECT_NE(r.Find("file"), nullptr);
  EXPECT_EQ(r.Find("carrier-pigeon"), nullptr);
  ExecutorRegistry empty;
  EXPECT_TRUE(empty.types().empty());
}

TEST(Stdout, WritesOneLinePerDelivery) {
  auto plain = Make("  a: {stdout: null}\n");
  auto annotated = Make("  a: {stdout: {format: annotated}}\n");
  ASSERT_TRUE(plain && annotated);
  TempDir tmp;
  std::string out = tmp / "out";
  fflush(stdout);
  int saved = dup(1);
  int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  dup2(fd, 1);
  close(fd);
  Outcome a = Deliver(*plain, "{\n  \"a\": \"b\"\n}");
  Outcome b = Deliver(*annotated, "{\"a\":\"b\"}", "msg_x");
  fflush(stdout);
  dup2(saved, 1);
  close(saved);
  EXPECT_EQ(a.kind, Outcome::Kind::kDelivered);
  EXPECT_EQ(b.kind, Outcome::Kind::kDelivered);
  EXPECT_EQ(ReadAll(out),
            "{   \"a\": \"b\" }\n"
            "{\"id\":\"msg_x\",\"rule\":\"r\",\"action\":\"a\",\"event\":{\"a\":\"b\"}}\n");
  EXPECT_EQ(plain->target(), "stdout");
}

TEST(File, AppendsNdjsonAndRawLines) {
  TempDir tmp;
  std::string path = tmp / "audit.ndjson";
  auto e = Make("  a: {file: {path: " + path + "}}\n");
  auto raw = Make("  a: {file: {path: " + path + ", format: event}}\n");
  ASSERT_TRUE(e && raw);
  EXPECT_EQ(e->target(), "file:" + path);
  EXPECT_EQ(e->retry().attempts, 3);
  EXPECT_EQ(Deliver(*e, "{\"x\":1}", "msg_1").kind, Outcome::Kind::kDelivered);
  EXPECT_EQ(Deliver(*raw, "{\"x\":2}").kind, Outcome::Kind::kDelivered);
  EXPECT_EQ(ReadAll(path),
            "{\"id\":\"msg_1\",\"rule\":\"r\",\"action\":\"a\",\"event\":{\"x\":1}}\n"
            "{\"x\":2}\n");
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777 & ~0640, 0u);  // 0640 less the umask
}

TEST(File, WriteErrorIsRetried) {
  TempDir tmp;
  auto e = Make("  a: {file: {path: " + (tmp / "no/such/dir/x.ndjson") + "}}\n");
  ASSERT_TRUE(e);
  Outcome o = Deliver(*e, "{}");
  EXPECT_EQ(o.kind, Outcome::Kind::kRetry);
  EXPECT_THAT(o.reason, HasSubstr("No such file or directory"));
}

TEST(File, ManyThreadsManyActionsNoTornLines) {
  TempDir tmp;
  std::string path = tmp / "shared.ndjson";
  // Two actions on one file: one descriptor, one target.
  auto actions = Actions("  a: {file: {path: " + path + "}}\n  b: {file: {path: " + path + "}}\n");
  auto all = ExecutorRegistry::Builtins().CreateAll(actions);
  ASSERT_TRUE(all.ok()) << DiagText(all.diagnostics);
  Executor& a = *all.by_action["a"];
  Executor& b = *all.by_action["b"];
  EXPECT_EQ(a.target(), b.target());
  const int kThreads = 8, kEach = 400;
  std::string big(3000, 'z');  // lines longer than a pipe's atomic write
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        std::string ev = "{\"t\":" + std::to_string(t) + ",\"i\":" + std::to_string(i) +
                         ",\"pad\":\"" + big + "\"}";
        Deliver(t % 2 ? a : b, ev);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::ifstream in(path);
  std::string line;
  int n = 0;
  std::set<std::string> seen;
  while (std::getline(in, line)) {
    ++n;
    ASSERT_THAT(line,
                StartsWith("{\"id\":\"msg_1\",\"rule\":\"r\",\"action\":\"a\",\"event\":{\"t\":"));
    ASSERT_EQ(line.substr(line.size() - big.size() - 3), big + "\"}}");
    seen.insert(line.substr(0, line.find(",\"pad\"")));
  }
  EXPECT_EQ(n, kThreads * kEach);
  EXPECT_EQ(seen.size(), static_cast<size_t>(kThreads * kEach));
}

TEST(Exec, ArgvEnvAndStdin) {
  TempDir tmp;
  std::string out = tmp / "out";
  auto e = Make(
      "  a:\n    exec:\n      command: [sh, -c, 'printf \"%s|%s|%s|\" \"$1\" \"$2\" \"$WEIR_T\" "
      "> " +
      out + "; cat >> " + out + "', sh, 'two words', '$HOME']\n      env: {WEIR_T: 'v=1'}\n");
  ASSERT_TRUE(e);
  Outcome o = Deliver(*e, "{\"k\":\"v\"}");
  EXPECT_EQ(o.kind, Outcome::Kind::kDelivered) << o.reason;
  // No shell between weir and the command: $HOME stays as written.
  EXPECT_EQ(ReadAll(out), "two words|$HOME|v=1|{\"k\":\"v\"}\n");
  EXPECT_EQ(e->target(), "exec:a");
  EXPECT_EQ(e->concurrency(), 1);
}

TEST(Exec, ShellOnlyWhenAsked) {
  TempDir tmp;
  std::string out = tmp / "sh";
  auto argv = Make("  a: {exec: {command: ['echo hi > " + out + "']}}\n");
  ASSERT_TRUE(argv);
  Outcome o = Deliver(*argv, "{}");
  EXPECT_EQ(o.kind, Outcome::Kind::kFailed);
  EXPECT_THAT(o.reason, HasSubstr("cannot run 'echo hi > "));
  EXPECT_FALSE(std::filesystem::exists(out));
  auto shell = Make("  a: {exec: {shell: 'read line; echo \"got $line\" > " + out + "'}}\n");
  ASSERT_TRUE(shell);
  o = Deliver(*shell, "{\"e\":1}");
  EXPECT_EQ(o.kind, Outcome::Kind::kDelivered) << o.reason;
  EXPECT_EQ(ReadAll(out), "got {\"e\":1}\n");
}

TEST(Exec, NonZeroExitFailsOrRetries) {
  auto e = Make("  a: {exec: {command: [sh, -c, 'echo oops; echo more >&2; exit 3']}}\n");
  ASSERT_TRUE(e);
  Outcome o = Deliver(*e, "{}");
  EXPECT_EQ(o.kind, Outcome::Kind::kFailed);
  EXPECT_EQ(o.status, 3);
  EXPECT_EQ(o.reason, "exited with status 3: oops more");
  auto r = Make("  a: {exec: {command: [sh, -c, 'exit 1'], retry: {attempts: 4, backoff: 1s}}}\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->retry().attempts, 4);
  EXPECT_EQ(Deliver(*r, "{}").kind, Outcome::Kind::kRetry);
}

TEST(Exec, OutputIsCappedAndInputMayBeIgnored) {
  // The command neither reads its 1 MB input nor writes less than 4 KiB.
  auto e = Make(
      "  a: {exec: {command: [sh, -c, 'head -c 100000 /dev/zero | tr \"\\\\0\" x; exit 2']}}\n");
  ASSERT_TRUE(e);
  std::string big = "{\"p\":\"" + std::string(1 << 20, 'y') + "\"}";
  Outcome o = Deliver(*e, big);
  EXPECT_EQ(o.kind, Outcome::Kind::kFailed);
  EXPECT_LE(o.reason.size(), 4096u + 40);
  EXPECT_THAT(o.reason, StartsWith("exited with status 2: xxxx"));
  auto t = Make("  a: {exec: {command: ['true']}}\n");
  EXPECT_EQ(Deliver(*t, big).kind, Outcome::Kind::kDelivered);
}

TEST(Exec, TimeoutKillsTheProcessGroup) {
  TempDir tmp;
  std::string pidfile = tmp / "pid";
  // The shell's background child is in its group and dies with it.
  auto e =
      Make("  a: {exec: {shell: 'sleep 30 & echo $! > " + pidfile + "; wait', timeout: 300ms}}\n");
  ASSERT_TRUE(e);
  auto t0 = std::chrono::steady_clock::now();
  Outcome o = Deliver(*e, "{}");
  double s = SecondsSince(t0);
  EXPECT_EQ(o.kind, Outcome::Kind::kRetry);
  EXPECT_EQ(o.reason, "timed out after 300ms");
  EXPECT_GE(s, 0.3);
  EXPECT_LT(s, 2.0);
  pid_t child = std::stoi(ReadAll(pidfile));
  // Reaped by init shortly after its death.
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    gone = kill(child, 0) != 0;
    if (!gone) usleep(10'000);
  }
  EXPECT_TRUE(gone) << "the background sleep survived";
}

TEST(Exec, SigtermIgnoredThenSigkill) {
  auto e = Make("  a: {exec: {shell: \"trap '' TERM; sleep 30\", timeout: 200ms}}\n");
  ASSERT_TRUE(e);
  auto t0 = std::chrono::steady_clock::now();
  Outcome o = Deliver(*e, "{}");
  double s = SecondsSince(t0);
  EXPECT_EQ(o.kind, Outcome::Kind::kRetry);
  EXPECT_EQ(o.reason, "timed out after 200ms");
  EXPECT_GE(s, 2.1);  // 200 ms, then 2 s after SIGTERM
  EXPECT_LT(s, 5.0);
}

TEST(Exec, RunsOnItsOwnThreadsUpToConcurrency) {
  auto e = Make("  a: {exec: {command: [sleep, '0.4'], concurrency: 4}}\n");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->concurrency(), 4);
  std::vector<std::promise<Outcome>> ps(4);
  Delivery d;
  d.event = "{}";
  auto t0 = std::chrono::steady_clock::now();
  for (auto& p : ps) e->Start(d, [&p](Outcome o) { p.set_value(std::move(o)); });
  EXPECT_LT(SecondsSince(t0), 0.2);  // Start() does not wait for the command
  for (auto& p : ps) EXPECT_EQ(p.get_future().get().kind, Outcome::Kind::kDelivered);
  double s = SecondsSince(t0);
  EXPECT_GE(s, 0.4);
  EXPECT_LT(s, 1.2);  // four at once, not 1.6 s one after another
}

TEST(Exec, ShutdownEndsWhatRuns) {
  auto e = Make("  a: {exec: {command: [sleep, '30']}}\n");
  ASSERT_TRUE(e);
  std::promise<Outcome> p;
  Delivery d;
  d.event = "{}";
  e->Start(d, [&p](Outcome o) { p.set_value(std::move(o)); });
  usleep(100'000);
  auto t0 = std::chrono::steady_clock::now();
  e->Shutdown(absl::Now() + absl::Milliseconds(100));
  EXPECT_LT(SecondsSince(t0), 3.0);
  Outcome o = p.get_future().get();
  EXPECT_EQ(o.kind, Outcome::Kind::kRetry);
  EXPECT_EQ(Deliver(*e, "{}").kind, Outcome::Kind::kRetry);  // after Shutdown
}

TEST(Diagnostics, EveryBadSettingWithItsPosition) {
  auto actions = Actions(
      "  t: {exec: {command: [x], timeout: banana}}\n"   // line 5
      "  n: {file: {path: a, retry: {attempts: -1}}}\n"  // line 6
      "  p: {file: {path: ''}}\n"                        // line 7
      "  c: {exec: {command: []}}\n"                     // line 8
      "  b: {exec: {command: [x], shell: 'x'}}\n"        // line 9
      "  k: {exec: {command: [x], colour: red}}\n"       // line 10
      "  u: {carrier-pigeon: {to: home}}\n"              // line 11
      "  s: {stdout: {format: loud}}\n"                  // line 12
      "  q: {exec: {command: x}}\n"                      // line 13
      "  e: {exec: null}\n"                              // line 14
      "  f: {file: {}}\n");                              // line 15
  auto all = ExecutorRegistry::Builtins().CreateAll(actions);
  EXPECT_TRUE(all.by_action.empty());
  std::string types;
  for (const auto& t : ExecutorRegistry::Builtins().types())
    types += (types.empty() ? "" : ", ") + t;
  // In file order.
  EXPECT_EQ(DiagText(all.diagnostics),
            "x.yaml:5:37: action 't': 'timeout' must be a duration such as 10s or 500ms\n"
            "x.yaml:6:41: action 'n': 'attempts' must be a positive integer (1, 2, ...)\n"
            "x.yaml:7:20: action 'p': 'path' must not be empty\n"
            "x.yaml:8:23: action 'c': 'command' must not be empty\n"
            "x.yaml:9:35: action 'b': give either 'command' (an argv list) or 'shell' (a "
            "command line), not both\n"
            "x.yaml:10:36: action 'k': unknown key 'colour' in 'exec' settings (expected one "
            "of: command, concurrency, env, retry, shell, timeout)\n"
            "x.yaml:11:6: action 'u': unknown executor 'carrier-pigeon' (expected one of: " +
                types +
                ")\n"
                "x.yaml:12:24: action 's': 'format' must be one of: event, annotated\n"
                "x.yaml:13:23: action 'q': 'command' must be a list such as [notify-send, "
                "weir]; a command line for /bin/sh -c goes in 'shell'\n"
                "x.yaml:14:13: action 'e': 'exec' needs 'command' (an argv list) or 'shell' "
                "(a command line)\n"
                "x.yaml:15:13: action 'f': 'file' needs 'path' (the file to append to)\n");
}

TEST(Diagnostics, InlineActionsNameTheirRule) {
  LoadResult r = ParseRules({{"i.yaml",
                              "rules:\n"
                              "  - id: hot\n"
                              "    filter: {a: b}\n"
                              "    actions:\n"
                              "      - exec: {command: [x], timeout: 0s}\n"}});
  ASSERT_TRUE(r.ok()) << r.diagnostics.size();
  auto all = ExecutorRegistry::Builtins().CreateAll(r.ruleset.actions);
  EXPECT_EQ(DiagText(all.diagnostics),
            "i.yaml:5:39: rule 'hot': action 'hot#1': 'timeout' must be a duration such as 10s "
            "or 500ms\n");
}

TEST(Durations, Parse) {
  auto ok = [](const char* s, absl::Duration d) {
    auto a = ExecutorRegistry::Builtins().CreateAll(
        Actions(std::string("  a: {exec: {command: [x], timeout: ") + s + "}}\n"));
    EXPECT_TRUE(a.ok()) << s << ": " << DiagText(a.diagnostics);
    (void)d;
  };
  ok("10s", absl::Seconds(10));
  ok("500ms", absl::Milliseconds(500));
  ok("2m", absl::Minutes(2));
  ok("1h", absl::Hours(1));
  ok("1.5s", absl::Milliseconds(1500));
  for (const char* bad : {"banana", "10", "-1s", "inf", "0", "0s", "s"}) {
    auto a = ExecutorRegistry::Builtins().CreateAll(
        Actions(std::string("  a: {exec: {command: [x], timeout: '") + bad + "'}}\n"));
    EXPECT_FALSE(a.ok()) << bad;
  }
}

}  // namespace
}  // namespace weir
