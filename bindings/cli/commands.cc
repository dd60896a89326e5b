#include "bindings/cli/commands.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <thread>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bindings/cli/explain.h"
#include "bindings/cli/filter.h"
#include "bindings/cli/run.h"
#include "weir/actions.h"
#include "bindings/cli/serve.h"
#include "bindings/cli/nats_flags.h"
#include "weir/compiled_rules.h"
#include "weir/engine.h"
#include "weir/open.h"
#include "weir/rules.h"
#include "weir/stream.h"

namespace weir::cli {
namespace {

constexpr char kUsage[] =
    "usage: weir <command> [options]\n"
    "\n"
    "commands:\n"
    "  check RULES...                 validate and compile rule files; print a summary\n"
    "  compile RULES... -o FILE       compile rule files into FILE, which -r takes and\n"
    "                                 which starts far faster than the rule files\n"
    "  filter -r RULES [-r RULES]... [options] [FILE|-]...\n"
    "                                 print the events that match (NDJSON in, one event a line)\n"
    "  bench -r RULES [-r RULES]... [--threads N] [--json] [--repeat K] EVENTS\n"
    "                                 offline benchmark: compile time, events/s, MB/s, matches,\n"
    "                                 peak memory (and per-rule hit counts with --json)\n"
    "  run -r RULES... [--state DIR] [FILE|-]...\n"
    "                                 filter and carry out the rules' actions (stdout, file,\n"
    "                                 exec, webhook), recorded in an outbox first\n"
    "  replay -r RULES... [--state DIR]\n"
    "                                 re-send the dead letters of an earlier run\n"
    "  explain -r RULES [--rule ID]... [--json] [FILE|-]\n"
    "                                 for each event and rule: matched or not, and why\n"
    "  serve -r RULES... [options]    HTTP ingest, WebSocket push, webhook registry\n"
    "\n"
    "Run 'weir <command> --help' for the options of a command.\n";

constexpr char kCheckUsage[] =
    "usage: weir check [-v] RULES...\n"
    "\n"
    "Reads the rule files (YAML or JSON), reports every mistake as\n"
    "FILE:LINE:COLUMN: rule 'ID': message, and compiles the rules. RULES may\n"
    "instead be one compiled rule file (weir compile).\n"
    "  -v, --verbose   also print the compiled indexes\n"
    "Exit status: 0 the rules are fine, 2 there were diagnostics.\n";

constexpr char kCompileUsage[] =
    "usage: weir compile RULES... -o FILE\n"
    "\n"
    "Reads and compiles the rule files (YAML or JSON), as 'weir check' does, and\n"
    "writes the compiled set to FILE. 'weir filter -r FILE' (and check, bench)\n"
    "then start without reading YAML or compiling: 100k rules take tens of\n"
    "milliseconds instead of several hundred.\n"
    "  -o, --output FILE   the compiled rule file to write (replaced whole, or\n"
    "                      left as it was on failure)\n"
    "\n"
    "Actions keep their ${NAME} references as written: secrets are not stored,\n"
    "and the variables must be set where FILE is read. FILE is for this version\n"
    "of weir; keep the rule files, they are the source.\n"
    "Exit status: 0 written, 2 usage or rule errors, or FILE could not be written.\n";

constexpr char kFilterUsage[] =
    "usage: weir filter -r RULES [-r RULES]... [options] [FILE|-]...\n"
    "\n"
    "Reads NDJSON events (one JSON object a line; stdin when no FILE or '-') and\n"
    "prints the ones that match, in input order.\n"
    "\n"
    "options:\n"
    "  -r, --rules FILE        a rule file (YAML or JSON; repeat for several), or one\n"
    "                          compiled rule file (weir compile)\n"
    "  -f, --format FORMAT     annotated (default): {\"rules\":[ids],\"event\":<event>}\n"
    "                          event: the event line as read\n"
    "                          ids: LINE<TAB>id1,id2 (NAME:LINE with several inputs)\n"
    "                          count: after the input, id<TAB>N for every enabled rule\n"
    "  -t, --threads N         match on N threads (output order is kept); default 1\n"
    "      --errors FILE       also write each bad line there, verbatim\n"
    "      --validate MODE     output (default): fully check every line that is output;\n"
    "                          all: fully check every line, matched or not (slower)\n"
    "      --max-event-bytes N a longer line is bad (default 4194304)\n"
    "      --max-depth N       deeper nesting is bad (default 128)\n"
    "      --progress          a progress line on stderr (default: when stderr is a\n"
    "                          terminal, after 1 s); --no-progress: never\n"
    "  -q, --quiet             no summary on stderr\n"
    "Options take their value as '--opt VALUE' or '--opt=VALUE'; '--' ends them.\n"
    "\n"
    "A bad line (not exactly one JSON object, invalid UTF-8, over a limit) is\n"
    "reported on stderr as 'weir: NAME:LINE: reason' and skipped; the rest goes on.\n"
    "Exit status: 0 all lines were fine, 1 some lines were bad, 2 usage or rule errors,\n"
    "an input could not be read or the output could not be written.\n";

constexpr char kBenchUsage[] =
    "usage: weir bench -r RULES [-r RULES]... [options] EVENTS\n"
    "\n"
    "Loads and compiles the rules, then runs EVENTS (an NDJSON file, or '-' for\n"
    "stdin) through the same pipeline as 'weir filter', without output, and\n"
    "reports: rules, load and compile time, events, events/s, MB/s (1 MB = 1e6\n"
    "bytes), matches and peak memory (getrusage ru_maxrss).\n"
    "\n"
    "options:\n"
    "  -r, --rules FILE        a rule file (YAML or JSON; repeat for several), or one\n"
    "                          compiled rule file (weir compile)\n"
    "  -t, --threads N         match on N threads, as 'weir filter --threads'; default 1\n"
    "  -n, --repeat K          run the pass K times and report the median time\n"
    "                          (EVENTS must be a file); default 1\n"
    "      --json              one JSON object, with per-rule hit counts in file order\n"
    "      --validate MODE     output (default) or all, as in 'weir filter'\n"
    "      --max-event-bytes N, --max-depth N   limits, as in 'weir filter'\n"
    "      --progress, --no-progress            as in 'weir filter'\n"
    "\n"
    "Timing covers reading EVENTS and matching (not loading the rules); the first\n"
    "pass also pays for reading the file from disk when it is not cached.\n"
    "Exit status: 0 fine, 1 some lines were bad, 2 usage or rule errors, EVENTS\n"
    "could not be read or the output could not be written.\n";

// Arguments, parsed the GNU way: `--opt value` or `--opt=value`, `-o value`
// or `-ovalue`, short flags bundled (`-qv`), `--` ends the options.
struct Args {
  std::vector<std::string> argv;
  size_t i = 0;
  bool positional = false;  // the argument last returned by next() is not an option
  std::string error;        // set by next(): the last option was misused
  std::string name;         // the option last returned, as written before any '='

