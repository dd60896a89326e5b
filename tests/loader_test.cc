// Rule files: structure, actions, ${VAR} expansion and diagnostics with
// positions; every mistake is reported, not only the first.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/encoded_rules.h"
#include "reference.h"
#include "rules/json_reader.h"
#include "rules/schema.h"
#include "test_util.h"

namespace weir::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Diags(const std::string& text, const std::string& name = "t.yaml") {
  std::vector<std::string> out;
  for (const auto& d : Load(text, name).diagnostics) out.push_back(d.ToString());
  return out;
}

TEST(Loader, ReadsRulesAndActions) {
  LoadResult r = Load(R"(version: 1
rules:
  - id: item-created
    description: New items
    filter:
      event: resource.ResourceCreated
    actions: [audit-log, stdout, {webhook: {url: "http://127.0.0.1:8080/hook", secret: "${HOOK_SECRET}"}}]
actions:
  audit-log: {file: {path: audit.ndjson}}
)");
  ASSERT_TRUE(r.ok()) << DiagText(r);
  ASSERT_EQ(r.ruleset.rules.size(), 1u);
  const RuleDef& rule = r.ruleset.rules[0];
  EXPECT_EQ(rule.id, "item-created");
  EXPECT_EQ(rule.description, "New items");
  EXPECT_EQ(rule.dialect, "filter");
  EXPECT_THAT(rule.actions, ElementsAre("audit-log", "stdout", "item-created#3"));
  const ActionDef& hook = r.ruleset.actions.at("item-created#3");
  EXPECT_EQ(hook.type, "webhook");
  EXPECT_EQ(hook.settings.Find("secret")->scalar, "s3cret-value");
  EXPECT_EQ(r.ruleset.actions.at("audit-log").settings.Find("path")->scalar, "audit.ndjson");
  EXPECT_EQ(r.ruleset.rules[0].where.line, 3);
}

TEST(Loader, EveryMistakeIsReportedWithItsPosition) {
  EXPECT_THAT(Diags(R"(rules:
  - id: a
    filter: {x: "1"}
    colour: red
  - id: a
    filter: {}
  - id: "bad id!"
    pattern: {x: [1]}
    filter: {x: "1"}
  - filter: {y: 'a\qb'}
  - id: c
    enabled: maybe
    actions: [nowhere]
)"),
              ElementsAre(
                  "t.yaml:4:5: rule 'a': unknown key 'colour' in a rule (expected one of: "
                  "actions, description, enabled, events, filter, id, pattern)",
                  "t.yaml:5:9: rule 'a': duplicate rule id (first defined at t.yaml:2:5)",
                  "t.yaml:6:13: rule 'a': 'filter' is empty: name at least one property",
                  "t.yaml:7:9: bad rule id 'bad id!': use letters, digits and _ . : -",
                  "t.yaml:8:14: a rule has exactly one of 'filter', 'events', 'pattern'",
                  "t.yaml:10:5: rule has no 'id'",
                  "t.yaml:10:17: bad wildcard 'a\\qb' for 'y': a backslash may only escape * "
                  "or \\, not 'q'",
                  "t.yaml:12:14: rule 'c': 'enabled' must be true or false",
                  "t.yaml:11:5: rule 'c': rule has no condition: give one of 'filter', "
                  "'events', 'pattern'",
                  "t.yaml:13:15: rule 'c': unknown action 'nowhere'"));
}

TEST(Loader, WrongTypes) {
  EXPECT_THAT(Diags(R"(rules:
  - id: a
    filter: [x]
  - id: b
    filter: {x: {y: z}}
  - id: c
    filter: {x: []}
  - id: d
    filter: {"a..b": x}
)"),
              ElementsAre("t.yaml:3:13: rule 'a': 'filter' must be a map from property path to "
                          "wildcard",
                          "t.yaml:5:17: rule 'b': the value of 'x' must be a wildcard or a list "
                          "of wildcards, not a map (write nested paths dotted, e.g. a.b)",
                          "t.yaml:7:17: rule 'c': the list of wildcards for 'x' is empty",
                          "t.yaml:9:14: rule 'd': bad property path 'a..b': segments between "
                          "dots must not be empty"));
}

TEST(Loader, FileLevelMistakes) {
  EXPECT_THAT(Diags("rules: 3\n"), ElementsAre("t.yaml:1:8: 'rules' must be a list"));
  EXPECT_THAT(Diags("rulez: []\n"),
              ElementsAre("t.yaml:1:1: unknown key 'rulez' in the rule file (expected one of: "
                          "actions, rules, sources, uri_fields, version)",
                          "t.yaml:1:1: the rule file has no 'rules:' list"));
  EXPECT_THAT(Diags(""), ElementsAre("t.yaml: the rule file is empty"));
  auto yaml_err = Diags("rules:\n  - id: a\n    filter: {x: *foo}\n");
  ASSERT_EQ(yaml_err.size(), 1u);
  EXPECT_THAT(yaml_err[0], HasSubstr("must be quoted"));
  EXPECT_THAT(yaml_err[0], HasSubstr("t.yaml:3:"));
}

