// A slow reference evaluator for the differential test: parses the whole
// event into its own DOM and walks every rule's condition directly, with none of
// the engine's indexes, tries, counting or early exits.
//
// Semantics it encodes (docs/rules.md): paths are dotted and a dotted key is
// the same path as its split form; arrays are stepped through at every level;
// in one object the first occurrence of a key counts, and a dotted key is
// ignored when the plain key it starts with came before it.
#ifndef WEIR_TESTS_REFERENCE_H_
#define WEIR_TESTS_REFERENCE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "engine/casefold.h"
#include "engine/decimal.h"
#include "engine/glob.h"
#include "engine/scalar.h"
#include <cstring>
#include "weir/rules.h"

namespace weir::testing {

struct RefValue {
  ScalarType type;
  std::string text;                               // decoded string / number text / word
  std::vector<std::pair<const void*, size_t>> at;  // (array identity, element index)
};

// A minimal JSON DOM that keeps numbers as written and duplicate keys, so
// the reference does not share the engine's parser.
struct Json {
  enum Kind { kObject, kArray, kString, kNumber, kTrue, kFalse, kNull } kind = kNull;
  std::string text;
  std::vector<std::pair<std::string, Json>> fields;
  std::vector<Json> items;
  Json() = default;  // for clang: see ConfigValue in weir/rules.h
};

class JsonParser {
 public:
  static bool Parse(const std::string& s, Json* out) {
    JsonParser p(s);
    p.Ws();
    if (!p.Value(out, 0)) return false;
    p.Ws();
    return p.i_ == s.size();
  }

 private:
  explicit JsonParser(const std::string& s) : s_(s) {}
  void Ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }
  bool Lit(const char* w) {
    size_t n = strlen(w);
    if (s_.compare(i_, n, w) != 0) return false;
    i_ += n;
    return true;
  }
  static void Utf8(uint32_t cp, std::string* o) {
    if (cp < 0x80) {
      o->push_back(char(cp));
    } else if (cp < 0x800) {
      o->push_back(char(0xC0 | (cp >> 6)));
      o->push_back(char(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      o->push_back(char(0xE0 | (cp >> 12)));
      o->push_back(char(0x80 | ((cp >> 6) & 0x3F)));
      o->push_back(char(0x80 | (cp & 0x3F)));
    } else {
      o->push_back(char(0xF0 | (cp >> 18)));
      o->push_back(char(0x80 | ((cp >> 12) & 0x3F)));
      o->push_back(char(0x80 | ((cp >> 6) & 0x3F)));
      o->push_back(char(0x80 | (cp & 0x3F)));
    }
  }
  bool Hex4(uint32_t* v) {
    if (i_ + 4 > s_.size()) return false;
    *v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s_[i_++];
      *v <<= 4;
      if (c >= '0' && c <= '9') *v |= c - '0';
      else if (c >= 'a' && c <= 'f') *v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') *v |= c - 'A' + 10;
      else return false;
    }
    return true;
  }
  bool Str(std::string* o) {
    if (i_ >= s_.size() || s_[i_] != '"') return false;
    ++i_;
    while (i_ < s_.size() && s_[i_] != '"') {
      char c = s_[i_++];
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        o->push_back(c);
        continue;
      }
      if (i_ >= s_.size()) return false;
      char e = s_[i_++];
      switch (e) {
        case '"': o->push_back('"'); break;
        case '\\': o->push_back('\\'); break;
        case '/': o->push_back('/'); break;
        case 'b': o->push_back('\b'); break;
        case 'f': o->push_back('\f'); break;
        case 'n': o->push_back('\n'); break;
        case 'r': o->push_back('\r'); break;
        case 't': o->push_back('\t'); break;
        case 'u': {
          uint32_t cp;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xD800 && cp < 0xDC00) {
            uint32_t lo;
            if (!Lit("\\u") || !Hex4(&lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp < 0xE000) {
            return false;
          }
          Utf8(cp, o);
          break;
        }
        default:
          return false;
      }
    }
    if (i_ >= s_.size()) return false;
    ++i_;
    return true;
  }
  bool Value(Json* v, int depth) {
    if (depth > 1000 || i_ >= s_.size()) return false;
    char c = s_[i_];
    if (c == '{') {
      v->kind = Json::kObject;
      ++i_;
      Ws();
      if (i_ < s_.size() && s_[i_] == '}') return ++i_, true;
      for (;;) {
        Ws();
        std::string k;
        if (!Str(&k)) return false;
        Ws();
        if (i_ >= s_.size() || s_[i_++] != ':') return false;
        Ws();
        v->fields.emplace_back(std::move(k), Json{});
        if (!Value(&v->fields.back().second, depth + 1)) return false;
        Ws();
        if (i_ >= s_.size()) return false;
        if (s_[i_] == ',') { ++i_; continue; }
        if (s_[i_] == '}') return ++i_, true;
        return false;
      }
    }
    if (c == '[') {
      v->kind = Json::kArray;
      ++i_;
      Ws();
      if (i_ < s_.size() && s_[i_] == ']') return ++i_, true;
      for (;;) {
        Ws();
        v->items.emplace_back();
        if (!Value(&v->items.back(), depth + 1)) return false;
        Ws();
        if (i_ >= s_.size()) return false;
        if (s_[i_] == ',') { ++i_; continue; }
        if (s_[i_] == ']') return ++i_, true;
        return false;
      }
    }
    if (c == '"') {
      v->kind = Json::kString;
      return Str(&v->text);
    }
    if (Lit("true")) return v->kind = Json::kTrue, v->text = "true", true;
    if (Lit("false")) return v->kind = Json::kFalse, v->text = "false", true;
    if (Lit("null")) return v->kind = Json::kNull, v->text = "null", true;
    size_t b = i_;
    while (i_ < s_.size() && strchr("+-0123456789.eE", s_[i_])) ++i_;
    v->kind = Json::kNumber;
    v->text = s_.substr(b, i_ - b);
    std::string st;
    DecimalView d;
    return ParseJsonNumber(v->text, &st, &d);
  }
  const std::string& s_;
  size_t i_ = 0;
};

class Reference {
 public:
  explicit Reference(std::vector<RuleDef> rules) : rules_(std::move(rules)) {}

