// weir/diagnostic.h: mistakes in user-authored rules, with their positions.
//
// Thread safety: plain value types.
#ifndef WEIR_DIAGNOSTIC_H_
#define WEIR_DIAGNOSTIC_H_

#include <string>
#include <vector>

namespace weir {

struct SourceLocation {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown
};

// One mistake in a rule file. Rule mistakes are values, collected and all
// reported, never exceptions.
struct Diagnostic {
  SourceLocation where;
  std::string rule_id;  // empty when the mistake is outside any rule
  std::string message;

  // "file:line:column: rule 'id': message"
  std::string ToString() const;
};

}  // namespace weir

#endif  // WEIR_DIAGNOSTIC_H_
