// The YAML readers of rule files: libyaml's event parser (fast, for the files
// it mirrors exactly) and yaml-cpp (the reference, for everything else).
#ifndef WEIR_RULES_YAML_READER_H_
#define WEIR_RULES_YAML_READER_H_

#include <string>
#include <string_view>

#include "rules/json_reader.h"
#include "rules/node.h"

namespace weir {

// Reads `text` with libyaml straight into `tree` (its root is node 0):
// about ten times faster than yaml-cpp and a fraction of its memory (100k
// rules). False when it gives up on what it does not mirror exactly: parse
// errors, explicit tags, several documents, aliases.
//
// It also checks the nesting before yaml-cpp, which recurses, may see the
// text: after giving up on a tag, an alias or a second document it reads on,
// counting only. False with *too_deep set (else its line is -1) when maps
// and lists nest deeper than `max_depth`; the text is then not to be read
// again. A parse error ends the check where it is.
bool ParseYamlFast(std::string_view text, size_t max_depth, NodeTree* tree, NodeMark* too_deep);

// The same, streaming: each element of the top-level 'rules' list goes to
// visitor->Rule as soon as it is read, the rest of the top-level map to
// visitor->Top at the end, so a large file is never a whole tree. A file it
// cannot stream (no top-level map with a 'rules' list, or with 'uri_fields',
// which the rules need first) gives kNeedsWholeTree: undo what the visitor
// got and use ParseYamlFast.
enum class FastYamlStream { kRead, kGaveUp, kNeedsWholeTree };
FastYamlStream StreamYamlFast(std::string_view text, size_t max_depth, RuleFileVisitor* visitor,
                              NodeMark* too_deep);

// Reads `text` with yaml-cpp into `tree`. False, with a message and where,
// when yaml-cpp cannot parse it (*unparsable is then true), or when its
// aliases make it a cycle, too deep or too big. *second is where a second
// document starts, if there is one (line -1 if not).
bool ParseYamlReference(const std::string& text, size_t max_depth, NodeTree* tree, std::string* error,
                        NodeMark* error_mark, bool* unparsable, NodeMark* second);

}  // namespace weir

#endif  // WEIR_RULES_YAML_READER_H_
