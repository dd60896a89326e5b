// docs/rules-pattern.md, the `pattern` dialect (Amazon EventBridge event patterns): one
// test per operator and edge case, and a data-driven run of every case in
// tests/data/pattern_cases.json.
#include <arpa/inet.h>

#include <cctype>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "weir/engine.h"
#include "weir/rules.h"

namespace weir {
namespace {

LoadResult Load(const std::string& text, const LoadOptions& options = {}) {
  return ParseRules({{"t.yaml", text}}, options);
}

std::string DiagText(const LoadResult& r) {
  std::string s;
  for (const auto& d : r.diagnostics) s += d.ToString() + "\n";
  return s;
}

// A one-rule file whose pattern is `pattern` (YAML flow or JSON, one line).
std::string OneRule(const std::string& pattern) {
  return "rules:\n  - id: r\n    pattern: " + pattern + "\n";
}

std::shared_ptr<const RuleSet> CompileText(const std::string& text) {
  LoadResult r = Load(text);
  EXPECT_TRUE(r.ok()) << DiagText(r);
  if (!r.ok()) return nullptr;
  auto rs = RuleSet::Compile(std::move(r.ruleset.rules));
  EXPECT_TRUE(rs.ok()) << rs.status();
  return rs.ok() ? *rs : nullptr;
}

std::shared_ptr<const RuleSet> P(const std::string& pattern) {
  return CompileText(OneRule(pattern));
}

bool Matches(const std::shared_ptr<const RuleSet>& rs, const std::string& event) {
  if (!rs) {
    ADD_FAILURE() << "no rule set";
    return false;
  }
  Matcher m(rs);
  std::vector<uint32_t> hits;
  absl::Status st = m.Match(event, &hits);
  EXPECT_TRUE(st.ok()) << st << " for " << event;
  return !hits.empty();
}

// The diagnostics of a pattern that must be rejected.
std::vector<Diagnostic> Rejected(const std::string& pattern) {
  LoadResult r = Load(OneRule(pattern));
  EXPECT_FALSE(r.ok()) << "accepted: " << pattern;
  return r.diagnostics;
}

// Whether some diagnostic mentions `needle`.
bool Mentions(const std::vector<Diagnostic>& diags, const std::string& needle) {
  for (const auto& d : diags)
    if (d.message.find(needle) != std::string::npos) return true;
  return false;
}

// ---------------------------------------------------------------------------
// Structure, values, and the lowered form.

TEST(PatternDialect, SpecExampleWorksAsWritten) {
  auto rs = CompileText(R"(rules:
  - id: faulted-bench-jobs
    pattern:
      Type: [job.faulted]
      Job: {Robot: {Name: [{prefix: bench-}]}}
    actions: [stdout]
)");
  EXPECT_TRUE(Matches(rs, R"({"Type":"job.faulted","Job":{"Robot":{"Name":"bench-7"}}})"));
  EXPECT_FALSE(Matches(rs, R"({"Type":"job.faulted","Job":{"Robot":{"Name":"prod-7"}}})"));
  EXPECT_FALSE(Matches(rs, R"({"Type":"job.started","Job":{"Robot":{"Name":"bench-7"}}})"));
  EXPECT_FALSE(Matches(rs, R"({"Type":"job.faulted"})"));
}

TEST(PatternDialect, LowersToArrayConsistentConjunctionsOnDottedPaths) {
  LoadResult r = Load(OneRule("{a: {b: [x, 5]}, c: [{exists: false}]}"));
  ASSERT_TRUE(r.ok()) << DiagText(r);
  const Condition& c = r.ruleset.rules[0].condition;
  ASSERT_EQ(c.any_of.size(), 1u);
  const Conjunction& conj = c.any_of[0];
  EXPECT_TRUE(conj.array_consistent);
  ASSERT_EQ(conj.all_of.size(), 2u);
  EXPECT_EQ(conj.all_of[0].path, "a.b");
  EXPECT_FALSE(conj.all_of[0].negated);
  ASSERT_EQ(conj.all_of[0].any_of.size(), 2u);
  EXPECT_EQ(conj.all_of[0].any_of[0].kind, PredicateKind::kStringGlob);
  EXPECT_EQ(conj.all_of[0].any_of[0].text, "x");
  EXPECT_EQ(conj.all_of[0].any_of[1].kind, PredicateKind::kNumberEq);
  EXPECT_EQ(conj.all_of[1].path, "c");
  EXPECT_TRUE(conj.all_of[1].negated);
  EXPECT_EQ(conj.all_of[1].any_of[0].kind, PredicateKind::kExists);
}

TEST(PatternDialect, LeafListIsOrFieldsAreAnd) {
  auto rs = P("{source: [aws.ec2, aws.fargate], detail: {state: [running]}}");
  EXPECT_TRUE(Matches(rs, R"({"source":"aws.fargate","detail":{"state":"running"}})"));
  EXPECT_TRUE(Matches(rs, R"({"source":"aws.ec2","detail":{"state":"running"},"x":1})"));
  EXPECT_FALSE(Matches(rs, R"({"source":"aws.s3","detail":{"state":"running"}})"));
  EXPECT_FALSE(Matches(rs, R"({"source":"aws.ec2","detail":{"state":"stopped"}})"));
  EXPECT_FALSE(Matches(rs, R"({"source":"aws.ec2"})"));
}

TEST(PatternDialect, ExactStringsAreCaseSensitiveAndWhole) {
  auto rs = P("{s: [Abc]}");
  EXPECT_TRUE(Matches(rs, R"({"s":"Abc"})"));
  EXPECT_FALSE(Matches(rs, R"({"s":"abc"})"));
  EXPECT_FALSE(Matches(rs, R"({"s":"Abcd"})"));
  // A star in an exact string is literal, not a wildcard.
  auto star = P(R"({s: ["a*"]})");
  EXPECT_TRUE(Matches(star, R"({"s":"a*"})"));
  EXPECT_FALSE(Matches(star, R"({"s":"ab"})"));
  auto empty = P(R"({s: [""]})");
  EXPECT_TRUE(Matches(empty, R"({"s":""})"));
  EXPECT_FALSE(Matches(empty, R"({"s":null})"));
}

TEST(PatternDialect, StringsNeverEqualNumbers) {
  auto quoted = P(R"({n: ["300"]})");
  EXPECT_TRUE(Matches(quoted, R"({"n":"300"})"));
  EXPECT_FALSE(Matches(quoted, R"({"n":300})"));
  auto plain = P("{n: [300]}");
  EXPECT_TRUE(Matches(plain, R"({"n":300})"));
  EXPECT_FALSE(Matches(plain, R"({"n":"300"})"));
}

TEST(PatternDialect, NumbersCompareByExactDecimalValue) {
  auto rs = P("{n: [35]}");
  EXPECT_TRUE(Matches(rs, R"({"n":35})"));
  EXPECT_TRUE(Matches(rs, R"({"n":35.0})"));
  EXPECT_TRUE(Matches(rs, R"({"n":3.5e1})"));
  EXPECT_TRUE(Matches(rs, R"({"n":350E-1})"));
  EXPECT_FALSE(Matches(rs, R"({"n":35.000001})"));
  auto exp = P("{n: [3.5e1]}");
  EXPECT_TRUE(Matches(exp, R"({"n":35})"));
  auto zero = P("{n: [0]}");
  EXPECT_TRUE(Matches(zero, R"({"n":-0})"));
  EXPECT_TRUE(Matches(zero, R"({"n":0.0e5})"));
  auto lat = P("{lat: [37.807807921694092]}");
  EXPECT_TRUE(Matches(lat, R"({"lat":37.807807921694092})"));
  EXPECT_TRUE(Matches(lat, R"({"lat":37.8078079216940920})"));
  EXPECT_FALSE(Matches(lat, R"({"lat":37.807807921694093})"));
  EXPECT_FALSE(Matches(lat, R"({"lat":37.80780792169409})"));
  auto big = P("{id: [12345678901234567890]}");
  EXPECT_TRUE(Matches(big, R"({"id":12345678901234567890})"));
  EXPECT_FALSE(Matches(big, R"({"id":12345678901234567891})"));
}

TEST(PatternDialect, BooleansAndNull) {
  auto t = P("{b: [true]}");
  EXPECT_TRUE(Matches(t, R"({"b":true})"));
  EXPECT_FALSE(Matches(t, R"({"b":false})"));
  EXPECT_FALSE(Matches(t, R"({"b":"true"})"));
  auto quoted = P(R"({b: ["true"]})");
  EXPECT_TRUE(Matches(quoted, R"({"b":"true"})"));
  EXPECT_FALSE(Matches(quoted, R"({"b":true})"));
  for (const char* n : {"{v: [null]}", "{v: [~]}", "{v: [Null]}"}) {
    auto rs = P(n);
    EXPECT_TRUE(Matches(rs, R"({"v":null})")) << n;
    EXPECT_FALSE(Matches(rs, R"({"v":"null"})")) << n;
    EXPECT_FALSE(Matches(rs, R"({"v":""})")) << n;
    EXPECT_FALSE(Matches(rs, R"({"w":null})")) << n;
    EXPECT_FALSE(Matches(rs, R"({"v":[]})")) << n;
  }
}

TEST(PatternDialect, NestedObjectsAndDottedKeysAreTheSamePath) {
  auto nested = P("{detail: {state: {status: [running]}}}");
  EXPECT_TRUE(Matches(nested, R"({"detail":{"state":{"status":"running"}}})"));
  EXPECT_TRUE(Matches(nested, R"({"detail":{"state.status":"running"}})"));
  EXPECT_FALSE(Matches(nested, R"({"detail":"running"})"));
  EXPECT_FALSE(Matches(nested, R"({"detail":{"state":"running"}})"));
  auto dotted = P("{detail: {state.status: [running]}}");
  EXPECT_TRUE(Matches(dotted, R"({"detail":{"state":{"status":"running"}}})"));
  // A pattern leaf never matches an object.
  auto leaf = P("{detail: [x]}");
  EXPECT_FALSE(Matches(leaf, R"({"detail":{"a":"x"}})"));
  // Operator names are ordinary field names outside a matcher.
  auto prefix_field = P("{prefix: [x]}");
  EXPECT_TRUE(Matches(prefix_field, R"({"prefix":"x"})"));
}

TEST(PatternDialect, MixedTypeValueList) {
  auto rs = P("{v: [a, 5, null, true, {prefix: zz}]}");
  EXPECT_TRUE(Matches(rs, R"({"v":"a"})"));
  EXPECT_TRUE(Matches(rs, R"({"v":5.0})"));
  EXPECT_TRUE(Matches(rs, R"({"v":null})"));
  EXPECT_TRUE(Matches(rs, R"({"v":true})"));
  EXPECT_TRUE(Matches(rs, R"({"v":"zzz"})"));
  EXPECT_FALSE(Matches(rs, R"({"v":false})"));
  EXPECT_FALSE(Matches(rs, R"({"v":"5"})"));
}

TEST(PatternDialect, RuleFileMayBeJson) {
  auto rs = CompileText(R"({"rules": [{"id": "j", "pattern":
      {"n": [300, "300"], "s": [{"prefix": "a"}], "b": [true], "z": [null]}}]})");
  EXPECT_TRUE(Matches(rs, R"({"n":300.0,"s":"ab","b":true,"z":null})"));
  EXPECT_TRUE(Matches(rs, R"({"n":"300","s":"ab","b":true,"z":null})"));
  EXPECT_FALSE(Matches(rs, R"({"n":"300.0","s":"ab","b":true,"z":null})"));
  EXPECT_FALSE(Matches(rs, R"({"n":300,"s":"ab","b":"true","z":null})"));
}

