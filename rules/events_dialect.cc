// The `events` dialect (docs/rules.md, "events"): the ArcGIS portal's webhook
// trigger URIs such as /items, /items/share, /items/<id>, /items/<id>/share.
//
// Each URI is parsed into (collection, id or any, operation or any) and
// lowered twice: once over the elements of the payload's `events` array
// (source, id and operation from one element: array-consistent), once over a
// top-level `uri` string. URIs of one rule that differ only in their id share
// one conjunction whose id clause lists them all, so a rule with many URIs
// stays a handful of conjunctions. Every predicate of the common forms is an
// exact value or a prefix/suffix glob, which the engine looks up in hash
// maps; none needs a general wildcard automaton.
#include <algorithm>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/casefold.h"
#include "engine/glob.h"
#include "rules/frontend.h"

namespace weir {

namespace {

struct Collection {
  const char* plural;    // as written in URIs: items
  const char* singular;  // also accepted in payloads: item
  std::vector<const char*> ops;  // as the ArcGIS portal documents them
};

// The ArcGIS portal's webhook trigger events, per collection. Its
// documentation spells the user operations signin/signout for any user and
// signIn/signOut for one user; they are the same operations because
// operations compare case-insensitively.
const std::vector<Collection>& Collections() {
  static const auto* kCollections = new std::vector<Collection>{
      {"items",
       "item",
       {"add", "delete", "update", "move", "publish", "share", "unshare", "reassign",
        "addComment", "deleteComment", "updateComment"}},
      {"groups",
       "group",
       {"add", "update", "delete", "protect", "unprotect", "invite", "addUsers", "removeUsers",
        "updateUsers", "reassign", "itemShare", "itemUnshare", "requestJoin"}},
      {"users",
       "user",
       {"add", "signin", "signout", "delete", "update", "disable", "enable", "updateUserRole",
        "updateUserLicenseType", "bulkEnable", "bulkDisable"}},
      {"roles", "role", {"add", "update", "delete"}},
  };
  return *kCollections;
}

std::string Fold(std::string_view s) {
  std::string out;
  FoldCase(s, &out);
  return out;
}

// The operation of `c` that `segment` names, compared case-insensitively.
const char* FindOp(const Collection& c, std::string_view segment) {
  std::string folded = Fold(segment);
  for (const char* op : c.ops)
    if (Fold(op) == folded) return op;
  return nullptr;
}

// One parsed URI. `collection` null means `/`; `id` empty means any id;
// `op` null means any operation.
struct Uri {
  const Collection* collection = nullptr;
  std::string id;
  const char* op = nullptr;
};

bool IsPlaceholder(const std::string& s) {
  return s.size() >= 2 && s.front() == '<' && s.back() == '>';
}

// What to write instead of the placeholder at segment i.
std::string PlaceholderHint(const std::vector<std::string>& segs, size_t i) {
  if (i == 0) return "a collection: items, groups, users or roles";
  if (i >= 2) return "an operation";
  std::string noun = "the id";
  std::string any = "any id";
  for (const Collection& c : Collections()) {
    if (segs[0] != c.plural) continue;
    noun = std::string(c.singular) == "user" ? "the username"
                                             : absl::StrCat("the ", c.singular, "'s id");
    any = absl::StrCat("any ", c.singular);
  }
  return absl::StrCat(noun, ", or * for ", any);
}

class UriParser {
 public:
  explicit UriParser(DiagSink& diags) : diags_(diags) {}

