// The C API (weir/weir_c.h) over the C++ engine. Every entry point catches
// everything: nothing is thrown across the C boundary.
#include "weir/weir_c.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <new>
#include <sstream>
#include <string>
#include <vector>

#include "weir/engine.h"
#include "weir/rules.h"

#ifndef WEIR_VERSION
#define WEIR_VERSION "0.0.0"
#endif

struct weir_engine {
  std::mutex update_mu;  // one change at a time
  std::mutex snap_mu;    // held only to copy or swap the pointer
  std::shared_ptr<const weir::RuleSet> rules;

  std::shared_ptr<const weir::RuleSet> Snapshot() {
    std::lock_guard<std::mutex> l(snap_mu);
    return rules;
  }
  void Publish(std::shared_ptr<const weir::RuleSet> rs) {
    std::lock_guard<std::mutex> l(snap_mu);
    rules = std::move(rs);
  }
};

struct weir_matcher {
  weir_engine* engine;
  std::shared_ptr<const weir::RuleSet> rules;
  std::unique_ptr<weir::Matcher> matcher;
  std::string buffer;
  std::vector<uint32_t> hits;
};

namespace {

weir_status Fail(weir_error* e, weir_status code, const std::string& msg, int line = 0,
                 int column = 0) {
  if (e) {
    e->code = code;
    e->line = line;
    e->column = column;
    std::snprintf(e->message, sizeof e->message, "%s", msg.c_str());
  }
  return code;
}

weir_status Ok(weir_error* e) {
  if (e) {
    e->code = WEIR_OK;
    e->line = e->column = 0;
    e->message[0] = '\0';
  }
  return WEIR_OK;
}

weir_status AddText(weir_engine* engine, std::string text, const std::string& name, int replace,
                    weir_error* error) {
  weir::LoadResult r = weir::ParseRules({{name, std::move(text)}});
  if (!r.ok()) {
    std::string msg;
    for (const weir::Diagnostic& d : r.diagnostics) msg += d.ToString() + "\n";
    if (!msg.empty()) msg.pop_back();
    const weir::SourceLocation& w = r.diagnostics.front().where;
    return Fail(error, WEIR_ERR_RULES, msg, w.line, w.column);
  }
  std::lock_guard<std::mutex> lock(engine->update_mu);
  std::shared_ptr<const weir::RuleSet> cur = engine->Snapshot();
  if (!replace) {
    for (const weir::RuleDef& rule : r.ruleset.rules)
      if (cur->Find(rule.id))
        return Fail(error, WEIR_ERR_EXISTS,
                    rule.where.file + ":" + std::to_string(rule.where.line) + ":" +
                        std::to_string(rule.where.column) + ": rule '" + rule.id +
                        "': a rule with this id exists already",
                    rule.where.line, rule.where.column);
  }
  auto next = weir::RuleSet::Update(cur, std::move(r.ruleset.rules), {});
  if (!next.ok()) return Fail(error, WEIR_ERR_RULES, std::string(next.status().message()));
  engine->Publish(*std::move(next));
  return Ok(error);
}

}  // namespace

