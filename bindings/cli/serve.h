// `weir serve`: the notification service (serve/serve.h). See docs/serve.md.
#ifndef WEIR_BINDINGS_CLI_SERVE_H_
#define WEIR_BINDINGS_CLI_SERVE_H_

#include <cstdio>
#include <string>
#include <vector>

namespace weir::cli {

// `args` are the command's arguments (after "serve").
int Serve(const std::vector<std::string>& args, FILE* out, FILE* err);

}  // namespace weir::cli

#endif  // WEIR_BINDINGS_CLI_SERVE_H_