  bool Parse(const RNode& node, Uri* out) {
    if (!node.IsScalar() || node.IsNull() || KindOf(node) != ScalarKind::kString) {
      diags_.Error(node, "a portal event URI must be a string such as /items/share");
      return false;
    }
    const std::string& text = node.Scalar();
    if (text.empty() || text[0] != '/') {
      return Fail(node, absl::StrCat("portal event URI '", text,
                                     "' must start with '/', e.g. /items/share"));
    }
    if (text == "/") return true;
    std::vector<std::string> segs = absl::StrSplit(text.substr(1), '/');
    // Problems that make the shape unreadable come first, for any segment.
    for (size_t i = 0; i < segs.size(); ++i) {
      if (segs[i].empty()) {
        return Fail(node, absl::StrCat("empty path segment in URI '", text, "'",
                                       i + 1 == segs.size() ? " (remove the trailing '/')" : ""));
      }
      if (IsPlaceholder(segs[i])) {
        return Fail(node, absl::StrCat("placeholder segment '", segs[i], "' in URI '", text,
                                       "' (as in the seed's table): write ",
                                       PlaceholderHint(segs, i)));
      }
    }
    if (segs.size() > 3) {
      return Fail(node, absl::StrCat("too many segments in URI '", text,
                                     "': the longest form is /<collection>/<id>/<operation>"));
    }
    out->collection = FindCollection(node, text, segs[0]);
    if (!out->collection) return false;
    const Collection& c = *out->collection;
    if (segs.size() == 2) {
      // A known operation is an operation, anything else an id (docs/rules.md, "URI forms").
      if (segs[1] != "*") {
        if (const char* op = FindOp(c, segs[1])) {
          out->op = op;
        } else {
          out->id = std::string(segs[1]);
        }
      }
      return true;
    }
    if (segs.size() == 3) {
      if (segs[1] != "*") out->id = std::string(segs[1]);
      if (segs[2] == "*") {
        return Fail(node, absl::StrCat("'*' stands for an id only; for every operation write /",
                                       c.plural, "/", segs[1]));
      }
      out->op = FindOp(c, segs[2]);
      if (!out->op) {
        return Fail(node, absl::StrCat("unknown ", c.singular, " operation '", segs[2],
                                       "' in URI '", text, "' (expected one of: ",
                                       absl::StrJoin(c.ops, ", "), ")"));
      }
    }
    return true;
  }

 private:
  bool Fail(const RNode& node, std::string message) {
    diags_.Error(node, std::move(message));
    return false;
  }

  const Collection* FindCollection(const RNode& node, const std::string& text,
                                   const std::string& seg) {
    for (const Collection& c : Collections())
      if (seg == c.plural) return &c;
    std::string hint;
    if (seg == "*") {
      hint = "; '*' stands for an id only (for every event write /)";
    } else {
      for (const Collection& c : Collections()) {
        if (seg == c.singular || Fold(seg) == c.plural || Fold(seg) == c.singular) {
          hint = absl::StrCat("; did you mean '", c.plural, "'?");
        }
      }
      if (hint.empty() && text.find(',') != std::string::npos)
        hint = "; give several URIs as a list, e.g. [/items, /users]";
    }
    Fail(node, absl::StrCat("unknown collection '", seg, "' in URI '", text,
                            "' (expected items, groups, users or roles", hint, ")"));
    return nullptr;
  }

