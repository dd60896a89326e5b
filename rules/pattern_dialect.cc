// The `pattern` dialect (docs/rules-pattern.md): Amazon EventBridge event patterns.
//
// A pattern is a map whose leaves are lists of values or matchers; nested maps
// name nested fields. Lowering walks the map, turning each leaf list into a
// clause on its dotted path, and expands `$or` (and leaves that mix
// `exists: false` with other matchers) into disjunctive normal form. What
// EventBridge rejects is reported as a diagnostic at the offending node.
#include <algorithm>
#include <iterator>
#include <map>
#include <set>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/casefold.h"
#include "engine/decimal.h"
#include "engine/glob.h"
#include "engine/scalar.h"
#include "rules/frontend.h"
#include "rules/wildcard_complexity.h"

namespace weir {

namespace {

// One conjunction under construction, with where each clause's field is
// named, and an OR of them.
struct Alternative {
  std::vector<Clause> clauses;
  std::vector<NodeMark> keys;  // one per clause
};
using Dnf = std::vector<Alternative>;

bool Before(const NodeMark& a, const NodeMark& b) {
  return a.line != b.line ? a.line < b.line : a.column < b.column;
}

constexpr const char* kOperators[] = {"anything-but", "cidr",   "equals-ignore-case", "exists",
                                      "numeric",      "prefix", "suffix",             "wildcard"};

// EventBridge refuses a rule whose wildcards on one field are more complex
// than this, by event-ruler's measure (see wildcard_complexity.h and
// docs/eventbridge-semantics.md for where the figure comes from).
constexpr size_t kMaxWildcardComplexity = 10;

bool IsOperator(std::string_view key) {
  for (const char* op : kOperators)
    if (key == op) return true;
  return false;
}

std::string OperatorList() { return absl::StrJoin(kOperators, ", "); }

// Names EventBridge reserves inside `$or` (its operators, including ones weir
// does not offer): there they cannot be field names.
bool IsReservedInOr(std::string_view key) {
  static constexpr const char* kReserved[] = {
      "exactly",    "html",  "regex", "not-wildcard", "not-equals-ignore-case", "date-after",
      "date-on-or-after", "date-before", "date-on-or-before", "in-date-range",
      "ip-address-in-range", "ip-address-not-in-range", "=", "<", "<=", ">", ">="};
  if (IsOperator(key)) return true;
  for (const char* r : kReserved)
    if (key == r) return true;
  return false;
}

bool IsString(const RNode& n) { return n.IsScalar() && KindOf(n) == ScalarKind::kString; }
bool IsNumber(const RNode& n) { return n.IsScalar() && KindOf(n) == ScalarKind::kNumber; }

// A short description of a node's type, for messages.
const char* Describe(const RNode& n) {
  if (n.IsMap()) return "a map";
  if (n.IsSequence()) return "a list";
  switch (KindOf(n)) {
    case ScalarKind::kString: return "a string";
    case ScalarKind::kNumber: return "a number";
    case ScalarKind::kTrue:
    case ScalarKind::kFalse: return "a boolean";
    case ScalarKind::kNull: return "null";
  }
  return "a value";
}

Predicate Make(PredicateKind kind, std::string text) {
  Predicate p;
  p.kind = kind;
  p.text = std::move(text);
  return p;
}

class PatternLowerer {
 public:
  PatternLowerer(DiagSink& diags, const LoadOptions& options) : diags_(diags), options_(options) {}

  // Where a pattern object sits: `in_or` anywhere inside an alternative of
  // `$or` (operator names are not field names there), `or_branch` for the
  // alternative itself.
  struct Scope {
    bool in_or = false;
    bool or_branch = false;
    size_t depth = 1;  // of pattern objects, the pattern's own map is 1
  };

