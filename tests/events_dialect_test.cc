// docs/rules.md, the `events` dialect (the ArcGIS portal's webhook trigger
// URIs): one test per URI form, case and number of collection names, the
// top-level `uri`, `uri_fields`, array consistency, and diagnostics.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/glob.h"
#include "test_util.h"

namespace weir::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// A one-rule file whose `events:` value is `uris` (YAML flow).
std::string OneRule(const std::string& uris) {
  return "rules:\n  - id: r\n    events: " + uris + "\n";
}

std::shared_ptr<const RuleSet> E(const std::string& uris) { return CompileText(OneRule(uris)); }

// A portal payload with one element in `events`.
std::string Ev(const std::string& source, const std::string& id, const std::string& op) {
  return absl::StrCat(R"({"info":{"webhookName":"w"},"events":[{"id":")", id,
                      R"(","operation":")", op, R"(","source":")", source,
                      R"(","properties":{}}]})");
}

// A payload that carries only a top-level uri.
std::string Uri(const std::string& uri) { return absl::StrCat(R"({"uri":")", uri, R"("})"); }

// The diagnostics of a file that must be rejected, one "line:col: message"
// per entry.
std::vector<std::string> Diags(const std::string& text) {
  LoadResult r = Load(text);
  EXPECT_FALSE(r.ok()) << "accepted:\n" << text;
  std::vector<std::string> out;
  for (const auto& d : r.diagnostics)
    out.push_back(absl::StrCat(d.where.line, ":", d.where.column, ": ", d.message));
  return out;
}

std::string Joined(const std::vector<std::string>& v) { return absl::StrJoin(v, "\n"); }

// ---------------------------------------------------------------------------
// URI forms.

TEST(EventsDialect, RootMatchesEveryPortalEventAndNothingElse) {
  auto rs = E("[/]");
  EXPECT_TRUE(Matches(rs, Ev("item", "6cd8", "add")));
  EXPECT_TRUE(Matches(rs, Ev("group", "ecd6", "addUsers")));
  EXPECT_TRUE(Matches(rs, Ev("notebook", "n1", "run")));  // fields present: a portal event
  EXPECT_TRUE(Matches(rs, Uri("/items/6cd8/share")));
  // Not portal events: fields missing, or a uri that is not a path.
  EXPECT_FALSE(Matches(rs, R"({"Type":"job.created","EventId":"b02a","TenantId":1})"));
  EXPECT_FALSE(Matches(rs, R"({"events":[{"source":"item","id":"6cd8"}]})"));
  EXPECT_FALSE(Matches(rs, R"({"events":[{"source":"item","operation":"add"}]})"));
  EXPECT_FALSE(Matches(rs, R"({"events":[]})"));
  EXPECT_FALSE(Matches(rs, Uri("https://example.com/items/6cd8/share")));
  EXPECT_FALSE(Matches(rs, R"({"uri":5})"));
}

TEST(EventsDialect, CollectionMatchesEveryEventOfThatCollection) {
  auto rs = E("[/items]");
  EXPECT_TRUE(Matches(rs, Ev("item", "6cd8", "add")));
  EXPECT_TRUE(Matches(rs, Ev("items", "6cd8", "updateComment")));
  EXPECT_FALSE(Matches(rs, Ev("group", "6cd8", "add")));
  EXPECT_FALSE(Matches(rs, Ev("Item", "6cd8", "add")));  // collections are exact
  EXPECT_TRUE(Matches(rs, Uri("/items/6cd8/share")));
  EXPECT_TRUE(Matches(rs, Uri("/item/6cd8/share")));
  EXPECT_FALSE(Matches(rs, Uri("/groups/6cd8/update")));
  EXPECT_FALSE(Matches(rs, Uri("/itemsx/6cd8/update")));
  EXPECT_FALSE(Matches(rs, Uri("/items")));  // names no event
}

