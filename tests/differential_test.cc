// The compiled engine against the slow reference evaluator (tests/reference.h)
// on generated rule sets and events, and on the bundled examples.
#include <filesystem>
#include <fstream>
#include <random>

#include "absl/strings/str_cat.h"
#include "tests/differential_gen.h"
#include "tests/reference.h"
#include "tests/test_util.h"

namespace weir::testing {
namespace {

void CheckAgainstReference(uint32_t seed, bool textual_only) {
  Gen g(seed);
  std::vector<RuleDef> rules;
  int n = 1 + g.Int(40);
  for (int i = 0; i < n; ++i) rules.push_back(g.Rule(i, textual_only));
  Reference ref(rules);
  auto rs = RuleSet::Compile(rules);
  ASSERT_TRUE(rs.ok()) << rs.status();
  Matcher m(*rs);
  std::vector<uint32_t> got, want;
  for (int e = 0; e < 150; ++e) {
    std::string event = g.Object(0);
    ASSERT_TRUE(ref.Match(event, &want)) << event;
    absl::Status st = m.Match(event, &got);
    ASSERT_TRUE(st.ok()) << st << " " << event;
    if (got != want) {
      std::string dump;
      for (uint32_t i : want) absl::StrAppend(&dump, " ", rules[i].id);
      dump += " | engine:";
      for (uint32_t i : got) absl::StrAppend(&dump, " ", rules[i].id);
      FAIL() << "seed " << seed << " event " << event << "\nreference:" << dump << "\n"
             << (*rs)->DebugString();
    }
  }
}

TEST(Differential, FilterDialectRuleSets) {
  for (uint32_t seed = 1; seed <= 300; ++seed) {
    CheckAgainstReference(seed, true);
    if (HasFatalFailure()) return;
  }
}

TEST(Differential, EveryPredicateKindWithArrayConsistency) {
  for (uint32_t seed = 1000; seed <= 1400; ++seed) {
    CheckAgainstReference(seed, false);
    if (HasFatalFailure()) return;
  }
}

// Every example rule file against its events, through the loader.
TEST(Differential, BundledExamples) {
  namespace fs = std::filesystem;
  int checked = 0;
  for (const auto& dir : fs::directory_iterator(fs::path(WEIR_SOURCE_DIR) / "examples")) {
    fs::path rules = dir.path() / "rules.yaml", events = dir.path() / "events.ndjson";
    if (!fs::exists(rules) || !fs::exists(events)) continue;
    LoadOptions o;
    o.env = [](const std::string&) -> std::optional<std::string> { return "x"; };
    LoadResult lr = LoadRuleFiles({rules.string()}, o);
    if (!lr.ok()) continue;  // dialects not built yet are covered by their own tests
    Reference ref(lr.ruleset.rules);
    auto rs = RuleSet::Compile(lr.ruleset.rules);
    ASSERT_TRUE(rs.ok()) << rs.status();
    Matcher m(*rs);
    std::ifstream in(events);
    std::string line;
    std::vector<uint32_t> got, want;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      bool ref_ok = ref.Match(line, &want);
      absl::Status st = m.Match(line, &got);
      if (!ref_ok) continue;  // malformed lines are the CLI tests' business
      ASSERT_TRUE(st.ok()) << events << ":" << n << " " << st;
      EXPECT_EQ(got, want) << events << ":" << n;
      ++checked;
    }
  }
  EXPECT_GT(checked, 20);
}

}  // namespace
}  // namespace weir::testing
