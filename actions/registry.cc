#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "actions/builtin.h"
#include "weir/actions.h"

namespace weir {

ExecutorRegistry::ExecutorRegistry() = default;
ExecutorRegistry::~ExecutorRegistry() = default;
ExecutorRegistry::ExecutorRegistry(ExecutorRegistry&&) noexcept = default;
ExecutorRegistry& ExecutorRegistry::operator=(ExecutorRegistry&&) noexcept = default;

ExecutorRegistry ExecutorRegistry::Builtins() {
  ExecutorRegistry r;
  r.Register("stdout", StdoutFactory());
  r.Register("file", FileFactory());
  r.Register("exec", ExecFactory());
#ifdef WEIR_HAVE_WEBHOOK  // set by actions/CMakeLists.txt once webhook.cc is there
  r.Register("webhook", WebhookFactory());
#endif
  return r;
}

void ExecutorRegistry::Register(std::string type,
                                std::shared_ptr<const ExecutorFactory> factory) {
  factories_[std::move(type)] = std::move(factory);
}

const ExecutorFactory* ExecutorRegistry::Find(std::string_view type) const {
  auto it = factories_.find(type);
  return it == factories_.end() ? nullptr : it->second.get();
}

std::vector<std::string> ExecutorRegistry::types() const {
  std::vector<std::string> out;
  for (const auto& [type, f] : factories_) out.push_back(type);
  return out;
}

ExecutorRegistry::Executors ExecutorRegistry::CreateAll(
    const std::map<std::string, ActionDef>& actions) const {
  Executors out;
  for (const auto& [name, def] : actions) {
    // Inline actions are named "<rule-id>#<n>"; their mistakes name the rule.
    size_t hash = name.rfind('#');
    std::string rule_id = hash == std::string::npos ? "" : name.substr(0, hash);
    const ExecutorFactory* f = Find(def.type);
    if (!f) {
      out.diagnostics.push_back(
          {def.where, rule_id,
           absl::StrCat("action '", name, "': unknown executor '", def.type,
                        "' (expected one of: ", absl::StrJoin(types(), ", "), ")")});
      continue;
    }
    size_t before = out.diagnostics.size();
    std::unique_ptr<Executor> e = f->Create(def, &out.diagnostics);
    if (e) {
      out.by_action.emplace(name, std::move(e));
    } else if (out.diagnostics.size() == before) {
      out.diagnostics.push_back({def.where, rule_id,
                                 absl::StrCat("action '", name, "': the '", def.type,
                                              "' executor refused its settings")});
    }
  }
  return out;
}

}  // namespace weir
