#include "bindings/cli/run.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "weir/actions.h"
#include "weir/open.h"
#include "weir/stream.h"

namespace weir::cli {
namespace {

constexpr char kRunUsage[] =
    "usage: weir run -r RULES [-r RULES]... [options] [FILE|-]...\n"
    "\n"
    "Reads NDJSON events (stdin when no FILE or '-'), matches them like 'weir filter',\n"
    "and carries out the actions of the matching rules (stdout, file, exec, webhook).\n"
    "Every matched action is recorded in the outbox under --state before it is\n"
    "carried out; what cannot be delivered goes to DIR/dead-letter.ndjson. A restart\n"
    "with the same DIR re-sends what the outbox holds and, for a FILE, resumes after\n"
    "the last event whose actions were all recorded. See docs/delivery.md.\n"
    "\n"
    "options:\n"
    "  -r, --rules FILE        a rule file (YAML or JSON; repeat for several), or one\n"
    "                          compiled rule file (weir compile)\n"
    "  -s, --state DIR         the state directory (default ./.weir-state)\n"
    "      --sync MODE         normal (default): a recorded action survives kill -9;\n"
    "                          full: it also survives a power loss (slower)\n"
    "      --drain-timeout D   at the end of the input, SIGTERM or SIGINT, deliver for\n"
    "                          at most D (default 30s), then leave the rest for the\n"
    "                          next run; a second signal stops at once\n"
    "      --max-pending N     reading waits while the outbox holds more than N\n"
    "                          deliveries (default 100000)\n"
    "      --from-start        read FILEs from their start, not where an earlier run\n"
    "                          stopped\n"
    "  -t, --threads N         match on N threads; default 1\n"
    "      --validate MODE     output (default) or all, as in 'weir filter'\n"
    "      --max-event-bytes N, --max-depth N   limits, as in 'weir filter'\n"
    "  -q, --quiet             no summary on stderr\n"
    "\n"
    "A fleet on NATS JetStream: weir run -r RULES --source nats://HOST:PORT --stream S\n"
    "--consumer C [--outbox nats]; 'weir run --source nats://HOST:PORT --help' lists\n"
    "its options (docs/scale-out.md).\n"
    "\n"
    "Exit status: 0 fine, 1 some lines were bad, 2 usage, rule or action errors, or\n"
    "the state directory could not be used.\n";

constexpr char kReplayUsage[] =
    "usage: weir replay -r RULES [-r RULES]... [--state DIR] [options]\n"
    "\n"
    "Moves the dead letters of DIR/dead-letter.ndjson back into the outbox and\n"
    "delivers them with the actions' current settings (as the rule files now say).\n"
    "Letters whose action no longer exists stay where they are; a deactivated\n"
    "target that has letters to replay is reactivated.\n"
    "\n"
    "options:\n"
    "  -r, --rules FILE        rule files, as for 'weir run'\n"
    "  -s, --state DIR         the state directory (default ./.weir-state)\n"
    "      --sync MODE         normal (default) or full, as for 'weir run'\n"
    "      --drain-timeout D   deliver for at most D (default 30s)\n"
    "  -q, --quiet             no summary on stderr\n"
    "\n"
    "Exit status: 0 fine, 2 usage, rule or action errors, or the state directory\n"
    "could not be used.\n";

// Signals become bytes on a pipe that a watcher thread reads: the handler
// does nothing but write(2), which is async-signal-safe.
int g_signal_pipe[2] = {-1, -1};

void OnSignal(int) {
  char c = 1;
  ssize_t n = write(g_signal_pipe[1], &c, 1);
  (void)n;
}

class SignalWatcher {
 public:
  // First signal: `first`; second: `second`.
  SignalWatcher(std::function<void()> first, std::function<void()> second) {
    if (pipe2(g_signal_pipe, O_CLOEXEC) != 0) return;
    struct sigaction sa = {};
    sa.sa_handler = OnSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
    thread_ = std::thread([this, first = std::move(first), second = std::move(second)] {
      int seen = 0;
      for (;;) {
        char c;
        ssize_t n = read(g_signal_pipe[0], &c, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || c == 0) return;  // 0: the watcher is done
        if (++seen == 1) {
          first();
        } else {
          second();
        }
      }
    });
  }
  ~SignalWatcher() {
    if (!thread_.joinable()) return;
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
    char c = 0;
    ssize_t n = write(g_signal_pipe[1], &c, 1);
    (void)n;
    thread_.join();
    close(g_signal_pipe[0]);
    close(g_signal_pipe[1]);
  }