TEST(EventsDialect, CollectionAndOperationMatchesThatOperationOnAnyTarget) {
  auto rs = E("[/items/share]");
  EXPECT_TRUE(Matches(rs, Ev("item", "6cd8", "share")));
  EXPECT_TRUE(Matches(rs, Ev("items", "7dd9", "share")));
  EXPECT_FALSE(Matches(rs, Ev("item", "6cd8", "unshare")));
  EXPECT_FALSE(Matches(rs, Ev("group", "ecd6", "itemShare")));
  EXPECT_TRUE(Matches(rs, Uri("/items/6cd8/share")));
  EXPECT_TRUE(Matches(rs, Uri("/item/6cd8/SHARE")));
  EXPECT_FALSE(Matches(rs, Uri("/items/6cd8/unshare")));
  EXPECT_FALSE(Matches(rs, Uri("/items/share/update")));  // an item whose id is "share"
  EXPECT_FALSE(Matches(rs, Uri("/groups/6cd8/share")));
}

TEST(EventsDialect, CollectionAndIdMatchesEveryEventOfThatTarget) {
  auto rs = E("[/items/6cd80cb32d4a4b4d858a020e57fba7b1]");
  EXPECT_TRUE(Matches(rs, Ev("item", "6cd80cb32d4a4b4d858a020e57fba7b1", "add")));
  EXPECT_TRUE(Matches(rs, Ev("items", "6cd80cb32d4a4b4d858a020e57fba7b1", "deleteComment")));
  EXPECT_FALSE(Matches(rs, Ev("item", "7dd95fadaec84859ab8ed1059e675e0c", "add")));
  EXPECT_FALSE(Matches(rs, Ev("group", "6cd80cb32d4a4b4d858a020e57fba7b1", "update")));
  EXPECT_FALSE(Matches(rs, Ev("item", "6CD80CB32D4A4B4D858A020E57FBA7B1", "add")));  // ids exact
  // A uri of any operation on the item matches ("every event of that item").
  EXPECT_TRUE(Matches(rs, Uri("/items/6cd80cb32d4a4b4d858a020e57fba7b1/share")));
  EXPECT_TRUE(Matches(rs, Uri("/item/6cd80cb32d4a4b4d858a020e57fba7b1/update")));
  EXPECT_FALSE(Matches(rs, Uri("/items/6cd80cb32d4a4b4d858a020e57fba7b1x/share")));
  EXPECT_FALSE(Matches(rs, Uri("/groups/6cd80cb32d4a4b4d858a020e57fba7b1/update")));
}

TEST(EventsDialect, CollectionIdAndOperationMatchesThatOperationOnThatTarget) {
  auto rs = E("[/groups/ecd6646698b24180904e4888d5eaede3/addUsers]");
  EXPECT_TRUE(Matches(rs, Ev("group", "ecd6646698b24180904e4888d5eaede3", "addUsers")));
  EXPECT_TRUE(Matches(rs, Ev("groups", "ecd6646698b24180904e4888d5eaede3", "addusers")));
  EXPECT_FALSE(Matches(rs, Ev("group", "ecd6646698b24180904e4888d5eaede3", "removeUsers")));
  EXPECT_FALSE(Matches(rs, Ev("group", "2dff15c514ad4f04b291e304e24a524b", "addUsers")));
  EXPECT_FALSE(Matches(rs, Ev("item", "ecd6646698b24180904e4888d5eaede3", "addUsers")));
  EXPECT_TRUE(Matches(rs, Uri("/groups/ecd6646698b24180904e4888d5eaede3/addUsers")));
  EXPECT_TRUE(Matches(rs, Uri("/groups/ecd6646698b24180904e4888d5eaede3/ADDUSERS")));
  EXPECT_FALSE(Matches(rs, Uri("/groups/ECD6646698B24180904E4888D5EAEDE3/addUsers")));
  EXPECT_FALSE(Matches(rs, Uri("/groups/ecd6646698b24180904e4888d5eaede3/removeUsers")));
  EXPECT_FALSE(Matches(rs, Uri("/groups/2dff15c514ad4f04b291e304e24a524b/addUsers")));
}

