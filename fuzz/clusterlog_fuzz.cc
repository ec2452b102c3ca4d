// libFuzzer target for the cluster log (pvesh get /cluster/log, json and json-pretty) parser: any
// input must be parsed (events, ignored or rejected with a reason) without crashing or hanging. The
// input is fed whole (it may contain newlines) and line by line, and the resulting events go
// through LoginTracker and DetectLineFormat too.
#include <cstdint>

#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pveaudit::FuzzLineParser(pveaudit::LineFormat::kClusterLog, data, size);
  return 0;
}
