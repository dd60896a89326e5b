// The `exec` executor: runs a command per delivery with the event on its
// standard input. Each executor runs its commands on its own threads (as
// many as its concurrency, started at the first delivery), so Start()
// returns at once. A command runs in a process group of its own, so a
// timeout ends it and whatever it started.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "actions/builtin.h"
#include "actions/settings.h"

extern char** environ;

namespace weir {
namespace {

constexpr size_t kKeptOutput = 4096;
constexpr absl::Duration kKillGrace = absl::Seconds(2);

struct ExecSpec {
  std::vector<std::string> argv;  // or, with `shell`, the one command line
  bool shell = false;
  absl::Duration timeout = absl::Seconds(30);
  std::vector<std::pair<std::string, std::string>> env;
  RetryPolicy retry;
  int concurrency = 1;
  std::string action;
};

struct Job {
  std::string event;
  std::function<void(Outcome)> done;
};

// The variables the child sees: ours, with the action's `env` on top.
std::vector<std::string> ChildEnv(const ExecSpec& spec) {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    std::string_view name = kv.substr(0, kv.find('='));
    bool replaced = false;
    for (const auto& [k, v] : spec.env) replaced |= (k == name);
    if (!replaced) out.emplace_back(kv);
  }
  for (const auto& [k, v] : spec.env) out.push_back(absl::StrCat(k, "=", v));
  return out;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> p;
  for (std::string& s : strings) p.push_back(s.data());
  p.push_back(nullptr);
  return p;
}

void CloseFd(int* fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

// Writing to a command that has closed its input raises SIGPIPE, blocked
// on the executor's threads; this drops the pending one.
void DropSigpipe() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  struct timespec zero = {0, 0};
  while (sigtimedwait(&set, nullptr, &zero) == SIGPIPE) {
  }
}

int PollMs(absl::Time deadline, int cap_ms) {
  int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now()) + 1;
  return static_cast<int>(std::max<int64_t>(0, std::min<int64_t>(ms, cap_ms)));
}

class ExecExecutor : public Executor {
 public:
  explicit ExecExecutor(ExecSpec spec) : spec_(std::move(spec)) {}
  ~ExecExecutor() override { Shutdown(absl::Now()); }

  void Start(const Delivery& d, std::function<void(Outcome)> done) override {
    std::unique_lock<std::mutex> lock(mu_);
    if (stopping_) {
      lock.unlock();
      done(Outcome{Outcome::Kind::kRetry, 0, "the executor is shutting down", std::nullopt});
      return;
    }
    if (threads_.empty()) {
      for (int i = 0; i < spec_.concurrency; ++i) threads_.emplace_back([this] { Work(); });
    }
    Job job;
    job.event.reserve(d.event.size() + 1);
    job.event.append(d.event.data(), d.event.size());
    job.event.push_back('\n');
    job.done = std::move(done);
    queue_.push_back(std::move(job));
    cv_.notify_one();
  }

  std::string target() const override { return "exec:" + spec_.action; }
  int concurrency() const override { return spec_.concurrency; }
  RetryPolicy retry() const override { return spec_.retry; }

