// reference_count RULES EVENTS: per-rule match counts from the slow reference
// evaluator (tests/reference.h), in the format of `weir filter --format count`,
// to check the engine on large real data (bench/citylots_check.sh).
#include <cstdio>
#include <fstream>
#include <iostream>

#include "reference.h"
#include "weir/rules.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: reference_count RULES EVENTS\n");
    return 2;
  }
  weir::LoadResult lr = weir::LoadRuleFiles({argv[1]});
  if (!lr.ok()) {
    for (const auto& d : lr.diagnostics) std::fprintf(stderr, "%s\n", d.ToString().c_str());
    return 2;
  }
  weir::testing::Reference ref(lr.ruleset.rules);
  std::vector<uint64_t> counts(lr.ruleset.rules.size(), 0);
  std::ifstream in(argv[2]);
  std::string line;
  std::vector<uint32_t> hits;
  uint64_t bad = 0;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (!ref.Match(line, &hits)) {
      ++bad;
      continue;
    }
    for (uint32_t h : hits) ++counts[h];
  }
  for (size_t i = 0; i < counts.size(); ++i) {
    if (!lr.ruleset.rules[i].enabled) continue;
    std::printf("%s\t%llu\n", lr.ruleset.rules[i].id.c_str(),
                static_cast<unsigned long long>(counts[i]));
  }
  if (bad) std::fprintf(stderr, "reference_count: %llu bad lines\n", (unsigned long long)bad);
  return 0;
}
