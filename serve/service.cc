#include "serve/service.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "serve/hook_auth.h"
#include "simdjson.h"
#include "weir/actions.h"
#include "weir/engine.h"
#include "weir/rules.h"
#include "weir/stream.h"

namespace weir::serve {

const std::string* HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return &v;
  return nullptr;
}

namespace {

using Log = std::function<void(std::string_view)>;

// `s`: std::string, std::string_view or absl::string_view (not the same type
// in this Abseil).
template <class S>
std::string JsonString(const S& s) {
  std::string out = "\"";
  for (unsigned char c : absl::string_view(s.data(), s.size())) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

// A user's string inside generated rule text: `${` is literal there, so a
// registered webhook cannot read the server's environment.
std::string LiteralSetting(absl::string_view s) {
  return JsonString(absl::StrReplaceAll(s, {{"${", "$${"}}));
}

HttpResponse Json(int status, std::string body) {
  return {status, "application/json", std::move(body)};
}
HttpResponse Error(int status, absl::string_view message) {
  return Json(status, absl::StrCat("{\"error\":", JsonString(message), "}"));
}

// Same time whatever the bytes and wherever they differ.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? a[i] : 0, y = i < b.size() ? b[i] : 0;
    diff |= x ^ y;
  }
  return diff == 0 && n > 0;
}

std::string GlobLiteral(absl::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string LabelValue(absl::string_view s) {
  return absl::StrReplaceAll(s, {{"\\", "\\\\"}, {"\"", "\\\""}, {"\n", "\\n"}});
}

// An ingest request: one POST's body (or one WebSocket client message),
// matched in one batch (with the requests queued behind it) and answered
// from Source::Done.
struct IngestRequest {
  std::string body;
  bool ndjson = false;
  Reply reply;  // null: nobody waits (a WebSocket client's message)
  uint64_t first_sequence = 0, end_sequence = 0;  // its events' ingest sequences
  uint64_t accepted = 0, matched = 0;
  std::vector<std::pair<uint64_t, std::string>> bad;  // line, reason
};

void Answer(IngestRequest& r) {
  if (!r.reply) return;
  std::string body =
      absl::StrCat("{\"accepted\":", r.accepted, ",\"matched\":", r.matched, ",\"bad\":[");
  size_t shown = std::min<size_t>(r.bad.size(), 1000);
  for (size_t i = 0; i < shown; ++i)
    absl::StrAppend(&body, i ? "," : "", "{\"line\":", r.bad[i].first,
                    ",\"reason\":", JsonString(r.bad[i].second), "}");
  absl::StrAppend(&body, "]");
  if (shown < r.bad.size()) absl::StrAppend(&body, ",\"bad_count\":", r.bad.size());
  absl::StrAppend(&body, "}");
  r.reply(Json(r.accepted > 0 ? 202 : 400, std::move(body)));
  r.reply = nullptr;
}

// The pipeline's source: requests in arrival order. A batch takes the
// request at the head of the queue and those queued behind it, up to
// kMaxMerged requests or kMaxMergedBytes, so that concurrent clients share
// one outbox transaction instead of one each (docs/serve.md). It never waits
// for more: a lone request is matched at once. The ingest sequence starts at
// the start time in microseconds, so events of a later run never reuse an
// earlier run's positions (delivery ids).
class IngestSource : public Source {
 public:
  static constexpr size_t kMaxMerged = 64;
  static constexpr size_t kMaxMergedBytes = 4 << 20;
  using Group = std::vector<std::unique_ptr<IngestRequest>>;

  explicit IngestSource(size_t max_pending)
      : max_pending_(max_pending), sequence_(absl::ToUnixMicros(absl::Now())) {}

  const std::string& name() const override { return name_; }

  // False when closed or full (the caller answers 503).
  bool Push(std::unique_ptr<IngestRequest> r) {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_ || queue_.size() >= max_pending_) return false;
    queue_.push_back(std::move(r));
    cv_.notify_one();
    return true;
  }

  absl::Status Next(EventBatch* batch, bool* got) override {
    Group group;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return !queue_.empty() || closed_ || interrupted_; });
      if (queue_.empty() || interrupted_) {
        *got = false;
        return absl::OkStatus();
      }
      size_t bytes = 0;
      while (!queue_.empty() && group.size() < kMaxMerged &&
             (group.empty() || bytes + queue_.front()->body.size() <= kMaxMergedBytes)) {
        bytes += queue_.front()->body.size();
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    for (auto& r : group) {
      r->first_sequence = sequence_;
      Add(*r, batch);
      r->end_sequence = sequence_;
    }
    batch->token = ++next_token_;
    std::lock_guard<std::mutex> l(mu_);
    in_flight_[batch->token] = std::move(group);
    *got = true;
    return absl::OkStatus();
  }

  // The requests of a batch, in order; the sink fills in their counts and
  // Done answers them.
  Group* InFlight(uint64_t token) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = in_flight_.find(token);
    return it == in_flight_.end() ? nullptr : &it->second;
  }

  void Done(const EventBatch& batch) override {
    Group group;
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = in_flight_.find(batch.token);
      if (it == in_flight_.end()) return;
      group = std::move(it->second);
      in_flight_.erase(it);
    }
    for (auto& r : group) Answer(*r);
  }

  void Interrupt() override {
    std::lock_guard<std::mutex> l(mu_);
    interrupted_ = true;
    cv_.notify_all();
  }

  // No more requests; Next() ends once the queue is empty.
  void Close() {
    std::lock_guard<std::mutex> l(mu_);
    closed_ = true;
    cv_.notify_all();
  }

  // The pipeline stopped: whoever still waits gets 503.
  void FailAll(absl::string_view why) {
    std::deque<std::unique_ptr<IngestRequest>> q;
    std::map<uint64_t, Group> f;
    {
      std::lock_guard<std::mutex> l(mu_);
      closed_ = true;
      q.swap(queue_);
      f.swap(in_flight_);
    }
    for (auto& r : q)
      if (r->reply) r->reply(Error(503, why));
    for (auto& [t, group] : f)
      for (auto& r : group)
        if (r->reply) r->reply(Error(503, why));
  }

 private:
  // One request's events: its body as one event, or each non-blank line.
  void Add(const IngestRequest& r, EventBatch* batch) {
    absl::string_view body = r.body;
    if (!r.ndjson) {
      body = absl::StripAsciiWhitespace(body);
      batch->Add({body.data(), body.size()}, {1, 0, sequence_++});
      return;
    }
    uint64_t line = 0;
    size_t pos = 0;
    while (pos < body.size()) {
      size_t end = body.find('\n', pos);
      if (end == absl::string_view::npos) end = body.size();
      ++line;
      absl::string_view text = body.substr(pos, end - pos);
      if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
      if (!absl::StripAsciiWhitespace(text).empty())
        batch->Add({text.data(), text.size()}, {line, pos, sequence_++});
      pos = end + 1;
    }
  }

  const std::string name_ = "http";
  const size_t max_pending_;
  uint64_t sequence_;  // Next() only
  uint64_t next_token_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<IngestRequest>> queue_;
  std::map<uint64_t, Group> in_flight_;
  bool closed_ = false, interrupted_ = false;
};

