// The outbox on JetStream: the record of matched actions is a stream
// (STREAM.actions, one message per (event, rule, action), its delivery id as
// Nats-Msg-Id), and delivery workers share one durable consumer of it. The
// stream, not a local disk, holds what is pending, so any worker delivers and
// a worker that dies loses nothing.
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nats/client.h"

namespace weir::nats {
namespace {

std::string ActionsSubject(const std::string& stream) { return stream + ".actions"; }
std::string DeadSubject(const std::string& stream) { return stream + ".dead"; }

// An action record: the delivery id, rule id, action name and match time
// (Unix ms), one a line, then the event's bytes. In the body rather than in
// headers: cnats 3.4 has crashed here freeing the headers of fetched
// messages, and one header (Nats-Msg-Id) is all JetStream needs.
std::string EncodeRecord(std::string_view id, std::string_view rule, std::string_view action,
                         std::string_view matched_at_ms, std::string_view event) {
  std::string b;
  b.reserve(id.size() + rule.size() + action.size() + matched_at_ms.size() + event.size() + 4);
  for (std::string_view f : {id, rule, action, matched_at_ms}) {
    b.append(f.data(), f.size());
    b.push_back('\n');
  }
  b.append(event.data(), event.size());
  return b;
}

bool DecodeRecord(std::string_view body, std::string* id, std::string* rule, std::string* action,
                  int64_t* matched_at_ms, std::string* event) {
  std::string* fields[] = {id, rule, action};
  for (std::string* f : fields) {
    size_t nl = body.find('\n');
    if (nl == std::string_view::npos) return false;
    f->assign(body.data(), nl);
    body.remove_prefix(nl + 1);
  }
  size_t nl = body.find('\n');
  if (nl == std::string_view::npos) return false;
  if (!absl::SimpleAtoi(Av(body.substr(0, nl)), matched_at_ms)) *matched_at_ms = 0;
  body.remove_prefix(nl + 1);
  event->assign(body.data(), body.size());
  return true;
}

// The key-value bucket of deactivated targets: STREAM_TARGETS, one key per
// target (a hash of its name: bucket keys allow few characters), the value
// its name, the reason and the time.
std::string TargetsBucket(const std::string& stream) { return stream + "_TARGETS"; }

std::string TargetKey(std::string_view target) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : target) h = (h ^ c) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

absl::Status OpenTargetsBucket(const Client& c, const std::string& bucket, kvStore** kv) {
  natsStatus s = js_KeyValue(kv, c.js(), bucket.c_str());
  if (s == NATS_NOT_FOUND) {
    kvConfig cfg;
    kvConfig_Init(&cfg);
    cfg.Bucket = bucket.c_str();
    cfg.History = 1;
    cfg.StorageType = js_FileStorage;
    s = js_CreateKeyValue(kv, c.js(), &cfg);
    if (s != NATS_OK) s = js_KeyValue(kv, c.js(), bucket.c_str());  // made by another worker
  }
  if (s != NATS_OK) {
    *kv = nullptr;
    return c.Error(absl::StrCat("cannot open key-value bucket '", bucket, "'"), s);
  }
  return absl::OkStatus();
}

absl::Status EnsureActionsStream(const Client& c, const OutboxOptions& o) {
  return c.EnsureStream(o.stream, {ActionsSubject(o.stream), DeadSubject(o.stream)},
                        o.duplicate_window);
}

class Outbox : public Sink {
 public:
  Outbox(const OutboxOptions& o, std::unique_ptr<Client> c)
      : options_(o), client_(std::move(c)), subject_(ActionsSubject(o.stream)) {}

  // Delivery ids hash the event: computed on the matching thread, one per
  // line of `prepared`, in the order OnBatch walks the matches.
  void Prepare(BatchResult* r) override {
    const std::string& input = r->source->name();
    for (const Match& m : r->matches) {
      for (uint32_t slot : m.rules) {
        const RuleDef& rule = r->rules->rule(slot);
        for (const std::string& action : rule.actions) {
          absl::StrAppend(&r->prepared, DeliveryId(input, m.position, m.event, rule.id, action),
                          "\n");
        }
      }
    }
  }

