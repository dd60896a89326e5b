#include "nats/client.h"

#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace weir::nats {

int64_t ToNanos(absl::Duration d) { return absl::ToInt64Nanoseconds(d); }
int64_t ToMillis(absl::Duration d) { return absl::ToInt64Milliseconds(d); }

namespace {

// "nats://" (or tls://, ...) and the rest; no scheme: nats://.
std::pair<absl::string_view, absl::string_view> SplitScheme(absl::string_view u) {
  size_t p = u.find("://");
  if (p == absl::string_view::npos) return {"nats://", u};
  return {u.substr(0, p + 3), u.substr(p + 3)};
}

}  // namespace

std::string RedactUrl(std::string_view url) {
  std::string out;
  for (absl::string_view one : absl::StrSplit(Av(url), ',')) {
    if (!out.empty()) out += ',';
    auto [scheme, rest] = SplitScheme(absl::StripAsciiWhitespace(one));
    size_t at = rest.rfind('@');
    if (at != absl::string_view::npos) {
      absl::StrAppend(&out, scheme, "***@", rest.substr(at + 1));
    } else {
      absl::StrAppend(&out, scheme, rest);
    }
  }
  return out;
}

absl::StatusOr<ParsedUrl> ParseUrl(std::string_view url) {
  ParsedUrl p;
  for (absl::string_view one : absl::StrSplit(Av(url), ',', absl::SkipWhitespace())) {
    one = absl::StripAsciiWhitespace(one);
    auto [scheme, rest] = SplitScheme(one);
    if (scheme != "nats://" && scheme != "tls://")
      return absl::InvalidArgumentError(
          absl::StrCat("a NATS server is nats://HOST:PORT, not ", RedactUrl(Sv(one))));
    size_t at = rest.rfind('@');
    if (at != absl::string_view::npos) {
      absl::string_view cred = rest.substr(0, at);
      if (p.user.empty() && p.token.empty()) {
        size_t colon = cred.find(':');
        if (colon == absl::string_view::npos) {
          p.token = std::string(cred);
        } else {
          p.user = std::string(cred.substr(0, colon));
          p.password = std::string(cred.substr(colon + 1));
        }
      }
      rest = rest.substr(at + 1);
    }
    if (rest.empty() || rest.find('/') != absl::string_view::npos)
      return absl::InvalidArgumentError(
          absl::StrCat("a NATS server is nats://HOST:PORT, not ", RedactUrl(Sv(one))));
    p.servers.push_back(absl::StrCat(scheme, rest));
  }
  if (p.servers.empty()) return absl::InvalidArgumentError("no NATS server given");
  return p;
}

struct Client::Hub {
  std::mutex mu;
  Client* client = nullptr;  // null once the Client is being destroyed
};

// Every hub ever made, kept reachable (a handful per process).
Client::Hub* Client::NewHub(Client* c) {
  static std::mutex mu;
  static auto* hubs = new std::vector<std::unique_ptr<Client::Hub>>();
  std::lock_guard<std::mutex> l(mu);
  hubs->push_back(std::make_unique<Client::Hub>());
  hubs->back()->client = c;
  return hubs->back().get();
}

Client::~Client() {
  closing_ = true;
  if (hub_) {
    std::lock_guard<std::mutex> l(hub_->mu);
    hub_->client = nullptr;  // waits for a callback that is running
  }
  if (acks_) natsSubscription_Destroy(acks_);
  if (js_) jsCtx_Destroy(js_);
  if (nc_) {
    natsConnection_Close(nc_);
    natsConnection_Destroy(nc_);
  }
}

void Client::Log(std::string_view message) const {  // NOLINT
  if (options_.log) {
    options_.log(message);
  } else {
    fprintf(stderr, "weir: %.*s\n", static_cast<int>(message.size()), message.data());
  }
}

absl::Status Client::Error(std::string_view what, natsStatus s, jsErrCode code) const {
  std::string m = absl::StrCat(Av(what), " (NATS ", url_, "): ", natsStatus_GetText(s));
  if (code != 0) absl::StrAppend(&m, ", JetStream error ", static_cast<int>(code));
  if (s == NATS_TIMEOUT || s == NATS_NO_SERVER || s == NATS_CONNECTION_CLOSED ||
      s == NATS_CONNECTION_DISCONNECTED || s == NATS_NOT_YET_CONNECTED)
    return absl::UnavailableError(m);
  return absl::InternalError(m);
}

