// Loads rule files: reads each file's bytes, picks a reader (the fast JSON
// and YAML readers first, yaml-cpp when they give up or find a mistake) and
// hands the trees to the rule-file schema.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "rules/json_reader.h"
#include "rules/schema.h"
#include "rules/yaml_reader.h"
#include "simdjson.h"

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

namespace {

// Offset of the first byte that is not part of valid UTF-8, or npos.
size_t FirstInvalidUtf8(std::string_view s) {
  // simdjson's vectorised check first (7 MB of rules: well under a
  // millisecond, against several for the loop below); the loop then only
  // finds where a bad file goes wrong.
  if (simdjson::validate_utf8(s.data(), s.size())) return std::string_view::npos;
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

// Hands a streaming reader's trees to the schema.
class StreamToSchema : public RuleFileVisitor {
 public:
  // With a consumer, each part of the rules is handed to it once settled.
  StreamToSchema(RuleFileSchema* schema, const std::string& file, bool json,
                 EncodedRulesConsumer* consumer = nullptr)
      : consumer_(consumer), schema_(schema), file_(file) {
    settings_.json = json;
  }
  void JsonSyntax(bool json) override { settings_.json = json; }
  bool Top(const RNode& top) override { return schema_->ReadTop(file_, top, &settings_); }
  void Reserve(size_t rules) override { schema_->Reserve(rules); }
  void Rule(const RNode& rule) override { schema_->ReadRule(file_, rule, settings_); }
  std::unique_ptr<RuleFileVisitor> Fork() override;
  bool Join(RuleFileVisitor& part) override;
  void Settled(size_t file_rules) override {
    if (consumer_ && schema_->encoded()) consumer_->Take(*schema_->encoded(), file_rules);
  }

 protected:
  void Bind(RuleFileSchema* schema, const FileSettings& settings) {
    schema_ = schema;
    settings_ = settings;
  }

  EncodedRulesConsumer* const consumer_;

 private:
  RuleFileSchema* schema_;
  const std::string& file_;
  FileSettings settings_;
};

// A later part of a file's rules, read on another thread into a schema of
// its own (RuleFileSchema::Fork), then joined.
class SchemaPart : public StreamToSchema {
 public:
  SchemaPart(RuleFileSchema* main, const std::string& file, const FileSettings& settings,
             EncodedRulesConsumer* consumer)
      : StreamToSchema(nullptr, file, settings.json, consumer), schema(main->Fork(&rules)) {
    Bind(schema.get(), settings);
  }
  void Settled(size_t file_rules) override {
    if (consumer_) consumer_->Take(rules, file_rules);
  }
  EncodedRules rules;
  std::unique_ptr<RuleFileSchema> schema;
};

std::unique_ptr<RuleFileVisitor> StreamToSchema::Fork() {
  return std::make_unique<SchemaPart>(schema_, file_, settings_, consumer_);
}

bool StreamToSchema::Join(RuleFileVisitor& part) {
  auto& p = static_cast<SchemaPart&>(part);
  return schema_->Join(*p.schema, std::move(p.rules));
}

class Loader {
 public:
  explicit Loader(const LoadOptions& o, EncodedRules* encoded = nullptr,
                  EncodedRulesConsumer* consumer = nullptr)
      : consumer_(consumer),
        max_depth_(o.max_nesting_depth),
        threads_(
            std::min<size_t>(o.load_threads, std::max(1u, std::thread::hardware_concurrency()))),
        schema_(o) {
    if (encoded) schema_.EncodeInto(encoded);
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
      schema_.Error({file, line, col}, "the rule file is not valid UTF-8");
      return;
    }
    // Fast readers first; a file they cannot read, or that has mistakes, is
    // read again by yaml-cpp, whose positions and messages are the reference
    // (the fast readers' positions agree with them on files without
    // mistakes, which is what rules keep).
    // Nesting is checked by each reader as it reads, before the front ends
    // recurse (and before yaml-cpp, which recurses as it parses, sees it).
    NodeMark too_deep;
    if (LooksLikeJson(text)) {
      StreamToSchema to_schema(&schema_, file, true, consumer_);
      schema_.BeginTrial();
      bool read = ReadJsonRules(text, max_depth_, threads_, &to_schema, &too_deep);
      if (schema_.EndTrial(read)) return;
      if (consumer_) consumer_->Drop();
      if (too_deep.line >= 0) return TooDeep(file, too_deep);
    }
    bool libyaml_parsed = false;
    {
      schema_.BeginTrial();
      StreamToSchema to_schema(&schema_, file, false);
      FastYamlStream streamed = StreamYamlFast(text, max_depth_, &to_schema, &too_deep);
      bool read = streamed == FastYamlStream::kRead;
      if (streamed == FastYamlStream::kNeedsWholeTree) {
        schema_.EndTrial(false);
        schema_.BeginTrial();
        NodeTree tree;
        read = ParseYamlFast(text, max_depth_, &tree, &too_deep);
        if (read) schema_.ReadDocument(file, tree.Node(0));
      }
      libyaml_parsed = read;
      if (schema_.EndTrial(read)) return;
      if (too_deep.line >= 0) return TooDeep(file, too_deep);
    }
    NodeTree tree;
    std::string error;
    NodeMark at, second;
    bool unparsable = false;
    if (!ParseYamlReference(text, max_depth_, &tree, &error, &at, &unparsable, &second)) {
      // Valid YAML that yaml-cpp 0.7 cannot parse (e.g. "?" inside a plain
      // scalar in a flow list) but libyaml did: its diagnostics stand.
      if (unparsable && libyaml_parsed) {
        NodeTree fast;
        ParseYamlFast(text, max_depth_, &fast, &too_deep);
        schema_.ReadDocument(file, fast.Node(0));
        return;
      }
      schema_.Error(DiagSink(nullptr, file, "").Where(at), std::move(error));
      return;
    }
    if (second.line >= 0) {
      schema_.Error(DiagSink(nullptr, file, "").Where(second),
                    "a second document in the rule file (weir reads one: put every rule "
                    "under its 'rules:')");
    }
    schema_.ReadDocument(file, tree.Node(0));
  }

  void AddFileError(const std::string& file, const std::string& msg) {
    SourceLocation where;
    where.file = file;
    schema_.Error(std::move(where), msg);
  }

  LoadResult Finish() { return schema_.Finish(); }

 private:
  void TooDeep(const std::string& file, NodeMark at) {
    schema_.Error(DiagSink(nullptr, file, "").Where(at), TooDeepMessage(max_depth_));
  }

  EncodedRulesConsumer* const consumer_;
  const size_t max_depth_;
  const size_t threads_;
  RuleFileSchema schema_;
};

}  // namespace

