// bare_pass: the "bare pass" baseline for weir benchmarks.
//
// Loads an NDJSON file into one padded buffer, parses every line with simdjson On-Demand and
// reads one field, counting the lines where the field is found. No rules, no matching: this is
// the floor that `weir bench` is compared against.
//
//   bare_pass [--iterate-many] [--no-threads] [--batch-size N] [--json] FILE [PATH]
//
// PATH is a dotted path (default properties.STREET); a numeric segment indexes an array
// (a.0.b). A PATH starting with '/' is used as an RFC 6901 JSON pointer instead.
//
// Modes:
//   (default)       split the buffer at '\n' and call parser.iterate() on each line, with a
//                   padded_string_view over the big buffer (the bytes after a line are the next
//                   lines, and the buffer ends with SIMDJSON_PADDING bytes). Blank lines are
//                   skipped (counted as `blank`, not as events).
//   --iterate-many  parser.iterate_many() over the whole buffer (a document_stream). With
//                   SIMDJSON_THREADS_ENABLED (as the simdjson CMake target defines) stage 1 of
//                   the next batch runs on a second thread; --no-threads turns that off.
//
// Timing: `seconds` is the whole run measured inside the program (from the start of main,
// through loading the file, to the end of the pass); events/s and MB/s (1 MB = 1e6 bytes) are
// computed from it. `load_seconds` and `parse_seconds` split it.
#include <simdjson.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
namespace od = simdjson::ondemand;

struct Path {
  bool pointer = false;              // use at_pointer(text)
  std::string text;                  // as given
  std::vector<std::string> segments; // dotted form
};

struct Counts {
  uint64_t events = 0;    // documents parsed (non-blank lines)
  uint64_t blank = 0;     // blank lines skipped (iterate mode)
  uint64_t found = 0;     // documents where the path resolved
  uint64_t errors = 0;    // documents that failed to parse or to walk (other than "not there")
  uint64_t checksum = 0;  // sum of the lengths of the values read, so the read is real
};

// "The field is not there" rather than a broken document. simdjson's at_pointer reports
// INVALID_JSON_POINTER when the pointer runs into a scalar (e.g. "geometry": null); the pointer
// text itself is checked in main.
bool is_missing(simdjson::error_code e) {
  return e == simdjson::NO_SUCH_FIELD || e == simdjson::INDEX_OUT_OF_BOUNDS ||
         e == simdjson::INCORRECT_TYPE || e == simdjson::INVALID_JSON_POINTER;
}

// Consume the value at the end of the path: strings are unescaped, anything else is read as
// its raw token. Returns an error code (SUCCESS when read).
simdjson::error_code read_value(od::value v, Counts& c) {
  od::json_type t;
  if (auto e = v.type().get(t)) return e;
  if (t == od::json_type::string) {
    std::string_view s;
    if (auto e = v.get_string().get(s)) return e;
    c.checksum += s.size();
  } else {
    c.checksum += v.raw_json_token().size();
  }
  return simdjson::SUCCESS;
}

// Walks the dotted path with find_field_unordered (objects) and positional access (arrays).
template <class Doc>
simdjson::error_code lookup(Doc& doc, const Path& path, Counts& c) {
  if (path.pointer) {
    od::value v;
    if (auto e = doc.at_pointer(path.text).get(v)) return e;
    return read_value(v, c);
  }
  od::value v;
  {
    od::object root;
    if (auto e = doc.get_object().get(root)) return e;
    if (auto e = root.find_field_unordered(path.segments[0]).get(v)) return e;
  }
  for (size_t i = 1; i < path.segments.size(); ++i) {
    const std::string& seg = path.segments[i];
    od::json_type t;
    if (auto e = v.type().get(t)) return e;
    if (t == od::json_type::object) {
      od::object o;
      if (auto e = v.get_object().get(o)) return e;
      if (auto e = o.find_field_unordered(seg).get(v)) return e;
    } else if (t == od::json_type::array) {
      size_t index = 0;
      auto [p, ec] = std::from_chars(seg.data(), seg.data() + seg.size(), index);
      if (ec != std::errc() || p != seg.data() + seg.size()) return simdjson::NO_SUCH_FIELD;
      od::array a;
      if (auto e = v.get_array().get(a)) return e;
      if (auto e = a.at(index).get(v)) return e;
    } else {
      return simdjson::NO_SUCH_FIELD;
    }
  }
  return read_value(v, c);
}

