// The compiled engine against the slow reference evaluator (tests/reference.h)
// on generated rule sets and events, and on the bundled examples.
#include <filesystem>
#include <fstream>
#include <random>

#include "absl/strings/str_cat.h"
#include "reference.h"
#include "test_util.h"

namespace weir::testing {
namespace {

class Gen {
 public:
  explicit Gen(uint32_t seed) : rng_(seed) {}

  int Int(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) { return v[Int(static_cast<int>(v.size()))]; }

  // Events over a small vocabulary so that rules hit often.
  std::string Value(int depth) {
    int r = Int(depth > 2 ? 6 : 9);
    switch (r) {
      case 0: case 1: return absl::StrCat("\"", Pick(strings_), "\"");
      case 2: return Pick(numbers_);
      case 3: return Pick(std::vector<std::string>{"true", "false", "null"});
      case 4: return absl::StrCat("\"", Pick(ips_), "\"");
      case 5: return absl::StrCat("\"", Pick(strings_), "\"");
      case 6: case 7: return Object(depth + 1);
      default: {
        std::string s = "[";
        int n = Int(4);
        for (int i = 0; i < n; ++i) absl::StrAppend(&s, i ? "," : "", Value(depth + 1));
        return s + "]";
      }
    }
  }
  std::string Object(int depth) {
    std::string s = "{";
    int n = 1 + Int(4);
    for (int i = 0; i < n; ++i) {
      // Keys include dotted spellings and, now and then, duplicates.
      absl::StrAppend(&s, i ? "," : "", "\"", Pick(keys_), "\":", Value(depth));
    }
    return s + "}";
  }

  Predicate Pred(bool textual) {
    Predicate p;
    if (textual) {
      p.kind = PredicateKind::kTextGlob;
      p.text = Pick(globs_);
      return p;
    }
    switch (Int(10)) {
      case 0: p.kind = PredicateKind::kStringGlob; p.text = Pick(globs_); break;
      case 1: p.kind = PredicateKind::kFoldedGlob; p.text = Pick(folded_globs_); break;
      case 2: p.kind = PredicateKind::kNumberEq; p.text = Canon(Pick(numbers_)); break;
      case 3: {
        p.kind = PredicateKind::kNumberRange;
        if (Int(4)) p.lo = Canon(Pick(numbers_));
        if (Int(4)) p.hi = Canon(Pick(numbers_));
        p.lo_open = Int(2);
        p.hi_open = Int(2);
        break;
      }
      case 4: p.kind = PredicateKind::kLiteral; p.text = Pick(std::vector<std::string>{"true", "false", "null"}); break;
      case 5: p.kind = PredicateKind::kCidr; p.text = Pick(cidrs_); break;
      case 6: p.kind = PredicateKind::kExists; break;
      case 7: {
        p.kind = PredicateKind::kAnythingBut;
        int n = 1 + Int(2);
        for (int i = 0; i < n; ++i) p.excluded.push_back(Pred(false));
        std::erase_if(p.excluded, [](const Predicate& e) {
          return e.kind == PredicateKind::kAnythingBut || e.kind == PredicateKind::kExists;
        });
        if (p.excluded.empty()) { p.kind = PredicateKind::kStringGlob; p.text = "x*"; }
        break;
      }
      default: p.kind = PredicateKind::kTextGlob; p.text = Pick(globs_); break;
    }
    return p;
  }

  RuleDef Rule(int i, bool textual_only) {
    RuleDef r;
    r.id = absl::StrCat("r", i);
    r.enabled = Int(10) != 0;
    int nconj = textual_only ? 1 : 1 + Int(2);
    for (int c = 0; c < nconj; ++c) {
      Conjunction conj;
      conj.array_consistent = !textual_only && Int(2);
      int nclause = 1 + Int(3);
      for (int k = 0; k < nclause; ++k) {
        Clause cl;
        cl.path = Pick(paths_);
        cl.negated = !textual_only && Int(8) == 0;
        if (cl.negated) {
          Predicate e;
          e.kind = PredicateKind::kExists;
          cl.any_of.push_back(e);
        } else {
          int np = 1 + Int(3);
          for (int j = 0; j < np; ++j) cl.any_of.push_back(Pred(textual_only));
        }
        conj.all_of.push_back(std::move(cl));
      }
      r.condition.any_of.push_back(std::move(conj));
    }
    return r;
  }

 private:
  static std::string Canon(const std::string& text) {
    std::string st, out;
    DecimalView d;
    ParseJsonNumber(text, &st, &d);
    CanonicalDecimal(d, &out);
    return out;
  }

