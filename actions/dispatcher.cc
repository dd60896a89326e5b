// The dispatcher: records matched actions in the outbox (durable before the
// input is acknowledged), then one delivery thread hands them to executors,
// per target within its concurrency and rate, and settles each outcome:
// delete on success, reschedule a retry, or dead-letter (and deactivate a
// target by its policy). See docs/delivery.md.
//
// Memory stays bounded whatever the targets do: the outbox is on disk, each
// action keeps only a small window of claimed rows in memory, and reading
// waits while the outbox holds more than max_pending deliveries.
//
// Cost per delivery does not grow with the number of targets: only targets
// with work and a free slot are visited (a ready queue plus a timer heap for
// retries and rate limits), never all of them.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <queue>
#include <thread>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "actions/dead_letters.h"
#include "actions/outbox.h"
#include "weir/actions.h"

namespace weir {
namespace {

using internal::OutboxRow;

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

constexpr size_t kIdLength = 36;  // "msg_" + 32 hex digits

struct Completion {
  int64_t seq;
  Outcome outcome;
};

// Outcomes come back on executor threads; the queue outlives the dispatcher
// so that a late callback never touches freed memory.
// It is also the delivery thread's wake-up: everything that gives it work
// sets `kick` under this lock (never the dispatcher's, which Start() may
// hold when an executor completes at once).
struct CompletionQueue {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Completion> items;
  bool kick = false;

  void Push(Completion c) {
    std::lock_guard<std::mutex> l(mu);
    items.push_back(std::move(c));
    cv.notify_one();
  }
  void Kick() {
    std::lock_guard<std::mutex> l(mu);
    kick = true;
    cv.notify_one();
  }
};

}  // namespace

struct Dispatcher::Impl {
  struct Target;
  struct Action {
    std::string name;
    std::shared_ptr<Executor> exec;
    Target* target = nullptr;
    std::deque<OutboxRow> window;  // claimed, not yet started
    int64_t pending = 0;           // rows in the outbox, in flight included
    bool due_known = false;        // next_due_ms is what the outbox holds
    std::optional<int64_t> next_due_ms;
    bool removed = false;
    ActionStats stats;
  };
  struct Target {
    std::string key;
    int concurrency = 1;
    double rate = 0, tokens = 0;
    int64_t tokens_at_ms = 0;
    int in_flight = 0;
    std::vector<Action*> actions;
    size_t next_action = 0;
    bool in_ready = false;
    bool deactivated = false;
    std::string deactivated_reason;
    DeactivationPolicy policy;
  };
  struct InFlight {
    OutboxRow row;
    Action* action;
    std::shared_ptr<Executor> exec;  // keeps a replaced executor alive
  };

  DispatcherOptions options;
  std::unique_ptr<internal::Outbox> outbox;
  std::unique_ptr<internal::DeadLetters> dead;
  int lock_fd = -1;

  std::mutex mu;  // everything below, and the outbox connection
  std::condition_variable progress;  // pending went down (OnBatch, Drain, Stop wait on it)
  std::unordered_map<std::string, std::unique_ptr<Action>> actions;
  std::unordered_map<std::string, std::unique_ptr<Target>> targets;
  std::deque<Target*> ready;
  std::priority_queue<std::pair<int64_t, Target*>, std::vector<std::pair<int64_t, Target*>>,
                      std::greater<>>
      timers;
  std::unordered_map<int64_t, InFlight> in_flight;
  int64_t total_pending = 0;
  bool stopping = false, done = false;
  absl::Status failure;  // a database error stops delivery; OnBatch reports it
  std::shared_ptr<CompletionQueue> completions = std::make_shared<CompletionQueue>();
  std::thread thread;

  void Log(std::string_view msg) {
    if (options.log) {
      options.log(msg);
    } else {
      fprintf(stderr, "weir: %.*s\n", static_cast<int>(msg.size()), msg.data());
    }
  }

  Target* TargetFor(const Executor& e) {
    std::string key = e.target();
    auto& t = targets[key];
    if (!t) {
      t = std::make_unique<Target>();
      t->key = key;
      t->concurrency = std::max(1, e.concurrency());
      t->rate = e.rate_per_second();
      t->tokens = 1;
      t->tokens_at_ms = NowMs();
      t->policy = e.deactivation();
    }
    return t.get();
  }