TEST(Loader, JsonPositions) {
  EXPECT_THAT(Diags("{\"rules\": [\n  {\"id\": \"a\", \"filter\": {\"x\": \"\\\\q\"}}\n]}\n",
                    "r.json"),
              ElementsAre("r.json:2:31: rule 'a': bad wildcard '\\q' for 'x': a backslash may "
                          "only escape * or \\, not 'q'"));
}

// The loader checks an action's shape; each executor checks its own
// settings (see executors_test).
TEST(Loader, ActionMistakes) {
  EXPECT_THAT(Diags(R"(rules:
  - id: a
    filter: {x: "1"}
    actions: [{webhook: [x]}, {carrier-pigeon: {}}, {file: {}, exec: {}}]
actions:
  f: {file: {path: a}}
  w: {webhook: {url: "${UNSET_VAR}", colour: blue}}
  ok: {webhook: {url: "${UNSET_VAR:-http://127.0.0.1/}"}}
  s: stdout
)"),
              ElementsAre(
                  // The executors check their own settings (executors_test,
                  // check_action_settings); the reader checks an action's shape.
                  "t.yaml:7:22: action 'w': environment variable UNSET_VAR is not set (give a "
                  "default with ${UNSET_VAR:-value})",
                  "t.yaml:9:6: action 's': an action is a map with one executor: stdout, file, "
                  "exec or webhook",
                  "t.yaml:4:25: rule 'a': action 'a#1': the settings of 'webhook' must be a map",
                  "t.yaml:4:53: rule 'a': action 'a#3': an action is a map with one executor: "
                  "stdout, file, exec or webhook"));
}

// An action with a wrong setting is still defined: naming it is not a second
// mistake, and defining it again is.
TEST(Loader, ABadActionIsStillDefined) {
  EXPECT_THAT(Diags(R"(rules:
  - id: a
    filter: {x: "1"}
    actions: [f, g, nowhere]
actions:
  f: {file: {colour: red}}
  g: {carrier-pigeon: {}}
  f: {file: {path: x}}
)"),
              ElementsAre("t.yaml:8:3: action 'f' is defined twice",
                          "t.yaml:4:21: rule 'a': unknown action 'nowhere'"));
}

// Rule ids are strings: YAML has no types (a plain 12 is the text "12"),
// JSON does (12 is a number).
TEST(Loader, RuleIdsAreStrings) {
  EXPECT_THAT(Diags("rules:\n  - {id: ~, filter: {x: y}}\n  - {id: [a], filter: {x: y}}\n"
                    "  - {id: {a: b}, filter: {x: y}}\n  - {id: 12, filter: {x: y}}\n"
                    "  - {id: '', filter: {x: y}}\n"),
              ElementsAre("t.yaml:2:10: a rule id must be a string of letters, digits and _ . : "
                          "-, not null",
                          "t.yaml:3:10: a rule id must be a string of letters, digits and _ . : "
                          "-, not a list",
                          "t.yaml:4:10: a rule id must be a string of letters, digits and _ . : "
                          "-, not a map",
                          "t.yaml:6:10: bad rule id '': use letters, digits and _ . : -"));
  const std::string json =
      "{\"rules\": [\n"
      "  {\"id\": 12, \"filter\": {\"x\": \"y\"}},\n"
      "  {\"id\": true, \"filter\": {\"x\": \"y\"}},\n"
      "  {\"id\": null, \"filter\": {\"x\": \"y\"}},\n"
      "  {\"id\": \"12\", \"filter\": {\"x\": \"y\"}}\n"
      "]}\n";
  EXPECT_THAT(Diags(json, "t.json"),
              ElementsAre("t.json:2:10: a rule id must be a string of letters, digits and _ . : "
                          "-, not a number (quote it: \"12\")",
                          "t.json:3:10: a rule id must be a string of letters, digits and _ . : "
                          "-, not a boolean (quote it: \"true\")",
                          "t.json:4:10: a rule id must be a string of letters, digits and _ . : "
                          "-, not null"));
}

