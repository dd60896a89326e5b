// serve/serve.h: `weir serve`, a notification service in one process: HTTP
// ingest (POST /events, signed POST /hooks/NAME), WebSocket push (GET /ws,
// ArcGIS Workflow Manager's WebSocket message protocol), a webhook registry
// in the style of the ArcGIS portal's webhooks (/webhooks), health and
// Prometheus metrics. See docs/serve.md.
//
// Thread safety: RunServe() blocks the calling thread until SIGTERM or SIGINT
// (or a fatal error); run it once per process (it owns the signal handlers).
#ifndef WEIR_SERVE_SERVE_H_
#define WEIR_SERVE_SERVE_H_

#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

#include "weir/actions.h"

namespace weir::serve {

struct ServeOptions {
  std::vector<std::string> rule_files;
  std::string listen = "127.0.0.1:8080";  // HOST:PORT; port 0 picks a free one
  std::string state_dir = ".weir-state";
  std::string token_file;         // one token a line; empty: loopback clients only
  std::string tls_cert, tls_key;  // both or neither (PEM files)
  SyncMode sync = SyncMode::kNormal;
  int threads = 1;  // matching threads

  // Paths read for a WebSocket client's job ids, besides jobId and
  // message.jobId.
  std::vector<std::string> job_id_paths;

  // Limits (docs/limits.md).
  size_t max_body = 16 << 20;          // a longer request body: 413
  size_t max_header = 16 << 10;        // request line and headers: 431
  size_t max_ws_message = 1 << 20;     // a longer client message closes it (1009)
  size_t max_clients = 10'000;         // WebSocket connections; more: 503
  size_t client_queue = 4096;          // messages waiting for one client; more: closed
  size_t max_pending_requests = 1024;  // ingest requests waiting to be matched; more: 503
  int http_idle_seconds = 30;          // a quiet HTTP connection is closed
  int ws_idle_seconds = 300;           // a WebSocket that answers no ping is closed
  int drain_seconds = 30;              // SIGTERM: deliveries get this long

  // Where the listening address is written once bound ("" none): tests and
  // scripts that ask for port 0.
  std::string port_file;
  // Benchmark baseline: POST /events is answered at once (202, lines
  // counted) without matching or recording; nothing else is served.
  bool bare = false;
};

// Runs the service until SIGTERM/SIGINT; messages for people go to `err`.
// Exit status: 0 stopped cleanly, 2 bad options or rule files, 1 a fatal
// error while running.
int RunServe(const ServeOptions& options, FILE* err);

}  // namespace weir::serve

#endif  // WEIR_SERVE_SERVE_H_