  void Attach(Action* a, std::shared_ptr<Executor> exec) {
    if (a->target) {
      auto& v = a->target->actions;
      v.erase(std::remove(v.begin(), v.end(), a), v.end());
    }
    a->exec = std::move(exec);
    a->target = TargetFor(*a->exec);
    a->target->actions.push_back(a);
    a->stats.target = a->target->key;
    a->stats.deactivated = a->target->deactivated;
    a->removed = false;
  }

  void MakeReady(Target* t) {
    if (t->in_ready || t->deactivated) return;
    t->in_ready = true;
    ready.push_back(t);
  }

  void Wake() { completions->Kick(); }

  // --- Dead letters -------------------------------------------------------

  // Writes the letter, then removes the row: a crash between the two leaves a
  // letter twice at worst, never none.
  absl::Status DeadLetter(const OutboxRow& row, Action* a, int attempts, int status,
                          std::string_view reason) {
    internal::DeadLetter l{row.id, row.rule, row.action, row.event, attempts, status,
                           std::string(reason), ""};
    if (auto st = dead->Append(l); !st.ok()) return st;
    if (row.seq) {
      if (auto st = outbox->Delete(row.seq); !st.ok()) return st;
    }
    if (a) {
      ++a->stats.dead_lettered;
      if (row.seq) --a->pending;
    }
    if (row.seq) --total_pending;
    return absl::OkStatus();
  }

  // Every queued row of a (deactivated or removed) action goes to the dead
  // letters; rows in flight follow as they complete.
  absl::Status DeadLetterAll(Action* a, std::string_view reason) {
    std::vector<OutboxRow> rows(std::make_move_iterator(a->window.begin()),
                                std::make_move_iterator(a->window.end()));
    a->window.clear();
    if (auto st = outbox->ClaimAll(a->name, &rows); !st.ok()) return st;
    for (const OutboxRow& r : rows)
      if (auto st = DeadLetter(r, a, r.attempts, r.last_status, reason); !st.ok()) return st;
    a->due_known = true;
    a->next_due_ms.reset();
    return absl::OkStatus();
  }

  absl::Status Deactivate(Target* t, std::string reason) {
    if (t->deactivated) return absl::OkStatus();
    t->deactivated = true;
    t->deactivated_reason = reason;
    Log(absl::StrCat("target ", t->key, " deactivated: ", reason,
                     "; its deliveries go to the dead letters until it is reactivated"));
    if (auto st = outbox->SetDeactivated(t->key, true, reason, NowMs()); !st.ok()) return st;
    for (Action* a : t->actions) {
      a->stats.deactivated = true;
      if (auto st = DeadLetterAll(a, "deactivated"); !st.ok()) return st;
    }
    return absl::OkStatus();
  }

  // --- The delivery thread -----------------------------------------------

  absl::Status Settle(std::vector<Completion>& done_now) {
    if (done_now.empty()) return absl::OkStatus();
    int64_t now = NowMs();
    if (auto st = outbox->Begin(); !st.ok()) return st;
    for (Completion& c : done_now) {
      auto it = in_flight.find(c.seq);
      if (it == in_flight.end()) continue;
      InFlight f = std::move(it->second);
      in_flight.erase(it);
      Action* a = f.action;
      Target* t = a->target;
      --t->in_flight;
      const Outcome& o = c.outcome;
      int attempts = f.row.attempts + 1;
      absl::Status st;
      if (o.kind == Outcome::Kind::kDelivered) {
        st = outbox->Delete(f.row.seq);
        ++a->stats.delivered;
        --a->pending;
        --total_pending;
      } else if (t->deactivated) {
        st = DeadLetter(f.row, a, attempts, o.status, "deactivated");
      } else if (o.kind == Outcome::Kind::kRetry && attempts < f.exec->retry().attempts &&
                 !a->removed) {
        absl::Duration wait = RetryDelay(f.exec->retry(), attempts + 1, o.retry_after);
        int64_t due = now + absl::ToInt64Milliseconds(wait);
        st = outbox->Reschedule(f.row.seq, attempts, due, o.status, o.reason);
        ++a->stats.retried;
        if (a->due_known && (!a->next_due_ms || due < *a->next_due_ms)) a->next_due_ms = due;
        timers.emplace(due, t);
      } else {
        std::string reason = a->removed ? "action removed" : o.reason;
        st = DeadLetter(f.row, a, attempts, o.status, reason);
        if (st.ok() && !a->removed) st = CountFailure(t, o, now);
      }
      if (!st.ok()) {
        outbox->Rollback();
        return st;
      }
      MakeReady(t);
    }
    done_now.clear();
    return outbox->Commit();
  }