  bool more() {
    if (!attached_set_ && !ended_ && i < argv.size() && argv[i] == "--") {
      ended_ = true;
      ++i;
    }
    return i < argv.size() || attached_set_;
  }
  std::string next() {
    positional = false;
    std::string s;
    if (attached_set_) {
      attached_set_ = false;
      if (name.size() > 2 && name[1] == '-') {
        error = absl::StrCat("option '", name, "' takes no value");
        return name;
      }
      s = "-" + attached_;  // bundled short flags: -qv, -qrFILE
    } else {
      s = argv[i++];
      if (ended_ || s == "-" || s.size() < 2 || s[0] != '-') {
        positional = true;
        return s;
      }
    }
    if (s[1] == '-') {
      size_t eq = s.find('=');
      if (eq != std::string::npos) {
        attached_ = s.substr(eq + 1);
        attached_set_ = true;
        s.resize(eq);
      }
    } else if (s.size() > 2) {
      attached_ = s.substr(2);
      attached_set_ = true;
      s.resize(2);
    }
    return name = s;
  }
  // The value of the option just returned; false when there is none.
  bool Value(std::string* v) {
    if (attached_set_) {
      attached_set_ = false;
      *v = attached_;
      return true;
    }
    if (i >= argv.size()) return false;
    *v = argv[i++];
    return true;
  }