void Client::OnDisconnected(natsConnection*, void* self) {
  auto* hub = static_cast<Hub*>(self);
  std::lock_guard<std::mutex> l(hub->mu);
  Client* c = hub->client;
  // Also called on a normal close: say nothing then.
  if (!c || c->closing_) return;
  c->Log(absl::StrCat("lost the connection to NATS ", c->url_, "; reconnecting"));
}

void Client::OnReconnected(natsConnection*, void* self) {
  auto* hub = static_cast<Hub*>(self);
  std::lock_guard<std::mutex> l(hub->mu);
  Client* c = hub->client;
  if (!c) return;
  c->Log(absl::StrCat("connected to NATS ", c->url_, " again"));
}

void Client::OnError(natsConnection*, natsSubscription*, natsStatus err, void* self) {
  auto* hub = static_cast<Hub*>(self);
  std::lock_guard<std::mutex> l(hub->mu);
  Client* c = hub->client;
  if (!c) return;
  // Slow-consumer and similar asynchronous errors: nothing is lost that
  // JetStream does not redeliver; say so once per occurrence.
  c->Log(absl::StrCat("NATS ", c->url_, ": ", natsStatus_GetText(err)));
}

int64_t Client::ReconnectDelay(natsConnection*, int attempts, void* self) {
  auto* hub = static_cast<Hub*>(self);
  int64_t base = 250;
  {
    std::lock_guard<std::mutex> l(hub->mu);
    if (hub->client) base = std::max<int64_t>(1, ToMillis(hub->client->options_.reconnect_wait));
  }
  // Exponential from reconnect_wait, capped at 4 s, with some jitter so a
  // fleet does not come back in lockstep.
  int shift = std::min(attempts, 8);
  int64_t d = std::min<int64_t>(base << shift, 4000);
  return d / 2 + (absl::ToUnixNanos(absl::Now()) % (d / 2 + 1));
}

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(const ConnectOptions& options) {
  absl::StatusOr<ParsedUrl> parsed = ParseUrl(options.url);
  if (!parsed.ok()) return parsed.status();
  std::unique_ptr<Client> c(new Client());
  c->options_ = options;
  c->url_ = RedactUrl(options.url);
  c->hub_ = NewHub(c.get());

  natsOptions* o = nullptr;
  if (natsOptions_Create(&o) != NATS_OK) return absl::ResourceExhaustedError("out of memory");
  std::unique_ptr<natsOptions, void (*)(natsOptions*)> guard(o, natsOptions_Destroy);
  std::vector<const char*> servers;
  for (const std::string& s : parsed->servers) servers.push_back(s.c_str());
  natsStatus s = natsOptions_SetServers(o, servers.data(), static_cast<int>(servers.size()));
  if (s == NATS_OK && !parsed->user.empty())
    s = natsOptions_SetUserInfo(o, parsed->user.c_str(), parsed->password.c_str());
  if (s == NATS_OK && !parsed->token.empty()) s = natsOptions_SetToken(o, parsed->token.c_str());
  if (s == NATS_OK && !options.creds_file.empty())
    s = natsOptions_SetUserCredentialsFromFiles(o, options.creds_file.c_str(), nullptr);
  if (s != NATS_OK) return c->Error("bad connection settings", s);
  if (!options.name.empty()) natsOptions_SetName(o, options.name.c_str());
  natsOptions_SetMaxReconnect(o, -1);
  natsOptions_SetReconnectWait(o, std::max<int64_t>(1, ToMillis(options.reconnect_wait)));
  natsOptions_SetCustomReconnectDelay(o, &Client::ReconnectDelay, c->hub_);
  // Acks and publishes made while disconnected wait here (cnats' default is
  // 8 MB); what does not fit fails and is retried or redelivered.
  natsOptions_SetReconnectBufSize(o, 32 << 20);
  natsOptions_SetPingInterval(o, 2000);
  natsOptions_SetMaxPingsOut(o, 3);
  natsOptions_SetDisconnectedCB(o, &Client::OnDisconnected, c->hub_);
  natsOptions_SetReconnectedCB(o, &Client::OnReconnected, c->hub_);
  natsOptions_SetErrorHandler(o, &Client::OnError, c->hub_);

  // A first try without retries, so that an unreachable server is said
  // once; then wait for it (it may be starting).
  s = natsConnection_Connect(&c->nc_, o);
  if (s != NATS_OK) {
    if (s != NATS_NO_SERVER) return c->Error("cannot connect", s);
    c->Log(absl::StrCat("cannot reach NATS ", c->url_, "; waiting for it"));
    natsOptions_SetRetryOnFailedConnect(o, true, nullptr, nullptr);
    s = natsConnection_Connect(&c->nc_, o);
    if (s != NATS_OK) return c->Error("cannot connect", s);
  }
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = 5000;
  jo.PublishAsync.MaxPending = 4096;
  s = natsConnection_JetStream(&c->js_, c->nc_, &jo);
  if (s != NATS_OK) return c->Error("no JetStream context", s);
  return c;
}