  // A delivery failed for good: the target's policy may deactivate it.
  absl::Status CountFailure(Target* t, const Outcome& o, int64_t now) {
    if (o.kind == Outcome::Kind::kGone)
      return Deactivate(t, o.reason.empty() ? "the target answered 410 Gone" : o.reason);
    const DeactivationPolicy& p = t->policy;
    if (p.number_of_failures <= 0) return absl::OkStatus();
    if (auto st = outbox->AddFailure(t->key, now); !st.ok()) return st;
    int64_t since = now - int64_t{p.days_in_past > 0 ? p.days_in_past : 1} * 86'400'000;
    auto n = outbox->CountFailures(t->key, since);
    if (!n.ok()) return n.status();
    if (*n < p.number_of_failures) return absl::OkStatus();
    return Deactivate(t, absl::StrCat(*n, " failed deliveries within ",
                                      p.days_in_past > 0 ? p.days_in_past : 1, " day",
                                      p.days_in_past == 1 ? "" : "s", " (last: ", o.reason, ")"));
  }

  bool TakeToken(Target* t, int64_t now) {
    if (t->rate <= 0) return true;
    double cap = std::max(1.0, t->rate / 10);  // bursts of up to 100 ms
    t->tokens = std::min(cap, t->tokens + (now - t->tokens_at_ms) * t->rate / 1000.0);
    t->tokens_at_ms = now;
    if (t->tokens < 1) {
      int64_t wait = static_cast<int64_t>((1 - t->tokens) * 1000.0 / t->rate) + 1;
      timers.emplace(now + wait, t);
      return false;
    }
    t->tokens -= 1;
    return true;
  }

  // The next row of `a` that is due now, claiming a window from the outbox
  // when the one in memory is empty.
  absl::StatusOr<bool> Refill(Action* a, int64_t now) {
    if (!a->window.empty()) return true;
    if (a->pending <= static_cast<int64_t>(0) || a->removed) return false;
    if (a->due_known && (!a->next_due_ms || *a->next_due_ms > now)) return false;
    int limit = std::max(64, 4 * a->target->concurrency);
    std::vector<OutboxRow> rows;
    if (auto st = outbox->Begin(); !st.ok()) return st;
    absl::Status st = outbox->Claim(a->name, now, limit, &rows);
    if (st.ok() && static_cast<int>(rows.size()) < limit) {
      auto next = outbox->NextDue(a->name);
      if (!next.ok()) {
        st = next.status();
      } else {
        a->next_due_ms = *next;
        a->due_known = true;
        if (*next) timers.emplace(**next, a->target);
      }
    } else {
      a->due_known = false;
    }
    if (!st.ok()) {
      outbox->Rollback();
      return st;
    }
    if (auto c = outbox->Commit(); !c.ok()) return c;
    for (auto& r : rows) a->window.push_back(std::move(r));
    return !a->window.empty();
  }

  // Starts what target `t` may start now.
  absl::Status StartFrom(Target* t, int64_t now) {
    size_t idle = 0;
    while (!stopping && !t->deactivated && t->in_flight < t->concurrency && !t->actions.empty() &&
           idle < t->actions.size()) {
      Action* a = t->actions[t->next_action++ % t->actions.size()];
      auto got = Refill(a, now);
      if (!got.ok()) return got.status();
      if (!*got) {
        ++idle;
        continue;
      }
      idle = 0;
      if (!TakeToken(t, now)) return absl::OkStatus();
      OutboxRow row = std::move(a->window.front());
      a->window.pop_front();
      int64_t seq = row.seq;
      InFlight& f = in_flight[seq];
      f.row = std::move(row);
      f.action = a;
      f.exec = a->exec;
      ++t->in_flight;
      Delivery d;
      d.id = f.row.id;
      d.rule_id = f.row.rule;
      d.action = f.row.action;
      d.event = f.row.event;
      d.attempt = f.row.attempts + 1;
      d.matched_at = absl::FromUnixMillis(f.row.matched_at_ms);
      std::shared_ptr<CompletionQueue> q = completions;
      f.exec->Start(d, [q, seq](Outcome o) { q->Push({seq, std::move(o)}); });
    }
    return absl::OkStatus();
  }