// Reports the first few errors on stderr; `what` is "line" or "document".
void error(Counts& c, const char* what, uint64_t n, simdjson::error_code e) {
  if (c.errors++ < 5)
    std::fprintf(stderr, "bare_pass: %s %llu: %s\n", what, (unsigned long long)n,
                 simdjson::error_message(e));
}

template <class Doc>
void visit(Doc& doc, const Path& path, Counts& c, const char* what, uint64_t n) {
  auto e = lookup(doc, path, c);
  if (e == simdjson::SUCCESS) ++c.found;
  else if (!is_missing(e)) error(c, what, n, e);
}

void pass_iterate(const simdjson::padded_string& buf, const Path& path, Counts& c) {
  od::parser parser;
  const char* const begin = buf.data();
  const char* const end = begin + buf.size();
  const char* const cap_end = end + simdjson::SIMDJSON_PADDING;  // padded_string guarantees it
  const char* p = begin;
  uint64_t lineno = 0;
  while (p < end) {
    ++lineno;
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', size_t(end - p)));
    const char* line_end = nl ? nl : end;
    size_t len = size_t(line_end - p);
    if (len > 0 && p[len - 1] == '\r') --len;
    bool blank = true;
    for (size_t i = 0; i < len; ++i) {
      char ch = p[i];
      if (ch != ' ' && ch != '\t' && ch != '\r') { blank = false; break; }
    }
    if (blank) {
      ++c.blank;
    } else {
      ++c.events;
      od::document doc;
      auto e = parser.iterate(simdjson::padded_string_view(p, len, size_t(cap_end - p))).get(doc);
      if (e) error(c, "line", lineno, e);
      else visit(doc, path, c, "line", lineno);
    }
    p = line_end + 1;
  }
}

void pass_iterate_many(const simdjson::padded_string& buf, const Path& path, Counts& c,
                       size_t batch_size, bool threads) {
  od::parser parser;
#ifdef SIMDJSON_THREADS_ENABLED
  parser.threaded = threads;
#else
  (void)threads;
#endif
  od::document_stream stream;
  if (auto e = parser.iterate_many(buf, batch_size).get(stream)) {
    std::fprintf(stderr, "bare_pass: iterate_many: %s\n", simdjson::error_message(e));
    ++c.errors;
    return;
  }
  for (auto it = stream.begin(); it != stream.end(); ++it) {
    ++c.events;
    od::document_reference doc;
    if (auto e = (*it).get(doc)) {
      error(c, "document", c.events, e);
      continue;
    }
    visit(doc, path, c, "document", c.events);
  }
  if (stream.truncated_bytes() != 0) {
    std::fprintf(stderr, "bare_pass: iterate_many: %zu truncated bytes at the end\n",
                 stream.truncated_bytes());
    ++c.errors;
  }
}

std::string json_escape(std::string_view s) {
  std::string out;
  for (char ch : s) {
    unsigned char u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') { out += '\\'; out += ch; }
    else if (u < 0x20) { char b[8]; std::snprintf(b, sizeof b, "\\u%04x", u); out += b; }
    else out += ch;
  }
  return out;
}