  absl::Status OnBatch(const BatchResult& r) override {
    // Bad events are the caller's to report (weir run prints them).
    std::vector<Client::Out> out;
    std::string now = absl::StrCat(absl::ToUnixMillis(absl::Now()));
    std::string_view ids = r.prepared;
    bodies_.clear();
    for (const Match& m : r.matches) {
      for (uint32_t slot : m.rules) {
        const RuleDef& rule = r.rules->rule(slot);
        for (const std::string& action : rule.actions) {
          size_t nl = ids.find('\n');
          Client::Out o;
          o.subject = subject_;
          o.id = std::string(ids.substr(0, nl));
          ids.remove_prefix(nl + 1);
          bodies_.push_back(EncodeRecord(o.id, rule.id, action, now, m.event));
          out.push_back(std::move(o));
        }
      }
    }
    for (size_t i = 0; i < out.size(); ++i) out[i].data = bodies_[i];
    if (out.empty()) return absl::OkStatus();
    return client_->PublishAll(out, nullptr);
  }

 private:
  OutboxOptions options_;
  std::unique_ptr<Client> client_;
  std::string subject_;
  std::vector<std::string> bodies_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Sink>> MakeOutbox(const OutboxOptions& options) {
  ConnectOptions co = options.connect;
  if (co.name.empty()) co.name = absl::StrCat("weir outbox ", options.stream);
  absl::StatusOr<std::unique_ptr<Client>> c = Client::Connect(co);
  if (!c.ok()) return c.status();
  if (absl::Status st = EnsureActionsStream(**c, options); !st.ok()) return st;
  return std::unique_ptr<Sink>(new Outbox(options, *std::move(c)));
}

// ---------------------------------------------------------------------------
// Delivery workers.

struct DeliveryWorker::Impl {
  struct Job;
  struct Target {
    std::string key;     // Executor::target(): never a secret
    std::string kv_key;  // its key in the targets bucket
    int concurrency = 1;
    double rate = 0;
    int in_flight = 0;
    absl::Time next_start = absl::InfinitePast();
    std::deque<Job*> waiting;
    // In `ready` or `rate_wait`: has waiting jobs and may start one.
    bool in_ready = false;
    DeactivationPolicy policy;
    std::deque<absl::Time> failures;  // failed for good on this worker, oldest first
    bool deactivated = false;
    absl::Time checked = absl::InfinitePast();  // when `deactivated` was read from the bucket
  };
  // One fetched action message, from fetch to ack.
  struct Job {
    natsMsg* msg = nullptr;
    uint64_t seq = 0;  // the message's stream sequence
    std::string id, rule, action, event;
    int attempt = 1;
    bool dead = false;  // waiting to be stored as a dead letter again
    absl::Time matched_at;
    Executor* executor = nullptr;
    Target* target = nullptr;
    absl::Time last_progress;
    Outcome outcome;
  };
  // Completions come from executors' threads; shared so a late callback
  // after Stop() finds it alive.
  struct Completions {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<Job*> done;
    std::set<Job*> started;    // handed to an executor, `done` not yet called
    uint64_t extra_calls = 0;  // `done` called again for one delivery: ignored
  };

  DeliveryOptions options;
  std::unique_ptr<Client> client;
  std::unique_ptr<Puller> puller;
  std::map<std::string, std::unique_ptr<Executor>> executors;
  std::map<std::string, Target> targets;
  // Targets that can start a delivery now, and those held back by their
  // rate until a time: what starts deliveries never walks all targets.
  std::deque<Target*> ready;
  std::multimap<absl::Time, Target*> rate_wait;
  // Deactivated targets, shared by all workers (docs/scale-out.md).
  kvStore* kv = nullptr;
  std::string bucket;
  std::set<Job*> jobs;                      // every live job (waiting, in flight or to retry)
  std::unordered_map<uint64_t, Job*> held;  // jobs by stream sequence
  // Stream sequences acknowledged lately, oldest first: a copy of one of
  // these that comes back is acknowledged again and not carried out.
  std::unordered_set<uint64_t> acked;
  std::deque<uint64_t> acked_order;
  static constexpr size_t kAckedKept = 65536;
  uint64_t copies = 0;                       // duplicate copies the server sent, ignored
  std::multimap<absl::Time, Job*> retry_at;  // failed, started again when due
  std::atomic<int> in_flight{0};
  std::shared_ptr<Completions> completions = std::make_shared<Completions>();
  std::atomic<bool> stop{false};
  std::thread thread;
  absl::Duration progress_every;

