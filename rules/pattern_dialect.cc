#include "rules/frontend.h"
namespace weir {
bool LowerPattern(const YAML::Node& node, DiagSink& diags, const LoadOptions&, Condition*) {
  diags.Error(node, "the 'pattern' dialect is not available in this build yet");
  return false;
}
}  // namespace weir
