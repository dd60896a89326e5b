// The YAML readers: libyaml events into a NodeTree, and yaml-cpp documents
// copied into one. yaml-cpp's exceptions are caught here and become error
// messages; none leave this file.
#include "rules/yaml_reader.h"

#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "rules/line_index.h"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/yaml.h"
#include "yaml.h"

namespace weir {
namespace {

class FastYamlReader {
 public:
  enum class Result { kRead, kGaveUp, kTooDeep, kWholeTree };

  // Reads `text` into `top`. With a `stream`, the elements of the top-level
  // 'rules' list are not kept in `top`: each is built on its own in a reused
  // tree and handed to stream->Rule as soon as it ends, and `top` (without
  // 'rules') goes to stream->Top at the end. A file this cannot stream
  // (no top-level map, no 'rules' list, 'uri_fields', which the rules need
  // first) gives kWholeTree.
  Result Parse(std::string_view text, size_t max_depth, NodeTree* top, RuleFileVisitor* stream,
               NodeMark* too_deep) {
    *too_deep = {};
    struct Parser {
      yaml_parser_t p;
      Parser() { yaml_parser_initialize(&p); }
      ~Parser() { yaml_parser_delete(&p); }
    } parser;
    yaml_parser_set_input_string(&parser.p, reinterpret_cast<const unsigned char*>(text.data()),
                                 text.size());
    yaml_parser_set_encoding(&parser.p, YAML_UTF8_ENCODING);
    text_ = text;
    lines_.Reset(text.data(), text.size());
    cursor_ = {};
    kid_stack_.clear();
    struct Open {
      uint32_t node;
      size_t kids_start;
    };
    std::vector<Open> open;
    NodeTree rule_tree;
    // Streaming: the depth of the 'rules' list once it is open (0 before),
    // and whether the next top-level event is its value.
    size_t rules_depth = 0;
    bool rules_next = false, rules_seen = false, key_next = true, first_key_seen = false;
    bool have_root = false, ok = true, done = false, whole = false;
    // Past a construct it does not mirror, the reader only counts depth.
    bool counting = false;
    size_t depth = 0;
    int documents = 0;
    auto in_rule = [&] { return rules_depth > 0 && depth > rules_depth; };
    // Adds a finished node to its parent, makes it the root, or, for an
    // element of 'rules', hands it on.
    auto place = [&](uint32_t n) {
      if (rules_depth > 0 && depth == rules_depth) {
        stream->Rule(rule_tree.Node(n));
        rule_tree.Clear();
      } else if (open.empty()) {
        have_root = true;
      } else {
        kid_stack_.push_back(n);
      }
    };
    while (!done) {
      yaml_event_t ev;
      if (!yaml_parser_parse(&parser.p, &ev)) {
        ok = false;
        break;
      }
      const NodeMark mark = Mark(ev.start_mark);
      const bool starts =
          ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT;
      const bool ends = ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT;
      if (starts) {
        // libyaml itself does not recurse, but it slows down with every
        // open flow collection: the check stops it early.
        if (++depth > max_depth) {
          *too_deep = mark;
          yaml_event_delete(&ev);
          return Result::kTooDeep;
        }
      } else if (ev.type == YAML_STREAM_END_EVENT) {
        done = true;
      }
      if (stream && !counting && !whole) {
        // Which top-level key this is, and whether it is 'rules'.
        const size_t level = starts ? depth - 1 : depth;
        if (level == 0 && starts && ev.type != YAML_MAPPING_START_EVENT) whole = true;
        if (level == 1 && rules_depth == 0 && (starts || ev.type == YAML_SCALAR_EVENT ||
                                              ev.type == YAML_ALIAS_EVENT)) {
          if (key_next) {
            std::string_view key;
            if (ev.type == YAML_SCALAR_EVENT)
              key = std::string_view(reinterpret_cast<const char*>(ev.data.scalar.value),
                                     ev.data.scalar.length);
            if (!first_key_seen) {
              stream->JsonSyntax(ev.type == YAML_SCALAR_EVENT &&
                                 ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE);
              first_key_seen = true;
            }
            // A tagged key is left to the readers that give up on tags.
            if (key == "uri_fields" || (key == "rules" && rules_seen) ||
                (ev.type == YAML_SCALAR_EVENT && ev.data.scalar.tag))
              whole = true;
            if (key == "rules") {
              rules_next = rules_seen = true;
              key_next = false;
              yaml_event_delete(&ev);
              continue;
            }
          } else if (rules_next) {
            rules_next = false;
            key_next = true;
            if (ev.type != YAML_SEQUENCE_START_EVENT || ev.data.sequence_start.tag) {
              whole = true;
            } else {
              rules_depth = depth;
              yaml_event_delete(&ev);
              continue;
            }
          }
          key_next = !key_next;
        }
        if (rules_depth > 0 && ends && depth == rules_depth) {  // the end of 'rules'
          rules_depth = 0;
          --depth;
          yaml_event_delete(&ev);
          continue;
        }
      }
      if (ends) --depth;
      if (counting || whole) {
        yaml_event_delete(&ev);
        continue;
      }
      NodeTree* tree = in_rule() || (rules_depth > 0 && !ends) ? &rule_tree : top;
      switch (ev.type) {
        case YAML_DOCUMENT_START_EVENT:
          if (++documents > 1) ok = false;
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
          tree = rules_depth > 0 && depth >= rules_depth ? &rule_tree : top;
          tree->SetKids(o.node, kid_stack_.data() + o.kids_start,
                        kid_stack_.size() - o.kids_start);
          kid_stack_.resize(o.kids_start);
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
      if (!ok) counting = true;
    }
    if (!ok) return Result::kGaveUp;
    if (whole || (stream && !rules_seen)) return Result::kWholeTree;
    if (!have_root) top->Add(NodeTree::Type::kNull, {}, false, NodeMark{});
    if (stream) stream->Top(top->Node(0));
    return Result::kRead;
  }

 private:
  // libyaml counts columns in characters, yaml-cpp (the reference) in bytes.
  // Events come in document order, so a cursor converts each mark from the
  // last one: linear even for a whole file on one line.
  NodeMark Mark(const yaml_mark_t& m) {
    Cursor& c = cursor_;
    if (m.line != c.line || m.column < c.chars) c = {m.line, 0, 0};
    const size_t start = lines_.LineStart(m.line);
    while (c.chars < m.column && start + c.bytes < text_.size()) {
      unsigned char b = static_cast<unsigned char>(text_[start + c.bytes]);
      c.bytes += b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : 4;
      ++c.chars;
    }
    return {static_cast<int>(m.line), static_cast<int>(c.bytes)};
  }

  std::string_view text_;
  LineIndex lines_;
  struct Cursor {
    size_t line = 0, chars = 0, bytes = 0;
  } cursor_;
  std::vector<uint32_t> kid_stack_;  // children of the containers being built
};

// Where a second YAML document with content starts, if there is one
// (yaml-cpp's Load reads only the first). At most two documents are
// parsed: yaml-cpp 0.7 finds endless empty ones in some inputs (a lone
// ","), which is why this is not LoadAll.
NodeMark SecondDocument(const std::string& text) {
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

}  // namespace

bool ParseYamlFast(std::string_view text, size_t max_depth, NodeTree* tree, NodeMark* too_deep) {
  return FastYamlReader().Parse(text, max_depth, tree, nullptr, too_deep) ==
         FastYamlReader::Result::kRead;
}

FastYamlStream StreamYamlFast(std::string_view text, size_t max_depth, RuleFileVisitor* visitor,
                              NodeMark* too_deep) {
  NodeTree top;
  switch (FastYamlReader().Parse(text, max_depth, &top, visitor, too_deep)) {
    case FastYamlReader::Result::kRead: return FastYamlStream::kRead;
    case FastYamlReader::Result::kWholeTree: return FastYamlStream::kNeedsWholeTree;
    default: return FastYamlStream::kGaveUp;
  }
}

bool ParseYamlReference(const std::string& text, size_t max_depth, NodeTree* tree, std::string* error,
                        NodeMark* error_mark, bool* unparsable, NodeMark* second) {
  *second = {};
  *unparsable = false;
  try {
    YAML::Node doc = YAML::Load(text);
    // Aliases may repeat a value many times, but not without bound.
    if (!tree->AddYaml(doc, 64 * text.size() + 1024, max_depth, error, error_mark)) return false;
    *second = SecondDocument(text);
    return true;
  } catch (const YAML::Exception& e) {
    std::string msg = e.msg;
    if (msg.find("alias") != std::string::npos || msg.find("anchor") != std::string::npos)
      msg += " (a value starting with * or & must be quoted, e.g. \"*.pdf\")";
    *error = absl::StrCat("not valid YAML/JSON: ", msg);
    *error_mark = NodeMark{e.mark.line, e.mark.column};
    *unparsable = true;
    return false;
  }
}

}  // namespace weir