int usage(const char* msg) {
  if (msg) std::fprintf(stderr, "bare_pass: %s\n", msg);
  std::fprintf(stderr,
               "usage: bare_pass [--iterate-many] [--no-threads] [--batch-size N] [--json] FILE [PATH]\n"
               "  PATH: dotted path (default properties.STREET) or a JSON pointer starting with '/'\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const auto t0 = clock_type::now();

  bool many = false, json = false, threads = true;
  size_t batch_size = simdjson::dom::DEFAULT_BATCH_SIZE;
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--iterate-many") many = true;
    else if (a == "--json") json = true;
    else if (a == "--no-threads") threads = false;
    else if (a == "--batch-size") {
      if (++i >= argc) return usage("--batch-size needs a value");
      std::string_view v = argv[i];
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), batch_size);
      if (ec != std::errc() || p != v.data() + v.size() || batch_size == 0)
        return usage("bad --batch-size");
    } else if (a == "-h" || a == "--help") {
      usage(nullptr);
      return 0;
    }
    else if (a.size() > 1 && a[0] == '-' && a != "-") return usage(("unknown option " + std::string(a)).c_str());
    else pos.emplace_back(a);
  }
  if (pos.empty() || pos.size() > 2) return usage("expected FILE [PATH]");

  Path path;
  path.text = pos.size() == 2 ? pos[1] : "properties.STREET";
  if (!path.text.empty() && path.text[0] == '/') {
    path.pointer = true;
    for (size_t i = 0; i < path.text.size(); ++i)  // RFC 6901: '~' only as ~0 or ~1
      if (path.text[i] == '~' && (i + 1 == path.text.size() || (path.text[i + 1] != '0' && path.text[i + 1] != '1')))
        return usage("bad JSON pointer in PATH");
  } else {
    std::string_view rest = path.text;
    while (true) {
      size_t dot = rest.find('.');
      path.segments.emplace_back(rest.substr(0, dot));
      if (path.segments.back().empty()) return usage("empty segment in PATH");
      if (dot == std::string_view::npos) break;
      rest.remove_prefix(dot + 1);
    }
  }

  simdjson::padded_string buf;
  if (auto e = simdjson::padded_string::load(pos[0]).get(buf)) {
    std::fprintf(stderr, "bare_pass: %s: %s\n", pos[0].c_str(), simdjson::error_message(e));
    return 1;
  }
  const auto t1 = clock_type::now();

  Counts c;
  if (many) pass_iterate_many(buf, path, c, batch_size, threads);
  else pass_iterate(buf, path, c);
  const auto t2 = clock_type::now();

  const double load_s = std::chrono::duration<double>(t1 - t0).count();
  const double parse_s = std::chrono::duration<double>(t2 - t1).count();
  const double total_s = std::chrono::duration<double>(t2 - t0).count();
  const double bytes = double(buf.size());
  const double eps = c.events / total_s;
  const double mbps = bytes / 1e6 / total_s;
  const char* mode = many ? (threads ? "iterate_many" : "iterate_many-no-threads") : "iterate";
  const std::string impl = simdjson::get_active_implementation()->name();
  const std::string builtin = simdjson::builtin_implementation()->name();

  if (json) {
    std::printf(
        "{\"mode\":\"%s\",\"file\":\"%s\",\"path\":\"%s\",\"events\":%llu,\"blank\":%llu,"
        "\"bytes\":%zu,\"seconds\":%.6f,\"load_seconds\":%.6f,\"parse_seconds\":%.6f,"
        "\"events_per_s\":%.1f,\"mb_per_s\":%.2f,\"parse_events_per_s\":%.1f,\"parse_mb_per_s\":%.2f,"
        "\"found\":%llu,\"errors\":%llu,\"checksum\":%llu,\"stage1\":\"%s\",\"ondemand\":\"%s\"}\n",
        mode, json_escape(pos[0]).c_str(), json_escape(path.text).c_str(),
        (unsigned long long)c.events, (unsigned long long)c.blank, buf.size(), total_s, load_s,
        parse_s, eps, mbps, c.events / parse_s, bytes / 1e6 / parse_s, (unsigned long long)c.found,
        (unsigned long long)c.errors, (unsigned long long)c.checksum, impl.c_str(), builtin.c_str());
  } else {
    std::printf("mode      %s (stage 1: %s, on-demand: %s)\n", mode, impl.c_str(), builtin.c_str());
    std::printf("file      %s\n", pos[0].c_str());
    std::printf("path      %s\n", path.text.c_str());
    std::printf("events    %llu (blank lines %llu)\n", (unsigned long long)c.events, (unsigned long long)c.blank);
    std::printf("bytes     %zu\n", buf.size());
    std::printf("seconds   %.3f (load %.3f, parse %.3f)\n", total_s, load_s, parse_s);
    std::printf("events/s  %.0f (parse only %.0f)\n", eps, c.events / parse_s);
    std::printf("MB/s      %.1f (parse only %.1f)\n", mbps, bytes / 1e6 / parse_s);
    std::printf("found     %llu\n", (unsigned long long)c.found);
    std::printf("errors    %llu\n", (unsigned long long)c.errors);
  }
  return c.errors ? 1 : 0;
}