  // Lowers the map `node` whose fields sit under `prefix`.
  bool Object(const RNode& node, const std::string& prefix, Scope scope, Dnf* out) {
    // Checked before recursing into the object; reported once a pattern.
    if (scope.depth > options_.max_pattern_depth) {
      if (too_deep_) return false;
      too_deep_ = true;
      diags_.Error(node, absl::StrCat("the pattern is nested deeper than the limit of ",
                                      options_.max_pattern_depth,
                                      " (each nested object and each '$or' alternative counts)"));
      return false;
    }
    size_t before = diags_.count();
    if (node.size() == 0) {
      diags_.Error(node, scope.or_branch  ? "an alternative of '$or' is empty: name at least "
                                            "one field"
                         : prefix.empty() ? "the pattern is empty: name at least one field"
                                          : absl::StrCat("the pattern object for '", prefix,
                                                         "' is empty: name at least one field"));
      return false;
    }
    // The AND of the fields' DNFs; until the first field is lowered, the
    // neutral one alternative without clauses, left implicit so that the
    // first field's DNF is moved in rather than multiplied by it.
    Dnf result;
    bool first = true;
    // Field names already seen (in the tree): a short list, as most objects
    // have a few fields; a set for big ones. (Pointers, left uninitialised:
    // zeroing an array of views was a seventh of this function's own samples.)
    const std::string* seen[16];
    size_t n_seen = 0;
    std::set<std::string_view> seen_many;
    const bool many = node.size() > std::size(seen);
    for (const auto& kv : node) {
      const RNode& key = kv.first;
      const RNode& value = kv.second;
      if (!key.IsScalar()) {
        diags_.Error(key, "a pattern key must be a field name");
        continue;
      }
      const std::string& name = key.Scalar();
      const bool repeated = many ? !seen_many.insert(name).second
                                 : std::find_if(seen, seen + n_seen, [&](const std::string* s) {
                                     return *s == name;
                                   }) != seen + n_seen;
      if (!many && !repeated) seen[n_seen++] = &name;
      if (repeated) {
        diags_.Error(key, absl::StrCat("field '", name, "' appears twice in this pattern object"));
        continue;
      }
      Dnf sub;
      if (name == "$or") {
        if (!Or(value, prefix, scope.depth, &sub)) continue;
      } else {
        if (scope.in_or && IsReservedInOr(name)) {
          // EventBridge rejects this rather than guess whether a matcher
          // was meant.
          diags_.Error(key, absl::StrCat("'", name,
                                         "' is reserved for operators inside '$or' and cannot "
                                         "be a field name there"));
          continue;
        }
        if (!ValidPath(name)) {
          diags_.Error(key, absl::StrCat("bad field name '", name,
                                         "': it must not be empty, start or end with a dot, "
                                         "or contain '..'"));
          continue;
        }
        std::string path;
        path.reserve(prefix.size() + 1 + name.size());
        if (!prefix.empty()) path.append(prefix).push_back('.');
        path.append(name);
        if (value.IsMap()) {
          if (!Object(value, path, {scope.in_or, false, scope.depth + 1}, &sub)) continue;
        } else if (value.IsSequence()) {
          if (!Leaf(value, std::move(path), key.Mark(), &sub)) continue;
        } else {
          std::string hint;
          if (IsOperator(name))
            hint = absl::StrCat(" (a matcher goes inside the list: [{", name, ": ...}])");
          diags_.Error(value, absl::StrCat("the value of '", path,
                                           "' must be a list of values or matchers, e.g. [",
                                           value.IsScalar() ? value.Scalar() : "x", "], not ",
                                           Describe(value), hint));
          continue;
        }
      }
      if (first) {
        if (sub.size() > options_.max_conjunctions_per_rule) {
          TooMany(value);
          return false;
        }
        result = std::move(sub);
        first = false;
      } else if (!Product(&result, std::move(sub), value)) {
        return false;
      }
    }
    if (diags_.count() != before) return false;
    if (first) result.resize(1);
    *out = std::move(result);
    return true;
  }

