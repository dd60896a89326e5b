// Helpers shared by the tests: compile rule text, match an event, list ids.
#ifndef WEIR_TESTS_TEST_UTIL_H_
#define WEIR_TESTS_TEST_UTIL_H_

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "weir/engine.h"
#include "weir/rules.h"

namespace weir::testing {

inline LoadResult Load(const std::string& text, const std::string& name = "t.yaml") {
  LoadOptions o;
  o.env = [](const std::string& n) -> std::optional<std::string> {
    if (n == "HOOK_SECRET") return "s3cret-value";
    return std::nullopt;
  };
  return ParseRules({{name, text}}, o);
}

inline std::string DiagText(const LoadResult& r) {
  std::string s;
  for (const auto& d : r.diagnostics) s += d.ToString() + "\n";
  return s;
}

inline std::shared_ptr<const RuleSet> CompileText(const std::string& text) {
  LoadResult r = Load(text);
  EXPECT_TRUE(r.ok()) << DiagText(r);
  if (!r.ok()) return nullptr;
  auto rs = RuleSet::Compile(std::move(r.ruleset.rules));
  EXPECT_TRUE(rs.ok()) << rs.status();
  return rs.ok() ? *rs : nullptr;
}

// Ids of the rules matching `event`, or {"ERROR: reason"}.
inline std::vector<std::string> Ids(const std::shared_ptr<const RuleSet>& rs,
                                    const std::string& event) {
  if (!rs) return {"NO RULES"};
  Matcher m(rs);
  std::vector<uint32_t> hits;
  absl::Status st = m.Match(event, &hits);
  if (!st.ok()) return {"ERROR: " + std::string(st.message())};
  std::vector<std::string> ids;
  for (uint32_t h : hits) ids.push_back(rs->rule(h).id);
  return ids;
}

inline bool Matches(const std::shared_ptr<const RuleSet>& rs, const std::string& event) {
  auto ids = Ids(rs, event);
  EXPECT_TRUE(ids.empty() || ids[0].rfind("ERROR", 0) != 0) << ids[0];
  return !ids.empty();
}

// A one-rule file with the given filter body (YAML, indented under filter:).
inline std::string OneFilter(const std::string& body) {
  return "rules:\n  - id: r\n    filter:\n" + body;
}

}  // namespace weir::testing

#endif  // WEIR_TESTS_TEST_UTIL_H_
