// http_load: a plain HTTP/1.1 load loop, the yardstick for webhook delivery.
// POSTs N requests over C keep-alive connections to 127.0.0.1:PORT, one
// request in flight per connection (as libcurl sends them), on one thread.
//
//   http_load --port P [-n N] [-c C] [--body-bytes B] [--path /hook] [--json]
//
// Prints requests/s, how many answers were 2xx, and the elapsed time.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Conn {
  int fd = -1;
  std::string in;
  size_t sent = 0;
  bool busy = false;
};

[[noreturn]] void Usage(const char* msg) {
  fprintf(stderr, "http_load: %s\n", msg);
  exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  long total = 100000;
  int conns = 4;
  size_t body_bytes = 256;
  std::string path = "/load";
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) Usage("a flag needs a value");
      return argv[++i];
    };
    if (a == "--port") port = atoi(value());
    else if (a == "-n") total = atol(value());
    else if (a == "-c") conns = atoi(value());
    else if (a == "--body-bytes") body_bytes = strtoul(value(), nullptr, 10);
    else if (a == "--path") path = value();
    else if (a == "--json") json = true;
    else Usage("unknown flag");
  }
  if (port <= 0 || conns <= 0 || total <= 0) Usage("--port, -n and -c must be positive");

  // About the headers a signed webhook carries, so the receiver's work is alike.
  std::string body = "{\"event\":\"";
  while (body.size() + 2 < body_bytes) body.push_back('x');
  body += "\"}";
  std::string request = "POST " + path +
                        " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: http_load\r\n"
                        "Content-Type: application/json\r\n"
                        "webhook-id: msg_0123456789abcdef0123456789abcdef\r\n"
                        "webhook-timestamp: 1700000000\r\n"
                        "webhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=\r\n"
                        "Content-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body;

  int ep = epoll_create1(0);
  std::vector<Conn> cs(conns);
  for (int i = 0; i < conns; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      perror("http_load: connect");
      return 2;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    cs[i].fd = fd;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(i);
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  long started = 0, done = 0, ok = 0;
  auto send_one = [&](Conn& c) {
    // Small requests: one write goes out whole on loopback.
    ssize_t n = write(c.fd, request.data(), request.size());
    if (n != static_cast<ssize_t>(request.size())) {
      perror("http_load: write");
      exit(2);
    }
    c.busy = true;
    ++started;
  };
  auto t0 = std::chrono::steady_clock::now();
  for (auto& c : cs)
    if (started < total) send_one(c);
  std::vector<epoll_event> evs(256);
  char buf[65536];
  while (done < total) {
    int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 10000);
    if (n == 0) Usage("no answer for 10 s");
    for (int e = 0; e < n; ++e) {
      Conn& c = cs[evs[e].data.u32];
      for (;;) {
        ssize_t r = read(c.fd, buf, sizeof buf);
        if (r > 0) {
          c.in.append(buf, static_cast<size_t>(r));
          continue;
        }
        if (r == 0) Usage("the server closed a connection");
        break;
      }
      // Answers: status line, headers, Content-Length body.
      for (;;) {
        size_t end = c.in.find("\r\n\r\n");
        if (end == std::string::npos) break;
        size_t len = 0;
        size_t cl = c.in.find("Content-Length:");
        if (cl != std::string::npos && cl < end) len = strtoul(c.in.c_str() + cl + 15, nullptr, 10);
        if (c.in.size() < end + 4 + len) break;
        if (c.in.compare(0, 10, "HTTP/1.1 2") == 0) ++ok;
        c.in.erase(0, end + 4 + len);
        ++done;
        c.busy = false;
        if (started < total) send_one(c);
      }
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (json) {
    printf("{\"requests\":%ld,\"ok\":%ld,\"connections\":%d,\"seconds\":%.3f,\"per_second\":%.0f}\n",
           done, ok, conns, secs, done / secs);
  } else {
    printf("requests %ld  2xx %ld  connections %d  %.3f s  %.0f req/s\n", done, ok, conns, secs,
           done / secs);
  }
  for (auto& c : cs) close(c.fd);
  return ok == done ? 0 : 1;
}
