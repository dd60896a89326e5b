// Every clause of docs/rules.md's `filter` dialect.
#include "test_util.h"

namespace weir::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::shared_ptr<const RuleSet> F(const std::string& body) { return CompileText(OneFilter(body)); }

TEST(FilterDialect, SeedExampleWorksAsWritten) {
  // The Workflow Service event catalogue's own filter:
  // {"filter": {"event": "resource.ResourceCreated", "resource.type": "itemsvc.*"}}
  auto rs = CompileText(R"(rules:
  - id: item-created
    filter: {"event": "resource.ResourceCreated", "resource.type": "itemsvc.*"}
)");
  EXPECT_TRUE(Matches(rs, R"({"event":"resource.ResourceCreated","resource":{"type":"itemsvc.Item"}})"));
  EXPECT_FALSE(Matches(rs, R"({"event":"resource.ResourceCreated","resource":{"type":"custom.Resource"}})"));
  EXPECT_FALSE(Matches(rs, R"({"event":"resource.ResourceUpdated","resource":{"type":"itemsvc.Item"}})"));
}

TEST(FilterDialect, DottedPathReadsNestedObjects) {
  auto rs = F("      a.b.c: x\n");
  EXPECT_TRUE(Matches(rs, R"({"a":{"b":{"c":"x"}}})"));
  EXPECT_FALSE(Matches(rs, R"({"a":{"b":{"c":"y"}}})"));
  EXPECT_FALSE(Matches(rs, R"({"a":{"b":"x"}})"));
}

TEST(FilterDialect, KeysWithDotsAreTheSamePathInAnySplit) {
  auto rs = F("      a.b.c: x\n");
  EXPECT_TRUE(Matches(rs, R"({"a.b.c":"x"})"));
  EXPECT_TRUE(Matches(rs, R"({"a.b":{"c":"x"}})"));
  EXPECT_TRUE(Matches(rs, R"({"a":{"b.c":"x"}})"));
  EXPECT_TRUE(Matches(rs, R"({"other":1,"a.b":{"c":"x"},"z":2})"));
  EXPECT_FALSE(Matches(rs, R"({"a.b.c.d":"x"})"));
  EXPECT_FALSE(Matches(rs, R"({"a.bc":"x"})"));
}

TEST(FilterDialect, PathsStepThroughArraysAtEveryLevel) {
  auto rs = F("      Jobs.Robot.Name: \"bench-*\"\n");
  EXPECT_TRUE(Matches(rs, R"({"Jobs":[{"Robot":{"Name":"local"}},{"Robot":{"Name":"bench-1"}}]})"));
  EXPECT_FALSE(Matches(rs, R"({"Jobs":[{"Robot":{"Name":"local"}},{"Robot":{"Name":"x"}}]})"));
  EXPECT_TRUE(Matches(rs, R"({"Jobs":[[{"Robot":[{"Name":["a","bench-2"]}]}]]})"));
  EXPECT_TRUE(Matches(rs, R"({"Jobs":{"Robot":{"Name":"bench-3"}}})"));
}

TEST(FilterDialect, PathsAndValuesAreCaseSensitive) {
  auto rs = F("      event: Created\n");
  EXPECT_TRUE(Matches(rs, R"({"event":"Created"})"));
  EXPECT_FALSE(Matches(rs, R"({"event":"created"})"));
  EXPECT_FALSE(Matches(rs, R"({"Event":"Created"})"));
}

TEST(FilterDialect, WildcardMatchesTheWholeValue) {
  auto rs = F("      t: \"item*\"\n");
  EXPECT_TRUE(Matches(rs, R"({"t":"item"})"));
  EXPECT_TRUE(Matches(rs, R"({"t":"items.x.y"})"));
  EXPECT_FALSE(Matches(rs, R"({"t":"an item"})"));
  auto exact = F("      t: item\n");
  EXPECT_FALSE(Matches(exact, R"({"t":"items"})"));
  EXPECT_FALSE(Matches(exact, R"({"t":"an item"})"));
}