  mutable std::mutex stats_mu;
  DeliveryStats stats;

  void Log(std::string_view m) const {
    if (options.log) {
      options.log(m);
    } else {
      client->Log(m);
    }
  }

  void Loop() {
    absl::Time last_complaint = absl::InfinitePast();
    while (!stop.load()) {
      Finish();
      RetryDue(absl::Now());
      StartWaiting();
      KeepAlive();
      int room = options.max_in_flight - static_cast<int>(jobs.size());
      // Fetch for a sizeable batch: a request per few free slots costs
      // more round trips than the deliveries it starts.
      if (room < std::min(64, options.max_in_flight)) {
        std::unique_lock<std::mutex> l(completions->mu);
        completions->cv.wait_for(l, std::chrono::milliseconds(10),
                                 [&] { return !completions->done.empty() || stop.load(); });
        continue;
      }
      // Short when deliveries are in flight, so completions are acked soon.
      int64_t wait = jobs.empty() ? 200 : 20;
      std::vector<natsMsg*> msgs;
      std::string error;
      natsStatus s = puller->Fetch(&msgs, std::min(room, 256), wait, &error);
      for (natsMsg* m : msgs) Take(m);
      if (s == NATS_OK || !msgs.empty()) continue;
      if (s == NATS_CONNECTION_CLOSED || s == NATS_INVALID_SUBSCRIPTION) {
        Log(absl::StrCat("delivery worker stopped: ", natsStatus_GetText(s)));
        return;
      }
      if (absl::Now() - last_complaint > absl::Seconds(10) && client->connected()) {
        Log(absl::StrCat("fetching actions failed (", error.empty() ? natsStatus_GetText(s) : error,
                         "); retrying"));
        last_complaint = absl::Now();
      }
      client->WaitConnected(absl::Milliseconds(200));
    }
  }

  void Take(natsMsg* m) {
    auto* j = new Job;
    j->msg = m;
    const char* d = natsMsg_GetData(m);
    std::string_view body(d ? d : "", d ? natsMsg_GetDataLength(m) : 0);
    int64_t ms = 0;
    bool ok = DecodeRecord(body, &j->id, &j->rule, &j->action, &ms, &j->event);
    j->matched_at = ms > 0 ? absl::FromUnixMillis(ms) : absl::Now();
    jsMsgMetaData* meta = nullptr;
    uint64_t seq = 0;
    if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
      seq = meta->Sequence.Stream;
      j->attempt = static_cast<int>(std::min<uint64_t>(meta->NumDelivered, 1 << 30));
      jsMsgMetaData_Destroy(meta);
    }
    j->seq = seq;
    j->last_progress = absl::Now();
    // A second copy of a message this worker holds or has just settled.
    // nats-server 2.9 sends one when a pull request expires as it picks a
    // redelivery (docs/scale-out.md, "Known problems"); another worker's
    // copy after an ack wait is the usual at-least-once case.
    if (seq != 0) {
      if (auto h = held.find(seq); h != held.end()) {
        // Acknowledge through the newest copy: the older may be stale.
        natsMsg_Destroy(h->second->msg);
        h->second->msg = m;
        j->msg = nullptr;
        delete j;
        NoteCopy(seq);
        return;
      }
      if (acked.count(seq)) {
        puller->Ack(m);
        natsMsg_Destroy(m);
        delete j;
        NoteCopy(seq);
        return;
      }
      held[seq] = j;
    }
    jobs.insert(j);
    if (!ok) {
      // Not a record weir wrote: kept as a dead letter, not retried.
      j->id = absl::StrCat(options.outbox.stream, ":", seq);
      j->event = std::string(body);
      j->outcome = Outcome{Outcome::Kind::kFailed, 0, "not an action record", std::nullopt};
      DeadLetter(j);
      return;
    }
    auto it = executors.find(j->action);
    if (it == executors.end()) {
      j->outcome = Outcome{Outcome::Kind::kFailed, 0, "action removed", std::nullopt};
      DeadLetter(j);
      return;
    }
    j->executor = it->second.get();
    std::string key = j->executor->target();
    auto [t, fresh] = targets.try_emplace(key);
    if (fresh) {
      t->second.key = key;
      t->second.kv_key = TargetKey(key);
      t->second.concurrency = std::max(1, j->executor->concurrency());
      t->second.rate = j->executor->rate_per_second();
      t->second.policy = j->executor->deactivation();
    }
    j->target = &t->second;
    if (IsDeactivated(j->target)) {
      j->outcome = Outcome{Outcome::Kind::kFailed, 0, "deactivated", std::nullopt};
      DeadLetter(j);
      return;
    }
    j->target->waiting.push_back(j);
    MarkReady(j->target);
    StartWaiting();
  }

