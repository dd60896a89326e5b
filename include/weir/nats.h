// weir/nats.h: weir on NATS JetStream. A Source that reads a stream through
// a durable pull consumer shared by any number of weir processes, a Sink
// that publishes matched events (the filter stage of a NATS pipeline), and an
// outbox on JetStream: the record of matched actions is a stream, and any
// process delivers from it. See docs/scale-out.md.
//
// Thread safety: a Source or Sink made here follows weir/stream.h (Next from
// one thread at a time, Done and OnBatch in order; Interrupt from any thread).
// A DeliveryWorker's methods are thread-safe. Connections reconnect on their
// own, forever, with backoff; credentials never appear in a message or a
// Status (every URL is redacted).
#ifndef WEIR_NATS_H_
#define WEIR_NATS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "weir/actions.h"
#include "weir/stream.h"

namespace weir::nats {

struct ConnectOptions {
  // nats://HOST:PORT, nats://TOKEN@HOST:PORT or nats://USER:PASSWORD@HOST:PORT;
  // several servers separated by commas.
  std::string url;
  std::string creds_file;  // a NATS credentials file (JWT + NKey seed), or ""
  std::string name;        // the connection's name as the server shows it
  absl::Duration reconnect_wait = absl::Milliseconds(250);  // doubled up to 4 s
  // Connection events (lost, back) and errors for people; default: stderr.
  std::function<void(std::string_view)> log;
};

// The URL with any user, password or token replaced by "***".
std::string RedactUrl(std::string_view url);

// The documented defaults of a consumer that weir creates.
struct ConsumerDefaults {
  absl::Duration ack_wait = absl::Seconds(30);
  int64_t max_ack_pending = 1000;
  int64_t max_deliver = -1;  // -1: unlimited
};

struct SourceOptions {
  ConnectOptions connect;
  std::string stream;    // must exist
  std::string consumer;  // durable; created if missing
  std::string subject;   // filter subject of a created consumer ("": all)
  ConsumerDefaults consumer_defaults;
  int batch = 256;                                      // messages per fetch at most
  absl::Duration fetch_wait = absl::Milliseconds(100);  // a fetch returns after this at most
  size_t max_event_bytes = EventLimits{}.max_event_bytes;
  // A batch not acknowledged after this long is kept alive (InProgress) so
  // that a slow sink does not get it redelivered elsewhere; 0: ack_wait / 3.
  absl::Duration progress_every = absl::ZeroDuration();
};

// The source's name (delivery ids derive from it): "nats:STREAM/CONSUMER",
// the same for every worker of one consumer. Each message's data is one
// event; its position.sequence is the message's stream sequence. Done()
// acknowledges the batch's messages, bad ones included (they are reported
// by the pipeline like bad lines, and not redelivered).
absl::StatusOr<std::unique_ptr<Source>> MakeSource(const SourceOptions& options);

struct SinkOptions {
  ConnectOptions connect;
  std::string subject;  // where matched events go
  // What is published for each match: the event as read (default), or
  // {"rules":[ids],"event":<event>}.
  bool annotated = false;
};

// Publishes each matched event to `subject`: with JetStream acknowledgements
// (OnBatch returns once the stream stored all of them, with Nats-Msg-Id
// "<source name>:<sequence>" so a redelivered input is not stored twice)
// when a stream captures the subject, else with a core publish (at most
// once). Bad events are reported on the connection's log.
absl::StatusOr<std::unique_ptr<Sink>> MakeSink(const SinkOptions& options);

struct OutboxOptions {
  ConnectOptions connect;
  std::string stream = "WEIR_ACTIONS";  // created if missing
  // A redelivered input within this window is not recorded twice (the
  // stream's duplicate window, set when weir creates the stream).
  absl::Duration duplicate_window = absl::Minutes(2);
};

// A Sink that records every (match, rule action) as a message of the actions
// stream (subject STREAM.actions, Nats-Msg-Id = the delivery id) and returns
// from OnBatch once JetStream has stored all of them.
absl::StatusOr<std::unique_ptr<Sink>> MakeOutbox(const OutboxOptions& options);

struct DeliveryOptions {
  OutboxOptions outbox;
  std::string consumer = "weir-deliver";  // durable; shared by all workers
  ConsumerDefaults consumer_defaults;
  int max_in_flight = 256;  // deliveries started and not finished, all targets
  // Messages for people (dead letters, retries given up); default: stderr.
  std::function<void(std::string_view)> log;
};

struct DeliveryStats {
  uint64_t delivered = 0, retried = 0, dead_lettered = 0, in_flight = 0;
  uint64_t deactivated = 0;  // targets this worker deactivated
};

// Carries out the actions recorded in the actions stream with `executors`
// (by action name). A delivery is acknowledged once delivered or
// dead-lettered (published to STREAM.dead with its reason); a retry waits
// out the RetryDelay of its executor's policy on this worker (the message
// kept alive), then is handed back to the stream for any worker; attempts
// are JetStream's delivery count, so any worker goes on where another
// stopped. Per-target concurrency and rate are honoured per process. A
// target that answers 410, or fails as often as its deactivation policy
// allows (counted per worker), is deactivated for all workers through the
// key-value bucket STREAM_TARGETS; its deliveries then go to the dead
// letters until its key is deleted (docs/scale-out.md).
class DeliveryWorker {
 public:
  static absl::StatusOr<std::unique_ptr<DeliveryWorker>> Start(
      const DeliveryOptions& options, std::map<std::string, std::unique_ptr<Executor>> executors);
  ~DeliveryWorker();
  // Stops fetching; waits for the deliveries in flight until `deadline`
  // (those unfinished are redelivered by JetStream to some worker).
  void Stop(absl::Time deadline);
  DeliveryStats stats() const;
  // Actions recorded and not yet acknowledged by any worker.
  absl::StatusOr<uint64_t> Pending() const;

 private:
  struct Impl;
  explicit DeliveryWorker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace weir::nats

#endif  // WEIR_NATS_H_