  void Loop() {
    std::vector<Completion> batch;
    std::unique_lock<std::mutex> lock(mu);
    while (!done) {
      {
        std::lock_guard<std::mutex> l(completions->mu);
        batch.swap(completions->items);
        completions->kick = false;
      }
      // Executors that complete at once (stdout, file) would cost a commit
      // per delivery; outcomes that come back while this pass starts more
      // are settled in the same transaction, up to a bound.
      absl::Status st = outbox->Begin();
      int64_t now = NowMs();
      for (int round = 0; st.ok() && round < 256; ++round) {
        if (round > 0) {
          std::lock_guard<std::mutex> l(completions->mu);
          if (completions->items.empty()) break;
          batch.swap(completions->items);
        }
        st = Settle(batch);
        now = NowMs();
        while (st.ok() && !timers.empty() && timers.top().first <= now) {
          Target* t = timers.top().second;
          timers.pop();
          MakeReady(t);
        }
        while (st.ok() && !ready.empty()) {
          Target* t = ready.front();
          ready.pop_front();
          t->in_ready = false;
          st = StartFrom(t, now);
        }
      }
      if (st.ok()) {
        st = outbox->Commit();
      } else {
        outbox->Rollback();
      }
      if (!st.ok()) {
        failure = st;
        Log(absl::StrCat("delivery stopped: ", st.message()));
        stopping = true;
      }
      progress.notify_all();
      if (done) break;
      std::optional<int64_t> next_timer;
      if (!timers.empty()) next_timer = timers.top().first;
      lock.unlock();
      {
        std::unique_lock<std::mutex> l(completions->mu);
        auto woken = [&] { return !completions->items.empty() || completions->kick; };
        if (next_timer) {
          completions->cv.wait_until(
              l, absl::ToChronoTime(absl::FromUnixMillis(std::max(*next_timer, now + 1))), woken);
        } else {
          completions->cv.wait(l, woken);
        }
      }
      lock.lock();
    }
  }
};

absl::StatusOr<std::unique_ptr<Dispatcher>> Dispatcher::Open(
    const DispatcherOptions& options, std::map<std::string, std::unique_ptr<Executor>> executors) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  const std::string& dir = options.state_dir;
  if (mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST)
    return absl::InternalError(absl::StrCat("cannot create the state directory ", dir, ": ",
                                            std::strerror(errno)));
  std::string lock_path = dir + "/lock";
  impl->lock_fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (impl->lock_fd < 0)
    return absl::InternalError(absl::StrCat("cannot use the state directory ", dir, ": ",
                                            std::strerror(errno)));
  if (flock(impl->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    close(impl->lock_fd);
    return absl::FailedPreconditionError(absl::StrCat(
        "the state directory ", dir, " is in use by another weir process"));
  }
  auto outbox = internal::Outbox::Open(dir + "/outbox.db", options.sync);
  if (!outbox.ok()) return outbox.status();
  impl->outbox = *std::move(outbox);
  auto dead = internal::DeadLetters::Open(dir + "/dead-letter.ndjson", options.sync);
  if (!dead.ok()) return dead.status();
  impl->dead = *std::move(dead);

  if (auto st = impl->outbox->UnclaimAll(); !st.ok()) return st;
  std::map<std::string, std::string> deactivated;
  if (auto st = impl->outbox->Deactivated(&deactivated); !st.ok()) return st;
  std::map<std::string, int64_t> pending;
  if (auto st = impl->outbox->PendingByAction(&pending); !st.ok()) return st;

  for (auto& [name, exec] : executors) {
    auto a = std::make_unique<Impl::Action>();
    a->name = name;
    a->stats.action = name;
    impl->Attach(a.get(), std::shared_ptr<Executor>(std::move(exec)));
    impl->actions[name] = std::move(a);
  }
  for (auto& [key, reason] : deactivated) {
    auto it = impl->targets.find(key);
    if (it == impl->targets.end()) continue;
    it->second->deactivated = true;
    it->second->deactivated_reason = reason;
    for (Impl::Action* a : it->second->actions) a->stats.deactivated = true;
  }
  for (auto& [name, n] : pending) {
    auto it = impl->actions.find(name);
    if (it == impl->actions.end()) {
      impl->Log(absl::StrCat(n, " deliver", n == 1 ? "y" : "ies", " for action '", name,
                             "', which the rules no longer define, stay in the outbox"));
      continue;
    }
    it->second->pending = n;
    it->second->stats.pending = static_cast<uint64_t>(n);
    impl->total_pending += n;
    Impl::Target* t = it->second->target;
    if (t->deactivated) {
      if (auto st = impl->outbox->Begin(); !st.ok()) return st;
      if (auto st = impl->DeadLetterAll(it->second.get(), "deactivated"); !st.ok()) return st;
      if (auto st = impl->outbox->Commit(); !st.ok()) return st;
    } else {
      impl->MakeReady(t);
    }
  }
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->Loop(); });
  return std::unique_ptr<Dispatcher>(new Dispatcher(std::move(impl)));
}