// A webhook of the registry, as kept in DIR/webhooks.json.
struct Webhook {
  std::string id, name, url, secret, signature;
  std::string trigger_kind;  // events | filter | pattern
  std::string trigger_json;  // as given, minified
  std::string config_json;   // "" when none
  bool active = true;
  int64_t created = 0;  // Unix ms
  RuleDef rule;         // built from the above
  std::string target;   // the executor's, for metrics and activation
};

std::string WebhookRuleId(const std::string& id) { return "webhook." + id; }

// The registry entry without its secret.
std::string WebhookJson(const Webhook& w) {
  std::string out = absl::StrCat("{\"id\":", JsonString(w.id), ",\"name\":", JsonString(w.name),
                                 ",\"url\":", JsonString(w.url),
                                 ",\"secret\":", w.secret.empty() ? "null" : "\"********\"");
  if (!w.signature.empty()) absl::StrAppend(&out, ",\"signature\":", JsonString(w.signature));
  absl::StrAppend(&out, ",", JsonString(w.trigger_kind), ":", w.trigger_json);
  if (!w.config_json.empty()) absl::StrAppend(&out, ",\"config\":", w.config_json);
  absl::StrAppend(&out, ",\"active\":", w.active ? "true" : "false", ",\"created\":", w.created,
                  ",\"rule\":", JsonString(WebhookRuleId(w.id)), "}");
  return out;
}

// With the secret: only for the file in DIR (mode 0600).
std::string WebhookStoredJson(const Webhook& w) {
  std::string out = absl::StrCat(
      "{\"id\":", JsonString(w.id), ",\"name\":", JsonString(w.name),
      ",\"url\":", JsonString(w.url), ",\"secret\":", JsonString(w.secret),
      ",\"signature\":", JsonString(w.signature), ",\"trigger_kind\":", JsonString(w.trigger_kind),
      ",\"trigger\":", w.trigger_json);
  if (!w.config_json.empty()) absl::StrAppend(&out, ",\"config\":", w.config_json);
  absl::StrAppend(&out, ",\"active\":", w.active ? "true" : "false", ",\"created\":", w.created,
                  "}");
  return out;
}

std::string Minify(simdjson::dom::element e) { return simdjson::minify(e); }

// Reads the registry fields of a request (or of the stored file) into `w`;
// fields absent keep their value (update). An error message, or "".
std::string ReadWebhookFields(simdjson::dom::object o, bool stored, Webhook* w) {
  static const std::set<absl::string_view> kRequestKeys = {
      "name", "url", "secret", "events", "filter", "pattern", "signature", "config", "active"};
  static const std::set<absl::string_view> kStoredKeys = {
      "id",           "name",    "url",    "secret", "signature",
      "trigger_kind", "trigger", "config", "active", "created"};
  int triggers = 0;
  for (auto field : o) {
    absl::string_view k(field.key.data(), field.key.size());
    if (!(stored ? kStoredKeys : kRequestKeys).count(k))
      return absl::StrCat("unknown field '", k, "'");
    simdjson::dom::element v = field.value;
    std::string_view s;
    if (k == "name" || k == "url" || k == "secret" || k == "signature" || k == "id" ||
        k == "trigger_kind") {
      if (v.get_string().get(s)) return absl::StrCat("'", k, "' must be a string");
      std::string str(s);
      if (k == "name") w->name = str;
      if (k == "url") w->url = str;
      if (k == "secret") w->secret = str;
      if (k == "signature") w->signature = str;
      if (k == "id") w->id = str;
      if (k == "trigger_kind") w->trigger_kind = str;
    } else if (k == "events" || k == "filter" || k == "pattern") {
      ++triggers;
      w->trigger_kind = std::string(k);
      w->trigger_json = Minify(v);
    } else if (k == "trigger") {
      w->trigger_json = Minify(v);
    } else if (k == "config") {
      if (!v.is_object()) return "'config' must be an object";
      w->config_json = Minify(v);
    } else if (k == "active") {
      bool b;
      if (v.get_bool().get(b)) return "'active' must be true or false";
      w->active = b;
    } else if (k == "created") {
      int64_t t;
      if (v.get_int64().get(t)) return "'created' must be a number";
      w->created = t;
    }
  }
  if (triggers > 1) return "give one of 'events', 'filter' or 'pattern'";
  return "";
}

struct Connection {
  std::shared_ptr<WsPeer> peer;
  bool authorized = false;
  std::string sender_id;
  std::set<std::string> jobs;
  std::set<std::string> rules;  // rule-subscription ids (ws<conn>.r<n>)
  uint64_t next_rule = 0;
};

std::string JobRuleId(uint64_t conn) { return absl::StrCat("ws", conn, ".jobs"); }

// "ws<conn>.…" -> conn.
bool ConnOfRule(absl::string_view id, uint64_t* conn) {
  if (!absl::ConsumePrefix(&id, "ws")) return false;
  size_t dot = id.find('.');
  return dot != absl::string_view::npos && absl::SimpleAtoi(id.substr(0, dot), conn);
}

class ServiceImpl;

// The pipeline's sink: records through the dispatcher, then counts for the
// request's answer and pushes every accepted event to the WebSocket clients
// whose subscriptions it matches.
class ServeSink : public Sink {
 public:
  ServeSink(ServiceImpl* service, IngestSource* source) : service_(service), source_(source) {}
  void Prepare(BatchResult* result) override;
  absl::Status OnBatch(const BatchResult& result) override;

