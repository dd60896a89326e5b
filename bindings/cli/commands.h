// The `weir` command line. Exit status: 0 fine, 1 some input lines were bad,
// 2 usage error or rule diagnostics.
#ifndef WEIR_BINDINGS_CLI_COMMANDS_H_
#define WEIR_BINDINGS_CLI_COMMANDS_H_

#include <cstdio>

namespace weir::cli {

int Main(int argc, char** argv, FILE* out, FILE* err);

}  // namespace weir::cli

#endif  // WEIR_BINDINGS_CLI_COMMANDS_H_
