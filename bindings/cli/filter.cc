#include "bindings/cli/filter.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace weir::cli {

absl::Status WriteError(const std::string& name, int error) {
  return absl::DataLossError(absl::StrCat("cannot write ", name, ": ", std::strerror(error)));
}

void Progress::Update(const FilterStats& s, bool force) {
  if (!enabled_) return;
  Clock::time_point now = Clock::now();
  if (!force) {
    if (now - start_ < delay_) return;
    if (drawn_ && now - last_ < std::chrono::milliseconds(100)) return;
  }
  if (input_start_bytes_ < 0) input_start_bytes_ = static_cast<int64_t>(s.bytes);
  last_ = now;
  drawn_ = true;
  double secs = std::chrono::duration<double>(now - start_).count();
  std::string line = absl::StrFormat("weir: %s: %.1f MB", name_, s.bytes / 1e6);
  if (input_size_ > 0) {
    double done = static_cast<double>(s.bytes - static_cast<uint64_t>(input_start_bytes_));
    absl::StrAppendFormat(&line, " (%.0f%%)", std::min(100.0, 100 * done / input_size_));
  }
  absl::StrAppendFormat(&line, ", %d events, %d matched, %d bad, %.1f MB/s", s.events, s.matched,
                        s.bad, secs > 0 ? s.bytes / 1e6 / secs : 0.0);
  fprintf(err_, "\r%s\x1b[K", line.c_str());
  fflush(err_);
}

void Progress::Clear() {
  if (!drawn_) return;
  fputs("\r\x1b[K", err_);
  drawn_ = false;
}

void Progress::Finish(const FilterStats& s) {
  if (!enabled_ || (last_ == Clock::time_point{} && Clock::now() - start_ < delay_)) return;
  Update(s, true);
  fputc('\n', err_);
  drawn_ = false;
}

CutLines::CutLines() {
  FILE* f = tmpfile();  // unlinked at once: nothing is left behind
  if (!f) return;
  fd_ = dup(fileno(f));
  fclose(f);
}

CutLines::~CutLines() {
  if (fd_ >= 0) close(fd_);
}

