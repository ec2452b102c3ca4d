// cef.h
// The wire formats of the syslog export: an Event as an ArcSight CEF line
// (docs/cef.md has the mapping and an example per action class), as an
// RFC 5424 message with the event in structured data, and the syslog
// headers and framing around them (RFC 5424 with octet counting over
// TCP/TLS, RFC 6587 / RFC 5425; RFC 3164 style over UDP).
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/event.h"

namespace pveaudit {

// CEF header field escaping: `\` -> `\\`, `|` -> `\|`. Newlines are not
// allowed in a header field; CR and LF become a space (as logstash does).
std::string CefEscapeHeader(std::string_view s);
// CEF extension value escaping: `\` -> `\\`, `=` -> `\=`, LF -> `\n`,
// CR -> `\r`. A `|` stays as it is.
std::string CefEscapeExtension(std::string_view s);

// Severity 0-10 by action class and outcome (table in docs/cef.md).
int CefSeverity(const Event& e);
// The human-readable Name header field, e.g. "vm:start succeeded".
std::string CefName(const Event& e);

// pveaudit's version ("0.1.0"), the CEF Device Version.
const char* CefDeviceVersion();

// `CEF:0|Proxmox|pveaudit|<version>|<action>|<name>|<severity>|<extension>`.
// `version` is the Device Version (pveaudit's version).
std::string FormatCef(const Event& e, std::string_view version);
// FormatCef appended to `out` (the export's batch buffer, reused).
void AppendCef(std::string* out, const Event& e, std::string_view version);

// The event as RFC 5424 structured data plus a one-line message:
// `[pveaudit@32473 id="7" user="..." ...] alice@pve vm:start /vms/100 success`.
std::string FormatRfc5424Body(const Event& e);

// Syslog severity (RFC 5424, 0-7) for a CEF severity.
int SyslogSeverity(int cef_severity);

enum class SyslogFraming {
  kRfc5424OctetCounted,  // "LEN <PRI>1 TIMESTAMP HOST pveaudit - MSGID - MSG" (TCP, TLS)
  kRfc3164,              // "<PRI>Mmm dd hh:mm:ss HOST pveaudit: MSG" (UDP datagram)
};

// Wraps `msg` (a CEF line, or a FormatRfc5424Body) for the wire. Facility
// authpriv (10). `host` is the sending host; the header time is the
// event's time in UTC. `structured` = true when `msg` starts with
// structured data (RFC 5424 body), false for CEF (STRUCTURED-DATA "-").
std::string FrameSyslog(SyslogFraming framing, const Event& e, int cef_severity,
                        std::string_view host, std::string_view msg, bool structured);
// FrameSyslog appended to `out`.
void AppendSyslogFrame(std::string* out, SyslogFraming framing, const Event& e, int cef_severity,
                       std::string_view host, std::string_view msg, bool structured);

}  // namespace pveaudit

namespace pveaudit {

// The inverse of FormatCef, for tests, the fuzzer and receivers written
// in C++: the 7 header fields unescaped, and the extension's key=value
// pairs unescaped. False when `line` is not a CEF:0 line.
struct CefRecord {
  std::string header[7];  // version ("CEF:0"), vendor, product, version, signature, name, severity
  std::vector<std::pair<std::string, std::string>> extension;
  // The value of `key`, or "" when absent.
  std::string Get(std::string_view key) const;
  bool Has(std::string_view key) const;
};
bool ParseCef(std::string_view line, CefRecord* out);

// Replaces byte sequences that are not UTF-8 by U+FFFD (CEF is UTF-8).
std::string ValidUtf8(std::string_view s);

}  // namespace pveaudit
