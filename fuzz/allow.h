// WEIR_FUZZ_ALLOW=name[,name...] tolerates the named known bugs (each check
// that can be tolerated says its name), so fuzzing can look past them until
// they are fixed. Unset in CI.
#ifndef WEIR_FUZZ_ALLOW_H_
#define WEIR_FUZZ_ALLOW_H_

#include <cstdlib>
#include <string>

namespace weir::fuzz {

inline bool Allowed(const char* name) {
  static const std::string allow = [] {
    const char* v = std::getenv("WEIR_FUZZ_ALLOW");
    return "," + std::string(v ? v : "") + ",";
  }();
  return allow.find("," + std::string(name) + ",") != std::string::npos;
}

}  // namespace weir::fuzz

#endif  // WEIR_FUZZ_ALLOW_H_