absl::Status Client::CheckStream(const std::string& stream) const {
  jsStreamInfo* si = nullptr;
  jsErrCode code = jsErrCode(0);
  for (int attempt = 0;; ++attempt) {
    natsStatus s = js_GetStreamInfo(&si, js_, stream.c_str(), nullptr, &code);
    if (s == NATS_OK) {
      jsStreamInfo_Destroy(si);
      return absl::OkStatus();
    }
    if (s == NATS_NOT_FOUND || code == JSStreamNotFoundErr)
      return absl::NotFoundError(absl::StrCat("no stream '", stream, "' on NATS ", url_,
                                              " (create it first, e.g. nats stream add ", stream,
                                              " --subjects ...)"));
    if (s == NATS_TIMEOUT && attempt < 2) continue;
    if (s == NATS_NO_RESPONDERS || s == NATS_TIMEOUT)
      return absl::UnavailableError(absl::StrCat(
          "NATS ", url_, " does not answer JetStream requests (is it running with -js?)"));
    return Error(absl::StrCat("cannot look up stream '", stream, "'"), s, code);
  }
}

absl::Status Client::EnsureStream(const std::string& stream,
                                  const std::vector<std::string>& subjects,
                                  absl::Duration duplicate_window) const {
  absl::Status st = CheckStream(stream);
  if (!absl::IsNotFound(st)) return st;
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = stream.c_str();
  std::vector<const char*> subj;
  for (const std::string& s : subjects) subj.push_back(s.c_str());
  cfg.Subjects = subj.data();
  cfg.SubjectsLen = static_cast<int>(subj.size());
  cfg.Storage = js_FileStorage;
  cfg.Duplicates = ToNanos(duplicate_window);
  jsStreamInfo* si = nullptr;
  jsErrCode code = jsErrCode(0);
  natsStatus s = js_AddStream(&si, js_, &cfg, nullptr, &code);
  if (s == NATS_OK) {
    jsStreamInfo_Destroy(si);
    Log(absl::StrCat("created stream '", stream, "' on NATS ", url_));
    return absl::OkStatus();
  }
  // Another worker may have created it at the same moment.
  if (CheckStream(stream).ok()) return absl::OkStatus();
  return Error(absl::StrCat("cannot create stream '", stream, "'"), s, code);
}

absl::Status Client::EnsureConsumer(const std::string& stream, const std::string& consumer,
                                    const std::string& filter_subject,
                                    const ConsumerDefaults& d) const {
  if (absl::Status st = CheckStream(stream); !st.ok()) return st;
  jsConsumerInfo* ci = nullptr;
  jsErrCode code = jsErrCode(0);
  natsStatus s = js_GetConsumerInfo(&ci, js_, stream.c_str(), consumer.c_str(), nullptr, &code);
  if (s == NATS_OK) {
    jsConsumerInfo_Destroy(ci);
    return absl::OkStatus();
  }
  if (s != NATS_NOT_FOUND && code != JSConsumerNotFoundErr)
    return Error(absl::StrCat("cannot look up consumer '", consumer, "' of stream '", stream, "'"),
                 s, code);
  jsConsumerConfig cfg;
  jsConsumerConfig_Init(&cfg);
  cfg.Durable = consumer.c_str();
  cfg.AckPolicy = js_AckExplicit;
  cfg.DeliverPolicy = js_DeliverAll;
  cfg.AckWait = ToNanos(d.ack_wait);
  cfg.MaxAckPending = d.max_ack_pending;
  cfg.MaxDeliver = d.max_deliver;
  if (!filter_subject.empty()) cfg.FilterSubject = filter_subject.c_str();
  s = js_AddConsumer(&ci, js_, stream.c_str(), &cfg, nullptr, &code);
  if (s == NATS_OK) {
    jsConsumerInfo_Destroy(ci);
    Log(absl::StrCat("created consumer '", consumer, "' of stream '", stream, "'"));
    return absl::OkStatus();
  }
  // Created by another worker in the meantime?
  if (js_GetConsumerInfo(&ci, js_, stream.c_str(), consumer.c_str(), nullptr, nullptr) == NATS_OK) {
    jsConsumerInfo_Destroy(ci);
    return absl::OkStatus();
  }
  return Error(absl::StrCat("cannot create consumer '", consumer, "' of stream '", stream, "'"), s,
               code);
}