  void MarkReady(Target* t) {
    if (t->in_ready || t->waiting.empty() || t->in_flight >= t->concurrency) return;
    t->in_ready = true;
    ready.push_back(t);
  }

  void StartWaiting() {
    absl::Time now = absl::Now();
    while (!rate_wait.empty() && rate_wait.begin()->first <= now) {
      ready.push_back(rate_wait.begin()->second);  // still in_ready
      rate_wait.erase(rate_wait.begin());
    }
    while (!ready.empty()) {
      Target& t = *ready.front();
      ready.pop_front();
      t.in_ready = false;
      if (IsDeactivated(&t)) {
        DeadLetterWaiting(&t);
        continue;
      }
      while (!t.waiting.empty() && t.in_flight < t.concurrency) {
        if (t.rate > 0 && now < t.next_start) {
          t.in_ready = true;
          rate_wait.emplace(t.next_start, &t);
          break;
        }
        Job* j = t.waiting.front();
        t.waiting.pop_front();
        ++t.in_flight;
        ++in_flight;
        if (t.rate > 0) t.next_start = std::max(now, t.next_start) + absl::Seconds(1) / t.rate;
        Delivery d;
        d.id = j->id;
        d.rule_id = j->rule;
        d.action = j->action;
        d.event = j->event;
        d.attempt = j->attempt;
        d.matched_at = j->matched_at;
        std::shared_ptr<Completions> c = completions;
        {
          std::lock_guard<std::mutex> l(c->mu);
          c->started.insert(j);
        }
        j->executor->Start(d, [c, j](Outcome o) {
          std::lock_guard<std::mutex> l(c->mu);
          // Exactly once per delivery, even if an executor calls back twice
          // (the job may be gone by then).
          if (c->started.erase(j) == 0) {
            ++c->extra_calls;
            return;
          }
          j->outcome = std::move(o);
          c->done.push_back(j);
          c->cv.notify_all();
        });
      }
    }
  }

  void Finish() {
    std::vector<Job*> done;
    {
      std::lock_guard<std::mutex> l(completions->mu);
      done.swap(completions->done);
    }
    for (Job* j : done) {
      --j->target->in_flight;
      --in_flight;
      MarkReady(j->target);
      const Outcome& o = j->outcome;
      if (o.kind == Outcome::Kind::kDelivered) {
        Ack(j);
        Count(&DeliveryStats::delivered);
        Drop(j);
      } else if (o.kind == Outcome::Kind::kRetry && j->attempt < j->executor->retry().attempts) {
        absl::Duration delay = RetryDelay(j->executor->retry(), j->attempt + 1, o.retry_after);
        // Retried here, the message kept alive with InProgress meanwhile,
        // and not handed back with a Nak: nats-server 2.9 can lose a nak'ed
        // message until the ack wait and send an earlier one twice instead
        // (docs/scale-out.md, "Known problems"). If this worker dies, the
        // message comes back after the ack wait to another one.
        ++j->attempt;
        retry_at.emplace(absl::Now() + delay, j);
        Count(&DeliveryStats::retried);
      } else {
        FailedForGood(j->target, o);
        DeadLetter(j);
      }
    }
  }

