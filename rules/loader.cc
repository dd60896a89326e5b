// Reads rule files (YAML or JSON) with yaml-cpp, checks their structure and
// hands each rule's condition to its dialect front end. yaml-cpp exceptions
// are caught here and become diagnostics; none leave this file.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/decimal.h"
#include "engine/json_token.h"
#include "rules/env.h"
#include "rules/frontend.h"
#include "simdjson.h"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/yaml.h"
#include "yaml.h"

namespace weir {

std::string Diagnostic::ToString() const {
  std::string s = where.file;
  if (where.line > 0) absl::StrAppend(&s, ":", where.line, ":", where.column);
  s += ": ";
  if (!rule_id.empty()) absl::StrAppend(&s, "rule '", rule_id, "': ");
  s += message;
  return s;
}

const ConfigValue* ConfigValue::Find(std::string_view key) const {
  for (const auto& [k, v] : map)
    if (k == key) return &v;
  return nullptr;
}

SourceLocation DiagSink::Where(const NodeMark& m) const {
  return {std::string(file_), m.line >= 0 ? m.line + 1 : 0, m.column >= 0 ? m.column + 1 : 0};
}
SourceLocation DiagSink::Where(const RNode& at) const { return Where(at.Mark()); }
namespace {
Diagnostic MakeDiag(SourceLocation where, std::string rule_id, std::string message) {
  Diagnostic d;
  d.where = std::move(where);
  d.rule_id = std::move(rule_id);
  d.message = std::move(message);
  return d;
}
}  // namespace

void DiagSink::Error(const RNode& at, std::string message) { Error(at.Mark(), std::move(message)); }
void DiagSink::Error(const NodeMark& m, std::string message) {
  out_->push_back(MakeDiag(Where(m), std::string(rule_id_), std::move(message)));
}

ScalarKind KindOf(const RNode& n) {
  if (n.IsNull()) return ScalarKind::kNull;
  if (n.Quoted()) return ScalarKind::kString;
  const std::string& s = n.Scalar();
  if (s == "true" || s == "True" || s == "TRUE") return ScalarKind::kTrue;
  if (s == "false" || s == "False" || s == "FALSE") return ScalarKind::kFalse;
  if (s == "null" || s == "Null" || s == "NULL" || s == "~") return ScalarKind::kNull;
  // YAML 1.2 core schema: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
  std::string storage;
  DecimalView d;
  if (!s.empty() && s.find_first_not_of("+-.0123456789eE") == std::string::npos &&
      ParseRuleNumber(s, &storage, &d))
    return ScalarKind::kNumber;
  return ScalarKind::kString;
}

bool ValidPath(const std::string& path) {
  if (path.empty() || path.front() == '.' || path.back() == '.') return false;
  return path.find("..") == std::string::npos;
}

namespace {

// [A-Za-z0-9_.:-]+ (std::regex is far too slow for 100k rules)
bool ValidId(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string Join(const std::set<std::string>& s) { return absl::StrJoin(s, ", "); }

// Checks that `node` is a map whose keys are all in `allowed`, with no
// duplicates; reports each offender.
const std::string kEmpty;

bool CheckKeys(const RNode& node, const std::set<std::string>& allowed, const char* what,
               DiagSink& diags) {
  bool ok = true;
  std::vector<std::string_view> seen;
  for (const auto& kv : node) {
    const std::string& k = kv.first.IsScalar() ? kv.first.Scalar() : kEmpty;
    if (!allowed.count(k)) {
      diags.Error(kv.first, absl::StrCat("unknown key '", k, "' in ", what, " (expected one of: ",
                                         Join(allowed), ")"));
      ok = false;
    } else if (std::find(seen.begin(), seen.end(), k) != seen.end()) {
      diags.Error(kv.first, absl::StrCat("key '", k, "' appears twice in ", what));
      ok = false;
    } else {
      seen.push_back(k);
    }
  }
  return ok;
}

// Offset of the first byte that is not part of valid UTF-8, or npos.
size_t FirstInvalidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return i;
    uint32_t cp = c & (0xFF >> (n + 1));
    for (size_t k = 1; k < n; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF.
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return i;
    i += n;
  }
  return std::string_view::npos;
}

bool LooksLikeJson(std::string_view text) {
  size_t i = text.find_first_not_of(" \t\r\n");
  return i != std::string_view::npos && text[i] == '{';
}

class Loader {
 public:
  explicit Loader(const LoadOptions& o) : opts_(o) {
    if (!opts_.env) {
      opts_.env = [](const std::string& name) -> std::optional<std::string> {
        const char* v = std::getenv(name.c_str());
        if (!v) return std::nullopt;
        return std::string(v);
      };
    }
  }

