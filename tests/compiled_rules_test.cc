// Compiled rule files (weir compile): what is read back is the rule set that
// was written (same rules, same indexes, same matches), secrets are not
// stored, and damaged or foreign bytes give an error, never a crash.
#include "weir/compiled_rules.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/encoded_rules.h"
#include "engine/wire.h"
#include "rules/schema.h"
#include "simdjson.h"
#include "test_util.h"
#include "weir/open.h"

namespace weir::testing {
namespace {

namespace fs = std::filesystem;

std::string ReadText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every variable is set, to a value that says which it is.
LoadOptions Env(bool expand) {
  LoadOptions o;
  o.expand_env = expand;
  o.env = [](const std::string& n) -> std::optional<std::string> { return "secret-of-" + n; };
  return o;
}

std::string PredText(const Predicate& p) {
  std::string s = absl::StrCat(static_cast<int>(p.kind), ":", p.text, ":", p.lo, p.lo_open, ",",
                               p.hi, p.hi_open, "{");
  for (const Predicate& e : p.excluded) absl::StrAppend(&s, PredText(e), ";");
  return s + "}";
}

// Everything about a rule, as text.
std::string RuleSummary(const RuleDef& r) {
  std::string s = absl::StrCat(r.id, "|", r.description, "|", r.enabled, "|", r.dialect, "|",
                               absl::StrJoin(r.actions, ","), "|", r.where.file, ":", r.where.line,
                               ":", r.where.column, "\n");
  for (const Conjunction& c : r.condition.any_of) {
    absl::StrAppend(&s, "  and", c.array_consistent ? " (same element)" : "", "\n");
    for (const Clause& cl : c.all_of) {
      absl::StrAppend(&s, "    ", cl.negated ? "not " : "", cl.path, ":");
      for (const Predicate& p : cl.any_of) absl::StrAppend(&s, " ", PredText(p));
      s += "\n";
    }
  }
  return s;
}

std::string ConfigText(const ConfigValue& v) {
  std::string s = absl::StrCat(static_cast<int>(v.kind), "@", v.where.file, ":", v.where.line, ":",
                               v.where.column, "=", v.scalar, "[");
  for (const ConfigValue& e : v.list) absl::StrAppend(&s, ConfigText(e), ",");
  for (const auto& [k, e] : v.map) absl::StrAppend(&s, k, ":", ConfigText(e), ",");
  return s + "]";
}

std::string ActionsText(const std::map<std::string, ActionDef>& actions) {
  std::string s;
  for (const auto& [name, a] : actions)
    absl::StrAppend(&s, name, "=", a.name, "/", a.type, "/", ConfigText(a.settings), "@",
                    a.where.line, "\n");
  return s;
}

std::string AllRules(const RuleSet& rs) {
  std::string s;
  for (size_t i = 0; i < rs.size(); ++i) s += RuleSummary(rs.rule(i));
  return s;
}

// Loads `files` as `weir compile` does, writes them, and reads them back.
struct RoundTrip {
  std::shared_ptr<const RuleSet> source;  // compiled from the rule files
  std::shared_ptr<const RuleSet> encoded;  // the same, as OpenRules compiles them (kept encoded)
  LoadResult expanded;                    // the rule files with ${NAME} expanded
  std::string bytes;
  CompiledRuleFile read;
};

RoundTrip Make(const std::vector<RuleText>& files) {
  RoundTrip t;
  LoadResult kept = ParseRules(files, Env(false));
  EXPECT_TRUE(kept.ok()) << DiagText(kept);
  t.expanded = ParseRules(files, Env(true));
  auto rs = RuleSet::Compile(kept.ruleset.rules);
  EXPECT_TRUE(rs.ok()) << rs.status();
  if (!rs.ok()) return t;
  t.source = *rs;
  std::vector<RuleText> copy = files;
  EncodedRules enc;
  LoadResult none = ParseRulesEncoded(&copy, Env(false), &enc);
  EXPECT_TRUE(none.ok()) << DiagText(none);
  EXPECT_TRUE(none.ruleset.rules.empty());
  auto encoded = RuleSet::CompileEncoded(std::move(enc));
  EXPECT_TRUE(encoded.ok()) << encoded.status();
  if (encoded.ok()) t.encoded = *encoded;
  auto bytes = WriteCompiledRules(**rs, kept.ruleset.actions);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  t.bytes = *bytes;
  EXPECT_TRUE(IsCompiledRuleFile(t.bytes));
  auto read = ReadCompiledRules(t.bytes, Env(true));
  EXPECT_TRUE(read.ok()) << read.status();
  if (read.ok()) t.read = *std::move(read);
  EXPECT_TRUE(t.read.ok());
  return t;
}

void ExpectSameSet(const RoundTrip& t) {
  ASSERT_TRUE(t.source && t.read.rules && t.encoded);
  // Compiled from rules held encoded: the same set, and the same bytes.
  for (const RuleSet* rs : {t.read.rules.get(), t.encoded.get()}) {
    ASSERT_EQ(rs->size(), t.source->size());
    for (size_t i = 0; i < rs->size(); ++i) {
      EXPECT_EQ(rs->dialect(i), t.source->dialect(i));
      EXPECT_EQ(rs->id(i), t.source->id(i));
    }
  }
  EXPECT_EQ(t.encoded->DebugString(), t.source->DebugString());
  EXPECT_EQ(AllRules(*t.encoded), AllRules(*t.source));
  std::string a, b;
  ASSERT_TRUE(t.encoded->Serialize(&a).ok());
  ASSERT_TRUE(t.source->Serialize(&b).ok());
  EXPECT_EQ(a, b);
  EXPECT_EQ(t.read.rules->DebugString(), t.source->DebugString());
  EXPECT_EQ(AllRules(*t.read.rules), AllRules(*t.source));
  EXPECT_EQ(ActionsText(t.read.actions), ActionsText(t.expanded.ruleset.actions));
  EXPECT_EQ(t.read.rules->enabled_count(), t.source->enabled_count());
}

TEST(CompiledRules, ExamplesRoundTrip) {
  int examples = 0;
  for (const auto& dir : fs::directory_iterator(fs::path(WEIR_SOURCE_DIR) / "examples")) {
    fs::path rules = dir.path() / "rules.yaml", events = dir.path() / "events.ndjson";
    if (!fs::exists(rules)) continue;
    SCOPED_TRACE(rules.string());
    RoundTrip t = Make({{rules.string(), ReadText(rules)}});
    ExpectSameSet(t);
    std::istringstream lines(ReadText(events));
    std::string line;
    int n = 0;
    while (std::getline(lines, line)) {
      if (line.empty()) continue;
      EXPECT_EQ(Ids(t.read.rules, line), Ids(t.source, line)) << line;
      EXPECT_EQ(Ids(t.encoded, line), Ids(t.source, line)) << line;
      ++n;
    }
    EXPECT_GT(n, 0);
    ++examples;
  }
  EXPECT_GE(examples, 4);
}

// Every operator: all valid patterns of pattern_cases.json in one set, each
// case's event matched by the set as compiled and as read back.
struct Cases {
  std::string rules;  // one JSON rule file
  std::vector<std::string> events;
};

Cases PatternCases() {
  Cases out;
  simdjson::dom::parser parser;
  simdjson::padded_string text(ReadText(fs::path(WEIR_TEST_DATA) / "pattern_cases.json"));
  simdjson::dom::array cases = parser.parse(text).get_array();
  std::vector<std::string> rules;
  int i = 0;
  for (simdjson::dom::element c : cases) {
    std::string pattern = simdjson::to_string(c["pattern"]);
    std::string rule = absl::StrCat(R"({"id": "c)", i++, R"(", "pattern": )", pattern, "}");
    if (!Load(absl::StrCat(R"({"rules": [)", rule, "]}"), "c.json").ok()) continue;
    rules.push_back(rule);
    simdjson::dom::element e;
    if (!c["event"].get(e)) out.events.push_back(simdjson::to_string(e));
  }
  out.rules = absl::StrCat("{\"rules\": [\n", absl::StrJoin(rules, ",\n"), "\n]}");
  return out;
}

TEST(CompiledRules, EveryOperatorRoundTrips) {
  Cases cases = PatternCases();
  ASSERT_GT(cases.events.size(), 150u);
  RoundTrip t = Make({{"cases.json", cases.rules}});
  ExpectSameSet(t);
  int matched = 0;
  for (const std::string& e : cases.events) {
    auto ids = Ids(t.read.rules, e);
    EXPECT_EQ(ids, Ids(t.source, e)) << e;
    EXPECT_EQ(Ids(t.encoded, e), ids) << e;
    matched += !ids.empty();
  }
  EXPECT_GT(matched, 100);
  // Written twice, the same bytes.
  auto again = WriteCompiledRules(*t.read.rules, [&] {
    LoadResult kept = ParseRules({{"cases.json", cases.rules}}, Env(false));
    return kept.ruleset.actions;
  }());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, t.bytes);
}

const char kWithSecret[] = R"(
actions:
  hook:
    webhook:
      url: "http://127.0.0.1:9/hook"
      secret: "${HOOK_SECRET}"
      headers: {Authorization: "Bearer ${TOKEN:-none}"}
rules:
  - id: a
    filter: {x: "1"}
    actions: [hook]
)";

