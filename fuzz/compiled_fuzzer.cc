// Fuzzes reading compiled rule sets (RuleSet::Deserialize, under `weir
// compile`'s files): the fixed rule set of fuzz_rules.h, serialized, with
// bytes changed where the input says. Random bytes would almost never get
// past the first length field; changing a valid set reaches every check.
//
// Input: byte 0 picks the set (the fixed one, or it after an update, or a
// small one); then each 3 bytes (offset low, offset high, value) XOR one
// byte of the serialized set. Deserialize must refuse, or give a set whose
// matching, dumps, rule definitions, lookups, updates and re-serializing
// never read out of bounds (ASan) or abort, and whose matches are rule slots.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_rules.h"
#include "weir/engine.h"

namespace {

const char* const kEvents[] = {
    R"({"event":"resource.ResourceCreated","resource":{"type":"itemsvc.Item","id":"item-1"},"a":"x","b":1.5,"c":null,"d":true})",
    R"({"Type":"job.faulted","Jobs":[{"State":"Faulted","Robot":{"Name":"bench-1"}},{"State":"Pending"}],"detail":{"amount":1000,"currency":"EUR","ip":"10.0.0.7"}})",
    R"({"a":{"b":"xyz","c":[1,2,3]},"n":-0,"s":"ABC","ip":"2001:db8::1","t":false})",
};

std::vector<std::string> Bodies() {
  std::vector<std::string> out;
  auto full = weir::fuzz::CompileOrDie(weir::fuzz::FuzzRuleDefs());
  std::vector<weir::RuleDef> some = weir::fuzz::FuzzRuleDefs();
  some.resize(std::min<size_t>(some.size(), 3));
  auto small = weir::fuzz::CompileOrDie(some);
  // An updated set is written as one piece.
  std::vector<weir::RuleDef> extra = weir::fuzz::FuzzRuleDefs();
  extra.resize(1);
  extra[0].id = "added";
  auto updated = weir::RuleSet::Update(full, extra, {std::string(full->id(0))});
  for (const auto& rs : {full, small, updated.ok() ? *updated : full}) {
    std::string body;
    if (!rs->Serialize(&body).ok()) std::abort();
    out.push_back(std::move(body));
  }
  return out;
}

void Use(const std::shared_ptr<const weir::RuleSet>& rs) {
  weir::Matcher m(rs, weir::fuzz::FuzzLimits());
  std::vector<uint32_t> hits;
  for (const char* e : kEvents) {
    if (!m.Match(e, &hits).ok()) continue;
    for (uint32_t h : hits)
      if (h >= rs->size()) {
        std::fprintf(stderr, "*** compiled_fuzzer: match %u of %zu rules\n", h, rs->size());
        std::abort();
      }
  }
  (void)rs->DebugString();
  for (size_t i = 0; i < rs->size(); ++i) {
    (void)rs->rule(i);
    (void)rs->Find(rs->id(i));
  }
  if (rs->size() > 0) (void)weir::RuleSet::Update(rs, {}, {std::string(rs->id(0))});
  std::string again;
  (void)rs->Serialize(&again);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<std::string> bodies = Bodies();
  if (size == 0) return 0;
  std::string body = bodies[data[0] % bodies.size()];
  for (size_t i = 1; i + 2 < size; i += 3) {
    size_t at = (data[i] | size_t{data[i + 1]} << 8) % body.size();
    body[at] = static_cast<char>(body[at] ^ data[i + 2]);
  }
  auto rs = weir::RuleSet::Deserialize(body);
  if (rs.ok()) Use(*rs);
  return 0;
}