absl::StatusOr<std::unique_ptr<Puller>> Puller::Bind(const Client& client,
                                                     const std::string& stream,
                                                     const std::string& consumer) {
  jsConsumerInfo* ci = nullptr;
  jsErrCode code = jsErrCode(0);
  natsStatus s =
      js_GetConsumerInfo(&ci, client.js(), stream.c_str(), consumer.c_str(), nullptr, &code);
  if (s != NATS_OK)
    return client.Error(
        absl::StrCat("cannot bind to consumer '", consumer, "' of stream '", stream, "'"), s, code);
  bool push = ci->Config && ci->Config->DeliverSubject && *ci->Config->DeliverSubject;
  jsConsumerInfo_Destroy(ci);
  if (push)
    return absl::FailedPreconditionError(
        absl::StrCat("consumer '", consumer, "' of stream '", stream,
                     "' is a push consumer; weir needs a pull consumer"));
  std::unique_ptr<Puller> p(new Puller());
  p->nc_ = client.nc();
  p->next_subject_ = absl::StrCat("$JS.API.CONSUMER.MSG.NEXT.", stream, ".", consumer);
  natsInbox* inbox = nullptr;
  if (natsInbox_Create(&inbox) != NATS_OK) return absl::ResourceExhaustedError("out of memory");
  p->inbox_ = inbox;
  natsInbox_Destroy(inbox);
  s = natsConnection_SubscribeSync(&p->sub_, p->nc_, absl::StrCat(p->inbox_, ".*").c_str());
  if (s != NATS_OK) return client.Error("cannot subscribe to an inbox", s);
  // The inbox holds only what was asked for (bounded batches): no limit
  // on our side, so nothing asked for is dropped as a slow consumer.
  natsSubscription_SetPendingLimits(p->sub_, -1, -1);
  return p;
}

Puller::~Puller() {
  if (!sub_) return;
  // Messages still queued were delivered to us and are not acknowledged:
  // the server redelivers them after the ack wait.
  natsSubscription_Unsubscribe(sub_);
  natsSubscription_Destroy(sub_);
}

void Puller::Reply(natsMsg* m, const char* what) const {
  const char* reply = natsMsg_GetReply(m);
  // A message that did not come from JetStream has nothing to settle. A
  // reply that does not reach the server (disconnected) only means a
  // redelivery after the ack wait.
  if (reply && std::strncmp(reply, "$JS.ACK.", 8) == 0)
    natsConnection_PublishString(nc_, reply, what);
}

namespace {

// The status of a JetStream control message (no data, a Status header), or
// nullptr for a message to deliver.
const char* StatusOf(natsMsg* m) {
  if (natsMsg_GetDataLength(m) > 0) return nullptr;
  const char* v = nullptr;
  if (natsMsgHeader_Get(m, "Status", &v) != NATS_OK || !v) return nullptr;
  return v;
}

}  // namespace

