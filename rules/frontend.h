// Internal interface between the rule-file reader and the dialect front ends.
// yaml-cpp stays in rules/; nothing here is public.
#ifndef WEIR_RULES_FRONTEND_H_
#define WEIR_RULES_FRONTEND_H_

#include <string>
#include <vector>

#include "weir/condition.h"
#include "weir/diagnostic.h"
#include "weir/rules.h"
#include "yaml-cpp/yaml.h"

namespace weir {

// Collects diagnostics for one rule.
class DiagSink {
 public:
  DiagSink(std::vector<Diagnostic>* out, std::string file, std::string rule_id)
      : out_(out), file_(std::move(file)), rule_id_(std::move(rule_id)) {}
  void Error(const YAML::Node& at, std::string message);
  void Error(const YAML::Mark& at, std::string message);
  SourceLocation Where(const YAML::Node& at) const;
  const std::string& file() const { return file_; }
  size_t count() const { return out_->size(); }

 private:
  std::vector<Diagnostic>* out_;
  std::string file_;
  std::string rule_id_;
};

// What a YAML scalar is, by YAML 1.2 core-schema rules: quoted scalars are
// strings; plain ones may be numbers, booleans or null.
enum class ScalarKind { kString, kNumber, kTrue, kFalse, kNull };
ScalarKind KindOf(const YAML::Node& scalar_or_null);

// Field names of portal events for the `events` dialect (uri_fields:).
struct UriFields {
  std::string events = "events";
  std::string source = "source";
  std::string id = "id";
  std::string operation = "operation";
  std::string uri = "uri";
};

// Each returns false after reporting to `diags` when the condition is wrong.
bool LowerFilter(const YAML::Node& node, DiagSink& diags, const LoadOptions& options,
                 Condition* out);
bool LowerPattern(const YAML::Node& node, DiagSink& diags, const LoadOptions& options,
                  Condition* out);
bool LowerEvents(const YAML::Node& node, DiagSink& diags, const UriFields& fields,
                 Condition* out);

// "a.b" must have no empty segment.
bool ValidPath(const std::string& path);

}  // namespace weir

#endif  // WEIR_RULES_FRONTEND_H_