Dispatcher::Dispatcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Dispatcher::~Dispatcher() {
  Stop(absl::Now());
  if (impl_->lock_fd >= 0) close(impl_->lock_fd);
}

void Dispatcher::Prepare(BatchResult* r) {
  // Delivery ids hash the event: done here, on the matching thread.
  const RuleSet& rules = *r->rules;
  const std::string& input = r->source ? r->source->name() : std::string();
  for (const Match& m : r->matches)
    for (uint32_t slot : m.rules) {
      const RuleDef& rule = rules.rule(slot);
      for (const std::string& action : rule.actions)
        r->prepared += DeliveryId(input, m.position, m.event, rule.id, action);
    }
}

absl::Status Dispatcher::OnBatch(const BatchResult& r) {
  Impl& d = *impl_;
  std::unique_lock<std::mutex> lock(d.mu);
  d.progress.wait(lock, [&] {
    return d.total_pending < static_cast<int64_t>(d.options.max_pending) || d.stopping;
  });
  if (!d.failure.ok()) return d.failure;
  if (d.stopping) return absl::CancelledError("the dispatcher is stopping");
  const RuleSet& rules = *r.rules;
  int64_t now = NowMs();
  size_t at = 0;
  if (auto st = d.outbox->Begin(); !st.ok()) return st;
  absl::Status st;
  for (const Match& m : r.matches) {
    for (uint32_t slot : m.rules) {
      const RuleDef& rule = rules.rule(slot);
      for (const std::string& name : rule.actions) {
        std::string_view id;
        if (at + kIdLength <= r.prepared.size()) {
          id = std::string_view(r.prepared).substr(at, kIdLength);
          at += kIdLength;
        }
        std::string computed;
        if (id.empty()) {  // Prepare() was not called (a caller's own pipeline)
          computed = DeliveryId(r.source ? r.source->name() : "", m.position, m.event, rule.id,
                                name);
          id = computed;
        }
        auto it = d.actions.find(name);
        if (it == d.actions.end() || it->second->removed) {
          st = absl::FailedPreconditionError(
              absl::StrCat("rule '", rule.id, "' names action '", name, "', which has no executor"));
          break;
        }
        Impl::Action* a = it->second.get();
        ++a->stats.matched;
        if (a->target->deactivated) {
          internal::DeadLetter l{std::string(id), rule.id, name, std::string(m.event), 0, 0,
                                 "deactivated", ""};
          st = d.dead->Append(l);
          ++a->stats.dead_lettered;
        } else {
          st = d.outbox->Insert(id, rule.id, name, m.event, now);
          ++a->pending;
          ++d.total_pending;
          if (a->due_known && (!a->next_due_ms || *a->next_due_ms > now)) a->next_due_ms = now;
          d.MakeReady(a->target);
        }
        if (!st.ok()) break;
      }
      if (!st.ok()) break;
    }
    if (!st.ok()) break;
  }
  if (st.ok() && r.batch && (r.batch->end_offset || r.batch->end_line) && r.source)
    st = d.outbox->SetResume(r.source->name(), r.batch->end_offset, r.batch->end_line);
  if (st.ok()) st = d.outbox->Commit();
  if (!st.ok()) {
    d.outbox->Rollback();
    // The counts above were taken optimistically; a failed batch stops the
    // run, so they are not unwound one by one.
    d.failure = st;
    return st;
  }
  d.Wake();
  return absl::OkStatus();
}