 private:
  // `$or`: a list of at least two pattern objects; the union of their DNFs.
  bool Or(const RNode& node, const std::string& prefix, size_t depth, Dnf* out) {
    if (!node.IsSequence()) {
      diags_.Error(node, absl::StrCat("'$or' must be a list of at least two pattern objects, not ",
                                      Describe(node)));
      return false;
    }
    if (node.size() < 2) {
      diags_.Error(node, absl::StrCat("'$or' needs at least two alternatives; it has ",
                                      node.size()));
      return false;
    }
    bool ok = true;
    for (const auto& branch : node) {
      if (!branch.IsMap()) {
        diags_.Error(branch, absl::StrCat("each alternative of '$or' must be a pattern "
                                          "object, not ",
                                          Describe(branch)));
        ok = false;
        continue;
      }
      Dnf sub;
      if (!Object(branch, prefix, {true, true, depth + 1}, &sub)) {
        ok = false;
        continue;
      }
      if (!ok) continue;
      if (out->size() + sub.size() > options_.max_conjunctions_per_rule) {
        TooMany(branch);
        return false;
      }
      for (auto& alt : sub) out->push_back(std::move(alt));
    }
    return ok;
  }

  // AND of two DNFs: every alternative of one with every one of the other.
  bool Product(Dnf* acc, Dnf&& other, const RNode& at) {
    if (acc->size() * other.size() > options_.max_conjunctions_per_rule) {
      TooMany(at);
      return false;
    }
    // The common cases move instead of copying: a first field, and fields
    // without alternatives.
    if (acc->size() == 1 && (*acc)[0].clauses.empty()) {
      *acc = std::move(other);
      return true;
    }
    auto append = [](Alternative* to, auto&& from) {
      to->clauses.insert(to->clauses.end(), from.clauses.begin(), from.clauses.end());
      to->keys.insert(to->keys.end(), from.keys.begin(), from.keys.end());
    };
    if (acc->size() == 1 && other.size() == 1) {
      Alternative& to = (*acc)[0];
      to.clauses.insert(to.clauses.end(), std::make_move_iterator(other[0].clauses.begin()),
                        std::make_move_iterator(other[0].clauses.end()));
      to.keys.insert(to.keys.end(), other[0].keys.begin(), other[0].keys.end());
      return true;
    }
    Dnf next;
    next.reserve(acc->size() * other.size());
    for (const Alternative& a : *acc) {
      for (const Alternative& b : other) {
        Alternative c = a;
        append(&c, b);
        next.push_back(std::move(c));
      }
    }
    *acc = std::move(next);
    return true;
  }

  void TooMany(const RNode& at) {
    diags_.Error(at, absl::StrCat("the pattern expands to more than ",
                                  options_.max_conjunctions_per_rule,
                                  " alternatives (each '$or' and each leaf that mixes "
                                  "'exists: false' with other matchers multiplies them); "
                                  "the limit is ",
                                  options_.max_conjunctions_per_rule));
  }

  // A leaf: a list of values and matchers, any of which may match.
  // (`path` is taken: the last clause made keeps it.)
  bool Leaf(const RNode& list, std::string path, NodeMark key, Dnf* out) {
    leaf_path_ = &path;
    if (list.size() == 0) {
      diags_.Error(list, absl::StrCat("the list of values for '", path,
                                      "' is empty; it would match nothing"));
      return false;
    }
    size_t before = diags_.count();
    std::vector<Predicate> preds;
    bool exists_false = false;
    for (const auto& e : list) {
      if (e.IsSequence()) {
        diags_.Error(e, absl::StrCat("a value for '", path, "' must not be a nested list"));
      } else if (e.IsMap()) {
        Matcher(e, path, &preds, &exists_false);
      } else {
        Value(e, path, &preds);
      }
    }
    if (diags_.count() != before) return false;
    // `exists: false` holds when nothing is at the path, which a clause over
    // values cannot say; it becomes its own alternative.
    // (Built in place: a braced list would copy each clause once more.)
    auto add = [&](std::vector<Predicate> any_of, bool negated, bool last) {
      Alternative& alt = out->emplace_back();
      Clause& c = alt.clauses.emplace_back();
      c.path = last ? std::move(path) : path;
      c.any_of = std::move(any_of);
      c.negated = negated;
      alt.keys.push_back(key);
    };
    if (!preds.empty()) add(std::move(preds), false, !exists_false);
    if (exists_false) add({Make(PredicateKind::kExists, "")}, true, true);
    return true;
  }