 private:
  bool ended_ = false;
  bool attached_set_ = false;
  std::string attached_;
};

void PrintDiagnostics(const std::vector<Diagnostic>& diagnostics, FILE* err) {
  for (const Diagnostic& d : diagnostics) fprintf(err, "%s\n", d.ToString().c_str());
  fprintf(err, "weir: %zu error%s in the rules; nothing was processed\n", diagnostics.size(),
          diagnostics.size() == 1 ? "" : "s");
}

double MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

long PeakRssKb() {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return ru.ru_maxrss;  // kilobytes on Linux
}

// The command's rule set lives until the process ends: freeing 100k rules
// piece by piece would only delay the exit (as compilers skip freeing their
// ASTs). Still reachable, so leak checkers do not report it.
void KeepUntilExit(std::shared_ptr<const RuleSet> rules) {
  static auto* kept = new std::vector<std::shared_ptr<const RuleSet>>();
  kept->push_back(std::move(rules));
}

struct LoadedRules {
  std::shared_ptr<const RuleSet> rules;
  std::map<std::string, ActionDef> actions;
  bool from_compiled_file = false;
  double load_ms = 0, compile_ms = 0;
  long rss_loaded_kb = 0;
};

// A named action's mistake ("action 'NAME': ...") names the first rule using it.
void AddExecutorDiagnostics(OpenedRules* opened) {
  // An action the reader already found wrong is not checked again (an unset
  // ${NAME} would also be an empty setting).
  std::map<std::string, ActionDef> actions = opened->actions;
  for (const Diagnostic& d : opened->diagnostics)
    if (d.message.rfind("action '", 0) == 0)
      actions.erase(d.message.substr(8, d.message.find("': ") - 8));
  auto executors = ExecutorRegistry::Builtins().CreateAll(actions);
  for (Diagnostic& d : executors.diagnostics) {
    std::string name = d.message.substr(8, d.message.find("': ") - 8);
    for (size_t i = 0; opened->rules && d.rule_id.empty() && i < opened->rules->size(); ++i) {
      const auto& used = opened->rules->rule(i).actions;
      if (std::find(used.begin(), used.end(), name) != used.end())
        d.rule_id = opened->rules->rule(i).id;
    }
    opened->diagnostics.push_back(std::move(d));
  }
}

// Opens the rules (rule files, or one compiled rule file) and prints what
// went wrong; false on failure.
bool LoadRules(const std::vector<std::string>& files, FILE* err, LoadedRules* out,
               const LoadOptions& options = {}) {
  auto opened = OpenRules(files, options);
  if (!opened.ok()) {
    for (absl::string_view line : absl::StrSplit(opened.status().message(), '\n'))
      fprintf(err, "weir: %.*s\n", static_cast<int>(line.size()), line.data());
    return false;
  }
  // Each executor checks its own settings (not when ${NAME} is kept unexpanded).
  if (options.expand_env) AddExecutorDiagnostics(&*opened);
  if (!opened->ok()) {
    PrintDiagnostics(opened->diagnostics, err);
    return false;
  }
  out->rules = std::move(opened->rules);
  KeepUntilExit(out->rules);
  out->actions = std::move(opened->actions);
  out->from_compiled_file = opened->from_compiled_file;
  out->load_ms = opened->timings.load_ms;
  out->compile_ms = opened->timings.compile_ms;
  out->rss_loaded_kb = opened->timings.peak_rss_kb_after_load;
  return true;
}

// A usage mistake: one line, pointing at the command's help.
int Usage(FILE* err, const char* text, const std::string& msg) {
  const char* cmd = text == kCheckUsage     ? " check"
                    : text == kCompileUsage ? " compile"
                    : text == kFilterUsage  ? " filter"
                    : text == kBenchUsage   ? " bench"
                                            : "";
  fprintf(err, "weir: %s; see 'weir%s --help'\n", msg.c_str(), cmd);
  return 2;
}

bool ParseSize(const std::string& s, size_t* v) {
  uint64_t x;
  if (!absl::SimpleAtoi(s, &x) || x == 0) return false;
  *v = x;
  return true;
}

// Options `filter` and `bench` share: rule files, inputs, threads, validation
// and limits. Returns false when `s` is not one of them; *rc is set (to 2)
// when it is, but its value is wrong.
bool SharedOption(const std::string& s, Args& a, const char* usage, FILE* err,
                  std::vector<std::string>* rule_files, std::vector<std::string>* inputs,
                  FilterOptions* o, int* rc) {
  std::string v;
  auto bad = [&](const std::string& msg) {
    *rc = Usage(err, usage, msg);
    return true;
  };
  if (a.positional) {
    inputs->push_back(s);
  } else if (s == "-r" || s == "--rules") {
    if (!a.Value(&v)) return bad("-r needs a rule file");
    rule_files->push_back(v);
  } else if (s == "-t" || s == "--threads") {
    size_t n;
    if (!a.Value(&v) || !ParseSize(v, &n) || n > 256)
      return bad("--threads needs a number from 1 to 256");
    o->threads = static_cast<int>(n);
  } else if (s == "--validate") {
    if (!a.Value(&v) || (v != "all" && v != "output"))
      return bad("--validate takes 'all' or 'output'");
    o->validate_all = v == "all";
  } else if (s == "--max-event-bytes") {
    if (!a.Value(&v) || !ParseSize(v, &o->limits.max_event_bytes) ||
        o->limits.max_event_bytes > (size_t{1} << 31))
      return bad("--max-event-bytes needs a number up to 2^31");
  } else if (s == "--progress" || s == "--no-progress") {
    o->progress_mode = s == "--progress" ? 1 : -1;
  } else if (s == "--max-depth") {
    if (!a.Value(&v) || !ParseSize(v, &o->limits.max_depth) || o->limits.max_depth > 4096)
      return bad("--max-depth needs a number from 1 to 4096");
  } else {
    return false;
  }
  return true;
}

// SIGINT and SIGTERM during `weir filter` stop the pipeline: what was read
// is matched and written before the command exits. The handler only writes
// to a pipe; a thread reads it and calls Pipeline::Stop().
std::atomic<int> g_signal{0};
int g_signal_pipe[2] = {-1, -1};

extern "C" void OnStopSignal(int sig) {
  g_signal = sig;
  int saved = errno;
  char c = 1;
  [[maybe_unused]] ssize_t n = write(g_signal_pipe[1], &c, 1);
  errno = saved;
}

class StopOnSignal {
 public:
  explicit StopOnSignal(Pipeline* pipeline) {
    if (pipe2(g_signal_pipe, O_CLOEXEC) != 0) return;
    thread_ = std::thread([pipeline] {
      char c;
      while (read(g_signal_pipe[0], &c, 1) < 0 && errno == EINTR) {
      }
      if (g_signal) pipeline->Stop();
    });
    struct sigaction sa = {};
    sa.sa_handler = OnStopSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a blocked read returns and re-checks
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopOnSignal() {
    if (!thread_.joinable()) return;
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
    char c = 0;
    [[maybe_unused]] ssize_t n = write(g_signal_pipe[1], &c, 1);  // ends the thread
    thread_.join();
    close(g_signal_pipe[0]);
    close(g_signal_pipe[1]);
  }
  // The signal that stopped the pipeline; 0 if none.
  int signal() const { return g_signal; }

 private:
  std::thread thread_;
  struct sigaction old_int_ = {}, old_term_ = {};
};

// Which of `inputs` (files, or "-" for standard input) is the same file as
// `output` (device and inode: another name or a symlink is caught too); ""
// when none is, or `output` does not exist yet.
std::string SameFileAs(const std::string& output, const std::vector<std::string>& inputs) {
  struct stat out_st;
  if (stat(output.c_str(), &out_st) != 0) return "";
  for (const std::string& in : inputs) {
    struct stat in_st;
    int r = in == "-" ? fstat(0, &in_st) : stat(in.c_str(), &in_st);
    if (r == 0 && in_st.st_dev == out_st.st_dev && in_st.st_ino == out_st.st_ino)
      return in;
  }
  return "";
}

// Standard output that is a regular file also read as an input (`>> in`
// would read what it writes): the input, or "".
std::string StdoutIsInput(const std::vector<std::string>& inputs) {
  struct stat out_st;
  if (fstat(1, &out_st) != 0 || !S_ISREG(out_st.st_mode)) return "";
  for (const std::string& in : inputs) {
    if (in == "-") continue;  // `< f > f`: the shell has emptied it already
    struct stat in_st;
    if (stat(in.c_str(), &in_st) == 0 && in_st.st_dev == out_st.st_dev &&
        in_st.st_ino == out_st.st_ino)
      return in;
  }
  return "";
}

// Reports a failed write or flush of `f` once; true if there was one.
bool FlushFailed(FILE* f, const std::string& name, FILE* err) {
  static bool reported = false;
  if (reported) return true;
  int e = 0;
  if (fflush(f) != 0) e = errno;
  else if (ferror(f)) e = EIO;
  if (!e) return false;
  fprintf(err, "weir: cannot write %s: %s\n", name.c_str(), strerror(e));
  reported = true;
  return true;
}

int Check(Args& a, FILE* out, FILE* err) {
  std::vector<std::string> files;
  bool verbose = false;
  while (a.more()) {
    std::string s = a.next();
    if (!a.error.empty()) return Usage(err, kCheckUsage, a.error);
    if (!a.positional && (s == "-h" || s == "--help")) {
      fputs(kCheckUsage, out);
      return 0;
    }
    if (a.positional) {
      files.push_back(s);
    } else if (s == "-v" || s == "--verbose") {
      verbose = true;
    } else {
      return Usage(err, kCheckUsage, absl::StrCat("unknown option ", s));
    }
  }
  if (files.empty()) return Usage(err, kCheckUsage, "check needs at least one rule file");
  LoadedRules loaded;
  if (!LoadRules(files, err, &loaded)) return 2;
  const auto& rules = loaded.rules;
  const auto& actions = loaded.actions;
  double ms = loaded.load_ms + loaded.compile_ms;
  size_t disabled = rules->size() - rules->enabled_count();
  std::set<std::string> dialects;
  for (size_t i = 0; i < rules->size(); ++i) dialects.insert(std::string(rules->dialect(i)));
  std::string dl;
  for (const auto& d : dialects) absl::StrAppend(&dl, dl.empty() ? "" : ", ", d);
  fprintf(out, "ok: %zu rule%s (%zu enabled, %zu disabled; dialects: %s), %zu action%s, in %zu file%s; %s in %.1f ms\n",
          rules->size(), rules->size() == 1 ? "" : "s", rules->enabled_count(), disabled,
          dl.c_str(), actions.size(), actions.size() == 1 ? "" : "s", files.size(),
          files.size() == 1 ? "" : "s", loaded.from_compiled_file ? "read compiled" : "compiled",
          ms);
  if (verbose) fputs(rules->DebugString().c_str(), out);
  return 0;
}

int Compile(Args& a, FILE* out, FILE* err) {
  std::vector<std::string> files;
  std::string output;
  while (a.more()) {
    std::string s = a.next();
    if (!a.error.empty()) return Usage(err, kCompileUsage, a.error);
    if (!a.positional && (s == "-h" || s == "--help")) {
      fputs(kCompileUsage, out);
      return 0;
    }
    if (a.positional) {
      files.push_back(s);
    } else if (s == "-o" || s == "--output") {
      if (!a.Value(&output)) return Usage(err, kCompileUsage, "-o needs a file");
    } else {
      return Usage(err, kCompileUsage, absl::StrCat("unknown option ", s));
    }
  }
  if (files.empty()) return Usage(err, kCompileUsage, "compile needs at least one rule file");
  if (output.empty()) return Usage(err, kCompileUsage, "compile needs -o FILE");
  // `-o rules.yaml` would replace a source with its compiled form.
  if (!SameFileAs(output, files).empty()) {
    fprintf(err, "weir: %s is one of the rule files; the compiled file needs another name\n",
            output.c_str());
    return 2;
  }
  LoadOptions options;
  options.expand_env = false;  // keep ${NAME}: no secrets in the file
  LoadedRules loaded;
  if (!LoadRules(files, err, &loaded, options)) return 2;
  auto bytes = WriteCompiledRules(*loaded.rules, loaded.actions);
  if (!bytes.ok()) {
    fprintf(err, "weir: cannot write compiled rules: %s\n",
            std::string(bytes.status().message()).c_str());
    return 2;
  }
  // Written beside the target and renamed over it: readers see the old file
  // or the new one, never a part.
  std::string tmp = absl::StrCat(output, ".tmp", getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  bool ok = fd >= 0;
  for (size_t done = 0; ok && done < bytes->size();) {
    ssize_t n = write(fd, bytes->data() + done, bytes->size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && fsync(fd) == 0;
  int saved = errno;
  if (fd >= 0) ok = close(fd) == 0 && ok;
  if (ok && rename(tmp.c_str(), output.c_str()) != 0) {
    ok = false;
    saved = errno;
  }
  if (!ok) {
    if (fd >= 0) unlink(tmp.c_str());
    fprintf(err, "weir: cannot write %s: %s\n", output.c_str(), strerror(saved));
    return 2;
  }
  fprintf(out, "compiled %zu rule%s (%zu action%s) from %zu file%s into %s: %zu bytes, in %.1f ms\n",
          loaded.rules->size(), loaded.rules->size() == 1 ? "" : "s", loaded.actions.size(),
          loaded.actions.size() == 1 ? "" : "s", files.size(), files.size() == 1 ? "" : "s",
          output.c_str(), bytes->size(), loaded.load_ms + loaded.compile_ms);
  return 0;
}

int Filter(Args& a, FILE* out, FILE* err) {
  std::vector<std::string> rule_files, inputs;
  FilterOptions o;
  o.out = out;
  o.err = err;
  std::string errors_path;
  bool quiet = false;
  NatsFlags nats;
  while (a.more()) {
    std::string s = a.next();
    if (!a.error.empty()) return Usage(err, kFilterUsage, a.error);
    std::string v;
    int rc = 0;
    if (!a.positional && (s == "-h" || s == "--help")) {
      fputs(kFilterUsage, out);
      fputs("\n", out);
      fputs(kNatsFilterOptions, out);
      return 0;
    } else if (SharedOption(s, a, kFilterUsage, err, &rule_files, &inputs, &o, &rc)) {
      if (rc) return rc;
    } else if (s == "-f" || s == "--format") {
      if (!a.Value(&v)) return Usage(err, kFilterUsage, "--format needs a value");
      if (v == "annotated") o.format = Format::kAnnotated;
      else if (v == "event") o.format = Format::kEvent;
      else if (v == "ids") o.format = Format::kIds;
      else if (v == "count") o.format = Format::kCount;
      else return Usage(err, kFilterUsage, absl::StrCat("unknown format '", v, "'"));
    } else if (s == "--errors") {
      if (!a.Value(&errors_path)) return Usage(err, kFilterUsage, "--errors needs a file");
    } else if (s == "-q" || s == "--quiet") {
      quiet = true;
    } else if (int r = ParseNatsFlag(s, [&](std::string* x) { return a.Value(x); }, false, &nats,
                                     &v);
               r != 0) {
      if (r < 0) return Usage(err, kFilterUsage, v);
    } else {
      return Usage(err, kFilterUsage, absl::StrCat("unknown option ", s));
    }
  }
  if (rule_files.empty()) return Usage(err, kFilterUsage, "filter needs at least one -r RULES");
  if (std::string e = CheckNatsFlags(nats, false, !inputs.empty()); !e.empty())
    return Usage(err, kFilterUsage, e);
  if (inputs.empty() && nats.source.empty()) inputs.push_back("-");
  o.name_lines = inputs.size() > 1;
  // An output must not replace what is being read.
  if (!errors_path.empty()) {
    if (std::string in = SameFileAs(errors_path, inputs); !in.empty()) {
      fprintf(err, "weir: --errors %s is the input %s; it needs another name\n",
              errors_path.c_str(), in == "-" ? "(standard input)" : in.c_str());
      return 2;
    }
    if (std::string in = SameFileAs(errors_path, rule_files); !in.empty()) {
      fprintf(err, "weir: --errors %s is the rule file %s; it needs another name\n",
              errors_path.c_str(), in.c_str());
      return 2;
    }
  }
  if (std::string in = StdoutIsInput(inputs); !in.empty()) {
    fprintf(err, "weir: standard output is the input %s; write it to another file\n",
            in.c_str());
    return 2;
  }
  LoadedRules loaded;
  if (!LoadRules(rule_files, err, &loaded)) return 2;
  const std::shared_ptr<const RuleSet>& rules = loaded.rules;
  if (!errors_path.empty()) {
    o.errors_file = fopen(errors_path.c_str(), "w");
    if (!o.errors_file) {
      fprintf(err, "weir: cannot write %s: %s\n", errors_path.c_str(), strerror(errno));
      return 2;
    }
    o.errors_name = errors_path;
  }
  FilterStats stats;
  int rc = 0;
  Progress progress(err, o.progress_mode > 0 || (o.progress_mode == 0 && isatty(2)),
                    std::chrono::milliseconds(o.progress_mode > 0 ? 0 : 1000));
  o.progress = &progress;
  Pipeline pipeline(rules, ToPipelineOptions(o));
  StopOnSignal stopper(&pipeline);
  bool write_failed = false;
  if (nats.any()) {
    // A NATS source, a NATS sink, or both; the counts come from the pipeline.
    FormatSink local(o, &stats, nullptr);
    PipelineStats ps;
    absl::Status st;
    if (!nats.source.empty()) {
      st = FilterNats(nats, pipeline, &local, -1, "", o.limits.max_event_bytes, &ps);
    }
    for (const std::string& in : inputs) {
      int fd = in == "-" ? 0 : open(in.c_str(), O_RDONLY);
      if (fd < 0) {
        fprintf(err, "weir: cannot read %s: %s\n", in.c_str(), strerror(errno));
        rc = 2;
        continue;
      }
      st = FilterNats(nats, pipeline, &local, fd, in, o.limits.max_event_bytes, &ps);
      if (fd != 0) close(fd);
      if (!st.ok()) break;
    }
    if (!st.ok()) {
      fprintf(err, "weir: %s\n", std::string(st.message()).c_str());
      rc = 2;
    }
    if (!nats.sink.empty()) {
      stats.lines += ps.lines;
      stats.bad += ps.bad;
    }
    inputs.clear();
  }
  for (const std::string& in : inputs) {
    if (pipeline.stopped()) break;
    int fd = 0;
    if (in != "-") {
      fd = open(in.c_str(), O_RDONLY);
      if (fd < 0) {
        fprintf(err, "weir: cannot read %s: %s\n", in.c_str(), strerror(errno));
        rc = 2;
        continue;
      }
    }
    absl::Status st = FilterInput(pipeline, fd, in, o, &stats);
    if (fd != 0) close(fd);
    if (st.code() == absl::StatusCode::kDataLoss) {  // a write error: nothing more can go out
      progress.Clear();
      fprintf(err, "weir: %s\n", std::string(st.message()).c_str());
      write_failed = true;
      break;
    }
    if (!st.ok()) {
      progress.Clear();
      fprintf(err, "weir: %s: %s\n", in.c_str(), std::string(st.message()).c_str());
      rc = 2;
    }
  }
  progress.Finish(stats);
  if (write_failed) {
    clearerr(out);  // reported: not again on exit
    if (o.errors_file) fclose(o.errors_file);
    return 2;
  }
  if (o.format == Format::kCount) {
    stats.rule_hits.resize(rules->size(), 0);
    // Formatted in blocks, not by fprintf a line: 100k rules are 100k lines.
    std::string block;
    for (size_t i = 0; i < rules->size(); ++i) {
      if (!rules->enabled(i)) continue;
      std::string_view id = rules->id(i);
      block.append(id.data(), id.size());
      absl::StrAppend(&block, "\t", stats.rule_hits[i], "\n");
      if (block.size() >= 64 * 1024) {
        fwrite(block.data(), 1, block.size(), out);
        block.clear();
      }
    }
    fwrite(block.data(), 1, block.size(), out);
  }
  if (FlushFailed(out, o.out_name, err)) rc = 2;
  if (o.errors_file && fclose(o.errors_file) != 0) {
    fprintf(err, "weir: cannot write %s: %s\n", errors_path.c_str(), strerror(errno));
    rc = 2;
  }
  if (stats.bad > 0 && !quiet) {
    fprintf(err, "weir: %llu of %llu lines were bad and skipped\n",
            static_cast<unsigned long long>(stats.bad),
            static_cast<unsigned long long>(stats.lines));
  }
  if (int sig = stopper.signal()) return 128 + sig;
  if (rc) return rc;
  return stats.bad > 0 ? 1 : 0;
}

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    unsigned char u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (u < 0x20) {
      char b[8];
      snprintf(b, sizeof b, "\\u%04x", u);
      out += b;
    } else {
      out += ch;
    }
  }
  out += '"';
  return out;
}

int Bench(Args& a, FILE* out, FILE* err) {
  std::vector<std::string> rule_files, inputs;
  FilterOptions o;
  o.format = Format::kNone;
  o.out = out;
  o.err = err;
  bool json = false;
  size_t repeat = 1;
  while (a.more()) {
    std::string s = a.next();
    if (!a.error.empty()) return Usage(err, kBenchUsage, a.error);
    std::string v;
    int rc = 0;
    if (!a.positional && (s == "-h" || s == "--help")) {
      fputs(kBenchUsage, out);
      return 0;
    } else if (SharedOption(s, a, kBenchUsage, err, &rule_files, &inputs, &o, &rc)) {
      if (rc) return rc;
    } else if (s == "-n" || s == "--repeat") {
      if (!a.Value(&v) || !ParseSize(v, &repeat) || repeat > 1000)
        return Usage(err, kBenchUsage, "--repeat needs a number from 1 to 1000");
    } else if (s == "--json") {
      json = true;
    } else {
      return Usage(err, kBenchUsage, absl::StrCat("unknown option ", s));
    }
  }
  if (rule_files.empty()) return Usage(err, kBenchUsage, "bench needs at least one -r RULES");
  if (inputs.size() != 1) return Usage(err, kBenchUsage, "bench needs exactly one EVENTS file");
  const std::string& in = inputs[0];
  if (in == "-" && repeat > 1) return Usage(err, kBenchUsage, "--repeat needs a file, not stdin");

  // Load (parse the files and lower the dialects) and compile, timed apart.
  LoadedRules loaded;
  if (!LoadRules(rule_files, err, &loaded)) return 2;
  std::shared_ptr<const RuleSet> rules = loaded.rules;
  const double load_ms = loaded.load_ms, compile_ms = loaded.compile_ms;
  const long rss_loaded_kb = loaded.rss_loaded_kb;
  long rss_compiled_kb = PeakRssKb();

  FilterStats stats;
  std::vector<double> seconds;
  Progress progress(err, o.progress_mode > 0 || (o.progress_mode == 0 && isatty(2)),
                    std::chrono::milliseconds(o.progress_mode > 0 ? 0 : 1000));
  o.progress = &progress;
  for (size_t k = 0; k < repeat; ++k) {
    int fd = 0;
    if (in != "-") {
      fd = open(in.c_str(), O_RDONLY);
      if (fd < 0) {
        fprintf(err, "weir: cannot read %s: %s\n", in.c_str(), strerror(errno));
        return 2;
      }
    }
    stats = FilterStats{};
    // Bad lines are counted, not listed, after the first pass.
    FILE* devnull = k == 0 ? nullptr : fopen("/dev/null", "w");
    if (devnull) o.err = devnull;
    Pipeline pipeline(rules, ToPipelineOptions(o));
    auto ts = std::chrono::steady_clock::now();
    absl::Status st = FilterInput(pipeline, fd, in, o, &stats);
    seconds.push_back(MsSince(ts) / 1000);
    progress.Finish(stats);
    if (devnull) fclose(devnull);
    o.err = err;
    if (fd != 0) close(fd);
    if (!st.ok()) {
      fprintf(err, "weir: %s: %s\n", in.c_str(), std::string(st.message()).c_str());
      return 2;
    }
  }
  std::vector<double> sorted = seconds;
  std::sort(sorted.begin(), sorted.end());
  double secs = sorted[sorted.size() / 2];
  if (sorted.size() % 2 == 0) secs = (sorted[sorted.size() / 2 - 1] + secs) / 2;
  long rss_kb = PeakRssKb();
  stats.rule_hits.resize(rules->size(), 0);
  uint64_t hits = 0, rules_hit = 0;
  for (size_t i = 0; i < rules->size(); ++i) {
    hits += stats.rule_hits[i];
    if (stats.rule_hits[i]) ++rules_hit;
  }
  double eps = secs > 0 ? stats.events / secs : 0;
  double mbps = secs > 0 ? stats.bytes / 1e6 / secs : 0;
  auto ull = [](uint64_t v) { return static_cast<unsigned long long>(v); };

  if (json) {
    fprintf(out, "{\n");
    fprintf(out, "  \"rule_files\": [");
    for (size_t i = 0; i < rule_files.size(); ++i)
      fprintf(out, "%s%s", i ? ", " : "", JsonString(rule_files[i]).c_str());
    fprintf(out, "],\n");
    fprintf(out, "  \"events_file\": %s,\n", JsonString(in).c_str());
    fprintf(out, "  \"rules\": %zu,\n", rules->size());
    fprintf(out, "  \"enabled\": %zu,\n", rules->enabled_count());
    fprintf(out, "  \"compiled_rule_file\": %s,\n", loaded.from_compiled_file ? "true" : "false");
    fprintf(out, "  \"load_ms\": %.3f,\n", load_ms);
    fprintf(out, "  \"compile_ms\": %.3f,\n", compile_ms);
    fprintf(out, "  \"threads\": %d,\n", o.threads);
    fprintf(out, "  \"repeat\": %zu,\n", repeat);
    fprintf(out, "  \"lines\": %llu,\n", ull(stats.lines));
    fprintf(out, "  \"blank\": %llu,\n", ull(stats.blank));
    fprintf(out, "  \"bad\": %llu,\n", ull(stats.bad));
    fprintf(out, "  \"events\": %llu,\n", ull(stats.events));
    fprintf(out, "  \"bytes\": %llu,\n", ull(stats.bytes));
    fprintf(out, "  \"seconds\": %.6f,\n", secs);
    fprintf(out, "  \"runs_seconds\": [");
    for (size_t i = 0; i < seconds.size(); ++i) fprintf(out, "%s%.6f", i ? ", " : "", seconds[i]);
    fprintf(out, "],\n");
    fprintf(out, "  \"events_per_s\": %.1f,\n", eps);
    fprintf(out, "  \"mb_per_s\": %.2f,\n", mbps);
    fprintf(out, "  \"matched_events\": %llu,\n", ull(stats.matched));
    fprintf(out, "  \"matches\": %llu,\n", ull(hits));
    fprintf(out, "  \"rules_hit\": %llu,\n", ull(rules_hit));
    fprintf(out, "  \"peak_rss_kb_after_load\": %ld,\n", rss_loaded_kb);
    fprintf(out, "  \"peak_rss_kb_after_compile\": %ld,\n", rss_compiled_kb);
    fprintf(out, "  \"peak_rss_kb\": %ld,\n", rss_kb);
    fprintf(out, "  \"rule_hits\": {");
    bool first = true;
    for (size_t i = 0; i < rules->size(); ++i) {
      if (!rules->enabled(i)) continue;
      fprintf(out, "%s\n    %s: %llu", first ? "" : ",", JsonString(rules->id(i)).c_str(),
              ull(stats.rule_hits[i]));
      first = false;
    }
    fprintf(out, "%s}\n}\n", first ? "" : "\n  ");
  } else {
    fprintf(out, "rules      %zu (%zu enabled) from %zu file%s\n", rules->size(),
            rules->enabled_count(), rule_files.size(), rule_files.size() == 1 ? "" : "s");
    if (loaded.from_compiled_file) {
      fprintf(out, "compile    %.1f ms (read a compiled rule file)\n", load_ms);
    } else {
      fprintf(out, "compile    %.1f ms (load %.1f ms + compile %.1f ms)\n", load_ms + compile_ms,
              load_ms, compile_ms);
    }
    fprintf(out, "events     %llu (%llu lines, %llu blank, %llu bad), %.1f MB\n",
            ull(stats.events), ull(stats.lines), ull(stats.blank), ull(stats.bad),
            stats.bytes / 1e6);
    fprintf(out, "time       %.3f s (%s%zu run%s, %d thread%s)\n", secs,
            repeat > 1 ? "median of " : "", repeat, repeat == 1 ? "" : "s", o.threads,
            o.threads == 1 ? "" : "s");
    fprintf(out, "events/s   %.0f\n", eps);
    fprintf(out, "MB/s       %.1f\n", mbps);
    fprintf(out, "matches    %llu (%llu events matched; %llu of %zu rules hit)\n", ull(hits),
            ull(stats.matched), ull(rules_hit), rules->enabled_count());
    fprintf(out, "peak RSS   %.1f MiB (%.1f MiB after loading, %.1f MiB after compiling)\n",
            rss_kb / 1024.0, rss_loaded_kb / 1024.0, rss_compiled_kb / 1024.0);
  }
  fflush(out);
  return stats.bad > 0 ? 1 : 0;
}

int Dispatch(Args& a, FILE* out, FILE* err) {
  if (!a.more()) {
    fputs(kUsage, err);
    return 2;
  }
  std::string cmd = a.next();
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    fputs(kUsage, out);
    return 0;
  }
  if (cmd == "--version") {
    fputs("weir 0.1.0\n", out);
    return 0;
  }
  if (cmd == "check") return Check(a, out, err);
  if (cmd == "compile") return Compile(a, out, err);
  if (cmd == "filter") return Filter(a, out, err);
  if (cmd == "bench") return Bench(a, out, err);
  if (cmd == "serve")
    return Serve({a.argv.begin() + static_cast<long>(a.i), a.argv.end()}, out, err);
  if (cmd == "run" || cmd == "replay") {
    std::vector<std::string> nrest(a.argv.begin() + static_cast<long>(a.i), a.argv.end());
    if (cmd == "run" && IsNatsRun(nrest)) return RunNats(nrest, out, err);
    std::vector<std::string> rest(a.argv.begin() + static_cast<long>(a.i), a.argv.end());
    return cmd == "run" ? Run(rest, out, err) : Replay(rest, out, err);
  }
  if (cmd == "explain") return ExplainCommand({a.argv.begin() + 1, a.argv.end()}, out, err);
  return Usage(err, kUsage, absl::StrCat("unknown command '", cmd, "'"));
}

}  // namespace

int Main(int argc, char** argv, FILE* out, FILE* err) {
  Args a;
  for (int i = 1; i < argc; ++i) a.argv.push_back(argv[i]);
  int rc = Dispatch(a, out, err);
  // Output that did not get out is an error, whatever the command.
  if (FlushFailed(out, "standard output", err)) rc = 2;
  return rc;
}

}  // namespace weir::cli
