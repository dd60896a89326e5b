#include <malloc.h>

#include <cstdio>

#include "bindings/cli/commands.h"

int main(int argc, char** argv) {
  // Large blocks (the loader's trees, posting lists, batch buffers) from the
  // heap rather than a fresh mmap each: a block freed and asked for again is
  // reused instead of faulted in anew (loading 100k rules grows and drops
  // many such vectors). The process is short-lived; its peak stays the same.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 128 << 20);
  return weir::cli::Main(argc, argv, stdout, stderr);
}
