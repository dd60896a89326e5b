// weir/actions.h: what a match triggers. Executors carry out actions
// (stdout, file, exec, webhook, or an embedder's own); the Dispatcher is the
// stream sink that records every matched action in a durable outbox before
// the input is acknowledged, then delivers, retries, dead-letters and
// deactivates. See docs/delivery.md.
//
// Thread safety: ExecutorFactory::Create and ExecutorRegistry's const
// methods are reentrant. An Executor's Start() is called from the
// dispatcher's delivery thread only, and its completion callback may run on
// any thread. A Dispatcher is a Sink (called by one Pipeline at a time, see
// weir/stream.h); Drain(), Stop(), Summary() and Record() are thread-safe.
#ifndef WEIR_ACTIONS_H_
#define WEIR_ACTIONS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "weir/diagnostic.h"
#include "weir/rule_def.h"
#include "weir/stream.h"

namespace weir {

// One action to carry out for one (event, rule) match.
struct Delivery {
  std::string_view id;       // stable: the same for every attempt, restart and worker
  std::string_view rule_id;
  std::string_view action;   // the action's name
  std::string_view event;    // the event's bytes as read
  int attempt = 1;           // 1 for the first try
  absl::Time matched_at;     // when the match was recorded
};

struct Outcome {
  enum class Kind {
    kDelivered,  // done (2xx, exit 0)
    kRetry,      // worth another attempt (network error, timeout, 408, 429, 5xx)
    kFailed,     // not worth retrying (other 4xx, a bad command)
    kGone,       // the target says it is gone for good (HTTP 410): deactivate it
  };
  Kind kind = Kind::kDelivered;
  int status = 0;      // HTTP status or exit code; 0 when none
  std::string reason;  // for people and dead letters; never holds a secret
  std::optional<absl::Duration> retry_after;  // the target asked to wait (Retry-After)
};

// Attempts include the first try.
struct RetryPolicy {
  int attempts = 1;
  absl::Duration backoff = absl::Seconds(1);
  absl::Duration max_backoff = absl::Hours(1);
};

// A target with `number_of_failures` failed deliveries (retries exhausted)
// within `days_in_past` days is deactivated. 0 failures: never.
struct DeactivationPolicy {
  int number_of_failures = 0;
  int days_in_past = 0;
};

// The wait before attempt `next_attempt` (2 for the first retry): exponential
// from policy.backoff, capped at max_backoff, with full jitter in its upper
// half; a target's Retry-After, when given, is honoured (capped at
// max_backoff).
absl::Duration RetryDelay(const RetryPolicy& policy, int next_attempt,
                          std::optional<absl::Duration> retry_after);

// The stable delivery id (`webhook-id`, Standard Webhooks' `msg_…` form) of
// one (event, rule, action): derived from the input's name, the event's
// position and bytes, the rule id and the action name.
std::string DeliveryId(std::string_view input, const EventPosition& position,
                       std::string_view event, std::string_view rule_id,
                       std::string_view action);

// Carries out actions of one configured action (one ActionDef).
class Executor {
 public:
  virtual ~Executor() = default;
  // Starts one delivery and calls `done` exactly once, from any thread,
  // possibly before Start returns. The strings in `d` stay valid until then.
  virtual void Start(const Delivery& d, std::function<void(Outcome)> done) = 0;
  // Deliveries to one target share its concurrency, rate and deactivation
  // state (two actions posting to one URL are one target). Never a secret:
  // it appears in logs and metrics.
  virtual std::string target() const = 0;
  virtual int concurrency() const { return 1; }      // in flight at once
  virtual double rate_per_second() const { return 0; }  // 0: no limit
  virtual RetryPolicy retry() const { return {}; }
  virtual DeactivationPolicy deactivation() const { return {}; }
  // No more Start() calls; in-flight deliveries finish (or fail) by `deadline`.
  virtual void Shutdown(absl::Time deadline) {}
};

// Makes the executors of one type (the key under an action: `webhook`).
class ExecutorFactory {
 public:
  virtual ~ExecutorFactory() = default;
  // Checks every setting and makes the executor, which starts nothing
  // (threads, files, connections) until its first Start(). Each mistake is
  // appended to `diagnostics` at its file:line:column, naming the action (and
  // the rule for an inline action); nullptr then.
  virtual std::unique_ptr<Executor> Create(const ActionDef& action,
                                           std::vector<Diagnostic>* diagnostics) const = 0;
};

class ExecutorRegistry {
 public:
  // Empty; Builtins() has stdout, file, exec and webhook.
  ExecutorRegistry();
  static ExecutorRegistry Builtins();
  ~ExecutorRegistry();
  ExecutorRegistry(ExecutorRegistry&&) noexcept;
  ExecutorRegistry& operator=(ExecutorRegistry&&) noexcept;