  // Published to STREAM.dead with the reason; the action message is acked
  // once that is stored (else it comes back and is dead-lettered then).
  void DeadLetter(Job* j) {
    natsMsg* m = nullptr;
    std::string subject = DeadSubject(options.outbox.stream);
    natsStatus s = natsMsg_Create(&m, subject.c_str(), nullptr, j->event.data(),
                                  static_cast<int>(j->event.size()));
    std::string reason =
        j->outcome.reason.empty() ? absl::StrCat("status ", j->outcome.status) : j->outcome.reason;
    if (s == NATS_OK) s = natsMsgHeader_Set(m, "Nats-Msg-Id", (j->id + ":dead").c_str());
    if (s == NATS_OK) s = natsMsgHeader_Set(m, "Weir-Delivery-Id", j->id.c_str());
    if (s == NATS_OK) s = natsMsgHeader_Set(m, "Weir-Rule", j->rule.c_str());
    if (s == NATS_OK) s = natsMsgHeader_Set(m, "Weir-Action", j->action.c_str());
    if (s == NATS_OK) s = natsMsgHeader_Set(m, "Weir-Reason", reason.c_str());
    if (s == NATS_OK) s = natsMsgHeader_Set(m, "Weir-Attempts", absl::StrCat(j->attempt).c_str());
    jsPubAck* ack = nullptr;
    if (s == NATS_OK) s = js_PublishMsg(&ack, client->js(), m, nullptr, nullptr);
    jsPubAck_Destroy(ack);
    natsMsg_Destroy(m);
    if (s == NATS_OK) {
      Ack(j);
      Count(&DeliveryStats::dead_lettered);
      Log(absl::StrCat("dead letter: ", j->id, " (rule '", j->rule, "', action '", j->action,
                       "', attempt ", j->attempt, "): ", reason));
      Drop(j);
    } else {
      // Not stored: tried again in a second (the message stays held).
      j->dead = true;
      retry_at.emplace(absl::Now() + absl::Seconds(1), j);
    }
  }

  // Retries whose wait is over start again (dead letters are stored
  // again); when stopping, they go back to the stream for any worker.
  void RetryDue(absl::Time now, bool hand_back = false) {
    while (!retry_at.empty() && retry_at.begin()->first <= now) {
      Job* j = retry_at.begin()->second;
      retry_at.erase(retry_at.begin());
      if (hand_back) {
        puller->Nak(j->msg);
        Drop(j);
      } else if (j->dead) {
        j->dead = false;
        DeadLetter(j);
      } else {
        j->target->waiting.push_back(j);
        MarkReady(j->target);
      }
    }
  }

  void Ack(Job* j) {
    puller->Ack(j->msg);
    if (j->seq == 0) return;
    if (acked.insert(j->seq).second) acked_order.push_back(j->seq);
    if (acked_order.size() > kAckedKept) {
      acked.erase(acked_order.front());
      acked_order.pop_front();
    }
  }

  // Deactivation (docs/scale-out.md, "Deactivated targets"): a target is
  // deactivated for all workers while its key is in the bucket. Each worker
  // reads a target's key at most every 2 s, so another worker's verdict (or
  // a reactivation: the key deleted) reaches it within that.
  bool IsDeactivated(Target* t) {
    absl::Time now = absl::Now();
    if (!kv || now - t->checked < absl::Seconds(2)) return t->deactivated;
    t->checked = now;
    kvEntry* e = nullptr;
    natsStatus s = kvStore_Get(&e, kv, t->kv_key.c_str());
    if (s == NATS_OK) {
      kvEntry_Destroy(e);
      t->deactivated = true;
    } else if (s == NATS_NOT_FOUND) {
      if (t->deactivated) Log(absl::StrCat("target ", t->key, " reactivated"));
      t->deactivated = false;
      t->failures.clear();
    }  // else unreachable for now: keep what was known
    return t->deactivated;
  }