// A fast reader that gives up after streaming some rules (libyaml at an
// alias) has them undone, and the file is read again by yaml-cpp: the rules
// held encoded are rewound too, so none is there twice.
TEST(CompiledRules, EncodedRulesRewindWithTheReader) {
  const char kAlias[] = R"(
rules:
  - id: a
    filter: {x: "1"}
  - id: b
    filter: &f {y: "2"}
  - id: c
    filter: *f
)";
  RoundTrip t = Make({{"alias.yaml", kAlias}});
  ExpectSameSet(t);
  ASSERT_TRUE(t.encoded);
  EXPECT_EQ(t.encoded->size(), 3u);
  EXPECT_EQ(Ids(t.encoded, R"({"y": "2"})"), (std::vector<std::string>{"b", "c"}));
}

// Predicates of the kinds held in lists are interned by a key of their
// texts: two anything-but lists whose texts joined look alike stay two
// predicates (they were one, found in review).
TEST(CompiledRules, AnythingButListsWithSeparatorsStayApart) {
  const char kRules[] = R"({"rules": [
    {"id": "one", "pattern": {"x": [{"anything-but": ["a;string:b"]}]}},
    {"id": "two", "pattern": {"x": [{"anything-but": ["a", "b"]}]}}
  ]})";
  RoundTrip t = Make({{"ab.json", kRules}});
  ExpectSameSet(t);
  for (const auto& rs : {t.source, t.encoded, t.read.rules}) {
    ASSERT_TRUE(rs);
    EXPECT_EQ(Ids(rs, R"({"x": "a"})"), (std::vector<std::string>{"one"}));
    EXPECT_EQ(Ids(rs, R"({"x": "a;string:b"})"), (std::vector<std::string>{"two"}));
    EXPECT_EQ(Ids(rs, R"({"x": "c"})"), (std::vector<std::string>{"one", "two"}));
  }
}

