// Built against the installed weir (CMake package or pkg-config): loads
// rules from text, compiles them, adds one at run time, matches an event.
#include <cstdio>

#include "weir/engine.h"
#include "weir/rules.h"

int main() {
  weir::LoadResult r = weir::ParseRules({{"inline.yaml", R"(
rules:
  - id: faulted
    pattern: {Type: [job.faulted]}
)"}});
  if (!r.ok()) {
    for (const auto& d : r.diagnostics) fprintf(stderr, "%s\n", d.ToString().c_str());
    return 1;
  }
  auto rules = weir::RuleSet::Compile(std::move(r.ruleset.rules));
  if (!rules.ok()) return 1;
  weir::LoadResult more = weir::ParseRules({{"more.yaml", "rules: [{id: any, filter: {Type: \"*\"}}]"}});
  auto updated = weir::RuleSet::Update(*rules, std::move(more.ruleset.rules), {});
  if (!updated.ok()) return 1;
  weir::Matcher m(*updated);
  std::vector<uint32_t> hits;
  if (!m.Match(R"({"Type":"job.faulted"})", &hits).ok()) return 1;
  for (uint32_t h : hits) printf("%s\n", std::string((*updated)->id(h)).c_str());
  return hits.size() == 2 ? 0 : 1;
}