 private:
  ServiceImpl* service_;
  IngestSource* source_;
  std::shared_ptr<const RuleSet> subs_;  // what matcher_ is bound to
  std::unique_ptr<Matcher> matcher_;
  std::vector<uint32_t> slots_;
  std::vector<uint64_t> conns_;
  std::set<uint64_t> bad_offsets_;
};

class ServiceImpl : public Service {
 public:
  ServiceImpl(const ServeOptions& options, Log log)
      : options_(options),
        log_(std::move(log)),
        source_(options.max_pending_requests),
        sink_(this, &source_),
        executors_(ExecutorRegistry::Builtins()) {}

  ~ServiceImpl() override {
    source_.Interrupt();
    if (pipeline_thread_.joinable()) pipeline_thread_.join();
  }

  absl::Status Init();

  void Handle(HttpRequest request, Reply reply) override;
  std::optional<HttpResponse> CheckUpgrade(const HttpRequest& request) override;
  uint64_t WsOpen(std::shared_ptr<WsPeer> peer, bool authorized) override;
  void WsMessage(uint64_t connection, std::string_view text) override;
  void WsClosed(uint64_t connection) override;
  void CountDrop() override { ws_dropped_++; }
  void CountSent(size_t n) override { ws_sent_ += n; }
  bool Authorized(const HttpRequest& request) const override;
  void Reload() override;
  void Shutdown() override;
  std::vector<std::shared_ptr<WsPeer>> Peers() override {
    std::lock_guard<std::mutex> l(subs_mu_);
    std::vector<std::shared_ptr<WsPeer>> out;
    for (auto& [id, c] : conns_) out.push_back(c.peer);
    return out;
  }

  // For the sink.
  Dispatcher& dispatcher() { return *dispatcher_; }
  std::shared_ptr<const RuleSet> Subscriptions() {
    std::lock_guard<std::mutex> l(subs_mu_);
    return subs_;
  }
  void Push(const std::vector<uint64_t>& conns, std::shared_ptr<const std::string> message) {
    std::lock_guard<std::mutex> l(subs_mu_);
    for (uint64_t c : conns) {
      auto it = conns_.find(c);
      if (it != conns_.end()) it->second.peer->Send(message);
    }
  }
  void CountBatch(uint64_t accepted, uint64_t bad, uint64_t matched) {
    events_in_ += accepted;
    events_bad_ += bad;
    events_matched_ += matched;
  }
  const EventLimits& limits() const { return pipeline_options_.limits; }

 private:
  bool Allowed(const HttpRequest& r, HttpResponse* refusal) const;
  void Ingest(HttpRequest& request, Reply reply);
  void Hook(absl::string_view name, HttpRequest& request, Reply reply);
  HttpResponse Metrics();
  HttpResponse Ready();
  void Webhooks(absl::string_view rest, HttpRequest& request, Reply reply);

  // Registry.
  std::string BuildWebhook(Webhook* w, std::unique_ptr<Executor>* executor);
  absl::Status SaveRegistry();  // rules_mu_ held
  void LoadRegistry(std::map<std::string, std::unique_ptr<Executor>>* executors);
  absl::Status ApplyRules(std::vector<RuleDef> add, const std::vector<std::string>& remove);

  // Subscriptions (subs_mu_ held).
  std::string UpdateJobs(uint64_t id, Connection& c);
  void RemoveAll(uint64_t id, Connection& c);
  void SendTo(Connection& c, std::string msg) {
    c.peer->Send(std::make_shared<const std::string>(std::move(msg)));
  }
  void SendError(Connection& c, absl::string_view why) {
    SendTo(c,
           absl::StrCat("{\"msgType\":\"Error\",\"message\":{\"error\":", JsonString(why), "}}"));
  }

  const ServeOptions options_;
  Log log_;
  std::vector<std::string> tokens_;
  std::vector<std::string> job_paths_;

  IngestSource source_;
  ServeSink sink_;
  PipelineOptions pipeline_options_;
  std::unique_ptr<Pipeline> pipeline_;
  std::thread pipeline_thread_;
  std::atomic<bool> running_{false}, stopping_{false};

  ExecutorRegistry executors_;
  std::unique_ptr<Dispatcher> dispatcher_;

  // The action rule set: the rule files' rules plus the registry's.
  mutable std::mutex rules_mu_;
  std::vector<RuleDef> file_rules_;
  std::set<std::string> file_actions_;
  std::map<std::string, SourceDef> sources_;
  std::shared_ptr<const RuleSet> rules_;
  std::map<std::string, Webhook> webhooks_;

  // Subscriptions: one rule set, rule ids ws<conn>.<sub>.
  std::mutex subs_mu_;
  std::map<uint64_t, Connection> conns_;
  std::shared_ptr<const RuleSet> subs_;
  uint64_t next_conn_ = 0;

  std::atomic<uint64_t> events_in_{0}, events_bad_{0}, events_matched_{0}, requests_{0};
  std::atomic<uint64_t> ws_dropped_{0}, ws_sent_{0}, ws_opened_{0}, hooks_refused_{0};
  std::atomic<uint64_t> reloads_ok_{0}, reloads_failed_{0};
};

void ServeSink::Prepare(BatchResult* result) { service_->dispatcher().Prepare(result); }