absl::Status Dispatcher::Record(std::vector<DeliveryRecord> records) {
  Impl& d = *impl_;
  std::unique_lock<std::mutex> lock(d.mu);
  d.progress.wait(lock, [&] {
    return d.total_pending < static_cast<int64_t>(d.options.max_pending) || d.stopping;
  });
  if (!d.failure.ok()) return d.failure;
  if (d.stopping) return absl::CancelledError("the dispatcher is stopping");
  for (const DeliveryRecord& rec : records) {
    auto it = d.actions.find(rec.action);
    if (it == d.actions.end() || it->second->removed)
      return absl::FailedPreconditionError(
          absl::StrCat("action '", rec.action, "' has no executor"));
  }
  int64_t now = NowMs();
  if (auto st = d.outbox->Begin(); !st.ok()) return st;
  for (const DeliveryRecord& rec : records) {
    Impl::Action* a = d.actions[rec.action].get();
    ++a->stats.matched;
    absl::Status st;
    if (a->target->deactivated) {
      st = d.dead->Append({rec.id, rec.rule_id, rec.action, rec.event, 0, 0, "deactivated", ""});
      ++a->stats.dead_lettered;
    } else {
      st = d.outbox->Insert(rec.id, rec.rule_id, rec.action, rec.event, now);
      ++a->pending;
      ++d.total_pending;
      if (a->due_known && (!a->next_due_ms || *a->next_due_ms > now)) a->next_due_ms = now;
      d.MakeReady(a->target);
    }
    if (!st.ok()) {
      d.outbox->Rollback();
      d.failure = st;
      return st;
    }
  }
  if (auto st = d.outbox->Commit(); !st.ok()) {
    d.outbox->Rollback();
    d.failure = st;
    return st;
  }
  d.Wake();
  return absl::OkStatus();
}

std::optional<ResumePoint> Dispatcher::Resume(std::string_view input) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto r = impl_->outbox->GetResume(input);
  return r.ok() ? *r : std::nullopt;
}

absl::Status Dispatcher::Finish(std::string_view input) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->outbox->DeleteResume(input);
}

absl::Status Dispatcher::Drain(absl::Time deadline) {
  Impl& d = *impl_;
  std::unique_lock<std::mutex> lock(d.mu);
  while (d.total_pending > 0 && !d.stopping) {
    if (d.progress.wait_until(lock, absl::ToChronoTime(deadline)) == std::cv_status::timeout)
      break;
  }
  return d.failure;
}

void Dispatcher::Stop(absl::Time deadline) {
  Impl& d = *impl_;
  std::unique_lock<std::mutex> lock(d.mu);
  if (d.done) return;
  d.stopping = true;
  d.progress.notify_all();
  d.Wake();
  // In-flight deliveries settle until the deadline; the rest stay claimed in
  // this process only and are pending again on the next Open.
  while (!d.in_flight.empty()) {
    if (d.progress.wait_until(lock, absl::ToChronoTime(std::min(deadline, absl::Now() +
                                                                absl::Milliseconds(50)))) ==
            std::cv_status::timeout &&
        absl::Now() >= deadline)
      break;
  }
  d.done = true;
  d.Wake();
  lock.unlock();
  d.thread.join();
  for (auto& [name, a] : d.actions)
    if (a->exec) a->exec->Shutdown(deadline);
}