  DiagSink& diags_;
};

Predicate Pred(PredicateKind kind, std::string text) {
  Predicate p;
  p.kind = kind;
  p.text = std::move(text);
  return p;
}

// A string equal to `literal`.
Predicate Str(std::string_view literal) {
  return Pred(PredicateKind::kStringGlob, EscapeGlobLiteral(literal));
}

// A string whose case fold equals that of `literal`.
Predicate Folded(std::string_view literal) {
  return Pred(PredicateKind::kFoldedGlob, EscapeGlobLiteral(Fold(literal)));
}

Clause MakeClause(std::string path, std::vector<Predicate> preds) {
  Clause c;
  c.path = std::move(path);
  c.any_of = std::move(preds);
  return c;
}

// URIs of one rule with the same collection and operation; their ids are
// ORed (exact: the other clauses do not depend on the id).
struct Group {
  const Collection* collection;
  const char* op;
  bool any_id = false;
  std::vector<std::string> ids;
};

// source, id and operation from one element of the `events` array.
Conjunction ElementConjunction(const Group& g, const UriFields& f) {
  const std::string base = f.events + ".";
  Conjunction conj;
  conj.array_consistent = true;
  std::vector<Predicate> source, id, op;
  if (g.collection) {
    source = {Str(g.collection->plural), Str(g.collection->singular)};
  } else {
    source = {Pred(PredicateKind::kExists, "")};
  }
  if (g.any_id) {
    id = {Pred(PredicateKind::kExists, "")};
  } else {
    for (const std::string& i : g.ids) id.push_back(Str(i));
  }
  op = {g.op ? Folded(g.op) : Pred(PredicateKind::kExists, "")};
  conj.all_of.push_back(MakeClause(base + f.source, std::move(source)));
  conj.all_of.push_back(MakeClause(base + f.id, std::move(id)));
  conj.all_of.push_back(MakeClause(base + f.operation, std::move(op)));
  return conj;
}

// The same over a top-level uri string /<collection>/<id>/<operation>.
// Collection and id compare exactly, the operation case-insensitively:
// a case-sensitive prefix "/items/<id>/" and a folded whole-uri or suffix
// test for the operation. Both are hash lookups in the engine.
Conjunction UriConjunction(const Group& g, const UriFields& f) {
  Conjunction conj;
  conj.array_consistent = true;  // should `uri` be an array, one element
  if (!g.collection) {
    conj.all_of.push_back(MakeClause(f.uri, {Pred(PredicateKind::kStringGlob, "/*")}));
    return conj;
  }
  const char* names[] = {g.collection->plural, g.collection->singular};
  std::vector<Predicate> prefix, op;
  for (const char* name : names) {
    std::string head = absl::StrCat("/", name, "/");
    if (g.any_id) {
      prefix.push_back(Pred(PredicateKind::kStringGlob, absl::StrCat(head, "*")));
      continue;
    }
    for (const std::string& id : g.ids) {
      prefix.push_back(
          Pred(PredicateKind::kStringGlob, absl::StrCat(head, EscapeGlobLiteral(id), "/*")));
      // The fold of the whole uri pins the operation; the prefix above keeps
      // the id case-sensitive.
      if (g.op) op.push_back(Folded(absl::StrCat(head, id, "/", g.op)));
    }
  }
  if (g.op && g.any_id) {
    op.push_back(
        Pred(PredicateKind::kFoldedGlob, absl::StrCat("*/", EscapeGlobLiteral(Fold(g.op)))));
  }
  conj.all_of.push_back(MakeClause(f.uri, std::move(prefix)));
  if (!op.empty()) conj.all_of.push_back(MakeClause(f.uri, std::move(op)));
  return conj;
}

}  // namespace

bool LowerEvents(const RNode& node, DiagSink& diags, const UriFields& fields,
                 Condition* out) {
  if (!node.IsSequence()) {
    std::string hint;
    if (node.IsScalar() && !node.IsNull())
      hint = absl::StrCat(": write [", node.Scalar(), "]");
    diags.Error(node, absl::StrCat("'events' must be a list of portal event URIs such as "
                                   "[/items/share, /users]",
                                   hint));
    return false;
  }
  if (node.size() == 0) {
    diags.Error(node, "the list of portal event URIs is empty; it would match nothing");
    return false;
  }
  size_t before = diags.count();
  UriParser parser(diags);
  std::vector<Group> groups;
  for (const auto& e : node) {
    Uri uri;
    if (!parser.Parse(e, &uri)) continue;  // reported; keep checking the rest
    Group* g = nullptr;
    for (Group& candidate : groups)
      if (candidate.collection == uri.collection && candidate.op == uri.op) g = &candidate;
    if (!g) {
      groups.push_back({uri.collection, uri.op, false, {}});
      g = &groups.back();
    }
    // `/` and `*` ids need no id list; a duplicate id adds nothing.
    if (!uri.collection || uri.id.empty()) {
      g->any_id = true;
      g->ids.clear();
    } else if (!g->any_id &&
               std::find(g->ids.begin(), g->ids.end(), uri.id) == g->ids.end()) {
      g->ids.push_back(std::move(uri.id));
    }
  }
  if (diags.count() != before) return false;
  for (const Group& g : groups) {
    out->any_of.push_back(ElementConjunction(g, fields));
    out->any_of.push_back(UriConjunction(g, fields));
  }
  return true;
}

}  // namespace weir
