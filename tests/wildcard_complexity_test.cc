// EventBridge's wildcard complexity (rules/wildcard_complexity.h): event-ruler's
// own expectations (MachineComplexityEvaluatorTest, patterns without quotes),
// and the limit as the pattern dialect applies it.
#include "rules/wildcard_complexity.h"

#include <string>
#include <vector>

#include "tests/test_util.h"

namespace weir::testing {
namespace {

// A pattern as event-ruler's unit tests give it: bytes and stars, no quotes.
WildcardBytes Raw(const std::string& p, int kind = 0) {
  WildcardBytes w;
  w.kind = kind;
  for (char c : p) w.items.push_back(c == '*' ? WildcardBytes::kStar : static_cast<unsigned char>(c));
  return w;
}

size_t Of(const std::vector<std::string>& ps) {
  std::vector<WildcardBytes> v;
  for (const auto& p : ps) v.push_back(Raw(p));
  return WildcardComplexity(v, 100);
}

TEST(WildcardComplexity, EventRulerExpectations) {
  struct Case {
    size_t want;
    std::vector<std::string> patterns;
  };
  const std::vector<Case> cases = {
      {1, {"*"}}, {3, {"*", "ab*c"}}, {1, {"abc"}}, {2, {"*ab"}}, {3, {"*aa"}}, {2, {"a*b"}},
      {2, {"aa*"}}, {2, {"a*bc"}}, {3, {"a*bb"}}, {3, {"a*bcb"}}, {4, {"a*bbb"}},
      {4, {"*ab*ad"}}, {3, {"*ab*d"}}, {4, {"*aba*"}}, {5, {"a*b*bb"}}, {4, {"a*b*cb"}},
      {3, {"a*b*cd"}}, {4, {"a*b*b"}}, {4, {"a*bb*"}}, {3, {"ab*b*"}}, {3, {"ab*c", "x*xx"}},
      {4, {"*abc", "*abcde"}}, {4, {"a*bcd", "ab*cd"}}, {4, {"a*bc", "a*bcde"}},
      {7, {"a*aaa", "aa*aa"}}, {4, {"a*bc", "abc*d"}}, {6, {"a*aaa", "aaa*a"}},
      {5, {"a*aax", "aaa*x"}}, {4, {"a*bc", "abc*"}}, {5, {"a*aa", "aaa*"}},
      {3, {"abc*", "abcde*"}}, {6, {"ab*cd", "ab*wx", "ab*yz"}}, {7, {"*ab*b*b*"}},
      {17, {"*a*a*a*a*a*a*a*a*"}}, {2, {"ab*c", "ab*c"}},
      {10, {"F*eatureFeature", "Fe*atureFeature", "Fea*tureFeature"}},
      {11, {"a*a*a*a*a*a*"}},  // the wildcard of testEvaluateNestedMachinesViaNextNameStates
      {45, {"aahed*", "aal*ii", "aargh*", "aarti*", "a*baca", "*abaci", "a*back", "ab*acs",
            "abaf*t", "*abaka", "ab*amp", "a*band", "*abase", "abash*", "abas*k", "ab*ate",
            "aba*ya", "abbas*", "abbed*", "ab*bes", "abbey*", "*abbot", "ab*cee", "abea*m",
            "abe*ar", "a*bele", "a*bers", "abet*s", "*abhor", "abi*de", "a*bies", "*abled"}},
  };
  for (const Case& c : cases) {
    std::string name;
    for (const auto& p : c.patterns) name += p + " ";
    EXPECT_EQ(Of(c.patterns), c.want) << name;
  }
  // An anything-but wildcard and a wildcard of the same text are two patterns.
  EXPECT_EQ(WildcardComplexity({Raw("a*aaa", 1), Raw("aa*aa")}, 100), 7u);
  EXPECT_EQ(WildcardComplexity({Raw("a*b", 1), Raw("a*b")}, 100), 4u);
}

TEST(WildcardComplexity, BoundIsAnUpperBound) {
  for (const char* p :
       {"*", "abc", "*ab*ad", "a*b*bb", "*a*a*a*a*a*a*a*a*", "F*eatureFeature", "aa*", "a*aaa",
        "\"*:*:*:*:*:event-bus/*\"", "\"/Users/*/dir/dir/dir/dir/dir/doc.txt\""}) {
    EXPECT_LE(WildcardComplexity({Raw(p)}, 1000), WildcardComplexityBound({Raw(p)})) << p;
  }
  EXPECT_EQ(WildcardComplexityBound({QuotedWildcard("*.png")}), 8u);
  EXPECT_EQ(WildcardComplexityBound({QuotedWildcard("no stars")}), 1u);
}

TEST(WildcardComplexity, CappedAndBounded) {
  std::string big;
  for (int i = 0; i < 2000; ++i) big += "F*e*a*t*u*r*e*";
  EXPECT_EQ(WildcardComplexity({Raw(big)}, 100), 100u);  // event-ruler: capped at its maximum
  EXPECT_EQ(WildcardComplexity({}, 100), 0u);
}

TEST(WildcardComplexity, PatternsAreQuotedAsEventRulerCompilesThem) {
  auto q = [](const std::string& p) { return WildcardComplexity({QuotedWildcard(p)}, 100); };
  EXPECT_EQ(q("*:*:*:*:*:event-bus/*"), 11u);  // AWS: "Rule is too complex"
  EXPECT_EQ(q("/Users/*/dir/dir/dir/dir/dir/doc.txt"), 7u);  // AWS: accepted
  EXPECT_EQ(q("arn:aws:events:us-east-1:*:event-bus/*"), 3u);  // AWS: accepted
  EXPECT_EQ(q("*"), 2u);
  EXPECT_EQ(q("a\\*b"), 1u);  // an escaped star is a byte
}

std::vector<Diagnostic> Diags(const std::string& pattern) {
  return Load("rules:\n  - id: r\n    pattern: " + pattern + "\n").diagnostics;
}

TEST(WildcardComplexity, PatternDialectRejectsWhatEventBridgeRejects) {
  auto d = Diags(R"({EventBusArn: [{wildcard: "*:*:*:*:*:event-bus/*"}]})");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].message,
            "the wildcards on field 'EventBusArn' are too complex for EventBridge: complexity 11, "
            "the limit is 10 (EventBridge refuses it: \"Rule is too complex - try using fewer "
            "wildcard characters or fewer repeating character sequences after a wildcard "
            "character\")");
  EXPECT_EQ(d[0].where.line, 3);
  EXPECT_TRUE(Diags(R"({FileName: [{wildcard: "/Users/*/dir/dir/dir/dir/dir/doc.txt"}]})").empty());
  EXPECT_TRUE(Diags(R"({a: [{wildcard: "arn:aws:events:us-east-1:*:event-bus/*"}]})").empty());
  // Per field, over all of the rule's wildcards on it, $or branches too.
  EXPECT_TRUE(Diags(R"({a: [{wildcard: "*:*:*:x"}]})").empty());
  EXPECT_EQ(Diags(R"({$or: [{a: [{wildcard: "*:*:*:x"}]}, {a: [{wildcard: "*:*:*:y"}]}]})").size(),
            1u);
  EXPECT_TRUE(Diags(R"({a: [{wildcard: "*:*:*:x"}], b: [{wildcard: "*:*:*:y"}]})").empty());
  // anything-but wildcards count; quamina's shellstyle does not (quamina has no such limit).
  EXPECT_EQ(Diags(R"({a: [{anything-but: {wildcard: "*:*:*:*:*:event-bus/*"}}]})").size(), 1u);
  EXPECT_TRUE(Diags(R"({a: [{shellstyle: "*:*:*:*:*:event-bus/*"}]})").empty());
  // prefix, suffix and exact values are no wildcards, whatever they hold.
  EXPECT_TRUE(Diags(R"({a: [{prefix: "*:*:*:*:*:*:*"}, "*:*:*:*:*:*"]})").empty());
}

}  // namespace
}  // namespace weir::testing
