#include "bindings/cli/filter.h"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "engine/line_reader.h"

namespace weir::cli {
namespace {

struct Result {
  uint64_t sequence = 0;
  std::string out;     // formatted output
  std::string errors;  // "weir: NAME:LINE: reason\n" lines
  std::string bad_lines;
  FilterStats stats;             // rule_hits unused here: see `hits`
  std::vector<uint32_t> hits;    // one entry per (event, rule) match
};

bool Blank(std::string_view s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  return true;
}

// Matches every line of a batch with one thread's Matcher.
void ProcessBatch(const Batch& batch, Matcher& matcher, const std::string& name,
                  const FilterOptions& o, std::vector<uint32_t>& matches, Result* r) {
  const RuleSet& rules = matcher.rules();
  r->sequence = batch.sequence;
  for (const LineRef& ref : batch.lines) {
    std::string_view line = batch.line(ref);
    ++r->stats.lines;
    r->stats.bytes += ref.full_length + 1;
    if (!batch.too_long(ref) && Blank(line)) {
      ++r->stats.blank;
      continue;
    }
    absl::Status st;
    if (batch.too_long(ref)) {
      st = absl::InvalidArgumentError(absl::StrCat("event is ", ref.full_length,
                                                   " bytes, over the limit of ",
                                                   o.limits.max_event_bytes));
    } else {
      st = o.validate_all ? matcher.ValidatePadded(line) : absl::OkStatus();
      if (st.ok()) st = matcher.MatchPadded(line, &matches);
      // Anything we output is checked completely first (SPEC 3).
      if (st.ok() && !matches.empty() && !o.validate_all) st = matcher.ValidateMatchedPadded(line);
    }
    if (!st.ok()) {
      ++r->stats.bad;
      absl::StrAppend(&r->errors, "weir: ", name, ":", ref.number, ": ", st.message(), "\n");
      if (o.errors_file) {
        r->bad_lines.append(line);
        r->bad_lines.push_back('\n');
      }
      continue;
    }
    ++r->stats.events;
    if (matches.empty()) continue;
    ++r->stats.matched;
    // Hits are kept as a list: a batch touches few rules, and a dense
    // per-batch counter array costs O(rules) per batch with 100k rules.
    r->hits.insert(r->hits.end(), matches.begin(), matches.end());
    switch (o.format) {
      case Format::kAnnotated:
        r->out += "{\"rules\":[";
        for (size_t i = 0; i < matches.size(); ++i) {
          if (i) r->out += ',';
          r->out += '"';
          r->out += rules.id(matches[i]);
          r->out += '"';
        }
        r->out += "],\"event\":";
        r->out.append(line);
        r->out += "}\n";
        break;
      case Format::kEvent:
        r->out.append(line);
        r->out += '\n';
        break;
      case Format::kIds:
        if (o.name_lines) absl::StrAppend(&r->out, name, ":");
        absl::StrAppend(&r->out, ref.number, "\t");
        for (size_t i = 0; i < matches.size(); ++i) {
          if (i) r->out += ',';
          r->out += rules.id(matches[i]);
        }
        r->out += '\n';
        break;
      case Format::kCount:
      case Format::kNone:
        break;
    }
  }
}

void Emit(Result& r, const FilterOptions& o, FilterStats* total) {
  if (!r.out.empty()) {
    fwrite(r.out.data(), 1, r.out.size(), o.out);
    fflush(o.out);  // once a batch: a downstream reader sees matches as they come
  }
  if (!r.errors.empty()) fwrite(r.errors.data(), 1, r.errors.size(), o.err);
  if (o.errors_file && !r.bad_lines.empty())
    fwrite(r.bad_lines.data(), 1, r.bad_lines.size(), o.errors_file);
  total->lines += r.stats.lines;
  total->blank += r.stats.blank;
  total->bad += r.stats.bad;
  total->events += r.stats.events;
  total->matched += r.stats.matched;
  total->bytes += r.stats.bytes;
  for (uint32_t m : r.hits) {
    if (m >= total->rule_hits.size()) total->rule_hits.resize(m + 1, 0);
    ++total->rule_hits[m];
  }
}

}  // namespace

absl::Status FilterInput(const std::shared_ptr<const RuleSet>& rules, int fd,
                         const std::string& name, const FilterOptions& o, FilterStats* stats) {
  if (stats->rule_hits.size() < rules->size()) stats->rule_hits.resize(rules->size(), 0);
  // Batches are large enough to amortize hand-offs, small enough to keep
  // output flowing on slow streams.
  LineReader reader(fd, o.limits.max_event_bytes, o.threads > 1 ? (256 << 10) : (1 << 20));
  if (o.threads <= 1) {
    Matcher matcher(rules, o.limits);
    std::vector<uint32_t> matches;
    Batch batch;
    Result r;
    for (;;) {
      bool got = false;
      absl::Status st = reader.Next(&batch, &got);
      if (!st.ok()) return st;
      if (!got) break;
      r = Result{};
      ProcessBatch(batch, matcher, name, o, matches, &r);
      Emit(r, o, stats);
    }
    return absl::OkStatus();
  }

  // Reader on this thread; workers match; results are emitted in sequence.
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::unique_ptr<Batch>> todo;
  std::map<uint64_t, std::unique_ptr<Result>> done;
  // Batches are recycled: a fresh 256 KB buffer per batch costs an mmap and
  // its page faults each time (glibc serves large blocks with mmap).
  std::vector<std::unique_ptr<Batch>> spare;
  bool input_done = false;
  const size_t max_inflight = static_cast<size_t>(o.threads) * 4;
  uint64_t next_emit = 0, produced = 0;

  std::vector<std::thread> workers;
  for (int t = 0; t < o.threads; ++t) {
    workers.emplace_back([&] {
      Matcher matcher(rules, o.limits);
      std::vector<uint32_t> matches;
      for (;;) {
        std::unique_ptr<Batch> b;
        {
          std::unique_lock<std::mutex> lock(mu);
          cv.wait(lock, [&] { return !todo.empty() || input_done; });
          if (todo.empty()) return;
          b = std::move(todo.front());
          todo.pop_front();
        }
        auto r = std::make_unique<Result>();
        ProcessBatch(*b, matcher, name, o, matches, r.get());
        {
          std::lock_guard<std::mutex> lock(mu);
          done.emplace(r->sequence, std::move(r));
          spare.push_back(std::move(b));
        }
        cv.notify_all();
      }
    });
  }

  auto drain = [&](bool all) {
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      auto it = done.find(next_emit);
      if (it != done.end()) {
        std::unique_ptr<Result> r = std::move(it->second);
        done.erase(it);
        ++next_emit;
        lock.unlock();
        Emit(*r, o, stats);
        lock.lock();
        continue;
      }
      if (all ? next_emit == produced : (produced - next_emit) < max_inflight) return;
      cv.wait(lock);
    }
  };

  absl::Status status;
  for (;;) {
    std::unique_ptr<Batch> b;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!spare.empty()) {
        b = std::move(spare.back());
        spare.pop_back();
      }
    }
    if (!b) b = std::make_unique<Batch>();
    bool got = false;
    status = reader.Next(b.get(), &got);
    if (!status.ok() || !got) break;
    {
      std::lock_guard<std::mutex> lock(mu);
      todo.push_back(std::move(b));
      ++produced;
    }
    cv.notify_all();
    drain(false);
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    input_done = true;
  }
  cv.notify_all();
  drain(true);
  for (auto& w : workers) w.join();
  return status;
}

}  // namespace weir::cli
