#include "export/syslog_sink.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "export/cef.h"
#include "export/connect.h"

namespace pveaudit {
namespace {

constexpr int kConnectTimeoutMs = 5000;
constexpr int kIoTimeoutS = 10;

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

class SyslogSink : public Sink {
 public:
  SyslogSink(SyslogDestination d, std::string host, std::string version)
      : d_(std::move(d)), host_(std::move(host)), version_(std::move(version)) {}
  ~SyslogSink() override { Reset(); }

  Status Deliver(std::span<const Event> batch) override {
    if (fd_ >= 0 && d_.protocol != SyslogProtocol::kUdp && PeerClosed()) Reset();
    if (fd_ < 0) PVEAUDIT_RETURN_IF_ERROR(Connect());
    const SyslogFraming framing = d_.protocol == SyslogProtocol::kUdp
                                      ? SyslogFraming::kRfc3164
                                      : SyslogFraming::kRfc5424OctetCounted;
    // One buffer for the batch, reused across batches (its capacity stays),
    // and one for the message: no string per event; one send per batch.
    buf_.clear();
    const bool cef = d_.format == SyslogFormat::kCef;
    for (const Event& e : batch) {
      const int sev = CefSeverity(e);
      line_.clear();
      if (cef)
        AppendCef(&line_, e, version_);
      else
        line_ = FormatRfc5424Body(e);
      if (d_.protocol == SyslogProtocol::kUdp) {
        std::string frame;
        AppendSyslogFrame(&frame, framing, e, sev, host_, line_, !cef);
        // One event per datagram: a receiver splits nothing.
        if (send(fd_, frame.data(), frame.size(), MSG_NOSIGNAL) < 0) {
          Status s = Status::IOError(Describe() + ": send: " + std::strerror(errno));
          Reset();
          return s;
        }
      } else {
        AppendSyslogFrame(&buf_, framing, e, sev, host_, line_, !cef);
      }
    }
    if (d_.protocol == SyslogProtocol::kUdp) return Status::OK();
    Status s = d_.protocol == SyslogProtocol::kTls ? WriteTls(buf_) : WriteTcp(buf_);
    if (!s.ok()) Reset();
    return s;
  }

  void Reset() override {
    if (ssl_) {
      SSL_free(ssl_);  // no close_notify: the connection failed or is being dropped
      ssl_ = nullptr;
    }
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  void SetCancel(const std::atomic<bool>* cancel) override { cancel_ = cancel; }

  std::string Describe() const override {
    std::string server =
        d_.server.find(':') != std::string::npos ? "[" + d_.server + "]" : d_.server;
    return std::string("syslog ") + SyslogProtocolName(d_.protocol) + "://" + server + ":" +
           std::to_string(d_.port) + " (" + SyslogFormatName(d_.format) + ")";
  }

 private:
  // True when the server closed the connection (EOF or an error pending),
  // or sent anything: a syslog receiver never talks back, so data is a
  // TLS close_notify or an alert.
  bool PeerClosed() {
    struct pollfd p = {fd_, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0) return false;
    if (p.revents & (POLLHUP | POLLERR)) return true;
    if (ssl_) return true;
    char c;
    ssize_t n = recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

  Status Connect() {
    ConnectOptions o;
    o.socktype = d_.protocol == SyslogProtocol::kUdp ? SOCK_DGRAM : SOCK_STREAM;
    o.timeout_ms = kConnectTimeoutMs;
    o.io_timeout_ms = kIoTimeoutS * 1000;
    o.cancel = cancel_;
    auto fd = ConnectSocket(d_.server, d_.port, o);
    if (!fd.ok()) return Status::IOError(Describe() + ": " + fd.status().message());
    fd_ = *fd;
    if (d_.protocol == SyslogProtocol::kTls) {
      Status s = StartTls();
      if (!s.ok()) {
        Reset();
        return s;
      }
    }
    return Status::OK();
  }

  Status StartTls() {
    if (!ctx_) {
      SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
      if (!ctx) return Status::Internal("TLS: " + OpenSslError());
      ctx_.reset(ctx);
      SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
      SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
      if (!d_.ca.empty()) {
        if (SSL_CTX_load_verify_locations(ctx, d_.ca.c_str(), nullptr) != 1)
          return Status::InvalidArgument(Describe() + ": cannot load CA file '" + d_.ca +
                                         "': " + OpenSslError());
      } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        return Status::Internal(Describe() + ": no system CAs: " + OpenSslError());
      }
      if (!d_.cert.empty()) {
        if (SSL_CTX_use_certificate_chain_file(ctx, d_.cert.c_str()) != 1)
          return Status::InvalidArgument(Describe() + ": cannot load client certificate '" +
                                         d_.cert + "': " + OpenSslError());
        if (SSL_CTX_use_PrivateKey_file(ctx, d_.key.c_str(), SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1)
          return Status::InvalidArgument(Describe() + ": cannot use client key '" + d_.key +
                                         "': " + OpenSslError());
      }
    }
    ssl_ = SSL_new(ctx_.get());
    if (!ssl_) return Status::Internal("TLS: " + OpenSslError());
    SSL_set_fd(ssl_, fd_);
    // The certificate must name the server: a host name (also sent as
    // SNI) or an IP address.
    if (IsIpLiteral(d_.server)) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), d_.server.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl_, d_.server.c_str());
      SSL_set1_host(ssl_, d_.server.c_str());
    }
    ERR_clear_error();
    if (SSL_connect(ssl_) != 1) {
      long v = SSL_get_verify_result(ssl_);
      std::string why = v != X509_V_OK ? std::string("certificate verification failed: ") +
                                             X509_verify_cert_error_string(v)
                                       : OpenSslError();
      // A certificate that does not verify is not transient: it is
      // reported as a refusal, retried slowly.
      if (v != X509_V_OK) return Status::InvalidArgument(Describe() + ": TLS: " + why);
      return Status::IOError(Describe() + ": TLS handshake: " + why);
    }
    return Status::OK();
  }