  void LoadText(const std::string& file, const std::string& text) {
    if (size_t bad = FirstInvalidUtf8(text); bad != std::string::npos) {
      int line = 1, col = 1;
      for (size_t i = 0; i < bad; ++i) {
        if (text[i] == '\n') {
          ++line;
          col = 1;
        } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
          ++col;
        }
      }
      SourceLocation where;
      where.file = file;
      where.line = line;
      where.column = col;
      result_.diagnostics.push_back(
          MakeDiag(std::move(where), "", "the rule file is not valid UTF-8"));
      return;
    }
    // Fast readers first; a file they cannot read, or that has mistakes, is
    // read again by yaml-cpp, whose positions and messages are the reference.
    if (LooksLikeJson(text) && TryFast([&] { return ConvertAndRead(file, text); })) return;
    bool libyaml_parsed = false;
    if (TryFast([&] { return ReadYamlFast(file, text, &libyaml_parsed); })) return;
    NodeTree tree;
    NodeMark second;  // where a second document starts, if there is one
    try {
      YAML::Node doc = YAML::Load(text);
      // Aliases may repeat a value many times, but not without bound.
      std::string error;
      NodeMark at;
      if (!tree.AddYaml(doc, 64 * text.size() + 1024, &error, &at)) {
        DiagSink(&result_.diagnostics, file, "").Error(at, error);
        return;
      }
      second = SecondDocument(text);
    } catch (const YAML::Exception& e) {
      // Valid YAML that yaml-cpp 0.7 cannot parse (e.g. "?" inside a plain
      // scalar in a flow list) but libyaml did: its diagnostics stand.
      if (libyaml_parsed) {
        ReadYamlFast(file, text, nullptr);
        return;
      }
      DiagSink d(&result_.diagnostics, file, "");
      std::string msg = e.msg;
      if (msg.find("alias") != std::string::npos || msg.find("anchor") != std::string::npos)
        msg += " (a value starting with * or & must be quoted, e.g. \"*.pdf\")";
      d.Error(NodeMark{e.mark.line, e.mark.column}, absl::StrCat("not valid YAML/JSON: ", msg));
      return;
    }
    if (second.line >= 0) {
      DiagSink(&result_.diagnostics, file, "")
          .Error(second, "a second document in the rule file (weir reads one: put every rule "
                         "under its 'rules:')");
    }
    ReadDocument(file, tree.Node(0));
  }

