// libFuzzer target: the SHA256SUMS parser of export bundles
// (evidence/month_bundle.h), which reads files an auditor received from
// elsewhere. Whatever it accepts names only plain files with 64 hex digits.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "evidence/month_bundle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::pair<std::string, std::string>> out;
  std::string bad;
  if (pveaudit::ParseSha256Sums(text, &out, &bad)) {
    for (const auto& [name, hash] : out) {
      if (hash.size() != 64 || name.empty() || name.find('/') != std::string::npos || name == "." ||
          name == "..")
        std::abort();
    }
  } else if (bad.size() > 120) {
    std::abort();
  }
  return 0;
}