// ---------------------------------------------------------------------------
// Operators.

TEST(PatternDialect, Prefix) {
  auto rs = P("{time: [{prefix: \"2017-10-02\"}]}");
  EXPECT_TRUE(Matches(rs, R"({"time":"2017-10-02T18:43:48Z"})"));
  EXPECT_TRUE(Matches(rs, R"({"time":"2017-10-02"})"));
  EXPECT_FALSE(Matches(rs, R"({"time":"2017-10-03T18:43:48Z"})"));
  EXPECT_FALSE(Matches(rs, R"({"time":"x2017-10-02"})"));
  auto num = P(R"({n: [{prefix: "12"}]})");
  EXPECT_FALSE(Matches(num, R"({"n":123})"));
  auto empty = P(R"({s: [{prefix: ""}]})");
  EXPECT_TRUE(Matches(empty, R"({"s":"anything"})"));
  EXPECT_FALSE(Matches(empty, R"({"s":5})"));
  auto star = P(R"({s: [{prefix: "a*"}]})");  // the star is literal
  EXPECT_TRUE(Matches(star, R"({"s":"a*b"})"));
  EXPECT_FALSE(Matches(star, R"({"s":"ab"})"));
}

TEST(PatternDialect, PrefixEqualsIgnoreCase) {
  auto rs = P("{service: [{prefix: {equals-ignore-case: EventB}}]}");
  EXPECT_TRUE(Matches(rs, R"({"service":"eventbridge"})"));
  EXPECT_TRUE(Matches(rs, R"({"service":"EVENTBRIDGE"})"));
  EXPECT_FALSE(Matches(rs, R"({"service":"myeventbridge"})"));
  EXPECT_FALSE(Matches(rs, R"({"service":"Event"})"));
}

TEST(PatternDialect, Suffix) {
  auto rs = P("{FileName: [{suffix: .png}]}");
  EXPECT_TRUE(Matches(rs, R"({"FileName":"image.png"})"));
  EXPECT_FALSE(Matches(rs, R"({"FileName":"image.PNG"})"));
  EXPECT_FALSE(Matches(rs, R"({"FileName":"image.png.bak"})"));
  auto num = P(R"({n: [{suffix: "3"}]})");
  EXPECT_FALSE(Matches(num, R"({"n":123})"));
}

TEST(PatternDialect, SuffixEqualsIgnoreCase) {
  auto rs = P("{FileName: [{suffix: {equals-ignore-case: .PNG}}]}");
  EXPECT_TRUE(Matches(rs, R"({"FileName":"image.png"})"));
  EXPECT_TRUE(Matches(rs, R"({"FileName":"IMAGE.Png"})"));
  EXPECT_FALSE(Matches(rs, R"({"FileName":"image.png.bak"})"));
}

TEST(PatternDialect, EqualsIgnoreCaseUsesSimpleCaseFolding) {
  auto rs = P("{Name: [{equals-ignore-case: alice}]}");
  EXPECT_TRUE(Matches(rs, R"({"Name":"ALICE"})"));
  EXPECT_TRUE(Matches(rs, R"({"Name":"aLiCe"})"));
  EXPECT_FALSE(Matches(rs, R"({"Name":"Alicia"})"));
  auto num = P(R"({n: [{equals-ignore-case: "123"}]})");
  EXPECT_FALSE(Matches(num, R"({"n":123})"));
  auto greek = P(R"({w: [{equals-ignore-case: "ΣΟΦΟΣ"}]})");
  EXPECT_TRUE(Matches(greek, R"({"w":"σοφοσ"})"));
  EXPECT_TRUE(Matches(greek, R"({"w":"σοφος"})"));  // final sigma folds to sigma
  auto accents = P(R"({w: [{equals-ignore-case: "ÉTÉ"}]})");
  EXPECT_TRUE(Matches(accents, R"({"w":"\u00e9t\u00e9"})"));
  EXPECT_FALSE(Matches(accents, R"({"w":"ete"})"));
  auto sharp = P(R"({w: [{equals-ignore-case: "straße"}]})");
  EXPECT_FALSE(Matches(sharp, R"({"w":"STRASSE"})"));  // simple folding keeps ß
  auto star = P(R"({w: [{equals-ignore-case: "A*"}]})");
  EXPECT_TRUE(Matches(star, R"({"w":"a*"})"));
  EXPECT_FALSE(Matches(star, R"({"w":"ab"})"));
}

