// actions/builtin.h (private): the built-in executor factories, collected by
// ExecutorRegistry::Builtins().
//
// Thread safety: the factories are immutable and may be shared by threads.
#ifndef WEIR_ACTIONS_BUILTIN_H_
#define WEIR_ACTIONS_BUILTIN_H_

#include <memory>

#include "weir/actions.h"

namespace weir {

std::shared_ptr<const ExecutorFactory> StdoutFactory();   // builtin_stdout.cc
std::shared_ptr<const ExecutorFactory> FileFactory();     // builtin_file.cc
std::shared_ptr<const ExecutorFactory> ExecFactory();     // builtin_exec.cc
std::shared_ptr<const ExecutorFactory> WebhookFactory();  // webhook.cc

}  // namespace weir

#endif  // WEIR_ACTIONS_BUILTIN_H_
