#include "weir/open.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "weir/compiled_rules.h"

namespace weir {
namespace {

double MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

long PeakRssKb() {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return ru.ru_maxrss;  // kilobytes on Linux
}

// A rule file's bytes, read once: a regular file is mapped (a compiled rule
// file of 100k rules is tens of MB and is read in place), anything else (a
// pipe) is read to its end.
class RuleFile {
 public:
  RuleFile() = default;
  RuleFile(const RuleFile&) = delete;
  RuleFile& operator=(const RuleFile&) = delete;
  ~RuleFile() {
    if (map_) munmap(map_, map_size_);
  }
  // False, with errno set, when the file cannot be read.
  bool Read(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool ok = ReadFd(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return ok;
  }
  std::string_view view() const {
    return map_ ? std::string_view(static_cast<const char*>(map_), map_size_)
                : std::string_view(text_);
  }
  std::string TakeText() { return map_ ? std::string(view()) : std::move(text_); }

 private:
  bool ReadFd(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0) return false;
    if (S_ISREG(st.st_mode) && st.st_size > 0) {
      void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ,
                     MAP_PRIVATE | MAP_POPULATE, fd, 0);
      if (p != MAP_FAILED) {
        map_ = p;
        map_size_ = static_cast<size_t>(st.st_size);
        return true;
      }
    }
    char buf[64 << 10];
    for (;;) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return false;
      if (n == 0) return true;
      text_.append(buf, static_cast<size_t>(n));
    }
  }

  void* map_ = nullptr;
  size_t map_size_ = 0;
  std::string text_;
};

}  // namespace

absl::StatusOr<OpenedRules> OpenRules(const std::vector<std::string>& paths,
                                      const LoadOptions& options, const CompileOptions& compile) {
  OpenedRules out;
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<RuleFile>> files;
  std::vector<Diagnostic> unreadable;
  for (const std::string& p : paths) {
    auto f = std::make_unique<RuleFile>();
    if (!f->Read(p)) {
      Diagnostic d;
      d.where.file = p;
      d.message = "cannot open rule file";
      unreadable.push_back(std::move(d));
      f.reset();
    } else if (IsCompiledRuleFile(f->view().substr(0, 8))) {
      if (paths.size() > 1)
        return absl::InvalidArgumentError(absl::StrCat(
            p, " is a compiled rule file; it cannot be combined with other rule files"));
      auto c = ReadCompiledRules(f->view(), options, compile);
      if (!c.ok()) return absl::InvalidArgumentError(absl::StrCat(p, ": ", c.status().message()));
      out.diagnostics = std::move(c->diagnostics);
      if (out.ok()) out.rules = std::move(c->rules);
      out.actions = std::move(c->actions);
      out.from_compiled_file = true;
      out.timings.load_ms = MsSince(t0);
      out.timings.peak_rss_kb_after_load = PeakRssKb();
      return out;
    }
    files.push_back(std::move(f));
  }
  std::vector<RuleText> texts;
  texts.reserve(files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    if (!files[i]) continue;
    texts.push_back({paths[i], files[i]->TakeText()});
    files[i].reset();
  }
  LoadResult lr = ParseRules(texts, options);
  texts.clear();
  out.timings.load_ms = MsSince(t0);
  out.timings.peak_rss_kb_after_load = PeakRssKb();
  out.diagnostics = std::move(unreadable);
  for (Diagnostic& d : lr.diagnostics) out.diagnostics.push_back(std::move(d));
  if (!out.ok()) return out;
  out.actions = std::move(lr.ruleset.actions);
  auto t1 = std::chrono::steady_clock::now();
  auto compiled = RuleSet::Compile(std::move(lr.ruleset.rules), compile);
  out.timings.compile_ms = MsSince(t1);
  if (!compiled.ok())
    return absl::Status(compiled.status().code(),
                        absl::StrCat("cannot compile the rules: ", compiled.status().message()));
  out.rules = *std::move(compiled);
  return out;
}

}  // namespace weir