absl::Status ServeSink::OnBatch(const BatchResult& result) {
  absl::Status st = service_->dispatcher().OnBatch(result);
  if (!st.ok()) return st;
  const EventBatch& batch = *result.batch;
  uint64_t accepted = batch.events().size() - std::min(batch.events().size(), result.bad.size());
  if (IngestSource::Group* group = source_->InFlight(batch.token)) {
    // Matches and bad lines come in input order: each request takes the
    // ones within its sequences.
    size_t m = 0, b = 0;
    for (auto& r : *group) {
      uint64_t bad = 0;
      for (; b < result.bad.size() && result.bad[b].position.sequence < r->end_sequence; ++b, ++bad)
        r->bad.emplace_back(result.bad[b].position.line, result.bad[b].reason);
      for (; m < result.matches.size() && result.matches[m].position.sequence < r->end_sequence;
           ++m)
        ++r->matched;
      uint64_t events = r->end_sequence - r->first_sequence;
      r->accepted = events - std::min(events, bad);
    }
  }
  service_->CountBatch(accepted, result.bad.size(), result.matches.size());

  std::shared_ptr<const RuleSet> subs = service_->Subscriptions();
  if (!subs || subs->enabled_count() == 0) return absl::OkStatus();
  if (subs != subs_) {
    if (matcher_)
      matcher_->Reset(subs);
    else
      matcher_ = std::make_unique<Matcher>(subs, service_->limits());
    subs_ = subs;
  }
  bad_offsets_.clear();
  for (const BadEvent& b : result.bad) bad_offsets_.insert(b.position.sequence);
  for (const EventBatch::Event& e : batch.events()) {
    if (batch.too_long(e) || bad_offsets_.count(e.position.sequence)) continue;
    std::string_view bytes = batch.event(e);
    if (!matcher_->MatchPadded(bytes, &slots_).ok() || slots_.empty()) continue;
    conns_.clear();
    for (uint32_t s : slots_) {
      uint64_t c;
      std::string_view id = subs->id(s);
      if (ConnOfRule({id.data(), id.size()}, &c)) conns_.push_back(c);
    }
    std::sort(conns_.begin(), conns_.end());
    conns_.erase(std::unique(conns_.begin(), conns_.end()), conns_.end());
    service_->Push(conns_, std::make_shared<const std::string>(bytes));
  }
  return absl::OkStatus();
}

absl::Status ServiceImpl::Init() {
  if (!options_.token_file.empty()) {
    std::ifstream in(options_.token_file);
    if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read ", options_.token_file));
    std::string line;
    while (std::getline(in, line)) {
      std::string t(absl::StripAsciiWhitespace(line));
      if (!t.empty()) tokens_.push_back(t);
    }
    if (tokens_.empty())
      return absl::InvalidArgumentError(absl::StrCat(options_.token_file, " holds no token"));
  }
  job_paths_ = {"jobId", "message.jobId"};
  for (const auto& p : options_.job_id_paths)
    if (std::find(job_paths_.begin(), job_paths_.end(), p) == job_paths_.end())
      job_paths_.push_back(p);

  LoadResult loaded = LoadRuleFiles(options_.rule_files);
  if (!loaded.ok()) {
    std::vector<std::string> lines;
    for (const auto& d : loaded.diagnostics) lines.push_back(d.ToString());
    return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
  }
  ExecutorRegistry::Executors ex = executors_.CreateAll(loaded.ruleset.actions);
  if (!ex.ok()) {
    std::vector<std::string> lines;
    for (const auto& d : ex.diagnostics) lines.push_back(d.ToString());
    return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
  }
  for (const auto& [name, e] : ex.by_action) file_actions_.insert(name);
  file_rules_ = loaded.ruleset.rules;
  sources_ = std::move(loaded.sources);

  if (mkdir(options_.state_dir.c_str(), 0700) != 0 && errno != EEXIST)
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create ", options_.state_dir, ": ", strerror(errno)));
  LoadRegistry(&ex.by_action);

  std::vector<RuleDef> all = file_rules_;
  for (const auto& [id, w] : webhooks_) all.push_back(w.rule);
  auto compiled = RuleSet::Compile(std::move(all));
  if (!compiled.ok()) return compiled.status();
  rules_ = *compiled;

  auto subs = RuleSet::Compile({});
  if (!subs.ok()) return subs.status();
  subs_ = *subs;

  DispatcherOptions dopt;
  dopt.state_dir = options_.state_dir;
  dopt.sync = options_.sync;
  dopt.log = log_;
  auto d = Dispatcher::Open(dopt, std::move(ex.by_action));
  if (!d.ok()) return d.status();
  dispatcher_ = std::move(*d);

  pipeline_options_.threads = std::max(1, options_.threads);
  pipeline_options_.validate_all = true;  // the answer counts every bad line
  pipeline_ = std::make_unique<Pipeline>(rules_, pipeline_options_);
  running_ = true;
  pipeline_thread_ = std::thread([this] {
    absl::Status st = pipeline_->Run(source_, sink_);
    running_ = false;
    if (!st.ok() && !stopping_) log_(absl::StrCat("weir serve: ingest stopped: ", st.message()));
    source_.FailAll(st.ok() ? "shutting down" : "ingest stopped; see the server's log");
  });
  return absl::OkStatus();
}

bool ServiceImpl::Authorized(const HttpRequest& r) const {
  if (tokens_.empty()) return r.loopback_peer;
  const std::string* h = r.Header("authorization");
  if (!h) return false;
  absl::string_view v = *h;
  if (!absl::ConsumePrefix(&v, "Bearer ")) return false;
  v = absl::StripAsciiWhitespace(v);
  bool ok = false;
  for (const auto& t : tokens_) ok |= ConstantTimeEquals(v, t);  // no early exit
  return ok;
}

bool ServiceImpl::Allowed(const HttpRequest& r, HttpResponse* refusal) const {
  if (Authorized(r)) return true;
  if (tokens_.empty())
    *refusal = Error(403, "only loopback clients are served without --token-file");
  else
    *refusal = Error(401, "missing or wrong bearer token");
  return false;
}

void ServiceImpl::Handle(HttpRequest r, Reply reply) {
  ++requests_;
  absl::string_view path = r.target;
  if (size_t q = path.find('?'); q != absl::string_view::npos) path = path.substr(0, q);
  if (path == "/healthz") return reply(Json(200, "{\"status\":\"ok\"}"));
  HttpResponse refusal;
  if (!Allowed(r, &refusal)) return reply(refusal);
  auto method_is = [&](const char* m) {
    if (r.method == m) return true;
    reply(Error(405, absl::StrCat(path, " takes ", m)));
    return false;
  };
  if (path == "/readyz") {
    if (method_is("GET")) reply(Ready());
    return;
  }
  if (path == "/metrics") {
    if (method_is("GET")) reply(Metrics());
    return;
  }
  if (path == "/events") {
    if (method_is("POST")) Ingest(r, std::move(reply));
    return;
  }
  absl::string_view rest = path;
  if (absl::ConsumePrefix(&rest, "/hooks/")) {
    if (method_is("POST")) Hook(rest, r, std::move(reply));
    return;
  }
  if (rest == "/webhooks" || absl::ConsumePrefix(&rest, "/webhooks/")) {
    if (rest == "/webhooks") rest = "";
    return Webhooks(rest, r, std::move(reply));
  }
  if (path == "/ws") return reply(Error(426, "/ws is a WebSocket endpoint"));
  reply(Error(404, absl::StrCat("no endpoint ", path)));
}

