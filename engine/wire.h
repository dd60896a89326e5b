// The byte layer of compiled rule files (weir compile): little-endian
// integers, length-prefixed strings and vectors. The reader checks every
// length against what is left, so a damaged file gives an error, never a
// read out of bounds or a huge allocation.
//
// Not thread-safe: one Writer or Reader per thread.
#ifndef WEIR_ENGINE_WIRE_H_
#define WEIR_ENGINE_WIRE_H_

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace weir::wire {

static_assert(std::endian::native == std::endian::little,
              "compiled rule files are little-endian; add byte swapping for this machine");

class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}
  void U8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void U32(uint32_t v) { Raw(&v, sizeof v); }
  void U64(uint64_t v) { Raw(&v, sizeof v); }
  void Str(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    out_->append(s);
  }
  // LEB128: 7 bits a byte, low first (small numbers and short strings in
  // one byte: rules held encoded, encoded_rules.h).
  void Var(uint64_t v) {
    while (v >= 0x80) {
      out_->push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out_->push_back(static_cast<char>(v));
  }
  void VarStr(std::string_view s) {
    Var(s.size());
    out_->append(s);
  }
  template <typename T>
  void Vec(const std::vector<T>& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    U32(static_cast<uint32_t>(v.size()));
    Raw(v.data(), v.size() * sizeof(T));
  }
  void Raw(const void* p, size_t n) {
    if (n > 0) out_->append(static_cast<const char*>(p), n);  // an empty vector's data() may be null
  }

 private:
  std::string* out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : p_(in.data()), end_(in.data() + in.size()) {}
  // False once anything read ran past the end; later reads give zeros.
  bool ok() const { return ok_; }
  bool done() const { return p_ == end_; }
  // The bytes not read yet (and then none left).
  std::string_view Rest() {
    std::string_view rest(p_, static_cast<size_t>(end_ - p_));
    p_ = end_;
    return rest;
  }
  uint8_t U8() {
    uint8_t v = 0;
    Raw(&v, 1);
    return v;
  }
  uint32_t U32() {
    uint32_t v = 0;
    Raw(&v, sizeof v);
    return v;
  }
  uint64_t U64() {
    uint64_t v = 0;
    Raw(&v, sizeof v);
    return v;
  }
  std::string_view StrView() {
    uint32_t n = U32();
    if (!Have(n)) return {};
    std::string_view s(p_, n);
    p_ += n;
    return s;
  }
  std::string Str() { return std::string(StrView()); }
  uint64_t Var() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!Have(1)) return 0;
      const uint8_t b = static_cast<uint8_t>(*p_++);
      v |= uint64_t{b & 0x7Fu} << shift;
      if (b < 0x80) return v;
    }
    Fail();
    return 0;
  }
  std::string_view VarStrView() {
    uint64_t n = Var();
    if (!Have(n)) return {};
    std::string_view s(p_, static_cast<size_t>(n));
    p_ += n;
    return s;
  }
  // A Var count of items of at least `min_bytes` each (as Count()).
  size_t VarCount(size_t min_bytes = 1) {
    uint64_t n = Var();
    if (n > (uint64_t{1} << 40)) {
      Fail();
      return 0;
    }
    return Have(n * min_bytes) ? static_cast<size_t>(n) : 0;
  }
  void Str(std::string* s) { s->assign(StrView()); }
  template <typename T>
  void Vec(std::vector<T>* v) {
    static_assert(std::is_trivially_copyable_v<T>);
    uint32_t n = U32();
    if (!Have(uint64_t{n} * sizeof(T))) return v->clear();
    v->resize(n);
    Raw(v->data(), n * sizeof(T));
  }
  // A count of items of at least `min_bytes` each: 0 (and not ok) when the
  // rest of the input cannot hold that many, so callers may reserve it.
  uint32_t Count(size_t min_bytes = 1) {
    uint32_t n = U32();
    return Have(uint64_t{n} * min_bytes) ? n : 0;
  }
  void Fail() { ok_ = false; }

 private:
  bool Have(uint64_t n) {
    if (ok_ && n <= static_cast<uint64_t>(end_ - p_)) return true;
    ok_ = false;
    p_ = end_;
    return false;
  }
  void Raw(void* dst, size_t n) {
    if (n == 0 || !Have(n)) return;  // an empty vector's data() may be null
    std::memcpy(dst, p_, n);
    p_ += n;
  }

  const char* p_;
  const char* end_;
  bool ok_ = true;
};

// A 64-bit checksum of a compiled file's body, against damage (not
// tampering): multiply-xorshift over 8-byte words in four independent
// lanes (several GB/s), stable across builds and machines.
inline uint64_t Checksum(std::string_view s) {
  uint64_t h[4] = {0x9E3779B97F4A7C15ull ^ s.size(), 0xBF58476D1CE4E5B9ull, 0x94D049BB133111EBull,
                   0x2545F4914F6CDD1Dull};
  auto mix = [](uint64_t x, uint64_t w) {
    x = (x ^ w) * 0xFF51AFD7ED558CCDull;
    return x ^ (x >> 29);
  };
  size_t i = 0;
  for (; i + 32 <= s.size(); i += 32) {
    for (int k = 0; k < 4; ++k) {
      uint64_t w;
      std::memcpy(&w, s.data() + i + 8 * k, 8);
      h[k] = mix(h[k], w);
    }
  }
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h[0] = mix(h[0], w);
  }
  uint64_t w = 0;
  std::memcpy(&w, s.data() + i, s.size() - i);
  uint64_t x = mix(h[0], w);
  for (int k = 1; k < 4; ++k) x = mix(x, h[k]);
  return x ^ (x >> 32);
}

}  // namespace weir::wire

#endif  // WEIR_ENGINE_WIRE_H_
