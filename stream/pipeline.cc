// The pipeline: one reader (the calling thread) fills batches from the
// source; N workers match them, and the worker that finishes the batch due
// next hands it, and any finished ones after it, to the sink. So a batch
// goes out as soon as it and those before it are matched, whatever the
// reader is doing (it may be blocked on a slow stream).
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "weir/stream.h"

namespace weir {
namespace {

bool Blank(std::string_view s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  return true;
}

// One matching thread's scratch.
struct Worker {
  Worker(std::shared_ptr<const RuleSet> rules, const EventLimits& limits)
      : matcher(std::move(rules), limits) {}
  Matcher matcher;
  std::vector<uint32_t> matches;
  std::vector<std::pair<size_t, size_t>> spans;  // into match_rules, per match
};

void Process(const Source& source, const EventBatch& batch, std::shared_ptr<const RuleSet> rules,
             const PipelineOptions& o, Worker& w, BatchResult* r) {
  if (&w.matcher.rules() != rules.get()) w.matcher.Reset(rules);
  r->source = &source;
  r->batch = &batch;
  r->rules = std::move(rules);
  r->matches.clear();
  r->match_rules.clear();
  r->bad.clear();
  r->prepared.clear();
  r->lines = r->blank = r->events = r->bytes = 0;
  w.spans.clear();
  Matcher& m = w.matcher;
  for (const EventBatch::Event& e : batch.events()) {
    std::string_view line = batch.event(e);
    ++r->lines;
    r->bytes += e.full_length + 1;
    const bool too_long = batch.too_long(e);
    if (!too_long && Blank(line)) {
      ++r->blank;
      continue;
    }
    absl::Status st;
    if (too_long) {
      st = absl::InvalidArgumentError(absl::StrCat("event is ", e.full_length,
                                                   " bytes, over the limit of ",
                                                   o.limits.max_event_bytes));
    } else {
      st = o.validate_all ? m.ValidatePadded(line) : absl::OkStatus();
      if (st.ok()) st = m.MatchPadded(line, &w.matches);
      // Whatever reaches the sink is checked completely first.
      if (st.ok() && !w.matches.empty() && !o.validate_all) st = m.ValidateMatchedPadded(line);
    }
    if (!st.ok()) {
      r->bad.push_back({e.position, std::string(st.message()), line});
      continue;
    }
    ++r->events;
    if (w.matches.empty()) continue;
    w.spans.emplace_back(r->match_rules.size(), w.matches.size());
    r->match_rules.insert(r->match_rules.end(), w.matches.begin(), w.matches.end());
    r->matches.push_back({line, e.position, {}});
  }
  // Spans last: match_rules has stopped growing.
  for (size_t i = 0; i < r->matches.size(); ++i)
    r->matches[i].rules =
        absl::MakeConstSpan(r->match_rules.data() + w.spans[i].first, w.spans[i].second);
}

void Count(const BatchResult& r, PipelineStats* s) {
  s->lines += r.lines;
  s->blank += r.blank;
  s->bad += r.bad.size();
  s->events += r.events;
  s->matched += r.matches.size();
  s->bytes += r.bytes;
}

}  // namespace

struct Pipeline::State {
  PipelineOptions options;
  mutable std::mutex rules_mu;
  std::shared_ptr<const RuleSet> rules;
  std::atomic<bool> stop{false};
  std::mutex source_mu;
  Source* source = nullptr;  // of the running Run(), for Stop()

