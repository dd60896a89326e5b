#include "bindings/cli/nats_flags.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "weir/actions.h"
#include "weir/nats.h"
#include "weir/open.h"
#include "weir/stream.h"

namespace weir::cli {

const char kNatsRunOptions[] =
    "NATS JetStream (see docs/scale-out.md):\n"
    "      --source nats://HOST:PORT  read events from a stream through a durable pull\n"
    "                          consumer shared by every weir process given the same\n"
    "                          --stream and --consumer (user:password@ or token@ in\n"
    "                          the URL, never printed)\n"
    "      --stream S          the stream (must exist)\n"
    "      --consumer C        the durable consumer (created if missing: explicit acks,\n"
    "                          --ack-wait, --max-ack-pending, unlimited redeliveries)\n"
    "      --subject SUBJ      filter subject of a consumer weir creates\n"
    "      --creds FILE        a NATS credentials file\n"
    "      --batch N           messages per fetch at most (default 256)\n"
    "      --ack-wait D        of a created consumer (default 30s)\n"
    "      --max-ack-pending N of a created consumer (default 1000)\n"
    "      --outbox nats       record actions in a JetStream stream instead of the\n"
    "                          state directory: any weir process delivers them, and a\n"
    "                          process that dies, disk and all, loses none\n"
    "      --outbox-stream S   the actions stream (default WEIR_ACTIONS; created)\n"
    "      --deliver-consumer C  the delivery workers' durable consumer (default\n"
    "                          weir-deliver)\n"
    "      --deliver-only      no input: only deliver what the actions stream holds\n"
    "                          (with --outbox nats and --source nats://HOST:PORT)\n"
    "      --max-in-flight N   deliveries under way at once per process (default 256)\n";

const char kNatsFilterOptions[] =
    "NATS JetStream (see docs/scale-out.md):\n"
    "      --source nats://HOST:PORT --stream S --consumer C [--subject SUBJ]\n"
    "                          read events from a stream, as 'weir run' does; a message\n"
    "                          is acknowledged once its output is written or published\n"
    "      --creds FILE        a NATS credentials file\n"
    "      --sink nats://HOST:PORT --sink-subject OUT\n"
    "                          publish each matched event to OUT instead of printing it:\n"
    "                          with JetStream acknowledgements when a stream stores OUT,\n"
    "                          else a core publish (at most once)\n"
    "      --sink-format F     event (default: the event as read) or annotated\n";

namespace {

bool ParseDur(const std::string& s, absl::Duration* d) {
  return absl::ParseDuration(s, d) && *d > absl::ZeroDuration();
}

}  // namespace

int ParseNatsFlag(const std::string& flag, const std::function<bool(std::string*)>& value, bool run,
                  NatsFlags* f, std::string* error) {
  std::string v;
  auto need = [&](const char* what) {
    if (value(&v) && !v.empty()) return true;
    *error = absl::StrCat(flag, " needs ", what);
    return false;
  };
  uint64_t n = 0;
  if (flag == "--source") {
    if (!need("nats://HOST:PORT")) return -1;
    if (v.rfind("nats://", 0) != 0 && v.rfind("tls://", 0) != 0) {
      *error = "--source takes nats://HOST:PORT";
      return -1;
    }
    f->source = v;
  } else if (flag == "--stream") {
    if (!need("a stream name")) return -1;
    f->stream = v;
  } else if (flag == "--consumer") {
    if (!need("a consumer name")) return -1;
    f->consumer = v;
  } else if (flag == "--subject") {
    if (!need("a subject")) return -1;
    f->subject = v;
  } else if (flag == "--creds") {
    if (!need("a credentials file")) return -1;
    f->creds = v;
  } else if (flag == "--batch") {
    if (!need("a number") || !absl::SimpleAtoi(v, &n) || n == 0 || n > 10000) {
      *error = "--batch needs a number from 1 to 10000";
      return -1;
    }
    f->batch = static_cast<int>(n);
  } else if (flag == "--ack-wait") {
    if (!need("a duration") || !ParseDur(v, &f->ack_wait)) {
      *error = "--ack-wait needs a duration such as 30s";
      return -1;
    }
  } else if (flag == "--max-ack-pending") {
    if (!need("a number") || !absl::SimpleAtoi(v, &n) || n == 0 || n > 10'000'000) {
      *error = "--max-ack-pending needs a positive number";
      return -1;
    }
    f->max_ack_pending = static_cast<int64_t>(n);
  } else if (!run && flag == "--sink") {
    if (!need("nats://HOST:PORT")) return -1;
    if (v.rfind("nats://", 0) != 0 && v.rfind("tls://", 0) != 0) {
      *error = "--sink takes nats://HOST:PORT";
      return -1;
    }
    f->sink = v;
  } else if (!run && flag == "--sink-subject") {
    if (!need("a subject")) return -1;
    f->sink_subject = v;
  } else if (!run && flag == "--sink-format") {
    if (!need("a format") || (v != "event" && v != "annotated")) {
      *error = "--sink-format takes 'event' or 'annotated'";
      return -1;
    }
    f->sink_annotated = v == "annotated";
  } else if (run && flag == "--outbox") {
    if (!need("a kind") || (v != "nats" && v != "state")) {
      *error = "--outbox takes 'nats' (or 'state', the default: the state directory)";
      return -1;
    }
    f->outbox_nats = v == "nats";
  } else if (run && flag == "--outbox-stream") {
    if (!need("a stream name")) return -1;
    f->outbox_stream = v;
  } else if (run && flag == "--deliver-consumer") {
    if (!need("a consumer name")) return -1;
    f->deliver_consumer = v;
  } else if (run && flag == "--deliver-only") {
    f->deliver_only = true;
  } else if (run && flag == "--max-in-flight") {
    if (!need("a number") || !absl::SimpleAtoi(v, &n) || n == 0 || n > 100000) {
      *error = "--max-in-flight needs a number from 1 to 100000";
      return -1;
    }
    f->max_in_flight = static_cast<int>(n);
  } else {
    return 0;
  }
  return 1;
}

std::string CheckNatsFlags(const NatsFlags& f, bool run, bool have_inputs) {
  if (!f.source.empty()) {
    if (f.stream.empty() || (f.consumer.empty() && !f.deliver_only))
      return "--source needs --stream S and --consumer C";
    if (have_inputs) return "--source nats://… reads no FILE";
  } else if (!f.stream.empty() || !f.consumer.empty() || !f.subject.empty()) {
    return "--stream, --consumer and --subject go with --source nats://HOST:PORT";
  }
  if (!f.sink.empty() && f.sink_subject.empty()) return "--sink needs --sink-subject OUT";
  if (f.sink.empty() && !f.sink_subject.empty()) return "--sink-subject goes with --sink";
  if (run && f.deliver_only && !f.outbox_nats) return "--deliver-only goes with --outbox nats";
  if (run && f.outbox_nats && f.source.empty())
    return "--outbox nats needs the NATS server: --source nats://HOST:PORT";
  return "";
}

bool IsNatsRun(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "--") break;
    if (a == "--source" || a.rfind("--source=", 0) == 0 || a == "--outbox" ||
        a.rfind("--outbox=", 0) == 0 || a == "--deliver-only")
      return true;
  }
  return false;
}

