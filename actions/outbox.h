// The dispatcher's durable state in one SQLite database (DIR/outbox.db, WAL):
// pending deliveries, where file inputs resume, failed deliveries per target
// (deactivation policy) and deactivated targets. One connection, used under
// the caller's lock; every change is inside Begin()/Commit().
#ifndef WEIR_ACTIONS_OUTBOX_H_
#define WEIR_ACTIONS_OUTBOX_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weir/actions.h"

struct sqlite3;
struct sqlite3_stmt;

namespace weir::internal {

struct OutboxRow {
  int64_t seq = 0;
  std::string id, rule, action, event;
  int attempts = 0;  // made so far
  int64_t matched_at_ms = 0;
  int last_status = 0;
  std::string last_reason;
};

class Outbox {
 public:
  static absl::StatusOr<std::unique_ptr<Outbox>> Open(const std::string& path, SyncMode sync);
  ~Outbox();

  // Transactions nest: only the outermost Begin/Commit pair reaches SQLite
  // (the delivery thread settles many outcomes in one commit). Rollback
  // undoes the outermost transaction.
  absl::Status Begin();
  absl::Status Commit();
  void Rollback();

  absl::Status Insert(std::string_view id, std::string_view rule, std::string_view action,
                      std::string_view event, int64_t now_ms, int attempts = 0);
  absl::Status SetResume(std::string_view input, uint64_t offset, uint64_t line);
  absl::StatusOr<std::optional<ResumePoint>> GetResume(std::string_view input);
  absl::Status DeleteResume(std::string_view input);

  // Marks up to `limit` due, unclaimed rows of `action` claimed and returns
  // them in (due, seq) order.
  absl::Status Claim(std::string_view action, int64_t now_ms, int limit,
                     std::vector<OutboxRow>* out);
  // Every unclaimed row of `action`, claimed (to dead-letter them).
  absl::Status ClaimAll(std::string_view action, std::vector<OutboxRow>* out);
  absl::Status Delete(int64_t seq);
  absl::Status Reschedule(int64_t seq, int attempts, int64_t due_ms, int status,
                          std::string_view reason);
  // Claims do not outlive the process that made them.
  absl::Status UnclaimAll();
  // The earliest due time of the unclaimed rows of `action`.
  absl::StatusOr<std::optional<int64_t>> NextDue(std::string_view action);
  absl::Status PendingByAction(std::map<std::string, int64_t>* out);

  absl::Status AddFailure(std::string_view target, int64_t at_ms);
  absl::StatusOr<int64_t> CountFailures(std::string_view target, int64_t since_ms);
  absl::Status SetDeactivated(std::string_view target, bool deactivated, std::string_view reason,
                              int64_t at_ms);
  absl::Status Deactivated(std::map<std::string, std::string>* reason_by_target);

 private:
  Outbox() = default;
  absl::Status Exec(const char* sql);
  absl::Status Prepare(const char* sql, sqlite3_stmt** stmt);
  absl::Status Error(const char* what) const;

  sqlite3* db_ = nullptr;
  int depth_ = 0;
  std::string path_;
  sqlite3_stmt *begin_ = nullptr, *commit_ = nullptr, *insert_ = nullptr,
               *set_resume_ = nullptr, *get_resume_ = nullptr, *del_resume_ = nullptr,
               *claim_ = nullptr, *claim_all_ = nullptr, *delete_ = nullptr,
               *reschedule_ = nullptr, *next_due_ = nullptr, *add_failure_ = nullptr,
               *count_failures_ = nullptr, *set_deactivated_ = nullptr,
               *clear_deactivated_ = nullptr;
};

}  // namespace weir::internal

#endif  // WEIR_ACTIONS_OUTBOX_H_
