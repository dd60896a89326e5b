// http_receiver: a fast HTTP/1.1 receiver for webhook tests and benchmarks.
// One thread, epoll, keep-alive and pipelining; binds 127.0.0.1 only.
//
//   http_receiver [--port N] [--out FILE] [--script "FLAGS"] [FLAGS]
//
// Prints the port it listens on as stdout's first line. Every request but
// GET /_stats is recorded (with --out) as one JSON line
//   {"n":1,"method":"POST","path":"/hook","headers":{"name":"value",...},"body":"..."}
// (header names in lower case; a repeated header's values joined by ", ").
// How it answers (FLAGS; --script takes the same flags in one string):
//   --status N / --respond N   the answer (default 200)
//   --times N / --fail-first N only the first N requests get --status; the
//                              rest get --then (default 200)
//   --then N                   the answer after those
//   --retry-after S            add Retry-After: S to --status answers
//   --location URL             add Location: URL to --status answers
//   --delay-ms N               answer every request N ms late (a slow target)
//   --dedupe                   count distinct webhook-id values
// A request to /s/CODE (e.g. /s/410) is answered CODE whatever the script
// says. GET /_stats answers {"requests":N,"distinct_ids":M}.
// SIGTERM or SIGINT: flushes FILE and exits 0.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace {

volatile sig_atomic_t g_stop = 0;

struct Script {
  int status = 200;
  long times = -1;  // -1: every request
  int then = 200;
  std::string retry_after;
  std::string location;
  int delay_ms = 0;
  bool dedupe = false;
};

[[noreturn]] void Usage(const std::string& msg) {
  fprintf(stderr, "http_receiver: %s\n", msg.c_str());
  exit(2);
}

void ParseFlags(const std::vector<std::string>& args, Script* s, int* port, std::string* out);

std::vector<std::string> SplitWords(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

void ParseFlags(const std::vector<std::string>& args, Script* s, int* port, std::string* out) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) Usage(a + " needs a value");
      return args[++i];
    };
    auto number = [&]() -> long {
      const std::string& v = value();
      char* end = nullptr;
      long n = strtol(v.c_str(), &end, 10);
      if (end == v.c_str() || *end) Usage(a + " needs a number");
      return n;
    };
    if (a == "--port") {
      *port = static_cast<int>(number());
    } else if (a == "--out") {
      *out = value();
    } else if (a == "--script") {
      ParseFlags(SplitWords(value()), s, port, out);
    } else if (a == "--status" || a == "--respond") {
      s->status = static_cast<int>(number());
    } else if (a == "--times" || a == "--fail-first") {
      s->times = number();
    } else if (a == "--then") {
      s->then = static_cast<int>(number());
    } else if (a == "--retry-after") {
      s->retry_after = value();
    } else if (a == "--location") {
      s->location = value();
    } else if (a == "--delay-ms") {
      s->delay_ms = static_cast<int>(number());
    } else if (a == "--dedupe") {
      s->dedupe = true;
    } else {
      Usage("unknown flag " + a);
    }
  }
}

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 302: return "Found";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 410: return "Gone";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