void ServiceImpl::Ingest(HttpRequest& r, Reply reply) {
  const std::string* ct = r.Header("content-type");
  std::string type = ct ? absl::AsciiStrToLower(absl::StripAsciiWhitespace(
                              absl::string_view(*ct).substr(0, ct->find(';'))))
                        : "application/json";
  auto req = std::make_unique<IngestRequest>();
  if (type == "application/x-ndjson" || type == "application/ndjson") {
    req->ndjson = true;
  } else if (type != "application/json") {
    return reply(Error(415, "send application/json (one event) or application/x-ndjson"));
  }
  if (absl::StripAsciiWhitespace(r.body).empty()) return reply(Error(400, "no events"));
  req->body = std::move(r.body);
  req->reply = std::move(reply);
  Reply keep = req->reply;
  if (stopping_ || !running_ || !source_.Push(std::move(req)))
    keep(Error(503, stopping_ ? "shutting down" : "too many requests waiting; retry later"));
}

void ServiceImpl::Hook(absl::string_view name, HttpRequest& r, Reply reply) {
  SourceDef source;
  {
    std::lock_guard<std::mutex> l(rules_mu_);
    auto it = sources_.find(std::string(name));
    if (it == sources_.end()) return reply(Error(404, absl::StrCat("no source '", name, "'")));
    source = it->second;
  }
  std::string why = VerifyHook(source, r.headers, r.body, absl::Now());
  if (!why.empty()) {
    ++hooks_refused_;
    return reply(Error(401, why));
  }
  Ingest(r, std::move(reply));
}

HttpResponse ServiceImpl::Ready() {
  std::vector<std::string> missing;
  {
    std::lock_guard<std::mutex> l(rules_mu_);
    if (!rules_) missing.push_back("rules not loaded");
  }
  if (!running_) missing.push_back("ingest not running");
  if (stopping_) missing.push_back("shutting down");
  if (access(options_.state_dir.c_str(), W_OK) != 0) missing.push_back("outbox not writable");
  if (missing.empty()) return Json(200, "{\"ready\":true}");
  std::vector<std::string> q;
  for (auto& m : missing) q.push_back(JsonString(m));
  return Json(503, absl::StrCat("{\"ready\":false,\"why\":[", absl::StrJoin(q, ","), "]}"));
}

HttpResponse ServiceImpl::Metrics() {
  std::string o;
  auto metric = [&](const char* name, const char* type, const char* help) {
    absl::StrAppend(&o, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
  };
  auto value = [&](const char* name, std::string labels, uint64_t v) {
    absl::StrAppend(&o, name, labels.empty() ? "" : "{", labels, labels.empty() ? "" : "}", " ", v,
                    "\n");
  };
  metric("weir_events_total", "counter", "Events accepted (valid) through HTTP and WebSocket.");
  value("weir_events_total", "", events_in_);
  metric("weir_events_bad_total", "counter", "Lines refused as bad events.");
  value("weir_events_bad_total", "", events_bad_);
  metric("weir_events_matched_total", "counter", "Accepted events that matched a rule.");
  value("weir_events_matched_total", "", events_matched_);
  metric("weir_http_requests_total", "counter", "HTTP requests answered.");
  value("weir_http_requests_total", "", requests_);
  metric("weir_hooks_refused_total", "counter", "Webhooks refused for their signature.");
  value("weir_hooks_refused_total", "", hooks_refused_);
  size_t rules = 0;
  {
    std::lock_guard<std::mutex> l(rules_mu_);
    if (rules_) rules = rules_->enabled_count();
  }
  metric("weir_rules", "gauge", "Live, enabled rules with actions.");
  value("weir_rules", "", rules);
  metric("weir_reloads_total", "counter", "Rule reloads (SIGHUP) by result.");
  value("weir_reloads_total", "result=\"ok\"", reloads_ok_);
  value("weir_reloads_total", "result=\"failed\"", reloads_failed_);

  std::vector<ActionStats> stats = dispatcher_->Summary();
  metric("weir_actions_matched_total", "counter", "Matched (event, action) pairs recorded.");
  for (const auto& s : stats)
    value("weir_actions_matched_total", absl::StrCat("action=\"", LabelValue(s.action), "\""),
          s.matched);
  metric("weir_deliveries_total", "counter", "Deliveries by outcome.");
  for (const auto& s : stats) {
    std::string a = absl::StrCat("action=\"", LabelValue(s.action), "\",outcome=");
    value("weir_deliveries_total", a + "\"delivered\"", s.delivered);
    value("weir_deliveries_total", a + "\"retried\"", s.retried);
    value("weir_deliveries_total", a + "\"dead_lettered\"", s.dead_lettered);
  }
  uint64_t depth = 0;
  for (const auto& s : stats) depth += s.pending;
  metric("weir_outbox_pending", "gauge", "Deliveries waiting in the outbox.");
  value("weir_outbox_pending", "", depth);
  metric("weir_target_active", "gauge", "1 while a target takes deliveries, 0 once deactivated.");
  std::map<std::string, bool> targets;
  for (const auto& s : stats) {
    auto [it, fresh] = targets.emplace(s.target, !s.deactivated);
    if (!fresh) it->second = it->second && !s.deactivated;
  }
  for (const auto& [t, active] : targets)
    value("weir_target_active", absl::StrCat("target=\"", LabelValue(t), "\""), active ? 1 : 0);

  size_t clients = 0, subs = 0;
  {
    std::lock_guard<std::mutex> l(subs_mu_);
    clients = conns_.size();
    if (subs_) subs = subs_->enabled_count();
  }
  metric("weir_websocket_clients", "gauge", "Connected WebSocket clients.");
  value("weir_websocket_clients", "", clients);
  metric("weir_websocket_subscription_rules", "gauge", "Live subscription rules.");
  value("weir_websocket_subscription_rules", "", subs);
  metric("weir_websocket_connections_total", "counter", "WebSocket connections accepted.");
  value("weir_websocket_connections_total", "", ws_opened_);
  metric("weir_websocket_messages_total", "counter", "Messages written to WebSocket clients.");
  value("weir_websocket_messages_total", "", ws_sent_);
  metric("weir_websocket_dropped_total", "counter",
         "WebSocket clients closed for not reading (queue over its bound).");
  value("weir_websocket_dropped_total", "", ws_dropped_);
  return {200, "text/plain; version=0.0.4; charset=utf-8", std::move(o)};
}

// ---- the webhook registry ----

std::string ServiceImpl::BuildWebhook(Webhook* w, std::unique_ptr<Executor>* executor) {
  if (w->name.empty()) return "'name' is required";
  if (w->url.empty()) return "'url' is required";
  if (w->trigger_kind.empty()) return "give one of 'events', 'filter' or 'pattern'";
  const std::string rid = WebhookRuleId(w->id);
  std::string settings = absl::StrCat("\"url\":", LiteralSetting(w->url));
  if (!w->secret.empty()) absl::StrAppend(&settings, ",\"secret\":", LiteralSetting(w->secret));
  if (!w->signature.empty())
    absl::StrAppend(&settings, ",\"signature\":", LiteralSetting(w->signature));
  if (!w->config_json.empty()) absl::StrAppend(&settings, ",\"config\":", w->config_json);
  std::string text = absl::StrCat(
      "{\"rules\":[{\"id\":", JsonString(rid), ",\"enabled\":", w->active ? "true" : "false", ",",
      JsonString(w->trigger_kind), ":", w->trigger_json, ",\"actions\":[", JsonString(rid),
      "]}],\"actions\":{", JsonString(rid), ":{\"webhook\":{", settings, "}}}}");
  LoadOptions lo;
  lo.env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  LoadResult r = ParseRules({{"webhook", text}}, lo);
  std::vector<Diagnostic> diags = r.diagnostics;
  std::unique_ptr<Executor> e;
  if (r.ok()) {
    const ExecutorFactory* f = executors_.Find("webhook");
    if (!f) return "this weir has no webhook executor";
    e = f->Create(r.ruleset.actions.at(rid), &diags);
  }
  if (!diags.empty() || !e) {
    std::vector<std::string> m;
    for (const auto& d : diags) m.push_back(d.message);
    return m.empty() ? "the webhook's settings are refused" : absl::StrJoin(m, "; ");
  }
  w->rule = r.ruleset.rules[0];
  w->target = e->target();
  *executor = std::move(e);
  return "";
}

absl::Status ServiceImpl::SaveRegistry() {
  std::string text = "{\"webhooks\":[\n";
  bool first = true;
  for (const auto& [id, w] : webhooks_) {
    absl::StrAppend(&text, first ? "" : ",\n", WebhookStoredJson(w));
    first = false;
  }
  text += "\n]}\n";
  std::string path = options_.state_dir + "/webhooks.json", tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot write ", tmp, ": ", strerror(errno)));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      return absl::InternalError(absl::StrCat("cannot write ", tmp, ": ", strerror(errno)));
    }
    done += static_cast<size_t>(n);
  }
  bool synced = fsync(fd) == 0;
  close(fd);
  if (!synced || rename(tmp.c_str(), path.c_str()) != 0)
    return absl::InternalError(absl::StrCat("cannot replace ", path, ": ", strerror(errno)));
  int dfd = open(options_.state_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return absl::OkStatus();
}