  // An exact value: string, number, true, false or null.
  void Value(const RNode& v, const std::string& path, std::vector<Predicate>* preds) {
    switch (KindOf(v)) {
      case ScalarKind::kString:
        preds->push_back(Make(PredicateKind::kStringGlob, EscapeGlobLiteral(v.Scalar())));
        return;
      case ScalarKind::kNumber: {
        std::string canon;
        if (Number(v, &canon)) preds->push_back(Make(PredicateKind::kNumberEq, std::move(canon)));
        return;
      }
      case ScalarKind::kTrue: preds->push_back(Make(PredicateKind::kLiteral, "true")); return;
      case ScalarKind::kFalse: preds->push_back(Make(PredicateKind::kLiteral, "false")); return;
      case ScalarKind::kNull: preds->push_back(Make(PredicateKind::kLiteral, "null")); return;
    }
  }

  bool Number(const RNode& v, std::string* canon) {
    std::string storage;
    DecimalView d;
    if (!ParseRuleNumber(v.Scalar(), &storage, &d)) {
      diags_.Error(v, absl::StrCat("'", v.Scalar(), "' is not a number"));
      return false;
    }
    CanonicalDecimal(d, canon);
    return true;
  }

  // Requires a string operand; a plain YAML number or boolean is not one.
  bool NeedString(const RNode& v, const std::string& what) {
    if (IsString(v)) return true;
    std::string hint;
    if (v.IsScalar() && !v.IsNull()) hint = absl::StrCat(" (quote it: \"", v.Scalar(), "\")");
    diags_.Error(v, absl::StrCat(what, " takes a string, not ", Describe(v), hint));
    return false;
  }

  // A matcher object: exactly one operator.
  void Matcher(const RNode& m, const std::string& path, std::vector<Predicate>* preds,
               bool* exists_false) {
    if (m.size() != 1) {
      if (m.size() == 0) {
        diags_.Error(m, absl::StrCat("an empty matcher {} for '", path,
                                     "'; expected one of: ", OperatorList()));
      } else {
        std::vector<std::string> keys;
        for (const auto& kv : m) keys.push_back(kv.first.Scalar());
        diags_.Error(m, absl::StrCat("a matcher has exactly one operator; this one has ",
                                     absl::StrJoin(keys, ", "),
                                     " (give them as separate list entries to OR them)"));
      }
      return;
    }
    auto kv = *m.begin();
    const std::string op = kv.first.IsScalar() ? kv.first.Scalar() : "";
    const RNode& v = kv.second;
    if (op == "prefix" || op == "suffix") {
      bool is_prefix = op == "prefix";
      if (v.IsMap()) {
        if (v.size() != 1 || !v.begin()->first.IsScalar() ||
            v.begin()->first.Scalar() != "equals-ignore-case") {
          diags_.Error(v, absl::StrCat("'", op, "' takes a string or {equals-ignore-case: ",
                                       "string}"));
          return;
        }
        // A copy: the pair an iterator yields is a temporary.
        const RNode s = v.begin()->second;
        if (!NeedString(s, absl::StrCat("'", op, ": {equals-ignore-case}'"))) return;
        std::string folded;
        FoldCase(s.Scalar(), &folded);
        preds->push_back(Make(PredicateKind::kFoldedGlob, Affix(folded, is_prefix)));
        return;
      }
      if (!NeedString(v, absl::StrCat("'", op, "'"))) return;
      preds->push_back(Make(PredicateKind::kStringGlob, Affix(v.Scalar(), is_prefix)));
    } else if (op == "equals-ignore-case") {
      if (!NeedString(v, "'equals-ignore-case'")) return;
      std::string folded;
      FoldCase(v.Scalar(), &folded);
      preds->push_back(Make(PredicateKind::kFoldedGlob, EscapeGlobLiteral(folded)));
    } else if (op == "wildcard") {
      if (!NeedString(v, "'wildcard'")) return;
      if (Wildcard(v)) {
        preds->push_back(Make(PredicateKind::kStringGlob, v.Scalar()));
        NoteWildcard(v, 0);
      }
    } else if (op == "shellstyle") {
      // quamina's shell-style pattern: a wildcard without escapes.
      if (!NeedString(v, "'shellstyle'")) return;
      if (ShellStyle(v)) preds->push_back(Make(PredicateKind::kStringGlob, ShellGlob(v.Scalar())));
    } else if (op == "anything-but") {
      AnythingBut(v, preds);
    } else if (op == "numeric") {
      Numeric(v, preds);
    } else if (op == "cidr") {
      if (!NeedString(v, "'cidr'")) return;
      IpNetwork net;
      // EventBridge wants a block, so a bare address (which ParseCidr takes
      // as /32 or /128) is refused too.
      if (v.Scalar().find('/') == std::string::npos || !ParseCidr(v.Scalar(), &net)) {
        diags_.Error(v, absl::StrCat("bad CIDR block '", v.Scalar(),
                                     "' (expected an address and a prefix length, e.g. "
                                     "10.0.0.0/24 or 2001:db8::/32)"));
        return;
      }
      preds->push_back(Make(PredicateKind::kCidr, v.Scalar()));
    } else if (op == "exists") {
      ScalarKind k = v.IsScalar() ? KindOf(v) : ScalarKind::kString;
      if (k == ScalarKind::kTrue) {
        preds->push_back(Make(PredicateKind::kExists, ""));
      } else if (k == ScalarKind::kFalse) {
        *exists_false = true;
      } else {
        diags_.Error(v, absl::StrCat("'exists' takes true or false, not ", Describe(v)));
      }
    } else if (op == "$or") {
      diags_.Error(kv.first, "'$or' cannot appear in a list of values; put it in the pattern "
                             "object beside the fields it combines");
    } else {
      diags_.Error(kv.first, absl::StrCat("unknown operator '", op, "' (expected one of: ",
                                          OperatorList(), "; names are case-sensitive)"));
    }
  }

