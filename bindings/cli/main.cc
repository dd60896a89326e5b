#include <cstdio>

#include "bindings/cli/commands.h"

int main(int argc, char** argv) { return weir::cli::Main(argc, argv, stdout, stderr); }
