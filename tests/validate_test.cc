// Validation of matched events (ValidateMatchedPadded, which reuses the
// match's parse) and of any event (ValidatePadded) against an independent
// oracle: the reference's own strict JSON parser plus a UTF-8 check.
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>

#include "absl/strings/match.h"
#include "reference.h"
#include "simdjson.h"
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

// 1 to max_edits edits (a byte of alphabet replaced, inserted or erased) at
// positions in [from, from + span) of the line.
void Edit(std::string* line, std::mt19937& rng, const std::string& alphabet, int max_edits,
          size_t from = 0, size_t span = SIZE_MAX) {
  const int edits = 1 + static_cast<int>(rng() % static_cast<unsigned>(max_edits));
  for (int e = 0; e < edits && line->size() > from; ++e) {
    const size_t pos = from + rng() % std::min(span, line->size() - from);
    const char c = alphabet[rng() % alphabet.size()];
    switch (rng() % 3) {
      case 0:
        (*line)[pos] = c;
        break;
      case 1:
        line->insert(line->begin() + static_cast<std::ptrdiff_t>(pos), c);
        break;
      default:
        line->erase(pos, 1);
        break;
    }
  }
}

// The reference verdict: one JSON object, valid UTF-8.
bool Oracle(const std::string& line) {
  Json doc;
  return JsonParser::Parse(line, &doc) && doc.kind == Json::kObject &&
         simdjson::validate_utf8(line.data(), line.size());
}

// A matcher whose one rule is `pattern`, with events nested at most
// max_depth deep.
std::unique_ptr<Matcher> MatcherFor(const std::string& pattern, size_t max_depth) {
  auto rs = CompileText("rules:\n  - id: all\n    pattern: " + pattern + "\n");
  if (!rs) return nullptr;
  EventLimits limits;
  limits.max_depth = max_depth;
  return std::make_unique<Matcher>(rs, limits);
}

// A line as the pipeline sees it: matched on a padded copy and, when a rule
// matches, validated as a matched line (cheap) and on its own (full).
struct Verdicts {
  bool matched = false;
  absl::Status cheap, full;
};
Verdicts Check(Matcher& m, const std::string& line) {
  std::string padded = line + std::string(Matcher::kPadding, ' ');
  std::string_view ev(padded.data(), line.size());
  std::vector<uint32_t> hits;
  Verdicts v;
  if (!m.MatchPadded(ev, &hits).ok() || hits.empty()) return v;
  v.matched = true;
  v.cheap = m.ValidateMatchedPadded(ev);
  v.full = m.ValidatePadded(ev);
  return v;
}

TEST(Validate, MatchedValidationAgreesWithTheFullParser) {
  // Matches every object: a rule whose only clause is "this path is absent".
  auto matcher = MatcherFor("{zz9: [{exists: false}]}", 64);
  ASSERT_TRUE(matcher);
  Matcher& m = *matcher;
  std::mt19937 rng(11);
  const int kMutations = getenv("WEIR_STRESS") ? 20000 : 300;
  const std::string alphabet = "{}[]\",:0123456789-+.eEtrufalsn \\/ux\x01\xc3\xa9\xff";
  int compared = 0, bad = 0;
  for (const std::string& seed : SeedLines()) {
    for (int k = 0; k < kMutations; ++k) {
      std::string line = seed;
      Edit(&line, rng, alphabet, 3);
      const Verdicts v = Check(m, line);
      if (!v.matched) continue;
      const bool oracle = Oracle(line);
      ++compared;
      if (!oracle) ++bad;
      ASSERT_EQ(v.cheap.ok(), oracle) << line << "\ncheap: " << v.cheap;
      ASSERT_EQ(v.full.ok(), oracle) << line << "\nfull: " << v.full;
      ASSERT_EQ(v.cheap.message(), v.full.message()) << line;
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
      const bool oracle = Oracle(line);
      EXPECT_EQ(m.ValidatePadded(ev).ok(), oracle) << line;
      std::vector<uint32_t> hits;
      if (m.MatchPadded(ev, &hits).ok() && !hits.empty()) {
        EXPECT_EQ(m.ValidateMatchedPadded(ev).ok(), oracle) << line;
      }
    }
  }
}

// CityLots' shape with a geometry long enough that the matcher indexes an
// event only up to the end of "properties" when the rules read nothing else
// (MatcherImpl::CutPoint).
std::string LongFeature(const std::string& properties) {
  std::string ring;
  for (int i = 0; i < 12; ++i) {
    if (i) ring += ", ";
    ring += "[ -122.42200352825" + std::to_string(i) + ", 37.80848009696" + std::to_string(i) +
            ", 0.0 ]";
  }
  return R"({ "type": "Feature", "properties": )" + properties +
         R"(, "geometry": { "type": "Polygon", "coordinates": [ [ )" + ring + " ] ] } }";
}

