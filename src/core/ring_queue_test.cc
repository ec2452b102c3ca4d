#include "core/ring_queue.h"

#include <gtest/gtest.h>

#include <deque>
#include <string>

namespace pveaudit {
namespace {

// Order, indexes and contents through growth and wrap-around, against
// std::deque doing the same pushes and pops.
TEST(RingQueueTest, BehavesAsADequeThroughGrowthAndWrapAround) {
  RingQueue<std::string> q;
  std::deque<std::string> ref;
  int next = 0;
  // Pushes outrun pops (growth), then pops outrun pushes (wrap-around).
  for (int round = 0; round < 600; ++round) {
    const int pushes = round < 200 ? 3 : 1, pops = round < 200 ? 1 : 2;
    for (int i = 0; i < pushes; ++i) {
      std::string v = "event number " + std::to_string(next++) + " with a long text";
      q.PushBack() = v;
      ref.push_back(v);
    }
    for (int i = 0; i < pops && !ref.empty(); ++i) {
      ASSERT_EQ(q.front(), ref.front());
      q.PopFront();
      ref.pop_front();
    }
    ASSERT_EQ(q.size(), ref.size());
    ASSERT_EQ(q.empty(), ref.empty());
    for (size_t i = 0; i < ref.size(); ++i) ASSERT_EQ(q[i], ref[i]);
    if (!ref.empty()) {
      ASSERT_EQ(q.back(), ref.back());
    }
  }
  EXPECT_TRUE(q.empty());
}

}  // namespace
}  // namespace pveaudit
