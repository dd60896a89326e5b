// The NATS options of `weir run` and `weir filter` (see docs/scale-out.md),
// and `weir run` with a NATS source, a NATS outbox or --deliver-only.
#ifndef WEIR_BINDINGS_CLI_NATS_FLAGS_H_
#define WEIR_BINDINGS_CLI_NATS_FLAGS_H_

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "weir/stream.h"

namespace weir::cli {

struct NatsFlags {
  std::string source;  // --source nats://HOST:PORT
  std::string stream, consumer, subject, creds;
  std::string sink, sink_subject;  // filter: --sink nats://… --sink-subject OUT
  bool sink_annotated = false;     // --sink-format annotated
  bool outbox_nats = false;        // run: --outbox nats
  std::string outbox_stream = "WEIR_ACTIONS";
  std::string deliver_consumer = "weir-deliver";
  bool deliver_only = false;
  int batch = 256;
  absl::Duration ack_wait = absl::Seconds(30);
  int64_t max_ack_pending = 1000;
  int max_in_flight = 256;

  bool any() const { return !source.empty() || !sink.empty() || outbox_nats || deliver_only; }
};

// Help text for the options, to append to a command's usage.
extern const char kNatsRunOptions[];
extern const char kNatsFilterOptions[];

// Takes `flag` if it is a NATS option (`value` fetches its argument): 1 taken,
// 0 not a NATS option, -1 a bad value (*error says why).
int ParseNatsFlag(const std::string& flag, const std::function<bool(std::string*)>& value,
                  bool run, NatsFlags* f, std::string* error);
// Checks the options together; "" when fine.
std::string CheckNatsFlags(const NatsFlags& f, bool run, bool have_inputs);

// Whether `weir run ARGS` is to run on NATS (a NATS source, --outbox nats or
// --deliver-only).
bool IsNatsRun(const std::vector<std::string>& args);
// `weir filter` with --source nats://… and/or --sink nats://…: runs
// `pipeline` from the NATS source (else from `fd`, shown as `name`) into the
// NATS sink (else into `local`). Runs until the pipeline is stopped.
absl::Status FilterNats(const NatsFlags& f, Pipeline& pipeline, Sink* local, int fd,
                        const std::string& name, size_t max_event_bytes, PipelineStats* stats);

// `weir run` on NATS; `args` after "run".
int RunNats(const std::vector<std::string>& args, FILE* out, FILE* err);

}  // namespace weir::cli

#endif  // WEIR_BINDINGS_CLI_NATS_FLAGS_H_
