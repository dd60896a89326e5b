// The `webhook` executor: signed HTTP POSTs over libcurl's multi interface.
//
// Every webhook executor of a process shares one delivery thread with one
// CURLM (its connection pool and DNS cache): the thread starts on the first
// Start() of any webhook executor and ends when the last one is destroyed and
// its deliveries are done. Start() signs the request on the caller's thread
// and hands it over with curl_multi_wakeup; the delivery thread keeps at most
// `concurrency` requests of one executor in flight and queues the rest.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "actions/builtin.h"
#include "actions/curl_api.h"
#include "actions/signature.h"
#include "weir/actions.h"

#ifndef WEIR_VERSION
#define WEIR_VERSION "0"
#endif

namespace weir {
namespace {

// libcurl once loaded (actions/curl_api.h). Every path here runs after
// CheckUrl has loaded it for the executor's settings, so a failure now is a
// broken invariant, not a user's mistake.
const CurlApi& Curl() {
  const CurlApi* api = LoadCurl();
  if (!api) {
    fprintf(stderr, "weir: internal error: libcurl used before it was loaded\n");
    std::abort();
  }
  return *api;
}

// This Abseil build has its own string_view type.
absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

constexpr int kMaxConnections = 512;  // the shared pool's size (connections kept open)

struct Settings {
  std::string url;     // as written: may hold credentials, never printed
  std::string target;  // scheme://host:port/path
  std::optional<std::string> secret;
  SignatureScheme scheme = SignatureScheme::kStandard;
  bool envelope = false;
  std::vector<std::pair<std::string, std::string>> headers;
  absl::Duration timeout = absl::Seconds(10);
  RetryPolicy retry{8, absl::Seconds(1), absl::Hours(1)};
  double rate = 0;
  int concurrency = 4;
  std::string ca_file;
  DeactivationPolicy deactivation;
};

// ---------------------------------------------------------------- settings

// ConfigValue::Find lives with the rule-file reader, which this library does
// not link.
const ConfigValue* Find(const ConfigValue& map, std::string_view key) {
  for (const auto& [k, v] : map.map)
    if (k == key) return &v;
  return nullptr;
}

class Checker {
 public:
  Checker(const ActionDef& action, std::vector<Diagnostic>* out) : action_(action), out_(out) {
    // An inline action is named "<rule-id>#<n>": its diagnostics name the rule.
    size_t hash = action.name.rfind('#');
    if (hash != std::string::npos) rule_ = action.name.substr(0, hash);
  }

  void Error(const SourceLocation& where, absl::string_view message) {
    Diagnostic d;
    d.where = where.line > 0 || !where.file.empty() ? where : action_.where;
    d.rule_id = rule_;
    d.message = absl::StrCat("action '", action_.name, "': ", message);
    out_->push_back(std::move(d));
    ++errors_;
  }
  int errors() const { return errors_; }

  // Scalars, with a message naming `key` when the value is not one.
  const std::string* Scalar(const ConfigValue& v, absl::string_view key) {
    if (v.kind == ConfigValue::Kind::kScalar) return &v.scalar;
    Error(v.where, absl::StrCat("'", key, "' must be a single value, not a ",
                                v.kind == ConfigValue::Kind::kMap    ? "map"
                                : v.kind == ConfigValue::Kind::kList ? "list"
                                                                     : "null"));
    return nullptr;
  }
  bool Map(const ConfigValue& v, absl::string_view key) {
    if (v.kind == ConfigValue::Kind::kMap) return true;
    Error(v.where, absl::StrCat("'", key, "' must be a map"));
    return false;
  }
  void UnknownKey(const std::string& key, const ConfigValue& v, absl::string_view in,
                  absl::string_view expected) {
    Error(v.where, absl::StrCat("unknown key '", key, "' in ", in, " (expected ", expected, ")"));
  }