TEST(EventsDialect, SecondSegmentThatIsNoOperationIsAnId) {
  // docs/rules.md as written: /items/frobnicate is the item whose id is frobnicate.
  auto rs = E("[/items/frobnicate]");
  EXPECT_TRUE(Matches(rs, Ev("item", "frobnicate", "update")));
  EXPECT_FALSE(Matches(rs, Ev("item", "6cd8", "frobnicate")));
  EXPECT_TRUE(Matches(rs, Uri("/items/frobnicate/update")));
  // A known operation is an operation, whatever its case.
  auto op = E("[/items/UnShare]");
  EXPECT_TRUE(Matches(op, Ev("item", "6cd8", "unshare")));
  EXPECT_FALSE(Matches(op, Ev("item", "UnShare", "update")));
}

TEST(EventsDialect, StarIsAnyId) {
  auto all = E(R"(["/items/*"])");
  EXPECT_TRUE(Matches(all, Ev("item", "6cd8", "move")));
  EXPECT_FALSE(Matches(all, Ev("group", "6cd8", "move")));
  EXPECT_TRUE(Matches(all, Uri("/items/6cd8/move")));
  auto op = E(R"(["/items/*/reassign"])");
  EXPECT_TRUE(Matches(op, Ev("item", "7dd9", "reassign")));
  EXPECT_FALSE(Matches(op, Ev("item", "7dd9", "move")));
  EXPECT_TRUE(Matches(op, Uri("/items/7dd9/Reassign")));
  EXPECT_FALSE(Matches(op, Uri("/items/7dd9/move")));
  // A star inside a segment is a literal character of the id.
  auto lit = E(R"(["/users/a*b/signin"])");
  EXPECT_TRUE(Matches(lit, Ev("user", "a*b", "signin")));
  EXPECT_FALSE(Matches(lit, Ev("user", "axxb", "signin")));
  EXPECT_TRUE(Matches(lit, Uri("/users/a*b/signIn")));
  EXPECT_FALSE(Matches(lit, Uri("/users/axxb/signIn")));
}

TEST(EventsDialect, IdsWithGlobMetacharactersAreLiteral) {
  auto rs = E(R"(['/users/back\slash', '/users/st*r\*/update'])");
  EXPECT_TRUE(Matches(rs, Ev("user", R"(back\\slash)", "update")));
  EXPECT_FALSE(Matches(rs, Ev("user", "backslash", "update")));
  EXPECT_TRUE(Matches(rs, Ev("user", R"(st*r\\*)", "update")));
  EXPECT_FALSE(Matches(rs, Ev("user", R"(stXr\\*)", "update")));
  EXPECT_TRUE(Matches(rs, Uri(R"(/users/back\\slash/disable)")));
  EXPECT_TRUE(Matches(rs, Uri(R"(/users/st*r\\*/UPDATE)")));
  EXPECT_FALSE(Matches(rs, Uri(R"(/users/stXr\\*/update)")));
  EXPECT_FALSE(Matches(rs, Uri(R"(/users/st*r\\*/delete)")));
}

TEST(EventsDialect, EveryCollectionAndOperationOfSeed003IsAccepted) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> vocab = {
      {"items",
       {"add", "delete", "update", "move", "publish", "share", "unshare", "reassign",
        "addComment", "deleteComment", "updateComment"}},
      {"groups",
       {"add", "update", "delete", "protect", "unprotect", "invite", "addUsers", "removeUsers",
        "updateUsers", "reassign", "itemShare", "itemUnshare", "requestJoin"}},
      {"users",
       {"add", "signin", "signout", "delete", "update", "disable", "enable", "updateUserRole",
        "updateUserLicenseType", "bulkEnable", "bulkDisable", "signIn", "signOut"}},
      {"roles", {"add", "update", "delete"}},
  };
  std::string singular[] = {"item", "group", "user", "role"};
  int k = 0;
  for (const auto& [c, ops] : vocab) {
    for (const std::string& op : ops) {
      auto any = E(absl::StrCat("[/", c, "/", op, "]"));
      auto one = E(absl::StrCat("[/", c, "/x1/", op, "]"));
      EXPECT_TRUE(Matches(any, Ev(singular[k], "x1", op))) << c << "/" << op;
      EXPECT_TRUE(Matches(any, Ev(c, "x2", op))) << c << "/" << op;
      EXPECT_TRUE(Matches(one, Ev(singular[k], "x1", op))) << c << "/x1/" << op;
      EXPECT_FALSE(Matches(one, Ev(singular[k], "x2", op))) << c << "/x1/" << op;
      EXPECT_TRUE(Matches(one, Uri(absl::StrCat("/", c, "/x1/", op)))) << c << "/x1/" << op;
    }
    ++k;
  }
}