  // Matching rule indexes, ascending; false if the event is not an object.
  bool Match(const std::string& event, std::vector<uint32_t>* out) {
    out->clear();
    Json root;
    if (!JsonParser::Parse(event, &root) || root.kind != Json::kObject) return false;
    for (uint32_t i = 0; i < rules_.size(); ++i) {
      if (!rules_[i].enabled) continue;
      for (const Conjunction& c : rules_[i].condition.any_of) {
        if (ConjHolds(root, c)) {
          out->push_back(i);
          break;
        }
      }
    }
    return true;
  }

 private:
  static void Collect(const Json& v, const std::vector<std::string>& segs, size_t k,
                      std::vector<std::pair<const void*, size_t>>& at,
                      std::vector<RefValue>* out) {
    if (v.kind == Json::kArray) {
      for (size_t idx = 0; idx < v.items.size(); ++idx) {
        at.emplace_back(&v, idx);
        Collect(v.items[idx], segs, k, at, out);
        at.pop_back();
      }
      return;
    }
    if (v.kind == Json::kObject) {
      if (k == segs.size()) return;  // objects are not leaves
      std::vector<std::string> seen, seen_dotted;
      for (const auto& [key, val] : v.fields) {
        std::vector<std::string> parts = absl::StrSplit(key, '.');
        if (std::find(seen.begin(), seen.end(), parts[0]) != seen.end()) continue;
        if (parts.size() == 1) {
          seen.push_back(key);
        } else {  // a repeated dotted key is a later occurrence too
          if (std::find(seen_dotted.begin(), seen_dotted.end(), key) != seen_dotted.end()) continue;
          seen_dotted.push_back(key);
        }
        if (k + parts.size() > segs.size()) continue;
        bool prefix = true;
        for (size_t j = 0; j < parts.size(); ++j)
          if (parts[j] != segs[k + j]) prefix = false;
        if (prefix) Collect(val, segs, k + parts.size(), at, out);
      }
      return;
    }
    if (k != segs.size()) return;
    RefValue rv;
    rv.at = at;
    rv.text = v.text;
    rv.type = v.kind == Json::kString   ? ScalarType::kString
              : v.kind == Json::kNumber ? ScalarType::kNumber
              : v.kind == Json::kTrue   ? ScalarType::kTrue
              : v.kind == Json::kFalse  ? ScalarType::kFalse
                                        : ScalarType::kNull;
    out->push_back(std::move(rv));
  }