natsStatus Puller::Request(std::vector<natsMsg*>* out, size_t want, bool one_shot, int64_t deadline,
                           std::string* error, bool* others_first) {
  std::string reply = absl::StrCat(inbox_, ".", ++requests_);
  char body[96];
  int64_t left = deadline - nats_Now();
  // The server ends the request a little before we stop waiting for it, so
  // its 408 normally arrives (as cnats does it).
  int64_t expires = std::max<int64_t>(1, left >= 20 ? left - 10 : left) * 1000000;
  int n = std::snprintf(body, sizeof body, "{\"batch\":%zu,\"expires\":%lld%s}", want,
                        static_cast<long long>(expires), one_shot ? ",\"no_wait\":true" : "");
  natsStatus s = natsConnection_PublishRequest(nc_, next_subject_.c_str(), reply.c_str(), body, n);
  if (s != NATS_OK) return s;
  size_t got = 0;
  // The deadline ends the request if its 408 is late or never comes (the
  // connection dropped); a 408 that comes later is dropped as not ours.
  while (got < want) {
    int64_t wait = deadline - nats_Now();
    if (wait <= 0) break;
    natsMsg* m = nullptr;
    s = natsSubscription_NextMsg(&m, sub_, wait);
    if (s == NATS_TIMEOUT) break;
    if (s != NATS_OK) return s;
    const char* status = StatusOf(m);
    if (!status) {
      out->push_back(m);
      ++got;
      continue;
    }
    // Control messages of earlier requests (their 408 after we gave up)
    // and heartbeats say nothing about this one.
    bool ours = reply == natsMsg_GetSubject(m);
    std::string code(status, std::min<size_t>(3, std::strlen(status)));
    if (ours && code != "100") {
      natsStatus r = NATS_OK;
      if (code == "404") {
        r = NATS_NOT_FOUND;  // no_wait and nothing there
      } else if (code == "408") {
        r = NATS_TIMEOUT;  // expired, or a one-shot request served
        const char* d = nullptr;
        if (others_first && natsMsgHeader_Get(m, "Description", &d) == NATS_OK && d &&
            std::strcmp(d, "Requests Pending") == 0)
          *others_first = true;
      } else if (code == "503") {
        r = NATS_NO_RESPONDERS;  // JetStream not (yet) there: a server restarting
      } else {
        const char* d = nullptr;
        natsMsgHeader_Get(m, "Description", &d);
        if (error) *error = absl::StrCat(code, " ", d ? d : "");
        r = NATS_ERR;
      }
      natsMsg_Destroy(m);
      return r;
    }
    natsMsg_Destroy(m);
  }
  return NATS_TIMEOUT;
}

natsStatus Puller::Fetch(std::vector<natsMsg*>* out, int batch, int64_t wait_ms,
                         std::string* error) {
  size_t want = static_cast<size_t>(std::max(1, batch));
  size_t start = out->size();
  // First what is already here: late messages of an earlier request.
  int pending = 0;
  if (natsSubscription_GetPending(sub_, &pending, nullptr) == NATS_OK) {
    while (pending-- > 0 && out->size() - start < want) {
      natsMsg* m = nullptr;
      if (natsSubscription_NextMsg(&m, sub_, 0) != NATS_OK) break;
      if (StatusOf(m)) {
        natsMsg_Destroy(m);
      } else {
        out->push_back(m);
      }
    }
  }
  if (out->size() > start) return NATS_OK;
  // A request made while disconnected would wait in cnats' reconnect
  // buffer and, with those of every later call, be served at once on
  // reconnecting: more messages than asked for, their ack wait running.
  if (natsConnection_Status(nc_) != NATS_CONN_STATUS_CONNECTED)
    return natsConnection_IsClosed(nc_) ? NATS_CONNECTION_CLOSED : NATS_CONNECTION_DISCONNECTED;
  int64_t deadline = nats_Now() + std::max<int64_t>(1, wait_ms);
  // One-shot (no_wait with expires): the server answers as soon as it has
  // sent anything, or waits up to the deadline for the first message; as
  // cnats' natsSubscription_Fetch asks. When other workers' requests
  // already wait for all there is, it refuses at once ("Requests Pending"):
  // then wait our turn with a request that holds until the deadline.
  bool others_first = false;
  natsStatus s = Request(out, want, true, deadline, error, &others_first);
  if (others_first && out->size() == start && nats_Now() < deadline)
    s = Request(out, want, false, deadline, error, nullptr);
  if (out->size() > start) return NATS_OK;
  if (s == NATS_TIMEOUT || s == NATS_NOT_FOUND) return NATS_OK;
  return s;
}

