// Typed readers over an action's settings (ConfigValue), shared by the
// built-in executors. Every mistake becomes a Diagnostic at the offending
// node's file:line:column, naming the action (and, for an inline action,
// its rule). Readers leave *out unchanged when the key is absent, so callers
// set the default first.
//
// Thread safety: a SettingsReader is used by one thread (one Create call).
#ifndef WEIR_ACTIONS_SETTINGS_H_
#define WEIR_ACTIONS_SETTINGS_H_

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "weir/actions.h"
#include "weir/diagnostic.h"
#include "weir/rule_def.h"

namespace weir::settings {

// `10s`, `500ms`, `2m`, `1h`, `1.5s`, `1m30s` (units ns, us, ms, s, m, h);
// positive and finite. nullopt otherwise.
std::optional<absl::Duration> ParseDuration(std::string_view text);

// A duration as people write it back: 30s, 500ms, 2m, 1h30m.
std::string DurationText(absl::Duration d);

class SettingsReader {
 public:
  // Appends to *diagnostics; the action must outlive the reader.
  SettingsReader(const ActionDef& action, std::vector<Diagnostic>* diagnostics);

  const ActionDef& action() const { return action_; }
  // The settings map; an empty map when the action has `type:` with no settings.
  const ConfigValue& root() const { return action_.settings; }
  // No mistake reported through this reader so far.
  bool ok() const { return errors_ == 0; }

  // "action 'NAME': MESSAGE" at `at` (the action's own position when `at`
  // has none), with the rule id of an inline action.
  void Error(const ConfigValue& at, std::string_view message);
  void Error(const SourceLocation& at, std::string_view message);

  // `map` (root() or a nested map) holds only keys from `allowed`, each once;
  // `what` names it in the message ("'exec' settings", "'retry'"). Each
  // offender is reported: unknown key 'x' in 'exec' settings (expected one
  // of: a, b). A null `map` passes. False if a key was refused or `map` is
  // neither a map nor null.
  bool CheckKeys(const ConfigValue& map, std::initializer_list<std::string_view> allowed,
                 std::string_view what);

  // The node under `key` of `map`, or nullptr (also when `map` is not a map).
  static const ConfigValue* Get(const ConfigValue& map, std::string_view key);

  // Each returns true when the key is absent or its value is good (then
  // stored in *out), false after reporting a mistake.
  // 'timeout' must be a duration such as 10s or 500ms
  bool Duration(const ConfigValue& map, std::string_view key, absl::Duration* out);
  // 'attempts' must be a positive integer (1, 2, ...); at most `max`.
  bool PositiveInt(const ConfigValue& map, std::string_view key, int* out,
                   int max = 1'000'000);
  // 'x' must be true or false
  bool Bool(const ConfigValue& map, std::string_view key, bool* out);
  // A scalar; with allow_empty = false, '' is refused ('path' must not be empty).
  bool String(const ConfigValue& map, std::string_view key, std::string* out,
              bool allow_empty = true);
  // One of `choices`: 'format' must be one of: event, annotated
  bool Enum(const ConfigValue& map, std::string_view key,
            std::initializer_list<std::string_view> choices, std::string* out);
  // A list of scalars; with allow_empty = false, [] is refused.
  bool StringList(const ConfigValue& map, std::string_view key, std::vector<std::string>* out,
                  bool allow_empty = true);
  // A map from names to scalars, in file order (headers, env). Replaces *out.
  bool StringMap(const ConfigValue& map, std::string_view key,
                 std::vector<std::pair<std::string, std::string>>* out);
  // A nested map: *out points at it (nullptr when absent or null). 'tls' must be a map
  bool Map(const ConfigValue& map, std::string_view key, const ConfigValue** out);

  // `retry: {attempts, backoff, max_backoff}` under `map`: keys checked,
  // attempts a positive integer, backoffs durations, backoff <= max_backoff.
  // *out keeps the caller's defaults for absent keys.
  bool Retry(const ConfigValue& map, RetryPolicy* out);

 private:
  const ActionDef& action_;
  std::vector<Diagnostic>* diagnostics_;
  std::string rule_id_;
  int errors_ = 0;
};

}  // namespace weir::settings

#endif  // WEIR_ACTIONS_SETTINGS_H_