  std::optional<absl::Duration> Duration(const ConfigValue& v, absl::string_view key,
                                         bool allow_zero) {
    const std::string* s = Scalar(v, key);
    if (!s) return std::nullopt;
    absl::Duration d;
    if (!absl::ParseDuration(*s, &d) || d == absl::InfiniteDuration() ||
        d < absl::ZeroDuration() || (!allow_zero && d == absl::ZeroDuration())) {
      Error(v.where, absl::StrCat("'", key, "' must be a duration such as 10s or 500ms"));
      return std::nullopt;
    }
    return d;
  }

  std::optional<int> Int(const ConfigValue& v, absl::string_view key, int min) {
    const std::string* s = Scalar(v, key);
    if (!s) return std::nullopt;
    int n = 0;
    if (!absl::SimpleAtoi(*s, &n) || n < min) {
      Error(v.where, min == 1 ? absl::StrCat("'", key, "' must be a whole number, at least 1")
                              : absl::StrCat("'", key, "' must be a whole number, at least ", min));
      return std::nullopt;
    }
    return n;
  }

 private:
  const ActionDef& action_;
  std::vector<Diagnostic>* out_;
  std::string rule_;
  int errors_ = 0;
};

// RFC 7230 token characters (header names).
bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view("!#$%&'*+-.^_`|~").find(c) != absl::string_view::npos;
}

// Checks the URL and derives the target from it. Diagnostics never quote the
// URL: it may hold credentials or a token in its query.
void CheckUrl(Checker& c, const ConfigValue& v, Settings* s) {
  const std::string* url = c.Scalar(v, "url");
  if (!url) return;
  static constexpr absl::string_view kForm =
      "'url' must be an http or https URL such as https://hooks.example.com/weir";
  for (char ch : *url) {
    if (static_cast<unsigned char>(ch) <= ' ') {
      c.Error(v.where, absl::StrCat(kForm, " (it holds a space or control character)"));
      return;
    }
  }
  // URLs are read by libcurl's own parser, so that what is checked here is
  // what libcurl will connect to; loading it can fail on a system without it.
  std::string no_curl;
  if (!LoadCurl(&no_curl)) {
    c.Error(v.where, no_curl);
    return;
  }
  CURLU* u = Curl().url();
  auto part = [&](CURLUPart p, unsigned flags = 0) -> std::optional<std::string> {
    char* out = nullptr;
    if (Curl().url_get(u, p, &out, flags) != CURLUE_OK || out == nullptr) return std::nullopt;
    std::string r(out);
    Curl().free(out);
    return r;
  };
  if (Curl().url_set(u, CURLUPART_URL, url->c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
    c.Error(v.where, kForm);
    Curl().url_cleanup(u);
    return;
  }
  std::optional<std::string> scheme = part(CURLUPART_SCHEME);
  std::optional<std::string> host = part(CURLUPART_HOST);
  std::optional<std::string> port = part(CURLUPART_PORT, CURLU_DEFAULT_PORT);
  std::optional<std::string> path = part(CURLUPART_PATH);
  Curl().url_cleanup(u);
  if (!scheme || (*scheme != "http" && *scheme != "https")) {
    c.Error(v.where, absl::StrCat(kForm, " (the scheme must be http or https)"));
    return;
  }
  if (!host || host->empty()) {
    c.Error(v.where, absl::StrCat(kForm, " (it names no host)"));
    return;
  }
  s->url = *url;
  s->target = absl::StrCat(*scheme, "://", *host, ":", port.value_or(""), path.value_or("/"));
}

void CheckHeaders(Checker& c, const ConfigValue& v, Settings* s) {
  if (!c.Map(v, "headers")) return;
  // Set by weir itself; a second copy would confuse receivers.
  static const std::vector<absl::string_view> kReserved = {
      "webhook-id",         "webhook-timestamp",  "webhook-signature",    "x-hub-signature-256",
      "x-uipath-signature", "x-esrihook-signature", "content-length",     "transfer-encoding",
      "host",               "expect",             "connection"};
  for (const auto& [name, value] : v.map) {
    if (name.empty() || !std::all_of(name.begin(), name.end(), IsTokenChar)) {
      c.Error(value.where, absl::StrCat("header name '", absl::CHexEscape(name),
                                        "' is not a valid HTTP header name"));
      continue;
    }
    std::string lower = absl::AsciiStrToLower(name);
    if (std::find(kReserved.begin(), kReserved.end(), lower) != kReserved.end()) {
      c.Error(value.where, absl::StrCat("header '", name, "' is set by weir and cannot be given"));
      continue;
    }
    if (lower == "secret" && s->scheme == SignatureScheme::kSecretHeader) {
      c.Error(value.where, "header 'secret' is set by signature: secret-header");
      continue;
    }
    const std::string* text = c.Scalar(value, absl::StrCat("headers.", name));
    if (!text) continue;
    if (text->find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      // The value is not quoted: it may be a token.
      c.Error(value.where, absl::StrCat("header '", name,
                                        "' must not hold a line break or NUL character"));
      continue;
    }
    s->headers.emplace_back(name, *text);
  }
}

void CheckRate(Checker& c, const ConfigValue& v, Settings* s) {
  const std::string* text = c.Scalar(v, "rate");
  if (!text) return;
  static constexpr absl::string_view kMsg =
      "'rate' must be a number of deliveries per second or minute such as 50/s or 600/m";
  size_t slash = text->find('/');
  double n = 0;
  if (slash == std::string::npos || !absl::SimpleAtod(text->substr(0, slash), &n) ||
      !(n > 0) || n > 1e9) {
    c.Error(v.where, kMsg);
    return;
  }
  std::string unit = text->substr(slash + 1);
  if (unit == "s") {
    s->rate = n;
  } else if (unit == "m") {
    s->rate = n / 60;
  } else if (unit == "h") {
    s->rate = n / 3600;
  } else {
    c.Error(v.where, kMsg);
  }
}

std::optional<Settings> CheckSettings(const ActionDef& action, std::vector<Diagnostic>* diags) {
  Checker c(action, diags);
  Settings s;
  const ConfigValue& root = action.settings;
  if (root.kind != ConfigValue::Kind::kMap) {
    c.Error(root.where, "the settings of 'webhook' must be a map with at least 'url'");
    return std::nullopt;
  }
  static constexpr absl::string_view kKeys =
      "url, secret, signature, body, headers, timeout, retry, rate, concurrency, tls, config";
  // signature first: headers and secret are checked against it.
  bool scheme_given = false;
  if (const ConfigValue* v = Find(root, "signature")) {
    if (const std::string* name = c.Scalar(*v, "signature")) {
      if (auto scheme = ParseSignatureScheme(*name)) {
        s.scheme = *scheme;
        scheme_given = true;
      } else {
        c.Error(v->where, absl::StrCat("unknown signature scheme '", absl::CHexEscape(*name),
                                       "' (expected one of: ", Av(SignatureSchemeNames()), ")"));
      }
    }
  }
  bool has_url = false;
  for (const auto& [key, v] : root.map) {
    if (key == "url") {
      has_url = true;
      CheckUrl(c, v, &s);
    } else if (key == "secret") {
      const std::string* secret = c.Scalar(v, "secret");
      if (!secret) continue;
      // Never quote the secret.
      if (secret->empty()) {
        c.Error(v.where, "'secret' is empty (is its variable set?)");
      } else if (absl::StrContains(*secret, '\n') || absl::StrContains(*secret, '\r')) {
        c.Error(v.where, "'secret' must not hold a line break");
      } else if (auto key = SigningKey(s.scheme, *secret); !key.ok()) {
        c.Error(v.where, key.status().message());
      } else {
        s.secret = *secret;
      }
    } else if (key == "signature") {
      // read above
    } else if (key == "body") {
      const std::string* body = c.Scalar(v, "body");
      if (!body) continue;
      if (*body == "envelope") {
        s.envelope = true;
      } else if (*body != "event") {
        c.Error(v.where, "'body' must be event (the event as read) or envelope");
      }
    } else if (key == "headers") {
      CheckHeaders(c, v, &s);
    } else if (key == "timeout") {
      if (auto d = c.Duration(v, "timeout", false)) s.timeout = *d;
    } else if (key == "retry") {
      if (!c.Map(v, "retry")) continue;
      for (const auto& [k, x] : v.map) {
        if (k == "attempts") {
          if (auto n = c.Int(x, "retry.attempts", 1)) s.retry.attempts = *n;
        } else if (k == "backoff") {
          if (auto d = c.Duration(x, "retry.backoff", true)) s.retry.backoff = *d;
        } else if (k == "max_backoff") {
          if (auto d = c.Duration(x, "retry.max_backoff", false)) s.retry.max_backoff = *d;
        } else {
          c.UnknownKey(k, x, "'retry'", "attempts, backoff, max_backoff");
        }
      }
      if (s.retry.backoff > s.retry.max_backoff)
        c.Error(v.where, "'retry.backoff' must not be longer than 'retry.max_backoff'");
    } else if (key == "rate") {
      CheckRate(c, v, &s);
    } else if (key == "concurrency") {
      if (auto n = c.Int(v, "concurrency", 1)) s.concurrency = *n;
    } else if (key == "tls") {
      if (!c.Map(v, "tls")) continue;
      for (const auto& [k, x] : v.map) {
        if (k != "ca_file") {
          c.UnknownKey(k, x, "'tls'", "ca_file");
          continue;
        }
        const std::string* path = c.Scalar(x, "tls.ca_file");
        if (!path) continue;
        struct stat st;
        if (::stat(path->c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
            ::access(path->c_str(), R_OK) != 0) {
          int err = errno;
          c.Error(x.where, absl::StrCat("'tls.ca_file' ", *path, " cannot be read: ",
                                        S_ISDIR(st.st_mode) && err == 0 ? "a directory"
                                                                        : std::strerror(err)));
          continue;
        }
        s.ca_file = *path;
      }
    } else if (key == "config") {
      if (!c.Map(v, "config")) continue;
      for (const auto& [k, p] : v.map) {
        if (k != "deactivationPolicy") {
          c.UnknownKey(k, p, "'config'", "deactivationPolicy");
          continue;
        }
        if (!c.Map(p, "config.deactivationPolicy")) continue;
        bool failures = false, days = false;
        for (const auto& [pk, x] : p.map) {
          if (pk == "numberOfFailures") {
            failures = true;
            if (auto n = c.Int(x, "numberOfFailures", 1)) s.deactivation.number_of_failures = *n;
          } else if (pk == "daysInPast") {
            days = true;
            if (auto n = c.Int(x, "daysInPast", 1)) s.deactivation.days_in_past = *n;
          } else {
            c.UnknownKey(pk, x, "'deactivationPolicy'", "numberOfFailures, daysInPast");
          }
        }
        if (failures != days)
          c.Error(p.where, "'deactivationPolicy' needs both numberOfFailures and daysInPast");
      }
    } else {
      c.UnknownKey(key, v, "'webhook' settings", kKeys);
    }
  }
  if (!has_url) c.Error(root.where, "'webhook' needs 'url'");
  if (scheme_given && s.scheme != SignatureScheme::kNone && !s.secret &&
      !Find(root, "secret"))
    c.Error(Find(root, "signature")->where,
            absl::StrCat("signature '", Av(SignatureSchemeName(s.scheme)),
                         "' needs a 'secret' (or write signature: none)"));
  if (c.errors() > 0) return std::nullopt;
  return s;
}

// ---------------------------------------------------------------- delivery

struct ExecState;

// One request in the delivery thread's hands.
struct Job {
  std::shared_ptr<ExecState> exec;
  std::function<void(Outcome)> done;
  std::string body;
  // Per-request headers, linked in front of the executor's fixed list
  // (curl only reads the list), so a request allocates no list nodes.
  std::string lines[4];
  curl_slist nodes[4];
  CURL* easy = nullptr;
};

// What the delivery thread keeps per executor; immutable parts set at Create.
struct ExecState {
  Settings settings;
  std::unique_ptr<Signer> signer;  // null without a secret
  curl_slist* fixed_headers = nullptr;
  std::string timeout_text;

  // Delivery thread only.
  int in_flight = 0;
  std::deque<Job*> waiting;
  std::unordered_set<Job*> running;
  std::optional<absl::Time> deadline;  // set by Shutdown

  ~ExecState() { Curl().slist_free_all(fixed_headers); }
};

// Set on the delivery thread: a Start() from a completion callback needs no
// wakeup, the thread looks at its hand-overs before it waits again.
thread_local bool on_delivery_thread = false;

Outcome ShutdownOutcome(std::string reason) {
  Outcome o;
  o.kind = Outcome::Kind::kRetry;
  o.reason = std::move(reason);
  return o;
}

// The process's delivery thread and its CURLM.
class Loop {
 public:
  static std::shared_ptr<Loop> Acquire() {
    static std::mutex mu;
    static std::weak_ptr<Loop> current;
    std::lock_guard<std::mutex> lock(mu);
    std::shared_ptr<Loop> loop = current.lock();
    if (!loop) {
      static std::once_flag global;
      std::call_once(global, [] { Curl().global_init(CURL_GLOBAL_DEFAULT); });
      loop = std::shared_ptr<Loop>(new Loop);
      current = loop;
    }
    return loop;
  }

  ~Loop() {
    {
      std::lock_guard<std::mutex> lock(core_->mu);
      core_->stop = true;
    }
    Curl().multi_wakeup(core_->multi);
    // The last executor may be destroyed by a completion callback, on the
    // delivery thread itself; it then ends on its own.
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();
    } else {
      thread_.join();
    }
  }

  void Submit(Job* job) {
    bool wake;
    {
      std::lock_guard<std::mutex> lock(core_->mu);
      wake = core_->incoming.empty();
      core_->incoming.push_back(job);
    }
    // One wakeup per batch of hand-overs: the thread takes them all at once.
    if (wake && !on_delivery_thread) Curl().multi_wakeup(core_->multi);
  }

  void Shutdown(std::shared_ptr<ExecState> exec, absl::Time deadline) {
    {
      std::lock_guard<std::mutex> lock(core_->mu);
      core_->shutdowns.emplace_back(std::move(exec), deadline);
    }
    Curl().multi_wakeup(core_->multi);
  }

 private:
  struct Core {
    CURLM* multi = nullptr;
    std::mutex mu;
    std::vector<Job*> incoming;  // guarded by mu
    std::vector<std::pair<std::shared_ptr<ExecState>, absl::Time>> shutdowns;  // by mu
    bool stop = false;                                                        // by mu

    // Delivery thread only.
    std::vector<CURL*> spare;  // easy handles to reuse
    std::vector<std::shared_ptr<ExecState>> closing;  // executors with a deadline
    size_t jobs = 0;  // waiting or running

    ~Core() {
      for (CURL* e : spare) Curl().easy_cleanup(e);
      Curl().multi_cleanup(multi);
    }
    void Run();
    void Begin(Job* job);
    void Send(Job* job);
    void Finish(Job* job, Outcome outcome);
    Outcome Classify(Job* job, CURLcode rc);
  };

  Loop() : core_(std::make_shared<Core>()) {
    core_->multi = Curl().multi_init();
    Curl().multi_setopt(core_->multi, CURLMOPT_MAXCONNECTS, static_cast<long>(kMaxConnections));
    thread_ = std::thread([core = core_] {
      on_delivery_thread = true;
      core->Run();
    });
  }

  std::shared_ptr<Core> core_;
  std::thread thread_;
};

void Loop::Core::Run() {
  std::vector<Job*> taken;
  std::vector<std::pair<std::shared_ptr<ExecState>, absl::Time>> shut;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu);
      taken.swap(incoming);
      shut.swap(shutdowns);
    }
    for (Job* j : taken) Begin(j);
    taken.clear();
    for (auto& [exec, deadline] : shut) {
      if (!exec->deadline || deadline < *exec->deadline) exec->deadline = deadline;
      if (std::find(closing.begin(), closing.end(), exec) == closing.end())
        closing.push_back(exec);
    }
    shut.clear();

