#include "bindings/cli/explain.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "weir/compiled_rules.h"
#include "weir/explain.h"
#include "weir/stream.h"
#include "weir/rules.h"

namespace weir::cli {
namespace {

constexpr char kExplainUsage[] =
    "usage: weir explain -r RULES [-r RULES]... [--rule ID]... [--json] [FILE|-]\n"
    "\n"
    "Reads NDJSON events (stdin when no FILE or '-') and says, for each event and\n"
    "each rule, whether it matched and why. For a rule that did not match, each\n"
    "alternative (each branch of $or, each list of a filter's entries) is shown\n"
    "with its first condition that failed: the path, what the rule wanted there\n"
    "and what the event held (or that the path is absent). For a match, which\n"
    "alternative matched. The verdicts are those of 'weir filter'.\n"
    "\n"
    "options:\n"
    "  -r, --rules FILE        a rule file (YAML or JSON; repeat for several), or one\n"
    "                          compiled rule file (weir compile)\n"
    "      --rule ID           explain only this rule (repeat for several)\n"
    "      --json              one JSON object a line: {\"line\":N,\"rules\":[{\"id\":...,\n"
    "                          \"matched\":true|false,\"alternatives\":[{\"matched\":false,\n"
    "                          \"failed\":{\"path\":...,\"wanted\":...,\"found\":[...]|null,\n"
    "                          \"reason\":...}}]}]}\n"
    "      --max-event-bytes N, --max-depth N   limits, as in 'weir filter'\n"
    "\n"
    "Every line is checked completely (as 'weir filter --validate all'); a bad line\n"
    "is reported on stderr as 'weir: NAME:LINE: reason' and skipped.\n"
    "Exit status: 0 all lines were fine, 1 some lines were bad, 2 usage or rule errors.\n";

int Usage(FILE* err, const std::string& msg) {
  fprintf(err, "weir: %s\n\n%s", msg.c_str(), kExplainUsage);
  return 2;
}

bool ParseSize(const std::string& s, size_t* v) {
  uint64_t x;
  if (!absl::SimpleAtoi(s, &x) || x == 0) return false;
  *v = x;
  return true;
}

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    unsigned char u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (u < 0x20) {
      char b[8];
      snprintf(b, sizeof b, "\\u%04x", u);
      out += b;
    } else {
      out += ch;
    }
  }
  out += '"';
  return out;
}

const char* ReasonName(FailedCondition::Reason r) {
  switch (r) {
    case FailedCondition::Reason::kAbsent: return "absent";
    case FailedCondition::Reason::kNoValueMatched: return "no-value-matched";
    case FailedCondition::Reason::kPresent: return "present";
    case FailedCondition::Reason::kOtherElements: return "other-elements";
  }
  return "?";
}

std::string FoundList(const FailedCondition& f) {
  std::string s = absl::StrJoin(f.found, ", ");
  if (f.found_total > f.found.size())
    absl::StrAppend(&s, " and ", f.found_total - f.found.size(), " more");
  return s;
}

std::string TextReason(const FailedCondition& f) {
  std::string s = absl::StrCat(f.path, ": wanted ", f.wanted);
  switch (f.reason) {
    case FailedCondition::Reason::kAbsent:
      s += f.objects ? ", but it holds only an object" : ", but it is absent";
      break;
    case FailedCondition::Reason::kNoValueMatched:
    case FailedCondition::Reason::kPresent:
      absl::StrAppend(&s, ", found ", FoundList(f));
      break;
    case FailedCondition::Reason::kOtherElements:
      absl::StrAppend(&s, ", found ", FoundList(f),
                      " only in other array elements than the values matched before it");
      break;
  }
  return s;
}

void AppendText(uint64_t line, const std::vector<RuleExplanation>& rules, std::string* out) {
  size_t matched = 0;
  for (const RuleExplanation& r : rules) matched += r.matched;
  absl::StrAppend(out, "line ", line, ": ", matched, " of ", rules.size(), " rule",
                  rules.size() == 1 ? "" : "s", " matched\n");
  for (const RuleExplanation& r : rules) {
    const size_t n = r.alternatives.size();
    std::vector<size_t> held;
    for (size_t j = 0; j < n; ++j)
      if (r.alternatives[j].matched) held.push_back(j + 1);
    std::string which;
    if (n > 1 && !held.empty())
      which = absl::StrCat(held.size() == 1 ? "alternative " : "alternatives ",
                           absl::StrJoin(held, ", "), " of ", n);
    if (r.matched) {
      absl::StrAppend(out, "  ", r.id, ": matched", which.empty() ? "" : " (", which,
                      which.empty() ? "" : ")", "\n");
      continue;
    }
    if (!r.enabled) {
      absl::StrAppend(out, "  ", r.id, ": no match (the rule is disabled",
                      held.empty() ? "" : "; otherwise it would match",
                      which.empty() ? "" : ": ", which, ")\n");
      if (!held.empty()) continue;
    } else if (n == 0) {
      absl::StrAppend(out, "  ", r.id, ": no match (the rule has no condition)\n");
      continue;
    } else if (n == 1) {
      absl::StrAppend(out, "  ", r.id, ": no match: ", TextReason(*r.alternatives[0].failed),
                      "\n");
      continue;
    } else {
      absl::StrAppend(out, "  ", r.id, ": no match\n");
    }
    for (size_t j = 0; j < n; ++j) {
      if (!r.alternatives[j].failed) continue;
      absl::StrAppend(out, "    alternative ", j + 1, ": ",
                      TextReason(*r.alternatives[j].failed), "\n");
    }
  }
}