namespace {

// SIGINT/SIGTERM: a byte on a pipe; a thread calls `stop` (once).
int g_pipe[2] = {-1, -1};
extern "C" void OnNatsSignal(int) {
  int saved = errno;
  char c = 1;
  [[maybe_unused]] ssize_t n = write(g_pipe[1], &c, 1);
  errno = saved;
}

class Signals {
 public:
  explicit Signals(std::function<void()> stop) {
    if (pipe2(g_pipe, O_CLOEXEC) != 0) return;
    struct sigaction sa = {};
    sa.sa_handler = OnNatsSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
    thread_ = std::thread([this, stop = std::move(stop)] {
      char c;
      for (;;) {
        ssize_t n = read(g_pipe[0], &c, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || c == 0) return;
        signalled_ = true;
        stop();
      }
    });
  }
  ~Signals() {
    if (!thread_.joinable()) return;
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
    char c = 0;
    [[maybe_unused]] ssize_t n = write(g_pipe[1], &c, 1);
    thread_.join();
    close(g_pipe[0]);
    close(g_pipe[1]);
  }
  bool signalled() const { return signalled_; }

 private:
  std::atomic<bool> signalled_{false};
  std::thread thread_;
  struct sigaction old_int_ = {}, old_term_ = {};
};

// Bad events are reported like 'weir filter' reports bad lines (with the
// stream sequence); matches go on to the outbox.
class ReportingSink : public Sink {
 public:
  ReportingSink(Sink* next, FILE* err) : next_(next), err_(err) {}
  void Prepare(BatchResult* r) override { next_->Prepare(r); }
  absl::Status OnBatch(const BatchResult& r) override {
    for (const BadEvent& b : r.bad)
      fprintf(err_, "weir: %s:%llu: %s\n", r.source->name().c_str(),
              static_cast<unsigned long long>(b.position.sequence), b.reason.c_str());
    return next_->OnBatch(r);
  }

