// The network side of `weir serve`: HTTP/1.1, WebSocket and TLS on one
// io_context and one thread, with Boost.Beast. All Beast code lives in this
// file (its translation units are heavy to compile).
#include <signal.h>

#include <atomic>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <cstdio>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>  // first: Boost 1.74's asio headers need it with g++ 12

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "serve/serve.h"
#include "serve/service.h"

namespace weir::serve {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

struct Shared {
  explicit Shared(const ServeOptions& o) : options(o) {}
  const ServeOptions& options;
  net::io_context ioc{1};
  std::unique_ptr<Service> service;  // null in bare mode
  std::optional<ssl::context> tls;
  std::atomic<bool> stopping{false};
};

template <class Stream>
constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

template <class Stream>
class WsSession;

// What the service holds for a connection: it may outlive the session.
template <class Stream>
class Peer : public WsPeer {
 public:
  explicit Peer(std::weak_ptr<WsSession<Stream>> s) : s_(std::move(s)) {}
  void Send(std::shared_ptr<const std::string> m) override {
    if (auto s = s_.lock()) s->Enqueue(std::move(m));
  }
  void Close(uint16_t code, std::string reason) override {
    if (auto s = s_.lock()) s->PostClose(code, std::move(reason));
  }

 private:
  std::weak_ptr<WsSession<Stream>> s_;
};

template <class Stream>
class WsSession : public std::enable_shared_from_this<WsSession<Stream>> {
 public:
  WsSession(Shared& shared, Stream&& stream, bool authorized)
      : shared_(shared), ws_(std::move(stream)), authorized_(authorized) {}

  void Accept(http::request<http::string_body> req) {
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout t{};
    t.handshake_timeout = std::chrono::seconds(30);
    t.idle_timeout = std::chrono::seconds(shared_.options.ws_idle_seconds);
    t.keep_alive_pings = true;
    ws_.set_option(t);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "weir"); }));
    ws_.read_message_max(shared_.options.max_ws_message);
    ws_.text(true);
    ws_.async_accept(req, [self = this->shared_from_this()](error_code ec) {
      if (ec) return;
      self->id_ = self->shared_.service->WsOpen(
          std::make_shared<Peer<Stream>>(self->weak_from_this()), self->authorized_);
      self->open_ = true;
      self->Read();
    });
  }

  // Any thread. Over the bound the client is cut off: it does not read, and
  // must not hold up the others or grow without bound.
  void Enqueue(std::shared_ptr<const std::string> m) {
    if (dropped_.load(std::memory_order_relaxed)) return;
    if (queued_.fetch_add(1, std::memory_order_relaxed) >= shared_.options.client_queue) {
      if (!dropped_.exchange(true)) {
        shared_.service->CountDrop();
        net::post(ws_.get_executor(), [self = this->shared_from_this()] { self->Abort(); });
      }
      return;
    }
    net::post(ws_.get_executor(), [self = this->shared_from_this(), m = std::move(m)]() mutable {
      self->queue_.push_back(std::move(m));
      self->Write();
    });
  }

  void PostClose(uint16_t code, std::string reason) {
    net::post(ws_.get_executor(), [self = this->shared_from_this(), code, reason] {
      self->close_code_ = code;
      self->close_reason_ = reason;
      self->want_close_ = true;
      self->Write();
    });
  }

 private:
  void Read() {
    ws_.async_read(buffer_, [self = this->shared_from_this()](error_code ec, size_t) {
      if (ec) return self->Closed();
      std::string text = beast::buffers_to_string(self->buffer_.data());
      self->buffer_.consume(self->buffer_.size());
      self->shared_.service->WsMessage(self->id_, text);
      self->Read();
    });
  }

  // One write in flight at a time; a requested close goes after the queue.
  void Write() {
    if (writing_ || aborted_) return;
    if (queue_.empty()) {
      if (want_close_ && !closing_) {
        closing_ = true;
        ws_.async_close(
            websocket::close_reason(static_cast<websocket::close_code>(close_code_), close_reason_),
            [self = this->shared_from_this()](error_code) {});
      }
      return;
    }
    writing_ = true;
    ws_.async_write(net::buffer(*queue_.front()),
                    [self = this->shared_from_this()](error_code ec, size_t) {
                      self->writing_ = false;
                      self->queue_.pop_front();
                      self->queued_.fetch_sub(1, std::memory_order_relaxed);
                      if (ec) return self->Abort();
                      self->shared_.service->CountSent(1);
                      self->Write();
                    });
  }

  void Abort() {
    if (aborted_) return;
    aborted_ = true;
    error_code ec;
    beast::get_lowest_layer(ws_).socket().close(ec);
  }

  void Closed() {
    if (!open_) return;
    open_ = false;
    shared_.service->WsClosed(id_);
  }

  Shared& shared_;
  websocket::stream<Stream> ws_;
  beast::flat_buffer buffer_;
  bool authorized_;
  uint64_t id_ = 0;
  bool open_ = false, writing_ = false, closing_ = false, aborted_ = false, want_close_ = false;
  uint16_t close_code_ = 1000;
  std::string close_reason_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  std::atomic<size_t> queued_{0};
  std::atomic<bool> dropped_{false};
};

