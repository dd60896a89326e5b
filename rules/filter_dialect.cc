// The `filter` dialect (docs/rules.md, "filter"): a map from dotted property path to a
// wildcard or a list of wildcards, matched textually against scalars.
#include "absl/strings/str_cat.h"
#include "engine/glob.h"
#include "rules/frontend.h"

namespace weir {

namespace {

bool AddWildcard(const RNode& v, const std::string& path, DiagSink& diags,
                 const LoadOptions& options, Clause* clause) {
  if (!v.IsScalar() && !v.IsNull()) {
    diags.Error(v, absl::StrCat("the value of '", path,
                                "' must be a wildcard or a list of wildcards, not ",
                                v.IsMap() ? "a map (write nested paths dotted, e.g. a.b)"
                                          : "a nested list"));
    return false;
  }
  std::string text = v.IsNull() ? "null" : v.Scalar();
  Glob glob;
  std::string err;
  if (!ParseGlob(text, &glob, &err)) {
    diags.Error(v, absl::StrCat("bad wildcard '", text, "' for '", path, "': ", err));
    return false;
  }
  if (text.size() > options.max_pattern_bytes) {
    diags.Error(v, absl::StrCat("wildcard for '", path, "' is ", text.size(),
                                " bytes; the limit is ", options.max_pattern_bytes));
    return false;
  }
  if (glob.stars > options.max_wildcard_stars) {
    diags.Error(v, absl::StrCat("wildcard for '", path, "' has ", glob.stars,
                                " stars; the limit is ", options.max_wildcard_stars));
    return false;
  }
  Predicate pred;
  pred.kind = PredicateKind::kTextGlob;
  pred.text = std::move(text);
  clause->any_of.push_back(std::move(pred));
  return true;
}

}  // namespace

bool LowerFilter(const RNode& node, DiagSink& diags, const LoadOptions& options,
                 Condition* out) {
  size_t before = diags.count();
  if (!node.IsMap()) {
    diags.Error(node, "'filter' must be a map from property path to wildcard");
    return false;
  }
  if (node.size() == 0) {
    diags.Error(node, "'filter' is empty: name at least one property");
    return false;
  }
  Conjunction conj;
  std::vector<std::string> seen;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) {
      diags.Error(kv.first, "a filter key must be a property path");
      continue;
    }
    std::string path = kv.first.Scalar();
    if (!ValidPath(path)) {
      diags.Error(kv.first, absl::StrCat("bad property path '", path,
                                         "': segments between dots must not be empty"));
      continue;
    }
    if (std::find(seen.begin(), seen.end(), path) != seen.end()) {
      diags.Error(kv.first, absl::StrCat("property '", path, "' appears twice in this filter"));
      continue;
    }
    seen.push_back(path);
    Clause clause;
    clause.path = path;
    const RNode& v = kv.second;
    if (v.IsSequence()) {
      if (v.size() == 0) {
        diags.Error(v, absl::StrCat("the list of wildcards for '", path, "' is empty"));
        continue;
      }
      for (const auto& e : v) AddWildcard(e, path, diags, options, &clause);
    } else {
      AddWildcard(v, path, diags, options, &clause);
    }
    if (!clause.any_of.empty()) conj.all_of.push_back(std::move(clause));
  }
  if (diags.count() != before) return false;
  out->any_of.push_back(std::move(conj));
  return true;
}

}  // namespace weir