void AppendJson(uint64_t line, const std::vector<RuleExplanation>& rules, std::string* out) {
  absl::StrAppend(out, "{\"line\":", line, ",\"rules\":[");
  for (size_t i = 0; i < rules.size(); ++i) {
    const RuleExplanation& r = rules[i];
    absl::StrAppend(out, i ? "," : "", "{\"id\":", JsonString(r.id),
                    ",\"matched\":", r.matched ? "true" : "false");
    if (!r.enabled) *out += ",\"enabled\":false";
    *out += ",\"alternatives\":[";
    for (size_t j = 0; j < r.alternatives.size(); ++j) {
      const AlternativeExplanation& a = r.alternatives[j];
      absl::StrAppend(out, j ? "," : "", "{\"matched\":", a.matched ? "true" : "false");
      if (a.failed) {
        const FailedCondition& f = *a.failed;
        absl::StrAppend(out, ",\"failed\":{\"path\":", JsonString(f.path),
                        ",\"wanted\":", JsonString(f.wanted), ",\"found\":");
        if (f.reason == FailedCondition::Reason::kAbsent) {
          *out += "null";
        } else {
          absl::StrAppend(out, "[", absl::StrJoin(f.found, ","), "]");
          if (f.found_total > f.found.size())
            absl::StrAppend(out, ",\"more\":", f.found_total - f.found.size());
        }
        absl::StrAppend(out, ",\"reason\":\"", ReasonName(f.reason), "\"");
        if (f.objects) *out += ",\"objects\":true";
        *out += "}";
      }
      *out += "}";
    }
    *out += "]}";
  }
  *out += "]}\n";
}

bool Blank(std::string_view s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  return true;
}

