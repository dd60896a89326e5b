// One delivery as one output line, for the stdout and file executors.
#ifndef WEIR_ACTIONS_LINE_H_
#define WEIR_ACTIONS_LINE_H_

#include <string>
#include <string_view>

#include "weir/actions.h"

namespace weir::line {

inline void AppendJsonString(std::string* out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      out->append("\\u00");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
  out->push_back('"');
}

// The event as one line: in a valid JSON text a CR or LF can only be
// whitespace between tokens, so a pretty-printed event becomes one line by
// turning them into spaces.
inline void AppendEvent(std::string* out, std::string_view event) {
  size_t start = out->size();
  out->append(event.data(), event.size());
  for (size_t i = start; i < out->size(); ++i)
    if ((*out)[i] == '\n' || (*out)[i] == '\r') (*out)[i] = ' ';
}

// `{"id":…,"rule":…,"action":…,"event":<the event>}\n`, or the event alone.
inline std::string Format(const Delivery& d, bool annotated) {
  std::string s;
  s.reserve(d.event.size() + 96);
  if (annotated) {
    s.append("{\"id\":");
    AppendJsonString(&s, d.id);
    s.append(",\"rule\":");
    AppendJsonString(&s, d.rule_id);
    s.append(",\"action\":");
    AppendJsonString(&s, d.action);
    s.append(",\"event\":");
  }
  AppendEvent(&s, d.event);
  if (annotated) s.push_back('}');
  s.push_back('\n');
  return s;
}

}  // namespace weir::line

#endif  // WEIR_ACTIONS_LINE_H_
