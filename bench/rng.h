// rng.h
// The benchmark generators' PRNG: splitmix64, written out so that a seed
// gives the same data set with every compiler and standard library (the
// std distributions do not). Header-only and std-only: the generators link
// nothing of pveaudit, so they stay neutral peers.
#pragma once

#include <cstdint>

namespace bench {

class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1).
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // Uniform in [0, n). REQUIRES: n > 0.
  uint64_t Below(uint64_t n) { return Next() % n; }
  // Uniform in [lo, hi].
  int64_t Range(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo + 1)));
  }
  bool Chance(double p) { return Unit() < p; }
  // True with probability pct/100.
  bool Pct(int pct) { return Below(100) < uint64_t(pct); }

 private:
  uint64_t s_;
};

}  // namespace bench
