#include "core/did_you_mean.h"

#include <algorithm>

namespace pveaudit {

std::string DidYouMean(const std::string& word, const std::vector<std::string>& candidates) {
  auto dist = [](const std::string& a, const std::string& b) {
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      cur[0] = i;
      for (size_t j = 1; j <= b.size(); ++j)
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
      std::swap(prev, cur);
    }
    return prev[b.size()];
  };
  std::string best;
  size_t best_d = 3;  // suggest only close matches
  for (const auto& c : candidates) {
    size_t d = dist(word, c);
    if (d < best_d || (d == best_d && best.empty() && d <= word.size() / 2)) {
      if (d < best_d) best_d = d;
      best = c;
    }
  }
  return best;
}

}  // namespace pveaudit