    int running = 0;
    Curl().multi_perform(multi, &running);
    int left = 0;
    while (CURLMsg* msg = Curl().multi_info_read(multi, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Job* job = nullptr;
      Curl().easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&job));
      Finish(job, Classify(job, msg->data.result));
    }

    // Executors shut down: at their deadline, what they still hold fails.
    absl::Time now = absl::Now();
    int wait_ms = 1000;
    for (auto it = closing.begin(); it != closing.end();) {
      ExecState* e = it->get();
      if (now >= *e->deadline) {
        while (!e->waiting.empty()) {
          Job* j = e->waiting.front();
          e->waiting.pop_front();
          Finish(j, ShutdownOutcome("shut down before it was sent"));
        }
        while (!e->running.empty())
          Finish(*e->running.begin(), ShutdownOutcome("shut down before the target answered"));
      }
      if (e->waiting.empty() && e->running.empty()) {
        it = closing.erase(it);
      } else {
        wait_ms = std::clamp<int64_t>(absl::ToInt64Milliseconds(*e->deadline - now) + 1, 0,
                                      wait_ms);
        ++it;
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!incoming.empty() || !shutdowns.empty()) continue;  // handed over meanwhile
      if (stop && jobs == 0) return;
    }
    Curl().multi_poll(multi, nullptr, 0, wait_ms, nullptr);
  }
}