absl::StatusOr<size_t> Dispatcher::ReplayDeadLetters() {
  Impl& d = *impl_;
  std::lock_guard<std::mutex> lock(d.mu);
  std::vector<internal::DeadLetter> letters;
  if (auto st = d.dead->ReadAll(&letters); !st.ok()) return st;
  std::vector<internal::DeadLetter> keep;
  size_t replayed = 0;
  int64_t now = NowMs();
  if (auto st = d.outbox->Begin(); !st.ok()) return st;
  for (internal::DeadLetter& l : letters) {
    auto it = d.actions.find(l.action);
    if (it == d.actions.end() || it->second->removed) {
      keep.push_back(std::move(l));
      continue;
    }
    Impl::Action* a = it->second.get();
    if (a->target->deactivated) {
      // Replaying is asking for the target again.
      a->target->deactivated = false;
      for (Impl::Action* b : a->target->actions) b->stats.deactivated = false;
      if (auto st = d.outbox->SetDeactivated(a->target->key, false, "", now); !st.ok()) {
        d.outbox->Rollback();
        return st;
      }
      d.Log(absl::StrCat("target ", a->target->key, " reactivated to replay its dead letters"));
    }
    if (auto st = d.outbox->Insert(l.id, l.rule, l.action, l.event, now); !st.ok()) {
      d.outbox->Rollback();
      return st;
    }
    ++a->pending;
    ++d.total_pending;
    a->due_known = false;
    d.MakeReady(a->target);
    ++replayed;
  }
  // The outbox holds the replayed letters before the file forgets them.
  if (auto st = d.outbox->Commit(); !st.ok()) {
    d.outbox->Rollback();
    return st;
  }
  if (auto st = d.dead->Rewrite(keep); !st.ok()) return st;
  d.Wake();
  return replayed;
}

void Dispatcher::SetExecutor(const std::string& action, std::unique_ptr<Executor> executor) {
  Impl& d = *impl_;
  std::lock_guard<std::mutex> lock(d.mu);
  auto& a = d.actions[action];
  if (!a) {
    a = std::make_unique<Impl::Action>();
    a->name = action;
    a->stats.action = action;
  }
  d.Attach(a.get(), std::shared_ptr<Executor>(std::move(executor)));
  a->due_known = false;
  d.MakeReady(a->target);
  d.Wake();
}

void Dispatcher::RemoveExecutor(const std::string& action) {
  Impl& d = *impl_;
  std::lock_guard<std::mutex> lock(d.mu);
  auto it = d.actions.find(action);
  if (it == d.actions.end()) return;
  Impl::Action* a = it->second.get();
  a->removed = true;
  absl::Status st = d.outbox->Begin();
  if (st.ok()) st = d.DeadLetterAll(a, "action removed");
  if (st.ok()) st = d.outbox->Commit();
  if (!st.ok()) {
    d.outbox->Rollback();
    d.failure = st;
  }
}

void Dispatcher::SetTargetActive(const std::string& target, bool active) {
  Impl& d = *impl_;
  std::lock_guard<std::mutex> lock(d.mu);
  auto it = d.targets.find(target);
  if (it == d.targets.end()) return;
  Impl::Target* t = it->second.get();
  absl::Status st = d.outbox->Begin();
  if (!st.ok()) return;
  if (active) {
    t->deactivated = false;
    for (Impl::Action* a : t->actions) {
      a->stats.deactivated = false;
      a->due_known = false;
    }
    st = d.outbox->SetDeactivated(t->key, false, "", NowMs());
    d.MakeReady(t);
  } else {
    st = d.Deactivate(t, "deactivated by hand");
  }
  if (st.ok()) st = d.outbox->Commit();
  if (!st.ok()) d.outbox->Rollback();
  d.Wake();
}

std::vector<ActionStats> Dispatcher::Summary() const {
  Impl& d = *impl_;
  std::lock_guard<std::mutex> lock(d.mu);
  std::vector<ActionStats> out;
  for (auto& [name, a] : d.actions) {
    ActionStats s = a->stats;
    s.pending = static_cast<uint64_t>(std::max<int64_t>(0, a->pending));
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(),
            [](const ActionStats& a, const ActionStats& b) { return a.action < b.action; });
  return out;
}

}  // namespace weir