  Status WriteTcp(const std::string& buf) {
    size_t off = 0;
    while (off < buf.size()) {
      ssize_t n = send(fd_, buf.data() + off, buf.size() - off, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::IOError(Describe() + ": send: " + std::strerror(errno));
      }
      off += size_t(n);
    }
    return Status::OK();
  }

  Status WriteTls(const std::string& buf) {
    size_t off = 0;
    while (off < buf.size()) {
      ERR_clear_error();
      int n = SSL_write(ssl_, buf.data() + off, int(std::min<size_t>(buf.size() - off, 1 << 20)));
      if (n <= 0) {
        int e = SSL_get_error(ssl_, n);
        std::string why = e == SSL_ERROR_SYSCALL ? std::strerror(errno) : OpenSslError();
        return Status::IOError(Describe() + ": TLS write: " + why);
      }
      off += size_t(n);
    }
    return Status::OK();
  }

  struct CtxFree {
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
  };
  SyslogDestination d_;
  std::string host_, version_;
  std::string buf_, line_;  // the batch's frames, one message (reused)
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  const std::atomic<bool>* cancel_ = nullptr;
  std::unique_ptr<SSL_CTX, CtxFree> ctx_;
};

}  // namespace

bool ParseSyslogProtocol(const std::string& s, SyslogProtocol* out) {
  if (s == "udp")
    *out = SyslogProtocol::kUdp;
  else if (s == "tcp")
    *out = SyslogProtocol::kTcp;
  else if (s == "tls")
    *out = SyslogProtocol::kTls;
  else
    return false;
  return true;
}

bool ParseSyslogFormat(const std::string& s, SyslogFormat* out) {
  if (s == "cef")
    *out = SyslogFormat::kCef;
  else if (s == "rfc5424")
    *out = SyslogFormat::kRfc5424;
  else
    return false;
  return true;
}

bool ParseEventSelection(const std::string& s, EventSelection* out) {
  if (s == "all")
    *out = EventSelection::kAll;
  else if (s == "alerts")
    *out = EventSelection::kAlerts;
  else if (s == "failed")
    *out = EventSelection::kFailed;
  else
    return false;
  return true;
}