 private:
  struct sigaction old_int_ = {}, old_term_ = {};
  std::thread thread_;
};

// Bad lines are reported as 'weir filter' reports them; matches go to the
// dispatcher.
class RunSink : public Sink {
 public:
  RunSink(Dispatcher* d, FILE* err) : d_(d), err_(err) {}
  void Prepare(BatchResult* r) override { d_->Prepare(r); }
  absl::Status OnBatch(const BatchResult& r) override {
    for (const BadEvent& b : r.bad)
      fprintf(err_, "weir: %s:%llu: %s\n", r.source->name().c_str(),
              static_cast<unsigned long long>(b.position.line), b.reason.c_str());
    return d_->OnBatch(r);
  }

 private:
  Dispatcher* d_;
  FILE* err_;
};

bool ParseDuration(const std::string& s, absl::Duration* d) {
  return absl::ParseDuration(s, d) && *d >= absl::ZeroDuration();
}

struct Common {
  std::vector<std::string> rule_files, inputs;
  DispatcherOptions dispatcher;
  absl::Duration drain_timeout = absl::Seconds(30);
  PipelineOptions pipeline;
  bool from_start = false, quiet = false;
};

// GNU-style options: `--opt value`, `--opt=value`, `--` ends the options.
// Returns -1 when parsing went through, else the exit status.
int ParseArgs(const std::vector<std::string>& args, bool run, FILE* out, FILE* err, Common* c) {
  const char* usage = run ? kRunUsage : kReplayUsage;
  const char* cmd = run ? "run" : "replay";
  auto bad = [&](const std::string& msg) {
    fprintf(err, "weir %s: %s; see 'weir %s --help'\n", cmd, msg.c_str(), cmd);
    return 2;
  };
  bool options_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string s = args[i];
    if (options_done || s == "-" || s.empty() || s[0] != '-') {
      if (!run) return bad(absl::StrCat("unexpected argument '", s, "'"));
      c->inputs.push_back(s);
      continue;
    }
    if (s == "--") {
      options_done = true;
      continue;
    }
    std::string value;
    bool has_inline = false;
    if (s.rfind("--", 0) == 0) {
      size_t eq = s.find('=');
      if (eq != std::string::npos) {
        value = s.substr(eq + 1);
        s = s.substr(0, eq);
        has_inline = true;
      }
    }
    auto need = [&](const char* what) -> bool {
      if (has_inline) return true;
      if (i + 1 >= args.size()) return false;
      value = args[++i];
      (void)what;
      return true;
    };
    if (s == "-h" || s == "--help") {
      fputs(usage, out);
      return 0;
    } else if (s == "-r" || s == "--rules") {
      if (!need("a rule file")) return bad(absl::StrCat(s, " needs a rule file"));
      c->rule_files.push_back(value);
    } else if (s == "-s" || s == "--state") {
      if (!need("a directory") || value.empty()) return bad(absl::StrCat(s, " needs a directory"));
      c->dispatcher.state_dir = value;
    } else if (s == "--sync") {
      if (!need("a mode") || (value != "normal" && value != "full"))
        return bad("--sync takes 'normal' or 'full'");
      c->dispatcher.sync = value == "full" ? SyncMode::kFull : SyncMode::kNormal;
    } else if (s == "--drain-timeout") {
      if (!need("a duration") || !ParseDuration(value, &c->drain_timeout))
        return bad("--drain-timeout needs a duration such as 30s or 500ms");
    } else if (s == "-q" || s == "--quiet") {
      c->quiet = true;
    } else if (run && s == "--max-pending") {
      uint64_t n;
      if (!need("a number") || !absl::SimpleAtoi(value, &n) || n == 0)
        return bad("--max-pending needs a positive number");
      c->dispatcher.max_pending = n;
    } else if (run && s == "--from-start") {
      c->from_start = true;
    } else if (run && (s == "-t" || s == "--threads")) {
      uint64_t n;
      if (!need("a number") || !absl::SimpleAtoi(value, &n) || n == 0 || n > 256)
        return bad("--threads needs a number from 1 to 256");
      c->pipeline.threads = static_cast<int>(n);
    } else if (run && s == "--validate") {
      if (!need("a mode") || (value != "all" && value != "output"))
        return bad("--validate takes 'all' or 'output'");
      c->pipeline.validate_all = value == "all";
    } else if (run && s == "--max-event-bytes") {
      uint64_t n;
      if (!need("a number") || !absl::SimpleAtoi(value, &n) || n == 0 || n > (uint64_t{1} << 31))
        return bad("--max-event-bytes needs a number up to 2^31");
      c->pipeline.limits.max_event_bytes = n;
    } else if (run && s == "--max-depth") {
      uint64_t n;
      if (!need("a number") || !absl::SimpleAtoi(value, &n) || n == 0 || n > 4096)
        return bad("--max-depth needs a number from 1 to 4096");
      c->pipeline.limits.max_depth = n;
    } else {
      return bad(absl::StrCat("unknown option '", s, "'"));
    }
  }
  if (c->rule_files.empty()) return bad(absl::StrCat(cmd, " needs at least one -r RULES"));
  return -1;
}

void PrintDiagnostics(const std::vector<Diagnostic>& diags, const char* what, FILE* err) {
  for (const Diagnostic& d : diags) fprintf(err, "%s\n", d.ToString().c_str());
  fprintf(err, "weir: %zu error%s in the %s; nothing was processed\n", diags.size(),
          diags.size() == 1 ? "" : "s", what);
}

// Rules, executors and the dispatcher; diagnostics printed. Null on failure.
std::unique_ptr<Dispatcher> OpenDispatcher(const Common& c, FILE* err, OpenedRules* loaded) {
  auto opened = OpenRules(c.rule_files);
  if (!opened.ok()) {
    for (absl::string_view line : absl::StrSplit(opened.status().message(), '\n'))
      fprintf(err, "weir: %.*s\n", static_cast<int>(line.size()), line.data());
    return nullptr;
  }
  if (!opened->ok()) {
    PrintDiagnostics(opened->diagnostics, "rules", err);
    return nullptr;
  }
  *loaded = *std::move(opened);
  ExecutorRegistry::Executors ex = ExecutorRegistry::Builtins().CreateAll(loaded->actions);
  if (!ex.ok()) {
    PrintDiagnostics(ex.diagnostics, "actions", err);
    return nullptr;
  }
  DispatcherOptions o = c.dispatcher;
  o.log = [err](std::string_view m) {
    fprintf(err, "weir: %.*s\n", static_cast<int>(m.size()), m.data());
  };
  auto d = Dispatcher::Open(o, std::move(ex.by_action));
  if (!d.ok()) {
    fprintf(err, "weir: %s\n", std::string(d.status().message()).c_str());
    return nullptr;
  }
  return *std::move(d);
}

// Delivers until nothing is pending, `timeout` passes or `force` is set.
void DrainFor(Dispatcher& d, absl::Duration timeout, const std::atomic<bool>& force) {
  absl::Time deadline = absl::Now() + timeout;
  while (!force.load() && absl::Now() < deadline) {
    absl::Time slice = std::min(deadline, absl::Now() + absl::Milliseconds(100));
    if (!d.Drain(slice).ok()) return;
    bool idle = true;
    for (const ActionStats& s : d.Summary()) idle &= s.pending == 0;
    if (idle) return;
  }
}

void PrintSummary(Dispatcher& d, const Common& c, const PipelineStats* stats, FILE* err) {
  if (c.quiet) return;
  using ull = unsigned long long;
  if (stats)
    fprintf(err, "weir: %llu lines, %llu events, %llu bad, %llu matched\n", ull(stats->lines),
            ull(stats->events), ull(stats->bad), ull(stats->matched));
  std::vector<ActionStats> all = d.Summary();
  size_t w = 6, tw = 6;
  for (const ActionStats& s : all) {
    w = std::max(w, s.action.size());
    tw = std::max(tw, s.target.size());
  }
  fprintf(err, "weir: %-*s  %-*s  %9s %9s %9s %13s %9s\n", static_cast<int>(w), "action",
          static_cast<int>(tw), "target", "matched", "delivered", "retried", "dead-lettered",
          "pending");
  uint64_t matched = 0, delivered = 0, dead = 0, pending = 0;
  for (const ActionStats& s : all) {
    fprintf(err, "weir: %-*s  %-*s  %9llu %9llu %9llu %13llu %9llu%s\n", static_cast<int>(w),
            s.action.c_str(), static_cast<int>(tw), s.target.c_str(), ull(s.matched),
            ull(s.delivered), ull(s.retried), ull(s.dead_lettered), ull(s.pending),
            s.deactivated ? "  (deactivated)" : "");
    matched += s.matched;
    delivered += s.delivered;
    dead += s.dead_lettered;
    pending += s.pending;
  }
  if (pending == 0) {
    fprintf(err, "weir: delivered %llu + dead-lettered %llu = %llu; nothing is left in the outbox\n",
            ull(delivered), ull(dead), ull(delivered + dead));
  } else {
    fprintf(err, "weir: delivered %llu, dead-lettered %llu; %llu left in the outbox of %s for the next run\n",
            ull(delivered), ull(dead), ull(pending), c.dispatcher.state_dir.c_str());
  }
  if (dead > 0)
    fprintf(err, "weir: dead letters are in %s/dead-letter.ndjson ('weir replay' re-sends them)\n",
            c.dispatcher.state_dir.c_str());
}

}  // namespace

