// Validation of matched events (ValidateMatchedPadded, which reuses the
// match's parse) and of any event (ValidatePadded) against an independent
// oracle: the reference's own strict JSON parser plus a UTF-8 check.
#include <filesystem>
#include <fstream>
#include <random>

#include "simdjson.h"
#include "reference.h"
#include "test_util.h"

namespace weir::testing {
namespace {

std::vector<std::string> SeedLines() {
  std::vector<std::string> lines = {
      R"({"a":1})",
      R"({"a":[1,2,{"b":"x\u00e9\n"}],"c":null,"d":true,"e":false,"f":-1.5e3})",
      R"({"k":"v","nested":{"deep":[[[]]],"s":"\"q\""}})",
      // CityLots' shape: the validator's runs of string values and of
      // "], [" between arrays of numbers.
      R"({ "type": "Feature", "properties": { "A": "1", "B": "x", "C": null, "D": "" }, )"
      R"("geometry": { "type": "Polygon", "coordinates": [ [ [ -122.4, 37.8, 0.0 ], )"
      R"([ -122.5, 37.9, 0.0 ], [ ] ], [ [ 1, 2 ], [ [ 3 ] ] ] ] } })",
      // Numbers either side of the validator's 16- and 32-byte fast paths.
      R"({"g":[[-122.422003528252475,37.808480096967251,0.0],[1234567890123456,-0.5]]})",
      R"({"n":[12345678901234567890123456789012,-1234567890.123456789012345678901,1e400]})",
      R"({"s":"a\\b\u00e9\ud83d\ude00\t","t":"0123456789abcdef0123456789\n"})",
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

// The grammar cases the validator's vector fast paths decide, each against
// the oracle, at several lengths and positions.
TEST(Validate, NumbersAndStringsAgreeWithTheOracle) {
  auto rs = CompileText("rules:\n  - id: all\n    pattern: {zz9: [{exists: false}]}\n");
  ASSERT_TRUE(rs);
  Matcher m(rs);
  const std::vector<std::string> values = {
      "0", "-0", "00", "01", "-01", "1.", ".5", "-.5", "1.5", "0.5", "-0.0", "1.2.3", "1-2",
      "--1", "-", "1e5", "1E+5", "1e-5", "1e", "1e+", "0e0", "1.5e3.2", "12x", "1 2",
      "123456789012345", "1234567890123456", "12345678901234567", "-1234567890123456",
      "0.123456789012345", "-122.422003528252475", "1234567890123456789012345678901",
      "12345678901234567890123456789012", "123456789012345678901234567890123",
      "-1234567890123456789012345678901", "1234567890123456.789012345678901",
      "01234567890123456789", "1234567890123456789.", "true", "tru", "truee", "nul", "null",
      "false", R"("")", R"("\")", R"("\\")", R"("\q")", R"("\u12")", R"("\u1234")",
      R"("\ud800")", R"("\ud800\udc00")", R"("0123456789abcde\n")", R"("0123456789abcdef\")",
      "\"\x01\"", "\"\xc3\xa9\"", "\"\xc3\"",
  };
  for (const std::string& v : values) {
    for (const std::string& line :
         {"{\"a\":" + v + "}", "{\"a\":[" + v + "," + v + "]}", "{\"a\": " + v + " }",
          "{\"k\":1,\"b\":{\"c\":[0," + v + "]}}"}) {
      std::string padded = line + std::string(Matcher::kPadding, ' ');
      std::string_view ev(padded.data(), line.size());
      Json doc;
      bool oracle = JsonParser::Parse(line, &doc) && doc.kind == Json::kObject &&
                    simdjson::validate_utf8(line.data(), line.size());
      EXPECT_EQ(m.ValidatePadded(ev).ok(), oracle) << line;
      std::vector<uint32_t> hits;
      if (m.MatchPadded(ev, &hits).ok() && !hits.empty()) {
        EXPECT_EQ(m.ValidateMatchedPadded(ev).ok(), oracle) << line;
      }
    }
  }
}

}  // namespace
}  // namespace weir::testing