// $${ is a literal ${ in action settings; kept as written when the
// references are kept (weir compile), so expanding later gives the same.
TEST(Loader, DollarDollarBraceIsALiteral) {
  const std::string text = R"(rules:
  - id: a
    filter: {x: "1"}
    actions: [{exec: {command: "echo $${HOOK_SECRET} ${HOOK_SECRET} $$ $x $${"}}]
)";
  LoadResult r = Load(text);
  ASSERT_TRUE(r.ok()) << DiagText(r);
  EXPECT_EQ(r.ruleset.actions.at("a#1").settings.Find("command")->scalar,
            "echo ${HOOK_SECRET} s3cret-value $$ $x ${");
  LoadOptions keep;
  keep.expand_env = false;
  LoadResult kept = ParseRules({{"t.yaml", text}}, keep);
  ASSERT_TRUE(kept.ok()) << DiagText(kept);
  EXPECT_EQ(kept.ruleset.actions.at("a#1").settings.Find("command")->scalar,
            "echo $${HOOK_SECRET} ${HOOK_SECRET} $$ $x $${");
  EXPECT_THAT(Diags("rules:\n  - id: a\n    filter: {x: \"1\"}\n"
                    "    actions: [{exec: {command: \"a ${b\"}}]\n"),
              ElementsAre("t.yaml:4:32: rule 'a': action 'a#1': unterminated ${ in action "
                          "setting (write $${ for a literal ${)"));
}

TEST(Loader, SecretsNeverAppearInDiagnostics) {
  LoadResult r = Load(R"(rules:
  - id: a
    filter: {x: "1"}
    actions: [{webhook: "${HOOK_SECRET}"}]
)");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(DiagText(r), ::testing::Not(HasSubstr("s3cret-value")));
}

TEST(Loader, DuplicateIdsAcrossFiles) {
  LoadResult r = ParseRules({{"a.yaml", "rules:\n  - id: x\n    filter: {a: b}\n"},
                             {"b.yaml", "rules:\n  - id: x\n    filter: {a: c}\n"}});
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].ToString(),
            "b.yaml:2:9: rule 'x': duplicate rule id (first defined at a.yaml:2:5)");
}

TEST(Loader, RuleFilesMustBeUtf8) {
  EXPECT_THAT(Diags("rules:\n  - id: a\n    filter: {a: \"l*\x8c\"}\n"),
              ElementsAre("t.yaml:3:20: the rule file is not valid UTF-8"));
  EXPECT_THAT(Diags("rules:\n  - id: a\n    filter: {a: \"\xc3\xa9t\xc3\xa9\"}\n"),
              ElementsAre());
}

TEST(Loader, MissingFile) {
  LoadResult r = LoadRuleFiles({"/nonexistent/rules.yaml"});
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].ToString(),
            "/nonexistent/rules.yaml: cannot open the rule file: No such file or directory");
}

// Every path that is not a readable rule file is one diagnostic naming it.
TEST(Loader, PathsThatAreNotRuleFiles) {
  LoadOptions o;
  o.max_file_bytes = 1 << 20;  // /dev/zero is refused after 1 MiB
  const std::string dir = ::testing::TempDir();
  LoadResult r = LoadRuleFiles({dir, "/dev/zero"}, o);
  ASSERT_EQ(r.diagnostics.size(), 2u) << DiagText(r);
  EXPECT_EQ(r.diagnostics[0].ToString(), dir + ": a directory, not a rule file");
  EXPECT_EQ(r.diagnostics[1].ToString(),
            "/dev/zero: the rule file is over the limit of 1048576 bytes");
}

TEST(Loader, RuleFileSizeLimit) {
  const std::string path = ::testing::TempDir() + "/size_limit.yaml";
  const std::string text = "rules:\n  - {id: a, filter: {x: y}}\n";
  std::ofstream(path, std::ios::binary) << text;
  LoadOptions o;
  o.max_file_bytes = text.size();
  EXPECT_TRUE(LoadRuleFiles({path}, o).ok());
  auto bytes = ReadRuleFile(path, o);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(*bytes, text);
  o.max_file_bytes = text.size() - 1;
  LoadResult r = LoadRuleFiles({path}, o);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].ToString(),
            absl::StrCat(path, ": the rule file is over the limit of ", text.size() - 1, " bytes"));
}

// A pipe is read once and whole, in small writes and past one buffer.
TEST(Loader, RuleFileFromAPipe) {
  std::string text = "rules:\n";
  for (int i = 0; i < 5000; ++i) absl::StrAppend(&text, "  - {id: r", i, ", filter: {x: y}}\n");
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::thread writer([&] {
    for (size_t at = 0; at < text.size();) {
      ssize_t n = write(fds[1], text.data() + at, std::min<size_t>(1000, text.size() - at));
      if (n <= 0) break;
      at += static_cast<size_t>(n);
    }
    close(fds[1]);
  });
  LoadResult r = LoadRuleFiles({absl::StrCat("/dev/fd/", fds[0])});
  writer.join();
  close(fds[0]);
  ASSERT_TRUE(r.ok()) << DiagText(r);
  EXPECT_EQ(r.ruleset.rules.size(), 5000u);
  EXPECT_EQ(r.ruleset.rules[0].id, "r0");
}