void AppendJson(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(ch);
    } else if (c < 0x20) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", c);
      out->append(buf);
    } else {
      out->push_back(ch);
    }
  }
  out->push_back('"');
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (tolower(static_cast<unsigned char>(a[i])) != tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

struct Conn {
  int fd = -1;
  uint64_t serial = 0;  // fds are reused; delayed answers check this
  std::string in;   // bytes read, not yet parsed
  size_t parsed = 0;
  std::string out;  // bytes to write
  size_t written = 0;
  bool close_after = false;
  bool want_write = false;  // EPOLLOUT registered
  int delayed = 0;          // answers waiting for their time
};

struct Delayed {
  std::chrono::steady_clock::time_point due;
  int fd;
  uint64_t serial;
  std::string response;
  bool close_after;
};

class Server {
 public:
  Server(Script script, FILE* out) : script_(std::move(script)), out_(out) {}

  int Listen(int port) {
    lfd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      perror("http_receiver: bind");
      exit(2);
    }
    if (listen(lfd_, 1024) != 0) {
      perror("http_receiver: listen");
      exit(2);
    }
    socklen_t len = sizeof addr;
    getsockname(lfd_, reinterpret_cast<sockaddr*>(&addr), &len);
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = lfd_;
    epoll_ctl(ep_, EPOLL_CTL_ADD, lfd_, &ev);
    return ntohs(addr.sin_port);
  }

  void Run() {
    std::vector<epoll_event> events(256);
    while (!g_stop) {
      int timeout = 100;
      if (!delayed_.empty()) {
        auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
                        delayed_.front().due - std::chrono::steady_clock::now())
                        .count();
        timeout = static_cast<int>(std::max<long>(0, std::min<long>(wait + 1, timeout)));
      }
      int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), timeout);
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == lfd_) {
          Accept();
          continue;
        }
        auto it = conns_.find(fd);
        if (it == conns_.end()) continue;
        Conn* c = it->second.get();
        if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
          if (!Read(c)) {
            Close(c);
            continue;
          }
        }
        if (!Flush(c)) Close(c);
      }
      SendDue();
      if (out_) fflush(out_);
    }
    if (out_) fflush(out_);
  }

 private:
  void Accept() {
    for (;;) {
      int fd = accept4(lfd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto c = std::make_unique<Conn>();
      c->fd = fd;
      c->serial = ++serials_;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = fd;
      epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
      conns_[fd] = std::move(c);
    }
  }

  void Close(Conn* c) {
    epoll_ctl(ep_, EPOLL_CTL_DEL, c->fd, nullptr);
    close(c->fd);
    conns_.erase(c->fd);
  }

  // False: the connection is done (closed by the peer or broken).
  bool Read(Conn* c) {
    char buf[65536];
    for (;;) {
      ssize_t n = read(c->fd, buf, sizeof buf);
      if (n > 0) {
        c->in.append(buf, static_cast<size_t>(n));
        if (static_cast<size_t>(n) < sizeof buf) break;
        continue;
      }
      if (n == 0) return false;
      if (errno == EAGAIN || errno == EINTR) break;
      return false;
    }
    while (ParseOne(c)) {
    }
    if (c->parsed > 0) {
      c->in.erase(0, c->parsed);
      c->parsed = 0;
    }
    return true;
  }

  // Parses one whole request from c->in, if there is one, and answers it.
  bool ParseOne(Conn* c) {
    std::string_view in(c->in);
    in.remove_prefix(c->parsed);
    if (in.empty()) return false;
    // Not HTTP (a TLS hello, say) or a head too long: 400 and close, as
    // servers do.
    size_t end = in.find("\r\n\r\n");
    if (!(in[0] >= 'A' && in[0] <= 'Z') || (end == std::string_view::npos && in.size() > 65536)) {
      c->out += "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      c->close_after = true;
      c->parsed = c->in.size();
      return false;
    }
    if (end == std::string_view::npos) return false;
    std::string_view head = in.substr(0, end);
    size_t line_end = head.find("\r\n");
    std::string_view request_line = head.substr(0, line_end);
    size_t sp1 = request_line.find(' ');
    size_t sp2 = request_line.rfind(' ');
    if (sp1 == std::string_view::npos || sp2 == sp1) {
      c->out += "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      c->close_after = true;
      c->parsed = c->in.size();
      return false;
    }
    std::string_view method = request_line.substr(0, sp1);
    std::string_view path = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string_view version = request_line.substr(sp2 + 1);
    size_t content_length = 0;
    bool close = version == "HTTP/1.0";
    std::vector<std::pair<std::string_view, std::string_view>> headers;
    std::string_view webhook_id;
    std::string_view rest = line_end == std::string_view::npos ? "" : head.substr(line_end + 2);
    while (!rest.empty()) {
      size_t e = rest.find("\r\n");
      std::string_view line = rest.substr(0, e);
      rest = e == std::string_view::npos ? "" : rest.substr(e + 2);
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string_view name = line.substr(0, colon);
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
      if (IEquals(name, "content-length")) content_length = strtoull(std::string(value).c_str(), nullptr, 10);
      if (IEquals(name, "connection")) {
        if (IEquals(value, "close")) close = true;
        if (IEquals(value, "keep-alive")) close = false;
      }
      if (IEquals(name, "webhook-id")) webhook_id = value;
      headers.emplace_back(name, value);
    }
    if (in.size() < end + 4 + content_length) return false;  // body not all here yet
    std::string_view body = in.substr(end + 4, content_length);
    c->parsed += end + 4 + content_length;

    if (method == "GET" && path == "/_stats") {
      std::string json = "{\"requests\":" + std::to_string(requests_) +
                         ",\"distinct_ids\":" + std::to_string(ids_.size()) + "}";
      Answer(c, 200, json, close, false);
      return true;
    }
    ++requests_;
    if (script_.dedupe && !webhook_id.empty()) ids_.emplace(webhook_id);
    if (out_) {
      std::string line = "{\"n\":" + std::to_string(requests_) + ",\"method\":";
      AppendJson(&line, method);
      line += ",\"path\":";
      AppendJson(&line, path);
      line += ",\"headers\":{";
      // Lower-case names; a repeated header's values joined by ", ".
      std::map<std::string, std::string> merged;
      std::vector<std::string> order;
      for (auto [name, value] : headers) {
        std::string lower(name);
        for (char& ch : lower) ch = static_cast<char>(tolower(static_cast<unsigned char>(ch)));
        auto [it, fresh] = merged.emplace(lower, std::string(value));
        if (fresh) {
          order.push_back(lower);
        } else {
          it->second += ", ";
          it->second += value;
        }
      }
      for (size_t i = 0; i < order.size(); ++i) {
        if (i) line += ',';
        AppendJson(&line, order[i]);
        line += ':';
        AppendJson(&line, merged[order[i]]);
      }
      line += "},\"body\":";
      AppendJson(&line, body);
      line += "}\n";
      fwrite(line.data(), 1, line.size(), out_);
    }
    int status = script_.then;
    bool scripted = script_.times < 0 || requests_ <= static_cast<uint64_t>(script_.times);
    if (scripted) status = script_.status;
    if (path.substr(0, 3) == "/s/" && path.size() >= 6) {
      status = atoi(std::string(path.substr(3, 3)).c_str());
      scripted = true;
    }
    Answer(c, status, "", close, scripted);
    return !close;
  }

  void Answer(Conn* c, int status, const std::string& body, bool close, bool scripted) {
    std::string r = "HTTP/1.1 " + std::to_string(status) + " " + Reason(status) + "\r\n";
    if (scripted && !script_.retry_after.empty()) r += "Retry-After: " + script_.retry_after + "\r\n";
    if (scripted && !script_.location.empty()) r += "Location: " + script_.location + "\r\n";
    if (!body.empty()) r += "Content-Type: application/json\r\n";
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    if (close) r += "Connection: close\r\n";
    r += "\r\n";
    r += body;
    if (script_.delay_ms > 0 || c->delayed > 0) {
      // Answers keep their order on a connection: later ones wait too.
      ++c->delayed;
      delayed_.push_back({std::chrono::steady_clock::now() +
                              std::chrono::milliseconds(script_.delay_ms),
                          c->fd, c->serial, std::move(r), close});
      return;
    }
    c->out += r;
    if (close) c->close_after = true;
  }

  void SendDue() {
    auto now = std::chrono::steady_clock::now();
    while (!delayed_.empty() && delayed_.front().due <= now) {
      Delayed d = std::move(delayed_.front());
      delayed_.pop_front();
      auto it = conns_.find(d.fd);
      if (it == conns_.end() || it->second->serial != d.serial) continue;  // closed meanwhile
      Conn* c = it->second.get();
      --c->delayed;
      c->out += d.response;
      if (d.close_after) c->close_after = true;
      if (!Flush(c)) Close(c);
    }
  }

  // Writes what can be written; false when the connection is to be closed.
  bool Flush(Conn* c) {
    while (c->written < c->out.size()) {
      ssize_t n = write(c->fd, c->out.data() + c->written, c->out.size() - c->written);
      if (n > 0) {
        c->written += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      return false;
    }
    if (c->written == c->out.size()) {
      c->out.clear();
      c->written = 0;
      if (c->close_after && c->delayed == 0) return false;
    }
    bool want = !c->out.empty();
    if (want != c->want_write) {
      epoll_event ev{};
      ev.events = want ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
      ev.data.fd = c->fd;
      epoll_ctl(ep_, EPOLL_CTL_MOD, c->fd, &ev);
      c->want_write = want;
    }
    return true;
  }

  Script script_;
  FILE* out_;
  int lfd_ = -1;
  int ep_ = -1;
  std::unordered_map<int, std::unique_ptr<Conn>> conns_;
  std::deque<Delayed> delayed_;  // in due order: every answer waits the same delay
  uint64_t requests_ = 0;
  uint64_t serials_ = 0;
  std::unordered_set<std::string> ids_;
};

void OnSignal(int) { g_stop = 1; }

}  // namespace

int main(int argc, char** argv) {
  Script script;
  int port = 0;
  std::string out_path;
  ParseFlags(std::vector<std::string>(argv + 1, argv + argc), &script, &port, &out_path);
  FILE* out = nullptr;
  if (!out_path.empty()) {
    out = fopen(out_path.c_str(), "w");
    if (!out) {
      perror(("http_receiver: " + out_path).c_str());
      return 2;
    }
  }
  struct sigaction sa{};
  sa.sa_handler = OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  Server server(script, out);
  int bound = server.Listen(port);
  printf("%d\n", bound);
  fflush(stdout);
  server.Run();
  if (out) fclose(out);
  return 0;
}
