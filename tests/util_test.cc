// Exact decimals, globs, case folding and CIDR blocks.
#include <string>

#include "engine/casefold.h"
#include "engine/decimal.h"
#include "engine/glob.h"
#include "engine/scalar.h"
#include "gtest/gtest.h"

namespace weir {
namespace {

std::string Canon(std::string_view text) {
  std::string store, out;
  DecimalView d;
  if (!ParseJsonNumber(text, &store, &d)) return "INVALID";
  CanonicalDecimal(d, &out);
  return out;
}

int Cmp(std::string_view a, std::string_view b) {
  std::string sa, sb;
  DecimalView da, db;
  EXPECT_TRUE(ParseJsonNumber(a, &sa, &da)) << a;
  EXPECT_TRUE(ParseJsonNumber(b, &sb, &db)) << b;
  return CompareDecimal(da, db);
}

TEST(Decimal, EqualValuesHaveOneCanonicalForm) {
  EXPECT_EQ(Canon("35"), Canon("35.0"));
  EXPECT_EQ(Canon("35"), Canon("3.5e1"));
  EXPECT_EQ(Canon("35"), Canon("350E-1"));
  EXPECT_EQ(Canon("0"), Canon("-0.0e10"));
  EXPECT_EQ(Canon("0"), "0");
  EXPECT_EQ(Canon("-1.5"), "-15e1");
  EXPECT_NE(Canon("37.807807921694092"), Canon("37.80780792169409"));
}

TEST(Decimal, RejectsWhatJsonRejects) {
  for (const char* bad : {"", "-", "01", "1.", ".5", "+1", "1e", "1e+", "NaN", "1 ", "0x10"})
    EXPECT_EQ(Canon(bad), "INVALID") << bad;
}

TEST(Decimal, OrdersExactly) {
  EXPECT_LT(Cmp("37.807807921694091", "37.807807921694092"), 0);
  EXPECT_EQ(Cmp("1e2", "100"), 0);
  EXPECT_LT(Cmp("-5", "-4.9999999999999999999"), 0);
  EXPECT_GT(Cmp("0.1", "-100"), 0);
  EXPECT_LT(Cmp("0", "1e-400"), 0);
  EXPECT_GT(Cmp("0", "-1e-400"), 0);
  EXPECT_LT(Cmp("9", "10"), 0);
  EXPECT_LT(Cmp("1.23", "1.3"), 0);
}

TEST(Decimal, RuleNumbersAreLenient) {
  std::string s, out;
  DecimalView d;
  ASSERT_TRUE(ParseRuleNumber("+.5", &s, &d));
  CanonicalDecimal(d, &out);
  EXPECT_EQ(out, Canon("0.5"));
  EXPECT_FALSE(ParseRuleNumber("abc", &s, &d));
}

bool G(std::string_view pattern, std::string_view s) {
  Glob g;
  std::string err;
  EXPECT_TRUE(ParseGlob(pattern, &g, &err)) << err;
  return GlobMatch(g, s);
}

TEST(Glob, Semantics) {
  EXPECT_TRUE(G("itemsvc.*", "itemsvc.Item"));
  EXPECT_TRUE(G("itemsvc.*", "itemsvc."));
  EXPECT_FALSE(G("itemsvc.*", "itemsvc"));
  EXPECT_TRUE(G("*", ""));
  EXPECT_TRUE(G("a*b*c", "abc"));
  EXPECT_TRUE(G("a*b*c", "a.x.b.y.c"));
  EXPECT_FALSE(G("a*b*c", "acb"));
  EXPECT_FALSE(G("a*a", "a"));
  EXPECT_TRUE(G("*a*", "bab"));
  EXPECT_TRUE(G(R"(a\*b)", "a*b"));
  EXPECT_FALSE(G(R"(a\*b)", "axb"));
  EXPECT_TRUE(G(R"(a\\b)", R"(a\b)"));
  EXPECT_TRUE(G("x**y", "xy"));
  EXPECT_TRUE(G("", ""));
  EXPECT_FALSE(G("", "a"));
}

TEST(Glob, RejectsBadEscapes) {
  Glob g;
  std::string err;
  EXPECT_FALSE(ParseGlob(R"(a\b)", &g, &err));
  EXPECT_NE(err.find("may only escape"), std::string::npos);
  EXPECT_FALSE(ParseGlob("a\\", &g, &err));
}

TEST(Glob, Shapes) {
  Glob g;
  std::string err;
  ASSERT_TRUE(ParseGlob("abc*", &g, &err));
  EXPECT_TRUE(g.is_prefix());
  ASSERT_TRUE(ParseGlob("*abc", &g, &err));
  EXPECT_TRUE(g.is_suffix());
  ASSERT_TRUE(ParseGlob("*", &g, &err));
  EXPECT_TRUE(g.is_any());
  ASSERT_TRUE(ParseGlob(R"(ab\*)", &g, &err));
  EXPECT_TRUE(g.is_exact());
  EXPECT_EQ(g.literals[0], "ab*");
}

TEST(CaseFold, SimpleFolding) {
  std::string out;
  FoldCase("HeLLo", &out);
  EXPECT_EQ(out, "hello");
  FoldCase("ÉTÉ", &out);
  EXPECT_EQ(out, "été");
  FoldCase("ΣΑΣ", &out);
  std::string out2;
  FoldCase("σας", &out2);  // final sigma folds to sigma
  EXPECT_EQ(out, out2);
  FoldCase("straße", &out);  // simple folding keeps ß
  EXPECT_EQ(out, "straße");
  FoldCase("\xff\xfe", &out);  // invalid bytes pass through
  EXPECT_EQ(out, "\xff\xfe");
}

TEST(Cidr, V4AndV6) {
  IpNetwork net, a;
  ASSERT_TRUE(ParseCidr("10.0.0.0/24", &net));
  ASSERT_TRUE(ParseIp("10.0.0.255", &a));
  EXPECT_TRUE(InNetwork(net, a));
  ASSERT_TRUE(ParseIp("10.0.1.0", &a));
  EXPECT_FALSE(InNetwork(net, a));
  ASSERT_TRUE(ParseCidr("2001:db8::/32", &net));
  ASSERT_TRUE(ParseIp("2001:db8:ffff::1", &a));
  EXPECT_TRUE(InNetwork(net, a));
  ASSERT_TRUE(ParseIp("10.0.0.1", &a));
  EXPECT_FALSE(InNetwork(net, a));
  EXPECT_FALSE(ParseCidr("10.0.0.0/33", &net));
  EXPECT_FALSE(ParseCidr("10.0.0/8", &net));
  EXPECT_FALSE(ParseCidr("10.0.0.0/", &net));
}

}  // namespace
}  // namespace weir
