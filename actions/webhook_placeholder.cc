// TEMPORARY PLACEHOLDER, replaced by the webhook executor (actions/webhook.cc).
// Built only while webhook.cc is absent (see CMakeLists.txt), and weak, so a
// real WebhookFactory wins if both are linked. It checks no settings and
// fails every delivery.
#include "actions/builtin.h"

namespace weir {
namespace {

class PlaceholderWebhook : public Executor {
 public:
  explicit PlaceholderWebhook(std::string action) : action_(std::move(action)) {}
  void Start(const Delivery& d, std::function<void(Outcome)> done) override {
    done(Outcome{Outcome::Kind::kFailed, 0, "this weir was built without the webhook executor",
                 std::nullopt});
  }
  std::string target() const override { return "webhook:" + action_; }

 private:
  std::string action_;
};

class PlaceholderWebhookFactory : public ExecutorFactory {
 public:
  std::unique_ptr<Executor> Create(const ActionDef& action,
                                   std::vector<Diagnostic>* diagnostics) const override {
    return std::make_unique<PlaceholderWebhook>(action.name);
  }
};

}  // namespace

__attribute__((weak)) std::shared_ptr<const ExecutorFactory> WebhookFactory() {
  return std::make_shared<PlaceholderWebhookFactory>();
}

}  // namespace weir
