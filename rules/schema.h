// The rule-file schema: the top-level keys, each rule's keys, and the hand-off
// of each condition to its dialect front end. It reads NodeTrees, whichever
// reader built them, and collects the rules and diagnostics of all files.
#ifndef WEIR_RULES_SCHEMA_H_
#define WEIR_RULES_SCHEMA_H_

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/types/span.h"
#include "engine/encoded_rules.h"
#include "rules/action_schema.h"
#include "rules/frontend.h"
#include "weir/rules.h"

namespace weir {

// [A-Za-z0-9_.:-]+ (rule ids and action names).
bool ValidId(std::string_view s);

// Checks that `node` is a map whose keys are all in `allowed`, with no
// duplicates; reports each offender.
bool CheckKeys(const RNode& node, absl::Span<const std::string_view> allowed, const char* what,
               DiagSink& diags);

// What the top of a rule file says about the rest of it.
struct FileSettings {
  UriFields uri_fields;
  // Written in JSON syntax (the first key is quoted): a plain scalar there
  // is a number, true, false or null, never a string.
  bool json = false;
};

class RuleFileSchema {
 public:
  explicit RuleFileSchema(const LoadOptions& options);
  // Rules go into *rules as they are read, encoded, instead of into the
  // result's RuleDefs (weir/open.h: a big file is never held as RuleDefs).
  void EncodeInto(EncodedRules* rules) { encoded_ = rules; }
  const EncodedRules* encoded() const { return encoded_; }

  // A whole rule file's tree: the top-level settings, then each rule.
  // `file` must outlive the schema's use of it (diagnostics copy it).
  void ReadDocument(const std::string& file, const RNode& root);
  // Everything at the top of a rule file but the rules (settings->json is
  // the caller's); false if the file cannot be read further.
  bool ReadTop(const std::string& file, const RNode& root, FileSettings* settings);
  // Room for `n` more rules: growing (and freeing) large blocks one rule at a
  // time makes glibc consolidate its free lists again and again.
  void Reserve(size_t n);
  void ReadRule(const std::string& file, const RNode& r, const FileSettings& settings);

  // A diagnostic at `where` outside any rule.
  void Error(SourceLocation where, std::string message);

  // What a fast reader reads is a trial: when the reader gives up or the file
  // has any mistake, it is undone, and the file is read again by yaml-cpp,
  // whose positions and messages are the reference.
  void BeginTrial();
  // Ends the trial; keeps what was read when `read_ok` and nothing was
  // reported since BeginTrial, and says whether it did.
  bool EndTrial(bool read_ok);

  // A schema for the rules of a later part of the file being read, to be
  // read on another thread (ReadRule only) while this one reads on, then
  // given to Join. It knows the actions defined so far; its rules go into
  // *rules when this schema encodes its rules. Calls to options.env from
  // either are serialised from now on.
  std::unique_ptr<RuleFileSchema> Fork(EncodedRules* rules);
  // Takes the rules `part` (from Fork) read, after those read here, as if
  // they had been read here; false when they could not have been read
  // without a diagnostic (one of its own, an id read here too, too many
  // rules): the trial then fails and the file is read again.
  bool Join(RuleFileSchema& part, EncodedRules&& part_rules);

  // Checks what can be checked only once every file is read (names of
  // actions) and gives the result.
  LoadResult Finish();

 private:
  void ReadUriFields(const RNode& u, DiagSink& d, UriFields* f);
  void ReadSources(const RNode& n, DiagSink& d);
  void ReadRuleActions(const RNode& a, DiagSink& d, RuleDef* rule);
  void AddAction(const std::string& name, ActionDef def);
  // The number of `file` in files_, and of `name` in pending_names_ (added
  // when new).
  uint32_t FileNumber(const std::string& file);
  uint32_t PendingName(const std::string& name);

  LoadOptions opts_;
  ActionSchema action_schema_;
  LoadResult result_;
  // Names defined in `actions:` maps, also those whose settings are wrong
  // (they exist: naming one is not a second mistake).
  std::set<std::string> actions_;
  size_t RuleCount() const { return encoded_ ? encoded_->size() : result_.ruleset.rules.size(); }
  EncodedRules* encoded_ = nullptr;
  // The rule being read when rules are encoded: reused, so that its lists and
  // strings keep their buffers from one rule to the next.
  RuleDef scratch_rule_;
  // id -> its first rule: its number, and where it is (file: an index
  // into files_).
  struct FirstAt {
    uint32_t rule, file;
    int line, column;
  };
  absl::flat_hash_map<std::string, FirstAt> ids_;
  std::vector<std::string> files_;
  // A rule's reference to an action by name, checked in Finish(): 20 bytes
  // (there may be one per rule), the name once in pending_names_, the rule
  // by its number (its id is looked up only for a diagnostic), the file as
  // an index into files_.
  struct PendingRef {
    uint32_t name, rule, file;
    int line, column;
  };
  std::vector<std::string> pending_names_;
  absl::flat_hash_map<std::string, uint32_t> pending_name_index_;
  std::vector<PendingRef> pending_refs_;  // names not defined when read
  bool uses_stdout_ = false;              // a rule names the built-in stdout action
  bool rule_limit_reported_ = false;
  bool env_serialised_ = false;  // opts_.env is behind a mutex (Fork)
  // While a fast reader reads: what to undo.
  struct Trial {
    bool limit_reported;
    size_t rules, diagnostics, refs;
    EncodedRules::Mark encoded;
    size_t rules_read;  // RuleCount()
    bool uses_stdout;
    std::vector<std::string> actions_added, sources_added;
  };
  std::optional<Trial> trial_;
};

// Takes a rule file's rules a part at a time, each as soon as it is read
// (on the reading thread that calls ParseRulesEncoded), to compile them
// while the rest is still being read.
class EncodedRulesConsumer {
 public:
  virtual ~EncodedRulesConsumer() = default;
  // The next part's rules, in the file's order; `file_rules` is the number
  // of rules in the file. The rules may still turn out to have mistakes.
  virtual void Take(const EncodedRules& part, size_t file_rules) = 0;
  // What was taken is not what the result holds (the fast reader gave up
  // and the file is read again): nothing more is taken.
  virtual void Drop() = 0;
};

// ParseRules (weir/rules.h), with the rules encoded into *rules instead of
// the result's RuleDefs (for RuleSet::CompileEncoded); each file's text is
// freed once read. Diagnostics name the files, which must outlive them.
// With a `consumer` (for a single file), a JSON file is handed to it part by
// part as it is read (in one part when read on one thread); a YAML file,
// or a JSON file the fast reader gives up on, is not (Drop).
LoadResult ParseRulesEncoded(std::vector<RuleText>* files, const LoadOptions& options,
                             EncodedRules* rules, EncodedRulesConsumer* consumer = nullptr);

}  // namespace weir

#endif  // WEIR_RULES_SCHEMA_H_