void Loop::Core::Begin(Job* job) {
  ++jobs;
  ExecState* e = job->exec.get();
  if (e->in_flight < e->settings.concurrency) {
    Send(job);
  } else {
    e->waiting.push_back(job);
  }
}

void Loop::Core::Send(Job* job) {
  ExecState* e = job->exec.get();
  CURL* easy;
  if (!spare.empty()) {
    easy = spare.back();
    spare.pop_back();
    Curl().easy_reset(easy);
  } else {
    easy = Curl().easy_init();
  }
  job->easy = easy;
  const Settings& s = e->settings;
  Curl().easy_setopt(easy, CURLOPT_URL, s.url.c_str());
  Curl().easy_setopt(easy, CURLOPT_PRIVATE, job);
  Curl().easy_setopt(easy, CURLOPT_POST, 1L);
  Curl().easy_setopt(easy, CURLOPT_POSTFIELDS, job->body.data());
  Curl().easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(job->body.size()));
  Curl().easy_setopt(easy, CURLOPT_HTTPHEADER, &job->nodes[0]);
  long timeout_ms = static_cast<long>(absl::ToInt64Milliseconds(s.timeout));
  Curl().easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
  Curl().easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  Curl().easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  Curl().easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  Curl().easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  Curl().easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  Curl().easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  Curl().easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!s.ca_file.empty()) Curl().easy_setopt(easy, CURLOPT_CAINFO, s.ca_file.c_str());
  // The answer's body is not wanted.
  Curl().easy_setopt(
      easy, CURLOPT_WRITEFUNCTION,
      +[](char*, size_t size, size_t n, void*) -> size_t { return size * n; });
  ++e->in_flight;
  e->running.insert(job);
  Curl().multi_add_handle(multi, easy);
}