 private:
  Sink* next_;
  FILE* err_;
};

struct RunConfig {
  std::vector<std::string> rule_files;
  NatsFlags nats;
  DispatcherOptions dispatcher;
  PipelineOptions pipeline;
  absl::Duration drain_timeout = absl::Seconds(30);
  bool quiet = false;
};

constexpr char kRunNatsUsage[] =
    "usage: weir run -r RULES [-r RULES]... --source nats://HOST:PORT --stream S\n"
    "                --consumer C [--outbox nats] [options]\n"
    "       weir run -r RULES... --source nats://HOST:PORT --outbox nats --deliver-only\n"
    "\n"
    "Runs until SIGINT or SIGTERM. Options as for 'weir run' (-r, -s/--state, --sync,\n"
    "--drain-timeout, --max-pending, -t/--threads, --validate, --max-event-bytes,\n"
    "--max-depth, -q), and:\n";

int ParseRun(const std::vector<std::string>& args, FILE* out, FILE* err, RunConfig* c) {
  auto bad = [&](const std::string& msg) {
    fprintf(err, "weir run: %s; see 'weir run --help'\n", msg.c_str());
    return 2;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    std::string s = args[i], value;
    bool inline_value = false;
    if (s.rfind("--", 0) == 0 && s.find('=') != std::string::npos) {
      value = s.substr(s.find('=') + 1);
      s = s.substr(0, s.find('='));
      inline_value = true;
    }
    auto next = [&](std::string* v) {
      if (inline_value) {
        *v = value;
        return true;
      }
      if (i + 1 >= args.size()) return false;
      *v = args[++i];
      return true;
    };
    std::string v, error;
    uint64_t n = 0;
    if (s == "-h" || s == "--help") {
      fputs(kRunNatsUsage, out);
      fputs(kNatsRunOptions, out);
      return 0;
    } else if (int r = ParseNatsFlag(s, next, true, &c->nats, &error); r != 0) {
      if (r < 0) return bad(error);
    } else if (s == "-r" || s == "--rules") {
      if (!next(&v)) return bad("-r needs a rule file");
      c->rule_files.push_back(v);
    } else if (s == "-s" || s == "--state") {
      if (!next(&v) || v.empty()) return bad("--state needs a directory");
      c->dispatcher.state_dir = v;
    } else if (s == "--sync") {
      if (!next(&v) || (v != "normal" && v != "full"))
        return bad("--sync takes 'normal' or 'full'");
      c->dispatcher.sync = v == "full" ? SyncMode::kFull : SyncMode::kNormal;
    } else if (s == "--drain-timeout") {
      if (!next(&v) || !absl::ParseDuration(v, &c->drain_timeout))
        return bad("--drain-timeout needs a duration such as 30s");
    } else if (s == "--max-pending") {
      if (!next(&v) || !absl::SimpleAtoi(v, &n) || n == 0)
        return bad("--max-pending needs a positive number");
      c->dispatcher.max_pending = n;
    } else if (s == "-t" || s == "--threads") {
      if (!next(&v) || !absl::SimpleAtoi(v, &n) || n == 0 || n > 256)
        return bad("--threads needs a number from 1 to 256");
      c->pipeline.threads = static_cast<int>(n);
    } else if (s == "--validate") {
      if (!next(&v) || (v != "all" && v != "output"))
        return bad("--validate takes 'all' or 'output'");
      c->pipeline.validate_all = v == "all";
    } else if (s == "--max-event-bytes") {
      if (!next(&v) || !absl::SimpleAtoi(v, &n) || n == 0 || n > (uint64_t{1} << 31))
        return bad("--max-event-bytes needs a number up to 2^31");
      c->pipeline.limits.max_event_bytes = n;
    } else if (s == "--max-depth") {
      if (!next(&v) || !absl::SimpleAtoi(v, &n) || n == 0 || n > 4096)
        return bad("--max-depth needs a number from 1 to 4096");
      c->pipeline.limits.max_depth = n;
    } else if (s == "-q" || s == "--quiet") {
      c->quiet = true;
    } else if (s == "--from-start") {
      return bad("--from-start is for FILE inputs; a NATS consumer keeps its own place");
    } else {
      return bad(absl::StrCat("unknown option '", s, "'"));
    }
  }
  if (c->rule_files.empty()) return bad("run needs at least one -r RULES");
  if (std::string e = CheckNatsFlags(c->nats, true, false); !e.empty()) return bad(e);
  if (c->nats.source.empty()) return bad("this mode needs --source nats://HOST:PORT");
  return -1;
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

}  // namespace

absl::Status FilterNats(const NatsFlags& f, Pipeline& pipeline, Sink* local, int fd,
                        const std::string& name, size_t max_event_bytes, PipelineStats* stats) {
  std::unique_ptr<Source> source;
  if (!f.source.empty()) {
    nats::SourceOptions so;
    so.connect.url = f.source;
    so.connect.creds_file = f.creds;
    so.stream = f.stream;
    so.consumer = f.consumer;
    so.subject = f.subject;
    so.consumer_defaults.ack_wait = f.ack_wait;
    so.consumer_defaults.max_ack_pending = f.max_ack_pending;
    so.batch = f.batch;
    so.max_event_bytes = max_event_bytes;
    auto s = nats::MakeSource(so);
    if (!s.ok()) return s.status();
    source = *std::move(s);
  } else {
    FdSourceOptions fo;
    fo.max_event_bytes = max_event_bytes;
    auto s = MakeFdSource(fd, name, fo);
    if (!s.ok()) return s.status();
    source = *std::move(s);
  }
  std::unique_ptr<Sink> sink;
  if (!f.sink.empty()) {
    nats::SinkOptions o;
    o.connect.url = f.sink;
    o.connect.creds_file = f.creds;
    o.subject = f.sink_subject;
    o.annotated = f.sink_annotated;
    auto s = nats::MakeSink(o);
    if (!s.ok()) return s.status();
    sink = *std::move(s);
  }
  return pipeline.Run(*source, sink ? *sink : *local, stats);
}

int RunNats(const std::vector<std::string>& args, FILE* out, FILE* err) {
  RunConfig c;
  if (int rc = ParseRun(args, out, err, &c); rc >= 0) return rc;
  auto opened = OpenRules(c.rule_files);
  if (!opened.ok()) {
    fprintf(err, "weir: %s\n", Message(opened.status()).c_str());
    return 2;
  }
  if (!opened->ok()) {
    for (const Diagnostic& d : opened->diagnostics) fprintf(err, "%s\n", d.ToString().c_str());
    fprintf(err, "weir: %zu error%s in the rules; nothing was processed\n",
            opened->diagnostics.size(), opened->diagnostics.size() == 1 ? "" : "s");
    return 2;
  }
  ExecutorRegistry::Executors ex = ExecutorRegistry::Builtins().CreateAll(opened->actions);
  if (!ex.ok()) {
    for (const Diagnostic& d : ex.diagnostics) fprintf(err, "%s\n", d.ToString().c_str());
    fprintf(err, "weir: %zu error%s in the actions; nothing was processed\n", ex.diagnostics.size(),
            ex.diagnostics.size() == 1 ? "" : "s");
    return 2;
  }
  auto log = [err](std::string_view m) {
    fprintf(err, "weir: %.*s\n", static_cast<int>(m.size()), m.data());
  };
  nats::ConnectOptions conn;
  conn.url = c.nats.source;
  conn.creds_file = c.nats.creds;
  conn.log = log;

  std::atomic<bool> stop{false};
  Pipeline pipeline(opened->rules, c.pipeline);
  Signals signals([&] {
    stop = true;
    pipeline.Stop();
  });

  // Delivery: the JetStream outbox's workers, or the state directory's
  // dispatcher.
  std::unique_ptr<nats::DeliveryWorker> worker;
  std::unique_ptr<Dispatcher> dispatcher;
  std::unique_ptr<Sink> outbox;
  if (c.nats.outbox_nats) {
    nats::DeliveryOptions d;
    d.outbox.connect = conn;
    d.outbox.stream = c.nats.outbox_stream;
    d.consumer = c.nats.deliver_consumer;
    d.consumer_defaults.ack_wait = c.nats.ack_wait;
    d.consumer_defaults.max_ack_pending =
        std::max<int64_t>(c.nats.max_ack_pending, c.nats.max_in_flight);
    d.max_in_flight = c.nats.max_in_flight;
    d.log = log;
    auto w = nats::DeliveryWorker::Start(d, std::move(ex.by_action));
    if (!w.ok()) {
      fprintf(err, "weir: %s\n", Message(w.status()).c_str());
      return 2;
    }
    worker = *std::move(w);
    if (!c.nats.deliver_only) {
      auto o = nats::MakeOutbox(d.outbox);
      if (!o.ok()) {
        fprintf(err, "weir: %s\n", Message(o.status()).c_str());
        return 2;
      }
      outbox = *std::move(o);
    }
  } else {
    DispatcherOptions o = c.dispatcher;
    o.log = log;
    auto d = Dispatcher::Open(o, std::move(ex.by_action));
    if (!d.ok()) {
      fprintf(err, "weir: %s\n", Message(d.status()).c_str());
      return 2;
    }
    dispatcher = *std::move(d);
  }

  PipelineStats stats;
  int rc = 0;
  std::string input_name;
  if (c.nats.deliver_only) {
    while (!stop.load()) absl::SleepFor(absl::Milliseconds(50));
  } else {
    nats::SourceOptions so;
    so.connect = conn;
    so.stream = c.nats.stream;
    so.consumer = c.nats.consumer;
    so.subject = c.nats.subject;
    so.consumer_defaults.ack_wait = c.nats.ack_wait;
    so.consumer_defaults.max_ack_pending = c.nats.max_ack_pending;
    so.batch = c.nats.batch;
    so.max_event_bytes = c.pipeline.limits.max_event_bytes;
    auto source = nats::MakeSource(so);
    if (!source.ok()) {
      fprintf(err, "weir: %s\n", Message(source.status()).c_str());
      rc = 2;
    } else {
      input_name = (*source)->name();
      Sink* next = outbox ? outbox.get() : static_cast<Sink*>(dispatcher.get());
      ReportingSink sink(next, err);
      absl::Status st = pipeline.Run(**source, sink, &stats);
      if (!st.ok()) {
        fprintf(err, "weir: %s: %s\n", input_name.c_str(), Message(st).c_str());
        rc = 2;
      }
    }
  }
  using ull = unsigned long long;
  if (worker) {
    // Deliveries under way finish; the rest stays in the stream for the
    // other workers (or the next run).
    worker->Stop(absl::Now() + std::min(c.drain_timeout, absl::Seconds(10)));
    nats::DeliveryStats ds = worker->stats();
    if (!c.quiet && (c.nats.deliver_only || !input_name.empty())) {
      if (!input_name.empty())
        fprintf(err, "weir: %s: %llu events, %llu bad, %llu matched\n", input_name.c_str(),
                ull(stats.events), ull(stats.bad), ull(stats.matched));
      fprintf(err, "weir: delivered %llu, retried %llu, dead-lettered %llu (stream %s)%s\n",
              ull(ds.delivered), ull(ds.retried), ull(ds.dead_lettered),
              c.nats.outbox_stream.c_str(),
              ds.deactivated ? absl::StrCat("; targets deactivated ", ds.deactivated).c_str() : "");
    }
  } else if (dispatcher) {
    absl::Time deadline = absl::Now() + c.drain_timeout;
    while (absl::Now() < deadline) {
      if (!dispatcher->Drain(std::min(deadline, absl::Now() + absl::Milliseconds(100))).ok()) break;
      bool idle = true;
      for (const ActionStats& s : dispatcher->Summary()) idle &= s.pending == 0;
      if (idle) break;
    }
    dispatcher->Stop(absl::Now() + absl::Seconds(1));
    if (!c.quiet && !input_name.empty()) {
      fprintf(err, "weir: %s: %llu events, %llu bad, %llu matched\n", input_name.c_str(),
              ull(stats.events), ull(stats.bad), ull(stats.matched));
      for (const ActionStats& s : dispatcher->Summary())
        fprintf(err,
                "weir: action %s: delivered %llu, retried %llu, dead-lettered %llu, pending %llu\n",
                s.action.c_str(), ull(s.delivered), ull(s.retried), ull(s.dead_lettered),
                ull(s.pending));
    }
  }
  fflush(out);
  if (rc) return rc;
  return stats.bad > 0 ? 1 : 0;
}

}  // namespace weir::cli
