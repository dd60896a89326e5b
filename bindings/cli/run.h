// `weir run` (filter and carry out the actions) and `weir replay` (re-send
// the dead letters). See docs/delivery.md.
#ifndef WEIR_BINDINGS_CLI_RUN_H_
#define WEIR_BINDINGS_CLI_RUN_H_

#include <cstdio>
#include <string>
#include <vector>

namespace weir::cli {

// `args` are the command's arguments (after "run" / "replay").
int Run(const std::vector<std::string>& args, FILE* out, FILE* err);
int Replay(const std::vector<std::string>& args, FILE* out, FILE* err);

}  // namespace weir::cli

#endif  // WEIR_BINDINGS_CLI_RUN_H_
