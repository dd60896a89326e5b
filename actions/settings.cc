#include "actions/settings.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace weir::settings {
namespace {

using Kind = ConfigValue::Kind;

// This Abseil's string_view is its own type, not std::string_view.
absl::string_view A(std::string_view s) { return absl::string_view(s.data(), s.size()); }

std::string Quoted(std::string_view key) { return absl::StrCat("'", A(key), "'"); }

std::string JoinSorted(std::initializer_list<std::string_view> items, bool sort) {
  std::vector<std::string> v(items.begin(), items.end());
  if (sort) std::sort(v.begin(), v.end());
  return absl::StrJoin(v, ", ");
}

}  // namespace

std::optional<absl::Duration> ParseDuration(std::string_view text) {
  // absl also reads "0", "inf" and signs; none of them is a wait or a timeout.
  if (text.empty() || !absl::ascii_isdigit(static_cast<unsigned char>(text[0]))) {
    return std::nullopt;
  }
  absl::Duration d;
  if (!absl::ParseDuration(A(text), &d)) return std::nullopt;
  if (d <= absl::ZeroDuration() || d == absl::InfiniteDuration()) return std::nullopt;
  return d;
}

std::string DurationText(absl::Duration d) { return absl::FormatDuration(d); }

SettingsReader::SettingsReader(const ActionDef& action, std::vector<Diagnostic>* diagnostics)
    : action_(action), diagnostics_(diagnostics) {
  // Inline actions are named "<rule-id>#<n>".
  if (size_t hash = action.name.rfind('#'); hash != std::string::npos) {
    rule_id_ = action.name.substr(0, hash);
  }
}

void SettingsReader::Error(const SourceLocation& at, std::string_view message) {
  ++errors_;
  Diagnostic d;
  // A null node (`stdout:` with nothing after it) may have no position.
  d.where = at.line > 0 ? at : action_.where;
  d.rule_id = rule_id_;
  d.message = absl::StrCat("action '", action_.name, "': ", A(message));
  diagnostics_->push_back(std::move(d));
}

void SettingsReader::Error(const ConfigValue& at, std::string_view message) {
  Error(at.where, message);
}

const ConfigValue* SettingsReader::Get(const ConfigValue& map, std::string_view key) {
  if (map.kind != Kind::kMap) return nullptr;
  return map.Find(key);
}

bool SettingsReader::CheckKeys(const ConfigValue& map,
                               std::initializer_list<std::string_view> allowed,
                               std::string_view what) {
  if (map.kind == Kind::kNull) return true;
  if (map.kind != Kind::kMap) {
    Error(map, absl::StrCat(A(what), " must be a map"));
    return false;
  }
  const std::string expected = JoinSorted(allowed, true);
  bool ok = true;
  std::vector<std::string_view> seen;
  for (const auto& [key, value] : map.map) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      Error(value, allowed.size() == 0
                       ? absl::StrCat("unknown key '", key, "' in ", A(what), " (it takes none)")
                       : absl::StrCat("unknown key '", key, "' in ", A(what),
                                      " (expected one of: ", expected, ")"));
      ok = false;
    } else if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      Error(value, absl::StrCat("key '", key, "' appears twice in ", A(what)));
      ok = false;
    } else {
      seen.push_back(key);
    }
  }
  return ok;
}

bool SettingsReader::Duration(const ConfigValue& map, std::string_view key,
                              absl::Duration* out) {
  const ConfigValue* v = Get(map, key);
  if (!v) return true;
  std::optional<absl::Duration> d;
  if (v->kind == Kind::kScalar) d = ParseDuration(v->scalar);
  if (!d) {
    Error(*v, absl::StrCat(Quoted(key), " must be a duration such as 10s or 500ms"));
    return false;
  }
  *out = *d;
  return true;
}

bool SettingsReader::PositiveInt(const ConfigValue& map, std::string_view key, int* out,
                                 int max) {
  const ConfigValue* v = Get(map, key);
  if (!v) return true;
  int n = 0;
  bool digits = v->kind == Kind::kScalar && !v->scalar.empty() &&
                std::all_of(v->scalar.begin(), v->scalar.end(),
                            [](unsigned char c) { return absl::ascii_isdigit(c); });
  if (!digits || !absl::SimpleAtoi(v->scalar, &n) || n < 1) {
    Error(*v, absl::StrCat(Quoted(key), " must be a positive integer (1, 2, ...)"));
    return false;
  }
  if (n > max) {
    Error(*v, absl::StrCat(Quoted(key), " must be at most ", max));
    return false;
  }
  *out = n;
  return true;
}