TEST(Validate, MatchedValidationAfterACutAgreesWithTheFullParser) {
  // Matches every object with "properties"; the rules read nothing else.
  auto matcher = MatcherFor("{properties: {zz9: [{exists: false}]}}", 64);
  ASSERT_TRUE(matcher);
  Matcher& m = *matcher;
  std::mt19937 rng(13);
  const int kMutations = getenv("WEIR_STRESS") ? 20000 : 2000;
  const std::string alphabet = "{}[]\",:0123456789-+.eEtrufalsn \\/ux\x01\xc3\xa9\xff";
  const std::vector<std::string> seeds = {
      LongFeature(R"({ "A": "1", "B": "x}y", "C": null, "D": "" })"),
      LongFeature(R"({ "A": "\u0041\"}", "N": { "x": [1, {"y": 2}] }, "E": -1.5e3 })"),
  };
  int compared = 0, bad = 0;
  for (const std::string& seed : seeds) {
    for (int k = 0; k < kMutations; ++k) {
      std::string line = seed;
      Edit(&line, rng, alphabet, 3);
      const Verdicts v = Check(m, line);
      if (!v.matched) continue;
      const bool oracle = Oracle(line);
      ++compared;
      if (!oracle) ++bad;
      ASSERT_EQ(v.cheap.ok(), oracle) << line << "\ncheap: " << v.cheap;
      ASSERT_EQ(v.full.ok(), oracle) << line << "\nfull: " << v.full;
      ASSERT_EQ(v.cheap.message(), v.full.message()) << line;
    }
  }
  EXPECT_GT(compared, 1000);
  EXPECT_GT(bad, 100);
}

// The walk over a cut event finds what the walk over the whole one finds:
// the same rules with one more on a top-level key no event has (so no cut).
TEST(Validate, CutEventsMatchAsWholeOnes) {
  const std::string rules =
      "rules:\n"
      "  - id: a\n    pattern: {properties: {A: [\"1\"]}}\n"
      "  - id: b\n    pattern: {properties: {B: [{prefix: x}], C: [null]}}\n"
      "  - id: n\n    pattern: {properties: {N: {x: [1]}}}\n"
      "  - id: t\n    filter: {type: Feature, properties.D: \"\"}\n";
  auto cut = CompileText(rules);
  auto whole = CompileText(rules + "  - id: never\n    pattern: {zz9: [q]}\n");
  ASSERT_TRUE(cut && whole);
  Matcher mc(cut), mw(whole);
  std::mt19937 rng(17);
  const std::string alphabet = "{}[]\",:0123456789-+.eEtrufalsn \\/ux1ABCDNx";
  const std::vector<std::string> seeds = {
      LongFeature(R"({ "A": "1", "B": "xy", "C": null, "D": "", "N": { "x": 1 } })"),
      LongFeature(R"({ "N": { "x": [0, 1] }, "A": "1", "B": "x}", "C": null })"),
      LongFeature(R"({ "B": "x", "A": "2", "C": null, "A": "1" })"),
      LongFeature(R"({ "S": "a}b\"}", "A": "1", "D": "" })"),
  };
  std::vector<uint32_t> hc, hw;
  int agreed = 0;
  for (const std::string& seed : seeds) {
    for (int k = 0; k < 3000; ++k) {
      std::string line = seed;
      if (k > 0) {
        Edit(&line, rng, alphabet, 3, 0, 140);  // mostly in properties
      }
      std::string padded = line + std::string(Matcher::kPadding, ' ');
      std::string_view ev(padded.data(), line.size());
      absl::Status sc = mc.MatchPadded(ev, &hc);
      absl::Status sw = mw.MatchPadded(ev, &hw);
      // A cut event is never worse off: what the whole parse accepts, the
      // cut one does, with the same rules.
      if (sw.ok()) {
        ASSERT_TRUE(sc.ok()) << line << "\n" << sc;
        ASSERT_EQ(hc, hw) << line;
        ++agreed;
      } else if (sc.ok() && !hc.empty()) {
        // Accepted only because the cut left out what is wrong; matched,
        // so validated whole, it is refused.
        ASSERT_FALSE(mc.ValidateMatchedPadded(ev).ok()) << line;
      }
      if (sc.ok() && !hc.empty()) {
        ASSERT_EQ(mc.ValidateMatchedPadded(ev).ok(), Oracle(line)) << line;
      }
    }
  }
  EXPECT_GT(agreed, 3000);
}

TEST(Validate, WhatACutLeavesOutIsCheckedWhenTheEventMatches) {
  auto rs = CompileText("rules:\n  - id: a\n    pattern: {properties: {A: [\"1\"]}}\n");
  ASSERT_TRUE(rs);
  Matcher m(rs);
  std::vector<uint32_t> hits;
  for (const std::string value : {"1", "2"}) {
    std::string line = LongFeature(R"({ "A": ")" + value + R"(" })");
    line.insert(line.size() - 20, "\xff");  // bad UTF-8 in the geometry
    std::string padded = line + std::string(Matcher::kPadding, ' ');
    std::string_view ev(padded.data(), line.size());
    ASSERT_TRUE(m.MatchPadded(ev, &hits).ok()) << line;
    if (value == "1") {
      ASSERT_EQ(hits.size(), 1u);
      EXPECT_EQ(m.ValidateMatchedPadded(ev).message(), "invalid UTF-8");
    } else {
      EXPECT_TRUE(hits.empty());  // matches nothing: the geometry is not read
    }
  }
}

