#include "bindings/cli/serve.h"

#include <cstdint>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "serve/serve.h"

namespace weir::cli {
namespace {

constexpr char kServeUsage[] =
    "usage: weir serve -r RULES [-r RULES]... [options]\n"
    "\n"
    "A notification service in one process: POST /events (JSON or NDJSON) and\n"
    "signed POST /hooks/NAME feed the rules; matched actions are recorded in the\n"
    "outbox under --state before the 202 answer, then delivered. GET /ws pushes\n"
    "events to WebSocket clients by job id (ArcGIS Workflow Manager's message\n"
    "protocol) or by rule; /webhooks is a registry of webhooks (ArcGIS portal\n"
    "style); /healthz, /readyz, /metrics. SIGHUP reloads the rule files, SIGTERM\n"
    "drains and stops. See docs/serve.md.\n"
    "\n"
    "options:\n"
    "  -r, --rules FILE        a rule file (YAML or JSON; repeat for several)\n"
    "  --listen HOST:PORT      where to listen (default 127.0.0.1:8080; port 0: any)\n"
    "  --state DIR             outbox, dead letters, registered webhooks (.weir-state)\n"
    "  --token-file FILE       bearer tokens, one a line; without it only loopback\n"
    "                          clients are served\n"
    "  --tls-cert FILE --tls-key FILE   serve HTTPS and WSS (PEM)\n"
    "  --max-body BYTES        largest request body (default 16777216; more: 413)\n"
    "  --job-id-path PATH      another path that holds a job id (repeatable; jobId and\n"
    "                          message.jobId are always read)\n"
    "  --threads N             matching threads (default 1)\n"
    "  --sync normal|full      outbox durability (see weir run)\n"
    "  --max-clients N         WebSocket connections (default 10000)\n"
    "  --client-queue N        messages waiting for one client before it is cut off\n"
    "                          (default 4096)\n"
    "  --max-ws-message BYTES  largest client message (default 1048576)\n"
    "  --drain-timeout SECS    SIGTERM: time left to deliveries (default 30)\n"
    "  --port-file FILE        write the bound HOST:PORT there once listening\n"
    "Exit status: 0 stopped by SIGTERM/SIGINT, 1 a fatal error, 2 usage or rule errors.\n";

int Usage(FILE* err, const std::string& msg) {
  fprintf(err, "weir serve: %s\n\n%s", msg.c_str(), kServeUsage);
  return 2;
}

}  // namespace

int Serve(const std::vector<std::string>& args, FILE* out, FILE* err) {
  serve::ServeOptions o;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      fputs(kServeUsage, out);
      return 0;
    }
    if (a == "--bare") {  // benchmark baseline, undocumented on purpose
      o.bare = true;
      continue;
    }
    if (i + 1 >= args.size()) return Usage(err, absl::StrCat(a, " needs a value"));
    const std::string& v = args[++i];
    auto size = [&](size_t* out_value) {
      uint64_t x;
      if (!absl::SimpleAtoi(v, &x) || x == 0) return false;
      *out_value = x;
      return true;
    };
    int n = 0;
    if (a == "-r" || a == "--rules") {
      o.rule_files.push_back(v);
    } else if (a == "--listen") {
      o.listen = v;
    } else if (a == "--state") {
      o.state_dir = v;
    } else if (a == "--token-file") {
      o.token_file = v;
    } else if (a == "--tls-cert") {
      o.tls_cert = v;
    } else if (a == "--tls-key") {
      o.tls_key = v;
    } else if (a == "--job-id-path") {
      o.job_id_paths.push_back(v);
    } else if (a == "--port-file") {
      o.port_file = v;
    } else if (a == "--max-body") {
      if (!size(&o.max_body)) return Usage(err, "--max-body wants a positive number of bytes");
    } else if (a == "--max-clients") {
      if (!size(&o.max_clients)) return Usage(err, "--max-clients wants a positive number");
    } else if (a == "--client-queue") {
      if (!size(&o.client_queue)) return Usage(err, "--client-queue wants a positive number");
    } else if (a == "--max-ws-message") {
      if (!size(&o.max_ws_message)) return Usage(err, "--max-ws-message wants bytes");
    } else if (a == "--threads") {
      if (!absl::SimpleAtoi(v, &n) || n < 1 || n > 256)
        return Usage(err, "--threads wants 1 to 256");
      o.threads = n;
    } else if (a == "--drain-timeout") {
      if (!absl::SimpleAtoi(v, &n) || n < 0) return Usage(err, "--drain-timeout wants seconds");
      o.drain_seconds = n;
    } else if (a == "--sync") {
      if (v == "normal")
        o.sync = SyncMode::kNormal;
      else if (v == "full")
        o.sync = SyncMode::kFull;
      else
        return Usage(err, "--sync is normal or full");
    } else {
      return Usage(err, absl::StrCat("unknown option '", a, "'"));
    }
  }
  if (o.rule_files.empty() && !o.bare) return Usage(err, "give at least one rule file with -r");
  return serve::RunServe(o, err);
}

}  // namespace weir::cli