// Deep nesting is refused with its position before anything recurses, by
// every reader (simdjson, libyaml, yaml-cpp after an alias), in linear time.
TEST(Loader, DeepNestingIsADiagnosticAndFast) {
  for (int n : {10'000, 100'000}) {
    std::string open, close;
    for (int i = 0; i < n; ++i) open += "{\"a\":", close += "}";
    std::string flow_open, flow_close;
    for (int i = 0; i < n; ++i) flow_open += "{a: ", flow_close += "}";
    const std::string lists(n, '['), ends(n, ']');
    struct Case {
      std::string name, text, diag;
    } cases[] = {
        {"pattern.json", absl::StrCat("{\"rules\":[{\"id\":\"a\",\"pattern\":", open, "[\"x\"]",
                                      close, "}]}"),
         "pattern.json:1:1296: "},
        {"pattern.yaml", absl::StrCat("rules:\n  - id: a\n    pattern: ", flow_open, "[x]",
                                      flow_close, "\n"),
         "pattern.yaml:3:1026: "},
        {"lists.json",
         absl::StrCat("{\"rules\":[{\"id\":\"a\",\"filter\":{\"x\":\"y\"},\"description\":",
                      lists, ends, "}]}"),
         "lists.json:1:307: "},
        {"lists.yaml", absl::StrCat("rules:\n  - id: a\n    description: ", lists, ends, "\n"),
         "lists.yaml:3:271: "},
        // An alias makes libyaml give up building; it still counts the depth,
        // so yaml-cpp never parses the deep text.
        {"alias.yaml",
         absl::StrCat("x: &x 1\nrules:\n  - id: a\n    filter: {x: *x}\n    description: ", lists,
                      ends, "\n"),
         "alias.yaml:5:271: "},
    };
    for (const Case& c : cases) {
      auto t0 = std::chrono::steady_clock::now();
      std::vector<std::string> diags = Diags(c.text, c.name);
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      EXPECT_THAT(diags, ElementsAre(c.diag + "the rule file is nested deeper than the limit of "
                                              "256 (maps and lists both count)"))
          << c.name << " " << n;
      EXPECT_LT(secs, 1.0) << c.name << " " << n;
    }
  }
}

TEST(Loader, PatternNestingLimit) {
  auto pattern = [](int n, bool json) {
    std::string p = json ? "[\"x\"]" : "[x]";
    for (int i = 0; i < n; ++i) p = json ? absl::StrCat("{\"a\":", p, "}") : absl::StrCat("{a: ", p, "}");
    return json ? absl::StrCat("{\"rules\":[{\"id\":\"a\",\"pattern\":", p, "}]}")
                : absl::StrCat("rules:\n  - id: a\n    pattern: ", p, "\n");
  };
  EXPECT_THAT(Diags(pattern(64, false)), ElementsAre());
  EXPECT_THAT(Diags(pattern(64, true), "t.json"), ElementsAre());
  EXPECT_THAT(Diags(pattern(65, false)),
              ElementsAre("t.yaml:3:270: rule 'a': the pattern is nested deeper than the limit "
                          "of 64 (each nested object and each '$or' alternative counts)"));
  // $or alternatives count too.
  std::string p = "{x: [1]}";
  for (int i = 0; i < 70; ++i) p = absl::StrCat("{$or: [", p, ", {y: [2]}]}");
  EXPECT_THAT(Diags(absl::StrCat("rules:\n  - id: a\n    pattern: ", p, "\n")),
              ElementsAre(HasSubstr("the pattern is nested deeper than the limit of 64")));
  LoadOptions o;
  o.max_pattern_depth = 100;
  EXPECT_TRUE(ParseRules({{"t.yaml", pattern(65, false)}}, o).ok());
}

}  // namespace
}  // namespace weir::testing

// JSON rule files take a faster reader (simdjson); it must give exactly what
// yaml-cpp's reading gives, and fall back to it (for positions) on mistakes.