void Loop::Core::Finish(Job* job, Outcome outcome) {
  ExecState* e = job->exec.get();
  if (job->easy != nullptr) {
    Curl().multi_remove_handle(multi, job->easy);
    spare.push_back(job->easy);
    job->easy = nullptr;
    --e->in_flight;
    e->running.erase(job);
  }
  --jobs;
  std::function<void(Outcome)> done = std::move(job->done);
  std::shared_ptr<ExecState> keep = std::move(job->exec);
  delete job;
  done(std::move(outcome));
  while (!e->waiting.empty() && e->in_flight < e->settings.concurrency) {
    Job* next = e->waiting.front();
    e->waiting.pop_front();
    Send(next);
  }
}

Outcome Loop::Core::Classify(Job* job, CURLcode rc) {
  const Settings& s = job->exec->settings;
  Outcome o;
  if (rc == CURLE_OK) {
    long status = 0;
    Curl().easy_getinfo(job->easy, CURLINFO_RESPONSE_CODE, &status);
    o.status = static_cast<int>(status);
    o.reason = absl::StrCat("HTTP ", status);
    if (status >= 200 && status < 300) {
      o.kind = Outcome::Kind::kDelivered;
      o.reason.clear();
    } else if (status == 408 || status == 429 || status >= 500) {
      o.kind = Outcome::Kind::kRetry;
      curl_off_t after = -1;
      if (Curl().easy_getinfo(job->easy, CURLINFO_RETRY_AFTER, &after) == CURLE_OK && after > 0) {
        // An HTTP date comes back as seconds from now; a far one is capped.
        o.retry_after = std::min(absl::Seconds(after), s.retry.max_backoff);
      }
    } else if (status == 410) {
      o.kind = Outcome::Kind::kGone;
    } else if (status >= 300 && status < 400) {
      o.kind = Outcome::Kind::kFailed;
      absl::StrAppend(&o.reason, " (a redirect; redirects are not followed)");
    } else {
      o.kind = Outcome::Kind::kFailed;
    }
    return o;
  }
  o.kind = Outcome::Kind::kRetry;
  // Reasons are written here, not taken from curl's error buffer, which may
  // quote the URL.
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
      o.reason = absl::StrCat("timeout after ", job->exec->timeout_text);
      break;
    case CURLE_COULDNT_CONNECT: {
      long err = 0;
      Curl().easy_getinfo(job->easy, CURLINFO_OS_ERRNO, &err);
      o.reason = err == ECONNREFUSED ? std::string("connection refused")
                 : err != 0          ? absl::StrCat("could not connect: ", std::strerror(err))
                                     : std::string("could not connect");
      break;
    }
    case CURLE_COULDNT_RESOLVE_HOST:
      o.reason = "could not resolve the host name";
      break;
    case CURLE_SSL_CONNECT_ERROR:
      o.reason = "TLS handshake failed";
      break;
    // Failed at once, not retried: a certificate that does not verify, or a
    // CA file that cannot be read, stays so until someone fixes it (then
    // `weir replay`; docs/delivery.md).
    case CURLE_PEER_FAILED_VERIFICATION:
      o.kind = Outcome::Kind::kFailed;
      o.reason = "the target's TLS certificate could not be verified";
      break;
    case CURLE_SSL_CACERT_BADFILE:
      o.kind = Outcome::Kind::kFailed;
      o.reason = "tls.ca_file could not be read";
      break;
    case CURLE_GOT_NOTHING:
      o.reason = "the target closed the connection without an answer";
      break;
    case CURLE_SEND_ERROR:
      o.reason = "connection lost while sending";
      break;
    case CURLE_RECV_ERROR:
      o.reason = "connection lost while receiving";
      break;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      o.kind = Outcome::Kind::kFailed;
      o.reason = Curl().easy_strerror(rc);
      break;
    default:
      o.reason = Curl().easy_strerror(rc);  // a fixed text per code
      break;
  }
  return o;
}

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(ch);
    } else if (c < 0x20) {
      absl::StrAppend(out, "\\u00", absl::Hex(c, absl::kZeroPad2));
    } else {
      out->push_back(ch);
    }
  }
  out->push_back('"');
}

