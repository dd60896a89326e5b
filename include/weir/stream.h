// weir/stream.h: the event pipeline that `weir filter`, `weir run`, `weir
// serve` and the NATS source share: a Source of events -> N matching threads
// on one immutable RuleSet -> a Sink that sees each validated, matched event
// with its rule ids, in input order.
//
// Thread safety: a Pipeline runs one Source into one Sink per Run() call, on
// the calling thread plus options.threads - 1 (or options.threads) workers.
// Source::Next is called from one thread at a time; Sink::Prepare from any
// matching thread, concurrently for different batches; Sink::OnBatch and
// Source::Done from one thread at a time, in input order. SetRules() and
// Stop() may be called from any thread while Run() runs.
#ifndef WEIR_STREAM_H_
#define WEIR_STREAM_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "weir/engine.h"

namespace weir {

// An event's place in its input. Stable: what is derived from it (the
// webhook-id of its deliveries) is the same on a retry, a restart or on
// another worker.
struct EventPosition {
  uint64_t line = 0;      // 1-based physical line of an NDJSON input; 0 if none
  uint64_t offset = 0;    // byte offset of the line's start in the input
  uint64_t sequence = 0;  // the source's own: ingest or stream sequence; 0 if none
};

// Events with their bytes. Every event is followed by at least
// Matcher::kPadding readable bytes (Matcher::MatchPadded reads no copy).
class EventBatch {
 public:
  struct Event {
    uint32_t offset = 0;       // into the batch's bytes
    uint32_t length = 0;       // as kept: at most the event size limit
    uint64_t full_length = 0;  // as it was in the input (> length: cut, over the limit)
    EventPosition position;
  };

  EventBatch();
  ~EventBatch();
  EventBatch(EventBatch&&) noexcept;
  EventBatch& operator=(EventBatch&&) noexcept;

  std::string_view event(const Event& e) const { return {data() + e.offset, e.length}; }
  bool too_long(const Event& e) const { return e.full_length > e.length; }
  const std::vector<Event>& events() const { return events_; }
  bool empty() const { return events_.empty(); }
  const char* data() const { return view_ ? view_ : data_; }

  // Building a batch (sources): drops the events, keeps the buffer.
  void Clear();
  // Copies one event's bytes in.
  void Add(std::string_view bytes, const EventPosition& position);
  // Room for `n` more bytes at the end (padding kept after it); the caller
  // writes into it, then Commit()s what it wrote and AddRef()s the events.
  char* Reserve(size_t n);
  void Commit(size_t n);
  // Drops the bytes from `n` on (a partial line that goes to the next batch).
  void Truncate(size_t n);
  size_t size() const { return size_; }
  void AddRef(const Event& e) { events_.push_back(e); }
  // Makes the batch's bytes data[0, size) without copying them: the source
  // keeps them, and at least Matcher::kPadding readable bytes after them,
  // until the batch is cleared or destroyed. Reserve, Commit, Add and
  // Truncate copy them into the batch's own buffer first.
  void Borrow(const char* data, size_t size);

  // Set by the pipeline: batches of one Run() are numbered from 0.
  uint64_t sequence = 0;
  // Where the input stands after this batch (sources that can resume: the
  // byte offset and line count after its last event).
  uint64_t end_offset = 0;
  uint64_t end_line = 0;
  // For the source's own use (e.g. which messages to acknowledge in Done).
  uint64_t token = 0;

