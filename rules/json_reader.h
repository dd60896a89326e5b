// The fast reader for JSON rule files (simdjson On-Demand). It builds one
// small tree for the top-level settings and then one tree per rule, reused,
// so a large file is never held as a whole tree.
#ifndef WEIR_RULES_JSON_READER_H_
#define WEIR_RULES_JSON_READER_H_

#include <cstddef>
#include <memory>
#include <string_view>

#include "rules/node.h"

namespace weir {

// What the streaming readers hand their trees to (the rule-file schema).
class RuleFileVisitor {
 public:
  virtual ~RuleFileVisitor() = default;
  // Whether the file is in JSON syntax (its first key quoted), before the
  // first Rule. The JSON reader does not call it.
  virtual void JsonSyntax(bool json) {}
  // The top-level map without its 'rules': before the rules from the JSON
  // reader, after them from the YAML one. False stops reading.
  virtual bool Top(const RNode& top) = 0;
  // The number of rules, before the first Rule.
  virtual void Reserve(size_t rules) = 0;
  virtual void Rule(const RNode& rule) = 0;
  // A visitor for the rules of a later part of the file, to be read on
  // another thread while this one reads the part before it (after Top), or
  // null when this visitor cannot be split.
  virtual std::unique_ptr<RuleFileVisitor> Fork() { return nullptr; }
  // Takes what `part` (from Fork) read, as if it had been read here after
  // everything else; false when it cannot (then the reading is given up).
  virtual bool Join(RuleFileVisitor& part) { return false; }
  // What this visitor (the first part's, or one from Fork) read is all it
  // will read: called on the thread that called the reader, once for each
  // part in the order of the file, as soon as the part and those before it
  // are read (before it is joined). `file_rules` is the number of rules in
  // the file.
  virtual void Settled(size_t file_rules) {}
};

// Reads a JSON rule file into `visitor`. False when it gives up (not one
// JSON object with one 'rules' array, or anything unexpected): the file is
// then read by yaml-cpp, whose positions and messages are the reference.
// Also false when maps and lists nest deeper than `max_depth` (the
// top-level object is 1): *too_deep is then where (else its line is -1),
// and the file is not worth reading again. A file of kParallelJsonBytes or
// more is read on `threads` threads (at most) when the visitor forks: a
// piece of its rules at a time, each thread taking the next, each piece
// after the first into a part of its own, joined in order. The visitor is
// told of each part (Settled) as soon as it can be joined, to compile it
// there while the other threads read on.
constexpr size_t kParallelJsonBytes = size_t{256} << 10;
bool ReadJsonRules(std::string_view text, size_t max_depth, size_t threads,
                   RuleFileVisitor* visitor, NodeMark* too_deep);

// Whether the text starts (after white space) with '{'.
bool LooksLikeJson(std::string_view text);

}  // namespace weir

#endif  // WEIR_RULES_JSON_READER_H_
