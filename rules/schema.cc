// The rule-file schema: top-level keys, rules, and the hand-off of each
// condition to its dialect front end.
#include "rules/schema.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/decimal.h"

namespace weir {

SourceLocation DiagSink::Where(const NodeMark& m) const {
  return {std::string(file_), m.line >= 0 ? m.line + 1 : 0, m.column >= 0 ? m.column + 1 : 0};
}
SourceLocation DiagSink::Where(const RNode& at) const { return Where(at.Mark()); }

namespace {
Diagnostic MakeDiag(SourceLocation where, std::string rule_id, std::string message) {
  Diagnostic d;
  d.where = std::move(where);
  d.rule_id = std::move(rule_id);
  d.message = std::move(message);
  return d;
}

const std::string kEmpty;
}  // namespace

void DiagSink::Error(const RNode& at, std::string message) { Error(at.Mark(), std::move(message)); }
void DiagSink::Error(const NodeMark& m, std::string message) {
  if (!prefix_.empty()) message.insert(0, prefix_);
  out_->push_back(MakeDiag(Where(m), std::string(rule_id_), std::move(message)));
}

ScalarKind KindOf(const RNode& n) {
  if (n.IsNull()) return ScalarKind::kNull;
  if (n.Quoted()) return ScalarKind::kString;
  const std::string& s = n.Scalar();
  if (s == "true" || s == "True" || s == "TRUE") return ScalarKind::kTrue;
  if (s == "false" || s == "False" || s == "FALSE") return ScalarKind::kFalse;
  if (s == "null" || s == "Null" || s == "NULL" || s == "~") return ScalarKind::kNull;
  // YAML 1.2 core schema: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
  std::string storage;
  DecimalView d;
  if (!s.empty() && s.find_first_not_of("+-.0123456789eE") == std::string::npos &&
      ParseRuleNumber(s, &storage, &d))
    return ScalarKind::kNumber;
  return ScalarKind::kString;
}

bool ValidPath(const std::string& path) {
  if (path.empty() || path.front() == '.' || path.back() == '.') return false;
  return path.find("..") == std::string::npos;
}

// (std::regex is far too slow for 100k rules)
bool ValidId(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool CheckKeys(const RNode& node, absl::Span<const std::string_view> allowed, const char* what,
               DiagSink& diags) {
  bool ok = true;
  // Short lists, looked up once a key per rule: a linear search beats a set
  // of strings (it was a twentieth of loading 100k JSON rules).
  std::string_view seen[16];
  size_t n_seen = 0;
  for (const auto& kv : node) {
    const std::string& k = kv.first.IsScalar() ? kv.first.Scalar() : kEmpty;
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      std::vector<std::string> sorted(allowed.begin(), allowed.end());
      std::sort(sorted.begin(), sorted.end());
      diags.Error(kv.first, absl::StrCat("unknown key '", k, "' in ", what,
                                         " (expected one of: ", absl::StrJoin(sorted, ", "), ")"));
      ok = false;
    } else if (std::find(seen, seen + n_seen, k) != seen + n_seen) {
      diags.Error(kv.first, absl::StrCat("key '", k, "' appears twice in ", what));
      ok = false;
    } else if (n_seen < std::size(seen)) {  // allowed keys are fewer than 16
      seen[n_seen++] = k;
    }
  }
  return ok;
}

RuleFileSchema::RuleFileSchema(const LoadOptions& o) : opts_(o), action_schema_(opts_) {
  if (!opts_.env) {
    opts_.env = [](const std::string& name) -> std::optional<std::string> {
      const char* v = std::getenv(name.c_str());
      if (!v) return std::nullopt;
      return std::string(v);
    };
  }
}

void RuleFileSchema::ReadDocument(const std::string& file, const RNode& root) {
  DiagSink top(&result_.diagnostics, file, "");
  if (root.IsNull()) {
    top.Error(NodeMark{}, "the rule file is empty");
    return;
  }
  FileSettings settings;
  settings.json = root.IsMap() && root.size() > 0 && root.begin()->first.Quoted();
  if (!ReadTop(file, root, &settings)) return;
  auto rules = root["rules"];
  if (!rules) {
    top.Error(root, "the rule file has no 'rules:' list");
    return;
  }
  if (!rules.IsSequence()) {
    top.Error(rules, "'rules' must be a list");
    return;
  }
  Reserve(rules.size());
  for (const auto& r : rules) ReadRule(file, r, settings);
}

void RuleFileSchema::Reserve(size_t n) {
  if (!encoded_) result_.ruleset.rules.reserve(result_.ruleset.rules.size() + n);
  ids_.reserve(ids_.size() + n);
}

bool RuleFileSchema::ReadTop(const std::string& file, const RNode& root,
                             FileSettings* settings) {
  DiagSink top(&result_.diagnostics, file, "");
  if (!root.IsMap()) {
    top.Error(root, "a rule file must be a map with a 'rules:' list");
    return false;
  }
  CheckKeys(root, {"version", "rules", "actions", "uri_fields", "sources"}, "the rule file", top);
  if (auto v = root["version"]; v && !(v.IsScalar() && v.Scalar() == "1"))
    top.Error(v, "unsupported rule file version (this weir reads version 1)");
  if (auto u = root["uri_fields"]) ReadUriFields(u, top, &settings->uri_fields);
  if (auto src = root["sources"]) ReadSources(src, top);
  // Actions first, so rules can name actions defined further down the file.
  if (auto a = root["actions"]) {
    if (!a.IsMap()) {
      top.Error(a, "'actions' must be a map from action name to settings");
    } else {
      for (const auto& kv : a) {
        std::string name = kv.first.Scalar();
        if (!ValidId(name)) {
          top.Error(kv.first, absl::StrCat("bad action name '", name, "'"));
          continue;
        }
        if (!actions_.insert(name).second) {
          top.Error(kv.first, absl::StrCat("action '", name, "' is defined twice"));
          continue;
        }
        if (trial_) trial_->actions_added.push_back(name);
        ActionDef def;
        if (action_schema_.Read(kv.second, name, top, &def)) AddAction(name, std::move(def));
      }
    }
  }
  return true;
}

void RuleFileSchema::Error(SourceLocation where, std::string message) {
  result_.diagnostics.push_back(MakeDiag(std::move(where), "", std::move(message)));
}

void RuleFileSchema::BeginTrial() {
  trial_ = Trial{rule_limit_reported_,
                 result_.ruleset.rules.size(),
                 result_.diagnostics.size(),
                 pending_refs_.size(),
                 encoded_ ? encoded_->Here() : EncodedRules::Mark{},
                 RuleCount(),
                 uses_stdout_,
                 {},
                 {}};
}

bool RuleFileSchema::EndTrial(bool read_ok) {
  Trial t = std::move(*trial_);
  trial_.reset();
  if (read_ok && result_.diagnostics.size() == t.diagnostics) return true;
  rule_limit_reported_ = t.limit_reported;
  result_.ruleset.rules.resize(t.rules);
  if (encoded_) encoded_->Rewind(t.encoded);
  result_.diagnostics.resize(t.diagnostics);
  pending_refs_.resize(t.refs);
  uses_stdout_ = t.uses_stdout;
  // Ids of the rules undone (one pass over all ids, but only when a fast
  // reader gave up: a list of the ids added would cost as much as the map).
  absl::erase_if(ids_, [&](const auto& kv) { return kv.second.rule >= t.rules_read; });
  for (const std::string& name : t.sources_added) result_.sources.erase(name);
  for (const std::string& name : t.actions_added) {
    actions_.erase(name);
    result_.ruleset.actions.erase(name);
  }
  return false;
}

void RuleFileSchema::AddAction(const std::string& name, ActionDef def) {
  if (result_.ruleset.actions.emplace(name, std::move(def)).second && trial_)
    trial_->actions_added.push_back(name);
}

uint32_t RuleFileSchema::FileNumber(const std::string& file) {
  // Rules come in runs of one file: only the last is compared.
  if (files_.empty() || files_.back() != file) files_.push_back(file);
  return static_cast<uint32_t>(files_.size() - 1);
}

uint32_t RuleFileSchema::PendingName(const std::string& name) {
  auto [it, added] =
      pending_name_index_.try_emplace(name, static_cast<uint32_t>(pending_names_.size()));
  if (added) pending_names_.push_back(name);
  return it->second;
}

std::unique_ptr<RuleFileSchema> RuleFileSchema::Fork(EncodedRules* rules) {
  if (!env_serialised_) {
    auto mu = std::make_shared<std::mutex>();
    opts_.env = [mu, env = std::move(opts_.env)](const std::string& name) {
      std::lock_guard<std::mutex> lock(*mu);
      return env(name);
    };
    env_serialised_ = true;
  }
  auto part = std::make_unique<RuleFileSchema>(opts_);
  part->env_serialised_ = true;
  if (encoded_) {
    *rules = encoded_->Seeded();
    part->EncodeInto(rules);
  }
  // Names defined so far settle references there as here; the others wait
  // for Finish() here, as they would have.
  part->actions_ = actions_;
  for (const auto& [name, def] : result_.ruleset.actions) part->actions_.insert(name);
  return part;
}

bool RuleFileSchema::Join(RuleFileSchema& part, EncodedRules&& part_rules) {
  if (!part.result_.diagnostics.empty() || part.rule_limit_reported_) return false;
  const size_t base = RuleCount();
  if (base + part.RuleCount() > opts_.max_rules) return false;
  // The part's few file names numbered here once, not once for each id.
  std::vector<uint32_t> file_numbers;
  file_numbers.reserve(part.files_.size());
  for (const std::string& f : part.files_) file_numbers.push_back(FileNumber(f));
  // Ids move over (node by node: no copy of the string, no allocation).
  for (auto it = part.ids_.begin(); it != part.ids_.end();) {
    auto node = part.ids_.extract(it++);
    node.mapped().rule += static_cast<uint32_t>(base);
    node.mapped().file = file_numbers[node.mapped().file];
    // (Undone with the trial, as the rules' own: their numbers are past it.)
    if (!ids_.insert(std::move(node)).inserted) return false;
  }
  for (PendingRef ref : part.pending_refs_) {
    ref.name = PendingName(part.pending_names_[ref.name]);
    ref.rule += static_cast<uint32_t>(base);
    ref.file = FileNumber(part.files_[ref.file]);
    pending_refs_.push_back(ref);
  }
  uses_stdout_ = uses_stdout_ || part.uses_stdout_;
  // The part's inline actions (it started with none).
  for (auto& [name, def] : part.result_.ruleset.actions) AddAction(name, std::move(def));
  if (encoded_) {
    encoded_->Append(std::move(part_rules));
  } else {
    for (RuleDef& rule : part.result_.ruleset.rules)
      result_.ruleset.rules.push_back(std::move(rule));
  }
  return true;
}

LoadResult RuleFileSchema::Finish() {
  // Names of actions are checked once every file is read.
  std::vector<const PendingRef*> unknown;
  for (const PendingRef& ref : pending_refs_) {
    const std::string& name = pending_names_[ref.name];
    if (!result_.ruleset.actions.count(name) && !actions_.count(name)) unknown.push_back(&ref);
  }
  if (!unknown.empty()) {
    // The ids of the rules that name them (held encoded: one pass).
    absl::flat_hash_map<uint32_t, std::string> ids;
    for (const PendingRef* ref : unknown) ids[ref->rule];
    if (encoded_) {
      RuleDef rule;
      EncodedRules::Cursor cursor(*encoded_);
      for (uint32_t i = 0; cursor.Next(&rule); ++i)
        if (auto it = ids.find(i); it != ids.end()) it->second = rule.id;
    } else {
      for (auto& [i, id] : ids)
        if (i < result_.ruleset.rules.size()) id = result_.ruleset.rules[i].id;
    }
    for (const PendingRef* ref : unknown) {
      SourceLocation where{files_[ref->file], ref->line, ref->column};
      result_.diagnostics.push_back(
          MakeDiag(std::move(where), ids[ref->rule],
                   absl::StrCat("unknown action '", pending_names_[ref->name], "'")));
    }
  }
  // (Inline actions are named "<rule-id>#<n>", never "stdout".)
  if (uses_stdout_ && !result_.ruleset.actions.count("stdout")) {
    ActionDef def;
    def.name = "stdout";
    def.type = "stdout";
    result_.ruleset.actions.emplace("stdout", std::move(def));
  }
  return std::move(result_);
}

// `sources:` name -> {signature, secret, tolerance}: systems that post
// signed webhooks to `weir serve` (POST /hooks/NAME).
void RuleFileSchema::ReadSources(const RNode& n, DiagSink& d) {
  static const std::set<std::string> kSchemes = {"standard", "github",        "uipath",
                                                 "arcgis",   "secret-header", "none"};
  if (!n.IsMap()) {
    d.Error(n, "'sources' must be a map from source name to {signature, secret}");
    return;
  }
  for (const auto& kv : n) {
    std::string name = kv.first.Scalar();
    if (!ValidId(name)) {
      d.Error(kv.first, absl::StrCat("bad source name '", name, "'"));
      continue;
    }
    if (result_.sources.count(name)) {
      d.Error(kv.first, absl::StrCat("source '", name, "' is defined twice"));
      continue;
    }
    const RNode& s = kv.second;
    if (!s.IsMap()) {
      d.Error(s, absl::StrCat("source '", name, "' must be a map with 'signature' and 'secret'"));
      continue;
    }
    size_t before = d.count();
    CheckKeys(s, {"signature", "secret", "tolerance"}, "a source", d);
    SourceDef def;
    def.name = name;
    def.where = d.Where(s);
    if (auto sig = s["signature"]) {
      if (!sig.IsScalar() || !kSchemes.count(sig.Scalar()))
        d.Error(sig, absl::StrCat("source '", name,
                                  "': signature must be standard, github, uipath, arcgis, "
                                  "secret-header or none"));
      else
        def.signature = sig.Scalar();
    } else {
      d.Error(s, absl::StrCat("source '", name, "' needs a 'signature'"));
    }
    if (auto sec = s["secret"]) {
      if (!sec.IsScalar())
        d.Error(sec, absl::StrCat("source '", name, "': secret must be a string"));
      else
        action_schema_.Expand(sec, sec.Scalar(), d, &def.secret);
    } else if (def.signature != "none") {
      d.Error(s, absl::StrCat("source '", name, "' needs a 'secret'"));
    }
    if (auto t = s["tolerance"]) {
      int64_t secs = 0;
      std::string v = t.IsScalar() ? t.Scalar() : "";
      if (!v.empty() && v.back() == 's') v.pop_back();
      if (!absl::SimpleAtoi(v, &secs) || secs <= 0)
        d.Error(t, absl::StrCat("source '", name, "': tolerance must be seconds, e.g. 300s"));
      else
        def.tolerance_seconds = secs;
    }
    if (d.count() == before) {
      if (trial_) trial_->sources_added.push_back(name);
      result_.sources.emplace(name, std::move(def));
    }
  }
}

void RuleFileSchema::ReadUriFields(const RNode& u, DiagSink& d, UriFields* f) {
  if (!u.IsMap()) {
    d.Error(u, "'uri_fields' must be a map");
    return;
  }
  if (!CheckKeys(u, {"events", "source", "id", "operation", "uri"}, "uri_fields", d)) return;
  for (const auto& kv : u) {
    if (!kv.second.IsScalar() || !ValidPath(kv.second.Scalar())) {
      d.Error(kv.second, "a uri_fields value must be a property path");
      continue;
    }
    const std::string& k = kv.first.Scalar();
    std::string* slot = k == "events"      ? &f->events
                        : k == "source"    ? &f->source
                        : k == "id"        ? &f->id
                        : k == "operation" ? &f->operation
                                           : &f->uri;
    *slot = kv.second.Scalar();
  }
}

void RuleFileSchema::ReadRule(const std::string& file, const RNode& r,
                              const FileSettings& settings) {
  DiagSink anon(&result_.diagnostics, file, "");
  if (!r.IsMap()) {
    anon.Error(r, "each rule must be a map with 'id' and a condition");
    return;
  }
  if (RuleCount() >= opts_.max_rules) {
    if (!rule_limit_reported_)
      anon.Error(r, absl::StrCat("more than ", opts_.max_rules, " rules"));
    rule_limit_reported_ = true;
    return;
  }
  RuleDef fresh;
  RuleDef& rule = encoded_ ? scratch_rule_ : fresh;
  if (encoded_) {
    rule.id.clear();
    rule.description.clear();
    rule.enabled = true;
    rule.dialect.clear();
    rule.condition.any_of.clear();
    rule.actions.clear();
  }
  // The rule's keys in one pass (the first of a repeated key, as r[key]
  // gives); CheckKeys reports the odd ones, and runs only when there are.
  static constexpr std::string_view kRuleKeys[] = {"id",     "description", "enabled", "filter",
                                                   "events", "pattern",     "actions"};
  enum { kId, kDescription, kEnabled, kFilter, kEvents, kPattern, kActions, kKeys };
  RNode found[kKeys];
  bool odd_keys = false;
  for (const auto& kv : r) {
    const std::string_view k = kv.first.IsScalar() ? std::string_view(kv.first.Scalar()) : "";
    const size_t i = static_cast<size_t>(std::find(kRuleKeys, kRuleKeys + kKeys, k) - kRuleKeys);
    if (i == kKeys || found[i]) {
      odd_keys = true;
      continue;
    }
    found[i] = kv.second;
  }
  const RNode& id = found[kId];
  if (!id) {
    anon.Error(r, "rule has no 'id'");
  } else if (!id.IsScalar() ||
             (settings.json && !id.Quoted() && KindOf(id) != ScalarKind::kString)) {
    // YAML has no types for a plain 12 to be anything but text; JSON does.
    const char* what = id.IsNull()       ? "null"
                       : id.IsSequence() ? "a list"
                       : id.IsMap()      ? "a map"
                       : KindOf(id) == ScalarKind::kNumber ? "a number"
                                                            : "a boolean";
    std::string hint;
    if (id.IsScalar() && ValidId(id.Scalar()))
      hint = absl::StrCat(" (quote it: \"", id.Scalar(), "\")");
    anon.Error(id, absl::StrCat("a rule id must be a string of letters, digits and _ . : -, not ",
                                what, hint));
  } else if (!ValidId(id.Scalar())) {
    anon.Error(id, absl::StrCat("bad rule id '", id.Scalar(),
                                "': use letters, digits and _ . : -"));
  } else {
    rule.id = id.Scalar();
  }
  DiagSink d(&result_.diagnostics, file, rule.id);
  const NodeMark mark = r.Mark();
  rule.where.file.assign(file);
  rule.where.line = mark.line >= 0 ? mark.line + 1 : 0;  // as DiagSink::Where
  rule.where.column = mark.column >= 0 ? mark.column + 1 : 0;
  if (odd_keys) CheckKeys(r, kRuleKeys, "a rule", d);
  if (!rule.id.empty()) {
    auto [it, inserted] =
        ids_.emplace(rule.id, FirstAt{static_cast<uint32_t>(RuleCount()),
                                      FileNumber(rule.where.file), rule.where.line,
                                      rule.where.column});
    if (!inserted) {
      const FirstAt& first = it->second;
      const std::string& file = files_[first.file];
      d.Error(id, first.line > 0 ? absl::StrCat("duplicate rule id (first defined at ", file, ":",
                                                first.line, ":", first.column, ")")
                                 : absl::StrCat("duplicate rule id (first defined in ", file, ")"));
    }
  }
  if (const RNode& v = found[kDescription]) {
    if (!v.IsScalar()) d.Error(v, "'description' must be a string");
    else rule.description = v.Scalar();
  }
  if (const RNode& v = found[kEnabled]) {
    ScalarKind k = v.IsScalar() ? KindOf(v) : ScalarKind::kString;
    if (k == ScalarKind::kTrue) rule.enabled = true;
    else if (k == ScalarKind::kFalse) rule.enabled = false;
    else d.Error(v, "'enabled' must be true or false");
  }
  int dialects = 0;
  for (int k : {kFilter, kEvents, kPattern}) {
    const std::string_view dialect = kRuleKeys[k];
    const RNode& c = found[k];
    if (!c) continue;
    if (++dialects > 1) {
      d.Error(c, "a rule has exactly one of 'filter', 'events', 'pattern'");
      continue;
    }
    rule.dialect = dialect;
    const std::string_view name = dialect;
    if (name == "filter") LowerFilter(c, d, opts_, &rule.condition);
    else if (name == "pattern") LowerPattern(c, d, opts_, &rule.condition);
    else LowerEvents(c, d, settings.uri_fields, &rule.condition);
    if (rule.condition.any_of.size() > opts_.max_conjunctions_per_rule) {
      d.Error(c, absl::StrCat("the condition expands to ", rule.condition.any_of.size(),
                              " alternatives; the limit is ", opts_.max_conjunctions_per_rule));
    }
  }
  if (dialects == 0)
    d.Error(r, "rule has no condition: give one of 'filter', 'events', 'pattern'");
  if (found[kActions]) ReadRuleActions(found[kActions], d, &rule);
  if (encoded_)
    encoded_->Add(rule);
  else
    result_.ruleset.rules.push_back(std::move(rule));
}

void RuleFileSchema::ReadRuleActions(const RNode& a, DiagSink& d, RuleDef* rule) {
  if (!a.IsSequence()) {
    d.Error(a, "'actions' must be a list of action names or inline actions");
    return;
  }
  int n = 0;
  for (const auto& e : a) {
    ++n;
    if (e.IsScalar()) {
      // A name defined already is settled now (the JSON and yaml-cpp
      // readers give a file's actions before its rules; libyaml's
      // streaming reader gives them after). Only the others wait for
      // Finish(), in 20 bytes each.
      const std::string& name = e.Scalar();
      if (name == "stdout") {
        uses_stdout_ = true;
      } else if (!result_.ruleset.actions.count(name) && !actions_.count(name)) {
        SourceLocation where = d.Where(e);
        PendingRef ref;
        ref.name = PendingName(name);
        ref.rule = static_cast<uint32_t>(RuleCount());
        ref.file = FileNumber(where.file);
        ref.line = where.line;
        ref.column = where.column;
        pending_refs_.push_back(ref);
      }
      rule->actions.push_back(e.Scalar());
    } else if (e.IsMap()) {
      std::string name = absl::StrCat(rule->id, "#", n);
      ActionDef def;
      if (action_schema_.Read(e, name, d, &def)) {
        rule->actions.push_back(name);
        AddAction(name, std::move(def));
      }
    } else {
      d.Error(e, "an action is a name or a map such as {webhook: {url: ...}}");
    }
  }
}

}  // namespace weir