  // A delivery failed for good: 410 Gone, or the policy's count of such
  // failures within its days (counted by this worker), deactivates.
  void FailedForGood(Target* t, const Outcome& o) {
    if (o.kind == Outcome::Kind::kGone) {
      Deactivate(t, o.reason.empty() ? "the target answered 410 Gone" : o.reason);
      return;
    }
    const DeactivationPolicy& p = t->policy;
    if (p.number_of_failures <= 0) return;
    absl::Time now = absl::Now();
    t->failures.push_back(now);
    absl::Time since = now - absl::Hours(24) * std::max(1, p.days_in_past);
    while (!t->failures.empty() && t->failures.front() < since) t->failures.pop_front();
    if (static_cast<int>(t->failures.size()) >= p.number_of_failures)
      Deactivate(t, absl::StrCat(t->failures.size(), " failed deliveries within ", p.days_in_past,
                                 " days"));
  }

  void Deactivate(Target* t, const std::string& reason) {
    if (t->deactivated) return;
    t->deactivated = true;
    t->checked = absl::Now();
    std::string value = absl::StrCat(t->key, "\n", reason, "\n", absl::FormatTime(absl::Now()));
    natsStatus s =
        kv ? kvStore_PutString(nullptr, kv, t->kv_key.c_str(), value.c_str()) : NATS_ILLEGAL_STATE;
    if (s == NATS_OK) {
      Log(absl::StrCat("target ", t->key, " deactivated: ", reason,
                       "; its deliveries go to the dead letters until key ", t->kv_key,
                       " is deleted from key-value bucket ", bucket));
    } else {
      Log(absl::StrCat("target ", t->key, " deactivated on this worker: ", reason,
                       " (not recorded for the others: ", natsStatus_GetText(s), ")"));
    }
    Count(&DeliveryStats::deactivated);
    DeadLetterWaiting(t);
  }

  void DeadLetterWaiting(Target* t) {
    std::deque<Job*> w;
    w.swap(t->waiting);
    for (Job* j : w) {
      j->outcome = Outcome{Outcome::Kind::kFailed, 0, "deactivated", std::nullopt};
      DeadLetter(j);
    }
  }

  void NoteCopy(uint64_t seq) {
    if (copies++ % 1000 == 0)
      Log(absl::StrCat("JetStream sent action message ", seq,
                       " again while this worker held or had settled it; the copy is ignored (",
                       copies, " so far)"));
  }

  void Drop(Job* j) {
    jobs.erase(j);
    if (j->seq != 0) held.erase(j->seq);
    natsMsg_Destroy(j->msg);
    delete j;
  }

  // Deliveries waiting or in flight longer than progress_every are kept
  // from being redelivered elsewhere.
  void KeepAlive() {
    absl::Time now = absl::Now();
    for (Job* j : jobs) {
      if (now - j->last_progress < progress_every) continue;
      puller->InProgress(j->msg);
      j->last_progress = now;
    }
  }

