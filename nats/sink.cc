// The filter stage's NATS sink: each matched event is published to one
// subject, with JetStream acknowledgements when a stream captures it.
#include <atomic>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nats/client.h"

namespace weir::nats {
namespace {

// Whether a stream captures `subject`: the JetStream API's stream list,
// filtered by subject.
absl::StatusOr<bool> StreamCaptures(const Client& c, const std::string& subject) {
  std::string req = absl::StrCat("{\"subject\":\"", subject, "\"}");
  natsMsg* reply = nullptr;
  natsStatus s = natsConnection_Request(&reply, c.nc(), "$JS.API.STREAM.NAMES", req.data(),
                                        static_cast<int>(req.size()), 5000);
  if (s == NATS_NO_RESPONDERS) return false;  // no JetStream on this server
  if (s != NATS_OK) return c.Error("cannot ask which stream stores the sink subject", s);
  std::string_view body(natsMsg_GetData(reply), natsMsg_GetDataLength(reply));
  // {"type":...,"total":N,...,"streams":["A"]} or "streams":null.
  bool found = body.find("\"streams\":[\"") != std::string_view::npos;
  natsMsg_Destroy(reply);
  return found;
}

class NatsSink : public Sink {
 public:
  NatsSink(const SinkOptions& o, std::unique_ptr<Client> c, bool jetstream)
      : options_(o), client_(std::move(c)), jetstream_(jetstream) {}

  ~NatsSink() override { natsConnection_FlushTimeout(client_->nc(), 2000); }

  void Prepare(BatchResult* r) override {
    if (!options_.annotated) return;
    // {"rules":[ids],"event":<event>} per match, one after another.
    std::string& p = r->prepared;
    for (const Match& m : r->matches) {
      absl::StrAppend(&p, "{\"rules\":[");
      for (size_t i = 0; i < m.rules.size(); ++i) {
        if (i) p += ',';
        AppendJsonString(&p, r->rules->id(m.rules[i]));
      }
      absl::StrAppend(&p, "],\"event\":", Av(m.event), "}\n");
    }
  }

  absl::Status OnBatch(const BatchResult& r) override {
    for (const BadEvent& b : r.bad)
      client_->Log(absl::StrCat(r.source->name(), ":", Where(b.position), ": ", b.reason));
    std::vector<std::string_view> bodies;
    bodies.reserve(r.matches.size());
    if (options_.annotated) {
      std::string_view rest = r.prepared;
      for (size_t i = 0; i < r.matches.size(); ++i) {
        size_t nl = rest.find('\n');
        bodies.push_back(rest.substr(0, nl));
        rest.remove_prefix(nl + 1);
      }
    } else {
      for (const Match& m : r.matches) bodies.push_back(m.event);
    }
    if (!jetstream_) {
      for (std::string_view b : bodies) {
        natsStatus s = natsConnection_Publish(client_->nc(), options_.subject.c_str(), b.data(),
                                              static_cast<int>(b.size()));
        if (s == NATS_MAX_PAYLOAD) return client_->Error("cannot publish a matched event", s);
        // Other failures (reconnect buffer full): core NATS is at most once.
      }
      return absl::OkStatus();
    }
    std::vector<Client::Out> out(bodies.size());
    for (size_t i = 0; i < bodies.size(); ++i) {
      out[i].subject = options_.subject;
      out[i].id = absl::StrCat(r.source->name(), ":", Where(r.matches[i].position));
      out[i].data = bodies[i];
    }
    return client_->PublishAll(out, nullptr);
  }

 private:
  static std::string Where(const EventPosition& p) {
    return absl::StrCat(p.sequence ? p.sequence : p.line);
  }
  static void AppendJsonString(std::string* out, std::string_view s) {
    out->push_back('"');
    for (char ch : s) {
      unsigned char c = static_cast<unsigned char>(ch);
      if (c == '"' || c == '\\') {
        out->push_back('\\');
        out->push_back(ch);
      } else if (c < 0x20) {
        absl::StrAppend(out, "\\u00", absl::Hex(c, absl::kZeroPad2));
      } else {
        out->push_back(ch);
      }
    }
    out->push_back('"');
  }

  SinkOptions options_;
  std::unique_ptr<Client> client_;
  bool jetstream_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Sink>> MakeSink(const SinkOptions& options) {
  if (options.subject.empty() || options.subject.find_first_of(" \t\r\n") != std::string::npos)
    return absl::InvalidArgumentError("the NATS sink needs a subject (--sink-subject)");
  if (options.subject.find_first_of("*>") != std::string::npos)
    return absl::InvalidArgumentError("the sink subject cannot hold wildcards");
  ConnectOptions co = options.connect;
  if (co.name.empty()) co.name = absl::StrCat("weir sink ", options.subject);
  absl::StatusOr<std::unique_ptr<Client>> c = Client::Connect(co);
  if (!c.ok()) return c.status();
  absl::StatusOr<bool> js = StreamCaptures(**c, options.subject);
  if (!js.ok()) return js.status();
  return std::unique_ptr<Sink>(new NatsSink(options, *std::move(c), *js));
}

}  // namespace weir::nats