template <class Stream>
class HttpSession : public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  HttpSession(Shared& shared, Stream&& stream, bool loopback)
      : shared_(shared), stream_(std::move(stream)), loopback_(loopback) {}

  void Start() {
    if constexpr (kTls<Stream>) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](error_code ec) {
                                if (!ec) self->Read();
                              });
    } else {
      Read();
    }
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(shared_.options.max_header));
    parser_->body_limit(shared_.options.max_body);
    beast::get_lowest_layer(stream_).expires_after(
        std::chrono::seconds(shared_.options.http_idle_seconds));
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset ||
        ec == net::error::eof)
      return Shutdown();
    if (ec == http::error::body_limit)
      return Write({413, "application/json", "{\"error\":\"the body is over --max-body\"}"}, false);
    if (ec == http::error::header_limit)
      return Write({431, "application/json", "{\"error\":\"the headers are too large\"}"}, false);
    if (ec) return Write({400, "application/json", "{\"error\":\"not an HTTP request\"}"}, false);

    http::request<http::string_body>& req = parser_->get();
    keep_alive_ = req.keep_alive();
    if (shared_.options.bare) return Bare(req);
    HttpRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.loopback_peer = loopback_;
    for (const auto& f : req)
      r.headers.emplace_back(absl::AsciiStrToLower(std::string(f.name_string())),
                             std::string(f.value()));
    if (websocket::is_upgrade(req)) {
      std::string_view path = r.target.substr(0, r.target.find('?'));
      if (path != "/ws")
        return Write({404, "application/json", "{\"error\":\"WebSocket is at /ws\"}"}, false);
      if (auto refusal = shared_.service->CheckUpgrade(r)) return Write(std::move(*refusal), false);
      bool authorized = shared_.service->Authorized(r);
      auto ws = std::make_shared<WsSession<Stream>>(shared_, std::move(stream_), authorized);
      ws->Accept(parser_->release());
      return;
    }
    r.body = std::move(req.body());
    auto ex = beast::get_lowest_layer(stream_).get_executor();
    shared_.service->Handle(std::move(r), [self = this->shared_from_this(), ex](HttpResponse resp) {
      net::post(ex, [self, resp = std::move(resp)]() mutable {
        self->Write(std::move(resp), self->keep_alive_);
      });
    });
  }

  // The benchmark baseline: the same parsing and answers, no matching.
  void Bare(http::request<http::string_body>& req) {
    if (req.method() != http::verb::post || req.target() != "/events")
      return Write({404, "application/json", "{\"error\":\"bare mode serves POST /events\"}"},
                   keep_alive_);
    const std::string& b = req.body();
    size_t lines = std::count(b.begin(), b.end(), '\n') + (!b.empty() && b.back() != '\n');
    Write({202, "application/json",
           absl::StrCat("{\"accepted\":", lines, ",\"matched\":0,\"bad\":[]}")},
          keep_alive_);
  }

  void Write(HttpResponse resp, bool keep_alive) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->result(static_cast<unsigned>(resp.status));
    res->version(11);
    res->set(http::field::server, "weir");
    res->set(http::field::content_type, resp.content_type);
    if (resp.status == 401) res->set(http::field::www_authenticate, "Bearer");
    bool keep = keep_alive && !shared_.stopping;
    res->keep_alive(keep);
    res->body() = std::move(resp.body);
    res->prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(
        std::chrono::seconds(shared_.options.http_idle_seconds));
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res, keep](error_code ec, size_t) {
                        if (ec || !keep) return self->Shutdown();
                        self->Read();
                      });
  }

  void Shutdown() {
    if constexpr (kTls<Stream>) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
      stream_.async_shutdown([self = this->shared_from_this()](error_code) {});
    } else {
      error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  Shared& shared_;
  Stream stream_;
  bool loopback_;
  bool keep_alive_ = true;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(Shared& shared, tcp::acceptor acceptor)
      : shared_(shared), acceptor_(std::move(acceptor)) {}

  void Accept() {
    acceptor_.async_accept([self = shared_from_this()](error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec == net::error::operation_aborted || !self->acceptor_.is_open()) return;
        return self->Accept();  // e.g. out of file descriptors: keep serving the others
      }
      error_code e;
      auto peer = socket.remote_endpoint(e);
      bool loopback = !e && peer.address().is_loopback();
      socket.set_option(tcp::no_delay(true), e);
      beast::tcp_stream stream(std::move(socket));
      if (self->shared_.tls) {
        std::make_shared<HttpSession<beast::ssl_stream<beast::tcp_stream>>>(
            self->shared_,
            beast::ssl_stream<beast::tcp_stream>(std::move(stream), *self->shared_.tls), loopback)
            ->Start();
      } else {
        std::make_shared<HttpSession<beast::tcp_stream>>(self->shared_, std::move(stream), loopback)
            ->Start();
      }
      self->Accept();
    });
  }

  void Stop() {
    error_code ec;
    acceptor_.close(ec);
  }

 private:
  Shared& shared_;
  tcp::acceptor acceptor_;
};

