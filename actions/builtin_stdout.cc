// The `stdout` executor: each delivery is one line on standard output.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "actions/builtin.h"
#include "actions/line.h"
#include "actions/settings.h"

namespace weir {
namespace {

// Every stdout action writes through this lock, so lines never interleave.
std::mutex& StdoutMutex() {
  static std::mutex* m = new std::mutex;
  return *m;
}

class StdoutExecutor : public Executor {
 public:
  explicit StdoutExecutor(bool annotated) : annotated_(annotated) {}

  void Start(const Delivery& d, std::function<void(Outcome)> done) override {
    std::string text = line::Format(d, annotated_);
    Outcome o;
    {
      std::lock_guard<std::mutex> lock(StdoutMutex());
      // Flushed per delivery: a reader of a pipe sees each action as it happens.
      if (fwrite(text.data(), 1, text.size(), stdout) != text.size() || fflush(stdout) != 0) {
        o.kind = Outcome::Kind::kRetry;
        o.reason = absl::StrCat("cannot write to standard output: ", strerror(errno));
        clearerr(stdout);
      }
    }
    done(std::move(o));
  }
  std::string target() const override { return "stdout"; }

 private:
  const bool annotated_;
};

class StdoutFactory_ : public ExecutorFactory {
 public:
  std::unique_ptr<Executor> Create(const ActionDef& action,
                                   std::vector<Diagnostic>* diagnostics) const override {
    settings::SettingsReader r(action, diagnostics);
    r.CheckKeys(r.root(), {"format"}, "'stdout' settings");
    std::string format = "event";
    r.Enum(r.root(), "format", {"event", "annotated"}, &format);
    if (!r.ok()) return nullptr;
    return std::make_unique<StdoutExecutor>(format == "annotated");
  }
};

}  // namespace

std::shared_ptr<const ExecutorFactory> StdoutFactory() {
  return std::make_shared<StdoutFactory_>();
}

}  // namespace weir
