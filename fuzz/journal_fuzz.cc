// libFuzzer target for FormatJournalLine (the journal source's entry ->
// line step) and the auth parser behind it: the input is an entry's fields
// (8 bytes of __REALTIME_TIMESTAMP, then _HOSTNAME, SYSLOG_IDENTIFIER, pid,
// fallback host separated by '\n', then MESSAGE, which may hold any bytes).
// Whatever the fields, the line must be one line (no LF, CR or NUL) that the
// auth parser handles without crashing, and rejected lines carry a reason.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/line_parser.h"
#include "ingest/login_tracker.h"
#include "pipeline/journal_source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pveaudit;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  JournalEntryFields f;
  for (size_t i = 0; i < 8 && i < in.size(); ++i)
    f.realtime_us |= uint64_t(static_cast<unsigned char>(in[i])) << (8 * i);
  in.remove_prefix(in.size() < 8 ? in.size() : 8);
  std::string_view parts[4];
  for (std::string_view& p : parts) {
    size_t nl = in.find('\n');
    p = in.substr(0, nl);
    in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
  }
  f.hostname = parts[0];
  f.identifier = parts[1];
  f.pid = parts[2];
  f.message = in;
  std::string line = FormatJournalLine(f, parts[3]);
  if (line.find_first_of(std::string_view("\n\r\0", 3)) != std::string::npos) std::abort();

  ParseContext ctx;
  ctx.origin = "journal";
  ctx.reference_us = 1751971350LL * 1000000;
  auto parser = MakeLineParser(LineFormat::kAuth, ctx);
  std::vector<Event> events;
  std::string reason;
  LineVerdict v = parser->Parse(line, 1, &events, &reason);
  if (v == LineVerdict::kRejected && reason.empty()) std::abort();
  if ((v == LineVerdict::kEvents) != !events.empty()) std::abort();
  LoginTracker tracker;
  tracker.Apply(&events);
  return 0;
}