TEST(PatternDialect, Wildcard) {
  auto rs = P(R"({source: [{wildcard: "Simple*Service"}]})");
  EXPECT_TRUE(Matches(rs, R"({"source":"SimpleNotificationService"})"));
  EXPECT_TRUE(Matches(rs, R"({"source":"SimpleService"})"));
  EXPECT_FALSE(Matches(rs, R"({"source":"SimpleServiceX"})"));
  EXPECT_FALSE(Matches(rs, R"({"source":"simpleservice"})"));
  auto arn = P(R"({a: [{wildcard: "arn:aws:events:us-east-1:*:event-bus/*"}]})");
  EXPECT_TRUE(Matches(arn, R"({"a":"arn:aws:events:us-east-1:123456789012:event-bus/b"})"));
  EXPECT_FALSE(Matches(arn, R"({"a":"arn:aws:events:us-west-2:123456789012:event-bus/b"})"));
  auto any = P(R"({s: [{wildcard: "*"}]})");
  EXPECT_TRUE(Matches(any, R"({"s":""})"));
  EXPECT_FALSE(Matches(any, R"({"s":5})"));
  EXPECT_FALSE(Matches(any, R"({"s":null})"));
  auto q = P(R"({s: [{wildcard: "a?c"}]})");
  EXPECT_FALSE(Matches(q, R"({"s":"abc"})"));
  EXPECT_TRUE(Matches(q, R"({"s":"a?c"})"));
}

TEST(PatternDialect, WildcardEscapes) {
  // YAML single quotes keep backslashes as written.
  auto star = P(R"({s: [{wildcard: 'value\*end'}]})");
  EXPECT_TRUE(Matches(star, R"({"s":"value*end"})"));
  EXPECT_FALSE(Matches(star, R"({"s":"valueXend"})"));
  auto bs = P(R"({s: [{wildcard: 'a\\b'}]})");
  EXPECT_TRUE(Matches(bs, R"({"s":"a\\b"})"));
  EXPECT_FALSE(Matches(bs, R"({"s":"ab"})"));
  auto star_then_star = P(R"({s: [{wildcard: '\**'}]})");
  EXPECT_TRUE(Matches(star_then_star, R"({"s":"*abc"})"));
  EXPECT_FALSE(Matches(star_then_star, R"({"s":"abc"})"));
}

TEST(PatternDialect, WildcardRejections) {
  EXPECT_TRUE(Mentions(Rejected(R"({s: [{wildcard: "a**b"}]})"), "consecutive"));
  EXPECT_TRUE(Mentions(Rejected(R"({s: [{wildcard: 'a\\**'}]})"), "consecutive"));
  EXPECT_TRUE(Mentions(Rejected(R"({s: [{wildcard: 'a*c\def'}]})"), "backslash"));
  EXPECT_TRUE(Mentions(Rejected(R"({s: [{wildcard: 'foo\'}]})"), "backslash"));
  EXPECT_TRUE(Mentions(Rejected("{s: [{wildcard: 123}]}"), "takes a string"));
  EXPECT_TRUE(Mentions(Rejected(R"({s: [{wildcard: ["a*"]}]})"), "takes a string"));
  LoadOptions o;
  o.max_wildcard_stars = 2;
  LoadResult r = Load(OneRule(R"({s: [{wildcard: "*a*b*"}]})"), o);
  EXPECT_TRUE(Mentions(r.diagnostics, "stars; the limit is 2")) << DiagText(r);
}

// quamina's `shellstyle`: a wildcard without escapes, so rule sets written
// for quamina load as they are.
TEST(PatternDialect, QuaminaShellStyle) {
  auto rs = P(R"({img: [{shellstyle: "https://example.*/*.jpg"}]})");
  EXPECT_TRUE(Matches(rs, R"({"img":"https://example.com/9943.jpg"})"));
  EXPECT_FALSE(Matches(rs, R"({"img":"https://example.com/9943.png"})"));
  EXPECT_FALSE(Matches(rs, R"({"img":5})"));
  // A backslash is an ordinary character; `\*` is a backslash, then a star.
  auto bs = P(R"({p: [{shellstyle: 'C:\temp\*'}]})");
  EXPECT_TRUE(Matches(bs, R"({"p":"C:\\temp\\x.log"})"));
  EXPECT_FALSE(Matches(bs, R"({"p":"C:\\temp*"})"));
  // The same text as a `wildcard` is an EventBridge escape error.
  EXPECT_TRUE(Mentions(Rejected(R"({p: [{wildcard: 'C:\temp\*'}]})"), "backslash"));
  EXPECT_TRUE(Mentions(Rejected(R"({s: [{shellstyle: "a**b"}]})"), "adjacent"));
  EXPECT_TRUE(Mentions(Rejected("{s: [{shellstyle: 12}]}"), "takes a string"));
  LoadOptions o;
  o.max_wildcard_stars = 2;
  LoadResult r = Load(OneRule(R"({s: [{shellstyle: "*a*b*"}]})"), o);
  EXPECT_TRUE(Mentions(r.diagnostics, "stars; the limit is 2")) << DiagText(r);
}

TEST(PatternDialect, AnythingButValue) {
  auto rs = P("{state: [{anything-but: initializing}]}");
  EXPECT_TRUE(Matches(rs, R"({"state":"running"})"));
  EXPECT_FALSE(Matches(rs, R"({"state":"initializing"})"));
  // A value of another type is not the excluded one.
  EXPECT_TRUE(Matches(rs, R"({"state":null})"));
  EXPECT_TRUE(Matches(rs, R"({"state":7})"));
  EXPECT_TRUE(Matches(rs, R"({"state":false})"));
  // ...but an absent field or an object does not match.
  EXPECT_FALSE(Matches(rs, R"({"other":"running"})"));
  EXPECT_FALSE(Matches(rs, R"({"state":{"a":"running"}})"));
  EXPECT_FALSE(Matches(rs, R"({"state":[]})"));
  // Arrays: matches when some element is not excluded.
  EXPECT_TRUE(Matches(rs, R"({"state":["initializing","running"]})"));
  EXPECT_FALSE(Matches(rs, R"({"state":["initializing"]})"));
  auto s5 = P(R"({s: [{anything-but: "5"}]})");
  EXPECT_TRUE(Matches(s5, R"({"s":5})"));
  EXPECT_FALSE(Matches(s5, R"({"s":"5"})"));
}

TEST(PatternDialect, AnythingButNumberAndLists) {
  auto num = P("{x: [{anything-but: 123}]}");
  EXPECT_TRUE(Matches(num, R"({"x":456})"));
  EXPECT_FALSE(Matches(num, R"({"x":123})"));
  EXPECT_FALSE(Matches(num, R"({"x":1.23e2})"));
  EXPECT_TRUE(Matches(num, R"({"x":"123"})"));
  auto strs = P("{state: [{anything-but: [stopped, overloaded]}]}");
  EXPECT_TRUE(Matches(strs, R"({"state":"running"})"));
  EXPECT_FALSE(Matches(strs, R"({"state":"overloaded"})"));
  auto nums = P("{x: [{anything-but: [100, 200, 300]}]}");
  EXPECT_TRUE(Matches(nums, R"({"x":301.8})"));
  EXPECT_FALSE(Matches(nums, R"({"x":200.0})"));
}

TEST(PatternDialect, AnythingButPrefixSuffix) {
  auto pre = P("{state: [{anything-but: {prefix: init}}]}");
  EXPECT_TRUE(Matches(pre, R"({"state":"running"})"));
  EXPECT_FALSE(Matches(pre, R"({"state":"initializing"})"));
  EXPECT_TRUE(Matches(pre, R"({"state":12})"));
  EXPECT_TRUE(Matches(pre, R"({"state":null})"));
  EXPECT_FALSE(Matches(pre, R"({})"));
  auto pres = P("{state: [{anything-but: {prefix: [init, test]}}]}");
  EXPECT_FALSE(Matches(pres, R"({"state":"testing"})"));
  EXPECT_TRUE(Matches(pres, R"({"state":"running"})"));
  auto suf = P("{f: [{anything-but: {suffix: [.txt, .bak]}}]}");
  EXPECT_TRUE(Matches(suf, R"({"f":"a.png"})"));
  EXPECT_FALSE(Matches(suf, R"({"f":"file.txt.bak"})"));
}

TEST(PatternDialect, AnythingButEqualsIgnoreCaseAndWildcard) {
  auto eic = P("{state: [{anything-but: {equals-ignore-case: [initializing, stopped]}}]}");
  EXPECT_FALSE(Matches(eic, R"({"state":"Stopped"})"));
  EXPECT_FALSE(Matches(eic, R"({"state":"INITIALIZING"})"));
  EXPECT_TRUE(Matches(eic, R"({"state":"running"})"));
  EXPECT_TRUE(Matches(eic, R"({"state":null})"));
  auto wc = P(R"({p: [{anything-but: {wildcard: ["*/lib/*", "*.tmp"]}}]})");
  EXPECT_FALSE(Matches(wc, R"({"p":"/usr/lib/libc.so"})"));
  EXPECT_FALSE(Matches(wc, R"({"p":"x.tmp"})"));
  EXPECT_TRUE(Matches(wc, R"({"p":"/usr/bin/ls"})"));
  EXPECT_TRUE(Matches(wc, R"({"p":123})"));
}

TEST(PatternDialect, AnythingButRejections) {
  EXPECT_FALSE(Rejected("{a: [{anything-but: null}]}").empty());
  EXPECT_FALSE(Rejected("{a: [{anything-but: true}]}").empty());
  EXPECT_FALSE(Rejected("{a: [{anything-but: []}]}").empty());
  EXPECT_FALSE(Rejected("{a: [{anything-but: [stopped, null]}]}").empty());
  EXPECT_TRUE(Mentions(Rejected("{a: [{anything-but: [child0, 111]}]}"), "only strings"));
  EXPECT_TRUE(Mentions(Rejected(R"({a: [{anything-but: {numeric: [">", 5]}}]})"),
                       "does not take 'numeric'"));
  EXPECT_TRUE(Mentions(Rejected("{a: [{anything-but: {anything-but: x}}]}"),
                       "does not take 'anything-but'"));
  EXPECT_TRUE(Mentions(Rejected(R"({a: [{anything-but: {prefix: ""}}]})"), "must not be empty"));
  EXPECT_TRUE(Mentions(Rejected(R"({a: [{anything-but: {suffix: ["x", ""]}}]})"),
                       "must not be empty"));
  EXPECT_FALSE(Rejected("{a: [{anything-but: {prefix: 123}}]}").empty());
  EXPECT_FALSE(Rejected("{a: [{anything-but: {prefix: {equals-ignore-case: x}}}]}").empty());
  EXPECT_FALSE(Rejected("{a: [{anything-but: {equals-ignore-case: [1, 2]}}]}").empty());
  EXPECT_FALSE(Rejected(R"({a: [{anything-but: {wildcard: "a**"}}]})").empty());
  EXPECT_FALSE(Rejected("{a: [{anything-but: {prefix: foo, a: 1}}]}").empty());
  EXPECT_FALSE(Rejected("{a: [{anything-but: {prefix: foo}, x: 1}]}").empty());
}

TEST(PatternDialect, NumericComparisons) {
  struct Case {
    const char* pattern;
    const char* value;
    bool match;
  };
  const Case cases[] = {
      {R"(["=", 5])", "5", true},       {R"(["=", 5])", "5.0", true},
      {R"(["=", 5])", "5.1", false},    {R"(["<", 5])", "4.999", true},
      {R"(["<", 5])", "5", false},      {R"(["<=", 5])", "5", true},
      {R"(["<=", 5])", "5.0001", false}, {R"([">", 5])", "5", false},
      {R"([">", 5])", "5e0", false},    {R"([">", 5])", "50e-1", false},
      {R"([">", 5])", "6", true},       {R"([">=", 5])", "5", true},
      {R"([">=", 5])", "4", false},     {R"([">", -10, "<", 0])", "-5", true},
      {R"([">", -10, "<", 0])", "0", false}, {R"([">", 0, "<=", 5])", "0", false},
      {R"([">", 0, "<=", 5])", "5", true}, {R"([">=", 0, "<", 5])", "0", true},
      {R"(["<", 0])", "-1e-6", true},   {R"([">", 5000000000])", "6e9", true},
      {R"([">", 100])", "101.0", true},
  };
  for (const Case& c : cases) {
    auto rs = P(std::string("{x: [{numeric: ") + c.pattern + "}]}");
    EXPECT_EQ(Matches(rs, std::string(R"({"x":)") + c.value + "}"), c.match)
        << c.pattern << " vs " << c.value;
  }
  auto rs = P(R"({x: [{numeric: [">", 100]}]})");
  EXPECT_FALSE(Matches(rs, R"({"x":"300"})"));
  EXPECT_FALSE(Matches(rs, R"({"x":null})"));
  EXPECT_FALSE(Matches(rs, R"({"x":true})"));
  EXPECT_TRUE(Matches(rs, R"({"x":[1, 200]})"));
}

// Nested and overlapping ranges on one path, many of them: each value must
// fire exactly the ranges that hold it. The index once listed every range
// at every elementary interval it covered (n^2: 80 MB of `> i` rules took
// 23 GB); it now keeps n log n entries, so this test also bounds memory.
TEST(PatternDialect, ManyOverlappingRangesFireExactlyTheirValues) {
  const int n = 20000;
  std::string text = "{\"rules\":[";
  for (int i = 0; i < n; ++i) {
    absl::StrAppend(&text, i ? "," : "", "{\"id\":\"gt", i,
                    "\",\"pattern\":{\"x\":[{\"numeric\":[\">\",", i, "]}]}},",
                    "{\"id\":\"le", i, "\",\"pattern\":{\"x\":[{\"numeric\":[\"<=\",", i,
                    "]}]}},", "{\"id\":\"band", i,
                    "\",\"pattern\":{\"x\":[{\"numeric\":[\">=\",", i, ",\"<\",", i + 50,
                    "]}]}}");
  }
  text += "]}";
  LoadResult r = ParseRules({{"t.json", text}});
  ASSERT_TRUE(r.ok()) << DiagText(r);
  auto rs = RuleSet::Compile(std::move(r.ruleset.rules));
  ASSERT_TRUE(rs.ok()) << rs.status();
  Matcher m(*rs);
  std::vector<uint32_t> hits;
  for (double v : {-1.0, 0.0, 0.5, 1.0, 49.0, 50.0, 777.0, 777.25, 12345.0, 19999.0, 19999.5,
                   20000.0, 20049.0, 20050.0, 1e9}) {
    std::string event = absl::StrCat("{\"x\":", v, "}");
    ASSERT_TRUE(m.Match(event, &hits).ok());
    size_t want = 0;
    for (int i = 0; i < n; ++i) want += (v > i) + (v <= i) + (v >= i && v < i + 50);
    EXPECT_EQ(hits.size(), want) << event;
    std::set<uint32_t> distinct(hits.begin(), hits.end());
    EXPECT_EQ(distinct.size(), hits.size()) << event;
  }
}

// The test's own reading of "address in block", with inet_pton.
bool InBlock(const std::string& ip, const std::string& block) {
  size_t slash = block.find('/');
  std::string net = block.substr(0, slash);
  bool v6 = net.find(':') != std::string::npos;
  if (v6 != (ip.find(':') != std::string::npos)) return false;
  unsigned char a[16], b[16];
  int af = v6 ? AF_INET6 : AF_INET;
  if (inet_pton(af, ip.c_str(), a) != 1 || inet_pton(af, net.c_str(), b) != 1) return false;
  int bits = slash == std::string::npos ? (v6 ? 128 : 32) : std::stoi(block.substr(slash + 1));
  for (int i = 0; i < bits; ++i)
    if (((a[i / 8] >> (7 - i % 8)) & 1) != ((b[i / 8] >> (7 - i % 8)) & 1)) return false;
  return true;
}

// Many CIDR blocks of several lengths, nested, both families, on one path:
// each address fires exactly the blocks that hold it (they are looked up
// by masked address per prefix length, not tested one by one).
TEST(PatternDialect, ManyCidrBlocksFireExactlyTheirAddresses) {
  std::vector<std::string> blocks;
  for (int i = 0; i < 256; ++i) {
    blocks.push_back(absl::StrCat("10.", i, ".0.0/16"));
    blocks.push_back(absl::StrCat("10.1.", i, ".0/24"));
    blocks.push_back(absl::StrCat("10.1.2.", i, "/32"));
    blocks.push_back(absl::StrCat("10.1.2.", i & 0xF0, "/28"));
    blocks.push_back(absl::StrCat("2001:db8:", i, "::/48"));
  }
  blocks.push_back("10.0.0.0/8");
  blocks.push_back("0.0.0.0/0");
  blocks.push_back("::/0");
  blocks.push_back("2001:db8::/32");
  std::string text = "{\"rules\":[";
  for (size_t i = 0; i < blocks.size(); ++i)
    absl::StrAppend(&text, i ? "," : "", "{\"id\":\"b", i,
                    "\",\"pattern\":{\"ip\":[{\"cidr\":\"", blocks[i], "\"}]}}");
  text += "]}";
  LoadResult r = ParseRules({{"t.json", text}});
  ASSERT_TRUE(r.ok()) << DiagText(r);
  auto rs = RuleSet::Compile(std::move(r.ruleset.rules));
  ASSERT_TRUE(rs.ok()) << rs.status();
  Matcher m(*rs);
  std::vector<uint32_t> hits;
  for (std::string ip : {"10.1.2.3", "10.1.2.200", "10.1.9.9", "10.200.0.1", "11.0.0.1",
                         "2001:db8:7::1", "2001:db8:1234::1", "2001:db9::1", "::1", "nope"}) {
    ASSERT_TRUE(m.Match(absl::StrCat("{\"ip\":\"", ip, "\"}"), &hits).ok());
    std::set<std::string> got, want;
    for (uint32_t h : hits) got.insert(std::string((*rs)->id(h)));
    for (size_t i = 0; i < blocks.size(); ++i)
      if (InBlock(ip, blocks[i])) want.insert(absl::StrCat("b", i));
    EXPECT_EQ(got, want) << ip;
  }
}

TEST(PatternDialect, NumericRangesAreExactWithLongDecimals) {
  auto rs = P(R"({lat: [{numeric: [">", 37.807807921694091, "<=", 37.807807921694092]}]})");
  EXPECT_TRUE(Matches(rs, R"({"lat":37.807807921694092})"));
  EXPECT_TRUE(Matches(rs, R"({"lat":37.8078079216940915})"));
  EXPECT_TRUE(Matches(rs, R"({"lat":3780780792169409.2e-14})"));
  EXPECT_FALSE(Matches(rs, R"({"lat":37.807807921694091})"));
  EXPECT_FALSE(Matches(rs, R"({"lat":37.8078079216940921})"));
  EXPECT_FALSE(Matches(rs, R"({"lat":37.807807})"));
  auto eq = P(R"({lat: [{numeric: ["=", 37.807807921694092]}]})");
  EXPECT_TRUE(Matches(eq, R"({"lat":37.807807921694092})"));
  EXPECT_FALSE(Matches(eq, R"({"lat":37.80780792169409})"));
  auto open = P(R"({lat: [{numeric: [">=", 37.807807921694092, "<", 38]}]})");
  EXPECT_TRUE(Matches(open, R"({"lat":37.807807921694092})"));
  EXPECT_FALSE(Matches(open, R"({"lat":37.807807921694091999})"));
}

TEST(PatternDialect, NumericRejections) {
  EXPECT_TRUE(Mentions(Rejected(R"({x: [{numeric: ["=", "-4e-6"]}]})"), "must be a number"));
  EXPECT_TRUE(Mentions(Rejected(R"({x: [{numeric: [">", "5"]}]})"), "quoted number"));
  EXPECT_FALSE(Rejected(R"({x: [{numeric: ["=", true]}]})").empty());
  EXPECT_TRUE(Mentions(Rejected(R"({x: [{numeric: ["<", 1, ">", 0]}]})"), "lower bound"));
  EXPECT_TRUE(Mentions(Rejected(R"({x: [{numeric: [">", 0, ">", 0]}]})"), "lower bound"));
  EXPECT_TRUE(Mentions(Rejected(R"({x: [{numeric: [">", 30, "<", 1]}]})"), "must be below"));
  EXPECT_TRUE(Mentions(Rejected(R"({x: [{numeric: [">=", 5, "<=", 5.0]}]})"), "must be below"));
  EXPECT_FALSE(Rejected(R"({x: [{numeric: ["=", 5, "<", 10]}]})").empty());
  EXPECT_FALSE(Rejected(R"({x: [{numeric: [">", 0, "<"]}]})").empty());
  EXPECT_FALSE(Rejected(R"({x: [{numeric: [">", 1, "<", 30, false]}]})").empty());
  EXPECT_FALSE(Rejected(R"({x: [{numeric: ["="]}]})").empty());
  EXPECT_TRUE(Mentions(Rejected(R"({x: [{numeric: ["==", 1]}]})"), "'=='"));
  EXPECT_FALSE(Rejected("{x: [{numeric: 5}]}").empty());
  EXPECT_FALSE(Rejected("{x: [{numeric: []}]}").empty());
  EXPECT_FALSE(Rejected(R"({x: [{numeric: [5, ">"]}]})").empty());
}

TEST(PatternDialect, CidrIpv4) {
  auto rs = P(R"({ip: [{cidr: "10.0.0.0/24"}]})");
  EXPECT_TRUE(Matches(rs, R"({"ip":"10.0.0.0"})"));
  EXPECT_TRUE(Matches(rs, R"({"ip":"10.0.0.255"})"));
  EXPECT_FALSE(Matches(rs, R"({"ip":"10.0.1.0"})"));
  EXPECT_FALSE(Matches(rs, R"({"ip":"10.0.0.256"})"));
  EXPECT_FALSE(Matches(rs, R"({"ip":"not-an-ip"})"));
  EXPECT_FALSE(Matches(rs, R"({"ip":123})"));
  EXPECT_FALSE(Matches(rs, R"({"ip":"::ffff:10.0.0.1"})"));
  auto odd = P(R"({ip: [{cidr: "13.32.0.0/15"}]})");
  EXPECT_TRUE(Matches(odd, R"({"ip":"13.33.255.255"})"));
  EXPECT_FALSE(Matches(odd, R"({"ip":"13.34.0.0"})"));
  auto all = P(R"({ip: [{cidr: "0.0.0.0/0"}]})");
  EXPECT_TRUE(Matches(all, R"({"ip":"203.0.113.9"})"));
  EXPECT_FALSE(Matches(all, R"({"ip":"2001:db8::1"})"));
  auto one = P(R"({ip: [{cidr: "10.0.0.1/32"}]})");
  EXPECT_TRUE(Matches(one, R"({"ip":"10.0.0.1"})"));
  EXPECT_FALSE(Matches(one, R"({"ip":"10.0.0.2"})"));
}

TEST(PatternDialect, CidrIpv6) {
  auto rs = P(R"({ip: [{cidr: "2001:db8:1234:1a00::/64"}]})");
  EXPECT_TRUE(Matches(rs, R"({"ip":"2001:0db8:1234:1a00:0000:0000:0000:0000"})"));
  EXPECT_TRUE(Matches(rs, R"({"ip":"2001:DB8:1234:1A00::FFFF"})"));
  EXPECT_FALSE(Matches(rs, R"({"ip":"2001:0db8:123f:1a01::"})"));
  EXPECT_FALSE(Matches(rs, R"({"ip":"10.0.0.1"})"));
  auto r122 = P(R"({ip: [{cidr: "2400:6500:FF00::36FB:1F80/122"}]})");
  EXPECT_TRUE(Matches(r122, R"({"ip":"2400:6500:ff00::36fb:1fbf"})"));
  EXPECT_FALSE(Matches(r122, R"({"ip":"2400:6500:ff00::36fb:1fc0"})"));
}

TEST(PatternDialect, CidrRejections) {
  for (const char* bad : {"bad-filter", "10.0.0.0/8/8", "bad-/64filter", "192.168.0.1/-3424",
                          "192.168.0.1/33", "2400:6500:FF00::36FB:1F80/222", "xx.11.xx/24",
                          "xxxx:db8:1234:1a00::/64", "10.10.10.10.10/3", "10.0.0.1",
                          "10.0.0.0/"}) {
    EXPECT_TRUE(Mentions(Rejected(std::string(R"({ip: [{cidr: ")") + bad + "\"}]}"),
                         "bad CIDR block"))
        << bad;
  }
  EXPECT_FALSE(Rejected(R"({ip: [{cidr: ["10.0.0.0/8"]}]})").empty());
}

TEST(PatternDialect, ExistsTrue) {
  auto rs = P("{detail: {state: [{exists: true}]}}");
  EXPECT_TRUE(Matches(rs, R"({"detail":{"state":"pending"}})"));
  EXPECT_TRUE(Matches(rs, R"({"detail":{"state":null}})"));
  EXPECT_TRUE(Matches(rs, R"({"detail":{"state":""}})"));
  EXPECT_TRUE(Matches(rs, R"({"detail":{"state":[1,2]}})"));
  EXPECT_FALSE(Matches(rs, R"({"detail":{"other":1}})"));
  // exists applies to leaf values: objects and empty arrays are not leaves.
  EXPECT_FALSE(Matches(rs, R"({"detail":{"state":{"s":1}}})"));
  EXPECT_FALSE(Matches(rs, R"({"detail":{"state":[]}})"));
  EXPECT_FALSE(Matches(rs, R"({"detail":"state"})"));
}

TEST(PatternDialect, ExistsFalse) {
  auto rs = P("{detail: {c-count: [{exists: false}]}}");
  EXPECT_TRUE(Matches(rs, R"({"detail":{"state":"x"}})"));
  EXPECT_TRUE(Matches(rs, R"({"other":1})"));
  EXPECT_TRUE(Matches(rs, R"({"detail":"scalar"})"));
  EXPECT_TRUE(Matches(rs, R"({"detail":{"c-count":{"c1":100}}})"));
  EXPECT_TRUE(Matches(rs, R"({"detail":{"c-count":[]}})"));
  EXPECT_FALSE(Matches(rs, R"({"detail":{"c-count":5}})"));
  EXPECT_FALSE(Matches(rs, R"({"detail":{"c-count":null}})"));
  EXPECT_FALSE(Matches(rs, R"({"detail":[{"x":1},{"c-count":1}]})"));
}

TEST(PatternDialect, ExistsFalseOrOtherMatchersInOneList) {
  auto rs = P("{img: {S: [{anything-but: [roses]}, {exists: false}]}}");
  EXPECT_TRUE(Matches(rs, R"({"img":{"N":"789"}})"));
  EXPECT_TRUE(Matches(rs, R"({"other":{"N":"789"}})"));
  EXPECT_TRUE(Matches(rs, R"({"img":{"S":"ABCD"}})"));
  EXPECT_FALSE(Matches(rs, R"({"img":{"S":"roses"}})"));
  LoadResult r = Load(OneRule("{img: {S: [{anything-but: [roses]}, {exists: false}]}}"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.ruleset.rules[0].condition.any_of.size(), 2u);
}

TEST(PatternDialect, ExistsRejections) {
  EXPECT_TRUE(Mentions(Rejected(R"({x: [{exists: "true"}]})"), "takes true or false"));
  EXPECT_FALSE(Rejected("{x: [{exists: 1}]}").empty());
  EXPECT_TRUE(Mentions(Rejected("{x: [{exists: true, extraKey: v}]}"), "exactly one operator"));
}

TEST(PatternDialect, OrAtTopLevel) {
  auto rs = P(R"({source: [aws.cloudwatch], $or: [{metricName: [CPUUtilization, ReadLatency]},
                                                 {namespace: [AWS/EC2, AWS/ES]}]})");
  EXPECT_TRUE(Matches(rs, R"({"source":"aws.cloudwatch","metricName":"CPUUtilization"})"));
  EXPECT_TRUE(Matches(rs, R"({"source":"aws.cloudwatch","namespace":"AWS/ES"})"));
  EXPECT_FALSE(Matches(rs, R"({"source":"aws.cloudwatch","metricName":"Other"})"));
  EXPECT_FALSE(Matches(rs, R"({"source":"aws.ec2","metricName":"CPUUtilization"})"));
  auto only = P("{$or: [{source: [aws.ec2]}, {source: [aws.s3]}]}");
  EXPECT_FALSE(Matches(only, R"({"source":"my.app"})"));
  EXPECT_TRUE(Matches(only, R"({"source":"aws.s3"})"));
}

TEST(PatternDialect, OrNestedAndAtDepth) {
  auto rs = CompileText(R"(rules:
  - id: r
    pattern:
      source: [aws.cloudwatch]
      $or:
        - metricName: [CPUUtilization, ReadLatency]
        - metricType: [MetricType]
          namespace: [AWS/EC2, AWS/ES]
          $or:
            - metricId: [1234]
            - spaceId: [1000]
        - scope: [Service]
)");
  EXPECT_TRUE(Matches(rs, R"({"source":"aws.cloudwatch","metricType":"MetricType",
                              "namespace":"AWS/EC2","spaceId":1000})"));
  EXPECT_FALSE(Matches(rs, R"({"source":"aws.cloudwatch","metricType":"MetricType",
                               "namespace":"AWS/EC2","spaceId":1001})"));
  EXPECT_TRUE(Matches(rs, R"({"source":"aws.cloudwatch","scope":"Service"})"));
  auto deep = P(R"({detail: {$or: [{c: [{numeric: [">", 0]}]}, {d: [{numeric: ["<", 10]}]}]}})");
  EXPECT_TRUE(Matches(deep, R"({"detail":{"c":0,"d":0}})"));
  EXPECT_FALSE(Matches(deep, R"({"detail":{"c":0,"d":10}})"));
  EXPECT_FALSE(Matches(deep, R"({"c":1})"));
  auto parallel = P(R"({$or: [{a: [1]}, {b: [1]}], d: {$or: [{c: [1]}, {e: [1]}]}})");
  EXPECT_TRUE(Matches(parallel, R"({"b":1,"d":{"e":1}})"));
  EXPECT_FALSE(Matches(parallel, R"({"b":1,"d":{"f":1}})"));
  LoadResult r = Load(OneRule(R"({$or: [{a: [1]}, {b: [1]}], d: {$or: [{c: [1]}, {e: [1]}]}})"));
  EXPECT_EQ(r.ruleset.rules[0].condition.any_of.size(), 4u);
}

TEST(PatternDialect, OrExpansionLimit) {
  std::string pattern = "{";
  for (int i = 0; i < 11; ++i)  // 2^11 = 2048 alternatives
    absl::StrAppend(&pattern, "f", i, ": {$or: [{a: [1]}, {b: [1]}]}, ");
  pattern += "z: [1]}";
  std::vector<Diagnostic> d = Rejected(pattern);
  EXPECT_TRUE(Mentions(d, "the limit is 1024"));
  EXPECT_EQ(d.size(), 1u);
  LoadOptions o;
  o.max_conjunctions_per_rule = 3;
  LoadResult r = Load(OneRule("{$or: [{a: [1]}, {b: [1]}], x: [{exists: false}, 1]}"), o);
  EXPECT_TRUE(Mentions(r.diagnostics, "the limit is 3")) << DiagText(r);
  o.max_conjunctions_per_rule = 4;
  EXPECT_TRUE(Load(OneRule("{$or: [{a: [1]}, {b: [1]}], x: [{exists: false}, 1]}"), o).ok());
}

TEST(PatternDialect, OrRejections) {
  EXPECT_TRUE(Mentions(Rejected("{$or: [{a: [1]}]}"), "at least two"));
  EXPECT_TRUE(Mentions(Rejected("{$or: []}"), "at least two"));
  EXPECT_TRUE(Mentions(Rejected("{$or: {a: [1], b: [2]}}"), "must be a list"));
  EXPECT_TRUE(Mentions(Rejected("{$or: [{a: [1]}, b]}"), "pattern object"));
  EXPECT_TRUE(Mentions(Rejected("{$or: [{a: [1]}, {}]}"), "empty"));
  EXPECT_TRUE(Mentions(Rejected("{a: [{$or: [{b: [1]}, {c: [2]}]}]}"), "list of values"));
  EXPECT_TRUE(Mentions(Rejected("{$or: [{numeric: [123]}, {prefix: [abc]}]}"), "is reserved"));
  // Anywhere inside an alternative, also for operators weir does not offer.
  EXPECT_TRUE(
      Mentions(Rejected("{$or: [{a: {exactly: [1]}}, {b: [1]}]}"), "'exactly' is reserved"));
  EXPECT_TRUE(Mentions(Rejected("{$or: [{a: [1]}, {b: {c: {wildcard: [x]}}}]}"), "is reserved"));
  // Outside $or they are plain field names.
  EXPECT_TRUE(Load(OneRule("{exactly: [1], a: {numeric: [2]}}")).ok());
}

// ---------------------------------------------------------------------------
// Arrays.

TEST(PatternDialect, ArraysMatchAnyElement) {
  auto rs = P("{tags: [x]}");
  EXPECT_TRUE(Matches(rs, R"({"tags":["a","x"]})"));
  EXPECT_TRUE(Matches(rs, R"({"tags":[["a"],["b","x"]]})"));
  EXPECT_FALSE(Matches(rs, R"({"tags":[]})"));
  EXPECT_FALSE(Matches(rs, R"({"tags":["a"]})"));
  auto emp = P("{employees: {firstName: [Anna]}}");
  EXPECT_TRUE(Matches(emp, R"({"employees":[{"firstName":"John"},{"firstName":"Anna"}]})"));
}

TEST(PatternDialect, ArrayConsistency) {
  auto rs = P("{employees: {firstName: [Anna], lastName: [Smith]}}");
  const char* flat = R"({"employees":[{"firstName":"John","lastName":"Smith"},
                                       {"firstName":"Anna","lastName":"Jones"}]})";
  EXPECT_FALSE(Matches(rs, flat));
  EXPECT_TRUE(Matches(rs, R"({"employees":[{"firstName":"John","lastName":"Doe"},
                                           {"firstName":"Anna","lastName":"Smith"}]})"));
  // A field outside the array is not constrained by it.
  auto outside = P("{users: {name: [{exists: true}]}, version: [\"1\"]}");
  EXPECT_TRUE(Matches(outside, R"({"users":[{"name":"a"}],"version":"1"})"));
  // A leaf array inside the chosen element.
  auto leaf = P("{d: {n: [a], tags: [y]}}");
  EXPECT_TRUE(Matches(leaf, R"({"d":[{"n":"a","tags":["x","y"]},{"n":"b","tags":["z"]}]})"));
  EXPECT_FALSE(Matches(leaf, R"({"d":[{"n":"a","tags":["x"]},{"n":"b","tags":["y"]}]})"));
  // Within a $or branch too.
  auto branch = P("{d: {$or: [{x: [\"1\"], y: [\"2\"]}, {z: [\"3\"]}]}}");
  EXPECT_FALSE(Matches(branch, R"({"d":[{"x":"1"},{"y":"2"}]})"));
  EXPECT_TRUE(Matches(branch, R"({"d":[{"x":"1","y":"2"}]})"));
}

TEST(PatternDialect, ArrayConsistencyNestedArrays) {
  auto rs = P("{employees: {firstName: [Anna], lastName: [Smith]}}");
  EXPECT_TRUE(Matches(rs, R"({"employees":[[{"firstName":"John","lastName":"Doe"},
                                            {"firstName":"Anna","lastName":"Smith"}],
                                           [{"firstName":"Pete","lastName":"Jones"}]]})"));
  EXPECT_FALSE(Matches(rs, R"({"employees":[[{"firstName":"Anna","lastName":"Doe"}],
                                            [{"firstName":"Pete","lastName":"Smith"}]]})"));
  EXPECT_FALSE(Matches(rs, R"({"employees":[[{"firstName":"Anna","lastName":"Doe"},
                                             {"firstName":"Pete","lastName":"Smith"}]]})"));
  auto deep = P("{u: {t: {k: [color], v: [blue]}}}");
  EXPECT_TRUE(Matches(deep, R"({"u":[{"t":[{"k":"color","v":"blue"}]}]})"));
  EXPECT_FALSE(Matches(deep, R"({"u":[{"t":[{"k":"color"},{"v":"blue"}]}]})"));
  EXPECT_FALSE(Matches(deep, R"({"u":[{"t":[{"k":"color"}]},{"t":[{"v":"blue"}]}]})"));
  EXPECT_TRUE(Matches(deep, R"({"u":[{"t":[{"k":"size"},{"k":"color","v":"blue"}]}]})"));
}

TEST(PatternDialect, ArrayConsistencyWithNumericAnythingButAndExists) {
  auto rs = P(R"({i: {p: [{numeric: [">", 0, "<", 100]}], s: [{anything-but: banned}]}})");
  EXPECT_TRUE(Matches(rs, R"({"i":[{"p":200,"s":"ok"},{"p":50,"s":"fine"}]})"));
  EXPECT_FALSE(Matches(rs, R"({"i":[{"p":200,"s":"ok"},{"p":50,"s":"banned"}]})"));
  auto ex = P("{d: {a: [{exists: true}], b: [{exists: false}]}}");
  EXPECT_TRUE(Matches(ex, R"({"d":[{"a":1}]})"));
  EXPECT_FALSE(Matches(ex, R"({"d":[{"a":1,"b":2}]})"));
  // Absence is judged over the whole path, not per element.
  EXPECT_FALSE(Matches(ex, R"({"d":[{"a":1},{"b":2}]})"));
}

// ---------------------------------------------------------------------------
// Rejections, with positions.

TEST(PatternDialect, LeafMustBeAListWithPosition) {
  LoadResult r = Load(R"(rules:
  - id: r
    pattern:
      source: aws.ec2
)");
  ASSERT_EQ(r.diagnostics.size(), 1u) << DiagText(r);
  const Diagnostic& d = r.diagnostics[0];
  EXPECT_EQ(d.where.file, "t.yaml");
  EXPECT_EQ(d.where.line, 4);
  EXPECT_EQ(d.where.column, 15);
  EXPECT_EQ(d.rule_id, "r");
  EXPECT_NE(d.message.find("must be a list"), std::string::npos) << d.message;
  for (const char* v : {"{a: 42}", "{a: true}", "{a: null}", "{a: x}"})
    EXPECT_TRUE(Mentions(Rejected(v), "must be a list")) << v;
  EXPECT_TRUE(Mentions(Rejected("{a: {prefix: x}}"), "[{prefix: ...}]"));
}

TEST(PatternDialect, StructuralRejections) {
  EXPECT_TRUE(Mentions(Rejected("[not, a, map]"), "must be an event pattern"));
  EXPECT_TRUE(Mentions(Rejected(R"('{"a": ["x"]}')"), "must be an event pattern"));
  EXPECT_TRUE(Mentions(Rejected("{}"), "empty"));
  EXPECT_TRUE(Mentions(Rejected("{resources: []}"), "is empty"));
  EXPECT_TRUE(Mentions(Rejected("{detail: {}}"), "empty"));
  EXPECT_TRUE(Mentions(Rejected("{a: [[x]]}"), "nested list"));
  EXPECT_TRUE(Mentions(Rejected("{a: [{}]}"), "empty matcher"));
  EXPECT_TRUE(Mentions(Rejected("{a: [{prefix: a, suffix: b}]}"), "exactly one operator"));
  EXPECT_TRUE(Mentions(Rejected("{a..b: [x]}"), "bad field name"));
  EXPECT_TRUE(Mentions(Rejected(R"({"": [x]})"), "bad field name"));
  // EventBridge lets the last duplicate win; weir refuses to drop a condition silently.
  EXPECT_TRUE(Mentions(Rejected("{a: [1], b: [2], a: [3]}"), "appears twice"));
  EXPECT_TRUE(Mentions(Rejected(R"({"d": {"a": [1], "a": [3]}})"), "appears twice"));
}

TEST(PatternDialect, UnknownOperatorWithPosition) {
  LoadResult r = Load(OneRule("{a: [x, {contains: x}]}"));
  ASSERT_EQ(r.diagnostics.size(), 1u) << DiagText(r);
  EXPECT_EQ(r.diagnostics[0].where.line, 3);
  EXPECT_EQ(r.diagnostics[0].where.column, 23);
  EXPECT_NE(r.diagnostics[0].message.find("unknown operator 'contains'"), std::string::npos);
  EXPECT_TRUE(Mentions(Rejected("{a: [{EXISTS: true}]}"), "unknown operator 'EXISTS'"));
  EXPECT_TRUE(Mentions(Rejected(R"({a: [{NUMERIC: ["=", 5]}]})"), "unknown operator"));
}

TEST(PatternDialect, OperandTypeRejections) {
  EXPECT_TRUE(Mentions(Rejected("{t: [{prefix: [x]}]}"), "takes a string"));
  EXPECT_TRUE(Mentions(Rejected("{t: [{prefix: 123}]}"), "quote it"));
  EXPECT_FALSE(Rejected("{t: [{prefix: {invalid-expression: abc}}]}").empty());
  EXPECT_FALSE(Rejected("{t: [{prefix: {equals-ignore-case: 5}}]}").empty());
  EXPECT_FALSE(Rejected("{t: [{prefix: {equals-ignore-case: [abc]}}]}").empty());
  EXPECT_FALSE(Rejected("{t: [{suffix: {equals-ignore-case: abc, test: def}}]}").empty());
  EXPECT_FALSE(Rejected("{t: [{suffix: 123}]}").empty());
  EXPECT_FALSE(Rejected("{t: [{equals-ignore-case: [abc]}]}").empty());
  EXPECT_FALSE(Rejected("{t: [{equals-ignore-case: {prefix: ec2}}]}").empty());
  EXPECT_FALSE(Rejected("{t: [{equals-ignore-case: 5}]}").empty());
}

TEST(PatternDialect, NumericStringBoundWithPosition) {
  LoadResult r = Load(R"(rules:
  - id: r
    pattern:
      detail:
        c-count: [{numeric: [">", "5"]}]
)");
  ASSERT_EQ(r.diagnostics.size(), 1u) << DiagText(r);
  EXPECT_EQ(r.diagnostics[0].where.line, 5);
  EXPECT_EQ(r.diagnostics[0].where.column, 35);
}

TEST(PatternDialect, AllDiagnosticsAreCollected) {
  LoadResult r = Load(R"(rules:
  - id: one
    pattern:
      a: x
      b: [{cidr: "10.0.0.0/33"}]
      c: [{wildcard: "a**"}]
  - id: two
    pattern: {$or: [{d: [1]}], e: [{anything-but: {numeric: [">", 1]}}]}
)");
  ASSERT_EQ(r.diagnostics.size(), 5u) << DiagText(r);
  EXPECT_EQ(r.diagnostics[0].where.line, 4);
  EXPECT_EQ(r.diagnostics[1].where.line, 5);
  EXPECT_EQ(r.diagnostics[1].where.column, 18);
  EXPECT_EQ(r.diagnostics[2].where.line, 6);
  EXPECT_EQ(r.diagnostics[3].rule_id, "two");
  EXPECT_EQ(r.diagnostics[4].rule_id, "two");
  EXPECT_EQ(r.diagnostics[4].where.line, 8);
  for (const auto& d : r.diagnostics) EXPECT_EQ(d.where.file, "t.yaml");
}

// ---------------------------------------------------------------------------
// A field is named once per alternative: EventBridge keeps only the later of
// two conditions on one path, which is never what the pattern says.
TEST(PatternDialect, AFieldNamedTwiceInOneAlternativeIsADiagnostic) {
  LoadResult r = Load(R"(rules:
  - id: nested-and-dotted
    pattern:
      detail: {state: [x]}
      detail.state: [y]
  - id: outside-and-inside-or
    pattern:
      $or:
        - tags: [b]
        - other: [1]
      tags: [a]
  - id: two-ors
    pattern:
      $or: [{a: [1]}, {a: [2]}]
      $or: [{b: [1]}, {b: [2]}]
  - id: different-alternatives
    pattern:
      $or: [{tags: [a]}, {tags: [b]}]
)");
  EXPECT_EQ(DiagText(r),
            "t.yaml:5:7: rule 'nested-and-dotted': field 'detail.state' is named twice in "
            "one alternative of the pattern; give all its values in one list, or name it "
            "only inside each alternative of '$or'\n"
            "t.yaml:11:7: rule 'outside-and-inside-or': field 'tags' is named twice in "
            "one alternative of the pattern; give all its values in one list, or name it "
            "only inside each alternative of '$or'\n"
            "t.yaml:15:7: rule 'two-ors': field '$or' appears twice in this pattern "
            "object\n");
  // The same field in different alternatives: each is tried on its own.
  auto rs = CompileText(R"(rules:
  - id: r
    pattern: {$or: [{tags: [a]}, {tags: [b]}], n: [1]}
)");
  ASSERT_NE(rs, nullptr);
  EXPECT_TRUE(Matches(rs, R"({"tags": ["x", "b"], "n": 1})"));
  EXPECT_FALSE(Matches(rs, R"({"tags": ["x"], "n": 1})"));
}

// Data-driven: every case of tests/data/pattern_cases.json.
//
// The file is JSON; patterns and events are taken as their raw bytes so that
// number literals reach weir exactly as written.

struct RawCase {
  std::string name;
  std::string pattern;  // raw JSON
  std::string event;    // raw JSON, or "null"
  bool match = false;
  bool reject = false;
};

// Minimal JSON scanner over raw text: enough to split the case file.
class Scanner {
 public:
  explicit Scanner(const std::string& s) : s_(s) {}
  void Ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t'))
      ++i_;
  }
  bool Eat(char c) {
    Ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  // Skips one value and returns its raw text.
  bool Value(std::string* raw) {
    Ws();
    size_t b = i_;
    if (!Skip()) return false;
    *raw = s_.substr(b, i_ - b);
    return true;
  }
  // Decodes a string value (escapes other than \" and \\ kept as written;
  // names are for display only).
  bool String(std::string* out) {
    std::string raw;
    if (!Value(&raw) || raw.size() < 2 || raw[0] != '"') return false;
    out->clear();
    for (size_t k = 1; k + 1 < raw.size(); ++k) {
      if (raw[k] == '\\' && (raw[k + 1] == '"' || raw[k + 1] == '\\')) ++k;
      out->push_back(raw[k]);
    }
    return true;
  }
  bool AtEnd() {
    Ws();
    return i_ == s_.size();
  }

 private:
  bool Skip() {
    if (i_ >= s_.size()) return false;
    char c = s_[i_];
    if (c == '"') {
      for (++i_; i_ < s_.size(); ++i_) {
        if (s_[i_] == '\\') {
          ++i_;
        } else if (s_[i_] == '"') {
          ++i_;
          return true;
        }
      }
      return false;
    }
    if (c == '{' || c == '[') {
      char close = c == '{' ? '}' : ']';
      ++i_;
      if (Eat(close)) return true;
      do {
        if (c == '{') {
          Ws();
          if (!Skip() || !Eat(':')) return false;
        }
        Ws();
        if (!Skip()) return false;
      } while (Eat(','));
      return Eat(close);
    }
    size_t b = i_;
    while (i_ < s_.size() && std::string_view(",]} \n\r\t").find(s_[i_]) == std::string_view::npos)
      ++i_;
    return i_ > b;
  }

  const std::string& s_;
  size_t i_ = 0;
};

std::vector<RawCase> LoadCases(std::string* error) {
  std::ifstream in(std::string(WEIR_TEST_DATA) + "/pattern_cases.json", std::ios::binary);
  if (!in) {
    *error = "cannot open pattern_cases.json";
    return {};
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  Scanner sc(text);
  std::vector<RawCase> cases;
  if (!sc.Eat('[')) {
    *error = "pattern_cases.json is not a JSON array";
    return {};
  }
  if (sc.Eat(']')) return cases;
  do {
    if (!sc.Eat('{')) {
      *error = "a case is not an object";
      return {};
    }
    RawCase c;
    bool has_match = false;
    if (!sc.Eat('}')) {
      do {
        std::string key, raw;
        if (!sc.String(&key) || !sc.Eat(':')) {
          *error = "bad key in case " + std::to_string(cases.size());
          return {};
        }
        if (key == "name") {
          if (!sc.String(&c.name)) {
            *error = "bad name in case " + std::to_string(cases.size());
            return {};
          }
          continue;
        }
        if (!sc.Value(&raw)) {
          *error = "bad value in case " + std::to_string(cases.size());
          return {};
        }
        if (key == "pattern") c.pattern = raw;
        if (key == "event") c.event = raw;
        if (key == "match") {
          c.match = raw == "true";
          has_match = true;
        }
        if (key == "reject") c.reject = raw == "true";
      } while (sc.Eat(','));
      if (!sc.Eat('}')) {
        *error = "unterminated case " + std::to_string(cases.size());
        return {};
      }
    }
    if (c.pattern.empty() || (!c.reject && (!has_match || c.event.empty()))) {
      *error = "case '" + c.name + "' lacks pattern, event or match";
      return {};
    }
    cases.push_back(std::move(c));
  } while (sc.Eat(','));
  if (!sc.Eat(']') || !sc.AtEnd()) *error = "trailing text after the cases";
  return cases;
}

// Cases where weir decides differently from the case file, on purpose; each
// is asserted to give the opposite answer, so a change in either shows up.
const std::map<std::string, std::string>& KnownDifferences() {
  static const auto* m = new std::map<std::string, std::string>{
      {"$or branch overriding an outer field (event-ruler default)",
       "weir refuses a field named both outside $or and inside an alternative instead of "
       "letting the alternative replace it"},
      {"cidr base with host bits set (event-ruler quirk)",
       "weir masks the written address to its prefix (10.0.0.5/24 is 10.0.0.0/24)"},
      {"plain string IPv6 matches other spelling of same address",
       "exact strings compare by content (docs/rules-pattern.md); only cidr normalises addresses"},
      {"reject: cidr IPv4 /32", "weir accepts single-address blocks (/32, /128)"},
  };
  return *m;
}

std::vector<RawCase>& Cases() {
  static auto* cases = [] {
    std::string error;
    auto* v = new std::vector<RawCase>(LoadCases(&error));
    if (!error.empty()) {
      RawCase bad;
      bad.name = "LOAD ERROR: " + error;
      v->push_back(bad);
    }
    return v;
  }();
  return *cases;
}

class PatternCases : public ::testing::TestWithParam<size_t> {};

// Runs one case; returns whether weir agrees with the file, with details.
bool RunCase(const RawCase& c, std::string* detail) {
  std::string rules = R"({"rules": [{"id": "c", "pattern": )" + c.pattern + "}]}";
  LoadResult r = ParseRules({{"case.json", rules}});
  if (c.reject) {
    if (r.ok()) {
      *detail = "accepted, expected a diagnostic";
      return false;
    }
    for (const auto& d : r.diagnostics) {
      if (d.where.line <= 0) {
        *detail = "diagnostic without a position: " + d.ToString();
        return false;
      }
    }
    *detail = DiagText(r);
    return true;
  }
  if (!r.ok()) {
    *detail = "rejected: " + DiagText(r);
    return false;
  }
  auto rs = RuleSet::Compile(std::move(r.ruleset.rules));
  if (!rs.ok()) {
    *detail = "compile failed: " + std::string(rs.status().message());
    return false;
  }
  Matcher m(*rs);
  std::vector<uint32_t> hits;
  absl::Status st = m.Match(c.event, &hits);
  if (!st.ok()) {
    *detail = "event error: " + std::string(st.message());
    return false;
  }
  bool got = !hits.empty();
  *detail = got ? "matched" : "did not match";
  return got == c.match;
}

TEST_P(PatternCases, AgreesWithCaseFile) {
  const RawCase& c = Cases()[GetParam()];
  ASSERT_FALSE(c.name.rfind("LOAD ERROR", 0) == 0) << c.name;
  SCOPED_TRACE(c.name);
  std::string detail;
  bool agrees = RunCase(c, &detail);
  auto known = KnownDifferences().find(c.name);
  if (known == KnownDifferences().end()) {
    EXPECT_TRUE(agrees) << "case '" << c.name << "': " << detail << "\npattern: " << c.pattern
                        << "\nevent: " << c.event;
  } else {
    EXPECT_FALSE(agrees) << "case '" << c.name
                         << "' now agrees with the case file; drop it from KnownDifferences";
    std::cout << "[ KNOWN DIFFERENCE ] " << c.name << ": " << known->second << "\n";
  }
}

std::string CaseName(const ::testing::TestParamInfo<size_t>& info) {
  std::string out = absl::StrCat("c", info.param, "_");
  for (char ch : Cases()[info.param].name) {
    if (out.size() > 60) break;
    out.push_back(std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_');
  }
  return out;
}

std::vector<size_t> CaseIndexes() {
  std::vector<size_t> v(Cases().size());
  for (size_t i = 0; i < v.size(); ++i) v[i] = i;
  return v;
}

INSTANTIATE_TEST_SUITE_P(Data, PatternCases, ::testing::ValuesIn(CaseIndexes()), CaseName);

TEST(PatternCasesFile, EveryKnownDifferenceNamesACase) {
  for (const auto& [name, why] : KnownDifferences()) {
    bool found = false;
    for (const RawCase& c : Cases()) found |= c.name == name;
    EXPECT_TRUE(found) << "no case named '" << name << "'";
  }
}

}  // namespace
}  // namespace weir
