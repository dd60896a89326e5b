// Rules added and removed at run time (RuleSet::Update) behave exactly like
// a fresh compile of the resulting rules, and old snapshots are untouched.
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "test_util.h"

namespace weir::testing {
namespace {

RuleDef Exact(const std::string& id, const std::string& path, const std::string& value) {
  RuleDef r;
  r.id = id;
  Clause c;
  c.path = path;
  Predicate p;
  p.kind = PredicateKind::kTextGlob;
  p.text = value;
  c.any_of.push_back(p);
  Conjunction conj;
  conj.all_of.push_back(c);
  r.condition.any_of.push_back(conj);
  return r;
}

std::set<std::string> IdSet(const std::shared_ptr<const RuleSet>& rs, const std::string& e) {
  auto ids = Ids(rs, e);
  return {ids.begin(), ids.end()};
}

TEST(Update, AddRemoveReplace) {
  auto v1 = RuleSet::Compile({Exact("a", "x", "1"), Exact("b", "x", "2")});
  ASSERT_TRUE(v1.ok());
  auto v2 = RuleSet::Update(*v1, {Exact("c", "y", "3")}, {"a"});
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(IdSet(*v2, R"({"x":"1","y":"3"})"), (std::set<std::string>{"c"}));
  EXPECT_EQ(IdSet(*v1, R"({"x":"1","y":"3"})"), (std::set<std::string>{"a"}));  // old snapshot
  auto v3 = RuleSet::Update(*v2, {Exact("b", "x", "9")}, {});  // replaces b
  ASSERT_TRUE(v3.ok());
  EXPECT_TRUE(IdSet(*v3, R"({"x":"2"})").empty());
  EXPECT_EQ(IdSet(*v3, R"({"x":"9"})"), (std::set<std::string>{"b"}));
  EXPECT_EQ((*v3)->enabled_count(), 2u);
  EXPECT_FALSE((*v3)->Find("a").has_value());
  ASSERT_TRUE((*v3)->Find("c").has_value());
  EXPECT_EQ((*v3)->rule(*(*v3)->Find("c")).id, "c");
  auto v4 = RuleSet::Update(*v3, {}, {"nope"});
  EXPECT_EQ(v4.status().code(), absl::StatusCode::kNotFound);
  auto v5 = RuleSet::Update(*v3, {}, {"a"});  // already removed
  EXPECT_EQ(v5.status().code(), absl::StatusCode::kNotFound);
}

// A random walk of updates, each checked against a fresh compile of the
// same rules on random events.
TEST(Update, MatchesAFreshCompile) {
  std::mt19937 rng(7);
  auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  std::vector<std::string> paths = {"a", "b", "a.b", "c"};
  std::vector<std::string> values = {"1", "2", "x*", "*y", "*", "z"};
  CompileOptions opts;
  opts.max_delta_rules = 8;  // exercise compaction too
  std::vector<RuleDef> live;
  for (int i = 0; i < 20; ++i) live.push_back(Exact(absl::StrCat("r", i), paths[pick(4)], values[pick(6)]));
  auto cur = RuleSet::Compile(live, opts);
  ASSERT_TRUE(cur.ok());
  std::shared_ptr<const RuleSet> rs = *cur;
  int next_id = 100;
  for (int step = 0; step < 300; ++step) {
    std::vector<RuleDef> add;
    std::vector<std::string> remove;
    if (!live.empty() && pick(2)) {
      size_t k = pick(static_cast<int>(live.size()));
      remove.push_back(live[k].id);
      live.erase(live.begin() + k);
    }
    if (pick(3)) {
      std::string id = pick(4) == 0 && !live.empty() ? live[pick(static_cast<int>(live.size()))].id
                                                     : absl::StrCat("n", next_id++);
      std::erase_if(live, [&](const RuleDef& r) { return r.id == id; });
      add.push_back(Exact(id, paths[pick(4)], values[pick(6)]));
      live.push_back(add.back());
    }
    auto next = RuleSet::Update(rs, add, remove);
    ASSERT_TRUE(next.ok()) << next.status();
    rs = *next;
    auto fresh = RuleSet::Compile(live, opts);
    ASSERT_TRUE(fresh.ok());
    EXPECT_EQ(rs->enabled_count(), live.size());
    for (int e = 0; e < 10; ++e) {
      std::string ev = absl::StrCat(R"({"a":")", values[pick(6)], R"(","b":")", values[pick(6)],
                                    R"(","c":")", values[pick(6)], "\"}");
      ASSERT_EQ(IdSet(rs, ev), IdSet(*fresh, ev)) << "step " << step << " " << ev;
    }
  }
}

}  // namespace
}  // namespace weir::testing
