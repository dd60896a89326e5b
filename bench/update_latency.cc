// Latency of adding and removing one rule in a large rule set
// (RuleSet::Update), and of compiling the set. Usage: update_latency [N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "weir/engine.h"

using Clock = std::chrono::steady_clock;

static weir::RuleDef Exact(const std::string& id, const std::string& value) {
  weir::RuleDef r;
  r.id = id;
  weir::Clause c;
  c.path = "properties.BLKLOT";
  weir::Predicate p;
  p.kind = weir::PredicateKind::kStringGlob;
  p.text = value;
  c.any_of.push_back(p);
  weir::Conjunction conj;
  conj.all_of.push_back(c);
  r.condition.any_of.push_back(conj);
  return r;
}

int main(int argc, char** argv) {
  size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100000;
  std::vector<weir::RuleDef> rules;
  for (size_t i = 0; i < n; ++i) rules.push_back(Exact("sub-" + std::to_string(i), std::to_string(1000000 + i)));
  auto t0 = Clock::now();
  auto rs = weir::RuleSet::Compile(std::move(rules));
  double compile_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  if (!rs.ok()) return 1;
  std::shared_ptr<const weir::RuleSet> cur = *rs;
  std::vector<double> add_us, remove_us;
  for (int i = 0; i < 2000; ++i) {
    auto a = Clock::now();
    auto next = weir::RuleSet::Update(cur, {Exact("new-" + std::to_string(i), "x" + std::to_string(i))}, {});
    auto b = Clock::now();
    cur = *next;
    add_us.push_back(std::chrono::duration<double, std::micro>(b - a).count());
    a = Clock::now();
    next = weir::RuleSet::Update(cur, {}, {"sub-" + std::to_string(i * 7 % n)});
    b = Clock::now();
    if (!next.ok()) return 1;
    cur = *next;
    remove_us.push_back(std::chrono::duration<double, std::micro>(b - a).count());
  }
  auto pct = [](std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v[static_cast<size_t>(p * (v.size() - 1))];
  };
  printf("rules %zu: compile %.0f ms\n", n, compile_ms);
  printf("add one rule:    median %.0f us, p90 %.0f us, p99 %.0f us, max %.0f us\n", pct(add_us, .5),
         pct(add_us, .9), pct(add_us, .99), pct(add_us, 1));
  printf("remove one rule: median %.0f us, p90 %.0f us, p99 %.0f us, max %.0f us\n",
         pct(remove_us, .5), pct(remove_us, .9), pct(remove_us, .99), pct(remove_us, 1));
  return 0;
}