 private:
  void Grow(size_t n);
  void Pad();
  void Own();
  char* data_ = nullptr;
  const char* view_ = nullptr;  // borrowed bytes (Borrow), or null
  size_t size_ = 0, capacity_ = 0;
  std::vector<Event> events_;
};

// Where events come from.
class Source {
 public:
  virtual ~Source() = default;
  // The input's name in messages and in delivery ids ("-" for stdin).
  virtual const std::string& name() const = 0;
  // Fills `batch` (cleared by the caller) with the next events and sets *got;
  // *got false is the end of the input. Must not hold back events that have
  // arrived to fill a batch: a slow stream's events go on as they come.
  virtual absl::Status Next(EventBatch* batch, bool* got) = 0;
  // Called in input order once the sink has taken every event of `batch`
  // (Sink::OnBatch returned OK): what the batch triggered is recorded, so the
  // source may acknowledge it (HTTP 202, a JetStream ack).
  virtual void Done(const EventBatch& batch) {}
  // Asks a blocked Next() to return soon (with *got false). Thread-safe.
  virtual void Interrupt() {}
};

struct FdSourceOptions {
  size_t max_event_bytes = EventLimits{}.max_event_bytes;
  size_t batch_bytes = 1 << 20;
  // Resume: start reading at this byte offset (a regular file is seeked; a
  // stream is refused), counting lines from start_line.
  uint64_t start_offset = 0;
  uint64_t start_line = 0;
  // Called (on the reading thread, during Next) with the bytes of a line over
  // max_event_bytes that the batch does not keep: everything after its first
  // max_event_bytes bytes up to its newline (a \r before it included), in
  // pieces, in order; so the whole line can be kept elsewhere (weir filter
  // --errors) without being buffered here.
  std::function<void(const EventPosition& line, std::string_view rest)> on_cut;
  // A regular file at least this big is read through a read-only mapping:
  // batches borrow its bytes instead of copying them (docs/performance.md,
  // "Reading the input"). UINT64_MAX: always read().
  uint64_t map_min_bytes = uint64_t{4} << 20;
};

// NDJSON from a file descriptor (not owned). From a regular file batches
// hold about batch_bytes; from a pipe, socket or terminal a batch ends at
// what has come once it holds a whole line. A UTF-8 byte-order mark at the
// start is skipped. A large regular file is mapped (map_min_bytes); if it
// shrinks while it is read, Next() fails with DATA_LOSS (the lines read from
// the vanished part hold NUL bytes: they are reported as not JSON).
absl::StatusOr<std::unique_ptr<Source>> MakeFdSource(int fd, std::string name,
                                                     const FdSourceOptions& options = {});
// NDJSON from memory (tests, embedders).
std::unique_ptr<Source> MakeMemorySource(std::string ndjson, std::string name,
                                         const FdSourceOptions& options = {});

// One matched event, already validated completely.
struct Match {
  std::string_view event;         // the event's bytes as read
  EventPosition position;
  absl::Span<const uint32_t> rules;  // slots in BatchResult::rules, ascending
};

// A line that is not exactly one JSON object, or is over a limit.
struct BadEvent {
  EventPosition position;
  std::string reason;      // the documented reasons (docs/limits.md)
  std::string_view bytes;  // as kept (cut at the event size limit)
  bool too_long = false;   // over the event size limit: `bytes` is its head
};

struct BatchResult {
  const Source* source = nullptr;
  const EventBatch* batch = nullptr;
  // The rule set this batch was matched with (hot reload may swap it).
  std::shared_ptr<const RuleSet> rules;
  std::vector<Match> matches;
  // Where matches[i].rules point: every match's rule slots, one after another.
  std::vector<uint32_t> match_rules;
  std::vector<BadEvent> bad;
  uint64_t lines = 0, blank = 0, events = 0, bytes = 0;
  // Free for Sink::Prepare (work done on the matching thread, e.g. output
  // formatted there; OnBatch then only writes it).
  std::string prepared;
};

// Where matched events go.
class Sink {
 public:
  virtual ~Sink() = default;
  // On a matching thread, batches concurrently: work that needs no order.
  virtual void Prepare(BatchResult* result) {}
  // One call at a time, in input order. May block: reading then waits
  // (backpressure). An error stops the pipeline; Run() returns it.
  virtual absl::Status OnBatch(const BatchResult& result) = 0;
};

struct PipelineOptions {
  int threads = 1;
  bool validate_all = false;  // check every line completely, not just the matched ones
  EventLimits limits;
  // Batches read ahead of the sink; 0: 4 per thread.
  size_t max_batches_in_flight = 0;
};

struct PipelineStats {
  uint64_t lines = 0, blank = 0, bad = 0, events = 0, matched = 0, bytes = 0;
};

class Pipeline {
 public:
  Pipeline(std::shared_ptr<const RuleSet> rules, const PipelineOptions& options = {});
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Runs until the source ends, Stop() is called or the sink fails. Every
  // batch read before is matched and handed to the sink before it returns.
  absl::Status Run(Source& source, Sink& sink, PipelineStats* stats = nullptr);
  // Takes effect from the next batch read. Thread-safe.
  void SetRules(std::shared_ptr<const RuleSet> rules);
  std::shared_ptr<const RuleSet> rules() const;
  // Makes Run() stop reading (interrupting the source) and return once what
  // was read is done. Thread-safe; may be called from a thread that a signal
  // handler wakes.
  void Stop();
  // Whether Stop() was called. A stopped pipeline stays stopped: Run()
  // returns at once.
  bool stopped() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace weir

#endif  // WEIR_STREAM_H_
