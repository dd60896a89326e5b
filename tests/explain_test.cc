// Explain (weir/explain.h) against the compiled engine and the reference
// evaluator: the same verdict for every (event, rule) of the differential
// test's generated cases, of tests/data/pattern_cases.json and of every
// bundled example; and the reasons it gives.
#include "weir/explain.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "simdjson.h"
#include "tests/differential_gen.h"
#include "tests/reference.h"
#include "tests/test_util.h"

namespace weir::testing {
namespace {

// Explain's verdict for every rule, or an error.
absl::StatusOr<std::vector<bool>> Verdicts(Explainer& ex, const std::string& event) {
  std::vector<RuleExplanation> out;
  absl::Status st = ex.Explain(event, &out);
  if (!st.ok()) return st;
  std::vector<bool> v;
  for (const RuleExplanation& r : out) {
    // Internal coherence: a failed alternative names its condition, a
    // matched one does not; the verdict is "enabled and some alternative".
    bool any = false;
    for (const AlternativeExplanation& a : r.alternatives) {
      EXPECT_EQ(a.matched, !a.failed.has_value()) << r.id << " " << event;
      any = any || a.matched;
    }
    EXPECT_EQ(r.matched, r.enabled && any) << r.id;
    v.push_back(r.matched);
  }
  return v;
}

std::vector<bool> AsFlags(const std::vector<uint32_t>& hits, size_t n) {
  std::vector<bool> v(n, false);
  for (uint32_t h : hits) v[h] = true;
  return v;
}

// Every (event, rule) verdict of explain equals the engine's and the
// reference's; returns the number of events checked.
int CheckRules(const std::vector<RuleDef>& rules, const std::vector<std::string>& events,
               const std::string& what) {
  auto rs = RuleSet::Compile(rules);
  EXPECT_TRUE(rs.ok()) << what << ": " << rs.status();
  if (!rs.ok()) return 0;
  auto ex = Explainer::Create(rules);
  EXPECT_TRUE(ex.ok()) << what << ": " << ex.status();
  if (!ex.ok()) return 0;
  Reference ref(rules);
  Matcher m(*rs);
  std::vector<uint32_t> got, want;
  int checked = 0;
  for (size_t e = 0; e < events.size(); ++e) {
    const std::string& event = events[e];
    bool ref_ok = ref.Match(event, &want);
    absl::Status st = m.Match(event, &got);
    auto verdicts = Verdicts(**ex, event);
    if (!ref_ok) {
      // A line the reference cannot read is bad for explain too.
      EXPECT_FALSE(verdicts.ok()) << what << " event " << e << ": " << event;
      continue;
    }
    EXPECT_TRUE(st.ok()) << what << " event " << e << ": " << st;
    EXPECT_TRUE(verdicts.ok()) << what << " event " << e << ": " << verdicts.status() << " "
                               << event;
    if (!st.ok() || !verdicts.ok()) continue;
    std::vector<bool> engine = AsFlags(got, rules.size()), reference = AsFlags(want, rules.size());
    for (size_t r = 0; r < rules.size(); ++r) {
      EXPECT_EQ((*verdicts)[r], engine[r])
          << what << " event " << e << " rule " << rules[r].id << ": explain vs engine\n"
          << event;
      EXPECT_EQ((*verdicts)[r], reference[r])
          << what << " event " << e << " rule " << rules[r].id << ": explain vs reference\n"
          << event;
    }
    ++checked;
  }
  return checked;
}

TEST(ExplainVerdict, GeneratedFilterDialectRuleSets) {
  // Every third seed of the differential test: the engine and the reference
  // are compared on all of them there; this keeps the sanitizer build short.
  for (uint32_t seed = 1; seed <= 300; seed += 3) {
    Gen g(seed);
    std::vector<RuleDef> rules;
    int n = 1 + g.Int(40);
    for (int i = 0; i < n; ++i) rules.push_back(g.Rule(i, true));
    std::vector<std::string> events;
    for (int e = 0; e < 150; ++e) events.push_back(g.Object(0));
    CheckRules(rules, events, absl::StrCat("seed ", seed));
    if (HasFailure()) return;
  }
}

TEST(ExplainVerdict, GeneratedEveryPredicateKindWithArrayConsistency) {
  for (uint32_t seed = 1000; seed <= 1400; seed += 3) {
    Gen g(seed);
    std::vector<RuleDef> rules;
    int n = 1 + g.Int(40);
    for (int i = 0; i < n; ++i) rules.push_back(g.Rule(i, false));
    std::vector<std::string> events;
    for (int e = 0; e < 150; ++e) events.push_back(g.Object(0));
    CheckRules(rules, events, absl::StrCat("seed ", seed));
    if (HasFailure()) return;
  }
}

// The match/no-match cases of the EventBridge case file, each through the
// loader (so through the pattern dialect), as in pattern_dialect_test.
TEST(ExplainVerdict, PatternCases) {
  simdjson::padded_string text;
  ASSERT_FALSE(simdjson::padded_string::load(std::string(WEIR_TEST_DATA) + "/pattern_cases.json")
                   .get(text));
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  ASSERT_FALSE(parser.iterate(text).get(doc));
  simdjson::ondemand::array cases;
  ASSERT_FALSE(doc.get_array().get(cases));
  int checked = 0, n = 0;
  for (auto cr : cases) {
    simdjson::ondemand::object c;
    ASSERT_FALSE(cr.get_object().get(c));
    std::string name, pattern, event;
    bool reject = false;
    for (auto fr : c) {
      simdjson::ondemand::field f;
      ASSERT_FALSE(std::move(fr).get(f));
      std::string_view key, raw;
      ASSERT_FALSE(f.unescaped_key().get(key));
      simdjson::ondemand::value v = f.value();
      if (key == "name") {
        std::string_view s;
        ASSERT_FALSE(v.get_string().get(s));
        name = s;
      } else if (key == "pattern" || key == "event") {
        simdjson::ondemand::object o;
        if (v.get_object().get(o)) continue;  // a reject case's non-object pattern
        ASSERT_FALSE(o.raw_json().get(raw));
        (key == "pattern" ? pattern : event) = raw;
      } else if (key == "reject") {
        bool b;
        ASSERT_FALSE(v.get_bool().get(b));
        reject = b;
      }
    }
    ++n;
    if (reject) continue;
    // Events are one line, as weir reads them.
    std::replace(event.begin(), event.end(), '\n', ' ');
    std::string rules = R"({"rules": [{"id": "c", "pattern": )" + pattern + "}]}";
    LoadResult lr = ParseRules({{"case.json", rules}});
    // A case weir refuses on purpose (pattern_dialect_test lists them) has
    // no verdict to compare.
    if (!lr.ok()) continue;
    checked += CheckRules(lr.ruleset.rules, {event}, name);
  }
  EXPECT_GT(n, 300);
  EXPECT_GT(checked, 200);
}

// Every example rule file against its events, through the loader.
TEST(ExplainVerdict, BundledExamples) {
  namespace fs = std::filesystem;
  int checked = 0, examples = 0;
  for (const auto& dir : fs::directory_iterator(fs::path(WEIR_SOURCE_DIR) / "examples")) {
    fs::path rules = dir.path() / "rules.yaml", events = dir.path() / "events.ndjson";
    if (!fs::exists(rules) || !fs::exists(events)) continue;
    LoadOptions o;
    o.env = [](const std::string&) -> std::optional<std::string> { return "x"; };
    LoadResult lr = LoadRuleFiles({rules.string()}, o);
    ASSERT_TRUE(lr.ok()) << rules << "\n" << DiagText(lr);
    std::ifstream in(events);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
      if (line.find_first_not_of(" \t\r") != std::string::npos) lines.push_back(line);
    checked += CheckRules(lr.ruleset.rules, lines, events.string());
    ++examples;
  }
  EXPECT_EQ(examples, 4);
  EXPECT_GT(checked, 20);
}

// ---- Reasons ----

RuleExplanation One(const std::string& rule_yaml, const std::string& event) {
  LoadResult lr = Load(rule_yaml);
  EXPECT_TRUE(lr.ok()) << DiagText(lr);
  if (!lr.ok() || lr.ruleset.rules.empty()) return {};
  auto ex = Explain(lr.ruleset.rules[0], event);
  EXPECT_TRUE(ex.ok()) << ex.status();
  return ex.ok() ? *ex : RuleExplanation{};
}

std::string Pattern(const std::string& p) { return "rules:\n  - id: r\n    pattern: " + p + "\n"; }

const FailedCondition& Failed(const RuleExplanation& r, size_t alt = 0) {
  static const FailedCondition kNone;
  if (alt >= r.alternatives.size() || !r.alternatives[alt].failed) {
    ADD_FAILURE() << "alternative " << alt << " did not fail";
    return kNone;
  }
  return *r.alternatives[alt].failed;
}

TEST(ExplainReason, ValueNotWanted) {
  auto r = One(Pattern(R"({Job: {Robot: {Name: [{prefix: bench-}]}}})"),
               R"({"Job":{"Robot":{"Name":"prod-7"}}})");
  EXPECT_FALSE(r.matched);
  const FailedCondition& f = Failed(r);
  EXPECT_EQ(f.reason, FailedCondition::Reason::kNoValueMatched);
  EXPECT_EQ(f.path, "Job.Robot.Name");
  EXPECT_EQ(f.wanted, R"(a string starting with "bench-")");
  EXPECT_THAT(f.found, ::testing::ElementsAre(R"("prod-7")"));
}

TEST(ExplainReason, AbsentAndOnlyAnObject) {
  auto r = One(Pattern(R"({Type: [job.faulted, job.stopped]})"), R"({"State":"x"})");
  const FailedCondition& f = Failed(r);
  EXPECT_EQ(f.reason, FailedCondition::Reason::kAbsent);
  EXPECT_EQ(f.wanted, R"(one of "job.faulted", "job.stopped")");
  EXPECT_TRUE(f.found.empty());
  EXPECT_FALSE(f.objects);
  auto o = One(Pattern(R"({Type: [{exists: true}]})"), R"({"Type":{"a":1}})");
  EXPECT_EQ(Failed(o).reason, FailedCondition::Reason::kAbsent);
  EXPECT_TRUE(Failed(o).objects);
}

TEST(ExplainReason, FirstFailingConditionInOrder) {
  auto r = One(Pattern(R"({a: [1], b: [2], c: [3]})"), R"({"a":1,"b":5,"c":7})");
  EXPECT_EQ(Failed(r).path, "b");
  EXPECT_EQ(Failed(r).clause, 1u);
  EXPECT_THAT(Failed(r).found, ::testing::ElementsAre("5"));
}

TEST(ExplainReason, ExistsFalse) {
  auto r = One(Pattern(R"({a: [{exists: false}]})"), R"({"a":[1,"x"]})");
  const FailedCondition& f = Failed(r);
  EXPECT_EQ(f.reason, FailedCondition::Reason::kPresent);
  EXPECT_EQ(f.wanted, "absent");
  EXPECT_THAT(f.found, ::testing::ElementsAre("1", R"("x")"));
}

TEST(ExplainReason, ArrayConsistency) {
  auto r = One(Pattern(R"({employees: {first: [Anna], last: [Jones]}})"),
               R"({"employees":[{"first":"Anna","last":"Smith"},{"first":"Peter","last":"Jones"}]})");
  EXPECT_FALSE(r.matched);
  const FailedCondition& f = Failed(r);
  EXPECT_EQ(f.reason, FailedCondition::Reason::kOtherElements);
  EXPECT_EQ(f.path, "employees.last");
  EXPECT_THAT(f.found, ::testing::ElementsAre(R"("Jones")"));
  EXPECT_TRUE(One(Pattern(R"({employees: {first: [Anna], last: [Smith]}})"),
                  R"({"employees":[{"first":"Anna","last":"Smith"}]})")
                  .matched);
}

TEST(ExplainReason, WhichAlternativeMatched) {
  auto r = One(Pattern(R"({$or: [{a: [1]}, {b: [2]}]})"), R"({"a":0,"b":2})");
  EXPECT_TRUE(r.matched);
  ASSERT_EQ(r.alternatives.size(), 2u);
  EXPECT_FALSE(r.alternatives[0].matched);
  EXPECT_TRUE(r.alternatives[1].matched);
}

TEST(ExplainReason, Wanted) {
  auto wanted = [](const std::string& p) {
    LoadResult lr = Load(Pattern(p));
    EXPECT_TRUE(lr.ok()) << DiagText(lr);
    return lr.ok() ? DescribeClause(lr.ruleset.rules[0].condition.any_of[0].all_of[0]) : "";
  };
  EXPECT_EQ(wanted(R"({a: [{numeric: [">=", 0, "<=", 10]}]})"), "a number between 0 and 10");
  EXPECT_EQ(wanted(R"({a: [{numeric: [">", 0, "<", 1.5]}]})"), "a number > 0 and < 1.5");
  EXPECT_EQ(wanted(R"({a: [{numeric: ["<=", 3.5e1]}]})"), "a number <= 35");
  EXPECT_EQ(wanted(R"({a: [300, 0.001, 1e400]})"), "one of 300, 0.001, 1e400");
  EXPECT_EQ(wanted(R"({a: [{suffix: .png}]})"), R"(a string ending with ".png")");
  EXPECT_EQ(wanted(R"({a: [{wildcard: "*/lib/*.so"}]})"),
            R"(a string matching the wildcard "*/lib/*.so")");
  EXPECT_EQ(wanted(R"({a: [{wildcard: "*/lib/*"}]})"), R"(a string containing "/lib/")");
  EXPECT_EQ(wanted(R"({a: [{equals-ignore-case: ÉTÉ}]})"), R"("été" in any case)");
  EXPECT_EQ(wanted(R"({a: [{anything-but: [x, y]}]})"), R"(anything but "x", "y")");
  EXPECT_EQ(wanted(R"({a: [{anything-but: {prefix: init}}]})"),
            R"(anything but a string starting with "init")");
  EXPECT_EQ(wanted(R"({a: [{cidr: 10.0.0.0/24}]})"), "an IP address in 10.0.0.0/24");
  EXPECT_EQ(wanted(R"({a: [null, true, {exists: true}]})"), "null or true or any value");
  EXPECT_EQ(wanted(R"({a: [{prefix: x}, y]})"), R"(a string starting with "x" or "y")");
}

TEST(ExplainReason, FilterDialectTextAndNumbers) {
  auto r = One(OneFilter("      inputParams.other: \"1*\"\n"), R"({"inputParams":{"other":20}})");
  EXPECT_EQ(Failed(r).wanted, R"(a value starting with "1")");
  EXPECT_THAT(Failed(r).found, ::testing::ElementsAre("20"));
  EXPECT_TRUE(One(OneFilter("      inputParams.other: \"1*\"\n"), R"({"inputParams":{"other":10}})")
                  .matched);
}

TEST(ExplainReason, DuplicateAndDottedKeysAsTheMatcherReadsThem) {
  const std::string rule = Pattern(R"({a: {b: ["y"]}})");
  EXPECT_FALSE(One(rule, R"({"a":{"b":"x"},"a.b":"y"})").matched);  // dotted after plain: ignored
  EXPECT_TRUE(One(rule, R"({"a.b":"y","a":{"b":"x"}})").matched);   // dotted first: both count
  EXPECT_FALSE(One(rule, R"({"a":{"b":"x","b":"y"}})").matched);    // first occurrence counts
  auto r = One(rule, R"({"a":{"b":"x"},"a.b":"y"})");
  EXPECT_THAT(Failed(r).found, ::testing::ElementsAre(R"("x")"));
}

TEST(ExplainReason, LongValuesAreShortenedAndCounted) {
  std::string event = R"({"a":[)";
  for (int i = 0; i < 20; ++i) absl::StrAppend(&event, i ? "," : "", "\"", std::string(100, 'x'), "\"");
  event += "]}";
  auto r = One(Pattern("{a: [y]}"), event);
  const FailedCondition& f = Failed(r);
  EXPECT_EQ(f.found_total, 20u);
  ASSERT_EQ(f.found.size(), FailedCondition::kMaxFound);
  EXPECT_EQ(f.found[0], "\"" + std::string(FailedCondition::kMaxStringBytes, 'x') + "...\"");
}

TEST(ExplainReason, DisabledRuleNeverMatches) {
  auto r = One("rules:\n  - id: r\n    enabled: false\n    pattern: {a: [1]}\n", R"({"a":1})");
  EXPECT_FALSE(r.enabled);
  EXPECT_FALSE(r.matched);
  ASSERT_EQ(r.alternatives.size(), 1u);
  EXPECT_TRUE(r.alternatives[0].matched);  // what would have held
}

TEST(ExplainReason, BadEventsAreRefusedWithTheMatchersReasons) {
  LoadResult lr = Load(Pattern("{a: [1]}"));
  ASSERT_TRUE(lr.ok());
  auto ex = Explainer::Create(lr.ruleset.rules);
  ASSERT_TRUE(ex.ok());
  std::vector<RuleExplanation> out;
  EXPECT_EQ((*ex)->Explain("[1]", &out).message(), "not a JSON object");
  EXPECT_EQ((*ex)->Explain(R"({"a":1,})", &out).message(),
            "invalid JSON: bad structure (a missing or extra comma, colon, brace or bracket)");
  EXPECT_EQ((*ex)->Explain(R"({"a":"x)", &out).message(), "invalid JSON: a string is not terminated");
  EXPECT_TRUE((*ex)->Explain(R"({"a":1e400})", &out).ok());  // valid in weir, not a match
  EXPECT_FALSE(out[0].matched);
}

}  // namespace
}  // namespace weir::testing