LoadResult ParseRules(const std::vector<RuleText>& files, const LoadOptions& options) {
  Loader loader(options);
  for (const RuleText& f : files) loader.LoadText(f.name, f.text);
  return loader.Finish();
}

LoadResult ParseRulesEncoded(std::vector<RuleText>* files, const LoadOptions& options,
                             EncodedRules* rules, EncodedRulesConsumer* consumer) {
  Loader loader(options, rules, files->size() == 1 ? consumer : nullptr);
  for (RuleText& f : *files) {
    loader.LoadText(f.name, f.text);
    f.text = {};  // read: its bytes are not needed again
  }
  return loader.Finish();
}

absl::StatusOr<std::string> ReadRuleFile(const std::string& path, const LoadOptions& options) {
  const size_t limit = options.max_file_bytes;
  auto over = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("the rule file is over the limit of ", limit, " bytes"));
  };
  auto sys_error = [](const char* what) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", std::strerror(errno)));
  };
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return sys_error("cannot open the rule file");
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  struct stat st;
  if (fstat(fd, &st) != 0) return sys_error("cannot read the rule file");
  if (S_ISDIR(st.st_mode)) return absl::InvalidArgumentError("a directory, not a rule file");
  std::string text;
  if (S_ISREG(st.st_mode)) {
    if (static_cast<uint64_t>(st.st_size) > limit) return over();
    text.resize(static_cast<size_t>(st.st_size));
  }
  // Pipes and devices say nothing of their size, and a file may grow: when
  // the buffer is full, a small read tells whether there is more, and the
  // buffer doubles only then, never past the limit (an endless device stops
  // there).
  size_t used = 0;
  char probe[1 << 16];
  for (;;) {
    const bool full = used == text.size();
    ssize_t n = read(fd, full ? probe : text.data() + used, full ? sizeof probe : text.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("cannot read the rule file");
    }
    if (n == 0) break;
    const size_t got = static_cast<size_t>(n);
    if (used + got > limit) return over();
    if (full) {
      text.resize(std::min(std::max(used * 2, used + got), limit));
      std::memcpy(text.data() + used, probe, got);
    }
    used += got;
  }
  text.resize(used);
  return text;
}

LoadResult LoadRuleFiles(const std::vector<std::string>& paths, const LoadOptions& options) {
  Loader loader(options);
  for (const std::string& p : paths) {
    absl::StatusOr<std::string> text = ReadRuleFile(p, options);
    if (!text.ok()) {
      loader.AddFileError(p, std::string(text.status().message()));
      continue;
    }
    loader.LoadText(p, *text);
  }
  return loader.Finish();
}

}  // namespace weir