  void Count(uint64_t DeliveryStats::*field) {
    std::lock_guard<std::mutex> l(stats_mu);
    ++(stats.*field);
  }
};

DeliveryWorker::DeliveryWorker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

absl::StatusOr<std::unique_ptr<DeliveryWorker>> DeliveryWorker::Start(
    const DeliveryOptions& options, std::map<std::string, std::unique_ptr<Executor>> executors) {
  if (options.consumer.empty() || options.consumer.find('.') != std::string::npos)
    return absl::InvalidArgumentError("the delivery consumer needs a name without '.'");
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->options.max_in_flight = std::max(1, options.max_in_flight);
  impl->executors = std::move(executors);
  impl->progress_every = options.consumer_defaults.ack_wait / 3;
  ConnectOptions co = options.outbox.connect;
  if (co.name.empty()) co.name = absl::StrCat("weir delivery ", options.outbox.stream);
  absl::StatusOr<std::unique_ptr<Client>> c = Client::Connect(co);
  if (!c.ok()) return c.status();
  impl->client = *std::move(c);
  const std::string& stream = options.outbox.stream;
  if (absl::Status st = EnsureActionsStream(*impl->client, options.outbox); !st.ok()) return st;
  if (absl::Status st = impl->client->EnsureConsumer(
          stream, options.consumer, ActionsSubject(stream), options.consumer_defaults);
      !st.ok())
    return st;
  absl::StatusOr<std::unique_ptr<Puller>> puller =
      Puller::Bind(*impl->client, stream, options.consumer);
  if (!puller.ok()) return puller.status();
  impl->puller = *std::move(puller);
  impl->bucket = TargetsBucket(stream);
  // Without the bucket (a server or account without the permission to
  // make one) targets are deactivated on this worker only.
  if (absl::Status st = OpenTargetsBucket(*impl->client, impl->bucket, &impl->kv); !st.ok())
    impl->Log(absl::StrCat(st.message(), "; targets are deactivated per worker only"));
  Impl* p = impl.get();
  impl->thread = std::thread([p] { p->Loop(); });
  return std::unique_ptr<DeliveryWorker>(new DeliveryWorker(std::move(impl)));
}

void DeliveryWorker::Stop(absl::Time deadline) {
  Impl& i = *impl_;
  if (i.stop.exchange(true)) return;
  i.thread.join();
  // Not started yet, or waiting to be retried: back to the stream at once.
  i.RetryDue(absl::InfiniteFuture(), /*hand_back=*/true);
  for (auto& [key, t] : i.targets) {
    for (Impl::Job* j : t.waiting) {
      i.puller->Nak(j->msg);
      i.Drop(j);
    }
    t.waiting.clear();
  }
  while (i.in_flight > 0 && absl::Now() < deadline) {
    {
      std::unique_lock<std::mutex> l(i.completions->mu);
      i.completions->cv.wait_for(l, std::chrono::milliseconds(20),
                                 [&] { return !i.completions->done.empty(); });
    }
    i.Finish();
  }
  for (auto& [name, e] : i.executors) e->Shutdown(deadline);
  i.Finish();
  {
    std::lock_guard<std::mutex> l(i.completions->mu);
    if (i.completions->extra_calls > 0)
      i.Log(absl::StrCat("an executor finished ", i.completions->extra_calls,
                         " deliveries a second time; ignored"));
  }
  i.RetryDue(absl::InfiniteFuture(), /*hand_back=*/true);
  natsConnection_FlushTimeout(i.client->nc(), 1000);
}

DeliveryWorker::~DeliveryWorker() {
  Stop(absl::Now() + absl::Seconds(1));
  Impl& i = *impl_;
  // Jobs still in flight: their callbacks may come later and only touch
  // `completions` (shared) and the job, which is leaked on purpose rather
  // than freed under a late callback. JetStream redelivers them.
  for (Impl::Job* j : i.jobs) natsMsg_Destroy(j->msg), j->msg = nullptr;
  i.jobs.clear();
  i.puller.reset();
  if (i.kv) kvStore_Destroy(i.kv);
}

DeliveryStats DeliveryWorker::stats() const {
  std::lock_guard<std::mutex> l(impl_->stats_mu);
  DeliveryStats s = impl_->stats;
  s.in_flight = static_cast<uint64_t>(std::max(0, impl_->in_flight.load()));
  return s;
}

absl::StatusOr<uint64_t> DeliveryWorker::Pending() const {
  jsConsumerInfo* ci = nullptr;
  jsErrCode code = jsErrCode(0);
  natsStatus s = js_GetConsumerInfo(&ci, impl_->client->js(), impl_->options.outbox.stream.c_str(),
                                    impl_->options.consumer.c_str(), nullptr, &code);
  if (s != NATS_OK) return impl_->client->Error("cannot read the delivery consumer", s, code);
  uint64_t n = ci->NumPending + static_cast<uint64_t>(std::max<int64_t>(0, ci->NumAckPending));
  jsConsumerInfo_Destroy(ci);
  return n;
}

}  // namespace weir::nats
