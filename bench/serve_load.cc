// serve_load: POSTs events to `weir serve` (or its --bare baseline) over C
// keep-alive connections, one request in flight per connection, on one
// thread, and reports events/s.
//
//   serve_load --port P --events FILE [--batch K] [-n EVENTS] [-c C] [--json]
//
// --batch 1 sends each event alone (application/json); K > 1 sends K lines
// per request (application/x-ndjson). Events cycle through FILE.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

struct Conn {
  int fd = -1;
  std::string in;
  size_t next = 0;  // request index in flight
};

[[noreturn]] void Usage(const char* msg) {
  fprintf(stderr, "serve_load: %s\n", msg);
  exit(2);
}

void WriteAll(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = write(fd, s.data() + done, s.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      pollfd p{fd, POLLOUT, 0};
      poll(&p, 1, 10000);
    } else {
      perror("serve_load: write");
      exit(2);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0, conns = 4;
  long total = 100000, batch = 1;
  std::string file;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) Usage("a flag needs a value");
      return argv[++i];
    };
    if (a == "--port")
      port = atoi(value());
    else if (a == "-n")
      total = atol(value());
    else if (a == "-c")
      conns = atoi(value());
    else if (a == "--batch")
      batch = atol(value());
    else if (a == "--events")
      file = value();
    else if (a == "--json")
      json = true;
    else
      Usage("unknown flag");
  }
  if (port <= 0 || conns <= 0 || total <= 0 || batch <= 0 || file.empty())
    Usage("--port, --events, -n, -c and --batch are needed (positive)");
  std::vector<std::string> lines;
  {
    std::ifstream in(file);
    std::string l;
    while (std::getline(in, l))
      if (!l.empty()) lines.push_back(l);
  }
  if (lines.empty()) Usage("no events in the file");
  // Requests cycling through the events.
  std::vector<std::string> requests;
  size_t li = 0;
  long per_cycle = std::max<long>(1, std::min<long>(total / batch, 256));
  for (long r = 0; r < per_cycle; ++r) {
    std::string body;
    for (long k = 0; k < batch; ++k) {
      body += lines[li++ % lines.size()];
      if (batch > 1) body += '\n';
    }
    requests.push_back(std::string("POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ") +
                       (batch > 1 ? "application/x-ndjson" : "application/json") +
                       "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  }
  long total_requests = (total + batch - 1) / batch;

  int ep = epoll_create1(0);
  std::vector<Conn> cs(conns);
  for (int i = 0; i < conns; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      perror("serve_load: connect");
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
    c.next = static_cast<size_t>(started % static_cast<long>(requests.size()));
    WriteAll(c.fd, requests[c.next]);
    ++started;
  };
  auto t0 = std::chrono::steady_clock::now();
  for (auto& c : cs)
    if (started < total_requests) send_one(c);
  std::vector<epoll_event> evs(256);
  static char buf[1 << 16];
  while (done < total_requests) {
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
      for (;;) {
        size_t end = c.in.find("\r\n\r\n");
        if (end == std::string::npos) break;
        size_t len = 0;
        size_t cl = c.in.find("Content-Length:");
        if (cl == std::string::npos) cl = c.in.find("content-length:");
        if (cl != std::string::npos && cl < end) len = strtoul(c.in.c_str() + cl + 15, nullptr, 10);
        if (c.in.size() < end + 4 + len) break;
        if (c.in.compare(0, 12, "HTTP/1.1 202") == 0) ++ok;
        c.in.erase(0, end + 4 + len);
        ++done;
        if (started < total_requests) send_one(c);
      }
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  long events = done * batch;
  if (json) {
    printf(
        "{\"requests\":%ld,\"accepted_202\":%ld,\"events\":%ld,\"batch\":%ld,\"connections\":%d,"
        "\"seconds\":%.3f,\"requests_per_s\":%.0f,\"events_per_s\":%.0f}\n",
        done, ok, events, batch, conns, secs, done / secs, events / secs);
  } else {
    printf(
        "requests %ld (202: %ld)  events %ld  batch %ld  connections %d  %.3f s  %.0f req/s  "
        "%.0f events/s\n",
        done, ok, events, batch, conns, secs, done / secs, events / secs);
  }
  for (auto& c : cs) close(c.fd);
  return ok == done ? 0 : 1;
}