extern "C" {

const char* weir_version(void) { return WEIR_VERSION; }

weir_engine* weir_engine_new(void) {
  try {
    auto e = std::make_unique<weir_engine>();
    auto rs = weir::RuleSet::Compile({});
    if (!rs.ok()) return nullptr;
    e->rules = *std::move(rs);
    return e.release();
  } catch (...) {
    return nullptr;
  }
}

void weir_engine_free(weir_engine* engine) { delete engine; }

weir_status weir_engine_add_text(weir_engine* engine, const char* text, size_t length,
                                 const char* name, int replace, weir_error* error) {
  if (!engine || (!text && length)) return Fail(error, WEIR_ERR_ARGUMENT, "null engine or text");
  try {
    return AddText(engine, std::string(text ? text : "", length), name ? name : "<rules>",
                   replace, error);
  } catch (const std::bad_alloc&) {
    return Fail(error, WEIR_ERR_INTERNAL, "out of memory");
  } catch (...) {
    return Fail(error, WEIR_ERR_INTERNAL, "internal error");
  }
}

weir_status weir_engine_add_file(weir_engine* engine, const char* path, int replace,
                                 weir_error* error) {
  if (!engine || !path) return Fail(error, WEIR_ERR_ARGUMENT, "null engine or path");
  try {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Fail(error, WEIR_ERR_IO, std::string("cannot read ") + path + ": " + std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return Fail(error, WEIR_ERR_IO, std::string("cannot read ") + path);
    return AddText(engine, ss.str(), path, replace, error);
  } catch (...) {
    return Fail(error, WEIR_ERR_INTERNAL, "internal error");
  }
}

weir_status weir_engine_remove(weir_engine* engine, const char* rule_id, weir_error* error) {
  if (!engine || !rule_id) return Fail(error, WEIR_ERR_ARGUMENT, "null engine or rule id");
  try {
    std::lock_guard<std::mutex> lock(engine->update_mu);
    std::shared_ptr<const weir::RuleSet> cur = engine->Snapshot();
    if (!cur->Find(rule_id))
      return Fail(error, WEIR_ERR_NOT_FOUND, std::string("no rule '") + rule_id + "'");
    auto next = weir::RuleSet::Update(cur, {}, {rule_id});
    if (!next.ok()) return Fail(error, WEIR_ERR_INTERNAL, std::string(next.status().message()));
    engine->Publish(*std::move(next));
    return Ok(error);
  } catch (...) {
    return Fail(error, WEIR_ERR_INTERNAL, "internal error");
  }
}

size_t weir_engine_rule_count(weir_engine* engine) {
  if (!engine) return 0;
  std::shared_ptr<const weir::RuleSet> rs = engine->Snapshot();
  size_t n = 0;
  for (size_t i = 0; i < rs->size(); ++i) n += !rs->removed(i);
  return n;
}

weir_matcher* weir_matcher_new(weir_engine* engine) {
  if (!engine) return nullptr;
  try {
    auto m = std::make_unique<weir_matcher>();
    m->engine = engine;
    m->rules = engine->Snapshot();
    m->matcher = std::make_unique<weir::Matcher>(m->rules);
    return m.release();
  } catch (...) {
    return nullptr;
  }
}

void weir_matcher_free(weir_matcher* matcher) { delete matcher; }

weir_status weir_match(weir_matcher* m, const char* event, size_t length, char* ids,
                       size_t ids_size, size_t* count, size_t* needed, weir_error* error) {
  if (count) *count = 0;
  if (needed) *needed = 0;
  if (!m || (!event && length) || (!ids && ids_size))
    return Fail(error, WEIR_ERR_ARGUMENT, "null matcher, event or ids buffer");
  try {
    std::shared_ptr<const weir::RuleSet> cur = m->engine->Snapshot();
    if (cur != m->rules) {
      m->rules = cur;
      m->matcher->Reset(cur);
    }
    m->buffer.assign(event ? event : "", length);
    m->buffer.append(weir::Matcher::kPadding, ' ');
    std::string_view padded(m->buffer.data(), length);
    absl::Status st = m->matcher->ValidatePadded(padded);
    if (st.ok()) st = m->matcher->MatchPadded(padded, &m->hits);
    if (!st.ok()) return Fail(error, WEIR_ERR_EVENT, std::string(st.message()));
    size_t total = 0;
    for (uint32_t h : m->hits) total += m->rules->id(h).size() + 1;
    if (needed) *needed = total;
    if (count) *count = m->hits.size();
    if (total > ids_size) {
      if (count) *count = 0;
      return Fail(error, WEIR_ERR_BUFFER,
                  "the ids need " + std::to_string(total) + " bytes, the buffer has " +
                      std::to_string(ids_size));
    }
    char* p = ids;
    for (uint32_t h : m->hits) {
      std::string_view id = m->rules->id(h);
      std::memcpy(p, id.data(), id.size());
      p += id.size();
      *p++ = '\0';
    }
    return Ok(error);
  } catch (...) {
    return Fail(error, WEIR_ERR_INTERNAL, "internal error");
  }
}

}  // extern "C"