TEST(CompiledRules, SecretsAreNotStored) {
  RoundTrip t = Make({{"s.yaml", kWithSecret}});
  EXPECT_EQ(t.bytes.find("secret-of-"), std::string::npos);
  EXPECT_NE(t.bytes.find("${HOOK_SECRET}"), std::string::npos);
  const ConfigValue* secret = t.read.actions.at("hook").settings.Find("secret");
  ASSERT_NE(secret, nullptr);
  EXPECT_EQ(secret->scalar, "secret-of-HOOK_SECRET");
  // Read where the variable is not set: a diagnostic naming it, at its place.
  LoadOptions unset;
  unset.env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  auto read = ReadCompiledRules(t.bytes, unset);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->diagnostics.size(), 1u);
  EXPECT_EQ(read->diagnostics[0].ToString(),
            "s.yaml:6:15: action 'hook': environment variable HOOK_SECRET is not set (give a "
            "default with ${HOOK_SECRET:-value})");
  EXPECT_EQ(read->actions.at("hook").settings.Find("headers")->Find(
                "Authorization")->scalar,
            "Bearer none");
}

// $${ stays a literal ${ through a compiled rule file; an inline action's
// unset variable is reported with its rule and action, as on loading.
TEST(CompiledRules, LiteralDollarBraceAndInlineActions) {
  RoundTrip t = Make({{"s.yaml", R"(rules:
  - id: a
    filter: {x: "1"}
    actions: [{exec: {command: "echo $${HOOK_SECRET} ${HOOK_SECRET}"}}]
)"}});
  EXPECT_EQ(t.read.actions.at("a#1").settings.Find("command")->scalar,
            "echo ${HOOK_SECRET} secret-of-HOOK_SECRET");
  LoadOptions unset;
  unset.env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  auto read = ReadCompiledRules(t.bytes, unset);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->diagnostics.size(), 1u);
  EXPECT_EQ(read->diagnostics[0].ToString(),
            "s.yaml:4:32: rule 'a': action 'a#1': environment variable HOOK_SECRET is not set "
            "(give a default with ${HOOK_SECRET:-value})");
}

// The body is rewritten with a fresh checksum, so that the structure
// checks (not only the checksum) are what refuses damaged bytes.
std::string WithChecksum(std::string bytes) {
  std::string_view body = std::string_view(bytes).substr(32);
  uint64_t sum = wire::Checksum(body), len = body.size();
  std::memcpy(bytes.data() + 16, &len, 8);
  std::memcpy(bytes.data() + 24, &sum, 8);
  return bytes;
}

TEST(CompiledRules, DamageIsAnErrorNotACrash) {
  Cases cases = PatternCases();
  RoundTrip t = Make({{"cases.json", cases.rules}, {"s.yaml", kWithSecret}});
  const std::string& good = t.bytes;
  ASSERT_TRUE(ReadCompiledRules(good, Env(true)).ok());
  // Truncated anywhere.
  for (size_t n = 0; n < good.size(); n += n < 256 ? 1 : 97)
    EXPECT_FALSE(ReadCompiledRules(good.substr(0, n), Env(true)).ok()) << n;
  // Any byte changed: the checksum notices.
  std::string bad = good;
  bad[good.size() / 2] ^= 0x10;
  EXPECT_THAT(std::string(ReadCompiledRules(bad, Env(true)).status().message()),
              ::testing::HasSubstr("checksum"));
  // Changed with the checksum fixed up: refused or read, but matching what
  // was read never goes out of bounds (ASan runs this test).
  int refused = 0, read = 0;
  for (size_t i = 32; i < good.size(); i += 1 + good.size() / 4000) {
    for (uint8_t flip : {0x01, 0x80, 0xFF}) {
      bad = good;
      bad[i] = static_cast<char>(bad[i] ^ flip);
      auto r = ReadCompiledRules(WithChecksum(bad), Env(true));
      if (!r.ok()) {
        ++refused;
        continue;
      }
      ++read;
      Matcher m(r->rules);
      std::vector<uint32_t> hits;
      for (size_t k = 0; k < cases.events.size(); k += 7) {
        (void)m.Match(cases.events[k], &hits);
        for (uint32_t h : hits) ASSERT_LT(h, r->rules->size());
      }
      (void)r->rules->DebugString();
      (void)r->rules->rule(r->rules->size() - 1);
    }
  }
  EXPECT_GT(refused, 100);
  EXPECT_GT(read, 100);  // most flips land in values: ids, strings, numbers
}

TEST(CompiledRules, ForeignAndOtherVersions) {
  EXPECT_FALSE(IsCompiledRuleFile("rules: []\n"));
  EXPECT_THAT(std::string(ReadCompiledRules("rules: []\n").status().message()),
              ::testing::HasSubstr("signature"));
  RoundTrip t = Make({{"s.yaml", kWithSecret}});
  std::string other = t.bytes;
  other[8] = 9;  // file version
  EXPECT_THAT(std::string(ReadCompiledRules(other, Env(true)).status().message()),
              ::testing::HasSubstr("version 9; this weir reads version 3"));
  // No actions: the rule set's own format number follows their count.
  other = Make({{"t.yaml", "rules:\n  - id: a\n    filter: {x: \"1\"}\n"}}).bytes;
  other[36] = 9;  // rule set format, inside the checksummed body
  EXPECT_THAT(std::string(ReadCompiledRules(WithChecksum(other), Env(true)).status().message()),
              ::testing::HasSubstr("format 9"));
}

// A set read back takes updates like a compiled one, and an updated set
// is written as one piece.
// A JSON rule file of 256 KiB or more is read on two threads and compiled
// as it is read, a part at a time (rules/open.cc): the same set, to the
// byte, as compiling its rules once read, and a rule that cannot be
// compiled is reported as it is then.
TEST(CompiledRules, CompiledAsReadOnTwoThreads) {
  std::string json = "{\"actions\": {\"log\": {\"stdout\": {}}}, \"rules\": [\n";
  for (int i = 0; i < 6000; ++i) {
    std::string pattern;
    switch (i % 6) {
      case 0:
        pattern = absl::StrCat("{\"detail\": {\"state\": [\"s", i, "\"]}}");
        break;
      case 1:
        pattern = absl::StrCat("{\"source\": [{\"prefix\": \"p", i % 97,
                               "\"}], \"n\": [{\"numeric\": [\">\", ", i, "]}]}");
        break;
      case 2:
        pattern = absl::StrCat("{\"$or\": [{\"a\": [\"", i, "\"]}, {\"b\": [{\"wildcard\": \"x*", i,
                               "*y\"}]}]}");
        break;
      case 3:
        pattern = absl::StrCat("{\"c\": [{\"anything-but\": [\"", i,
                               "\"]}], \"d\": [{\"exists\": true}]}");
        break;
      case 4:
        pattern = absl::StrCat("{\"e\": [{\"equals-ignore-case\": \"V", i,
                               "\"}], \"f\": [true, null, ", i, "]}");
        break;
      default:
        pattern = absl::StrCat("{\"ip\": [{\"cidr\": \"10.", i % 256, ".0.0/16\"}]}");
    }
    absl::StrAppend(&json, i ? ",\n" : "", "{\"id\": \"r", i, "\", \"pattern\": ", pattern,
                    i % 7 == 0 ? ", \"enabled\": false" : "",
                    i % 50 == 0 ? ", \"actions\": [\"log\"]" : "", "}");
  }
  json += "]}\n";
  ASSERT_GT(json.size(), size_t{256} << 10);
  const fs::path path =
      fs::temp_directory_path() / absl::StrCat("weir-as-read-", getpid(), ".json");
  std::ofstream(path) << json;
  LoadOptions o;
  o.load_threads = 2;
  auto opened = OpenRules({path.string()}, o);
  ASSERT_TRUE(opened.ok()) << opened.status();
  ASSERT_TRUE(opened->ok()) << opened->diagnostics[0].ToString();
  LoadResult parsed = ParseRules({{path.string(), json}}, o);
  ASSERT_TRUE(parsed.ok()) << DiagText(parsed);
  auto after = RuleSet::Compile(parsed.ruleset.rules);
  ASSERT_TRUE(after.ok()) << after.status();
  ASSERT_EQ(opened->rules->size(), 6000u);
  EXPECT_EQ(opened->rules->DebugString(), (*after)->DebugString());
  EXPECT_EQ(AllRules(*opened->rules), AllRules(**after));
  std::string a, b;
  ASSERT_TRUE(opened->rules->Serialize(&a).ok());
  ASSERT_TRUE((*after)->Serialize(&b).ok());
  EXPECT_EQ(a, b);

  CompileOptions few;
  few.max_wildcard_stars = 1;  // "x*N*y" has two
  auto failed = OpenRules({path.string()}, o, few);
  std::vector<RuleText> files = {{path.string(), json}};
  EncodedRules enc;
  ASSERT_TRUE(ParseRulesEncoded(&files, o, &enc).ok());
  auto expected = RuleSet::CompileEncoded(std::move(enc), few);
  ASSERT_FALSE(expected.ok());
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().message(),
            absl::StrCat("cannot compile the rules: ", expected.status().message()));
  EXPECT_NE(failed.status().message().find("rule 'r2'"), std::string::npos)
      << failed.status().message();
  fs::remove(path);
}

TEST(CompiledRules, UpdatesAfterReading) {
  RoundTrip t = Make({{"s.yaml", kWithSecret}});
  LoadResult more = Load("rules:\n  - id: b\n    filter: {x: \"2\"}\n");
  ASSERT_TRUE(more.ok());
  auto v2 = RuleSet::Update(t.read.rules, more.ruleset.rules, {"a"});
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(Ids(*v2, R"({"x":"2"})"), std::vector<std::string>{"b"});
  EXPECT_TRUE(Ids(*v2, R"({"x":"1"})").empty());
  EXPECT_FALSE((*v2)->Find("a").has_value());
  auto bytes = WriteCompiledRules(**v2, {});
  ASSERT_TRUE(bytes.ok());
  auto read = ReadCompiledRules(*bytes);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->rules->size(), 1u);
  EXPECT_EQ(read->rules->id(0), "b");
  EXPECT_EQ(Ids(read->rules, R"({"x":"2"})"), std::vector<std::string>{"b"});
}

}  // namespace
}  // namespace weir::testing