void CutLines::Append(uint64_t line, std::string_view bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  if (fd_ < 0) return;
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = pwrite(fd_, bytes.data() + done, bytes.size() - done,
                       static_cast<off_t>(end_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the errors file then holds the line's head only
    done += static_cast<size_t>(n);
  }
  if (!pieces_.empty() && pieces_.back().line == line &&
      pieces_.back().offset + pieces_.back().length == end_) {
    pieces_.back().length += done;
  } else {
    pieces_.push_back({line, end_, done});
  }
  end_ += done;
}

bool CutLines::CopyTo(uint64_t line, FILE* out) {
  std::lock_guard<std::mutex> lock(mu_);
  bool ok = true;
  char buf[64 << 10];
  for (size_t i = 0; i < pieces_.size();) {
    if (pieces_[i].line != line) {
      ++i;
      continue;
    }
    for (uint64_t at = pieces_[i].offset, end = at + pieces_[i].length; at < end && ok;) {
      ssize_t n = pread(fd_, buf, std::min<uint64_t>(sizeof buf, end - at), static_cast<off_t>(at));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      ok = fwrite(buf, 1, static_cast<size_t>(n), out) == static_cast<size_t>(n);
      at += static_cast<uint64_t>(n);
    }
    pieces_.erase(pieces_.begin() + static_cast<std::ptrdiff_t>(i));
  }
  if (pieces_.empty() && end_ > 0) {  // reuse the space
    end_ = 0;
    [[maybe_unused]] int r = ftruncate(fd_, 0);
  }
  return ok;
}

void FormatSink::Prepare(BatchResult* r) {
  std::string& out = r->prepared;
  const RuleSet& rules = *r->rules;
  const std::string& name = r->source->name();
  for (const Match& m : r->matches) {
    switch (o_.format) {
      case Format::kAnnotated:
        out += "{\"rules\":[";
        for (size_t i = 0; i < m.rules.size(); ++i) {
          if (i) out += ',';
          out += '"';
          out += rules.id(m.rules[i]);
          out += '"';
        }
        out += "],\"event\":";
        out.append(m.event);
        out += "}\n";
        break;
      case Format::kEvent:
        out.append(m.event);
        out += '\n';
        break;
      case Format::kIds:
        if (o_.name_lines) absl::StrAppend(&out, name, ":");
        absl::StrAppend(&out, m.position.line, "\t");
        for (size_t i = 0; i < m.rules.size(); ++i) {
          if (i) out += ',';
          out += rules.id(m.rules[i]);
        }
        out += '\n';
        break;
      case Format::kCount:
      case Format::kNone:
        return;
    }
  }
}

absl::Status FormatSink::OnBatch(const BatchResult& r) {
  if (!r.prepared.empty()) {
    // Flushed once a batch: a downstream reader sees matches as they come.
    if (fwrite(r.prepared.data(), 1, r.prepared.size(), o_.out) != r.prepared.size() ||
        fflush(o_.out) != 0)
      return WriteError(o_.out_name, errno);
  }
  if (!r.bad.empty()) {
    errors_.clear();
    const std::string& name = r.source->name();
    for (const BadEvent& b : r.bad) {
      absl::StrAppend(&errors_, "weir: ", name, ":", b.position.line, ": ", b.reason);
      // gzip's magic bytes at the start of an input.
      if (b.position.offset == 0 && b.bytes.size() >= 2 && b.bytes[0] == '\x1f' &&
          b.bytes[1] == '\x8b') {
        absl::StrAppend(&errors_,
                        " (the input looks gzip-compressed; decompress it first, e.g. zcat ",
                        name == "-" ? "FILE" : name, " | weir filter ...)");
      }
      errors_ += '\n';
    }
    if (o_.progress) o_.progress->Clear();
    fwrite(errors_.data(), 1, errors_.size(), o_.err);
    if (o_.errors_file) {
      FILE* f = o_.errors_file;
      for (const BadEvent& b : r.bad) {
        bool ok = fwrite(b.bytes.data(), 1, b.bytes.size(), f) == b.bytes.size();
        if (ok && b.too_long && cut_)
          ok = cut_->CopyTo(b.position.line, f);
        else if (ok && b.bytes.data()[b.bytes.size()] == '\r')  // padding follows: readable
          ok = fputc('\r', f) != EOF;
        ok = ok && fputc('\n', f) != EOF;
        if (!ok) return WriteError(o_.errors_name, errno);
      }
    }
  }
  FilterStats& s = *stats_;
  s.lines += r.lines;
  s.blank += r.blank;
  s.bad += r.bad.size();
  s.events += r.events;
  s.matched += r.matches.size();
  s.bytes += r.bytes;
  for (uint32_t slot : r.match_rules) {
    if (slot >= s.rule_hits.size()) s.rule_hits.resize(slot + 1, 0);
    ++s.rule_hits[slot];
  }
  if (o_.progress) o_.progress->Update(s);
  return absl::OkStatus();
}

PipelineOptions ToPipelineOptions(const FilterOptions& o) {
  PipelineOptions p;
  p.threads = o.threads;
  p.validate_all = o.validate_all;
  p.limits = o.limits;
  return p;
}

absl::Status FilterInput(Pipeline& pipeline, int fd, const std::string& name,
                         const FilterOptions& o, FilterStats* stats) {
  if (stats->rule_hits.size() < pipeline.rules()->size())
    stats->rule_hits.resize(pipeline.rules()->size(), 0);
  FdSourceOptions so;
  so.max_event_bytes = o.limits.max_event_bytes;
  // Batches are large enough to amortize hand-offs, small enough to keep
  // output flowing on slow streams.
  so.batch_bytes = o.threads > 1 ? (256 << 10) : (1 << 20);
  std::unique_ptr<CutLines> cut;
  if (o.errors_file) {
    cut = std::make_unique<CutLines>();
    so.on_cut = [c = cut.get()](const EventPosition& pos, std::string_view rest) {
      c->Append(pos.line, rest);
    };
  }
  if (o.progress) {
    struct stat st;
    o.progress->StartInput(name, fstat(fd, &st) == 0 && S_ISREG(st.st_mode)
                                     ? static_cast<uint64_t>(st.st_size)
                                     : 0);
  }
  auto source = MakeFdSource(fd, name, so);
  if (!source.ok()) return source.status();
  FormatSink sink(o, stats, cut.get());
  return pipeline.Run(**source, sink);
}

}  // namespace weir::cli
