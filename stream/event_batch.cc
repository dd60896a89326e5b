#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "weir/stream.h"

namespace weir {

EventBatch::EventBatch() = default;

EventBatch::~EventBatch() { std::free(data_); }

EventBatch::EventBatch(EventBatch&& o) noexcept
    : sequence(o.sequence),
      end_offset(o.end_offset),
      end_line(o.end_line),
      token(o.token),
      data_(o.data_),
      view_(o.view_),
      size_(o.size_),
      capacity_(o.capacity_),
      events_(std::move(o.events_)) {
  o.data_ = nullptr;
  o.view_ = nullptr;
  o.size_ = o.capacity_ = 0;
}

EventBatch& EventBatch::operator=(EventBatch&& o) noexcept {
  if (this == &o) return *this;
  std::free(data_);
  sequence = o.sequence;
  end_offset = o.end_offset;
  end_line = o.end_line;
  token = o.token;
  data_ = o.data_;
  view_ = o.view_;
  size_ = o.size_;
  capacity_ = o.capacity_;
  events_ = std::move(o.events_);
  o.data_ = nullptr;
  o.view_ = nullptr;
  o.size_ = o.capacity_ = 0;
  return *this;
}

void EventBatch::Clear() {
  events_.clear();
  view_ = nullptr;
  size_ = 0;
  sequence = end_offset = end_line = token = 0;
}

void EventBatch::Borrow(const char* data, size_t size) {
  view_ = data;
  size_ = size;
}

void EventBatch::Own() {
  if (!view_) return;
  const char* v = view_;
  const size_t n = size_;
  view_ = nullptr;
  size_ = 0;
  Grow(n);
  std::memcpy(data_, v, n);
  size_ = n;
  Pad();
}

void EventBatch::Grow(size_t n) {
  Own();
  size_t need = size_ + n + Matcher::kPadding;
  if (need <= capacity_) return;
  size_t cap = std::max(need, capacity_ * 2);
  // No zero-filling: every byte is written by the source before it is read.
  // realloc keeps the first size_ bytes (a partial line being completed).
  void* fresh = std::realloc(data_, cap);
  if (!fresh) throw std::bad_alloc();
  data_ = static_cast<char*>(fresh);
  capacity_ = cap;
}

void EventBatch::Pad() { std::memset(data_ + size_, ' ', Matcher::kPadding); }

void EventBatch::Add(std::string_view bytes, const EventPosition& position) {
  Grow(bytes.size() + 1);
  if (!bytes.empty()) std::memcpy(data_ + size_, bytes.data(), bytes.size());
  Event e;
  e.offset = static_cast<uint32_t>(size_);
  e.length = static_cast<uint32_t>(bytes.size());
  e.full_length = bytes.size();
  e.position = position;
  events_.push_back(e);
  size_ += bytes.size();
  data_[size_++] = '\n';
  Pad();
}

char* EventBatch::Reserve(size_t n) {
  Grow(n);
  return data_ + size_;
}

void EventBatch::Commit(size_t n) {
  Own();
  size_ += n;
  Pad();
}

void EventBatch::Truncate(size_t n) {
  if (n >= size_) return;
  Own();
  size_ = n;
  Pad();
}

}  // namespace weir