class WebhookExecutor : public Executor {
 public:
  explicit WebhookExecutor(std::shared_ptr<ExecState> state) : state_(std::move(state)) {}
  ~WebhookExecutor() override = default;  // the loop (if last) waits for deliveries

  void Start(const Delivery& d, std::function<void(Outcome)> done) override {
    if (shut_down_.load(std::memory_order_acquire)) {
      done(ShutdownOutcome("shut down"));
      return;
    }
    std::call_once(started_, [this] { loop_ = Loop::Acquire(); });
    const Settings& s = state_->settings;
    auto* job = new Job;
    job->exec = state_;
    job->done = std::move(done);
    absl::Time now = absl::Now();
    if (s.envelope) {
      absl::Time at = d.matched_at == absl::UnixEpoch() ? now : d.matched_at;
      job->body.reserve(d.event.size() + d.rule_id.size() + 64);
      job->body = "{\"type\":";
      AppendJsonString(&job->body, d.rule_id);
      absl::StrAppend(&job->body, ",\"timestamp\":\"",
                      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", at, absl::UTCTimeZone()),
                      "\",\"data\":", Av(d.event), "}");
    } else {
      job->body.assign(d.event);
    }
    int64_t ts = absl::ToUnixSeconds(now);
    int n = 0;
    job->lines[n++] = absl::StrCat("webhook-id: ", Av(d.id));
    job->lines[n++] = absl::StrCat("webhook-timestamp: ", ts);
    if (state_->signer) {
      for (SignatureHeader& h : state_->signer->Sign(d.id, ts, job->body))
        if (n < 4) job->lines[n++] = absl::StrCat(h.name, ": ", h.value);
    }
    for (int i = 0; i < n; ++i) {
      job->nodes[i].data = job->lines[i].data();
      job->nodes[i].next = i + 1 < n ? &job->nodes[i + 1] : state_->fixed_headers;
    }
    loop_->Submit(job);
  }