  // Where a second YAML document with content starts, if there is one
  // (yaml-cpp's Load reads only the first). At most two documents are
  // parsed: yaml-cpp 0.7 finds endless empty ones in some inputs (a lone
  // ","), which is why this is not LoadAll.
  static NodeMark SecondDocument(const std::string& text) {
    struct Content : YAML::EventHandler {
      bool any = false;
      YAML::Mark at;
      void Saw(const YAML::Mark& m) {
        if (!any) at = m;
        any = true;
      }
      void OnDocumentStart(const YAML::Mark&) override {}
      void OnDocumentEnd() override {}
      void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
      void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { Saw(m); }
      void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                    const std::string&) override {
        Saw(m);
      }
      void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                           YAML::EmitterStyle::value) override {
        Saw(m);
      }
      void OnSequenceEnd() override {}
      void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                      YAML::EmitterStyle::value) override {
        Saw(m);
      }
      void OnMapEnd() override {}
    };
    std::stringstream in(text);
    YAML::Parser parser(in);
    Content first, second;
    if (!parser.HandleNextDocument(first) || !parser.HandleNextDocument(second) || !second.any)
      return {};
    return {second.at.line, second.at.column};
  }

  // A whole rule file's tree: the top-level settings, then each rule.
  void ReadDocument(const std::string& file, const RNode& root) {
    DiagSink top(&result_.diagnostics, file, "");
    if (root.IsNull()) {
      top.Error(NodeMark{}, "the rule file is empty");
      return;
    }
    UriFields fields;
    if (!ReadTop(file, root, &fields)) return;
    auto rules = root["rules"];
    if (!rules) {
      top.Error(root, "the rule file has no 'rules:' list");
      return;
    }
    if (!rules.IsSequence()) {
      top.Error(rules, "'rules' must be a list");
      return;
    }
    Reserve(rules.size());
    for (const auto& r : rules) ReadRule(file, r, fields);
  }

  // A YAML rule file read with libyaml's event parser straight into a
  // NodeTree: about ten times faster than yaml-cpp and a fraction of its
  // memory (100k rules). Gives up (false) on what it does not mirror
  // exactly: parse errors, explicit tags, several documents, aliases.
  bool ReadYamlFast(const std::string& file, const std::string& text, bool* parsed) {
    NodeTree tree;
    if (!ParseYaml(text, &tree)) return false;
    if (parsed) *parsed = true;
    ReadDocument(file, tree.Node(0));
    return true;
  }

  bool ParseYaml(const std::string& text, NodeTree* tree) {
    struct Parser {
      yaml_parser_t p;
      Parser() { yaml_parser_initialize(&p); }
      ~Parser() { yaml_parser_delete(&p); }
    } parser;
    yaml_parser_set_input_string(&parser.p, reinterpret_cast<const unsigned char*>(text.data()),
                                 text.size());
    yaml_parser_set_encoding(&parser.p, YAML_UTF8_ENCODING);
    lines_.Reset(text.data(), text.size());
    yaml_cursor_ = {};
    kid_stack_.clear();
    struct Open {
      uint32_t node;
      size_t kids_start;
    };
    std::vector<Open> open;
    const size_t base = kid_stack_.size();
    bool have_root = false, ok = true, done = false;
    int documents = 0;
    // Adds a finished node to its parent (or makes it the root).
    auto place = [&](uint32_t n) {
      if (open.empty()) {
        have_root = true;
      } else {
        kid_stack_.push_back(n);
      }
    };
    while (ok && !done) {
      yaml_event_t ev;
      if (!yaml_parser_parse(&parser.p, &ev)) {
        ok = false;
        break;
      }
      const NodeMark mark = YamlMark(text, ev.start_mark);
      switch (ev.type) {
        case YAML_DOCUMENT_START_EVENT:
          if (++documents > 1) ok = false;
          break;
        case YAML_STREAM_END_EVENT:
          done = true;
          break;
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT: {
          bool map = ev.type == YAML_MAPPING_START_EVENT;
          const yaml_char_t* tag = map ? ev.data.mapping_start.tag : ev.data.sequence_start.tag;
          if (tag) {
            ok = false;
            break;
          }
          uint32_t n = tree->Add(map ? NodeTree::Type::kMap : NodeTree::Type::kSequence, {},
                                 false, mark);
          open.push_back({n, kid_stack_.size()});
          break;
        }
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT: {
          Open o = open.back();
          open.pop_back();
          CloseContainer(tree, o.node, o.kids_start);
          place(o.node);
          break;
        }
        case YAML_SCALAR_EVENT: {
          const auto& sc = ev.data.scalar;
          if (sc.tag) {
            ok = false;
            break;
          }
          std::string_view value(reinterpret_cast<const char*>(sc.value), sc.length);
          const bool plain = sc.style == YAML_PLAIN_SCALAR_STYLE;
          // yaml-cpp's null: a plain ~, null, Null, NULL or nothing.
          const bool null = plain && (value.empty() || value == "~" || value == "null" ||
                                      value == "Null" || value == "NULL");
          uint32_t n = null ? tree->Add(NodeTree::Type::kNull, {}, false, mark)
                            : tree->Add(NodeTree::Type::kScalar, value, !plain, mark);
          place(n);
          break;
        }
        case YAML_ALIAS_EVENT:
          // yaml-cpp's path copies aliases with limits (cycles, expansion).
          ok = false;
          break;
        default:
          break;
      }
      yaml_event_delete(&ev);
    }
    kid_stack_.resize(base);
    if (!ok) return false;
    if (!have_root) tree->Add(NodeTree::Type::kNull, {}, false, NodeMark{});
    return true;
  }

  // libyaml counts columns in characters, yaml-cpp (the reference) in bytes.
  // Events come in document order, so a cursor converts each mark from the
  // last one: linear even for a whole file on one line.
  NodeMark YamlMark(const std::string& text, const yaml_mark_t& m) {
    YamlCursor& c = yaml_cursor_;
    if (m.line != c.line || m.column < c.chars) c = {m.line, 0, 0};
    const size_t start = lines_.LineStart(m.line);
    while (c.chars < m.column && start + c.bytes < text.size()) {
      unsigned char b = static_cast<unsigned char>(text[start + c.bytes]);
      c.bytes += b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : 4;
      ++c.chars;
    }
    return {static_cast<int>(m.line), static_cast<int>(c.bytes)};
  }

  // Room for `n` more rules: growing (and freeing) large blocks one rule at a
  // time makes glibc consolidate its free lists again and again.
  void Reserve(size_t n) {
    result_.ruleset.rules.reserve(result_.ruleset.rules.size() + n);
    ids_.reserve(ids_.size() + n);
  }

  // Everything at the top of a rule file but the rules; false if the file
  // cannot be read further.
  bool ReadTop(const std::string& file, const RNode& root, UriFields* fields) {
    DiagSink top(&result_.diagnostics, file, "");
    if (!root.IsMap()) {
      top.Error(root, "a rule file must be a map with a 'rules:' list");
      return false;
    }
    CheckKeys(root, {"version", "rules", "actions", "uri_fields", "sources"}, "the rule file", top);
    if (auto v = root["version"]; v && !(v.IsScalar() && v.Scalar() == "1"))
      top.Error(v, "unsupported rule file version (this weir reads version 1)");
    if (auto u = root["uri_fields"]) ReadUriFields(u, top, fields);
    if (auto src = root["sources"]) ReadSources(src, top);
    // Actions first, so rules can name actions defined further down the file.
    if (auto a = root["actions"]) {
      if (!a.IsMap()) {
        top.Error(a, "'actions' must be a map from action name to settings");
      } else {
        for (const auto& kv : a) {
          std::string name = kv.first.Scalar();
          if (!ValidId(name)) {
            top.Error(kv.first, absl::StrCat("bad action name '", name, "'"));
            continue;
          }
          if (actions_.count(name)) {
            top.Error(kv.first, absl::StrCat("action '", name, "' is defined twice"));
            continue;
          }
          ActionDef def;
          if (ReadAction(kv.second, name, top, &def)) {
            actions_.insert(name);
            AddAction(name, std::move(def));
          }
        }
      }
    }
    return true;
  }

  // `sources:` name -> {signature, secret, tolerance}: systems that post
  // signed webhooks to `weir serve` (POST /hooks/NAME).
  void ReadSources(const RNode& n, DiagSink& d) {
    static const std::set<std::string> kSchemes = {"standard", "github",        "uipath",
                                                   "arcgis",   "secret-header", "none"};
    if (!n.IsMap()) {
      d.Error(n, "'sources' must be a map from source name to {signature, secret}");
      return;
    }
    for (const auto& kv : n) {
      std::string name = kv.first.Scalar();
      if (!ValidId(name)) {
        d.Error(kv.first, absl::StrCat("bad source name '", name, "'"));
        continue;
      }
      if (result_.sources.count(name)) {
        d.Error(kv.first, absl::StrCat("source '", name, "' is defined twice"));
        continue;
      }
      const RNode& s = kv.second;
      if (!s.IsMap()) {
        d.Error(s, absl::StrCat("source '", name, "' must be a map with 'signature' and 'secret'"));
        continue;
      }
      size_t before = d.count();
      CheckKeys(s, {"signature", "secret", "tolerance"}, "a source", d);
      SourceDef def;
      def.name = name;
      def.where = d.Where(s);
      if (auto sig = s["signature"]) {
        if (!sig.IsScalar() || !kSchemes.count(sig.Scalar()))
          d.Error(sig, absl::StrCat("source '", name,
                                    "': signature must be standard, github, uipath, arcgis, "
                                    "secret-header or none"));
        else
          def.signature = sig.Scalar();
      } else {
        d.Error(s, absl::StrCat("source '", name, "' needs a 'signature'"));
      }
      if (auto sec = s["secret"]) {
        if (!sec.IsScalar())
          d.Error(sec, absl::StrCat("source '", name, "': secret must be a string"));
        else
          Expand(sec, sec.Scalar(), d, &def.secret);
      } else if (def.signature != "none") {
        d.Error(s, absl::StrCat("source '", name, "' needs a 'secret'"));
      }
      if (auto t = s["tolerance"]) {
        int64_t secs = 0;
        std::string v = t.IsScalar() ? t.Scalar() : "";
        if (!v.empty() && v.back() == 's') v.pop_back();
        if (!absl::SimpleAtoi(v, &secs) || secs <= 0)
          d.Error(t, absl::StrCat("source '", name, "': tolerance must be seconds, e.g. 300s"));
        else
          def.tolerance_seconds = secs;
      }
      if (d.count() == before) result_.sources.emplace(name, std::move(def));
    }
  }

  // Runs a fast reader (simdjson for JSON, libyaml for YAML). When it gives
  // up (false) or the file has any mistake, its effects are undone and false
  // is returned: the file is then read again by yaml-cpp, whose positions and
  // messages are the reference (the fast readers' positions agree with them
  // on files without mistakes, which is what rules keep).
  template <typename Read>
  bool TryFast(Read&& read) {
    const bool limit_reported = rule_limit_reported_;
    const size_t rules_before = result_.ruleset.rules.size();
    const size_t diags_before = result_.diagnostics.size();
    const size_t refs_before = pending_refs_.size();
    const std::map<std::string, SourceDef> sources_before = result_.sources;
    std::vector<std::string> ids_added, actions_added;
    ids_added_ = &ids_added;
    actions_added_ = &actions_added;
    bool ok = read() && result_.diagnostics.size() == diags_before;
    ids_added_ = nullptr;
    actions_added_ = nullptr;
    if (ok) return true;
    rule_limit_reported_ = limit_reported;
    result_.ruleset.rules.resize(rules_before);
    result_.diagnostics.resize(diags_before);
    pending_refs_.resize(refs_before);
    result_.sources = sources_before;
    for (const std::string& id : ids_added) ids_.erase(id);
    for (const std::string& name : actions_added) {
      actions_.erase(name);
      result_.ruleset.actions.erase(name);
    }
    return false;
  }

  bool ConvertAndRead(const std::string& file, const std::string& text) {
    namespace od = simdjson::ondemand;
    simdjson::padded_string json(text);
    od::parser parser;
    od::document doc;
    od::object root;
    if (parser.iterate(json).get(doc) || doc.get_object().get(root)) return false;
    lines_.Reset(json.data(), text.size());
    kid_stack_.clear();
    // Pass 1: everything but the rules (uri_fields must be known first).
    NodeTree top_tree;
    uint32_t top;
    bool have_rules = false;
    if (!BuildObject(&top_tree, root, 0, lines_.Mark(json.data()), &top, "rules", &have_rules))
      return false;
    // Anything after the object (another one) is yaml-cpp's to report.
    if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return false;
    if (!have_rules) return false;
    UriFields fields;
    if (!ReadTop(file, top_tree.Node(top), &fields)) return false;
    // Pass 2: each rule on its own, in one reused tree.
    doc.rewind();
    lines_.Rewind();
    if (doc.get_object().get(root)) return false;
    NodeTree tree;
    for (auto fr : root) {
      od::field f;
      std::string_view key;
      if (std::move(fr).get(f) || f.unescaped_key().get(key)) return false;
      if (key != "rules") continue;
      od::array rules;
      if (f.value().get_array().get(rules)) return false;
      // Counting rewinds the array, but only when it succeeds: a broken
      // array is left to the other readers.
      size_t count = 0;
      if (rules.count_elements().get(count)) return false;
      Reserve(count);
      for (auto er : rules) {
        od::value rv;
        uint32_t r;
        tree.Clear();
        if (std::move(er).get(rv) || !Build(&tree, rv, 0, &r)) return false;
        ReadRule(file, tree.Node(r), fields);
      }
      return true;  // a second "rules" key: yaml-cpp's path reports it
    }
    return false;
  }

  // Byte offset in a JSON text -> 0-based line and byte column, as yaml-cpp
  // counts them. Offsets come in document order, so a cursor finds the line.
  class LineIndex {
   public:
    void Reset(const char* base, size_t size) {
      base_ = base;
      starts_.assign(1, 0);
      for (const char* p = base; (p = static_cast<const char*>(
                                      std::memchr(p, '\n', size - static_cast<size_t>(p - base))));
           ++p)
        starts_.push_back(static_cast<size_t>(p - base) + 1);
      line_ = 0;
    }
    void Rewind() { line_ = 0; }
    size_t LineStart(size_t line) const { return line < starts_.size() ? starts_[line] : 0; }
    NodeMark Mark(const char* at) {
      size_t off = static_cast<size_t>(at - base_);
      if (off < starts_[line_]) line_ = 0;
      while (line_ + 1 < starts_.size() && starts_[line_ + 1] <= off) ++line_;
      return {static_cast<int>(line_), static_cast<int>(off - starts_[line_])};
    }

   private:
    const char* base_ = nullptr;
    std::vector<size_t> starts_;
    size_t line_ = 0;
  };

  // A JSON object into `tree` (see Build), without the key `skip` if given:
  // *skipped tells whether it was there.
  bool BuildObject(NodeTree* tree, simdjson::ondemand::object& o, int depth, NodeMark mark,
                   uint32_t* out, std::string_view skip = {}, bool* skipped = nullptr) {
    namespace od = simdjson::ondemand;
    *out = tree->Add(NodeTree::Type::kMap, {}, false, mark);
    const size_t start = kid_stack_.size();
    for (auto fr : o) {
      od::field f;
      std::string_view key;
      if (std::move(fr).get(f)) return false;
      const char* key_at = f.key().raw() - 1;  // before unescaped_key() consumes it
      if (f.unescaped_key().get(key)) return false;
      if (skipped && key == skip) {
        *skipped = true;
        continue;
      }
      kid_stack_.push_back(tree->Add(NodeTree::Type::kScalar, key, true, lines_.Mark(key_at)));
      od::value cv = f.value();
      uint32_t child;
      if (!Build(tree, cv, depth + 1, &child)) return false;
      kid_stack_.push_back(child);
    }
    CloseContainer(tree, *out, start);
    return true;
  }

  // A JSON value into `tree`, keeping what the dialects look at: strings are
  // quoted scalars, numbers keep their text as written. False on anything
  // unexpected (the file is then read by yaml-cpp).
  bool Build(NodeTree* tree, simdjson::ondemand::value& v, int depth, uint32_t* out) {
    namespace od = simdjson::ondemand;
    if (depth > 64) return false;
    const char* at;
    od::json_type t;
    if (v.current_location().get(at) || v.type().get(t)) return false;
    const NodeMark mark = lines_.Mark(at);
    switch (t) {
      case od::json_type::object: {
        od::object o;
        return !v.get_object().get(o) && BuildObject(tree, o, depth, mark, out);
      }
      case od::json_type::array: {
        od::array a;
        if (v.get_array().get(a)) return false;
        *out = tree->Add(NodeTree::Type::kSequence, {}, false, mark);
        const size_t start = kid_stack_.size();
        for (auto er : a) {
          od::value ev;
          uint32_t child;
          if (std::move(er).get(ev) || !Build(tree, ev, depth + 1, &child)) return false;
          kid_stack_.push_back(child);
        }
        CloseContainer(tree, *out, start);
        return true;
      }
      case od::json_type::string: {
        std::string_view sv;
        if (v.get_string().get(sv)) return false;
        *out = tree->Add(NodeTree::Type::kScalar, sv, true, mark);
        return true;
      }
      case od::json_type::number:
        *out = tree->Add(NodeTree::Type::kScalar, NumberText(v), false, mark);
        return true;
      case od::json_type::boolean: {
        bool b;
        if (v.get_bool().get(b)) return false;
        *out = tree->Add(NodeTree::Type::kScalar, b ? "true" : "false", false, mark);
        return true;
      }
      case od::json_type::null: {
        bool n;
        if (v.is_null().get(n) || !n) return false;
        *out = tree->Add(NodeTree::Type::kNull, {}, false, mark);
        return true;
      }
    }
    return false;
  }

  void AddAction(const std::string& name, ActionDef def) {
    if (result_.ruleset.actions.emplace(name, std::move(def)).second && actions_added_)
      actions_added_->push_back(name);
  }

  LoadResult Finish() {
    // Names of actions are checked once every file is read.
    for (auto& [rule_index, name, where, rule_id] : pending_refs_) {
      if (!result_.ruleset.actions.count(name) && name != "stdout") {
        result_.diagnostics.push_back(
            MakeDiag(where, rule_id, absl::StrCat("unknown action '", name, "'")));
      }
    }
    for (auto& rule : result_.ruleset.rules)
      for (auto& a : rule.actions)
        if (a == "stdout" && !result_.ruleset.actions.count("stdout")) {
          ActionDef def;
          def.name = "stdout";
          def.type = "stdout";
          result_.ruleset.actions.emplace("stdout", std::move(def));
        }
    return std::move(result_);
  }

  void AddFileError(const std::string& file, const std::string& msg) {
    SourceLocation where;
    where.file = file;
    result_.diagnostics.push_back(MakeDiag(std::move(where), "", msg));
  }

 private:
  void ReadUriFields(const RNode& u, DiagSink& d, UriFields* f) {
    if (!u.IsMap()) {
      d.Error(u, "'uri_fields' must be a map");
      return;
    }
    if (!CheckKeys(u, {"events", "source", "id", "operation", "uri"}, "uri_fields", d)) return;
    for (const auto& kv : u) {
      if (!kv.second.IsScalar() || !ValidPath(kv.second.Scalar())) {
        d.Error(kv.second, "a uri_fields value must be a property path");
        continue;
      }
      const std::string& k = kv.first.Scalar();
      std::string* slot = k == "events"   ? &f->events
                          : k == "source" ? &f->source
                          : k == "id"     ? &f->id
                          : k == "operation" ? &f->operation
                                             : &f->uri;
      *slot = kv.second.Scalar();
    }
  }

  void ReadRule(const std::string& file, const RNode& r, const UriFields& fields) {
    DiagSink anon(&result_.diagnostics, file, "");
    if (!r.IsMap()) {
      anon.Error(r, "each rule must be a map with 'id' and a condition");
      return;
    }
    if (result_.ruleset.rules.size() >= opts_.max_rules) {
      if (!rule_limit_reported_) anon.Error(r, absl::StrCat("more than ", opts_.max_rules, " rules"));
      rule_limit_reported_ = true;
      return;
    }
    RuleDef rule;
    auto id = r["id"];
    if (!id) {
      anon.Error(r, "rule has no 'id'");
    } else if (!id.IsScalar() || !ValidId(id.Scalar())) {
      anon.Error(id, absl::StrCat("bad rule id '", id.IsScalar() ? id.Scalar() : "",
                                  "': use letters, digits and _ . : -"));
    } else {
      rule.id = id.Scalar();
    }
    DiagSink d(&result_.diagnostics, file, rule.id);
    rule.where = d.Where(r);
    static const std::set<std::string> kRuleKeys = {"id",      "description", "enabled", "filter",
                                                     "events",  "pattern",     "actions"};
    CheckKeys(r, kRuleKeys, "a rule", d);
    if (!rule.id.empty()) {
      auto [it, inserted] = ids_.emplace(rule.id, result_.ruleset.rules.size());
      if (inserted && ids_added_) ids_added_->push_back(rule.id);
      if (!inserted) {
        const SourceLocation& first = result_.ruleset.rules[it->second].where;
        d.Error(id, first.line > 0 ? absl::StrCat("duplicate rule id (first defined at ",
                                                  first.file, ":", first.line, ":",
                                                  first.column, ")")
                                   : absl::StrCat("duplicate rule id (first defined in ",
                                                  first.file, ")"));
      }
    }
    if (auto v = r["description"]) {
      if (!v.IsScalar()) d.Error(v, "'description' must be a string");
      else rule.description = v.Scalar();
    }
    if (auto v = r["enabled"]) {
      ScalarKind k = v.IsScalar() ? KindOf(v) : ScalarKind::kString;
      if (k == ScalarKind::kTrue) rule.enabled = true;
      else if (k == ScalarKind::kFalse) rule.enabled = false;
      else d.Error(v, "'enabled' must be true or false");
    }
    int dialects = 0;
    for (const char* dialect : {"filter", "events", "pattern"}) {
      auto c = r[dialect];
      if (!c) continue;
      if (++dialects > 1) {
        d.Error(c, "a rule has exactly one of 'filter', 'events', 'pattern'");
        continue;
      }
      rule.dialect = dialect;
      std::string name = dialect;
      if (name == "filter") LowerFilter(c, d, opts_, &rule.condition);
      else if (name == "pattern") LowerPattern(c, d, opts_, &rule.condition);
      else LowerEvents(c, d, fields, &rule.condition);
      if (rule.condition.any_of.size() > opts_.max_conjunctions_per_rule) {
        d.Error(c, absl::StrCat("the condition expands to ", rule.condition.any_of.size(),
                                " alternatives; the limit is ", opts_.max_conjunctions_per_rule));
      }
    }
    if (dialects == 0) d.Error(r, "rule has no condition: give one of 'filter', 'events', 'pattern'");
    if (auto a = r["actions"]) ReadRuleActions(a, d, &rule);
    result_.ruleset.rules.push_back(std::move(rule));
  }

  void ReadRuleActions(const RNode& a, DiagSink& d, RuleDef* rule) {
    if (!a.IsSequence()) {
      d.Error(a, "'actions' must be a list of action names or inline actions");
      return;
    }
    int n = 0;
    for (const auto& e : a) {
      ++n;
      if (e.IsScalar()) {
        pending_refs_.push_back({result_.ruleset.rules.size(), e.Scalar(), d.Where(e), rule->id});
        rule->actions.push_back(e.Scalar());
      } else if (e.IsMap()) {
        std::string name = absl::StrCat(rule->id, "#", n);
        ActionDef def;
        if (ReadAction(e, name, d, &def)) {
          rule->actions.push_back(name);
          AddAction(name, std::move(def));
        }
      } else {
        d.Error(e, "an action is a name or a map such as {webhook: {url: ...}}");
      }
    }
  }

  // Expands ${NAME} and ${NAME:-default} (or only checks them, when the
  // references are to be kept).
  bool Expand(const RNode& at, const std::string& in, DiagSink& d, std::string* out) {
    errors_.clear();
    bool ok = ExpandEnv(in, opts_.expand_env ? &opts_.env : nullptr, out, &errors_);
    for (const std::string& e : errors_) d.Error(at, e);
    return ok;
  }

  bool ReadConfig(const RNode& n, DiagSink& d, ConfigValue* out) {
    out->where = d.Where(n);
    if (n.IsNull()) {
      out->kind = ConfigValue::Kind::kNull;
      return true;
    }
    if (n.IsScalar()) {
      out->kind = ConfigValue::Kind::kScalar;
      return Expand(n, n.Scalar(), d, &out->scalar);
    }
    bool ok = true;
    if (n.IsSequence()) {
      out->kind = ConfigValue::Kind::kList;
      for (const auto& e : n) {
        out->list.emplace_back();
        ok &= ReadConfig(e, d, &out->list.back());
      }
      return ok;
    }
    out->kind = ConfigValue::Kind::kMap;
    for (const auto& kv : n) {
      out->map.emplace_back(kv.first.Scalar(), ConfigValue{});
      ok &= ReadConfig(kv.second, d, &out->map.back().second);
    }
    return ok;
  }

  bool ReadAction(const RNode& n, const std::string& name, DiagSink& d, ActionDef* def) {
    static const std::map<std::string, std::set<std::string>> kKeys = {
        {"stdout", {}},
        {"file", {"path"}},
        {"exec", {"command", "timeout"}},
        {"webhook",
         {"url", "secret", "signature", "body", "headers", "timeout", "retry", "rate", "tls",
          "config"}},
    };
    if (!n.IsMap() || n.size() != 1) {
      d.Error(n, absl::StrCat("action '", name,
                              "' must be a map with one executor: stdout, file, exec or webhook"));
      return false;
    }
    auto kv = *n.begin();
    std::string type = kv.first.Scalar();
    auto it = kKeys.find(type);
    if (it == kKeys.end()) {
      d.Error(kv.first, absl::StrCat("unknown executor '", type,
                                     "' (expected stdout, file, exec or webhook)"));
      return false;
    }
    def->name = name;
    def->type = type;
    def->where = d.Where(n);
    const RNode& s = kv.second;
    size_t before = d.count();
    if (!s.IsNull() && !s.IsMap()) {
      d.Error(s, absl::StrCat("the settings of '", type, "' must be a map"));
      return false;
    }
    if (s.IsMap()) CheckKeys(s, it->second, absl::StrCat("'", type, "' settings").c_str(), d);
    ReadConfig(s, d, &def->settings);
    auto require = [&](const char* key) {
      if (!s.IsMap() || !s[key]) d.Error(n, absl::StrCat("'", type, "' needs '", key, "'"));
    };
    if (type == "file") require("path");
    if (type == "exec") require("command");
    if (type == "webhook") {
      require("url");
      CheckWebhook(s, d);
    }
    return d.count() == before;
  }

  void CheckWebhook(const RNode& s, DiagSink& d) {
    if (!s.IsMap()) return;
    if (auto v = s["signature"]) {
      static const std::set<std::string> kinds = {"standard", "github", "uipath", "arcgis",
                                                  "secret-header", "none"};
      if (!v.IsScalar() || !kinds.count(v.Scalar()))
        d.Error(v, absl::StrCat("unknown signature scheme (expected one of: ", Join(kinds), ")"));
    }
    if (auto v = s["body"]; v && !(v.IsScalar() && (v.Scalar() == "event" || v.Scalar() == "envelope")))
      d.Error(v, "'body' must be event or envelope");
    if (auto v = s["retry"]) {
      if (v.IsMap()) CheckKeys(v, {"attempts", "backoff", "max_backoff"}, "retry", d);
      else d.Error(v, "'retry' must be a map");
    }
    if (auto v = s["tls"]) {
      if (v.IsMap()) CheckKeys(v, {"ca_file"}, "tls", d);
      else d.Error(v, "'tls' must be a map");
    }
    if (auto v = s["headers"]; v && !v.IsMap()) d.Error(v, "'headers' must be a map");
    if (auto v = s["config"]) {
      if (!v.IsMap()) {
        d.Error(v, "'config' must be a map");
      } else if (CheckKeys(v, {"deactivationPolicy"}, "config", d)) {
        if (auto p = v["deactivationPolicy"]) {
          if (p.IsMap()) {
            CheckKeys(p, {"numberOfFailures", "daysInPast"}, "deactivationPolicy", d);
            for (const char* k : {"numberOfFailures", "daysInPast"}) {
              auto x = p[k];
              if (x && !(x.IsScalar() && KindOf(x) == ScalarKind::kNumber))
                d.Error(x, absl::StrCat("'", k, "' must be a number"));
            }
          } else {
            d.Error(p, "'deactivationPolicy' must be a map");
          }
        }
      }
    }
  }

  LoadOptions opts_;
  std::vector<std::string> errors_;  // scratch for Expand
  LoadResult result_;
  std::set<std::string> actions_;
  absl::flat_hash_map<std::string, size_t> ids_;  // id -> its first rule in result_
  struct PendingRef {
    size_t rule_index;
    std::string name;
    SourceLocation where;
    std::string rule_id;
  };
  std::vector<PendingRef> pending_refs_;
  bool rule_limit_reported_ = false;
  // Attaches the children pushed on kid_stack_ since `start` to `node`.
  void CloseContainer(NodeTree* tree, uint32_t node, size_t start) {
    tree->SetKids(node, kid_stack_.data() + start, kid_stack_.size() - start);
    kid_stack_.resize(start);
  }

  LineIndex lines_;                  // of the file being read by a fast reader
  struct YamlCursor {
    size_t line = 0, chars = 0, bytes = 0;
  } yaml_cursor_;
  std::vector<uint32_t> kid_stack_;  // children of the containers being built
  // While a JSON file is read by the fast path: what it added, to undo.
  std::vector<std::string>* ids_added_ = nullptr;
  std::vector<std::string>* actions_added_ = nullptr;
};

}  // namespace

LoadResult ParseRules(const std::vector<RuleText>& files, const LoadOptions& options) {
  Loader loader(options);
  for (const RuleText& f : files) loader.LoadText(f.name, f.text);
  return loader.Finish();
}

LoadResult LoadRuleFiles(const std::vector<std::string>& paths, const LoadOptions& options) {
  Loader loader(options);
  for (const std::string& p : paths) {
    std::ifstream in(p, std::ios::binary);
    if (!in) {
      loader.AddFileError(p, "cannot open rule file");
      continue;
    }
    // One read into a string of the file's size (a stringstream copies twice).
    std::string text;
    in.seekg(0, std::ios::end);
    std::streamoff size = in.tellg();
    in.seekg(0, std::ios::beg);
    if (size > 0) {
      text.resize(static_cast<size_t>(size));
      in.read(text.data(), size);
      text.resize(static_cast<size_t>(in.gcount()));
    } else {  // not seekable (a pipe): read to the end
      std::stringstream ss;
      ss << in.rdbuf();
      text = ss.str();
    }
    loader.LoadText(p, text);
  }
  return loader.Finish();
}

}  // namespace weir