// ---------------------------------------------------------------------------
// Case, singular and plural.

TEST(EventsDialect, OperationsCompareCaseInsensitively) {
  auto any = E("[/users/signin]");
  for (const char* op : {"signin", "signIn", "SIGNIN", "SignIn"}) {
    EXPECT_TRUE(Matches(any, Ev("user", "jsmith", op))) << op;
    EXPECT_TRUE(Matches(any, Uri(absl::StrCat("/users/jsmith/", op)))) << op;
  }
  EXPECT_FALSE(Matches(any, Ev("user", "jsmith", "signout")));
  auto one = E("[/users/jsmith/signIn]");
  EXPECT_TRUE(Matches(one, Ev("user", "jsmith", "signin")));
  EXPECT_TRUE(Matches(one, Uri("/users/jsmith/SIGNIN")));
  EXPECT_FALSE(Matches(one, Ev("user", "gis_admin", "signIn")));
  EXPECT_FALSE(Matches(one, Ev("user", "JSmith", "signIn")));  // usernames are exact
  auto upper = E("[/users/SIGNOUT, /roles/Add]");
  EXPECT_TRUE(Matches(upper, Ev("user", "jsmith", "signout")));
  EXPECT_TRUE(Matches(upper, Ev("role", "r1", "add")));
}

TEST(EventsDialect, SourceMayBeSingularOrPlural) {
  const char* pairs[][2] = {{"items", "item"}, {"groups", "group"}, {"users", "user"},
                            {"roles", "role"}};
  for (auto& [plural, singular] : pairs) {
    auto rs = E(absl::StrCat("[/", plural, "/update]"));
    EXPECT_TRUE(Matches(rs, Ev(plural, "x", "update"))) << plural;
    EXPECT_TRUE(Matches(rs, Ev(singular, "x", "update"))) << singular;
    EXPECT_TRUE(Matches(rs, Uri(absl::StrCat("/", plural, "/x/update")))) << plural;
    EXPECT_TRUE(Matches(rs, Uri(absl::StrCat("/", singular, "/x/update")))) << singular;
    EXPECT_FALSE(Matches(rs, Ev(absl::StrCat(singular, "z"), "x", "update")));
  }
}

TEST(EventsDialect, UsersAreIdentifiedByUsername) {
  auto rs = E("[/users/jsmith]");
  EXPECT_TRUE(Matches(rs, R"({"events":[{"id":"jsmith","operation":"signout","source":"user",)"
                          R"("userId":"86ccfe86be2d490a8507eaea82749dc6","username":"jsmith"}]})"));
  EXPECT_FALSE(Matches(rs, R"({"events":[{"id":"akim","operation":"updateUserRole",)"
                           R"("source":"users","username":"jsmith"}]})"));
}

// ---------------------------------------------------------------------------
// Payload shapes.

TEST(EventsDialect, AnyElementOfTheEventsArrayMayMatch) {
  auto rs = CompileText(R"(rules:
  - id: item-deleted
    events: [/items/delete]
  - id: membership
    events: [/groups/addUsers, /groups/removeUsers]
  - id: roles
    events: [/roles]
)");
  const std::string two =
      R"({"events":[{"id":"b1f4","operation":"delete","source":"item"},)"
      R"({"id":"2dff","operation":"removeUsers","source":"group"}]})";
  EXPECT_THAT(Ids(rs, two), ElementsAre("item-deleted", "membership"));
}