TEST(FilterDialect, StarMatchesAnyRunAlsoEmptyAlsoDots) {
  auto rs = F("      t: \"a*z\"\n");
  EXPECT_TRUE(Matches(rs, R"({"t":"az"})"));
  EXPECT_TRUE(Matches(rs, R"({"t":"a.b.c.z"})"));
  EXPECT_FALSE(Matches(rs, R"({"t":"a.b.c.zz."})"));
  auto mid = F("      t: \"*.Resource*Deleted\"\n");
  EXPECT_TRUE(Matches(mid, R"({"t":"x.ResourceSoftDeleted"})"));
  EXPECT_TRUE(Matches(mid, R"({"t":".ResourceDeleted"})"));
  auto any = F("      t: \"*\"\n");
  EXPECT_TRUE(Matches(any, R"({"t":""})"));
  EXPECT_TRUE(Matches(any, R"({"t":7})"));
  EXPECT_FALSE(Matches(any, R"({"u":""})"));
}

TEST(FilterDialect, ManyInfixWildcardsOfManyLengths) {
  // "*lit*" globs are probed by substring while their lengths are few and
  // go to the automaton when there are many: both must agree.
  std::string rules = "rules:\n";
  const char* lits[] = {"ab", "abc", "abcd", "abcde", "abcdef", "abcdefg", "abcdefgh"};
  for (int i = 0; i < 7; ++i)
    rules += "  - {id: r" + std::to_string(i) + ", filter: {s: \"*" + lits[i] + "*\"}}\n";
  rules += "  - {id: few, filter: {t: \"*xyz*\"}}\n";
  auto rs = CompileText(rules);
  EXPECT_THAT(Ids(rs, R"({"s":"zzabcdefghzz","t":"axyzb"})"),
              ElementsAre("r0", "r1", "r2", "r3", "r4", "r5", "r6", "few"));
  EXPECT_THAT(Ids(rs, R"({"s":"xabcdex","t":"xy"})"), ElementsAre("r0", "r1", "r2", "r3"));
  EXPECT_THAT(Ids(rs, R"({"s":"ba","t":"xyz"})"), ElementsAre("few"));
}

TEST(FilterDialect, LongNumbersAreExact) {
  // simdjson 3.0 misreads 0.<20+ digits> as a double (its issue 2093): such
  // numbers must take the exact path.
  auto rs = CompileText(R"(rules:
  - id: range
    pattern: {ratio: [{numeric: [">=", 0.9, "<=", 1]}]}
  - id: exact
    pattern: {ratio: [0.95]}
)");
  EXPECT_THAT(Ids(rs, R"({"ratio":0.95000000000000000000})"), ElementsAre("range", "exact"));
  EXPECT_THAT(Ids(rs, R"({"ratio":0.950000000000000000001})"), ElementsAre("range"));
}

TEST(FilterDialect, EscapedStarAndBackslashAreLiteral) {
  auto rs = F("      t: 'a\\*b'\n");
  EXPECT_TRUE(Matches(rs, R"({"t":"a*b"})"));
  EXPECT_FALSE(Matches(rs, R"({"t":"axb"})"));
  auto bs = F("      t: 'a\\\\b*'\n");
  EXPECT_TRUE(Matches(bs, R"({"t":"a\\b"})"));
  EXPECT_TRUE(Matches(bs, R"({"t":"a\\bcd"})"));
}

TEST(FilterDialect, BackslashBeforeAnythingElseIsADiagnostic) {
  LoadResult r = Load(OneFilter("      t: 'a\\qb'\n"));
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].ToString(),
            "t.yaml:4:10: rule 'r': bad wildcard 'a\\qb' for 't': a backslash may only escape * "
            "or \\, not 'q'");
}

TEST(FilterDialect, StringsMatchByDecodedContent) {
  auto rs = F("      t: 'say \"hi\"/é*'\n");
  EXPECT_TRUE(Matches(rs, R"({"t":"say \"hi\"\/\u00e9!"})"));
}

