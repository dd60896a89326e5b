#include "rules/frontend.h"
namespace weir {
bool LowerEvents(const YAML::Node& node, DiagSink& diags, const UriFields&, Condition*) {
  diags.Error(node, "the 'events' dialect is not available in this build yet");
  return false;
}
}  // namespace weir