  std::shared_ptr<const RuleSet> current() const {
    std::lock_guard<std::mutex> lock(rules_mu);
    return rules;
  }
  absl::Status RunInline(Source& source, Sink& sink, PipelineStats* stats);
  absl::Status RunThreaded(Source& source, Sink& sink, PipelineStats* stats);
};

Pipeline::Pipeline(std::shared_ptr<const RuleSet> rules, const PipelineOptions& options)
    : state_(std::make_unique<State>()) {
  state_->options = options;
  if (state_->options.threads < 1) state_->options.threads = 1;
  state_->rules = std::move(rules);
}

Pipeline::~Pipeline() = default;

void Pipeline::SetRules(std::shared_ptr<const RuleSet> rules) {
  std::lock_guard<std::mutex> lock(state_->rules_mu);
  state_->rules = std::move(rules);
}

std::shared_ptr<const RuleSet> Pipeline::rules() const { return state_->current(); }

void Pipeline::Stop() {
  state_->stop = true;
  std::lock_guard<std::mutex> lock(state_->source_mu);
  if (state_->source) state_->source->Interrupt();
}

bool Pipeline::stopped() const { return state_->stop; }

absl::Status Pipeline::Run(Source& source, Sink& sink, PipelineStats* stats) {
  PipelineStats local;
  if (!stats) stats = &local;
  {
    std::lock_guard<std::mutex> lock(state_->source_mu);
    if (state_->stop) return absl::OkStatus();
    state_->source = &source;
  }
  absl::Status st = state_->options.threads <= 1 ? state_->RunInline(source, sink, stats)
                                                 : state_->RunThreaded(source, sink, stats);
  std::lock_guard<std::mutex> lock(state_->source_mu);
  state_->source = nullptr;
  return st;
}

absl::Status Pipeline::State::RunInline(Source& source, Sink& sink, PipelineStats* stats) {
  Worker w(current(), options.limits);
  EventBatch batch;
  BatchResult result;
  for (uint64_t seq = 0; !stop; ++seq) {
    bool got = false;
    batch.Clear();
    absl::Status read = source.Next(&batch, &got);
    if (got) {
      batch.sequence = seq;
      Process(source, batch, current(), options, w, &result);
      sink.Prepare(&result);
      absl::Status st = sink.OnBatch(result);
      if (!st.ok()) return st;
      source.Done(batch);
      Count(result, stats);
    }
    if (!read.ok()) return read;
    if (!got) break;
  }
  return absl::OkStatus();
}

absl::Status Pipeline::State::RunThreaded(Source& source, Sink& sink, PipelineStats* stats) {
  struct Work {
    EventBatch batch;
    BatchResult result;
    std::shared_ptr<const RuleSet> rules;
  };
  const size_t max_inflight = options.max_batches_in_flight
                                  ? options.max_batches_in_flight
                                  : static_cast<size_t>(options.threads) * 4;
  std::mutex mu;
  std::condition_variable work_cv, space_cv;
  std::deque<Work*> todo;
  std::map<uint64_t, Work*> done;
  // Batches are recycled: a fresh buffer per batch costs an mmap and its
  // page faults each time (glibc serves large blocks with mmap).
  std::vector<std::unique_ptr<Work>> pool;
  std::vector<Work*> spare;
  bool input_done = false, emitting = false;
  uint64_t next_emit = 0, produced = 0;
  absl::Status sink_status;

  auto work = [&] {
    Worker w(current(), options.limits);
    for (;;) {
      Work* job;
      {
        std::unique_lock<std::mutex> lock(mu);
        work_cv.wait(lock, [&] { return !todo.empty() || input_done; });
        if (todo.empty()) return;
        job = todo.front();
        todo.pop_front();
      }
      Process(source, job->batch, std::move(job->rules), options, w, &job->result);
      sink.Prepare(&job->result);
      std::unique_lock<std::mutex> lock(mu);
      done.emplace(job->batch.sequence, job);
      // One thread emits at a time; the one emitting sees this batch before
      // it stops, as it looks again under the lock.
      if (emitting) continue;
      emitting = true;
      for (auto it = done.find(next_emit); it != done.end(); it = done.find(next_emit)) {
        Work* out = it->second;
        done.erase(it);
        bool failed = !sink_status.ok();
        lock.unlock();
        absl::Status st;
        if (!failed) {
          st = sink.OnBatch(out->result);
          if (st.ok()) {
            source.Done(out->batch);
            Count(out->result, stats);
          }
        }
        lock.lock();
        if (!st.ok()) sink_status = st;
        ++next_emit;
        spare.push_back(out);
        space_cv.notify_all();
      }
      emitting = false;
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < options.threads; ++t) threads.emplace_back(work);

  absl::Status read_status;
  for (;;) {
    Work* job;
    {
      std::unique_lock<std::mutex> lock(mu);
      space_cv.wait(lock, [&] { return produced - next_emit < max_inflight; });
      if (stop || !sink_status.ok()) break;
      if (spare.empty()) {
        pool.push_back(std::make_unique<Work>());
        spare.push_back(pool.back().get());
      }
      job = spare.back();
      spare.pop_back();
    }
    bool got = false;
    job->batch.Clear();
    read_status = source.Next(&job->batch, &got);
    std::unique_lock<std::mutex> lock(mu);
    if (got) {
      job->batch.sequence = produced++;
      job->rules = current();
      todo.push_back(job);
      work_cv.notify_one();
    } else {
      spare.push_back(job);
    }
    if (!read_status.ok() || !got) break;
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    input_done = true;
    work_cv.notify_all();
    space_cv.wait(lock, [&] { return next_emit == produced; });
  }
  for (auto& t : threads) t.join();
  if (!sink_status.ok()) return sink_status;
  return read_status;
}

}  // namespace weir
