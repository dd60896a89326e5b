// Random rule sets and events over a small vocabulary, shared by the
// differential tests (engine against the reference, explain against both).
#ifndef WEIR_TESTS_DIFFERENTIAL_GEN_H_
#define WEIR_TESTS_DIFFERENTIAL_GEN_H_

#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/decimal.h"
#include "weir/condition.h"
#include "weir/rule_def.h"

namespace weir::testing {

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

}  // namespace weir::testing

#endif  // WEIR_TESTS_DIFFERENTIAL_GEN_H_
