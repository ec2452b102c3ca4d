// syslog_sink.h
// The syslog export destination: events as CEF (or RFC 5424 structured
// data) to a syslog server over UDP (RFC 3164 style, one datagram per
// event), TCP (RFC 5424 with octet counting, RFC 6587) or TLS (RFC 5425,
// OpenSSL; the server's certificate is verified against --ca or the
// system's CAs and must name the server; an optional client certificate).
// Delivery: a batch is OK once every frame was written to the socket (TLS:
// written through SSL_write, which flushes each record). Syslog has no
// acknowledgement, so frames written into a connection the server has
// just closed can be lost: before each batch the sink checks whether the
// server closed the connection and, if so, reconnects (docs/export.md).
// Thread safety: one thread.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"
#include "export/sink.h"

namespace pveaudit {

enum class SyslogProtocol { kUdp, kTcp, kTls };
enum class SyslogFormat { kCef, kRfc5424 };

struct SyslogDestination {
  std::string name = "default";
  std::string server;
  int port = 514;
  SyslogProtocol protocol = SyslogProtocol::kUdp;
  SyslogFormat format = SyslogFormat::kCef;
  EventSelection events = EventSelection::kAll;
  std::string ca, cert, key;  // files; ca "" = the system's CAs
  bool enabled = true;
  bool from_start = false;  // a new destination starts at the first stored event
  // Seconds an event that may still be joined with a line yet to come is
  // held before it is sent (export/export_loop.h); 0-3600.
  int hold_s = kDefaultHoldS;
  static constexpr int kDefaultHoldS = 40;

  nlohmann::json ToJson() const;
  // Errors name the bad key and value.
  static Result<SyslogDestination> FromJson(const std::string& name, const nlohmann::json& j);
};

bool ParseSyslogProtocol(const std::string& s, SyslogProtocol* out);
bool ParseSyslogFormat(const std::string& s, SyslogFormat* out);
bool ParseEventSelection(const std::string& s, EventSelection* out);
const char* SyslogProtocolName(SyslogProtocol p);
const char* SyslogFormatName(SyslogFormat f);
const char* EventSelectionName(EventSelection e);

// `host`: the sending host's name in the syslog header. `version`: the CEF
// Device Version.
std::unique_ptr<Sink> MakeSyslogSink(const SyslogDestination& d, std::string host,
                                     std::string version);

}  // namespace pveaudit
