// serve/service.h: what `weir serve` does, apart from the network (which is
// serve/server.cc, the only file that includes Boost.Beast): routing, auth,
// ingest into the pipeline and the dispatcher, WebSocket subscriptions as
// rules, the webhook registry, metrics.
//
// Thread safety: every method may be called from any thread. A Reply may be
// called from any thread, exactly once. WsPeer::Send and Close must be
// thread-safe (the server posts them to the connection's executor).
#ifndef WEIR_SERVE_SERVICE_H_
#define WEIR_SERVE_SERVICE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "serve/serve.h"

namespace weir::serve {

struct HttpRequest {
  std::string method;                                        // GET, POST, DELETE, ...
  std::string target;                                        // path and query as sent
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;
  bool loopback_peer = false;

  const std::string* Header(std::string_view lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

using Reply = std::function<void(HttpResponse)>;

// One WebSocket connection, as the service sees it.
class WsPeer {
 public:
  virtual ~WsPeer() = default;
  // Queues a text message. Over the client's bound, the connection is closed
  // (and counted) instead.
  virtual void Send(std::shared_ptr<const std::string> message) = 0;
  // Closes with a WebSocket close code and reason.
  virtual void Close(uint16_t code, std::string reason) = 0;
};

class Service {
 public:
  // Loads the rules, opens the state directory, starts matching and
  // delivery. InvalidArgument (with every diagnostic) for bad rule files.
  static absl::StatusOr<std::unique_ptr<Service>> Start(const ServeOptions& options,
                                                        std::function<void(std::string_view)> log);
  virtual ~Service() = default;

  // An HTTP request that is not a WebSocket upgrade.
  virtual void Handle(HttpRequest request, Reply reply) = 0;
  // A WebSocket upgrade: a refusal, or nullopt to accept it (then WsOpen).
  virtual std::optional<HttpResponse> CheckUpgrade(const HttpRequest& request) = 0;
  // An accepted WebSocket connection; `authorized` when its upgrade carried a
  // valid token (or no token is needed). Returns the connection's id.
  virtual uint64_t WsOpen(std::shared_ptr<WsPeer> peer, bool authorized) = 0;
  virtual void WsMessage(uint64_t connection, std::string_view text) = 0;
  virtual void WsClosed(uint64_t connection) = 0;
  // A client was closed for not reading its messages.
  virtual void CountDrop() = 0;
  virtual void CountSent(size_t messages) = 0;
  // The upgrade carries a valid token (or none is needed).
  virtual bool Authorized(const HttpRequest& request) const = 0;

  // SIGHUP: reads the rule files again; a file with mistakes is reported and
  // the running set kept.
  virtual void Reload() = 0;
  // SIGTERM: no new ingest; what was accepted is matched and recorded,
  // deliveries drain until the deadline, the rest stays in the outbox.
  virtual void Shutdown() = 0;
  // Every open WebSocket connection (to close them at shutdown).
  virtual std::vector<std::shared_ptr<WsPeer>> Peers() = 0;
};

}  // namespace weir::serve

#endif  // WEIR_SERVE_SERVICE_H_
