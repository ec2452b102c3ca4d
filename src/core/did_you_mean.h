// did_you_mean.h
// "Did you mean" hints for a mistyped value: the command line and
// pveauditd's control socket name the closest known value in their errors.
#pragma once

#include <string>
#include <vector>

namespace pveaudit {

// Levenshtein-based suggestion among `candidates`, or "" when none is close.
std::string DidYouMean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace pveaudit