namespace weir::testing {
namespace {

void ToJson(const Json& j, std::string* out) {
  switch (j.kind) {
    case Json::kObject: {
      *out += '{';
      for (size_t i = 0; i < j.fields.size(); ++i) {
        if (i) *out += ',';
        Json key;
        key.kind = Json::kString;
        key.text = j.fields[i].first;
        ToJson(key, out);
        *out += ':';
        ToJson(j.fields[i].second, out);
      }
      *out += '}';
      return;
    }
    case Json::kArray:
      *out += '[';
      for (size_t i = 0; i < j.items.size(); ++i) {
        if (i) *out += ',';
        ToJson(j.items[i], out);
      }
      *out += ']';
      return;
    case Json::kString:
      *out += '"';
      for (char c : j.text) {
        if (c == '"' || c == '\\') *out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          snprintf(buf, sizeof buf, "\\u%04x", c);
          *out += buf;
          continue;
        }
        *out += c;
      }
      *out += '"';
      return;
    default:
      *out += j.text;  // numbers as written, literals
  }
}

std::string Summary(const LoadResult& r) {
  std::string s = DiagText(r);
  if (!r.ok()) return s;
  auto rs = RuleSet::Compile(r.ruleset.rules);
  if (!rs.ok()) return s + std::string(rs.status().message());
  s += (*rs)->DebugString();
  for (const auto& rule : r.ruleset.rules)
    s += rule.id + "|" + rule.description + "|" + (rule.enabled ? "on" : "off") + "|" +
         rule.dialect + "|" + absl::StrJoin(rule.actions, ",") + "|" +
         std::to_string(rule.where.line) + ":" + std::to_string(rule.where.column) + "\n";
  for (const auto& [name, a] : r.ruleset.actions) s += name + ":" + a.type + "\n";
  return s;
}

// Every pattern of tests/data/pattern_cases.json, as JSON text.
std::vector<std::string> PatternCases() {
  std::ifstream in(std::string(WEIR_TEST_DATA) + "/pattern_cases.json");
  std::stringstream ss;
  ss << in.rdbuf();
  Json cases;
  std::vector<std::string> out;
  if (!JsonParser::Parse(ss.str(), &cases)) return out;
  for (const Json& c : cases.items) {
    for (const auto& [k, v] : c.fields) {
      if (k != "pattern") continue;
      out.emplace_back();
      ToJson(v, &out.back());
    }
  }
  return out;
}

TEST(Loader, FastJsonReaderAgreesWithYaml) {
  int compared = 0, with_mistakes = 0;
  for (const std::string& pattern : PatternCases()) {
    std::string json = R"({"version": 1, "actions": {"log": {"file": {"path": "x"}}}, "rules": [)"
                       R"({"id": "r", "description": "d", "actions": ["log", {"stdout": {}}], "pattern": )";
    json += pattern;
    json += R"(}, {"id": "f", "enabled": false, "filter": {"a.b": ["x*", "1"]}},)"
            R"( {"id": "e", "events": ["/items/share", "/users/bob"]}]})";
    LoadResult fast = Load(json, "r.json");
    // A tag makes both fast readers give up: yaml-cpp reads the copy.
    LoadResult yaml = Load("--- !!map\n" + json, "r.json");
    // The same positions too, one line down in the yaml-cpp copy.
    for (auto& d : yaml.diagnostics) --d.where.line;
    for (auto& r : yaml.ruleset.rules) --r.where.line;
    ASSERT_EQ(Summary(fast), Summary(yaml)) << json;
    ++compared;
    if (!fast.ok()) ++with_mistakes;
  }
  EXPECT_GT(compared, 300);
  EXPECT_GT(with_mistakes, 50);
}

// A large JSON file is parsed a piece of its rules array at a time; the
// rules and their positions are those yaml-cpp reads. Two "rules" keys are
// yaml-cpp's to report, not a second list silently ignored.
TEST(Loader, FastJsonReaderInPieces) {
  std::string json = "{\"rules\": [\n";
  for (int i = 0; i < 30000; ++i)
    absl::StrAppend(&json, i ? ",\n" : "", "  {\"id\": \"r", i,
                    "\", \"description\": \"\\\"[{,\", \"pattern\": {\"a\": [\"", i, "\"]}}");
  json += "\n], \"version\": 1}\n";
  ASSERT_GT(json.size(), size_t{2} << 20);
  LoadResult fast = Load(json, "r.json");
  LoadResult yaml = Load("--- !!map\n" + json, "r.json");
  for (auto& r : yaml.ruleset.rules) --r.where.line;
  ASSERT_TRUE(fast.ok()) << DiagText(fast);
  EXPECT_EQ(Summary(fast), Summary(yaml));
  EXPECT_EQ(fast.ruleset.rules.size(), 30000u);
  EXPECT_EQ(fast.ruleset.rules.back().where.line, 30001);
  EXPECT_EQ(fast.ruleset.rules.back().description, "\"[{,");
  EXPECT_THAT(Diags("{\"rules\": [{\"id\": \"a\", \"filter\": {\"x\": \"y\"}}],\n"
                    " \"rules\": [{\"id\": \"b\", \"filter\": {\"x\": \"y\"}}]}\n",
                    "t.json"),
              ElementsAre("t.json:2:2: key 'rules' appears twice in the rule file"));
}

TEST(Loader, FastJsonReaderUndoesAFileWithMistakes) {
  // The first file is fine; the second has a mistake and a duplicate id, so
  // it is read again by yaml-cpp: its ids, actions and rules count once.
  LoadResult r = ParseRules(
      {{"a.json", R"({"rules": [{"id": "x", "filter": {"a": "1"}}]})"},
       {"b.json", "{\"actions\": {\"n\": {\"stdout\": {}}},\n \"rules\": [{\"id\": \"y\", "
                  "\"filter\": {\"a\": \"2\"}, \"actions\": [\"n\"]},\n {\"id\": \"x\", "
                  "\"filter\": {\"a\": \"3\"}}]}"}});
  EXPECT_THAT(DiagText(r),
              ::testing::StrEq(
                  "b.json:3:9: rule 'x': duplicate rule id (first defined at a.json:1:12)\n"));
  EXPECT_EQ(r.ruleset.rules.size(), 3u);
  EXPECT_EQ(r.ruleset.actions.count("n"), 1u);
}

// A JSON file of kParallelJsonBytes or more is read on several threads, a
// part of its rules each, joined in order: what is read, mistakes and their
// positions included, is what one thread reads, with the rules given as
// RuleDefs and encoded alike.
std::string ThreadedSummary(std::vector<RuleText> files, size_t threads) {
  LoadOptions o;
  o.load_threads = threads;
  o.max_nesting_depth = 64;
  o.env = [](const std::string& n) -> std::optional<std::string> {
    if (n == "HOOK_PATH") return "p";
    return std::nullopt;
  };
  std::string s = Summary(ParseRules(files, o));
  EncodedRules enc;
  LoadResult encoded = ParseRulesEncoded(&files, o, &enc);
  s += "\nencoded:\n" + DiagText(encoded);
  RuleDef rule;
  EncodedRules::Cursor cursor(enc);
  while (cursor.Next(&rule)) {
    absl::StrAppend(&s, rule.id, "|", rule.enabled, "|", rule.where.file, ":", rule.where.line, ":",
                    rule.where.column, "|", absl::StrJoin(rule.actions, ","), "|");
    for (const Conjunction& c : rule.condition.any_of)
      for (const Clause& cl : c.all_of) absl::StrAppend(&s, cl.path, "=", cl.any_of.size(), ";");
    s += "\n";
  }
  EXPECT_TRUE(cursor.ok());
  EXPECT_EQ(enc.size(), encoded.ok() ? encoded.ruleset.rules.size() + enc.size() : enc.size());
  for (const auto& [name, a] : encoded.ruleset.actions) s += name + ":" + a.type + "\n";
  return s;
}

TEST(Loader, FastJsonReaderOnThreads) {
  // Rule i, with `odd` at rule `at`.
  auto file = [](int n, int at, const std::string& odd) {
    std::string json = "{\"actions\": {\"log\": {\"stdout\": {}}}, \"rules\": [\n";
    for (int i = 0; i < n; ++i) {
      absl::StrAppend(&json, i ? ",\n" : "", "  {\"id\": \"r", i, "\", \"pattern\": {\"p",
                      i % 3 == 0 ? i : i % 7, "\": [\"", i, "\"]}, \"description\": \"",
                      std::string(80, 'd'), "\"");
      if (i % 1000 == 1)
        absl::StrAppend(
            &json, ", \"actions\": [\"log\", \"stdout\", \"later\", \"r1#5\"",
            i == 1 ? ", {\"webhook\": {\"url\": \"http://127.0.0.1:9/${HOOK_PATH}\"}}" : "", "]");
      if (i % 5 == 0) json += ", \"enabled\": false";
      if (i == at) json += odd;
      json += "}";
    }
    json += "\n]}\n";
    return json;
  };
  const int n = 2500;
  const std::string later = "{\"actions\": {\"later\": {\"stdout\": {}}}, \"rules\": []}";
  std::string deep = "1";
  for (int i = 0; i < 70; ++i) deep = "[" + deep + "]";
  const std::vector<std::pair<int, std::string>> odd = {
      {-1, ""},
      {n - 2, ", \"id\": \"r0\""},  // a key twice
      {n - 2, ", \"actions\": [\"nosuch\"]"},
      {n - 2, ", \"bogus\": 1"},                                  // a mistake in the last part
      {n - 2, ", \"description\": " + deep},                      // too deep there
      {n - 2, "}, {\"id\": \"r3\", \"filter\": {\"a\": \"b\"}"},  // an id of the first part
      {n - 2, "}, {\"id\": \"r2490\", \"filter\": {\"a\": \"b\"}"},
  };
  int compared = 0;
  for (const auto& [at, text] : odd) {
    const std::string big = file(n, at, text);
    ASSERT_GT(big.size(), kParallelJsonBytes);
    std::vector<std::vector<RuleText>> cases = {{{"a.json", big}, {"b.json", later}}};
    if (at < 0) {  // also after another file, and twice
      cases.push_back({{"b.json", later}, {"a.json", big}});
      cases.push_back({{"a.json", big}, {"c.json", big}});
    }
    for (const std::vector<RuleText>& files : cases) {
      const std::string one = ThreadedSummary(files, 1);
      const std::string two = ThreadedSummary(files, 2);
      // (The first line that differs: the whole texts are long.)
      std::vector<std::string> a = absl::StrSplit(one, '\n'), b = absl::StrSplit(two, '\n');
      auto [ia, ib] = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
      EXPECT_TRUE(ia == a.end() && ib == b.end()) << text << ": " << (ia == a.end() ? "(end)" : *ia)
                                                  << " vs " << (ib == b.end() ? "(end)" : *ib);
      ++compared;
    }
  }
  EXPECT_EQ(compared, 9);
}

// YAML files take libyaml's event parser; on files without mistakes it must
// give what yaml-cpp gives, positions included. An explicit tag makes the
// fast reader give up, so "version: !!int 1" on a first line forces yaml-cpp.
LoadResult LoadByYamlCpp(const std::string& yaml, const std::string& name) {
  size_t v = yaml.rfind("\nversion: 1\n", std::string::npos);
  if (yaml.rfind("version: 1\n", 0) == 0) v = 0;
  else if (v != std::string::npos) ++v;
  if (v != std::string::npos) {  // tag the existing key: positions stay put
    std::string tagged = yaml;
    tagged.replace(v, 10, "version: !!int 1");
    return Load(tagged, name);
  }
  LoadResult r = Load("version: !!int 1\n" + yaml, name);
  for (auto& d : r.diagnostics) --d.where.line;
  for (auto& rule : r.ruleset.rules) --rule.where.line;
  return r;
}

TEST(Loader, FastYamlReaderAgreesWithYamlCpp) {
  int compared = 0, valid = 0;
  for (const std::string& pattern : PatternCases()) {
    const std::string& flow = pattern;
    std::string yaml =
        "actions:\n  log: {file: {path: x}}\n  hook:\n    webhook:\n      url: 'http://h/'\n"
        "      headers: {X-A: \"b\"}\nrules:\n  - id: r\n    description: >-\n      folded\n"
        "      text\n    actions: [log, {stdout: {}}]\n    pattern: " + flow + "\n"
        "  - id: f\n    enabled: false\n    filter:\n      a.b: [\"x*\", 1, ~]\n"
        "      c: &v \"é\"\n      d: *v\n"
        "  - id: e\n    events:\n      - /items/share\n      - /users/bob\n    actions:\n"
        "      - hook\n";
    LoadResult fast = Load(yaml, "r.yaml");
    LoadResult ref = LoadByYamlCpp(yaml, "r.yaml");
    ASSERT_EQ(Summary(fast), Summary(ref)) << yaml;
    ++compared;
    if (fast.ok()) ++valid;
  }
  EXPECT_GT(compared, 300);
  EXPECT_GT(valid, 200);
  // The examples' rule files.
  compared = 0;
  namespace fs = std::filesystem;
  for (const auto& dir : fs::directory_iterator(fs::path(WEIR_SOURCE_DIR) / "examples")) {
    for (const char* f : {"rules.yaml", "bad-rules.yaml"}) {
      std::ifstream file(dir.path() / f);
      if (!file) continue;
      std::stringstream text;
      text << file.rdbuf();
      std::string body = text.str();
      ++compared;
      ASSERT_EQ(Summary(Load(body, f)), Summary(LoadByYamlCpp(body, f))) << dir.path() / f;
    }
  }
  EXPECT_GE(compared, 5);
}

// "?" inside a plain scalar in a flow list is valid YAML that yaml-cpp 0.7
// rejects ("unknown token"); libyaml reads it, also when the file has a
// mistake elsewhere (its diagnostics are then the ones reported).
TEST(Loader, YamlThatOnlyLibyamlReads) {
  const std::string ok = "rules:\n  - id: a\n    filter: {x: [a?b, c]}\n";
  LoadResult r = Load(ok, "r.yaml");
  ASSERT_TRUE(r.ok()) << DiagText(r);
  EXPECT_THAT(DiagText(Load(ok + "  - id: a\n    filter: {y: z}\n", "r.yaml")),
              ::testing::StrEq("r.yaml:4:9: rule 'a': duplicate rule id (first defined at "
                               "r.yaml:2:5)\n"));
}

// Found by the rules fuzzer: a file that starts like JSON but is not (here
// valid YAML flow syntax) once read as zero rules, because counting the
// broken rules array left it at its end.
TEST(Loader, BrokenJsonRulesArrayIsNotEmpty) {
  LoadResult r = Load(R"({"rules": [{"id": "c", 1pattern": {"a": [ x"]}}]})", "r.json");
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(DiagText(r), ::testing::HasSubstr("unknown key '1pattern\"'"));
}

// A rule file is one document: a second one (YAML "---" or JSON after the
// object) is a mistake, not silently ignored; an empty trailing one is fine.
TEST(Loader, ASecondDocumentIsAMistake) {
  const std::string one = R"({"rules": [{"id": "a", "filter": {"x": "1"}}]})";
  EXPECT_THAT(DiagText(Load(one + " {\"rules\": []}", "r.json")),
              ::testing::StrEq("r.json:1:48: a second document in the rule file (weir reads one: "
                               "put every rule under its 'rules:')\n"));
  EXPECT_THAT(DiagText(Load("rules:\n  - id: a\n    filter: {x: b}\n---\nrules: []\n", "r.yaml")),
              ::testing::HasSubstr("r.yaml:5:1: a second document"));
  EXPECT_TRUE(Load("rules:\n  - id: a\n    filter: {x: b}\n---\n", "r.yaml").ok());
  // yaml-cpp 0.7 finds endless empty documents after a lone ",": only two
  // are ever parsed (found by the rules fuzzer, as an out-of-memory).
  EXPECT_THAT(DiagText(Load(" ,", "r.yaml")), ::testing::HasSubstr("the rule file is empty"));
  EXPECT_TRUE(Load(one + "\n", "r.json").ok());
}

// Found by the rules fuzzer: an alias inside its own anchor made a cyclic
// document (a crash), and aliases of aliases can expand exponentially.
TEST(Loader, YamlAliasesAreBounded) {
  EXPECT_THAT(DiagText(Load("rules:\n  - id: a\n    pattern: &x {b: *x}\n", "r.yaml")),
              ::testing::StrEq("r.yaml:3:14: a YAML alias refers to a value that contains it\n"));
  std::string lol = "rules: []\nx0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 12; ++i) {
    lol += absl::StrCat("x", i, ": &a", i, " [");
    for (int j = 0; j < 10; ++j) lol += absl::StrCat(j ? ", " : "", "*a", i - 1);
    lol += "]\n";
  }
  EXPECT_THAT(DiagText(Load(lol, "r.yaml")), ::testing::HasSubstr("expands to too many values"));
  // Ordinary aliases still work.
  EXPECT_TRUE(Load("rules:\n  - id: a\n    filter: &f {x: \"1\"}\n  - id: b\n    filter: *f\n",
                   "r.yaml")
                  .ok());
}

TEST(Loader, Sources) {
  for (const char* name : {"t.yaml", "t.json"}) {
    std::string text =
        std::string(name) == "t.json"
            ? R"({"rules":[{"id":"a","filter":{"x":"1"}}],"sources":{"uipath":{"signature":"uipath","secret":"${HOOK_SECRET}"},"gh":{"signature":"github","secret":"x","tolerance":"60s"}}})"
            : "rules:\n  - id: a\n    filter: {x: '1'}\nsources:\n  uipath: {signature: uipath, secret: \"${HOOK_SECRET}\"}\n  gh: {signature: github, secret: x, tolerance: 60s}\n";
    LoadResult r = Load(text, name);
    ASSERT_TRUE(r.ok()) << DiagText(r);
    ASSERT_EQ(r.sources.size(), 2u) << name;
    EXPECT_EQ(r.sources.at("uipath").signature, "uipath");
    EXPECT_EQ(r.sources.at("uipath").secret, "s3cret-value");
    EXPECT_EQ(r.sources.at("uipath").tolerance_seconds, 300);
    EXPECT_EQ(r.sources.at("gh").tolerance_seconds, 60);
  }
  auto d = Diags("rules: []\nsources:\n  a: {signature: rot13, secret: x}\n  b: {secret: x}\n  c: {signature: github}\n  d: {signature: none, colour: red}\n");
  ASSERT_EQ(d.size(), 4u) << absl::StrJoin(d, "\n");
  EXPECT_THAT(d[0], HasSubstr("t.yaml:3:18: source 'a': signature must be"));
  EXPECT_THAT(d[1], HasSubstr("source 'b' needs a 'signature'"));
  EXPECT_THAT(d[2], HasSubstr("source 'c' needs a 'secret'"));
  EXPECT_THAT(d[3], HasSubstr("unknown key 'colour'"));
}

}  // namespace
}  // namespace weir::testing
