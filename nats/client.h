// Private to weir::nats: one cnats connection with its JetStream context,
// made from ConnectOptions (credentials taken out of the URL, reconnecting
// forever with backoff), and the stream/consumer set-up the parts share.
//
// Thread safety: a Client may be used from any thread (cnats connections are
// thread-safe); Log may be called from cnats' callback threads.
#ifndef WEIR_NATS_CLIENT_H_
#define WEIR_NATS_CLIENT_H_

#include <nats/nats.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "weir/nats.h"

namespace weir::nats {

class Client {
 public:
  static absl::StatusOr<std::unique_ptr<Client>> Connect(const ConnectOptions& options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  natsConnection* nc() const { return nc_; }
  jsCtx* js() const { return js_; }
  const std::string& url() const { return url_; }  // redacted
  bool connected() const { return natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED; }
  void Log(std::string_view message) const;
  // A Status for a failed cnats call: what failed, the server (redacted),
  // the cnats status text and the JetStream error code. Never the library's
  // own last-error text, which may quote a URL.
  absl::Status Error(std::string_view what, natsStatus s, jsErrCode code = jsErrCode(0)) const;

  // The stream must exist (a clear error naming it if not).
  absl::Status CheckStream(const std::string& stream) const;
  // Creates the stream with `subjects` if it does not exist (file storage,
  // duplicate window as given).
  absl::Status EnsureStream(const std::string& stream, const std::vector<std::string>& subjects,
                            absl::Duration duplicate_window) const;
  // Creates the durable pull consumer if it does not exist.
  absl::Status EnsureConsumer(const std::string& stream, const std::string& consumer,
                              const std::string& filter_subject,
                              const ConsumerDefaults& defaults) const;
  // Sleeps up to `d`, returning early once connected again.
  void WaitConnected(absl::Duration d) const;

  // One message to publish to JetStream; `id` becomes its Nats-Msg-Id.
  struct Out {
    std::string subject;
    std::string id;
    std::vector<std::pair<const char*, std::string>> headers;
    std::string_view data;
  };
  // Publishes every message (pipelined, without waiting for each) and returns once JetStream has
  // stored each (a duplicate id counts as stored); what failed or got no
  // answer (the connection dropped, the server restarted) is sent again,
  // with backoff, until stored or `*interrupted`. One caller at a time.
  absl::Status PublishAll(const std::vector<Out>& msgs, const std::atomic<bool>* interrupted);

 private:
  Client() = default;
  static void OnDisconnected(natsConnection* nc, void* self);
  static void OnReconnected(natsConnection* nc, void* self);
  static void OnError(natsConnection* nc, natsSubscription* sub, natsStatus err, void* self);
  static int64_t ReconnectDelay(natsConnection* nc, int attempts, void* self);

  // What cnats' callbacks are given instead of `this`: they may run on
  // cnats' threads after the Client is gone (a disconnect reported while
  // the connection closes), so they find the Client through the hub, under
  // its lock, and the destructor clears it first. Hubs are never freed.
  struct Hub;
  static Hub* NewHub(Client* c);
  Hub* hub_ = nullptr;
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
  std::string url_;
  ConnectOptions options_;
  std::atomic<bool> closing_{false};
  // PublishAll's acknowledgements: a subscription to INBOX.>, replies named
  // INBOX.ROUND.INDEX.
  natsSubscription* acks_ = nullptr;
  std::string inbox_;
  uint64_t round_ = 0;
};

// Splits the credentials off a URL list: the URLs without them, and the
// first user/password or token found.
struct ParsedUrl {
  std::vector<std::string> servers;
  std::string user, password, token;
};
absl::StatusOr<ParsedUrl> ParseUrl(std::string_view url);

// Debian's Abseil has its own string_view type.
inline absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline std::string_view Sv(absl::string_view s) { return std::string_view(s.data(), s.size()); }

// A durable pull consumer read with weir's own pull requests, not cnats'
// natsSubscription_Fetch: Debian's cnats 3.4.1 overflows its array in
// _fetch when late messages of an earlier fetch are pending (fixed in nats.c
// 3.10.0, pull request 749; docs/scale-out.md, "Known problems"). Each
// request is a publish to $JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer> with
// a reply subject of its own under one inbox subscription, so the end of a
// request (its 404 or 408 status) is never taken for another's, and
// messages that arrive after a fetch gave up are returned by the next.
//
// Thread safety: Fetch from one thread at a time; Ack, Nak and InProgress
// from any thread.
class Puller {
 public:
  // Checks that the consumer exists (an error naming it if not).
  static absl::StatusOr<std::unique_ptr<Puller>> Bind(const Client& client,
                                                      const std::string& stream,
                                                      const std::string& consumer);
  ~Puller();
  Puller(const Puller&) = delete;
  Puller& operator=(const Puller&) = delete;

  // Appends up to `batch` messages to `out`, waiting up to `wait_ms` for the
  // first. NATS_OK with none appended when none came; NATS_CONNECTION_CLOSED
  // once the connection is closed; another status (disconnected, no
  // JetStream, a 409 from the server, its text in `*error`) to retry later.
  natsStatus Fetch(std::vector<natsMsg*>* out, int batch, int64_t wait_ms, std::string* error);

  // Settle a fetched message through its reply subject ($JS.ACK…). The
  // message stays the caller's to destroy.
  void Ack(natsMsg* m) const { Reply(m, "+ACK"); }
  void Nak(natsMsg* m) const { Reply(m, "-NAK"); }
  void InProgress(natsMsg* m) const { Reply(m, "+WPI"); }

 private:
  Puller() = default;
  void Reply(natsMsg* m, const char* what) const;
  // One pull request; returns once it ended (status), `batch` came in or
  // `deadline` (ms, nats_Now) passed.
  natsStatus Request(std::vector<natsMsg*>* out, size_t want, bool one_shot, int64_t deadline,
                     std::string* error, bool* others_first);
  natsConnection* nc_ = nullptr;
  natsSubscription* sub_ = nullptr;
  std::string next_subject_;
  std::string inbox_;
  uint64_t requests_ = 0;
};

int64_t ToNanos(absl::Duration d);
int64_t ToMillis(absl::Duration d);

}  // namespace weir::nats

#endif  // WEIR_NATS_CLIENT_H_