// Arrays of numbers after a cut are checked on their bytes, 64 at a time
// (engine/validate.cc, NumericArrayEnd, with AVX-512BW or AVX2), and the
// walk takes each as one value. Edits inside such arrays, at every
// alignment of the array against those blocks and at nesting depths around
// the limit, must give the oracle's verdict and the full check's wording.
TEST(Validate, NumericArraysAfterACutAgreeWithTheOracle) {
  auto matcher = MatcherFor("{properties: {zz9: [{exists: false}]}}", 8);
  ASSERT_TRUE(matcher);
  Matcher& m = *matcher;
  std::mt19937 rng(19);
  const int kMutations = getenv("WEIR_STRESS") ? 3000 : 150;
  const std::string alphabet = "0123456789-.,[] 0-.,[] eE+\t\"{}x\\\xc3";
  std::string ring, compact, flat;
  for (int i = 0; i < 14; ++i) {
    ring += (i ? ", " : "") + ("[ -122.4220035282" + std::to_string(i * 7) + ", 37.80" +
                               std::to_string(i) + ", 0.0 ]");
    compact += (i ? "," : "") + ("[" + std::to_string(i) + ",-0." + std::to_string(i) + "5]");
    flat += (i ? ", " : "") + std::to_string(i * 1234567) + ".25, -" + std::to_string(i);
  }
  const std::vector<std::string> arrays = {
      "[ [ " + ring + " ] ]",
      "[" + compact + ",[]," + compact + "]",
      "[ " + flat + " ]",
      "[[[[[[0]]]]], [ " + flat + " ]]",     // 6 deep: within the limit at depth 3
      "[[[[[[[0]]]]]]], [ " + flat + " ]]",  // 7 deep: one too many
      "[ " + flat + ", 1e5, 2E-3 ]",         // exponents: the usual way
  };
  const std::vector<std::string> befores = {"", R"("bbox": [ "a", 1 ], )"};
  const std::vector<std::string> afters = {"", R"(, "more": [ 1, 2.5, [ ] ])"};
  int compared = 0, bad = 0;
  for (size_t a = 0; a < arrays.size(); ++a) {
    for (int pad = 0; pad < 64; pad += (a == 0 ? 1 : 7)) {
      const std::string& before = befores[pad % 2];
      const std::string& after = afters[(pad / 2) % 2];
      const std::string head = R"({ "type": "Feature", "properties": { "P": ")" +
                               std::string(static_cast<size_t>(pad), 'p') +
                               R"(" }, "geometry": { )" + before + R"("coordinates": )";
      const std::string seed = head + arrays[a] + after + " } }";
      for (int k = 0; k <= kMutations; ++k) {
        std::string line = seed;
        if (k > 0) {
          Edit(&line, rng, alphabet, 2, head.size(), arrays[a].size());
        }
        const Verdicts v = Check(m, line);
        if (!v.matched) continue;
        ++compared;
        ASSERT_EQ(v.cheap.message(), v.full.message()) << line;
        if (k == 0) {
          ASSERT_EQ(v.cheap.ok(), a != 4) << line << "\n"
                                          << v.cheap;  // only the 7-deep seed is too deep
        }
        if (absl::StrContains(v.full.message(), "nested deeper")) continue;
        const bool oracle = Oracle(line);
        if (!oracle) ++bad;
        ASSERT_EQ(v.cheap.ok(), oracle) << line << "\ncheap: " << v.cheap;
      }
    }
  }
  EXPECT_GT(compared, 3000);
  EXPECT_GT(bad, 1000);
  // Cases a few random edits rarely reach, at every alignment.
  const std::string fill = "[ " + flat + " ], ";
  for (const std::string tricky :
       {"[1,  ]",     "[1  2]",         "[ ,  1]", "[1,,2]", "[1 , 2]", "[[1],  [2]]", "[[1] [2]]",
        "[1,\t2]",    "[1.2.3]",        "[-]",     "[-.5]",  "[5.]",    "[00]",        "[-01]",
        "[0.01, -0]", "[1-2]",          "[1]]",    "[[1]",   "[], []",  "[  ]",        "[ ]",
        "[1 ]",       "[1,[2,[3,[]]]]", "[1\\]",   "[\"1\"]"}) {
    for (int pad = 0; pad < 64; ++pad) {
      const std::string line = R"({ "type": "Feature", "properties": { "P": ")" +
                               std::string(static_cast<size_t>(pad), 'p') +
                               R"(" }, "geometry": { "coordinates": [ )" + fill + tricky +
                               R"( ] } })";
      const Verdicts v = Check(m, line);
      ASSERT_TRUE(v.matched) << line;
      ASSERT_EQ(v.cheap.ok(), Oracle(line)) << line << "\ncheap: " << v.cheap;
      ASSERT_EQ(v.cheap.message(), v.full.message()) << line;
    }
  }
}

}  // namespace
}  // namespace weir::testing