absl::Status Client::PublishAll(const std::vector<Out>& msgs,
                                const std::atomic<bool>* interrupted) {
  // Each message is a core publish with a reply subject of our own inbox;
  // JetStream answers there with its ack ({"stream":..,"seq":..}) or an
  // error. Not js_PublishMsgAsync: with cnats 3.4.1 a message the library
  // owns was freed twice now and then (a pub ack racing the publish call).
  if (!acks_) {
    char* inbox = nullptr;
    if (natsInbox_Create(&inbox) != NATS_OK) return absl::ResourceExhaustedError("out of memory");
    inbox_ = inbox;
    natsInbox_Destroy(inbox);
    natsStatus s = natsConnection_SubscribeSync(&acks_, nc_, (inbox_ + ".>").c_str());
    if (s != NATS_OK) return Error("cannot subscribe to publish acknowledgements", s);
    natsSubscription_SetPendingLimits(acks_, -1, -1);
  }
  std::vector<size_t> todo(msgs.size());
  for (size_t i = 0; i < todo.size(); ++i) todo[i] = i;
  absl::Duration backoff = absl::Milliseconds(50);
  absl::Time last_complaint = absl::InfinitePast();
  while (!todo.empty()) {
    std::string prefix = absl::StrCat(inbox_, ".", ++round_, ".");
    std::vector<char> acked(msgs.size(), 0);
    for (size_t i : todo) {
      const Out& o = msgs[i];
      std::string reply = absl::StrCat(prefix, i);
      natsMsg* m = nullptr;
      natsStatus s = natsMsg_Create(&m, o.subject.c_str(), reply.c_str(), o.data.data(),
                                    static_cast<int>(o.data.size()));
      if (s == NATS_OK) s = natsMsgHeader_Set(m, "Nats-Msg-Id", o.id.c_str());
      for (const auto& [k, v] : o.headers)
        if (s == NATS_OK) s = natsMsgHeader_Set(m, k, v.c_str());
      if (s == NATS_OK) s = natsConnection_PublishMsg(nc_, m);
      natsMsg_Destroy(m);
      if (s == NATS_MAX_PAYLOAD)
        return Error(absl::StrCat("cannot publish to ", o.subject, " (", o.data.size(),
                                  " bytes; over the server's max_payload)"),
                     s);
    }
    natsConnection_Flush(nc_);
    size_t want = todo.size(), got = 0;
    absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (got < want) {
      int64_t left = ToMillis(deadline - absl::Now());
      if (left <= 0) break;
      natsMsg* r = nullptr;
      natsStatus s = natsSubscription_NextMsg(&r, acks_, left);
      if (s != NATS_OK) {
        if (s == NATS_TIMEOUT) break;
        absl::SleepFor(absl::Milliseconds(20));
        continue;
      }
      std::string_view subj = natsMsg_GetSubject(r);
      std::string_view body(natsMsg_GetData(r) ? natsMsg_GetData(r) : "", natsMsg_GetDataLength(r));
      size_t idx = 0;
      if (subj.substr(0, prefix.size()) == prefix &&
          absl::SimpleAtoi(Av(subj.substr(prefix.size())), &idx) && idx < acked.size() &&
          !acked[idx]) {
        // An ack names the stream; an error (or a 503 "no responders" with
        // an empty body) is sent again.
        if (body.find("\"error\"") == std::string_view::npos &&
            body.find("\"stream\"") != std::string_view::npos) {
          acked[idx] = 1;
          ++got;
        }
      }
      natsMsg_Destroy(r);
    }
    std::vector<size_t> again;
    for (size_t i : todo)
      if (!acked[i]) again.push_back(i);
    todo.swap(again);
    if (todo.empty()) break;
    if (interrupted && interrupted->load())
      return absl::CancelledError(absl::StrCat(todo.size(), " publishes not confirmed"));
    if (absl::Now() - last_complaint > absl::Seconds(10)) {
      Log(absl::StrCat(todo.size(), " publishes to JetStream not confirmed by NATS ", url_,
                       "; sending them again"));
      last_complaint = absl::Now();
    }
    WaitConnected(absl::Seconds(5));
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(2));
  }
  return absl::OkStatus();
}

void Client::WaitConnected(absl::Duration d) const {
  absl::Time end = absl::Now() + d;
  while (!connected() && absl::Now() < end) absl::SleepFor(absl::Milliseconds(20));
}

}  // namespace weir::nats