void ServiceImpl::LoadRegistry(std::map<std::string, std::unique_ptr<Executor>>* executors) {
  std::string path = options_.state_dir + "/webhooks.json";
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::padded_string text;
  if (simdjson::padded_string::load(path).get(text)) return;  // none yet
  simdjson::dom::array list;
  if (parser.parse(text).get(doc) || doc["webhooks"].get_array().get(list)) {
    log_(absl::StrCat("weir serve: ", path, " is damaged; starting with no registered webhooks"));
    return;
  }
  for (simdjson::dom::element e : list) {
    Webhook w;
    simdjson::dom::object o;
    std::string err = e.get_object().get(o) ? "not an object" : ReadWebhookFields(o, true, &w);
    std::unique_ptr<Executor> ex;
    if (err.empty()) err = BuildWebhook(&w, &ex);
    if (!err.empty()) {
      log_(absl::StrCat("weir serve: registered webhook '", w.id, "' skipped: ", err));
      continue;
    }
    (*executors)[WebhookRuleId(w.id)] = std::move(ex);
    webhooks_[w.id] = std::move(w);
  }
}

absl::Status ServiceImpl::ApplyRules(std::vector<RuleDef> add,
                                     const std::vector<std::string>& remove) {
  auto next = RuleSet::Update(rules_, std::move(add), remove);
  if (!next.ok()) return next.status();
  rules_ = *next;
  pipeline_->SetRules(rules_);
  return absl::OkStatus();
}

