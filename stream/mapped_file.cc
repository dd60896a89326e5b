#include "stream/mapped_file.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <mutex>

namespace weir {
namespace {

// Live mappings, read by the signal handler: lock-free slots. A mapping that
// finds no free slot is not made (the caller reads the file instead).
constexpr int kSlots = 64;
struct Slot {
  std::atomic<uintptr_t> begin{0}, end{0};
  std::atomic<bool> faulted{false};
  std::atomic<bool> used{false};
};
Slot slots[kSlots];
struct sigaction previous;

void OnSigbus(int sig, siginfo_t* info, void* ctx) {
  const uintptr_t at = reinterpret_cast<uintptr_t>(info->si_addr);
  for (Slot& s : slots) {
    const uintptr_t b = s.begin.load(std::memory_order_acquire);
    const uintptr_t e = s.end.load(std::memory_order_acquire);
    if (b == 0 || at < b || at >= e) continue;
    // Past the file's new end: zero-filled pages from the faulting page on.
    // mmap is a plain system call here (not on POSIX's async-signal-safe
    // list, but it takes no locks in user space).
    const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    const uintptr_t from = at & ~(page - 1);
    void* r = mmap(reinterpret_cast<void*>(from), e - from, PROT_READ,
                   MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (r == MAP_FAILED) break;
    s.faulted.store(true, std::memory_order_release);
    return;  // the read is retried and sees zeros
  }
  // Not ours: as if this handler were not there.
  if (previous.sa_flags & SA_SIGINFO) {
    if (previous.sa_sigaction) return previous.sa_sigaction(sig, info, ctx);
  } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
    return previous.sa_handler(sig);
  }
  signal(SIGBUS, SIG_DFL);  // returning re-faults, now with the default action
}

void InstallHandler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa = {};
    sa.sa_sigaction = OnSigbus;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, &previous);
  });
}

}  // namespace

std::unique_ptr<MappedFile> MappedFile::Map(int fd, size_t size) {
  if (size == 0) return nullptr;
  int slot = -1;
  for (int i = 0; i < kSlots && slot < 0; ++i) {
    bool expected = false;
    if (slots[i].used.compare_exchange_strong(expected, true)) slot = i;
  }
  if (slot < 0) return nullptr;
  InstallHandler();
  void* p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) {
    slots[slot].used.store(false);
    return nullptr;
  }
  // Read once, front to back: the kernel reads ahead further and drops
  // pages behind.
  madvise(p, size, MADV_SEQUENTIAL);
  Slot& s = slots[slot];
  s.faulted.store(false);
  s.end.store(reinterpret_cast<uintptr_t>(p) + size, std::memory_order_release);
  s.begin.store(reinterpret_cast<uintptr_t>(p), std::memory_order_release);
  return std::unique_ptr<MappedFile>(new MappedFile(static_cast<const char*>(p), size, slot));
}

MappedFile::~MappedFile() {
  Slot& s = slots[slot_];
  s.begin.store(0, std::memory_order_release);
  s.end.store(0, std::memory_order_release);
  munmap(const_cast<char*>(data_), size_);
  s.used.store(false, std::memory_order_release);
}

bool MappedFile::truncated() const { return slots[slot_].faulted.load(std::memory_order_acquire); }

}  // namespace weir