TEST(EventsDialect, FieldsMustComeFromOneElement) {
  auto rs = CompileText(R"(rules:
  - id: item-share
    events: [/items/share]
  - id: item-b
    events: [/items/B]
  - id: group-a-update
    events: [/groups/A/update]
  - id: item-a-update
    events: [/items/A/update]
  - id: group-b
    events: [/groups/B]
  - id: all
    events: [/]
)");
  const std::string event =
      R"({"events":[{"source":"item","id":"A","operation":"update"},)"
      R"({"source":"group","id":"B","operation":"share"}]})";
  EXPECT_THAT(Ids(rs, event), ElementsAre("item-a-update", "group-b", "all"));
  // `/` wants all three fields in one element too.
  EXPECT_THAT(Ids(rs, R"({"events":[{"source":"item","id":"A"},{"operation":"update"}]})"),
              IsEmpty());
}

TEST(EventsDialect, TopLevelUriAndEventsArrayAreBothRead) {
  auto rs = E("[/items/6cd8/share]");
  EXPECT_TRUE(Matches(rs, R"({"uri":"/items/6cd8/share","events":[]})"));
  EXPECT_TRUE(Matches(rs, R"({"uri":"/items/zzz/share","events":[)"
                          R"({"source":"item","id":"6cd8","operation":"share"}]})"));
  EXPECT_FALSE(Matches(rs, R"({"uri":"/items/zzz/share","events":[)"
                           R"({"source":"item","id":"6cd8","operation":"update"}]})"));
  // A uri nested anywhere else is not the top-level uri.
  EXPECT_FALSE(Matches(rs, R"({"info":{"uri":"/items/6cd8/share"}})"));
  // Should `uri` be an array, id and operation come from one element.
  EXPECT_TRUE(Matches(rs, R"({"uri":["/items/x/update","/items/6cd8/share"]})"));
  EXPECT_FALSE(Matches(rs, R"({"uri":["/items/6cd8/update","/items/6CD8/share"]})"));
}

TEST(EventsDialect, UriFieldsRenameTheFields) {
  auto rs = CompileText(R"(uri_fields: {events: payload.changes, source: kind, id: key,
             operation: action, uri: path}
rules:
  - id: shared
    events: [/items/6cd8/share]
  - id: all
    events: [/]
)");
  EXPECT_THAT(Ids(rs, R"({"payload":{"changes":[{"kind":"item","key":"6cd8","action":"Share"}]}})"),
              ElementsAre("shared", "all"));
  EXPECT_THAT(Ids(rs, R"({"path":"/items/6cd8/share"})"), ElementsAre("shared", "all"));
  // The default names are no longer read.
  EXPECT_THAT(Ids(rs, Ev("item", "6cd8", "share")), IsEmpty());
  EXPECT_THAT(Ids(rs, Uri("/items/6cd8/share")), IsEmpty());
}

TEST(EventsDialect, UriFieldsThatAreNotPathsAreDiagnostics) {
  EXPECT_THAT(Diags("uri_fields: {source: \"a..b\"}\nrules:\n  - id: r\n"
                    "    events: [/items]\n"),
              ElementsAre("1:22: a uri_fields value must be a property path"));
  auto d = Diags("uri_fields: {colour: red}\nrules:\n  - id: r\n    events: [/items]\n");
  ASSERT_EQ(d.size(), 1u) << Joined(d);
  EXPECT_NE(d[0].find("unknown key 'colour' in uri_fields"), std::string::npos) << d[0];
}

// ---------------------------------------------------------------------------
// The lowered form: what keeps 100,000 subscriptions as cheap as 10.

// Whether the engine indexes `p` in a hash map (exact value, prefix, suffix
// or existence) rather than in a wildcard automaton.
bool HashIndexed(const Predicate& p) {
  if (p.kind == PredicateKind::kExists) return true;
  Glob g;
  std::string err;
  if (!ParseGlob(p.text, &g, &err)) return false;
  return g.is_exact() || g.is_prefix() || g.is_suffix();
}

