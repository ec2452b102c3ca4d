// ring_queue.h
// A FIFO queue in one growing ring of slots, indexed from the front. The
// views (query/correlator.h) hold a few seconds of events in such queues;
// std::deque allocates a node per element when elements are as large as an
// Event (libstdc++ nodes are 512 bytes), which cost a malloc and a free per
// event and per view. Popped slots are kept and reused, not destroyed: a
// reused slot is whatever the last user left in it (moved-from, as a rule),
// so the caller assigns every member it reads (PushBack returns the slot).
// Thread safety: none (a plain value).
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace pveaudit {

template <typename T>
class RingQueue {
 public:
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  T& operator[](size_t i) { return slots_[(head_ + i) & (slots_.size() - 1)]; }
  const T& operator[](size_t i) const { return slots_[(head_ + i) & (slots_.size() - 1)]; }
  T& front() { return (*this)[0]; }
  T& back() { return (*this)[size_ - 1]; }

  // Appends a slot and returns it (a reused one keeps its old contents).
  T& PushBack() {
    if (size_ == slots_.size()) Grow();
    ++size_;
    return back();
  }
  void PopFront() {
    head_ = (head_ + 1) & (slots_.size() - 1);
    --size_;
  }

 private:
  void Grow() {
    std::vector<T> bigger(slots_.empty() ? 16 : slots_.size() * 2);
    for (size_t i = 0; i < size_; ++i) bigger[i] = std::move((*this)[i]);
    slots_ = std::move(bigger);
    head_ = 0;
  }

  std::vector<T> slots_;  // size a power of two (or 0)
  size_t head_ = 0;
  size_t size_ = 0;
};

}  // namespace pveaudit