TEST(FilterDialect, NumbersMatchByTheirTextAsWritten) {
  auto rs = F("      n: \"1*\"\n");
  EXPECT_TRUE(Matches(rs, R"({"n":10})"));
  EXPECT_TRUE(Matches(rs, R"({"n":"10"})"));
  EXPECT_TRUE(Matches(rs, R"({"n":1.5e3})"));
  EXPECT_FALSE(Matches(rs, R"({"n":21})"));
  auto exact = F("      n: \"1.50\"\n");
  EXPECT_TRUE(Matches(exact, R"({"n":1.50})"));
  EXPECT_FALSE(Matches(exact, R"({"n":1.5})"));  // textual by design
  auto plain = F("      n: 42\n");  // unquoted YAML numbers are wildcards too
  EXPECT_TRUE(Matches(plain, R"({"n":42})"));
  EXPECT_TRUE(Matches(plain, R"({"n":"42"})"));
  EXPECT_FALSE(Matches(plain, R"({"n":42.0})"));
}

TEST(FilterDialect, LiteralsMatchByTheirWords) {
  auto t = F("      b: \"true\"\n");
  EXPECT_TRUE(Matches(t, R"({"b":true})"));
  EXPECT_TRUE(Matches(t, R"({"b":"true"})"));
  EXPECT_FALSE(Matches(t, R"({"b":false})"));
  auto n = F("      b: null\n");
  EXPECT_TRUE(Matches(n, R"({"b":null})"));
  EXPECT_FALSE(Matches(n, R"({"c":null})"));
  auto f = F("      b: \"f*\"\n");
  EXPECT_TRUE(Matches(f, R"({"b":false})"));
}

TEST(FilterDialect, ObjectsNeverMatch) {
  auto rs = F("      o: \"*\"\n");
  EXPECT_FALSE(Matches(rs, R"({"o":{}})"));
  EXPECT_FALSE(Matches(rs, R"({"o":{"a":"b"}})"));
  EXPECT_FALSE(Matches(rs, R"({"o":[]})"));
  EXPECT_TRUE(Matches(rs, R"({"o":[{},"x"]})"));
}

TEST(FilterDialect, AListOfWildcardsIsOr) {
  auto rs = F("      event: [resource.ResourceCreated, resource.ResourceUpdated]\n");
  EXPECT_TRUE(Matches(rs, R"({"event":"resource.ResourceCreated"})"));
  EXPECT_TRUE(Matches(rs, R"({"event":"resource.ResourceUpdated"})"));
  EXPECT_FALSE(Matches(rs, R"({"event":"resource.ResourceHardDeleted"})"));
}

TEST(FilterDialect, EntriesAreAnd) {
  auto rs = F("      a: x\n      b: \"y*\"\n");
  EXPECT_TRUE(Matches(rs, R"({"a":"x","b":"yes"})"));
  EXPECT_FALSE(Matches(rs, R"({"a":"x","b":"no"})"));
  EXPECT_FALSE(Matches(rs, R"({"a":"x"})"));
}

TEST(FilterDialect, AnEventArrayMatchesWhenAnyElementMatches) {
  auto rs = F("      namespaces: \"finance-*\"\n");
  EXPECT_TRUE(Matches(rs, R"({"namespaces":["hr","finance-eu"]})"));
  EXPECT_FALSE(Matches(rs, R"({"namespaces":["hr","it"]})"));
  EXPECT_FALSE(Matches(rs, R"({"namespaces":[]})"));
}

TEST(FilterDialect, ElementsNeedNotBeTheSameAcrossEntries) {
  // The filter dialect checks each path on its own (no array consistency).
  auto rs = F("      j.a: \"1\"\n      j.b: \"2\"\n");
  EXPECT_TRUE(Matches(rs, R"({"j":[{"a":"1","b":"0"},{"a":"0","b":"2"}]})"));
}

TEST(FilterDialect, AbsentPathsNeverMatch) {
  auto rs = F("      missing.path: \"*\"\n");
  EXPECT_FALSE(Matches(rs, R"({"other":"x"})"));
  EXPECT_FALSE(Matches(rs, R"({"missing":"x"})"));
  EXPECT_FALSE(Matches(rs, R"({"missing":{"other":"x"}})"));
}