TEST(EventsDialect, CommonFormsLowerToHashIndexedPredicates) {
  for (const char* uris :
       {"[/]", "[/items]", "[/items/share]", "[/items/6cd8]", "[/items/6cd8/share]",
        R"(["/items/*/share"])", "[/users/jsmith/signIn]"}) {
    LoadResult r = Load(OneRule(uris));
    ASSERT_TRUE(r.ok()) << DiagText(r);
    const Condition& c = r.ruleset.rules[0].condition;
    EXPECT_EQ(c.any_of.size(), 2u) << uris;
    for (const Conjunction& conj : c.any_of) {
      EXPECT_TRUE(conj.array_consistent) << uris;
      for (const Clause& clause : conj.all_of)
        for (const Predicate& p : clause.any_of)
          EXPECT_TRUE(HashIndexed(p)) << uris << ": " << clause.path << " " << p.text;
    }
  }
}

TEST(EventsDialect, UrisThatDifferOnlyInTheirIdShareAConjunction) {
  std::string uris = "[";
  for (int i = 0; i < 2000; ++i) absl::StrAppend(&uris, i ? ", " : "", "/items/id", i, "/share");
  uris += ", /items/other]";
  LoadResult r = Load(OneRule(uris));
  ASSERT_TRUE(r.ok()) << DiagText(r);
  // {share: 2000 ids} and {any op: 1 id}, each over `events` and over `uri`.
  EXPECT_EQ(r.ruleset.rules[0].condition.any_of.size(), 4u);
  auto rs = RuleSet::Compile(std::move(r.ruleset.rules));
  ASSERT_TRUE(rs.ok()) << rs.status();
  EXPECT_TRUE(Matches(*rs, Ev("item", "id1999", "share")));
  EXPECT_TRUE(Matches(*rs, Uri("/items/id7/Share")));
  EXPECT_FALSE(Matches(*rs, Ev("item", "id1999", "update")));
  EXPECT_TRUE(Matches(*rs, Ev("item", "other", "update")));
  EXPECT_FALSE(Matches(*rs, Uri("/items/id2000/share")));
}

// ---------------------------------------------------------------------------
// Diagnostics: file:line:column of the URI, the rule id, all of them.

TEST(EventsDialect, EachBadUriKindIsReportedAtItsPosition) {
  auto d = Diags(R"(rules:
  - id: bad
    events:
      - items/share
      - /things
      - /item/share
      - /Items
      - /items/6cd8/frobnicate
      - "/items/6cd8/*"
      - "/*/share"
      - /items//share
      - /items/
      - /items/<itemID>/share
      - /<collection>
      - /groups/ecd6/<operation>
      - /users/<username>
      - /items/a/share/b
      - 42
      - /items,/users
      - /items/frobnicate
)");
  // The last URI is valid: its second segment is an id (docs/rules.md).
  ASSERT_EQ(d.size(), 16u) << Joined(d);
  EXPECT_EQ(d[0], "4:9: portal event URI 'items/share' must start with '/', e.g. /items/share");
  EXPECT_EQ(d[1], "5:9: unknown collection 'things' in URI '/things' (expected items, groups, "
                  "users or roles)");
  EXPECT_EQ(d[2], "6:9: unknown collection 'item' in URI '/item/share' (expected items, groups, "
                  "users or roles; did you mean 'items'?)");
  EXPECT_EQ(d[3], "7:9: unknown collection 'Items' in URI '/Items' (expected items, groups, "
                  "users or roles; did you mean 'items'?)");
  EXPECT_EQ(d[4], "8:9: unknown item operation 'frobnicate' in URI '/items/6cd8/frobnicate' "
                  "(expected one of: add, delete, update, move, publish, share, unshare, "
                  "reassign, addComment, deleteComment, updateComment)");
  EXPECT_EQ(d[5], "9:9: '*' stands for an id only; for every operation write /items/6cd8");
  EXPECT_EQ(d[6], "10:9: unknown collection '*' in URI '/*/share' (expected items, groups, "
                  "users or roles; '*' stands for an id only (for every event write /))");
  EXPECT_EQ(d[7], "11:9: empty path segment in URI '/items//share'");
  EXPECT_EQ(d[8], "12:9: empty path segment in URI '/items/' (remove the trailing '/')");
  EXPECT_EQ(d[9], "13:9: placeholder segment '<itemID>' in URI '/items/<itemID>/share' (as in "
                  "the seed's table): write the item's id, or * for any item");
  EXPECT_EQ(d[10], "14:9: placeholder segment '<collection>' in URI '/<collection>' (as in the "
                   "seed's table): write a collection: items, groups, users or roles");
  EXPECT_EQ(d[11], "15:9: placeholder segment '<operation>' in URI '/groups/ecd6/<operation>' "
                   "(as in the seed's table): write an operation");
  EXPECT_EQ(d[12], "16:9: placeholder segment '<username>' in URI '/users/<username>' (as in "
                   "the seed's table): write the username, or * for any user");
  EXPECT_EQ(d[13], "17:9: too many segments in URI '/items/a/share/b': the longest form is "
                   "/<collection>/<id>/<operation>");
  EXPECT_EQ(d[14], "18:9: a portal event URI must be a string such as /items/share");
  EXPECT_EQ(d[15], "19:9: unknown collection 'items,' in URI '/items,/users' (expected items, "
                   "groups, users or roles; give several URIs as a list, e.g. [/items, /users])");
}

TEST(EventsDialect, DiagnosticsNameFileRuleAndAreAllCollected) {
  LoadResult r = Load(R"(rules:
  - id: one
    events: [/users, /groups/<groupID>/addUsers, /things/add]
  - id: two
    events: [/roles/r1/frobnicate]
  - id: fine
    events: [/items/frobnicate]
)",
                      "bad.yaml");
  ASSERT_EQ(r.diagnostics.size(), 3u) << DiagText(r);
  EXPECT_EQ(r.diagnostics[0].ToString(),
            "bad.yaml:3:22: rule 'one': placeholder segment '<groupID>' in URI "
            "'/groups/<groupID>/addUsers' (as in the seed's table): write the group's id, or * "
            "for any group");
  EXPECT_EQ(r.diagnostics[1].ToString(),
            "bad.yaml:3:50: rule 'one': unknown collection 'things' in URI '/things/add' "
            "(expected items, groups, users or roles)");
  EXPECT_EQ(r.diagnostics[2].ToString(),
            "bad.yaml:5:14: rule 'two': unknown role operation 'frobnicate' in URI "
            "'/roles/r1/frobnicate' (expected one of: add, update, delete)");
}