  // Adds or replaces the factory for `type`.
  void Register(std::string type, std::shared_ptr<const ExecutorFactory> factory);
  const ExecutorFactory* Find(std::string_view type) const;
  std::vector<std::string> types() const;  // sorted

  struct Executors {
    std::map<std::string, std::unique_ptr<Executor>> by_action;  // by action name
    std::vector<Diagnostic> diagnostics;
    bool ok() const { return diagnostics.empty(); }
  };
  // An executor for every action; an unknown type is a diagnostic too.
  Executors CreateAll(const std::map<std::string, ActionDef>& actions) const;

 private:
  std::map<std::string, std::shared_ptr<const ExecutorFactory>, std::less<>> factories_;
};

enum class SyncMode {
  kNormal,  // a recorded action survives kill -9 of the process
  kFull,    // ... and a power loss (fsync per commit)
};

struct DispatcherOptions {
  std::string state_dir = ".weir-state";
  SyncMode sync = SyncMode::kNormal;
  // Reading waits while the outbox holds more pending deliveries than this.
  size_t max_pending = 100'000;
  // Messages for people (a target deactivated, ...); default: stderr.
  std::function<void(std::string_view)> log;
};

// Counts per action, for the summary that ends a run and for metrics.
struct ActionStats {
  std::string action;
  std::string target;
  uint64_t matched = 0, delivered = 0, retried = 0, dead_lettered = 0, pending = 0;
  bool deactivated = false;
};

// Where a file input resumes: after the last batch whose actions were all
// recorded.
struct ResumePoint {
  uint64_t offset = 0;
  uint64_t line = 0;
};

// One pending delivery as handed to Record() (sources other than a pipeline).
struct DeliveryRecord {
  std::string id;
  std::string rule_id;
  std::string action;
  std::string event;
};

class Dispatcher : public Sink {
 public:
  // Opens (or creates) the state directory and its outbox; what the outbox
  // holds from an earlier run is delivered again. `executors` by action name.
  static absl::StatusOr<std::unique_ptr<Dispatcher>> Open(
      const DispatcherOptions& options,
      std::map<std::string, std::unique_ptr<Executor>> executors);
  ~Dispatcher() override;

  // Sink: records every (match, action) of the batch, and the input's resume
  // point, in one transaction; returns once it is durable. Blocks while the
  // outbox is over max_pending.
  void Prepare(BatchResult* result) override;
  absl::Status OnBatch(const BatchResult& result) override;

  // Actions that come and go at run time (a webhook registry): adds or
  // replaces the executor of `action`; a removed action's pending deliveries
  // go to the dead letters with reason `action removed`. Thread-safe.
  void SetExecutor(const std::string& action, std::unique_ptr<Executor> executor);
  void RemoveExecutor(const std::string& action);
  // Deactivates or reactivates a target by hand (as its policy would).
  void SetTargetActive(const std::string& target, bool active);

  // Records deliveries from elsewhere (same guarantee as OnBatch).
  absl::Status Record(std::vector<DeliveryRecord> records);

  // Where input `name` resumes, if an earlier run recorded part of it.
  std::optional<ResumePoint> Resume(std::string_view input) const;
  // Forgets the resume point of `name` (the input was read to its end).
  absl::Status Finish(std::string_view input);

  // Waits until nothing is pending or `deadline` passes; what is left stays
  // in the outbox for the next run. OK either way; Summary() says what is left.
  absl::Status Drain(absl::Time deadline);
  // Stops delivering (in-flight deliveries are waited for until `deadline`).
  void Stop(absl::Time deadline);

  // Moves the dead letters back into the outbox, to be delivered with the
  // actions' current settings; how many. Letters whose action no longer
  // exists stay dead.
  absl::StatusOr<size_t> ReplayDeadLetters();

  std::vector<ActionStats> Summary() const;

 private:
  struct Impl;
  explicit Dispatcher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace weir

#endif  // WEIR_ACTIONS_H_