bool ParseListen(const std::string& s, std::string* host, uint16_t* port) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  *host = s.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']')
    *host = host->substr(1, host->size() - 2);
  uint32_t p;
  if (!absl::SimpleAtoi(s.substr(colon + 1), &p) || p > 65535) return false;
  *port = static_cast<uint16_t>(p);
  return !host->empty();
}

int Run(const ServeOptions& options, FILE* err) {
  auto log = [err](std::string_view m) {
    fprintf(err, "%.*s\n", static_cast<int>(m.size()), m.data());
    fflush(err);
  };
  std::string host;
  uint16_t port = 0;
  if (!ParseListen(options.listen, &host, &port)) {
    log(absl::StrCat("weir serve: --listen wants HOST:PORT, not '", options.listen, "'"));
    return 2;
  }
  error_code ec;
  net::ip::address addr = net::ip::make_address(host, ec);
  if (ec) {
    log(absl::StrCat("weir serve: --listen: '", host, "' is not an IP address"));
    return 2;
  }
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    log("weir serve: --tls-cert and --tls-key go together");
    return 2;
  }

  Shared shared(options);
  if (!options.tls_cert.empty()) {
    shared.tls.emplace(ssl::context::tls_server);
    shared.tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                            ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                            ssl::context::no_tlsv1_1);
    shared.tls->use_certificate_chain_file(options.tls_cert, ec);
    if (!ec) shared.tls->use_private_key_file(options.tls_key, ssl::context::pem, ec);
    if (ec) {
      log(absl::StrCat("weir serve: TLS certificate or key: ", ec.message()));
      return 2;
    }
  }

  signal(SIGPIPE, SIG_IGN);  // a peer gone mid-write is an error code, not a signal
  net::signal_set stop_signals(shared.ioc, SIGINT, SIGTERM);
  net::signal_set hup(shared.ioc, SIGHUP);

  if (!options.bare) {
    auto s = Service::Start(options, log);
    if (!s.ok()) {
      log(absl::StrCat("weir serve: ", s.status().message()));
      return 2;
    }
    shared.service = std::move(*s);
  }

  tcp::acceptor acceptor(shared.ioc);
  tcp::endpoint endpoint(addr, port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    log(absl::StrCat("weir serve: cannot listen on ", options.listen, ": ", ec.message()));
    if (shared.service) shared.service->Shutdown();
    return 2;
  }
  tcp::endpoint bound = acceptor.local_endpoint(ec);
  std::string where = addr.is_v6()
                          ? absl::StrCat("[", bound.address().to_string(), "]:", bound.port())
                          : absl::StrCat(bound.address().to_string(), ":", bound.port());
  auto listener = std::make_shared<Listener>(shared, std::move(acceptor));
  listener->Accept();
  if (!options.port_file.empty()) {
    std::string tmp = options.port_file + ".tmp";
    if (FILE* f = fopen(tmp.c_str(), "w")) {
      fprintf(f, "%s\n", where.c_str());
      fclose(f);
      rename(tmp.c_str(), options.port_file.c_str());
    }
  }
  log(absl::StrCat("weir serve: listening on ", shared.tls ? "https://" : "http://", where,
                   options.bare ? " (bare: no matching)" : ""));

  std::function<void()> wait_hup = [&] {
    hup.async_wait([&](error_code e, int) {
      if (e) return;
      if (shared.service) shared.service->Reload();
      wait_hup();
    });
  };
  wait_hup();

  std::thread stopper;
  net::steady_timer linger(shared.ioc);
  stop_signals.async_wait([&](error_code e, int) {
    if (e) return;
    log("weir serve: stopping: no new requests; draining");
    shared.stopping = true;
    listener->Stop();
    hup.cancel();
    if (!shared.service) return shared.ioc.stop();
    for (auto& p : shared.service->Peers()) p->Close(1001, "server going away");
    stopper = std::thread([&] {
      shared.service->Shutdown();  // answers what was accepted, drains deliveries
      net::post(shared.ioc, [&] {
        // A moment for the last answers to be written.
        linger.expires_after(std::chrono::milliseconds(300));
        linger.async_wait([&](error_code) { shared.ioc.stop(); });
      });
    });
  });

  shared.ioc.run();
  if (stopper.joinable()) stopper.join();
  log("weir serve: stopped");
  return 0;
}

}  // namespace

int RunServe(const ServeOptions& options, FILE* err) {
  try {
    return Run(options, err);
  } catch (const std::exception& e) {
    fprintf(err, "weir serve: %s\n", e.what());
    return 1;
  }
}

}  // namespace weir::serve