const char* SyslogProtocolName(SyslogProtocol p) {
  return p == SyslogProtocol::kUdp ? "udp" : p == SyslogProtocol::kTcp ? "tcp" : "tls";
}
const char* SyslogFormatName(SyslogFormat f) { return f == SyslogFormat::kCef ? "cef" : "rfc5424"; }
const char* EventSelectionName(EventSelection e) {
  return e == EventSelection::kAll ? "all" : e == EventSelection::kAlerts ? "alerts" : "failed";
}

nlohmann::json SyslogDestination::ToJson() const {
  nlohmann::json j = {{"server", server},
                      {"port", port},
                      {"protocol", SyslogProtocolName(protocol)},
                      {"format", SyslogFormatName(format)},
                      {"events", EventSelectionName(events)},
                      {"enabled", enabled}};
  if (!ca.empty()) j["ca"] = ca;
  if (!cert.empty()) j["cert"] = cert;
  if (!key.empty()) j["key"] = key;
  if (from_start) j["from_start"] = true;
  if (hold_s != kDefaultHoldS) j["hold_s"] = hold_s;
  return j;
}

Result<SyslogDestination> SyslogDestination::FromJson(const std::string& name,
                                                      const nlohmann::json& j) {
  SyslogDestination d;
  d.name = name;
  if (!j.is_object()) return Status::InvalidArgument("destination '" + name + "' is not an object");
  auto str = [&](const char* k, std::string* out) -> Status {
    if (!j.contains(k)) return Status::OK();
    if (!j[k].is_string())
      return Status::InvalidArgument("destination '" + name + "': '" + k + "' must be a string");
    *out = j[k].get<std::string>();
    return Status::OK();
  };
  PVEAUDIT_RETURN_IF_ERROR(str("server", &d.server));
  PVEAUDIT_RETURN_IF_ERROR(str("ca", &d.ca));
  PVEAUDIT_RETURN_IF_ERROR(str("cert", &d.cert));
  PVEAUDIT_RETURN_IF_ERROR(str("key", &d.key));
  if (d.server.empty()) return Status::InvalidArgument("destination '" + name + "': no server");
  std::string s = "udp";
  PVEAUDIT_RETURN_IF_ERROR(str("protocol", &s));
  if (!ParseSyslogProtocol(s, &d.protocol))
    return Status::InvalidArgument("destination '" + name + "': invalid protocol '" + s + "'");
  s = "cef";
  PVEAUDIT_RETURN_IF_ERROR(str("format", &s));
  if (!ParseSyslogFormat(s, &d.format))
    return Status::InvalidArgument("destination '" + name + "': invalid format '" + s + "'");
  s = "all";
  PVEAUDIT_RETURN_IF_ERROR(str("events", &s));
  if (!ParseEventSelection(s, &d.events))
    return Status::InvalidArgument("destination '" + name + "': invalid events '" + s + "'");
  d.port = d.protocol == SyslogProtocol::kTls ? 6514 : 514;
  if (j.contains("port")) {
    if (!j["port"].is_number_integer())
      return Status::InvalidArgument("destination '" + name + "': 'port' must be a number");
    d.port = j["port"].get<int>();
  }
  if (d.port < 1 || d.port > 65535)
    return Status::InvalidArgument("destination '" + name + "': invalid port " +
                                   std::to_string(d.port));
  if (d.cert.empty() != d.key.empty())
    return Status::InvalidArgument("destination '" + name + "': cert and key go together");
  if (j.contains("hold_s")) {
    if (!j["hold_s"].is_number_integer() || j["hold_s"].get<int64_t>() < 0 ||
        j["hold_s"].get<int64_t>() > 3600)
      return Status::InvalidArgument("destination '" + name +
                                     "': 'hold_s' must be a number of seconds 0-3600");
    d.hold_s = j["hold_s"].get<int>();
  }
  d.enabled = !j.contains("enabled") || j["enabled"] != false;
  d.from_start = j.contains("from_start") && j["from_start"] == true;
  return d;
}

std::unique_ptr<Sink> MakeSyslogSink(const SyslogDestination& d, std::string host,
                                     std::string version) {
  return std::make_unique<SyslogSink>(d, std::move(host), std::move(version));
}

}  // namespace pveaudit
