// DIR/dead-letter.ndjson: what could not be delivered, one JSON object a line
// with id, rule, action, event (as read), attempts, last_status, reason and
// at. Never a secret: reasons come from executors, which keep secrets out.
#ifndef WEIR_ACTIONS_DEAD_LETTERS_H_
#define WEIR_ACTIONS_DEAD_LETTERS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weir/actions.h"

namespace weir::internal {

struct DeadLetter {
  std::string id, rule, action, event;
  int attempts = 0;
  int last_status = 0;
  std::string reason;
  std::string at;  // RFC 3339, UTC; empty: now
};

class DeadLetters {
 public:
  static absl::StatusOr<std::unique_ptr<DeadLetters>> Open(const std::string& path,
                                                           SyncMode sync);
  ~DeadLetters();
  // Appends one line (and fsyncs it with SyncMode::kFull).
  absl::Status Append(const DeadLetter& letter);
  // Every letter in the file; lines that cannot be read are reported in the
  // status message, never dropped silently.
  absl::Status ReadAll(std::vector<DeadLetter>* out);
  // Replaces the file with these letters (written aside, then renamed).
  absl::Status Rewrite(const std::vector<DeadLetter>& letters);

 private:
  DeadLetters() = default;
  std::string path_;
  SyncMode sync_ = SyncMode::kNormal;
  int fd_ = -1;
};

// `s` as a JSON string literal.
void AppendJsonString(std::string* out, std::string_view s);

}  // namespace weir::internal

#endif  // WEIR_ACTIONS_DEAD_LETTERS_H_
