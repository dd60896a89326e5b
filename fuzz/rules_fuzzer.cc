// Fuzzes the rule loader and the compiler: ParseRules on arbitrary text (YAML
// or JSON: the loader detects it), then, when the rules load without
// diagnostics, RuleSet::Compile and a few matches with the compiled set.
//
// No exception may escape (yaml-cpp's must become diagnostics inside the
// loader) and nothing may crash. Compile may fail only with
// ResourceExhausted (a limit): InvalidArgument means a front end let through a
// condition it should have rejected. A NUL byte splits the input into two
// rule files (duplicate ids and action references across files).
//
// The fast readers (simdjson for JSON, libyaml for YAML) must agree with
// yaml-cpp on files without mistakes: a single file that loads cleanly is
// loaded again behind a "--- !!map" line (a tag makes the fast readers give
// up), and the rules, their positions and the compiled set must be the same.
// WEIR_FUZZ_ALLOW (see allow.h) tolerates known bugs by name.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/encoded_rules.h"
#include "fuzz/allow.h"
#include "fuzz/fuzz_rules.h"
#include "rules/schema.h"
#include "weir/compiled_rules.h"
#include "weir/engine.h"
#include "weir/rules.h"

namespace {

[[noreturn]] void Fail(const std::string& what, std::string_view input) {
  std::fprintf(stderr, "\n*** rules_fuzzer: %s\ninput:\n%.*s\n", what.c_str(),
               static_cast<int>(input.size()), input.data());
  std::abort();
}

const char* const kEvents[] = {
    R"({"event":"resource.ResourceCreated","resource":{"type":"itemsvc.Item","id":"item-1"},"a":"x","b":1.5,"c":null,"d":true})",
    R"({"Type":"job.faulted","Jobs":[{"State":"Faulted","Robot":{"Name":"bench-1"}},{"State":"Pending"}],"detail":{"amount":1000,"currency":"EUR","ip":"10.0.0.7"}})",
    R"({"msgType":"JobState","message":{"jobStatus":"Open","percentComplete":20},"events":[{"operation":"share","source":"item"}],"detail.state":"x","n":-0})",
};

// A rule file read from a pipe (as `-r /dev/stdin` is) gives its bytes, all
// of them, once; the input fits in the pipe's buffer, so no writer thread.
void CheckPipe(std::string_view input) {
  if (input.size() > 60000) return;
  int fds[2];
  if (pipe(fds) != 0) return;
  if (write(fds[1], input.data(), input.size()) != static_cast<ssize_t>(input.size())) {
    close(fds[0]);
    close(fds[1]);
    return;
  }
  close(fds[1]);
  weir::LoadOptions o;
  o.max_file_bytes = input.size() | 1;
  auto bytes = weir::ReadRuleFile("/dev/fd/" + std::to_string(fds[0]), o);
  close(fds[0]);
  if (!bytes.ok()) Fail("a pipe cannot be read: " + bytes.status().ToString(), input);
  if (*bytes != input) Fail("a pipe's bytes are not the input", input);
}

void Run(std::string_view input) {
  CheckPipe(input);
  std::vector<weir::RuleText> files;
  size_t nul = input.find('\0');
  if (nul == std::string_view::npos) {
    files.push_back({"rules.yaml", std::string(input)});
  } else {
    files.push_back({"a.yaml", std::string(input.substr(0, nul))});
    files.push_back({"b.json", std::string(input.substr(nul + 1))});
  }
  weir::LoadOptions lo;
  lo.env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "HOME" || name == "TOKEN") return "value-of-" + name;
    return std::nullopt;
  };
  // Small limits keep each input fast.
  lo.max_rules = 200;
  lo.max_conjunctions_per_rule = 64;
  lo.max_wildcard_stars = 8;
  lo.max_pattern_bytes = 512;
  weir::LoadResult lr = weir::ParseRules(files, lo);
  for (const weir::Diagnostic& d : lr.diagnostics) {
    if (d.message.empty()) Fail("a diagnostic without a message", input);
    (void)d.ToString();
  }
  if (!lr.ok()) return;
  if (files.size() == 1 && input.find("---") == std::string_view::npos &&
      input.find("...") == std::string_view::npos && input.find('%') == std::string_view::npos &&
      input.find('\t') == std::string_view::npos && input.find('\r') == std::string_view::npos) {
    std::vector<weir::RuleText> ref_files = {{"rules.yaml", "--- !!map\n" + files[0].text}};
    weir::LoadResult ref = weir::ParseRules(ref_files, lo);
    // libyaml reads some valid YAML that yaml-cpp 0.7 rejects; nothing else
    // may differ.
    bool yaml_cpp_cannot_parse =
        !ref.ok() && ref.diagnostics[0].message.rfind("not valid YAML/JSON", 0) == 0;
    if (!ref.ok() && !yaml_cpp_cannot_parse)
      Fail("yaml-cpp finds mistakes the fast reader did not: " + ref.diagnostics[0].ToString(),
           input);
    auto show = [](const weir::LoadResult& r, int shift) {
      std::string out;
      for (const weir::RuleDef& d : r.ruleset.rules) {
        out += d.id + "|" + d.description + "|" + (d.enabled ? "on" : "off") + "|" + d.dialect +
               "|" + std::to_string(d.where.line - shift) + ":" + std::to_string(d.where.column);
        for (const std::string& a : d.actions) out += "|" + a;
        out += "\n";
      }
      for (const auto& [name, a] : r.ruleset.actions) out += name + ":" + a.type + "\n";
      auto rs = weir::RuleSet::Compile(r.ruleset.rules);
      out += rs.ok() ? (*rs)->DebugString() : rs.status().ToString();
      return out;
    };
    if (ref.ok() && show(lr, 0) != show(ref, 1))
      Fail("the fast reader and yaml-cpp disagree:\n" + show(lr, 0) + "\n---\n" + show(ref, 1),
           input);
  }
  weir::CompileOptions co;
  co.max_wildcard_stars = lo.max_wildcard_stars;
  co.max_wildcard_automaton_bytes = 8 << 20;
  auto rs = weir::RuleSet::Compile(lr.ruleset.rules, co);
  if (!rs.ok()) {
    // Known bug, tolerated with WEIR_FUZZ_ALLOW=compile-rejects: a general
    // wildcard holding invalid UTF-8 loads but does not compile.
    if (rs.status().code() != absl::StatusCode::kResourceExhausted &&
        !weir::fuzz::Allowed("compile-rejects"))
      Fail("rules that loaded without diagnostics do not compile: " + rs.status().ToString(),
           input);
    return;
  }
  const std::string dump = (*rs)->DebugString();
  // As `weir check` and the other commands load them (weir/open.h): rules
  // held encoded as they are read, compiled one at a time. The same set.
  std::vector<weir::RuleText> copy = files;
  weir::EncodedRules encoded;
  weir::LoadResult elr = weir::ParseRulesEncoded(&copy, lo, &encoded);
  if (!elr.ok() || encoded.size() != lr.ruleset.rules.size())
    Fail("rules held encoded load differently", input);
  auto ers = weir::RuleSet::CompileEncoded(std::move(encoded), co);
  if (!ers.ok()) Fail("rules held encoded do not compile: " + ers.status().ToString(), input);
  if ((*ers)->DebugString() != dump) Fail("rules held encoded compile differently", input);
  for (size_t i = 0; i < lr.ruleset.rules.size(); ++i) {
    const weir::RuleDef& a = lr.ruleset.rules[i];
    const weir::RuleDef& b = (*ers)->rule(i);
    if (a.id != b.id || a.description != b.description || a.enabled != b.enabled ||
        a.dialect != b.dialect || a.actions != b.actions || a.where.file != b.where.file ||
        a.where.line != b.where.line || a.where.column != b.where.column ||
        a.condition.any_of.size() != b.condition.any_of.size() || (*ers)->dialect(i) != a.dialect)
      Fail("a rule held encoded reads back differently", input);
    for (size_t j = 0; j < a.condition.any_of.size(); ++j)
      if (a.condition.any_of[j].all_of != b.condition.any_of[j].all_of ||
          a.condition.any_of[j].array_consistent != b.condition.any_of[j].array_consistent)
        Fail("a condition held encoded reads back differently", input);
  }
  // Written as a compiled rule file and read back: the same set.
  auto bytes = weir::WriteCompiledRules(**rs, lr.ruleset.actions);
  if (!bytes.ok()) Fail("cannot write compiled rules: " + bytes.status().ToString(), input);
  auto read = weir::ReadCompiledRules(*bytes, lo, co);
  if (!read.ok()) Fail("cannot read compiled rules back: " + read.status().ToString(), input);
  if (read->rules->DebugString() != dump) Fail("compiled rules read back differ", input);
  weir::Matcher m(*rs, weir::fuzz::FuzzLimits());
  weir::Matcher m2(read->rules, weir::fuzz::FuzzLimits());
  weir::Matcher m3(*ers, weir::fuzz::FuzzLimits());
  std::vector<uint32_t> matches, matches2, matches3;
  for (const char* e : kEvents) {
    absl::Status st = m.Match(e, &matches);
    if (!st.ok()) Fail("a fixed event does not match: " + st.ToString(), input);
    for (uint32_t i : matches)
      if (i >= (*rs)->size() || !(*rs)->rule(i).enabled) Fail("a bad match index", input);
    if (!m2.Match(e, &matches2).ok() || matches2 != matches)
      Fail("compiled rules read back match differently", input);
    if (!m3.Match(e, &matches3).ok() || matches3 != matches)
      Fail("rules held encoded match differently", input);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  try {
    Run(input);
  } catch (const std::exception& e) {
    Fail(std::string("an exception escaped: ") + e.what(), input);
  } catch (...) {
    Fail("a non-std exception escaped", input);
  }
  return 0;
}
