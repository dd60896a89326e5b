// micro_bench: Google Benchmark suite for the matcher and the compiler.
//
//   build-bench/bench/micro_bench [--benchmark_filter=REGEX] [--benchmark_repetitions=3]
//
// Every case matches a small set of synthetic CityLots-shaped events held in memory
// (no I/O, no line splitting, no validation of matched events), so the figures are the
// matching loop alone: Matcher::MatchPadded over each event in turn. items/s are events/s.
//
//   BM_MatchExact/N      N exact-value rules on properties.BLKLOT (1, 1k, 10k, 100k);
//                        one event in four matches one rule
//   BM_MatchPrefix       1,000 prefix rules on properties.STREET (3- then 4-letter)
//   BM_MatchWildcard     1,000 `*xy*` rules on properties.STREET
//   BM_MatchNumeric      100 latitude bands on geometry.coordinates (walks every array)
//   BM_MatchNoRules      a rule on a path no event has: the floor (parse + skip)
//   BM_CompileExact/N    RuleSet::Compile of N exact-value rules (10k, 100k)
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "weir/engine.h"
#include "weir/rules.h"

namespace {

using weir::Matcher;
using weir::RuleDef;
using weir::RuleSet;

// One rule with one clause of string globs at `path`.
RuleDef GlobRule(std::string id, const std::string& path, std::string glob) {
  weir::Predicate p;
  p.kind = weir::PredicateKind::kStringGlob;
  p.text = std::move(glob);
  weir::Clause c;
  c.path = path;
  c.any_of.push_back(std::move(p));
  weir::Conjunction conj;
  conj.all_of.push_back(std::move(c));
  RuleDef r;
  r.id = std::move(id);
  r.dialect = "pattern";
  r.condition.any_of.push_back(std::move(conj));
  return r;
}

std::string Blklot(size_t i) {
  char b[32];
  snprintf(b, sizeof b, "%07zu", i);
  return b;
}

// Street names built from syllables: deterministic, varied prefixes and substrings.
std::string Street(size_t i) {
  static const char* kSyl[] = {"AL", "BER", "CA", "DO", "EL", "FRAN", "GO", "HA", "IR", "JE",
                               "KE", "LO", "MAR", "NO", "OR", "PI", "QUI", "RO", "SAN", "TA",
                               "UL", "VAL", "WA", "YOR", "ZE"};
  constexpr size_t n = sizeof kSyl / sizeof kSyl[0];
  std::string s = kSyl[i % n];
  s += kSyl[(i / n + 7 * i) % n];
  if (i % 3 == 0) s += kSyl[(i / 3) % n];
  return s;
}

std::vector<RuleDef> ExactRules(size_t n) {
  std::vector<RuleDef> rules;
  rules.reserve(n);
  for (size_t i = 0; i < n; ++i)
    rules.push_back(GlobRule("blklot-" + std::to_string(i), "properties.BLKLOT", Blklot(i * 2)));
  return rules;
}

// CityLots-shaped events: 5 coordinate triples each. BLKLOT of event k is 2k (matches
// an exact rule when 2k < 2N) for one event in four, else a value no rule names.
std::vector<std::string> Events(size_t count, size_t exact_rules) {
  std::vector<std::string> out;
  for (size_t k = 0; k < count; ++k) {
    size_t lot = (k % 4 == 0) ? (k * 2) % (2 * exact_rules) : 9000000 + k;
    std::string e = "{ \"type\": \"Feature\", \"properties\": { \"MAPBLKLOT\": \"" + Blklot(lot) +
                    "\", \"BLKLOT\": \"" + Blklot(lot) +
                    "\", \"BLOCK_NUM\": \"0001\", \"LOT_NUM\": \"001\", \"FROM_ST\": \"0\", "
                    "\"TO_ST\": \"0\", \"STREET\": \"" +
                    Street(k * 13) + "\", \"ST_TYPE\": null, \"ODD_EVEN\": \"E\" }, "
                    "\"geometry\": { \"type\": \"Polygon\", \"coordinates\": [ [ ";
    for (int p = 0; p < 5; ++p) {
      char b[128];
      snprintf(b, sizeof b, "%s[ -122.42%04zu3528252475, 37.7%05zu0096967251, 0.0 ]",
               p ? ", " : "", (k * 7 + p) % 10000, (k * 131 + p * 17) % 100000);
      e += b;
    }
    e += " ] ] } }";
    e.append(Matcher::kPadding, ' ');  // MatchPadded needs readable bytes after the event
    out.push_back(std::move(e));
  }
  return out;
}

std::shared_ptr<const RuleSet> Compile(std::vector<RuleDef> rules) {
  auto rs = RuleSet::Compile(std::move(rules));
  if (!rs.ok()) {
    fprintf(stderr, "compile: %s\n", std::string(rs.status().message()).c_str());
    std::abort();
  }
  return *rs;
}

std::shared_ptr<const RuleSet> CompileText(const std::string& json) {
  weir::LoadResult lr = weir::ParseRules({{"micro_bench", json}});
  if (!lr.ok()) {
    fprintf(stderr, "rules: %s\n", lr.diagnostics[0].ToString().c_str());
    std::abort();
  }
  return Compile(std::move(lr.ruleset.rules));
}

void RunMatch(benchmark::State& state, const std::shared_ptr<const RuleSet>& rules,
              const std::vector<std::string>& events) {
  Matcher matcher(rules);
  std::vector<uint32_t> matches;
  size_t bytes = 0, hits = 0, i = 0;
  for (auto _ : state) {
    const std::string& e = events[i];
    std::string_view ev(e.data(), e.size() - Matcher::kPadding);
    if (!matcher.MatchPadded(ev, &matches).ok()) state.SkipWithError("bad event");
    hits += matches.size();
    bytes += ev.size();
    if (++i == events.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["hits_per_event"] =
      benchmark::Counter(static_cast<double>(hits) / static_cast<double>(state.iterations()));
}

void BM_MatchExact(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  static std::map<size_t, std::shared_ptr<const RuleSet>> cache;
  auto& rules = cache[n];
  if (!rules) rules = Compile(ExactRules(n));
  static std::map<size_t, std::vector<std::string>> events;
  if (events[n].empty()) events[n] = Events(256, n);
  RunMatch(state, rules, events[n]);
}
BENCHMARK(BM_MatchExact)->Arg(1)->Arg(1000)->Arg(10000)->Arg(100000);

void BM_MatchPrefix(benchmark::State& state) {
  static auto rules = [] {
    std::vector<RuleDef> r;
    std::map<std::string, bool> seen;
    for (size_t len : {3, 4})
      for (size_t i = 0; i < 20000 && r.size() < 1000; ++i) {
        std::string s = Street(i);
        if (s.size() < len || seen[s.substr(0, len)]) continue;
        seen[s.substr(0, len)] = true;
        r.push_back(GlobRule("prefix-" + std::to_string(r.size()), "properties.STREET",
                             s.substr(0, len) + "*"));
      }
    return Compile(std::move(r));
  }();
  static auto events = Events(256, 1);
  RunMatch(state, rules, events);
}
BENCHMARK(BM_MatchPrefix);

void BM_MatchWildcard(benchmark::State& state) {
  static auto rules = [] {
    std::vector<RuleDef> r;
    std::map<std::string, bool> seen;
    for (size_t len : {2, 3})
      for (size_t i = 0; i < 20000 && r.size() < 1000; ++i) {
        std::string s = Street(i);
        for (size_t p = 0; p + len <= s.size() && r.size() < 1000; ++p) {
          std::string sub = s.substr(p, len);
          if (seen[sub]) continue;
          seen[sub] = true;
          r.push_back(GlobRule("wildcard-" + std::to_string(r.size()), "properties.STREET",
                               "*" + sub + "*"));
        }
      }
    return Compile(std::move(r));
  }();
  static auto events = Events(256, 1);
  RunMatch(state, rules, events);
}
BENCHMARK(BM_MatchWildcard);

void BM_MatchNumeric(benchmark::State& state) {
  static auto rules = [] {
    std::string json = "{\"rules\": [";
    for (int i = 0; i < 100; ++i) {
      // Bounds in ten-thousandths: 37.7000 + i * 0.0014, exactly.
      int lo = 377000 + 14 * i, hi = lo + 14;
      char b[256];
      snprintf(b, sizeof b,
               "%s{\"id\":\"lat-%d\",\"pattern\":{\"geometry\":{\"coordinates\":"
               "[{\"numeric\":[\">=\",%d.%04d,\"<\",%d.%04d]}]}}}",
               i ? "," : "", i, lo / 10000, lo % 10000, hi / 10000, hi % 10000);
      json += b;
    }
    json += "]}";
    return CompileText(json);
  }();
  static auto events = Events(256, 1);
  RunMatch(state, rules, events);
}
BENCHMARK(BM_MatchNumeric);

void BM_MatchNoRules(benchmark::State& state) {
  static auto rules = Compile({GlobRule("none", "no.such.path", "x")});
  static auto events = Events(256, 1);
  RunMatch(state, rules, events);
}
BENCHMARK(BM_MatchNoRules);

void BM_CompileExact(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<RuleDef> defs = ExactRules(n);
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<RuleDef> copy = defs;
    state.ResumeTiming();
    auto rs = RuleSet::Compile(std::move(copy));
    benchmark::DoNotOptimize(rs);
    state.PauseTiming();
    rs = absl::InternalError("drop");  // free outside the timed region
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
}
BENCHMARK(BM_CompileExact)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