bool SettingsReader::Bool(const ConfigValue& map, std::string_view key, bool* out) {
  const ConfigValue* v = Get(map, key);
  if (!v) return true;
  if (v->kind == Kind::kScalar && (v->scalar == "true" || v->scalar == "false")) {
    *out = v->scalar == "true";
    return true;
  }
  Error(*v, absl::StrCat(Quoted(key), " must be true or false"));
  return false;
}

bool SettingsReader::String(const ConfigValue& map, std::string_view key, std::string* out,
                            bool allow_empty) {
  const ConfigValue* v = Get(map, key);
  if (!v) return true;
  if (v->kind != Kind::kScalar && !(v->kind == Kind::kNull && allow_empty)) {
    Error(*v, absl::StrCat(Quoted(key), " must be a string"));
    return false;
  }
  if (!allow_empty && v->scalar.empty()) {
    Error(*v, absl::StrCat(Quoted(key), " must not be empty"));
    return false;
  }
  *out = v->scalar;
  return true;
}

bool SettingsReader::Enum(const ConfigValue& map, std::string_view key,
                          std::initializer_list<std::string_view> choices, std::string* out) {
  const ConfigValue* v = Get(map, key);
  if (!v) return true;
  if (v->kind == Kind::kScalar &&
      std::find(choices.begin(), choices.end(), v->scalar) != choices.end()) {
    *out = v->scalar;
    return true;
  }
  Error(*v, absl::StrCat(Quoted(key), " must be one of: ", JoinSorted(choices, false)));
  return false;
}

bool SettingsReader::StringList(const ConfigValue& map, std::string_view key,
                                std::vector<std::string>* out, bool allow_empty) {
  const ConfigValue* v = Get(map, key);
  if (!v) return true;
  if (v->kind != Kind::kList) {
    Error(*v, absl::StrCat(Quoted(key), " must be a list of strings"));
    return false;
  }
  if (!allow_empty && v->list.empty()) {
    Error(*v, absl::StrCat(Quoted(key), " must not be empty"));
    return false;
  }
  std::vector<std::string> items;
  bool ok = true;
  for (const ConfigValue& e : v->list) {
    if (e.kind != Kind::kScalar) {
      Error(e, absl::StrCat("each item of ", Quoted(key), " must be a string"));
      ok = false;
    } else {
      items.push_back(e.scalar);
    }
  }
  if (ok) *out = std::move(items);
  return ok;
}

bool SettingsReader::StringMap(const ConfigValue& map, std::string_view key,
                               std::vector<std::pair<std::string, std::string>>* out) {
  const ConfigValue* v = Get(map, key);
  if (!v) return true;
  if (v->kind == Kind::kNull) {
    out->clear();
    return true;
  }
  if (v->kind != Kind::kMap) {
    Error(*v, absl::StrCat(Quoted(key), " must be a map from names to strings"));
    return false;
  }
  std::vector<std::pair<std::string, std::string>> items;
  bool ok = true;
  for (const auto& [k, e] : v->map) {
    if (e.kind != Kind::kScalar && e.kind != Kind::kNull) {
      Error(e, absl::StrCat("the value of '", k, "' in ", Quoted(key), " must be a string"));
      ok = false;
    } else if (std::any_of(items.begin(), items.end(), [&](const auto& p) { return p.first == k; })) {
      Error(e, absl::StrCat("key '", k, "' appears twice in ", Quoted(key)));
      ok = false;
    } else {
      items.emplace_back(k, e.scalar);
    }
  }
  if (ok) *out = std::move(items);
  return ok;
}

bool SettingsReader::Map(const ConfigValue& map, std::string_view key, const ConfigValue** out) {
  const ConfigValue* v = Get(map, key);
  *out = nullptr;
  if (!v || v->kind == Kind::kNull) return true;
  if (v->kind != Kind::kMap) {
    Error(*v, absl::StrCat(Quoted(key), " must be a map"));
    return false;
  }
  *out = v;
  return true;
}

bool SettingsReader::Retry(const ConfigValue& map, RetryPolicy* out) {
  const ConfigValue* r = nullptr;
  if (!Map(map, "retry", &r)) return false;
  if (!r) return true;
  bool ok = CheckKeys(*r, {"attempts", "backoff", "max_backoff"}, "'retry'");
  RetryPolicy p = *out;
  ok &= PositiveInt(*r, "attempts", &p.attempts, 1000);
  ok &= Duration(*r, "backoff", &p.backoff);
  ok &= Duration(*r, "max_backoff", &p.max_backoff);
  if (ok && p.backoff > p.max_backoff) {
    const ConfigValue* at = Get(*r, "backoff");
    Error(at ? *at : *r, absl::StrCat("'backoff' (", DurationText(p.backoff),
                                      ") must not exceed 'max_backoff' (",
                                      DurationText(p.max_backoff), ")"));
    ok = false;
  }
  if (ok) *out = p;
  return ok;
}

}  // namespace weir::settings
