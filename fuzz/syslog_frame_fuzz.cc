// libFuzzer target for the syslog listener's TCP framing decoder
// (FrameDecoder, RFC 6587 octet counting + LF framing): any byte stream
// must decode without crashing, hanging or growing beyond the limit, and
// the result must not depend on how the stream was split into reads.
// The first two bytes choose the message size limit and the read size.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/syslog_frame.h"

namespace {

struct Decoded {
  std::vector<std::string> messages;
  bool ok = true;
  bool finished = true;
  uint64_t truncated = 0;
};

Decoded Run(std::string_view in, size_t max, size_t step) {
  pveaudit::FrameDecoder d(max);
  Decoded r;
  for (size_t i = 0; i < in.size() && r.ok; i += step) {
    r.ok = d.Feed(in.substr(i, step), &r.messages);
    if (d.buffered() > max) std::abort();
    if (r.ok == d.failed()) std::abort();
    if (!r.ok && d.error().empty()) std::abort();
  }
  r.finished = d.Finish(&r.messages);
  if (!r.ok && r.finished) std::abort();
  r.truncated = d.truncated();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  size_t max = 1 + data[0] % 128;
  size_t step = 1 + data[1] % 16;
  std::string_view in(reinterpret_cast<const char*>(data + 2), size - 2);
  Decoded whole = Run(in, max, in.size() + 1);
  Decoded split = Run(in, max, step);
  if (whole.ok != split.ok || whole.finished != split.finished ||
      whole.messages != split.messages || whole.truncated != split.truncated) {
    std::abort();
  }
  for (const std::string& m : whole.messages) {
    if (m.empty() || m.size() > max) std::abort();
    char last = m.back();
    if (last == '\n' || last == '\r' || last == '\0') std::abort();
  }
  return 0;
}