  bool Eval(const Predicate& p, const RefValue& v) {
    DecimalView num;
    std::string ns, bs, folded;
    bool is_num = v.type == ScalarType::kNumber && ParseJsonNumber(v.text, &ns, &num);
    Glob g;
    std::string err;
    switch (p.kind) {
      case PredicateKind::kTextGlob:
        return ParseGlob(p.text, &g, &err) && GlobMatch(g, v.text);
      case PredicateKind::kStringGlob:
        return v.type == ScalarType::kString && ParseGlob(p.text, &g, &err) && GlobMatch(g, v.text);
      case PredicateKind::kFoldedGlob:
        FoldCase(v.text, &folded);
        return v.type == ScalarType::kString && ParseGlob(p.text, &g, &err) &&
               GlobMatch(g, folded);
      case PredicateKind::kNumberEq:
        return is_num && CompareDecimal(num, ParseCanonical(p.text)) == 0;
      case PredicateKind::kNumberRange: {
        if (!is_num) return false;
        if (!p.lo.empty()) {
          int c = CompareDecimal(num, ParseCanonical(p.lo));
          if (c < 0 || (c == 0 && p.lo_open)) return false;
        }
        if (!p.hi.empty()) {
          int c = CompareDecimal(num, ParseCanonical(p.hi));
          if (c > 0 || (c == 0 && p.hi_open)) return false;
        }
        return true;
      }
      case PredicateKind::kLiteral:
        return v.type != ScalarType::kString && v.type != ScalarType::kNumber && v.text == p.text;
      case PredicateKind::kCidr: {
        IpNetwork net, a;
        return v.type == ScalarType::kString && ParseCidr(p.text, &net) && ParseIp(v.text, &a) &&
               InNetwork(net, a);
      }
      case PredicateKind::kExists:
        return true;
      case PredicateKind::kAnythingBut:
        for (const Predicate& e : p.excluded)
          if (Eval(e, v)) return false;
        return true;
    }
    return false;
  }

  static bool Compatible(const RefValue& a, const RefValue& b) {
    for (const auto& [arr, i] : a.at)
      for (const auto& [arr2, j] : b.at)
        if (arr == arr2 && i != j) return false;
    return true;
  }

  bool Choose(const std::vector<std::vector<const RefValue*>>& options, size_t k,
              std::vector<const RefValue*>& chosen) {
    if (k == options.size()) return true;
    for (const RefValue* v : options[k]) {
      bool ok = true;
      for (const RefValue* c : chosen) ok = ok && Compatible(*c, *v);
      if (!ok) continue;
      chosen.push_back(v);
      if (Choose(options, k + 1, chosen)) return true;
      chosen.pop_back();
    }
    return false;
  }

  bool ConjHolds(const Json& root, const Conjunction& c) {
    std::vector<std::vector<RefValue>> values(c.all_of.size());
    std::vector<std::vector<const RefValue*>> options;
    for (size_t i = 0; i < c.all_of.size(); ++i) {
      const Clause& cl = c.all_of[i];
      std::vector<std::string> segs = absl::StrSplit(cl.path, '.');
      std::vector<std::pair<const void*, size_t>> at;
      Collect(root, segs, 0, at, &values[i]);
      std::vector<const RefValue*> sat;
      for (const RefValue& v : values[i]) {
        for (const Predicate& p : cl.any_of)
          if (Eval(p, v)) {
            sat.push_back(&v);
            break;
          }
      }
      if (cl.negated) {
        if (!sat.empty()) return false;
      } else {
        if (sat.empty()) return false;
        options.push_back(std::move(sat));
      }
    }
    if (!c.array_consistent) return true;
    std::vector<const RefValue*> chosen;
    return Choose(options, 0, chosen);
  }

  std::vector<RuleDef> rules_;
};

}  // namespace weir::testing

#endif  // WEIR_TESTS_REFERENCE_H_
