#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "bindings/cli/commands.h"

int main(int argc, char** argv) {
  // Large blocks (the loader's trees, posting lists, batch buffers) from the
  // heap rather than a fresh mmap each: a block freed and asked for again is
  // reused instead of faulted in anew (loading 100k rules grows and drops
  // many such vectors). The process is short-lived; its peak stays the same.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 128 << 20);
  // A closed standard stream (`>&-`) is held by /dev/null opened the wrong
  // way: writes to it fail (and are reported), and no file opened later
  // takes its number and receives what was meant for it.
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
      int got = open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY);
      if (got >= 0 && got != fd) close(got);
    }
  }
  int rc = weir::cli::Main(argc, argv, stdout, stderr);
  if (fclose(stdout) != 0 && rc != 2) {
    perror("weir: cannot write standard output");
    rc = 2;
  }
  return rc;
}