int Run(const std::vector<std::string>& args, FILE* out, FILE* err) {
  Common c;
  if (int rc = ParseArgs(args, true, out, err, &c); rc >= 0) return rc;
  if (c.inputs.empty()) c.inputs.push_back("-");
  OpenedRules loaded;
  std::unique_ptr<Dispatcher> d = OpenDispatcher(c, err, &loaded);
  if (!d) return 2;

  Pipeline pipeline(loaded.rules, c.pipeline);
  std::atomic<bool> stopping{false}, force{false};
  SignalWatcher signals(
      [&] {
        stopping = true;
        pipeline.Stop();
      },
      [&] { force = true; });

  RunSink sink(d.get(), err);
  PipelineStats total;
  int rc = 0;
  for (const std::string& in : c.inputs) {
    if (stopping) break;
    int fd = 0;
    FdSourceOptions so;
    so.max_event_bytes = c.pipeline.limits.max_event_bytes;
    if (in != "-") {
      fd = open(in.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        fprintf(err, "weir: cannot read %s: %s\n", in.c_str(), strerror(errno));
        rc = 2;
        continue;
      }
      struct stat st;
      if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        std::optional<ResumePoint> p = c.from_start ? std::nullopt : d->Resume(in);
        if (p && p->offset > static_cast<uint64_t>(st.st_size)) {
          fprintf(err, "weir: %s is shorter than when an earlier run read it; reading it from the start\n",
                  in.c_str());
        } else if (p && p->offset > 0) {
          if (!c.quiet)
            fprintf(err, "weir: %s: resuming after line %llu, where an earlier run with %s stopped (--from-start reads it all)\n",
                    in.c_str(), static_cast<unsigned long long>(p->line),
                    c.dispatcher.state_dir.c_str());
          so.start_offset = p->offset;
          so.start_line = p->line;
        }
      }
    }
    auto source = MakeFdSource(fd, in, so);
    if (!source.ok()) {
      fprintf(err, "weir: %s: %s\n", in.c_str(), std::string(source.status().message()).c_str());
      if (fd != 0) close(fd);
      rc = 2;
      continue;
    }
    PipelineStats stats;
    absl::Status st = pipeline.Run(**source, sink, &stats);
    if (fd != 0) close(fd);
    total.lines += stats.lines;
    total.blank += stats.blank;
    total.bad += stats.bad;
    total.events += stats.events;
    total.matched += stats.matched;
    total.bytes += stats.bytes;
    if (!st.ok()) {
      fprintf(err, "weir: %s: %s\n", in.c_str(), std::string(st.message()).c_str());
      rc = 2;
      break;
    }
  }
  fflush(out);
  DrainFor(*d, c.drain_timeout, force);
  d->Stop(absl::Now() + (force ? absl::ZeroDuration() : absl::Seconds(1)));
  PrintSummary(*d, c, &total, err);
  if (rc) return rc;
  return total.bad > 0 ? 1 : 0;
}

int Replay(const std::vector<std::string>& args, FILE* out, FILE* err) {
  Common c;
  if (int rc = ParseArgs(args, false, out, err, &c); rc >= 0) return rc;
  OpenedRules loaded;
  std::unique_ptr<Dispatcher> d = OpenDispatcher(c, err, &loaded);
  if (!d) return 2;
  std::atomic<bool> force{false};
  SignalWatcher signals([&] { force = true; }, [&] { force = true; });
  auto n = d->ReplayDeadLetters();
  if (!n.ok()) {
    fprintf(err, "weir: %s\n", std::string(n.status().message()).c_str());
    return 2;
  }
  if (!c.quiet) fprintf(err, "weir: replaying %zu dead letter%s\n", *n, *n == 1 ? "" : "s");
  DrainFor(*d, c.drain_timeout, force);
  d->Stop(absl::Now() + (force ? absl::ZeroDuration() : absl::Seconds(1)));
  PrintSummary(*d, c, nullptr, err);
  return 0;
}

}  // namespace weir::cli
