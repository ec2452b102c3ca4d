// event.h
// Event is one normalized audit record: who did what, to which resource,
// from where, when, and whether it worked. Every source (pveproxy access
// log, authentication lines, task index, JSON feed) is turned into Events by
// its parser; the store appends them, hash-chained, and everything else
// (queries, reports, alerts, exporters) reads them back.
// Thread safety: plain value type.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pveaudit {

enum class Outcome : uint8_t {
  kUnknown = 0,  // the source does not say (e.g. /api2/extjs always logs 200)
  kSuccess = 1,
  kFailure = 2,
};

// "success", "failure" or "unknown".
std::string_view OutcomeName(Outcome o);
// Inverse of OutcomeName; false for any other text.
bool ParseOutcome(std::string_view s, Outcome* out);

struct Event {
  uint64_t id = 0;       // assigned by the store on append (1, 2, 3, ...); 0 before
  int64_t time_us = 0;   // UTC, microseconds since the Unix epoch
  std::string node;      // Proxmox node name, e.g. "pve1"
  std::string user;      // "alice@pve", "root@pam", token "bob@pve!ci"; "" when unknown
  std::string ip;        // canonical: "::ffff:192.0.2.5" becomes "192.0.2.5"; "" when unknown
  std::string action;    // "vm:start", "login", "acl:modify", ... (docs/actions.md)
  std::string resource;  // ACL path: "/vms/100", "/storage/local", "/" ...
  Outcome result = Outcome::kUnknown;
  std::string status;   // the source's own status: HTTP code "200", task "OK", "WARNINGS: 2", ...
  std::string source;   // "pveproxy", "auth", "tasks", "json", ...
  std::string session;  // session / ticket identifier when known
  std::string detail;   // original "METHOD /path?query", UPID, or message
  std::string origin;   // where it came from: file path (or stream name)
  uint64_t origin_line = 0;  // 1-based line number in `origin`; 0 when not from a file

  bool operator==(const Event&) const = default;
};

// Canonical IP text: strips the IPv4-mapped IPv6 prefix, lower-cases IPv6
// and compresses it per RFC 5952. Text that is not an address is returned
// unchanged (the caller decides whether that is an error).
std::string CanonicalIp(std::string_view ip);

}  // namespace pveaudit