  void Shutdown(absl::Time deadline) override {
    std::deque<Job> left;
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!stopping_) {
        stopping_ = true;
        stop_at_ns_.store(absl::ToUnixNanos(deadline));
      }
      left.swap(queue_);
      threads.swap(threads_);
      cv_.notify_all();
    }
    for (Job& j : left) {
      j.done(Outcome{Outcome::Kind::kRetry, 0, "the executor shut down before it ran",
                     std::nullopt});
    }
    for (std::thread& t : threads) t.join();
  }

 private:
  void Work() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    for (;;) {
      Job job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      Outcome o = Run(job.event);
      job.done(std::move(o));
    }
  }

  Outcome Run(const std::string& input) {
    Outcome o;
    int in[2] = {-1, -1}, out[2] = {-1, -1};
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
      int e = errno;
      for (int* fd : {&in[0], &in[1], &out[0], &out[1]}) CloseFd(fd);
      return Outcome{Outcome::Kind::kRetry, 0, absl::StrCat("cannot make a pipe: ", strerror(e)),
                     std::nullopt};
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, out[1], 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGCHLD})
      sigaddset(&defaults, s);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                        POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);

    std::vector<std::string> args =
        spec_.shell ? std::vector<std::string>{"/bin/sh", "-c", spec_.argv[0]} : spec_.argv;
    std::vector<std::string> env = ChildEnv(spec_);
    std::vector<char*> argp = Pointers(args), envp = Pointers(env);
    pid_t pid = -1;
    int rc = spec_.shell ? posix_spawn(&pid, "/bin/sh", &fa, &attr, argp.data(), envp.data())
                         : posix_spawnp(&pid, args[0].c_str(), &fa, &attr, argp.data(),
                                        envp.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    CloseFd(&in[0]);
    CloseFd(&out[1]);
    if (rc != 0) {
      CloseFd(&in[1]);
      CloseFd(&out[0]);
      return Outcome{Outcome::Kind::kFailed, 0,
                     absl::StrCat("cannot run '", args[0], "': ", strerror(rc)), std::nullopt};
    }
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    // A descriptor that becomes readable when the child ends; without one
    // (old kernels) the loop looks every 20 ms.
    int pidfd = -1;
#ifdef SYS_pidfd_open
    pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (pidfd >= 0) fcntl(pidfd, F_SETFD, FD_CLOEXEC);
#endif

    std::string kept;
    auto read_output = [&] {
      char buf[4096];
      for (;;) {
        ssize_t n = read(out[0], buf, sizeof buf);
        if (n > 0) {
          // Kept for the reason; the rest is read and dropped so the child never blocks.
          size_t room = kKeptOutput - std::min(kKeptOutput, kept.size());
          kept.append(buf, std::min(room, static_cast<size_t>(n)));
          continue;
        }
        if (n == 0) CloseFd(&out[0]);
        if (n < 0 && errno == EINTR) continue;
        return;
      }
    };

    const absl::Time deadline = absl::Now() + spec_.timeout;
    size_t written = 0;
    int status = 0;
    bool exited = false, timed_out = false, stopped = false;
    for (;;) {
      pid_t w = waitpid(pid, &status, WNOHANG);
      if (w == pid) exited = true;
      if (exited) {
        // What the command wrote before it ended; a process it left behind
        // holding the pipe is not waited for.
        if (out[0] >= 0) read_output();
        break;
      }
      absl::Time now = absl::Now();
      absl::Time stop_at = absl::FromUnixNanos(stop_at_ns_.load());
      if (now >= deadline || now >= stop_at) {
        timed_out = now >= deadline;
        stopped = !timed_out;
        break;
      }
      pollfd fds[3];
      nfds_t n = 0;
      if (out[0] >= 0) fds[n++] = {out[0], POLLIN, 0};
      if (in[1] >= 0) fds[n++] = {in[1], POLLOUT, 0};
      if (pidfd >= 0) fds[n++] = {pidfd, POLLIN, 0};
      int wait_ms = PollMs(std::min(deadline, stop_at), pidfd >= 0 ? 1000 : 20);
      if (poll(fds, n, wait_ms) < 0 && errno != EINTR) break;
      for (nfds_t i = 0; i < n; ++i) {
        if (fds[i].revents == 0) continue;
        if (fds[i].fd == out[0]) {
          read_output();
        } else if (fds[i].fd == in[1]) {
          ssize_t k = write(in[1], input.data() + written, input.size() - written);
          if (k > 0) written += static_cast<size_t>(k);
          if (k < 0 && errno == EPIPE) DropSigpipe();  // the command need not read it
          if ((k < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) {
            CloseFd(&in[1]);
          }
        }
      }
    }
    CloseFd(&in[1]);
    if (!exited) {
      // The whole group: a shell's children too.
      kill(-pid, SIGTERM);
      absl::Time grace = absl::Now() + kKillGrace;
      while (!exited && absl::Now() < grace) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
          exited = true;
        } else if (pidfd >= 0) {
          pollfd p = {pidfd, POLLIN, 0};
          poll(&p, 1, PollMs(grace, 100));
        } else {
          usleep(10'000);
        }
      }
      kill(-pid, SIGKILL);
      if (!exited) waitpid(pid, &status, 0);
    }
    CloseFd(&out[0]);
    if (pidfd >= 0) close(pidfd);

    std::string output(absl::StripAsciiWhitespace(kept));
    for (char& c : output)
      if (c == '\n' || c == '\r') c = ' ';
    auto with_output = [&](std::string reason) {
      return output.empty() ? reason : absl::StrCat(reason, ": ", output);
    };
    const Outcome::Kind failed =
        spec_.retry.attempts > 1 ? Outcome::Kind::kRetry : Outcome::Kind::kFailed;
    if (timed_out) {
      o.kind = Outcome::Kind::kRetry;
      o.reason = absl::StrCat("timed out after ", settings::DurationText(spec_.timeout));
    } else if (stopped) {
      o.kind = Outcome::Kind::kRetry;
      o.reason = "stopped at shutdown before it finished";
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      o.kind = Outcome::Kind::kDelivered;
    } else if (WIFEXITED(status)) {
      o.kind = failed;
      o.status = WEXITSTATUS(status);
      o.reason = with_output(absl::StrCat("exited with status ", o.status));
    } else {
      o.kind = failed;
      int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
      o.reason = with_output(absl::StrCat("killed by signal ", sig, " (", strsignal(sig), ")"));
    }
    return o;
  }

  const ExecSpec spec_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  std::vector<std::thread> threads_;
  bool stopping_ = false;
  std::atomic<int64_t> stop_at_ns_{absl::ToUnixNanos(absl::InfiniteFuture())};
};