void ServiceImpl::Webhooks(absl::string_view rest, HttpRequest& r, Reply reply) {
  std::lock_guard<std::mutex> l(rules_mu_);
  auto parse = [&](simdjson::dom::parser& p, simdjson::dom::object* o) {
    simdjson::dom::element doc;
    return !p.parse(r.body).get(doc) && !doc.get_object().get(*o);
  };
  if (rest.empty()) {
    if (r.method == "GET") {
      std::string out = "{\"webhooks\":[";
      bool first = true;
      for (const auto& [id, w] : webhooks_) {
        absl::StrAppend(&out, first ? "" : ",", WebhookJson(w));
        first = false;
      }
      return reply(Json(200, out + "]}"));
    }
    if (r.method != "POST") return reply(Error(405, "/webhooks takes GET or POST"));
    simdjson::dom::parser p;
    simdjson::dom::object o;
    if (!parse(p, &o)) return reply(Error(400, "the body must be a JSON object"));
    Webhook w;
    std::string err = ReadWebhookFields(o, false, &w);
    absl::BitGen gen;
    do {
      w.id = absl::StrCat(absl::Hex(absl::Uniform<uint64_t>(gen), absl::kZeroPad16),
                          absl::Hex(absl::Uniform<uint64_t>(gen), absl::kZeroPad16));
    } while (webhooks_.count(w.id));
    w.created = absl::ToUnixMillis(absl::Now());
    std::unique_ptr<Executor> ex;
    if (err.empty()) err = BuildWebhook(&w, &ex);
    if (!err.empty()) return reply(Error(400, err));
    const std::string rid = WebhookRuleId(w.id);
    webhooks_[w.id] = w;
    if (absl::Status st = SaveRegistry(); !st.ok()) {
      webhooks_.erase(w.id);
      return reply(Error(500, st.message()));
    }
    dispatcher_->SetExecutor(rid, std::move(ex));
    if (absl::Status st = ApplyRules({w.rule}, {}); !st.ok())
      return reply(Error(500, st.message()));
    return reply(Json(201, absl::StrCat("{\"id\":", JsonString(w.id), ",\"success\":true}")));
  }
  std::vector<absl::string_view> parts = absl::StrSplit(rest, '/');
  auto it = webhooks_.find(std::string(parts[0]));
  if (it == webhooks_.end() || parts.size() > 2)
    return reply(Error(404, absl::StrCat("no webhook '", parts[0], "'")));
  Webhook& w = it->second;
  const std::string rid = WebhookRuleId(w.id);
  if (parts.size() == 1) {
    if (r.method == "GET") return reply(Json(200, WebhookJson(w)));
    if (r.method != "DELETE") return reply(Error(405, "/webhooks/ID takes GET or DELETE"));
    std::string id = w.id;
    Webhook old = w;
    webhooks_.erase(it);
    if (absl::Status st = SaveRegistry(); !st.ok()) {
      webhooks_[id] = std::move(old);
      return reply(Error(500, st.message()));
    }
    if (absl::Status st = ApplyRules({}, {rid}); !st.ok()) return reply(Error(500, st.message()));
    dispatcher_->RemoveExecutor(rid);
    return reply(Json(200, absl::StrCat("{\"id\":", JsonString(id), ",\"success\":true}")));
  }
  if (r.method != "POST") return reply(Error(405, "takes POST"));
  Webhook next = w;
  std::unique_ptr<Executor> ex;
  if (parts[1] == "update") {
    simdjson::dom::parser p;
    simdjson::dom::object o;
    if (!parse(p, &o)) return reply(Error(400, "the body must be a JSON object"));
    std::string err = ReadWebhookFields(o, false, &next);
    if (err.empty()) err = BuildWebhook(&next, &ex);
    if (!err.empty()) return reply(Error(400, err));
  } else if (parts[1] == "activate" || parts[1] == "deactivate") {
    next.active = parts[1] == "activate";
    if (std::string err = BuildWebhook(&next, &ex); !err.empty()) return reply(Error(400, err));
  } else {
    return reply(Error(404, absl::StrCat("no operation '", parts[1], "'")));
  }
  Webhook old = w;
  w = next;
  if (absl::Status st = SaveRegistry(); !st.ok()) {
    w = std::move(old);
    return reply(Error(500, st.message()));
  }
  dispatcher_->SetExecutor(rid, std::move(ex));
  if (parts[1] == "activate") dispatcher_->SetTargetActive(w.target, true);
  if (absl::Status st = ApplyRules({w.rule}, {}); !st.ok()) return reply(Error(500, st.message()));
  reply(Json(200, absl::StrCat("{\"id\":", JsonString(w.id), ",\"success\":true}")));
}

// ---- WebSocket subscriptions ----

std::optional<HttpResponse> ServiceImpl::CheckUpgrade(const HttpRequest& r) {
  if (stopping_) return Error(503, "shutting down");
  // Without tokens only loopback peers; with them the token may come later,
  // in the subscribe message.
  if (tokens_.empty() && !r.loopback_peer)
    return Error(403, "only loopback clients are served without --token-file");
  std::lock_guard<std::mutex> l(subs_mu_);
  if (conns_.size() >= options_.max_clients) return Error(503, "too many WebSocket clients");
  return std::nullopt;
}

uint64_t ServiceImpl::WsOpen(std::shared_ptr<WsPeer> peer, bool authorized) {
  std::lock_guard<std::mutex> l(subs_mu_);
  uint64_t id = ++next_conn_;
  Connection& c = conns_[id];
  c.peer = std::move(peer);
  c.authorized = authorized;
  ++ws_opened_;
  return id;
}

void ServiceImpl::WsClosed(uint64_t id) {
  std::lock_guard<std::mutex> l(subs_mu_);
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  RemoveAll(id, it->second);
  conns_.erase(it);
}

void ServiceImpl::RemoveAll(uint64_t id, Connection& c) {
  std::vector<std::string> remove(c.rules.begin(), c.rules.end());
  if (!c.jobs.empty()) remove.push_back(JobRuleId(id));
  c.jobs.clear();
  c.rules.clear();
  if (remove.empty()) return;
  auto next = RuleSet::Update(subs_, {}, remove);
  if (next.ok()) subs_ = *next;
}

std::string ServiceImpl::UpdateJobs(uint64_t id, Connection& c) {
  const std::string rid = JobRuleId(id);
  bool present = subs_->Find(rid).has_value();
  std::vector<RuleDef> add;
  std::vector<std::string> remove;
  if (c.jobs.empty()) {
    if (!present) return "";
    remove.push_back(rid);
  } else {
    RuleDef r;
    r.id = rid;
    r.dialect = "filter";
    std::vector<Predicate> preds;
    for (const auto& j : c.jobs) {
      Predicate p;
      p.kind = PredicateKind::kTextGlob;
      p.text = GlobLiteral(j);
      preds.push_back(std::move(p));
    }
    for (const auto& p : job_paths_) {
      Conjunction k;
      k.all_of.push_back(Clause{p, preds, false});
      r.condition.any_of.push_back(std::move(k));
    }
    add.push_back(std::move(r));
  }
  auto next = RuleSet::Update(subs_, std::move(add), remove);
  if (!next.ok()) return std::string(next.status().message());
  subs_ = *next;
  return "";
}

