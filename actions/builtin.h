// actions/builtin.h (private): the built-in executor factories, collected by
// ExecutorRegistry::Builtins().
//
// Thread safety: the factories are immutable and may be shared by threads.
#ifndef WEIR_ACTIONS_BUILTIN_H_
#define WEIR_ACTIONS_BUILTIN_H_

#include <memory>

#include "weir/actions.h"

namespace weir {

// `webhook`: HTTP POST with signatures, retries classified (actions/webhook.cc).
std::shared_ptr<const ExecutorFactory> WebhookFactory();

}  // namespace weir

#endif  // WEIR_ACTIONS_BUILTIN_H_