TEST(FilterDialect, FirstOccurrenceOfADuplicateKeyCounts) {
  auto rs = F("      a: \"1\"\n");
  EXPECT_TRUE(Matches(rs, R"({"a":"1","a":"2"})"));
  EXPECT_FALSE(Matches(rs, R"({"a":"2","a":"1"})"));
  // A dotted spelling after the plain key it starts with is a later duplicate.
  auto ab = F("      a.b: \"1\"\n");
  EXPECT_FALSE(Matches(ab, R"({"a":{"x":0},"a.b":"1"})"));
  EXPECT_TRUE(Matches(ab, R"({"a.b":"1","a":{"x":0}})"));
  EXPECT_TRUE(Matches(ab, R"({"a.b":"1","a.b":"2"})"));
  EXPECT_FALSE(Matches(ab, R"({"a.b":"2","a.b":"1"})"));
}

TEST(FilterDialect, DisabledRulesNeverMatch) {
  auto rs = CompileText(R"(rules:
  - id: off
    enabled: false
    filter: {a: "*"}
  - id: on
    filter: {a: "*"}
)");
  EXPECT_THAT(Ids(rs, R"({"a":"x"})"), ElementsAre("on"));
}

TEST(FilterDialect, MatchesAreInFileOrder) {
  auto rs = CompileText(R"(rules:
  - id: z
    filter: {a: "x*"}
  - id: y
    filter: {a: "*"}
  - id: x
    filter: {b: "*"}
  - id: w
    filter: {a: x}
)");
  EXPECT_THAT(Ids(rs, R"({"b":1,"a":"x"})"), ElementsAre("z", "y", "x", "w"));
  EXPECT_THAT(Ids(rs, R"({"c":1})"), IsEmpty());
}

TEST(FilterDialect, JsonRuleFilesWork) {
  LoadResult r = Load(R"({"rules": [{"id": "j", "filter": {"a.b": ["x*", "y"]}}]})", "r.json");
  ASSERT_TRUE(r.ok()) << DiagText(r);
  auto rs = RuleSet::Compile(std::move(r.ruleset.rules));
  ASSERT_TRUE(rs.ok());
  EXPECT_TRUE(Matches(*rs, R"({"a":{"b":"xyz"}})"));
  EXPECT_TRUE(Matches(*rs, R"({"a":{"b":"y"}})"));
}

TEST(FilterDialect, BadEventsAreErrors) {
  auto rs = F("      a: \"*\"\n");
  EXPECT_THAT(Ids(rs, "[1,2]"), ElementsAre("ERROR: not a JSON object"));
  EXPECT_THAT(Ids(rs, "\"a\""), ElementsAre("ERROR: not a JSON object"));
  EXPECT_EQ(Ids(rs, R"({"a":)")[0].substr(0, 19), "ERROR: invalid JSON");
  EXPECT_THAT(Ids(rs, "{\"a\":\"\xff\"}"), ElementsAre("ERROR: invalid UTF-8"));
}

TEST(FilterDialect, ValidateChecksTheWholeEvent) {
  auto rs = F("      a: \"*\"\n");
  Matcher m(rs);
  auto v = [&](std::string e) {
    e.append(Matcher::kPadding, ' ');
    return m.ValidatePadded(std::string_view(e.data(), e.size() - Matcher::kPadding));
  };
  EXPECT_TRUE(v(R"({"a":"x","b":[1,2,{"c":null}]})").ok());
  EXPECT_FALSE(v(R"({"a":"x","b":[1,2,{"c":nul}]})").ok());
  EXPECT_FALSE(v(R"({"a":"x"} {"b":1})").ok());
  EXPECT_FALSE(v(R"({"a":"x",})").ok());
  EXPECT_FALSE(v(R"([])").ok());
}

TEST(FilterDialect, DepthLimit) {
  auto rs = F("      a: \"*\"\n");
  EventLimits lim;
  lim.max_depth = 4;
  Matcher m(rs, lim);
  std::vector<uint32_t> hits;
  EXPECT_TRUE(m.Match(R"({"a":[[["x"]]]})", &hits).ok());
  absl::Status st = m.Match(R"({"a":[[[["x"]]]]})", &hits);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "nested deeper than the limit of 4");
}

}  // namespace
}  // namespace weir::testing