void ServiceImpl::WsMessage(uint64_t id, std::string_view text) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::object o;
  std::lock_guard<std::mutex> l(subs_mu_);
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  Connection& c = it->second;
  if (parser.parse(text.data(), text.size()).get(doc) || doc.get_object().get(o))
    return SendError(c, "a message must be one JSON object");
  std::string_view type;
  if (o["msgType"].get_string().get(type)) type = "";
  if (type == "subscribe") {
    std::string_view token;
    if (!o["token"].get_string().get(token) && !tokens_.empty()) {
      bool ok = false;
      for (const auto& t : tokens_) ok |= ConstantTimeEquals({token.data(), token.size()}, t);
      if (ok) c.authorized = true;
    }
    if (!c.authorized) {
      c.peer->Close(1008, "missing or wrong token");
      return;
    }
    std::string_view sender;
    if (!o["senderId"].get_string().get(sender)) c.sender_id = std::string(sender);
    simdjson::dom::array jobs;
    if (!o["jobIds"].get_array().get(jobs)) {
      std::set<std::string> before = c.jobs;
      for (simdjson::dom::element j : jobs) {
        std::string_view s;
        if (!j.get_string().get(s))
          c.jobs.insert(std::string(s));
        else if (j.is_number())
          c.jobs.insert(simdjson::minify(j));
        else
          return SendError(c, "jobIds must be strings");
      }
      if (std::string err = UpdateJobs(id, c); !err.empty()) {
        c.jobs = std::move(before);
        return SendError(c, err);
      }
    }
    simdjson::dom::object rule;
    if (!o["rule"].get_object().get(rule)) {
      std::string rid = absl::StrCat("ws", id, ".r", ++c.next_rule);
      std::string body = absl::StrCat("{\"id\":", JsonString(rid));
      for (auto f : rule) {
        if (f.key == "id" || f.key == "actions") continue;
        absl::StrAppend(&body, ",", JsonString(f.key), ":", simdjson::minify(f.value));
      }
      body += "}";
      LoadOptions lo;
      lo.expand_env = false;
      LoadResult lr = ParseRules({{"rule", absl::StrCat("{\"rules\":[", body, "]}")}}, lo);
      if (!lr.ok() || lr.ruleset.rules.size() != 1) {
        std::vector<std::string> m;
        for (const auto& d : lr.diagnostics) m.push_back(d.message);
        return SendError(c, absl::StrCat("rule refused: ", absl::StrJoin(m, "; ")));
      }
      auto next = RuleSet::Update(subs_, std::move(lr.ruleset.rules), {});
      if (!next.ok()) return SendError(c, next.status().message());
      subs_ = *next;
      c.rules.insert(rid);
      SendTo(c, absl::StrCat("{\"msgType\":\"subscribed\",\"subscription\":",
                             JsonString(rid.substr(rid.find('.') + 1)), "}"));
    }
    return;
  }
  if (!c.authorized) {
    c.peer->Close(1008, "subscribe with a token first");
    return;
  }
  if (type == "unsubscribe") {
    bool all = false;
    if (!o["all"].get_bool().get(all) && all) return RemoveAll(id, c);
    simdjson::dom::array jobs;
    if (!o["jobIds"].get_array().get(jobs)) {
      for (simdjson::dom::element j : jobs) {
        std::string_view s;
        if (!j.get_string().get(s))
          c.jobs.erase(std::string(s));
        else if (j.is_number())
          c.jobs.erase(simdjson::minify(j));
      }
      if (std::string err = UpdateJobs(id, c); !err.empty()) SendError(c, err);
    }
    std::string_view sub;
    if (!o["subscription"].get_string().get(sub)) {
      std::string rid = absl::StrCat("ws", id, ".", absl::string_view(sub.data(), sub.size()));
      if (c.rules.erase(rid)) {
        auto next = RuleSet::Update(subs_, {}, {rid});
        if (next.ok()) subs_ = *next;
      }
    }
    return;
  }
  // Anything else (a StepInfoResponse, ...) is an event.
  auto req = std::make_unique<IngestRequest>();
  req->body = std::string(text);
  if (stopping_ || !source_.Push(std::move(req)))
    SendError(c, "the server is busy; message not taken");
}

void ServiceImpl::Reload() {
  LoadResult loaded = LoadRuleFiles(options_.rule_files);
  auto fail = [&](const std::vector<Diagnostic>& diags, absl::string_view extra) {
    ++reloads_failed_;
    for (const auto& d : diags) log_(absl::StrCat("weir serve: ", d.ToString()));
    if (!extra.empty()) log_(absl::StrCat("weir serve: ", extra));
    log_("weir serve: reload refused; the running rules are kept");
  };
  if (!loaded.ok()) return fail(loaded.diagnostics, "");
  ExecutorRegistry::Executors ex = executors_.CreateAll(loaded.ruleset.actions);
  if (!ex.ok()) return fail(ex.diagnostics, "");
  std::lock_guard<std::mutex> l(rules_mu_);
  std::vector<RuleDef> all = loaded.ruleset.rules;
  for (const auto& [id, w] : webhooks_) all.push_back(w.rule);
  auto compiled = RuleSet::Compile(std::move(all));
  if (!compiled.ok()) return fail({}, compiled.status().message());
  std::set<std::string> names;
  for (auto& [name, e] : ex.by_action) {
    names.insert(name);
    dispatcher_->SetExecutor(name, std::move(e));
  }
  for (const auto& old : file_actions_)
    if (!names.count(old)) dispatcher_->RemoveExecutor(old);
  file_actions_ = std::move(names);
  file_rules_ = std::move(loaded.ruleset.rules);
  sources_ = std::move(loaded.sources);
  rules_ = *compiled;
  pipeline_->SetRules(rules_);
  ++reloads_ok_;
  log_(absl::StrCat("weir serve: reloaded ", file_rules_.size(), " rules"));
}

void ServiceImpl::Shutdown() {
  if (stopping_.exchange(true)) return;
  source_.Close();
  if (pipeline_thread_.joinable()) pipeline_thread_.join();
  absl::Time deadline = absl::Now() + absl::Seconds(options_.drain_seconds);
  (void)dispatcher_->Drain(deadline);
  dispatcher_->Stop(absl::Now() + absl::Seconds(1));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Service>> Service::Start(const ServeOptions& options, Log log) {
  auto s = std::make_unique<ServiceImpl>(options, std::move(log));
  if (absl::Status st = s->Init(); !st.ok()) return st;
  return std::unique_ptr<Service>(std::move(s));
}

}  // namespace weir::serve