std::string Head(const std::string& path) {
  char buf[8];
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return "";
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

void PrintDiagnostics(const std::vector<Diagnostic>& diags, FILE* err) {
  for (const Diagnostic& d : diags) fprintf(err, "%s\n", d.ToString().c_str());
  fprintf(err, "weir: %zu error%s in the rules; nothing was processed\n", diags.size(),
          diags.size() == 1 ? "" : "s");
}

// The rules of the files (or of one compiled rule file), or false after
// printing why not. Actions are not needed: ${NAME} is left unexpanded.
bool LoadDefs(const std::vector<std::string>& files, FILE* err, std::vector<RuleDef>* out) {
  LoadOptions options;
  options.expand_env = false;
  options.env = [](const std::string&) -> std::optional<std::string> { return std::string(); };
  for (const std::string& f : files) {
    if (!IsCompiledRuleFile(Head(f))) continue;
    if (files.size() > 1) {
      fprintf(err, "weir: %s is a compiled rule file; it cannot be combined with other rule files\n",
              f.c_str());
      return false;
    }
    std::ifstream in(f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    if (!in) {
      fprintf(err, "weir: cannot read %s: %s\n", f.c_str(), strerror(errno));
      return false;
    }
    auto c = ReadCompiledRules(ss.str(), options);
    if (!c.ok()) {
      fprintf(err, "weir: %s: %s\n", f.c_str(), std::string(c.status().message()).c_str());
      return false;
    }
    for (size_t i = 0; i < c->rules->size(); ++i)
      if (!c->rules->removed(i)) out->push_back(c->rules->rule(i));
    return true;
  }
  LoadResult lr = LoadRuleFiles(files, options);
  if (!lr.ok()) {
    PrintDiagnostics(lr.diagnostics, err);
    return false;
  }
  *out = std::move(lr.ruleset.rules);
  return true;
}

}  // namespace

int ExplainCommand(const std::vector<std::string>& args, FILE* out, FILE* err) {
  std::vector<std::string> rule_files, inputs, only;
  bool json = false;
  EventLimits limits;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& s = args[i];
    auto value = [&](std::string* v) {
      if (i + 1 >= args.size()) return false;
      *v = args[++i];
      return true;
    };
    std::string v;
    if (s == "-h" || s == "--help") {
      fputs(kExplainUsage, out);
      return 0;
    } else if (s == "-r" || s == "--rules") {
      if (!value(&v)) return Usage(err, "-r needs a rule file");
      rule_files.push_back(v);
    } else if (s == "--rule") {
      if (!value(&v)) return Usage(err, "--rule needs a rule id");
      only.push_back(v);
    } else if (s == "--json") {
      json = true;
    } else if (s == "--max-event-bytes") {
      if (!value(&v) || !ParseSize(v, &limits.max_event_bytes) ||
          limits.max_event_bytes > (size_t{1} << 31))
        return Usage(err, "--max-event-bytes needs a number up to 2^31");
    } else if (s == "--max-depth") {
      if (!value(&v) || !ParseSize(v, &limits.max_depth) || limits.max_depth > 4096)
        return Usage(err, "--max-depth needs a number from 1 to 4096");
    } else if (s == "-" || s.empty() || s[0] != '-') {
      inputs.push_back(s);
    } else {
      return Usage(err, absl::StrCat("unknown option ", s));
    }
  }
  if (rule_files.empty()) return Usage(err, "explain needs at least one -r RULES");
  if (inputs.size() > 1) return Usage(err, "explain reads one input (a FILE or '-')");
  const std::string in = inputs.empty() ? "-" : inputs[0];

  std::vector<RuleDef> defs;
  if (!LoadDefs(rule_files, err, &defs)) return 2;
  if (!only.empty()) {
    std::set<std::string> wanted(only.begin(), only.end());
    std::vector<RuleDef> kept;
    for (RuleDef& d : defs)
      if (wanted.erase(d.id)) kept.push_back(std::move(d));
    if (!wanted.empty()) {
      fprintf(err, "weir: no rule '%s' in the rule files\n", wanted.begin()->c_str());
      return 2;
    }
    defs = std::move(kept);
  }
  auto explainer = Explainer::Create(std::move(defs), limits);
  if (!explainer.ok()) {
    fprintf(err, "weir: cannot explain the rules: %s\n",
            std::string(explainer.status().message()).c_str());
    return 2;
  }

  int fd = 0;
  if (in != "-") {
    fd = open(in.c_str(), O_RDONLY);
    if (fd < 0) {
      fprintf(err, "weir: cannot read %s: %s\n", in.c_str(), strerror(errno));
      return 2;
    }
  }
  FdSourceOptions so;
  so.max_event_bytes = limits.max_event_bytes;
  auto source = MakeFdSource(fd, in, so);
  if (!source.ok()) {
    fprintf(err, "weir: %s: %s\n", in.c_str(), std::string(source.status().message()).c_str());
    return 2;
  }
  EventBatch batch;
  std::vector<RuleExplanation> ex;
  uint64_t lines = 0, bad = 0;
  std::string text;
  int rc = 0;
  for (;;) {
    bool got = false;
    batch.Clear();
    absl::Status st = (*source)->Next(&batch, &got);
    if (!st.ok()) {
      fprintf(err, "weir: %s: %s\n", in.c_str(), std::string(st.message()).c_str());
      rc = 2;
      break;
    }
    if (!got) break;
    text.clear();
    for (const EventBatch::Event& ref : batch.events()) {
      ++lines;
      const uint64_t number = ref.position.line;
      std::string_view line = batch.event(ref);
      if (!batch.too_long(ref) && Blank(line)) continue;
      absl::Status es =
          batch.too_long(ref)
              ? absl::InvalidArgumentError(absl::StrCat("event is ", ref.full_length,
                                                        " bytes, over the limit of ",
                                                        limits.max_event_bytes))
              : (*explainer)->Explain(line, &ex);
      if (!es.ok()) {
        ++bad;
        // Output so far first, so that messages and results stay in order
        // when both go to one terminal.
        fwrite(text.data(), 1, text.size(), out);
        text.clear();
        fflush(out);
        fprintf(err, "weir: %s:%llu: %s\n", in.c_str(), static_cast<unsigned long long>(number),
                std::string(es.message()).c_str());
        continue;
      }
      if (json) {
        AppendJson(number, ex, &text);
      } else {
        AppendText(number, ex, &text);
      }
    }
    fwrite(text.data(), 1, text.size(), out);
    fflush(out);
  }
  if (fd != 0) close(fd);
  if (bad > 0) {
    fprintf(err, "weir: %llu of %llu lines were bad and skipped\n",
            static_cast<unsigned long long>(bad), static_cast<unsigned long long>(lines));
  }
  if (rc) return rc;
  return bad > 0 ? 1 : 0;
}

}  // namespace weir::cli
