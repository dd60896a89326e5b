// The same events matched through the C++ Matcher (Match, and the
// ValidatePadded + MatchPadded pair the bindings use) and through the C API
// (weir_match), interleaved, several rounds; the median of each is printed,
// as text and as one JSON line for bench/python_bench.py.
//
//   bindings_bench EVENTS.ndjson RULES.yaml... [--rounds N]
//   bindings_bench --adds N
//
// --adds: where the time of adding N subscriptions one at a time goes (the
// Python module's Engine.add: ParseRules of one rule's text, then
// RuleSet::Update), with the same rule text as bench/python_bench.py.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "weir/engine.h"
#include "weir/rules.h"
#include "weir/weir_c.h"

namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    fprintf(stderr, "bindings_bench: cannot read %s\n", path.c_str());
    exit(1);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The machine may be shared: CPU time of this thread, not wall time, so that
// waiting for a core does not count as the bindings' cost.
struct CpuClock {
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::time_point<CpuClock>;
  static time_point now() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
  }
};

double Seconds(CpuClock::time_point t0) {
  return std::chrono::duration<double>(CpuClock::now() - t0).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Summary {
  double mean = 0, p50 = 0, p99 = 0, max = 0, total = 0;
};
Summary Summarize(std::vector<double> us) {
  Summary s;
  for (double v : us) s.total += v;
  s.mean = s.total / us.size();
  std::sort(us.begin(), us.end());
  s.p50 = us[us.size() / 2];
  s.p99 = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  s.max = us.back();
  return s;
}

int Adds(size_t n) {
  auto empty = weir::RuleSet::Compile({});
  if (!empty.ok()) return 2;
  std::shared_ptr<const weir::RuleSet> cur = *empty;
  std::vector<double> parse_us, update_us, full_us;
  for (size_t i = 0; i < n; ++i) {
    std::string id = "sub-" + std::to_string(i);
    std::string text = "rules: [{id: \"" + id + "\", pattern: {message: {jobId: [job-" +
                       std::to_string(i) + "]}}}]";
    auto t0 = CpuClock::now();
    weir::LoadResult r = weir::ParseRules({{"<rules>", text}});
    parse_us.push_back(Seconds(t0) * 1e6);
    if (!r.ok()) return 2;
    size_t segments = cur->segment_count();
    t0 = CpuClock::now();
    auto next = weir::RuleSet::Update(cur, std::move(r.ruleset.rules), {});
    double us = Seconds(t0) * 1e6;
    if (!next.ok()) return 2;
    cur = *next;
    // A whole-set recompile folds the delta back into one segment.
    (cur->segment_count() < segments ? full_us : update_us).push_back(us);
  }
  auto print = [](const char* what, const std::vector<double>& v) {
    if (v.empty()) return;
    Summary s = Summarize(v);
    printf(
        "%-34s n %6zu  total %8.0f ms  mean %7.1f us  p50 %7.1f us  p99 %8.1f us  max %8.1f us\n",
        what, v.size(), s.total / 1e3, s.mean, s.p50, s.p99, s.max);
  };
  printf("%zu rules added one at a time (C++, no Python; thread CPU time):\n", n);
  print("ParseRules (one rule's text)", parse_us);
  print("RuleSet::Update, delta only", update_us);
  print("RuleSet::Update, whole recompile", full_us);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--adds") return Adds(strtoul(argv[2], nullptr, 10));
  std::vector<std::string> rule_files;
  std::string events_path;
  int rounds = 5;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--rounds" && i + 1 < argc) {
      rounds = atoi(argv[++i]);
    } else if (events_path.empty()) {
      events_path = a;
    } else {
      rule_files.push_back(a);
    }
  }
  if (events_path.empty() || rule_files.empty()) {
    fprintf(stderr, "usage: bindings_bench EVENTS.ndjson RULES.yaml... [--rounds N]\n");
    return 2;
  }
  std::vector<std::string> events;
  {
    std::istringstream in(Read(events_path));
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) events.push_back(line);
  }

  std::vector<weir::RuleText> texts;
  for (const auto& f : rule_files) texts.push_back({f, Read(f)});
  weir::LoadResult loaded = weir::ParseRules(texts);
  if (!loaded.ok()) {
    for (const auto& d : loaded.diagnostics) fprintf(stderr, "%s\n", d.ToString().c_str());
    return 2;
  }
  auto rules = weir::RuleSet::Compile(std::move(loaded.ruleset.rules));
  if (!rules.ok()) return 2;
  weir::Matcher matcher(*rules);

  weir_engine* engine = weir_engine_new();
  weir_error err;
  for (const auto& t : texts) {
    if (weir_engine_add_text(engine, t.text.data(), t.text.size(), t.name.c_str(), 0, &err) !=
        WEIR_OK) {
      fprintf(stderr, "%s\n", err.message);
      return 2;
    }
  }
  weir_matcher* cm = weir_matcher_new(engine);

  std::vector<uint32_t> hits;
  std::string padded;
  std::vector<char> ids(1 << 16);
  std::vector<double> t_match, t_validate, t_c;
  size_t sum_match = 0, sum_validate = 0, sum_c = 0;
  for (int r = 0; r < rounds; ++r) {
    auto t0 = CpuClock::now();
    for (const auto& e : events) {
      if (!matcher.Match(e, &hits).ok()) return 3;
      sum_match += hits.size();
    }
    t_match.push_back(Seconds(t0));

    t0 = CpuClock::now();
    for (const auto& e : events) {
      // What the bindings do: copy with padding, validate whole, match.
      padded.assign(e);
      padded.append(weir::Matcher::kPadding, ' ');
      std::string_view v(padded.data(), e.size());
      if (!matcher.ValidatePadded(v).ok() || !matcher.MatchPadded(v, &hits).ok()) return 3;
      sum_validate += hits.size();
    }
    t_validate.push_back(Seconds(t0));

    t0 = CpuClock::now();
    for (const auto& e : events) {
      size_t count = 0, needed = 0;
      if (weir_match(cm, e.data(), e.size(), ids.data(), ids.size(), &count, &needed, &err) !=
          WEIR_OK)
        return 3;
      sum_c += count;
    }
    t_c.push_back(Seconds(t0));
  }
  if (sum_match != sum_validate || sum_match != sum_c) {
    fprintf(stderr, "bindings_bench: the surfaces disagree (%zu, %zu, %zu matches)\n", sum_match,
            sum_validate, sum_c);
    return 4;
  }
  double n = static_cast<double>(events.size());
  double ns_match = Median(t_match) / n * 1e9, ns_validate = Median(t_validate) / n * 1e9,
         ns_c = Median(t_c) / n * 1e9;
  printf("events: %zu, rules: %zu, matches per round: %zu, rounds: %d (median, thread CPU time)\n",
         events.size(), (*rules)->size(), sum_match / rounds, rounds);
  printf("C++ Matcher::Match                    %10.0f events/s  %7.0f ns/event\n", 1e9 / ns_match,
         ns_match);
  printf("C++ ValidatePadded+MatchPadded        %10.0f events/s  %7.0f ns/event\n",
         1e9 / ns_validate, ns_validate);
  printf(
      "C API weir_match                      %10.0f events/s  %7.0f ns/event  (+%.0f ns over "
      "validate+match)\n",
      1e9 / ns_c, ns_c, ns_c - ns_validate);
  printf("{\"cxx_match_ns\": %.1f, \"cxx_validate_match_ns\": %.1f, \"c_api_ns\": %.1f}\n",
         ns_match, ns_validate, ns_c);
  weir_matcher_free(cm);
  weir_engine_free(engine);
  return 0;
}
