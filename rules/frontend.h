// Internal interface between the rule-file reader and the dialect front ends.
// yaml-cpp stays in rules/; nothing here is public.
#ifndef WEIR_RULES_FRONTEND_H_
#define WEIR_RULES_FRONTEND_H_

#include <string>
#include <string_view>
#include <vector>

#include "weir/condition.h"
#include "weir/diagnostic.h"
#include "weir/rules.h"
#include "rules/node.h"

namespace weir {

// Collects diagnostics for one rule.
class DiagSink {
 public:
  // Keeps views of `file` and `rule_id`: they must outlive the sink (no
  // copies per rule, which shows with 100k rules).
  DiagSink(std::vector<Diagnostic>* out, std::string_view file, std::string_view rule_id)
      : out_(out), file_(file), rule_id_(rule_id) {}
  // The same, with `prefix` (kept as a view too) before each message, e.g.
  // "action 'audit-log': ".
  DiagSink(const DiagSink& base, std::string_view prefix)
      : out_(base.out_), file_(base.file_), rule_id_(base.rule_id_), prefix_(prefix) {}
  void Error(const RNode& at, std::string message);
  void Error(const NodeMark& at, std::string message);
  SourceLocation Where(const RNode& at) const;
  SourceLocation Where(const NodeMark& at) const;
  size_t count() const { return out_->size(); }

 private:
  std::vector<Diagnostic>* out_;
  std::string_view file_;
  std::string_view rule_id_;
  std::string_view prefix_;
};

// What a YAML scalar is, by YAML 1.2 core-schema rules: quoted scalars are
// strings; plain ones may be numbers, booleans or null.
enum class ScalarKind { kString, kNumber, kTrue, kFalse, kNull };
ScalarKind KindOf(const RNode& scalar_or_null);

// Field names of portal events for the `events` dialect (uri_fields:).
struct UriFields {
  std::string events = "events";
  std::string source = "source";
  std::string id = "id";
  std::string operation = "operation";
  std::string uri = "uri";
};

// Each returns false after reporting to `diags` when the condition is wrong.
bool LowerFilter(const RNode& node, DiagSink& diags, const LoadOptions& options,
                 Condition* out);
bool LowerPattern(const RNode& node, DiagSink& diags, const LoadOptions& options,
                  Condition* out);
bool LowerEvents(const RNode& node, DiagSink& diags, const UriFields& fields,
                 Condition* out);

// "a.b" must have no empty segment.
bool ValidPath(const std::string& path);

}  // namespace weir

#endif  // WEIR_RULES_FRONTEND_H_