  static std::string Affix(std::string_view literal, bool is_prefix) {
    std::string g = EscapeGlobLiteral(literal);
    return is_prefix ? absl::StrCat(g, "*") : absl::StrCat("*", g);
  }

  // Checks an EventBridge wildcard: `\*` and `\\` are the only escapes, and
  // two unescaped stars may not touch (EventBridge rejects `**`).
  bool Wildcard(const RNode& v) {
    const std::string& text = v.Scalar();
    bool last_star = false;
    size_t stars = 0;
    for (size_t i = 0; i < text.size(); ++i) {
      char c = text[i];
      if (c == '\\') {
        if (i + 1 >= text.size() || (text[i + 1] != '*' && text[i + 1] != '\\')) {
          diags_.Error(v, absl::StrCat("bad wildcard '", text,
                                       "': a backslash may only escape * or \\ (write \\\\ for "
                                       "a backslash)"));
          return false;
        }
        ++i;
        last_star = false;
      } else if (c == '*') {
        if (last_star) {
          diags_.Error(v, absl::StrCat("bad wildcard '", text,
                                       "': consecutive '*' are not allowed (one * already "
                                       "matches any run of characters)"));
          return false;
        }
        last_star = true;
        ++stars;
      } else {
        last_star = false;
      }
    }
    if (text.size() > options_.max_pattern_bytes) {
      diags_.Error(v, absl::StrCat("wildcard is ", text.size(), " bytes; the limit is ",
                                   options_.max_pattern_bytes));
      return false;
    }
    if (stars > options_.max_wildcard_stars) {
      diags_.Error(v, absl::StrCat("wildcard '", text, "' has ", stars, " stars; the limit is ",
                                   options_.max_wildcard_stars));
      return false;
    }
    return true;
  }