  std::mt19937 rng_;
  std::vector<std::string> keys_ = {"a", "b", "c", "a.b", "b.c", "a.b.c", "d", "a", "B", "a.b"};
  std::vector<std::string> paths_ = {"a", "b", "c", "a.b", "a.c", "b.c", "a.b.c", "d", "a.a", "B"};
  std::vector<std::string> strings_ = {"x", "xy", "yx", "", "x*y", "1", "10", "X", "Xy",
                                       "été", "ÉTÉ", "a.b", "true", "x\\\\y", "ßx"};
  std::vector<std::string> numbers_ = {"1", "10", "1.0", "1e1", "-3", "2.5", "0", "-0",
                                       "37.807807921694092", "37.807807921694091", "100", "1E2",
                                       "1e400", "-1e400", "1e-400", "0.1", "0.10000000000000001"};
  std::vector<std::string> ips_ = {"10.0.0.1", "10.0.1.7", "192.168.1.1", "2001:db8::1", "::1"};
  std::vector<std::string> cidrs_ = {"10.0.0.0/24", "10.0.0.0/8", "2001:db8::/32", "0.0.0.0/0",
                                     "192.168.1.1/32"};
  std::vector<std::string> globs_ = {"x", "x*", "*y", "*", "x*y", "*x*", "1*", "1",
                                     "10", "true", "null", "", "x\\*y", "*.*", "a*b*c",
                                     "e*", "*1*0*", "X*", "ét*", "x\\\\y"};
  std::vector<std::string> folded_globs_ = {"x", "xy", "été", "x*", "*y", "ét*", "ßx", "*"};
};

void CheckAgainstReference(uint32_t seed, bool textual_only) {
  Gen g(seed);
  std::vector<RuleDef> rules;
  int n = 1 + g.Int(40);
  for (int i = 0; i < n; ++i) rules.push_back(g.Rule(i, textual_only));
  Reference ref(rules);
  auto rs = RuleSet::Compile(rules);
  ASSERT_TRUE(rs.ok()) << rs.status();
  Matcher m(*rs);
  std::vector<uint32_t> got, want;
  for (int e = 0; e < 150; ++e) {
    std::string event = g.Object(0);
    ASSERT_TRUE(ref.Match(event, &want)) << event;
    absl::Status st = m.Match(event, &got);
    ASSERT_TRUE(st.ok()) << st << " " << event;
    if (got != want) {
      std::string dump;
      for (uint32_t i : want) absl::StrAppend(&dump, " ", rules[i].id);
      dump += " | engine:";
      for (uint32_t i : got) absl::StrAppend(&dump, " ", rules[i].id);
      FAIL() << "seed " << seed << " event " << event << "\nreference:" << dump << "\n"
             << (*rs)->DebugString();
    }
  }
}

TEST(Differential, FilterDialectRuleSets) {
  for (uint32_t seed = 1; seed <= 300; ++seed) {
    CheckAgainstReference(seed, true);
    if (HasFatalFailure()) return;
  }
}

TEST(Differential, EveryPredicateKindWithArrayConsistency) {
  for (uint32_t seed = 1000; seed <= 1400; ++seed) {
    CheckAgainstReference(seed, false);
    if (HasFatalFailure()) return;
  }
}

// Every example rule file against its events, through the loader.
TEST(Differential, BundledExamples) {
  namespace fs = std::filesystem;
  int checked = 0;
  for (const auto& dir : fs::directory_iterator(fs::path(WEIR_SOURCE_DIR) / "examples")) {
    fs::path rules = dir.path() / "rules.yaml", events = dir.path() / "events.ndjson";
    if (!fs::exists(rules) || !fs::exists(events)) continue;
    LoadOptions o;
    o.env = [](const std::string&) -> std::optional<std::string> { return "x"; };
    LoadResult lr = LoadRuleFiles({rules.string()}, o);
    if (!lr.ok()) continue;  // dialects not built yet are covered by their own tests
    Reference ref(lr.ruleset.rules);
    auto rs = RuleSet::Compile(lr.ruleset.rules);
    ASSERT_TRUE(rs.ok()) << rs.status();
    Matcher m(*rs);
    std::ifstream in(events);
    std::string line;
    std::vector<uint32_t> got, want;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      bool ref_ok = ref.Match(line, &want);
      absl::Status st = m.Match(line, &got);
      if (!ref_ok) continue;  // malformed lines are the CLI tests' business
      ASSERT_TRUE(st.ok()) << events << ":" << n << " " << st;
      EXPECT_EQ(got, want) << events << ":" << n;
      ++checked;
    }
  }
  EXPECT_GT(checked, 20);
}

}  // namespace
}  // namespace weir::testing