bool ValidEnvName(const std::string& k) {
  if (k.empty() || absl::ascii_isdigit(static_cast<unsigned char>(k[0]))) return false;
  for (unsigned char c : k)
    if (!absl::ascii_isalnum(c) && c != '_') return false;
  return true;
}

class ExecFactory_ : public ExecutorFactory {
 public:
  std::unique_ptr<Executor> Create(const ActionDef& action,
                                   std::vector<Diagnostic>* diagnostics) const override {
    settings::SettingsReader r(action, diagnostics);
    const ConfigValue& s = r.root();
    r.CheckKeys(s, {"command", "shell", "timeout", "env", "retry", "concurrency"},
                "'exec' settings");
    ExecSpec spec;
    spec.action = action.name;
    const ConfigValue* command = settings::SettingsReader::Get(s, "command");
    const ConfigValue* shell = settings::SettingsReader::Get(s, "shell");
    if (command && shell) {
      r.Error(*shell, "give either 'command' (an argv list) or 'shell' (a command line), not both");
    } else if (command) {
      if (command->kind == ConfigValue::Kind::kScalar) {
        r.Error(*command,
                "'command' must be a list such as [notify-send, weir]; a command line for "
                "/bin/sh -c goes in 'shell'");
      } else if (r.StringList(s, "command", &spec.argv, /*allow_empty=*/false) &&
                 spec.argv[0].empty()) {
        r.Error(command->list[0], "the program in 'command' must not be empty");
      }
    } else if (shell) {
      std::string line;
      if (r.String(s, "shell", &line, /*allow_empty=*/false)) spec.argv = {line};
      spec.shell = true;
    } else {
      r.Error(s, "'exec' needs 'command' (an argv list) or 'shell' (a command line)");
    }
    r.Duration(s, "timeout", &spec.timeout);
    if (r.StringMap(s, "env", &spec.env)) {
      const ConfigValue* env = settings::SettingsReader::Get(s, "env");
      for (const auto& [k, v] : spec.env) {
        if (!ValidEnvName(k)) {
          r.Error(*env->Find(k), absl::StrCat("'", k, "' is not a variable name (letters, digits, _)"));
        }
      }
    }
    spec.retry.attempts = 1;
    r.Retry(s, &spec.retry);
    r.PositiveInt(s, "concurrency", &spec.concurrency, 64);
    if (!r.ok()) return nullptr;
    return std::make_unique<ExecExecutor>(std::move(spec));
  }
};

}  // namespace

std::shared_ptr<const ExecutorFactory> ExecFactory() { return std::make_shared<ExecFactory_>(); }

}  // namespace weir
