// `weir explain`: for each event and rule, matched or not, and why.
#ifndef WEIR_BINDINGS_CLI_EXPLAIN_H_
#define WEIR_BINDINGS_CLI_EXPLAIN_H_

#include <cstdio>
#include <string>
#include <vector>

namespace weir::cli {

// `args` are the words after `explain`. Exit status as for `weir filter`.
int ExplainCommand(const std::vector<std::string>& args, FILE* out, FILE* err);

}  // namespace weir::cli

#endif  // WEIR_BINDINGS_CLI_EXPLAIN_H_