TEST(EventsDialect, EventsMustBeANonEmptyList) {
  EXPECT_THAT(Diags(OneRule("/items")),
              ElementsAre("3:13: 'events' must be a list of portal event URIs such as "
                          "[/items/share, /users]: write [/items]"));
  EXPECT_THAT(Diags(OneRule("[]")),
              ElementsAre("3:13: the list of portal event URIs is empty; it would match nothing"));
  EXPECT_THAT(Diags(OneRule("{items: share}")),
              ElementsAre("3:13: 'events' must be a list of portal event URIs such as "
                          "[/items/share, /users]"));
  EXPECT_THAT(Diags(OneRule("[[/items]]")),
              ElementsAre("3:14: a portal event URI must be a string such as /items/share"));
}

TEST(EventsDialect, ExampleRuleFilesLoad) {
  LoadResult r = LoadRuleFiles({std::string(WEIR_SOURCE_DIR) +
                                "/examples/arcgis-portal-webhooks/rules.yaml"},
                               [] {
                                 LoadOptions o;
                                 o.env = [](const std::string&) -> std::optional<std::string> {
                                   return "s";
                                 };
                                 return o;
                               }());
  EXPECT_TRUE(r.ok()) << DiagText(r);
  EXPECT_EQ(r.ruleset.rules.size(), 12u);
  LoadResult bad = LoadRuleFiles(
      {std::string(WEIR_SOURCE_DIR) + "/examples/arcgis-portal-webhooks/bad-rules.yaml"});
  EXPECT_EQ(bad.diagnostics.size(), 7u) << DiagText(bad);
}

}  // namespace
}  // namespace weir::testing
