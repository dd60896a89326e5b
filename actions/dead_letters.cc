#include "actions/dead_letters.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "simdjson.h"

namespace weir::internal {
namespace {

absl::Status Errno(const std::string& what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

absl::Status WriteAll(int fd, std::string_view s, const std::string& path) {
  while (!s.empty()) {
    ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("cannot write", path);
    }
    s.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

std::string Line(const DeadLetter& l) {
  std::string s = "{\"id\":";
  AppendJsonString(&s, l.id);
  s += ",\"rule\":";
  AppendJsonString(&s, l.rule);
  s += ",\"action\":";
  AppendJsonString(&s, l.action);
  s += ",\"event\":";
  s += l.event;  // a validated JSON object, as read
  absl::StrAppend(&s, ",\"attempts\":", l.attempts, ",\"last_status\":", l.last_status,
                  ",\"reason\":");
  AppendJsonString(&s, l.reason);
  s += ",\"at\":";
  AppendJsonString(&s, !l.at.empty() ? l.at
                                      : absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                                         absl::UTCTimeZone()));
  s += "}\n";
  return s;
}

}  // namespace

void AppendJsonString(std::string* out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      default:
        if (c < 0x20) {
          *out += "\\u00";
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 15]);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

absl::StatusOr<std::unique_ptr<DeadLetters>> DeadLetters::Open(const std::string& path,
                                                               SyncMode sync) {
  std::unique_ptr<DeadLetters> d(new DeadLetters());
  d->path_ = path;
  d->sync_ = sync;
  d->fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (d->fd_ < 0) return Errno("cannot open", path);
  return d;
}

DeadLetters::~DeadLetters() {
  if (fd_ >= 0) ::close(fd_);
}

absl::Status DeadLetters::Append(const DeadLetter& l) {
  if (auto st = WriteAll(fd_, Line(l), path_); !st.ok()) return st;
  if (sync_ == SyncMode::kFull && ::fdatasync(fd_) != 0) return Errno("cannot sync", path_);
  return absl::OkStatus();
}

absl::Status DeadLetters::ReadAll(std::vector<DeadLetter>* out) {
  simdjson::padded_string text;
  if (auto err = simdjson::padded_string::load(path_).get(text); err) {
    if (err == simdjson::IO_ERROR) {
      // A missing file holds no letters.
      if (::access(path_.c_str(), F_OK) != 0) return absl::OkStatus();
    }
    return absl::InternalError(absl::StrCat("cannot read ", path_, ": ", simdjson::error_message(err)));
  }
  simdjson::ondemand::parser parser;
  std::string_view all(text.data(), text.size());
  size_t line_no = 0, start = 0;
  std::vector<size_t> bad;
  while (start < all.size()) {
    size_t nl = all.find('\n', start);
    if (nl == std::string_view::npos) nl = all.size();
    std::string_view line = all.substr(start, nl - start);
    start = nl + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    simdjson::padded_string padded(line);
    DeadLetter l;
    bool ok = false;
    do {
      simdjson::ondemand::document doc;
      if (parser.iterate(padded).get(doc)) break;
      simdjson::ondemand::object obj;
      if (doc.get_object().get(obj)) break;
      bool fields_ok = true;
      for (auto field : obj) {
        std::string_view key;
        if (field.unescaped_key().get(key)) { fields_ok = false; break; }
        simdjson::ondemand::value v;
        if (field.value().get(v)) { fields_ok = false; break; }
        std::string_view sv;
        int64_t n;
        if (key == "id" || key == "rule" || key == "action" || key == "reason" || key == "at") {
          if (v.get_string().get(sv)) { fields_ok = false; break; }
          (key == "id" ? l.id : key == "rule" ? l.rule : key == "action" ? l.action
                            : key == "reason" ? l.reason : l.at) = sv;
        } else if (key == "event") {
          simdjson::ondemand::object event;
          if (v.get_object().get(event) || event.raw_json().get(sv)) { fields_ok = false; break; }
          while (!sv.empty() && (sv.back() == ' ' || sv.back() == '\t')) sv.remove_suffix(1);
          l.event = sv;
        } else if (key == "attempts" || key == "last_status") {
          if (v.get_int64().get(n)) { fields_ok = false; break; }
          (key == "attempts" ? l.attempts : l.last_status) = static_cast<int>(n);
        }
      }
      ok = fields_ok && !l.id.empty() && !l.action.empty() && !l.event.empty();
    } while (false);
    if (ok) {
      out->push_back(std::move(l));
    } else {
      bad.push_back(line_no);
    }
  }
  if (!bad.empty())
    return absl::DataLossError(absl::StrCat(path_, ":", bad.front(), ": not a dead letter (",
                                            bad.size(), " such line", bad.size() == 1 ? "" : "s",
                                            "); nothing was replayed"));
  return absl::OkStatus();
}

absl::Status DeadLetters::Rewrite(const std::vector<DeadLetter>& letters) {
  std::string tmp = path_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return Errno("cannot write", tmp);
  absl::Status st;
  for (const DeadLetter& l : letters) {
    st = WriteAll(fd, Line(l), tmp);
    if (!st.ok()) break;
  }
  if (st.ok() && ::fsync(fd) != 0) st = Errno("cannot sync", tmp);
  ::close(fd);
  if (st.ok() && ::rename(tmp.c_str(), path_.c_str()) != 0) st = Errno("cannot replace", path_);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  ::close(fd_);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd_ < 0) return Errno("cannot open", path_);
  return absl::OkStatus();
}

}  // namespace weir::internal
