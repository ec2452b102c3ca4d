// libFuzzer target: a line of an archive's events.jsonl.zst
// (evidence/archive.h), which `pveam access archive verify` reads from
// archives handed over from elsewhere. Differential: whatever the hand
// reader accepts, nlohmann must read as the same event and hash prefix.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "evidence/archive.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  uint32_t fast_h = 0, json_h = 0;
  auto fast = pveaudit::DecodeArchiveLine(line, &fast_h, true);
  auto json = pveaudit::DecodeArchiveLine(line, &json_h, false);
  if (fast.ok() != json.ok()) std::abort();
  if (fast.ok() && (!(*fast == *json) || fast_h != json_h)) std::abort();
  return 0;
}
