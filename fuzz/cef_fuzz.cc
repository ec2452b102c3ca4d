// libFuzzer target for the CEF encoder (src/export/cef.h): the input is
// split at NUL bytes into the fields of an Event; whatever they hold, the
// CEF line must be one line (no CR or LF), valid UTF-8, have exactly seven
// header fields, and parse back (ParseCef) to the same values once
// invalid UTF-8 is replaced. The RFC 5424 frame's octet count must match.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "export/cef.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pveaudit;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= in.size(); ++i)
    if (i == in.size() || in[i] == '\0') {
      parts.emplace_back(in.substr(start, i - start));
      start = i + 1;
    }
  parts.resize(8);
  Event e;
  e.id = size;
  e.time_us = int64_t(size) * 1000003;
  e.node = parts[0];
  e.user = parts[1];
  e.ip = parts[2];
  e.action = parts[3];
  e.resource = parts[4];
  e.status = parts[5];
  e.source = parts[6];
  e.detail = parts[7];
  e.result = Outcome(size % 3);
  const std::string line = FormatCef(e, "0.1.0");
  if (line.find('\n') != std::string::npos || line.find('\r') != std::string::npos) std::abort();
  if (ValidUtf8(line) != line) std::abort();
  CefRecord r;
  if (!ParseCef(line, &r)) std::abort();
  // Header fields have CR and LF replaced by spaces.
  std::string want = ValidUtf8(e.action.empty() ? std::string("unknown") : e.action);
  for (char& c : want)
    if (c == '\n' || c == '\r') c = ' ';
  if (r.header[4] != want) std::abort();
  auto same = [&](std::string_view key, const std::string& v) {
    if (v.empty()) {
      if (r.Has(key)) std::abort();
    } else if (r.Get(key) != ValidUtf8(v)) {
      std::abort();
    }
  };
  same("suser", e.user);
  same("src", e.ip);
  same("dvchost", e.node);
  same("act", e.action);
  same("cs1", e.resource);
  same("cs2", e.status);
  same("cs3", e.source);
  same("msg", e.detail);
  std::string frame =
      FrameSyslog(SyslogFraming::kRfc5424OctetCounted, e, CefSeverity(e), e.node, line, false);
  size_t sp = frame.find(' ');
  if (sp == std::string::npos || std::stoul(frame.substr(0, sp)) != frame.size() - sp - 1)
    std::abort();
  (void)FormatRfc5424Body(e);
  return 0;
}