  // Checks a quamina shell-style pattern: `*` matches any run of characters,
  // every other character (a backslash too) stands for itself, and two stars
  // may not touch (quamina refuses them).
  bool ShellStyle(const RNode& v) {
    const std::string& text = v.Scalar();
    if (text.find("**") != std::string::npos) {
      diags_.Error(v, absl::StrCat("bad shellstyle pattern '", text,
                                   "': adjacent '*' are not allowed (one * already matches any "
                                   "run of characters)"));
      return false;
    }
    if (text.size() > options_.max_pattern_bytes) {
      diags_.Error(v, absl::StrCat("shellstyle pattern is ", text.size(), " bytes; the limit is ",
                                   options_.max_pattern_bytes));
      return false;
    }
    size_t stars = static_cast<size_t>(std::count(text.begin(), text.end(), '*'));
    if (stars > options_.max_wildcard_stars) {
      diags_.Error(v, absl::StrCat("shellstyle pattern '", text, "' has ", stars,
                                   " stars; the limit is ", options_.max_wildcard_stars));
      return false;
    }
    return true;
  }

  // The glob of a shell-style pattern: backslashes escaped, stars kept.
  static std::string ShellGlob(const std::string& text) {
    std::string g;
    for (char c : text) {
      if (c == '\\') g += '\\';
      g += c;
    }
    return g;
  }

  // anything-but: a string, a number, a non-empty list of strings or of
  // numbers, or {prefix|suffix|equals-ignore-case|wildcard: string or list}.
  void AnythingBut(const RNode& v, std::vector<Predicate>* preds) {
    static constexpr char kForms[] =
        "'anything-but' takes a string, a number, a list of strings or of numbers, or one of "
        "{prefix|suffix|equals-ignore-case|wildcard: string or list of strings}";
    Predicate ab;
    ab.kind = PredicateKind::kAnythingBut;
    size_t before = diags_.count();
    if (v.IsMap()) {
      if (v.size() != 1 || !v.begin()->first.IsScalar()) {
        diags_.Error(v, kForms);
        return;
      }
      auto kv = *v.begin();
      const std::string op = kv.first.Scalar();
      if (op != "prefix" && op != "suffix" && op != "equals-ignore-case" && op != "wildcard") {
        diags_.Error(kv.first, absl::StrCat("'anything-but' does not take '", op, "'; ", kForms));
        return;
      }
      std::string what = absl::StrCat("'anything-but: {", op, "}'");
      std::vector<RNode> items;
      if (kv.second.IsSequence()) {
        if (kv.second.size() == 0) {
          diags_.Error(kv.second, absl::StrCat(what, " needs at least one string"));
          return;
        }
        for (const auto& e : kv.second) items.push_back(e);
      } else {
        items.push_back(kv.second);
      }
      for (const RNode& e : items) {
        if (!NeedString(e, what)) continue;
        const std::string& s = e.Scalar();
        if (op == "prefix" || op == "suffix") {
          // EventBridge refuses an empty one: it would exclude every string.
          if (s.empty()) {
            diags_.Error(e, absl::StrCat(what, " must not be empty"));
            continue;
          }
          ab.excluded.push_back(Make(PredicateKind::kStringGlob, Affix(s, op == "prefix")));
        } else if (op == "equals-ignore-case") {
          std::string folded;
          FoldCase(s, &folded);
          ab.excluded.push_back(Make(PredicateKind::kFoldedGlob, EscapeGlobLiteral(folded)));
        } else if (Wildcard(e)) {
          ab.excluded.push_back(Make(PredicateKind::kStringGlob, s));
          NoteWildcard(e, 1);
        }
      }
    } else {
      std::vector<RNode> items;
      if (v.IsSequence()) {
        if (v.size() == 0) {
          diags_.Error(v, "'anything-but' needs at least one value");
          return;
        }
        for (const auto& e : v) items.push_back(e);
      } else {
        items.push_back(v);
      }
      bool strings = false, numbers = false;
      for (const RNode& e : items) {
        if (IsString(e)) {
          strings = true;
          ab.excluded.push_back(Make(PredicateKind::kStringGlob, EscapeGlobLiteral(e.Scalar())));
        } else if (IsNumber(e)) {
          numbers = true;
          std::string canon;
          if (Number(e, &canon))
            ab.excluded.push_back(Make(PredicateKind::kNumberEq, std::move(canon)));
        } else {
          diags_.Error(e, absl::StrCat(kForms, "; not ", Describe(e)));
        }
      }
      if (strings && numbers) {
        diags_.Error(v, "the list of 'anything-but' must hold only strings or only numbers");
      }
    }
    if (diags_.count() != before) return;
    preds->push_back(std::move(ab));
  }

