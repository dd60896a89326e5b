// The YAML readers of rule files: libyaml's event parser (fast, for the files
// it mirrors exactly) and yaml-cpp (the reference, for everything else).
#ifndef WEIR_RULES_YAML_READER_H_
#define WEIR_RULES_YAML_READER_H_

#include <string>
#include <string_view>

#include "rules/node.h"

namespace weir {

// Reads `text` with libyaml straight into `tree` (its root is node 0):
// about ten times faster than yaml-cpp and a fraction of its memory (100k
// rules). False when it gives up on what it does not mirror exactly: parse
// errors, explicit tags, several documents, aliases.
bool ParseYamlFast(std::string_view text, NodeTree* tree);

// Reads `text` with yaml-cpp into `tree`. False, with a message and where,
// when yaml-cpp cannot parse it (*unparsable is then true), or when its
// aliases make it a cycle, too deep or too big. *second is where a second
// document starts, if there is one (line -1 if not).
bool ParseYamlReference(const std::string& text, NodeTree* tree, std::string* error,
                        NodeMark* error_mark, bool* unparsable, NodeMark* second);

}  // namespace weir

#endif  // WEIR_RULES_YAML_READER_H_
