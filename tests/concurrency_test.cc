// One compiled RuleSet shared by many threads, each with its own Matcher; and
// hot reload by swapping the shared_ptr. Run under TSan in CI.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "test_util.h"
#include "weir/compiled_rules.h"
#include "weir/open.h"

namespace weir::testing {
namespace {

TEST(Concurrency, ThreadsShareOneRuleSet) {
  auto rs = CompileText(R"(rules:
  - id: a
    filter: {x: "1*", y: ["*z", "q"]}
  - id: b
    filter: {"list.v": "*mid*"}
)");
  ASSERT_TRUE(rs);
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Matcher m(rs);
      std::vector<uint32_t> hits;
      for (int i = 0; i < 2000; ++i) {
        std::string e = "{\"x\":" + std::to_string(i + t) + ",\"y\":\"" +
                        (i % 2 ? "abz" : "q") + "\",\"list\":[{\"v\":\"amidb\"},{\"v\":1}]}";
        if (!m.Match(e, &hits).ok()) ++mismatches;
        bool a = std::to_string(i + t)[0] == '1';
        std::vector<uint32_t> want = a ? std::vector<uint32_t>{0, 1} : std::vector<uint32_t>{1};
        if (hits != want) ++mismatches;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(Concurrency, HotReloadSwapsTheSharedPointer) {
  auto v1 = CompileText("rules:\n  - id: one\n    filter: {x: \"*\"}\n");
  auto v2 = CompileText("rules:\n  - id: two\n    filter: {x: \"*\"}\n");
  std::shared_ptr<const RuleSet> current = v1;
  std::mutex mu;  // guards `current` (std::atomic<shared_ptr> is not in libstdc++ 12)
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::thread reader([&] {
    std::shared_ptr<const RuleSet> mine;
    {
      std::lock_guard<std::mutex> l(mu);
      mine = current;
    }
    Matcher m(mine);
    std::vector<uint32_t> hits;
    while (!stop) {
      std::shared_ptr<const RuleSet> now;
      {
        std::lock_guard<std::mutex> l(mu);
        now = current;
      }
      if (now.get() != &m.rules()) m.Reset(now);
      if (!m.Match("{\"x\":1}", &hits).ok() || hits.size() != 1) ++bad;
      std::string id = m.rules().rule(hits[0]).id;
      if (id != "one" && id != "two") ++bad;
    }
  });
  for (int i = 0; i < 200; ++i) {
    std::lock_guard<std::mutex> l(mu);
    current = i % 2 ? v1 : v2;
  }
  stop = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace weir::testing

namespace weir::testing {
namespace {

// Readers match on whatever snapshot is current while a writer adds and
// removes rules (a notification service subscribing clients all day).
TEST(Concurrency, UpdatesWhileMatching) {
  auto base = CompileText("rules:\n  - id: always\n    filter: {x: \"*\"}\n");
  ASSERT_TRUE(base);
  std::shared_ptr<const RuleSet> current = base;
  std::mutex mu;
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      std::shared_ptr<const RuleSet> snap;
      {
        std::lock_guard<std::mutex> l(mu);
        snap = current;
      }
      Matcher m(snap);
      std::vector<uint32_t> hits;
      while (!stop) {
        {
          std::lock_guard<std::mutex> l(mu);
          snap = current;
        }
        if (snap.get() != &m.rules()) m.Reset(snap);
        if (!m.Match("{\"x\":\"sub-1\",\"y\":2}", &hits).ok()) ++bad;
        // "always" is never removed: every snapshot must report it.
        bool found = false;
        for (uint32_t h : hits) found |= m.rules().rule(h).id == "always";
        if (!found) ++bad;
      }
    });
  }
  for (int i = 0; i < 500; ++i) {
    std::shared_ptr<const RuleSet> cur;
    {
      std::lock_guard<std::mutex> l(mu);
      cur = current;
    }
    RuleDef r;
    r.id = "sub-" + std::to_string(i);
    Clause c;
    c.path = "x";
    Predicate p;
    p.kind = PredicateKind::kTextGlob;
    p.text = r.id;
    c.any_of.push_back(p);
    r.condition.any_of.push_back({{c}, false});
    std::vector<std::string> remove;
    if (i >= 10) remove.push_back("sub-" + std::to_string(i - 10));
    auto next = RuleSet::Update(cur, {r}, remove);
    ASSERT_TRUE(next.ok()) << next.status();
    std::lock_guard<std::mutex> l(mu);
    current = *next;
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
}

// A JSON rule file of `n` rules "r<i>" on field x, every `action_every`th
// with an inline action whose URL names ${P} (none when 0).
std::string LargeJsonRules(int n, int action_every) {
  std::string json = "{\"rules\": [\n";
  for (int i = 0; i < n; ++i) {
    absl::StrAppend(&json, i ? ",\n" : "", "{\"id\": \"r", i, "\", \"pattern\": {\"x\": [\"", i,
                    "\"]}, \"description\": \"", std::string(40, 'd'), "\"");
    if (action_every > 0 && i % action_every == 0)
      absl::StrAppend(&json,
                      ", \"actions\": [{\"webhook\": {\"url\": \"http://127.0.0.1:9/${P}\"}}]");
    json += "}";
  }
  return json + "]}";
}

// A large JSON rule file is read on two threads, a part of its rules each,
// with inline actions whose settings name environment variables (the
// lookup is called from both).
TEST(Concurrency, LargeJsonRuleFileOnTwoThreads) {
  const std::string json = LargeJsonRules(4000, 100);
  ASSERT_GT(json.size(), size_t{256} << 10);
  LoadOptions o;
  o.load_threads = 2;
  int calls = 0;  // not atomic: calls are serialised
  o.env = [&calls](const std::string&) -> std::optional<std::string> {
    ++calls;
    return "p";
  };
  LoadResult r = ParseRules({{"big.json", json}}, o);
  ASSERT_TRUE(r.ok()) << DiagText(r);
  ASSERT_EQ(r.ruleset.rules.size(), 4000u);
  EXPECT_EQ(r.ruleset.rules[3999].id, "r3999");
  EXPECT_EQ(r.ruleset.rules[3999].where.line, 4001);  // after the line of "rules"
  EXPECT_EQ(r.ruleset.actions.size(), 40u);
  EXPECT_GE(calls, 40);
}

// Such a file opened as a command opens it: the thread that reads the first
// part compiles each part as soon as it is read, while the other reads on.
TEST(Concurrency, LargeJsonRuleFileCompiledAsRead) {
  const std::string json = LargeJsonRules(6000, 0);
  ASSERT_GT(json.size(), size_t{256} << 10);
  const std::string path = absl::StrCat(::testing::TempDir(), "weir-big-", getpid(), ".json");
  {
    std::ofstream out(path);
    out << json;
  }
  LoadOptions o;
  o.load_threads = 2;
  auto opened = OpenRules({path}, o);
  std::remove(path.c_str());
  ASSERT_TRUE(opened.ok()) << opened.status();
  ASSERT_TRUE(opened->ok());
  ASSERT_EQ(opened->rules->size(), 6000u);
  Matcher m(opened->rules);
  std::vector<uint32_t> hits;
  ASSERT_TRUE(m.Match("{\"x\": \"5999\"}", &hits).ok());
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(opened->rules->id(hits[0]), "r5999");
}

// A set read from a compiled rule file decodes its rule definitions and its
// id index on first use: threads that match, ask for rules and look ids up
// at once all see them whole.
TEST(Concurrency, LazyPartsOfACompiledRuleFile) {
  std::string text = "rules:\n";
  for (int i = 0; i < 200; ++i)
    absl::StrAppend(&text, "  - id: r", i, "\n    filter: {x: \"", i, "\"}\n");
  auto rs = CompileText(text);
  ASSERT_TRUE(rs);
  auto bytes = WriteCompiledRules(*rs, {});
  ASSERT_TRUE(bytes.ok());
  auto read = ReadCompiledRules(*bytes);
  ASSERT_TRUE(read.ok()) << read.status();
  std::shared_ptr<const RuleSet> shared = read->rules;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Matcher m(shared);
      std::vector<uint32_t> hits;
      for (int i = 0; i < 200; ++i) {
        int k = (i * 7 + t * 13) % 200;
        std::string id = absl::StrCat("r", k);
        if (t % 2 == 0 && shared->rule(k).condition.any_of.size() != 1) ++wrong;
        if (t % 2 == 1 && shared->Find(id) != std::optional<size_t>(k)) ++wrong;
        if (!m.Match(absl::StrCat("{\"x\":\"", k, "\"}"), &hits).ok() || hits.size() != 1 ||
            shared->id(hits[0]) != id)
          ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace weir::testing