  std::string target() const override { return state_->settings.target; }
  int concurrency() const override { return state_->settings.concurrency; }
  double rate_per_second() const override { return state_->settings.rate; }
  RetryPolicy retry() const override { return state_->settings.retry; }
  DeactivationPolicy deactivation() const override { return state_->settings.deactivation; }

  void Shutdown(absl::Time deadline) override {
    shut_down_.store(true, std::memory_order_release);
    // Start() is not called concurrently with Shutdown(), so loop_ is stable.
    if (loop_) loop_->Shutdown(state_, deadline);
  }

 private:
  std::shared_ptr<ExecState> state_;
  std::once_flag started_;
  std::shared_ptr<Loop> loop_;
  std::atomic<bool> shut_down_{false};
};

class WebhookFactoryImpl : public ExecutorFactory {
 public:
  std::unique_ptr<Executor> Create(const ActionDef& action,
                                   std::vector<Diagnostic>* diagnostics) const override {
    std::optional<Settings> s = CheckSettings(action, diagnostics);
    if (!s) return nullptr;
    auto state = std::make_shared<ExecState>();
    if (s->secret) {
      absl::StatusOr<std::unique_ptr<Signer>> signer = Signer::Create(s->scheme, *s->secret);
      if (!signer.ok()) {  // checked above; kept for safety
        diagnostics->push_back({action.where, "", std::string(signer.status().message())});
        return nullptr;
      }
      if (s->scheme != SignatureScheme::kNone) state->signer = *std::move(signer);
    }
    // Fixed headers; the user's replace weir's defaults of the same name.
    auto given = [&](std::string_view name) {
      for (const auto& [k, v] : s->headers)
        if (absl::EqualsIgnoreCase(k, Av(name))) return true;
      return false;
    };
    curl_slist* list = nullptr;
    if (!given("Content-Type")) list = Curl().slist_append(list, "Content-Type: application/json");
    if (!given("User-Agent")) list = Curl().slist_append(list, "User-Agent: weir/" WEIR_VERSION);
    list = Curl().slist_append(list, "Expect:");  // no 100-continue round trip
    for (const auto& [k, v] : s->headers)
      list = Curl().slist_append(list, (v.empty() ? absl::StrCat(k, ";")  // curl's form of empty
                                                  : absl::StrCat(k, ": ", v))
                                           .c_str());
    state->fixed_headers = list;
    state->timeout_text = absl::FormatDuration(s->timeout);
    state->settings = *std::move(s);
    return std::make_unique<WebhookExecutor>(std::move(state));
  }
};

}  // namespace

std::shared_ptr<const ExecutorFactory> WebhookFactory() {
  static const std::shared_ptr<const ExecutorFactory> factory =
      std::make_shared<WebhookFactoryImpl>();
  return factory;
}

}  // namespace weir