  // numeric: ["=", n], [op, n] with op one of < <= > >=, or
  // [">"|">=", low, "<"|"<=", high] with low < high.
  void Numeric(const RNode& v, std::vector<Predicate>* preds) {
    static constexpr char kForms[] =
        "'numeric' takes [\"=\", n], [\"<\"|\"<=\"|\">\"|\">=\", n] or "
        "[\">\"|\">=\", low, \"<\"|\"<=\", high]";
    if (!v.IsSequence() || (v.size() != 2 && v.size() != 4)) {
      diags_.Error(v, kForms);
      return;
    }
    std::vector<RNode> items;
    for (const auto& e : v) items.push_back(e);
    std::string ops[2], nums[2];
    bool ok = true;
    for (size_t i = 0; i < items.size(); i += 2) {
      const RNode& op = items[i];
      const RNode& n = items[i + 1];
      std::string o = op.IsScalar() ? op.Scalar() : "";
      if (!IsString(op) ||
          (o != "=" && o != "<" && o != "<=" && o != ">" && o != ">=")) {
        diags_.Error(op, absl::StrCat("expected a numeric operator (=, <, <=, >, >=) here, not ",
                                      op.IsScalar() && !op.IsNull() ? absl::StrCat("'", o, "'")
                                                                    : Describe(op),
                                      "; ", kForms));
        ok = false;
        continue;
      }
      ops[i / 2] = o;
      if (!IsNumber(n)) {
        std::string hint;
        if (IsString(n)) hint = " (a quoted number is a string)";
        diags_.Error(n, absl::StrCat("the operand of '", o, "' must be a number, not ",
                                     Describe(n), hint));
        ok = false;
        continue;
      }
      if (!Number(n, &nums[i / 2])) ok = false;
    }
    if (!ok) return;
    if (items.size() == 2) {
      Predicate p;
      if (ops[0] == "=") {
        preds->push_back(Make(PredicateKind::kNumberEq, nums[0]));
        return;
      }
      p.kind = PredicateKind::kNumberRange;
      if (ops[0][0] == '>') {
        p.lo = nums[0];
        p.lo_open = ops[0] == ">";
      } else {
        p.hi = nums[0];
        p.hi_open = ops[0] == "<";
      }
      preds->push_back(std::move(p));
      return;
    }
    if (ops[0][0] != '>' || ops[1][0] != '<') {
      diags_.Error(v, absl::StrCat("a numeric range gives the lower bound (> or >=) first and "
                                   "the upper bound (< or <=) second; ",
                                   kForms));
      return;
    }
    if (CompareDecimal(ParseCanonical(nums[0]), ParseCanonical(nums[1])) >= 0) {
      diags_.Error(v, absl::StrCat("the lower bound ", items[1].Scalar(),
                                   " of a numeric range must be below the upper bound ",
                                   items[3].Scalar()));
      return;
    }
    Predicate p;
    p.kind = PredicateKind::kNumberRange;
    p.lo = nums[0];
    p.lo_open = ops[0] == ">";
    p.hi = nums[1];
    p.hi_open = ops[1] == "<";
    preds->push_back(std::move(p));
  }

  // EventBridge's wildcards (not quamina's shellstyle, which has no such
  // limit) are kept per field for the complexity check; `kind` tells a
  // wildcard from an anything-but wildcard, which EventBridge counts apart.
  void NoteWildcard(const RNode& v, int kind) {
    WildcardBytes b = QuotedWildcard(v.Scalar());
    b.kind = kind;
    wildcards_.push_back({*leaf_path_, v, std::move(b)});
  }

