// fuzz_common.h: the shared body of the fuzz/ targets.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/actions.h"
#include "ingest/line_parser.h"
#include "ingest/login_tracker.h"

namespace pveaudit {

inline void FuzzLineParser(LineFormat format, const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  ParseContext ctx;
  ctx.origin = "fuzz";
  ctx.reference_us = 1751971350LL * 1000000;
  auto parser = MakeLineParser(format, ctx);
  std::vector<Event> events;
  std::string reason;
  // Whole input as one line.
  LineVerdict v = parser->Parse(input, 1, &events, &reason);
  if (v == LineVerdict::kRejected && reason.empty()) std::abort();
  if (v != LineVerdict::kEvents && !events.empty()) std::abort();
  // Line by line.
  std::vector<std::string> lines;
  size_t start = 0;
  uint64_t no = 0;
  while (start <= input.size()) {
    size_t nl = input.find('\n', start);
    if (nl == std::string_view::npos) nl = input.size();
    std::string_view line = input.substr(start, nl - start);
    size_t before = events.size();
    reason.clear();
    v = parser->Parse(line, ++no, &events, &reason);
    if (v == LineVerdict::kRejected && reason.empty()) std::abort();
    if (v != LineVerdict::kEvents && events.size() != before) std::abort();
    if (v == LineVerdict::kEvents && events.size() == before) std::abort();
    if (lines.size() < 20) lines.emplace_back(line);
    start = nl + 1;
  }
  for (const Event& e : events) {
    if (e.action.empty()) std::abort();
    (void)ActionClasses(e.action);
  }
  LoginTracker tracker;
  tracker.Apply(&events);
  LoginTracker copy;
  copy.LoadState(tracker.SaveState());
  if (copy.SaveState() != tracker.SaveState()) std::abort();
  (void)DetectLineFormat(lines);
}

}  // namespace pveaudit
