#include "bindings/cli/filter.h"

#include "absl/strings/str_cat.h"

namespace weir::cli {

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
    fwrite(r.prepared.data(), 1, r.prepared.size(), o_.out);
    fflush(o_.out);  // once a batch: a downstream reader sees matches as they come
  }
  if (!r.bad.empty()) {
    errors_.clear();
    const std::string& name = r.source->name();
    for (const BadEvent& b : r.bad)
      absl::StrAppend(&errors_, "weir: ", name, ":", b.position.line, ": ", b.reason, "\n");
    fwrite(errors_.data(), 1, errors_.size(), o_.err);
    if (o_.errors_file) {
      for (const BadEvent& b : r.bad) {
        fwrite(b.bytes.data(), 1, b.bytes.size(), o_.errors_file);
        fputc('\n', o_.errors_file);
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
  auto source = MakeFdSource(fd, name, so);
  if (!source.ok()) return source.status();
  FormatSink sink(o, stats);
  return pipeline.Run(**source, sink);
}

}  // namespace weir::cli
