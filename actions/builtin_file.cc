// The `file` executor: appends one line per delivery to a file. Actions that
// name one file share one descriptor (and one target), so their lines never
// interleave.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "actions/builtin.h"
#include "actions/line.h"
#include "actions/settings.h"

namespace weir {
namespace {

// One open file, shared by every action that appends to it.
class SharedFile {
 public:
  explicit SharedFile(std::string path) : path_(std::move(path)) {}
  ~SharedFile() {
    if (fd_ >= 0) close(fd_);
  }

  // Appends `text` whole; the errno text on failure.
  std::string Append(std::string_view text) {
    std::lock_guard<std::mutex> lock(mu_);
    if (fd_ < 0) {
      // Opened at the first delivery, not when the rules are checked.
      fd_ = open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
      if (fd_ < 0) return absl::StrCat("cannot open ", path_, ": ", strerror(errno));
    }
    // O_APPEND puts each write at the end; the lock keeps a short write's
    // remainder next to its start.
    while (!text.empty()) {
      ssize_t n = write(fd_, text.data(), text.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return absl::StrCat("cannot write to ", path_, ": ", strerror(errno));
      }
      text.remove_prefix(static_cast<size_t>(n));
    }
    return "";
  }

 private:
  const std::string path_;
  std::mutex mu_;
  int fd_ = -1;
};

// Open files by absolute path; an entry goes when its last action goes.
std::shared_ptr<SharedFile> FileFor(const std::string& path) {
  static std::mutex* mu = new std::mutex;
  static auto* files = new std::map<std::string, std::weak_ptr<SharedFile>>;
  std::lock_guard<std::mutex> lock(*mu);
  for (auto it = files->begin(); it != files->end();) {
    it = it->second.expired() ? files->erase(it) : std::next(it);
  }
  std::shared_ptr<SharedFile> f = (*files)[path].lock();
  if (!f) {
    f = std::make_shared<SharedFile>(path);
    (*files)[path] = f;
  }
  return f;
}

class FileExecutor : public Executor {
 public:
  FileExecutor(std::string path, bool annotated, RetryPolicy retry)
      : path_(std::move(path)), annotated_(annotated), retry_(retry), file_(FileFor(path_)) {}

  void Start(const Delivery& d, std::function<void(Outcome)> done) override {
    Outcome o;
    std::string error = file_->Append(line::Format(d, annotated_));
    if (!error.empty()) {
      o.kind = Outcome::Kind::kRetry;
      o.reason = std::move(error);
    }
    done(std::move(o));
  }
  std::string target() const override { return "file:" + path_; }
  RetryPolicy retry() const override { return retry_; }

 private:
  const std::string path_;
  const bool annotated_;
  const RetryPolicy retry_;
  const std::shared_ptr<SharedFile> file_;
};

class FileFactory_ : public ExecutorFactory {
 public:
  std::unique_ptr<Executor> Create(const ActionDef& action,
                                   std::vector<Diagnostic>* diagnostics) const override {
    settings::SettingsReader r(action, diagnostics);
    const ConfigValue& s = r.root();
    r.CheckKeys(s, {"path", "format", "retry"}, "'file' settings");
    std::string path, format = "annotated";
    RetryPolicy retry;
    retry.attempts = 3;
    if (!settings::SettingsReader::Get(s, "path")) {
      r.Error(s, "'file' needs 'path' (the file to append to)");
    } else {
      r.String(s, "path", &path, /*allow_empty=*/false);
    }
    r.Enum(s, "format", {"annotated", "event"}, &format);
    r.Retry(s, &retry);
    if (!r.ok()) return nullptr;
    // Relative to the working directory when the rules are loaded.
    std::error_code ec;
    std::filesystem::path abs = std::filesystem::absolute(path, ec);
    if (!ec) path = abs.lexically_normal().string();
    return std::make_unique<FileExecutor>(std::move(path), format == "annotated", retry);
  }
};

}  // namespace

std::shared_ptr<const ExecutorFactory> FileFactory() { return std::make_shared<FileFactory_>(); }

}  // namespace weir
