// nats_tool: stream set-up and publishing for the NATS tests and benchmarks.
//
//   nats_tool add-stream URL NAME SUBJECT      create a file-storage stream
//   nats_tool publish URL SUBJECT FILE         each line of FILE is one message
//                                              (JetStream acks awaited; stdout: count)
//   nats_tool gen URL SUBJECT N                N events {"n":I,"kind":"a|b",...}
//   nats_tool count URL STREAM                 messages in the stream
//   nats_tool pending URL STREAM CONSUMER      unprocessed + unacked of a consumer
//   nats_tool bare URL STREAM CONSUMER [BATCH] fetch + ack until idle for 1 s;
//                                              prints messages and messages/s
#include <nats/nats.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace {

[[noreturn]] void Die(const char* what, natsStatus s) {
  fprintf(stderr, "nats_tool: %s: %s\n", what, natsStatus_GetText(s));
  exit(1);
}

natsConnection* Connect(const char* url) {
  natsConnection* nc = nullptr;
  natsOptions* o = nullptr;
  natsOptions_Create(&o);
  natsOptions_SetURL(o, url);
  natsOptions_SetMaxReconnect(o, -1);
  natsOptions_SetReconnectWait(o, 100);
  natsStatus s = natsConnection_Connect(&nc, o);
  natsOptions_Destroy(o);
  if (s != NATS_OK) Die("connect", s);
  return nc;
}

jsCtx* Js(natsConnection* nc) {
  jsCtx* js = nullptr;
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.PublishAsync.MaxPending = 8192;
  natsStatus s = natsConnection_JetStream(&js, nc, &jo);
  if (s != NATS_OK) Die("jetstream", s);
  return js;
}

// Publishes asynchronously; a batch whose acks did not all come is sent
// again (ids make JetStream drop the copies).
void PublishAll(jsCtx* js, const char* subject, const std::string& prefix, long n,
                const std::function<std::string(long)>& body) {
  const long chunk = 4096;
  for (long start = 0; start < n; start += chunk) {
    long end = std::min(n, start + chunk);
    for (int attempt = 0;; ++attempt) {
      for (long i = start; i < end; ++i) {
        std::string b = body(i);
        natsMsg* m = nullptr;
        natsMsg_Create(&m, subject, nullptr, b.data(), static_cast<int>(b.size()));
        std::string id = prefix + std::to_string(i);
        natsMsgHeader_Set(m, "Nats-Msg-Id", id.c_str());
        natsStatus s = js_PublishMsgAsync(js, &m, nullptr);
        natsMsg_Destroy(m);
        if (s != NATS_OK) break;
      }
      jsPubOptions po;
      jsPubOptions_Init(&po);
      po.MaxWait = 10000;
      if (js_PublishAsyncComplete(js, &po) == NATS_OK) break;
      natsMsgList l;
      if (js_PublishAsyncGetPendingList(&l, js) == NATS_OK) natsMsgList_Destroy(&l);
      if (attempt > 20) Die("publish", NATS_TIMEOUT);
      nats_Sleep(200);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: see the comment at the top of nats_tool.cc\n");
    return 2;
  }
  std::string cmd = argv[1];
  natsConnection* nc = Connect(argv[2]);
  jsCtx* js = Js(nc);
  if (cmd == "add-stream" && argc >= 5) {
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = argv[3];
    const char* subj[] = {argv[4]};
    cfg.Subjects = subj;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    jsStreamInfo* si = nullptr;
    natsStatus s = js_AddStream(&si, js, &cfg, nullptr, nullptr);
    if (s != NATS_OK) Die("add stream", s);
    jsStreamInfo_Destroy(si);
  } else if (cmd == "publish" && argc >= 5) {
    std::ifstream in(argv[4]);
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    PublishAll(js, argv[3], std::string(argv[4]) + ":", static_cast<long>(lines.size()),
               [&](long i) { return lines[i]; });
    printf("%zu\n", lines.size());
  } else if (cmd == "gen" && argc >= 5) {
    long n = atol(argv[4]);
    PublishAll(js, argv[3], "gen:", n, [](long i) {
      // Every other event matches the test rule; every 1000th is not JSON.
      if (i % 1000 == 999) return std::string("not json ") + std::to_string(i);
      return std::string("{\"n\":") + std::to_string(i) + ",\"kind\":\"" +
             (i % 2 == 0 ? "a" : "b") + "\",\"pad\":\"0123456789abcdef0123456789abcdef\"}";
    });
    printf("%ld\n", n);
  } else if (cmd == "count") {
    jsStreamInfo* si = nullptr;
    natsStatus s = js_GetStreamInfo(&si, js, argv[3], nullptr, nullptr);
    if (s != NATS_OK) Die("stream info", s);
    printf("%llu\n", static_cast<unsigned long long>(si->State.Msgs));
    jsStreamInfo_Destroy(si);
  } else if (cmd == "pending" && argc >= 5) {
    jsConsumerInfo* ci = nullptr;
    natsStatus s = js_GetConsumerInfo(&ci, js, argv[3], argv[4], nullptr, nullptr);
    if (s != NATS_OK) Die("consumer info", s);
    printf("%llu\n", static_cast<unsigned long long>(ci->NumPending + ci->NumAckPending));
    jsConsumerInfo_Destroy(ci);
  } else if (cmd == "bare" && argc >= 5) {
    int batch = argc >= 6 ? atoi(argv[5]) : 256;
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = argv[4];
    cc.AckPolicy = js_AckExplicit;
    cc.AckWait = 30LL * 1000 * 1000 * 1000;
    cc.MaxAckPending = 1000;
    jsConsumerInfo* ci = nullptr;
    js_AddConsumer(&ci, js, argv[3], &cc, nullptr, nullptr);
    jsConsumerInfo_Destroy(ci);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = argv[3];
    so.Consumer = argv[4];
    natsSubscription* sub = nullptr;
    natsStatus s = js_PullSubscribe(&sub, js, nullptr, nullptr, nullptr, &so, nullptr);
    if (s != NATS_OK) Die("pull subscribe", s);
    long got = 0;
    auto t0 = std::chrono::steady_clock::now(), last = t0;
    for (;;) {
      natsMsgList list;
      // cnats' own fetch, the limit weir is measured against. A batch of 1
      // while late messages are pending keeps it clear of cnats 3.4.1's
      // overflow in _fetch (docs/scale-out.md, "Known problems").
      int pending = 0;
      natsSubscription_GetPending(sub, &pending, nullptr);
      s = natsSubscription_Fetch(&list, sub, pending > 0 ? 1 : batch, 100, nullptr);
      if (s == NATS_OK) {
        for (int i = 0; i < list.Count; ++i) natsMsg_Ack(list.Msgs[i], nullptr);
        got += list.Count;
        natsMsgList_Destroy(&list);
        last = std::chrono::steady_clock::now();
        if (got == list.Count) t0 = last;  // time from the first message
      } else if (std::chrono::steady_clock::now() - last > std::chrono::seconds(1) && got > 0) {
        break;
      }
    }
    natsConnection_Flush(nc);
    double secs = std::chrono::duration<double>(last - t0).count();
    printf("%ld messages, %.0f msg/s\n", got, secs > 0 ? got / secs : 0.0);
    natsSubscription_Destroy(sub);
  } else {
    fprintf(stderr, "nats_tool: unknown command %s\n", cmd.c_str());
    return 2;
  }
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return 0;
}
