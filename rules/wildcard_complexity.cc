#include "rules/wildcard_complexity.h"

#include <algorithm>
#include <deque>
#include <set>

namespace weir {

WildcardBytes QuotedWildcard(const std::string& text) {
  WildcardBytes w;
  w.items.push_back('"');
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\\' && i + 1 < text.size()) {
      w.items.push_back(static_cast<unsigned char>(text[++i]));
    } else if (c == '*') {
      w.items.push_back(WildcardBytes::kStar);
    } else {
      w.items.push_back(c);
    }
  }
  w.items.push_back('"');
  return w;
}

namespace {

// A pattern's automaton, with the states event-ruler has: state s is "the
// first s items consumed" (0 is the start, never counted). For a star at
// item s, state s+1 is the star's own state, which every byte keeps; the
// star may also match nothing, so the item after it is reachable from state
// s directly.
class Automaton {
 public:
  explicit Automaton(const std::vector<int>& items) : c_(items) {}

  bool IsStar(size_t i) const { return i < c_.size() && c_[i] == WildcardBytes::kStar; }

  // The states after reading byte x from the states `from` (sorted).
  void Step(const std::vector<uint32_t>& from, int x, std::vector<uint32_t>* to) const {
    to->clear();
    const size_t n = c_.size();
    for (uint32_t s : from) {
      if (s < n) {
        if (IsStar(s)) {
          to->push_back(s + 1);
          if (s + 1 < n && c_[s + 1] == x) to->push_back(s + 2);
        } else if (c_[s] == x) {
          to->push_back(s + 1);
        }
      }
      if (s >= 1 && IsStar(s - 1)) {  // the star's own state
        to->push_back(s);
        if (s < n && c_[s] == x) to->push_back(s + 1);
      }
    }
    std::sort(to->begin(), to->end());
    to->erase(std::unique(to->begin(), to->end()), to->end());
  }

  // Prefixes matched in these states: each state, plus the state of a star
  // that follows one (an input that matches `ab` matches `ab*` too) when it
  // is not already among them.
  size_t Weight(const std::vector<uint32_t>& states) const {
    size_t w = states.size();
    for (uint32_t s : states)
      if (IsStar(s) && !std::binary_search(states.begin(), states.end(), s + 1)) ++w;
    return w;
  }

 private:
  const std::vector<int>& c_;
};

}  // namespace

size_t WildcardComplexityBound(const std::vector<WildcardBytes>& patterns) {
  size_t bound = 0;
  for (const WildcardBytes& p : patterns) {
    size_t n = p.items.size(), first = n, stars = 0;
    for (size_t i = 0; i < n; ++i) {
      if (p.items[i] != WildcardBytes::kStar) continue;
      if (first == n) first = i;
      ++stars;
    }
    bound += 1 + (n - first) + stars;
  }
  return bound;
}

size_t WildcardComplexity(const std::vector<WildcardBytes>& patterns, size_t cap,
                          size_t max_states) {
  std::vector<std::vector<int>> unique;
  std::set<std::pair<int, std::vector<int>>> kept;
  for (const WildcardBytes& p : patterns)
    if (kept.insert({p.kind, p.items}).second) unique.push_back(p.items);
  if (unique.empty()) return 0;
  std::vector<Automaton> automata;
  for (const auto& u : unique) automata.emplace_back(u);
  // Bytes that occur in the patterns, and one that occurs in none: all
  // other bytes behave as it does.
  std::set<int> alphabet;
  for (const auto& u : unique)
    for (int x : u)
      if (x != WildcardBytes::kStar) alphabet.insert(x);
  for (int x = 0; x < 256; ++x) {
    if (!alphabet.count(x)) {
      alphabet.insert(x);
      break;
    }
  }
  // Breadth-first over the joint states (one state set per pattern); a joint
  // state is keyed by its sets, each ended by a marker.
  using Joint = std::vector<std::vector<uint32_t>>;
  auto key = [](const Joint& j) {
    std::vector<uint32_t> k;
    for (const auto& s : j) {
      k.insert(k.end(), s.begin(), s.end());
      k.push_back(UINT32_MAX);
    }
    return k;
  };
  std::set<std::vector<uint32_t>> seen;
  std::deque<Joint> todo;
  todo.push_back(Joint(unique.size(), std::vector<uint32_t>{0}));
  size_t best = 0;
  Joint next(unique.size());
  while (!todo.empty()) {
    Joint cur = std::move(todo.front());
    todo.pop_front();
    for (int x : alphabet) {
      size_t weight = 0;
      bool any = false;
      for (size_t p = 0; p < automata.size(); ++p) {
        automata[p].Step(cur[p], x, &next[p]);
        weight += automata[p].Weight(next[p]);
        any = any || !next[p].empty();
      }
      if (!any) continue;
      if (!seen.insert(key(next)).second) continue;
      best = std::max(best, weight);
      if (best >= cap || seen.size() > max_states) return cap;
      todo.push_back(next);
    }
  }
  return best;
}

}  // namespace weir
