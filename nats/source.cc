// NatsSource: a stream Source on a durable JetStream pull consumer. Fetched
// messages are held per batch until Done() (the sink recorded what they
// triggered), then acknowledged; a timer thread keeps long-held batches
// alive with InProgress so the server does not hand them to another worker.
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "nats/client.h"

namespace weir::nats {
namespace {

class NatsSource : public Source {
 public:
  NatsSource(const SourceOptions& o, std::unique_ptr<Client> c, std::unique_ptr<Puller> puller)
      : options_(o),
        client_(std::move(c)),
        puller_(std::move(puller)),
        name_(absl::StrCat("nats:", o.stream, "/", o.consumer)) {
    progress_every_ = o.progress_every > absl::ZeroDuration() ? o.progress_every
                                                              : o.consumer_defaults.ack_wait / 3;
    timer_ = std::thread([this] { KeepAlive(); });
  }

  ~NatsSource() override {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    timer_.join();
    // What was fetched and not Done was not recorded: hand it back at once
    // rather than after the ack wait.
    for (auto& [token, held] : held_) {
      for (natsMsg* m : held.msgs) {
        puller_->Nak(m);
        natsMsg_Destroy(m);
      }
    }
    natsConnection_FlushTimeout(client_->nc(), 1000);
    puller_.reset();
  }

  const std::string& name() const override { return name_; }

  absl::Status Next(EventBatch* batch, bool* got) override {
    *got = false;
    int64_t wait_ms = std::max<int64_t>(1, ToMillis(options_.fetch_wait));
    absl::Time last_complaint = absl::InfinitePast();
    while (!interrupted_.load()) {
      std::vector<natsMsg*> msgs;
      std::string error;
      natsStatus s = puller_->Fetch(&msgs, options_.batch, wait_ms, &error);
      if (!msgs.empty()) {
        Fill(msgs, batch);
        *got = true;
        return absl::OkStatus();
      }
      if (s == NATS_OK) continue;
      if (s == NATS_CONNECTION_CLOSED || s == NATS_INVALID_SUBSCRIPTION)
        return client_->Error(absl::StrCat("fetching from ", name_), s);
      // Disconnected, or the server restarting (no responders, a 503): wait
      // and go on; cnats reconnects by itself.
      if (absl::Now() - last_complaint > absl::Seconds(10) && client_->connected()) {
        client_->Log(absl::StrCat(name_, ": fetch failed (",
                                  error.empty() ? natsStatus_GetText(s) : error, "); retrying"));
        last_complaint = absl::Now();
      }
      client_->WaitConnected(absl::Milliseconds(200));
      if (client_->connected()) absl::SleepFor(absl::Milliseconds(50));
    }
    return absl::OkStatus();
  }

  void Done(const EventBatch& batch) override {
    Held held;
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = held_.find(batch.token);
      if (it == held_.end()) return;
      held = std::move(it->second);
      held_.erase(it);
    }
    for (natsMsg* m : held.msgs) {
      // An ack that does not reach the server (the connection dropped) only
      // means a redelivery: the sink's record of it is idempotent.
      puller_->Ack(m);
      natsMsg_Destroy(m);
    }
  }

  void Interrupt() override { interrupted_ = true; }

 private:
  struct Held {
    std::vector<natsMsg*> msgs;
    absl::Time last_progress;
  };

  void Fill(const std::vector<natsMsg*>& msgs, EventBatch* batch) {
    Held held;
    held.last_progress = absl::Now();
    held.msgs.reserve(msgs.size());
    for (natsMsg* m : msgs) {
      EventPosition pos;
      jsMsgMetaData* meta = nullptr;
      if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
        // The stream sequence is the message's "line" too: reports say
        // nats:STREAM/CONSUMER:SEQ.
        pos.sequence = pos.line = meta->Sequence.Stream;
        jsMsgMetaData_Destroy(meta);
      }
      const char* data = natsMsg_GetData(m);
      size_t len = static_cast<size_t>(natsMsg_GetDataLength(m));
      std::string_view bytes(data ? data : "", data ? len : 0);
      if (bytes.size() <= options_.max_event_bytes) {
        batch->Add(bytes, pos);
      } else {
        // Kept cut at the limit: the pipeline reports it as too long.
        EventBatch::Event e;
        e.offset = static_cast<uint32_t>(batch->size());
        e.length = static_cast<uint32_t>(options_.max_event_bytes);
        e.full_length = bytes.size();
        e.position = pos;
        char* p = batch->Reserve(e.length + 1);
        std::memcpy(p, bytes.data(), e.length);
        p[e.length] = '\n';
        batch->Commit(e.length + 1);
        batch->AddRef(e);
      }
      batch->end_offset = pos.sequence;
      held.msgs.push_back(m);
    }
    std::lock_guard<std::mutex> l(mu_);
    batch->token = ++next_token_;
    held_.emplace(batch->token, std::move(held));
  }

  // Every progress_every, each batch held longer than that gets InProgress
  // (resets its ack wait on the server).
  void KeepAlive() {
    std::unique_lock<std::mutex> l(mu_);
    absl::Duration tick = std::max(absl::Milliseconds(100), progress_every_ / 4);
    while (!stop_) {
      cv_.wait_for(l, absl::ToChronoMilliseconds(tick));
      if (stop_) break;
      absl::Time now = absl::Now();
      for (auto& [token, held] : held_) {
        if (now - held.last_progress < progress_every_) continue;
        for (natsMsg* m : held.msgs) puller_->InProgress(m);
        held.last_progress = now;
      }
    }
  }

  SourceOptions options_;
  std::unique_ptr<Client> client_;
  std::unique_ptr<Puller> puller_;
  std::string name_;
  absl::Duration progress_every_;
  std::atomic<bool> interrupted_{false};

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::map<uint64_t, Held> held_;
  uint64_t next_token_ = 0;
  std::thread timer_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Source>> MakeSource(const SourceOptions& options) {
  if (options.stream.empty() || options.consumer.empty())
    return absl::InvalidArgumentError("a NATS source needs a stream and a consumer");
  if (options.consumer.find('.') != std::string::npos)
    return absl::InvalidArgumentError("a consumer name cannot contain '.'");
  if (options.batch < 1) return absl::InvalidArgumentError("the fetch batch must be at least 1");
  ConnectOptions co = options.connect;
  if (co.name.empty()) co.name = absl::StrCat("weir ", options.stream, "/", options.consumer);
  absl::StatusOr<std::unique_ptr<Client>> c = Client::Connect(co);
  if (!c.ok()) return c.status();
  if (absl::Status st = (*c)->EnsureConsumer(options.stream, options.consumer, options.subject,
                                             options.consumer_defaults);
      !st.ok())
    return st;
  absl::StatusOr<std::unique_ptr<Puller>> puller =
      Puller::Bind(**c, options.stream, options.consumer);
  if (!puller.ok()) return puller.status();
  return std::unique_ptr<Source>(new NatsSource(options, *std::move(c), *std::move(puller)));
}

}  // namespace weir::nats