 public:
  // EventBridge's complexity limit, per field over all of the rule's
  // wildcards on it; false after reporting a field over the limit.
  bool CheckWildcardComplexity() {
    if (wildcards_.empty()) return true;
    std::map<std::string, std::vector<size_t>> by_path;
    for (size_t i = 0; i < wildcards_.size(); ++i) by_path[wildcards_[i].path].push_back(i);
    bool ok = true;
    for (const auto& [path, uses] : by_path) {
      std::vector<WildcardBytes> patterns;
      for (size_t i : uses) patterns.push_back(wildcards_[i].bytes);
      if (WildcardComplexityBound(patterns) <= kMaxWildcardComplexity) continue;
      // Measured up to 100, event-ruler's own cap, to show the figure.
      size_t c = WildcardComplexity(patterns, 100);
      if (c <= kMaxWildcardComplexity) continue;
      ok = false;
      diags_.Error(wildcards_[uses.back()].at,
                   absl::StrCat("the wildcards on field '", path, "' are too complex for "
                                "EventBridge: complexity ", c, c >= 100 ? " or more" : "",
                                ", the limit is ", kMaxWildcardComplexity,
                                " (EventBridge refuses it: \"Rule is too complex - try using "
                                "fewer wildcard characters or fewer repeating character "
                                "sequences after a wildcard character\")"));
    }
    return ok;
  }

 private:
  struct WildcardUse {
    std::string path;
    RNode at;
    WildcardBytes bytes;
  };

  DiagSink& diags_;
  const LoadOptions& options_;
  bool too_deep_ = false;
  const std::string* leaf_path_ = nullptr;  // the field of the leaf being lowered
  std::vector<WildcardUse> wildcards_;
};

// A field named twice in one alternative: as `a: {b: ...}` and `a.b: ...`,
// or outside `$or` and inside one of its alternatives. EventBridge keeps
// only the later one (event-ruler, in its strict mode, refuses it); neither
// is what the pattern seems to say, so it is a diagnostic, reported once at
// each later mention.
bool CheckFieldsNamedOnce(const Dnf& dnf, DiagSink& diags) {
  std::vector<std::pair<int, int>> reported;
  std::vector<size_t> order;
  for (const Alternative& alt : dnf) {
    if (alt.clauses.size() < 2) continue;
    order.resize(alt.clauses.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      const std::string& pa = alt.clauses[a].path;
      const std::string& pb = alt.clauses[b].path;
      return pa != pb ? pa < pb : Before(alt.keys[a], alt.keys[b]);
    });
    for (size_t k = 1; k < order.size(); ++k) {
      const Clause& first = alt.clauses[order[k - 1]];
      const Clause& again = alt.clauses[order[k]];
      if (first.path != again.path) continue;
      const NodeMark at = alt.keys[order[k]];
      if (std::find(reported.begin(), reported.end(), std::pair(at.line, at.column)) !=
          reported.end())
        continue;
      reported.emplace_back(at.line, at.column);
      diags.Error(at, absl::StrCat("field '", again.path,
                                   "' is named twice in one alternative of the pattern; give all "
                                   "its values in one list, or name it only inside each "
                                   "alternative of '$or'"));
    }
  }
  return reported.empty();
}

}  // namespace

bool LowerPattern(const RNode& node, DiagSink& diags, const LoadOptions& options,
                  Condition* out) {
  if (!node.IsMap()) {
    diags.Error(node, absl::StrCat("'pattern' must be an event pattern: a map from field name to "
                                   "a list of values or a nested pattern, not ",
                                   Describe(node)));
    return false;
  }
  PatternLowerer lower(diags, options);
  Dnf dnf;
  if (!lower.Object(node, "", {}, &dnf) || !CheckFieldsNamedOnce(dnf, diags)) return false;
  if (!lower.CheckWildcardComplexity()) return false;
  out->any_of.reserve(out->any_of.size() + dnf.size());
  for (Alternative& alt : dnf) {
    // Rules are kept for the life of the set: no slack from growing.
    for (Clause& c : alt.clauses) c.any_of.shrink_to_fit();
    alt.clauses.shrink_to_fit();
    Conjunction conj;
    conj.all_of = std::move(alt.clauses);
    conj.array_consistent = true;
    out->any_of.push_back(std::move(conj));
  }
  return true;
}

}  // namespace weir
