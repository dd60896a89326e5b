#include "actions/outbox.h"

#include <sqlite3.h>

#include "absl/strings/str_cat.h"

namespace weir::internal {
namespace {

// Statements are reset on every exit path, so a failed step never leaves one
// holding a read transaction open.
class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  ~Stmt() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Stmt& Text(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  Stmt& Blob(int i, std::string_view v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  Stmt& Int(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  int Step() { return sqlite3_step(s_); }
  int64_t ColInt(int i) { return sqlite3_column_int64(s_, i); }
  bool ColNull(int i) { return sqlite3_column_type(s_, i) == SQLITE_NULL; }
  std::string ColText(int i) {
    const void* p = sqlite3_column_blob(s_, i);
    int n = sqlite3_column_bytes(s_, i);
    return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
  }

 private:
  sqlite3_stmt* s_;
};

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS outbox(
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  rule TEXT NOT NULL,
  action TEXT NOT NULL,
  event BLOB NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  due INTEGER NOT NULL,
  matched_at INTEGER NOT NULL,
  claimed INTEGER NOT NULL DEFAULT 0,
  last_status INTEGER NOT NULL DEFAULT 0,
  last_reason TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(action, claimed, due);
CREATE TABLE IF NOT EXISTS inputs(name TEXT PRIMARY KEY, offset INTEGER NOT NULL, line INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS failures(target TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS failures_target ON failures(target, at);
CREATE TABLE IF NOT EXISTS deactivated(target TEXT PRIMARY KEY, reason TEXT NOT NULL, at INTEGER NOT NULL);
)sql";

constexpr char kRowColumns[] = "seq, id, rule, action, event, attempts, matched_at, last_status, last_reason";

void ReadRow(Stmt& s, OutboxRow* r) {
  r->seq = s.ColInt(0);
  r->id = s.ColText(1);
  r->rule = s.ColText(2);
  r->action = s.ColText(3);
  r->event = s.ColText(4);
  r->attempts = static_cast<int>(s.ColInt(5));
  r->matched_at_ms = s.ColInt(6);
  r->last_status = static_cast<int>(s.ColInt(7));
  r->last_reason = s.ColText(8);
}

}  // namespace

absl::Status Outbox::Error(const char* what) const {
  return absl::InternalError(absl::StrCat(path_, ": ", what, ": ", sqlite3_errmsg(db_)));
}

absl::Status Outbox::Exec(const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string m = msg ? msg : "error";
    sqlite3_free(msg);
    return absl::InternalError(absl::StrCat(path_, ": ", m));
  }
  return absl::OkStatus();
}

absl::Status Outbox::Prepare(const char* sql, sqlite3_stmt** stmt) {
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, nullptr) != SQLITE_OK)
    return Error("cannot prepare a statement");
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Outbox>> Outbox::Open(const std::string& path, SyncMode sync) {
  std::unique_ptr<Outbox> o(new Outbox());
  o->path_ = path;
  if (sqlite3_open_v2(path.c_str(), &o->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK)
    return o->Error("cannot open the outbox");
  sqlite3_busy_timeout(o->db_, 5000);
  // WAL: a committed transaction is in the log before Commit returns, so it
  // survives kill -9 with synchronous=NORMAL; FULL also fsyncs each commit.
  if (auto st = o->Exec("PRAGMA journal_mode=WAL"); !st.ok()) return st;
  if (auto st = o->Exec(sync == SyncMode::kFull ? "PRAGMA synchronous=FULL"
                                                 : "PRAGMA synchronous=NORMAL");
      !st.ok())
    return st;
  if (auto st = o->Exec(kSchema); !st.ok()) return st;
  struct {
    sqlite3_stmt** stmt;
    std::string sql;
  } stmts[] = {
      {&o->begin_, "BEGIN IMMEDIATE"},
      {&o->commit_, "COMMIT"},
      {&o->insert_,
       "INSERT INTO outbox(id, rule, action, event, attempts, due, matched_at) "
       "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?6)"},
      {&o->set_resume_, "INSERT OR REPLACE INTO inputs(name, offset, line) VALUES(?1, ?2, ?3)"},
      {&o->get_resume_, "SELECT offset, line FROM inputs WHERE name = ?1"},
      {&o->del_resume_, "DELETE FROM inputs WHERE name = ?1"},
      {&o->claim_,
       absl::StrCat("UPDATE outbox SET claimed = 1 WHERE seq IN (SELECT seq FROM outbox "
                    "WHERE action = ?1 AND claimed = 0 AND due <= ?2 ORDER BY due, seq LIMIT ?3) "
                    "RETURNING ",
                    kRowColumns, ", due")},
      {&o->claim_all_, absl::StrCat("UPDATE outbox SET claimed = 1 WHERE action = ?1 AND "
                                    "claimed = 0 RETURNING ",
                                    kRowColumns)},
      {&o->delete_, "DELETE FROM outbox WHERE seq = ?1"},
      {&o->reschedule_,
       "UPDATE outbox SET attempts = ?2, due = ?3, last_status = ?4, last_reason = ?5, "
       "claimed = 0 WHERE seq = ?1"},
      {&o->next_due_, "SELECT min(due) FROM outbox WHERE action = ?1 AND claimed = 0"},
      {&o->add_failure_, "INSERT INTO failures(target, at) VALUES(?1, ?2)"},
      {&o->count_failures_, "SELECT count(*) FROM failures WHERE target = ?1 AND at >= ?2"},
      {&o->set_deactivated_,
       "INSERT OR REPLACE INTO deactivated(target, reason, at) VALUES(?1, ?2, ?3)"},
      {&o->clear_deactivated_, "DELETE FROM deactivated WHERE target = ?1"},
  };
  for (auto& s : stmts)
    if (auto st = o->Prepare(s.sql.c_str(), s.stmt); !st.ok()) return st;
  return o;
}

Outbox::~Outbox() {
  for (sqlite3_stmt* s : {begin_, commit_, insert_, set_resume_, get_resume_, del_resume_, claim_,
                          claim_all_, delete_, reschedule_, next_due_, add_failure_,
                          count_failures_, set_deactivated_, clear_deactivated_})
    sqlite3_finalize(s);
  sqlite3_close(db_);
}

absl::Status Outbox::Begin() {
  if (depth_++ > 0) return absl::OkStatus();
  Stmt s(begin_);
  if (s.Step() == SQLITE_DONE) return absl::OkStatus();
  depth_ = 0;
  return Error("cannot begin a transaction");
}

absl::Status Outbox::Commit() {
  if (depth_ == 0 || --depth_ > 0) return absl::OkStatus();
  Stmt s(commit_);
  return s.Step() == SQLITE_DONE ? absl::OkStatus() : Error("cannot commit");
}

void Outbox::Rollback() {
  if (depth_ == 0) return;
  depth_ = 0;
  sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

absl::Status Outbox::Insert(std::string_view id, std::string_view rule, std::string_view action,
                            std::string_view event, int64_t now_ms, int attempts) {
  Stmt s(insert_);
  s.Text(1, id).Text(2, rule).Text(3, action).Blob(4, event).Int(5, attempts).Int(6, now_ms);
  return s.Step() == SQLITE_DONE ? absl::OkStatus() : Error("cannot record a delivery");
}

absl::Status Outbox::SetResume(std::string_view input, uint64_t offset, uint64_t line) {
  Stmt s(set_resume_);
  s.Text(1, input).Int(2, static_cast<int64_t>(offset)).Int(3, static_cast<int64_t>(line));
  return s.Step() == SQLITE_DONE ? absl::OkStatus() : Error("cannot record an input position");
}

absl::StatusOr<std::optional<ResumePoint>> Outbox::GetResume(std::string_view input) {
  Stmt s(get_resume_);
  s.Text(1, input);
  int rc = s.Step();
  if (rc == SQLITE_DONE) return std::optional<ResumePoint>();
  if (rc != SQLITE_ROW) return Error("cannot read an input position");
  return std::optional<ResumePoint>(ResumePoint{static_cast<uint64_t>(s.ColInt(0)),
                                                static_cast<uint64_t>(s.ColInt(1))});
}

absl::Status Outbox::DeleteResume(std::string_view input) {
  Stmt s(del_resume_);
  s.Text(1, input);
  return s.Step() == SQLITE_DONE ? absl::OkStatus() : Error("cannot forget an input position");
}

absl::Status Outbox::Claim(std::string_view action, int64_t now_ms, int limit,
                           std::vector<OutboxRow>* out) {
  Stmt s(claim_);
  s.Text(1, action).Int(2, now_ms).Int(3, limit);
  std::vector<std::pair<int64_t, OutboxRow>> rows;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    OutboxRow r;
    ReadRow(s, &r);
    rows.emplace_back(s.ColInt(9), std::move(r));
  }
  if (rc != SQLITE_DONE) return Error("cannot claim deliveries");
  // RETURNING gives rows in no promised order.
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second.seq < b.second.seq;
  });
  for (auto& [due, r] : rows) out->push_back(std::move(r));
  return absl::OkStatus();
}

absl::Status Outbox::ClaimAll(std::string_view action, std::vector<OutboxRow>* out) {
  Stmt s(claim_all_);
  s.Text(1, action);
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    out->emplace_back();
    ReadRow(s, &out->back());
  }
  return rc == SQLITE_DONE ? absl::OkStatus() : Error("cannot claim deliveries");
}

absl::Status Outbox::Delete(int64_t seq) {
  Stmt s(delete_);
  s.Int(1, seq);
  return s.Step() == SQLITE_DONE ? absl::OkStatus() : Error("cannot remove a delivery");
}

absl::Status Outbox::Reschedule(int64_t seq, int attempts, int64_t due_ms, int status,
                                std::string_view reason) {
  Stmt s(reschedule_);
  s.Int(1, seq).Int(2, attempts).Int(3, due_ms).Int(4, status).Text(5, reason);
  return s.Step() == SQLITE_DONE ? absl::OkStatus() : Error("cannot reschedule a delivery");
}

absl::Status Outbox::UnclaimAll() { return Exec("UPDATE outbox SET claimed = 0 WHERE claimed = 1"); }

absl::StatusOr<std::optional<int64_t>> Outbox::NextDue(std::string_view action) {
  Stmt s(next_due_);
  s.Text(1, action);
  if (s.Step() != SQLITE_ROW) return Error("cannot read the outbox");
  if (s.ColNull(0)) return std::optional<int64_t>();
  return std::optional<int64_t>(s.ColInt(0));
}

absl::Status Outbox::PendingByAction(std::map<std::string, int64_t>* out) {
  sqlite3_stmt* raw = nullptr;
  if (auto st = Prepare("SELECT action, count(*) FROM outbox GROUP BY action", &raw); !st.ok())
    return st;
  int rc;
  {
    Stmt s(raw);
    while ((rc = s.Step()) == SQLITE_ROW) (*out)[s.ColText(0)] = s.ColInt(1);
  }
  sqlite3_finalize(raw);
  return rc == SQLITE_DONE ? absl::OkStatus() : Error("cannot read the outbox");
}

absl::Status Outbox::AddFailure(std::string_view target, int64_t at_ms) {
  Stmt s(add_failure_);
  s.Text(1, target).Int(2, at_ms);
  return s.Step() == SQLITE_DONE ? absl::OkStatus() : Error("cannot record a failure");
}

absl::StatusOr<int64_t> Outbox::CountFailures(std::string_view target, int64_t since_ms) {
  Stmt s(count_failures_);
  s.Text(1, target).Int(2, since_ms);
  if (s.Step() != SQLITE_ROW) return Error("cannot count failures");
  return s.ColInt(0);
}

absl::Status Outbox::SetDeactivated(std::string_view target, bool deactivated,
                                    std::string_view reason, int64_t at_ms) {
  if (!deactivated) {
    Stmt s(clear_deactivated_);
    s.Text(1, target);
    return s.Step() == SQLITE_DONE ? absl::OkStatus() : Error("cannot reactivate a target");
  }
  Stmt s(set_deactivated_);
  s.Text(1, target).Text(2, reason).Int(3, at_ms);
  return s.Step() == SQLITE_DONE ? absl::OkStatus() : Error("cannot deactivate a target");
}

absl::Status Outbox::Deactivated(std::map<std::string, std::string>* out) {
  sqlite3_stmt* raw = nullptr;
  if (auto st = Prepare("SELECT target, reason FROM deactivated", &raw); !st.ok()) return st;
  int rc;
  {
    Stmt s(raw);
    while ((rc = s.Step()) == SQLITE_ROW) (*out)[s.ColText(0)] = s.ColText(1);
  }
  sqlite3_finalize(raw);
  return rc == SQLITE_DONE ? absl::OkStatus() : Error("cannot read deactivated targets");
}

}  // namespace weir::internal
