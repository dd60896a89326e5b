// Validation of matched events (ValidateMatchedPadded, which reuses the
// match's parse) and of any event (ValidatePadded) against an independent
// oracle: the reference's own strict JSON parser plus a UTF-8 check.
#include <filesystem>
#include <fstream>
#include <random>

#include "simdjson.h"
#include "tests/reference.h"
#include "tests/test_util.h"

namespace weir::testing {
namespace {

std::vector<std::string> SeedLines() {
  std::vector<std::string> lines = {
      R"({"a":1})",
      R"({"a":[1,2,{"b":"x\u00e9\n"}],"c":null,"d":true,"e":false,"f":-1.5e3})",
      R"({"k":"v","nested":{"deep":[[[]]],"s":"\"q\""}})",
  };
  namespace fs = std::filesystem;
  for (const auto& dir : fs::directory_iterator(fs::path(WEIR_SOURCE_DIR) / "examples")) {
    std::ifstream in(dir.path() / "events.ndjson");
    std::string line;
    while (std::getline(in, line) && lines.size() < 200) lines.push_back(line);
  }
  return lines;
}

TEST(Validate, MatchedValidationAgreesWithTheFullParser) {
  // Matches every object: a rule whose only clause is "this path is absent".
  auto rs = CompileText("rules:\n  - id: all\n    pattern: {zz9: [{exists: false}]}\n");
  ASSERT_TRUE(rs);
  EventLimits limits;
  limits.max_depth = 64;
  Matcher m(rs, limits);
  std::mt19937 rng(11);
  const int kMutations = getenv("WEIR_STRESS") ? 20000 : 300;
  const std::string alphabet = "{}[]\",:0123456789-+.eEtrufalsn \\/ux\x01\xc3\xa9\xff";
  std::vector<uint32_t> hits;
  int compared = 0, bad = 0;
  for (const std::string& seed : SeedLines()) {
    for (int k = 0; k < kMutations; ++k) {
      std::string line = seed;
      int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits && !line.empty(); ++e) {
        size_t pos = rng() % line.size();
        char c = alphabet[rng() % alphabet.size()];
        switch (rng() % 3) {
          case 0: line[pos] = c; break;
          case 1: line.insert(line.begin() + pos, c); break;
          default: line.erase(pos, 1); break;
        }
      }
      std::string padded = line + std::string(Matcher::kPadding, ' ');
      std::string_view ev(padded.data(), line.size());
      if (!m.MatchPadded(ev, &hits).ok() || hits.empty()) continue;
      absl::Status cheap = m.ValidateMatchedPadded(ev);
      absl::Status full = m.ValidatePadded(ev);
      Json doc;
      bool oracle = JsonParser::Parse(line, &doc) && doc.kind == Json::kObject &&
                    simdjson::validate_utf8(line.data(), line.size());
      ++compared;
      if (!oracle) ++bad;
      ASSERT_EQ(cheap.ok(), oracle) << line << "\ncheap: " << cheap;
      ASSERT_EQ(full.ok(), oracle) << line << "\nfull: " << full;
      ASSERT_EQ(cheap.message(), full.message()) << line;
    }
  }
  EXPECT_GT(compared, 1000);
  EXPECT_GT(bad, 100);  // the mutations do produce bad lines that matching let through
}

}  // namespace
}  // namespace weir::testing
