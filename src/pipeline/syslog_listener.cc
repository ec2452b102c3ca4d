// syslog_listener.cc
// SyslogListener: one I/O thread with epoll over the UDP socket, the TCP and
// TLS listening sockets, the connections and an eventfd (Stop, and "the
// queue has room again"). TLS is OpenSSL with non-blocking sockets: every
// SSL_* call that would block returns WANT_READ/WANT_WRITE and the
// connection waits in epoll, so a slow peer never holds up another.
#include "pipeline/syslog_listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/time_spec.h"

namespace pveaudit {

// ---------------------------------------------------------------------------
// SyslogListener

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsTrailer(char c) { return c == '\n' || c == '\r' || c == '\0'; }

constexpr size_t kReadChunk = 64 * 1024;
constexpr int kMaxEvents = 64;
constexpr int kUdpBatch = 64;  // datagrams per wakeup, for fairness
constexpr int kAcceptBatch = 64;

std::string Errno(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

struct Address {
  sockaddr_storage ss{};
  socklen_t len = 0;
  bool any = false;  // "*": every address, dual-stack when possible
};

Status ParseAddress(const std::string& spec, Address* a) {
  auto bad = [&](const char* why) {
    return Status::InvalidArgument("bad listen address '" + spec + "': " + why);
  };
  size_t colon = spec.rfind(':');
  if (colon == std::string::npos) return bad("expected ADDR:PORT");
  std::string host = spec.substr(0, colon), port_s = spec.substr(colon + 1);
  if (port_s.empty() || port_s.size() > 5 || !std::all_of(port_s.begin(), port_s.end(), IsDigit)) {
    return bad("bad port");
  }
  unsigned long port = std::stoul(port_s);
  if (port > 65535) return bad("port out of range");
  if (host == "*" || host.empty()) {
    a->any = true;
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&a->ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_addr = in6addr_any;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    a->len = sizeof(sockaddr_in6);
  } else if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return bad("unbalanced brackets");
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&a->ss);
    in6->sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &in6->sin6_addr) != 1) {
      return bad("not a numeric IPv6 address");
    }
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    a->len = sizeof(sockaddr_in6);
  } else {
    if (host.find(':') != std::string::npos) return bad("IPv6 addresses go in brackets: [::1]:514");
    auto* in4 = reinterpret_cast<sockaddr_in*>(&a->ss);
    in4->sin_family = AF_INET;
    if (inet_pton(AF_INET, host.c_str(), &in4->sin_addr) != 1) {
      return bad("not a numeric IPv4 address");
    }
    in4->sin_port = htons(static_cast<uint16_t>(port));
    a->len = sizeof(sockaddr_in);
  }
  return Status::OK();
}

std::string FormatPeer(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = {};
  std::string out;
  uint16_t port = 0;
  if (ss.ss_family == AF_INET) {
    const auto* in4 = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &in4->sin_addr, buf, sizeof(buf));
    out = buf;
    port = ntohs(in4->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    port = ntohs(in6->sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {  // dual-stack socket: show plain IPv4
      inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], buf, sizeof(buf));
      out = buf;
    } else {
      inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof(buf));
      out.append("[").append(buf).append("]");
    }
  } else {
    return "unknown";
  }
  out.append(":").append(std::to_string(port));
  return out;
}

// Creates, binds (and for TCP, listens on) a socket; returns the fd and the
// bound port.
Result<int> OpenSocket(const std::string& spec, int type, uint16_t* port) {
  Address a;
  PVEAUDIT_RETURN_IF_ERROR(ParseAddress(spec, &a));
  const char* kind = type == SOCK_DGRAM ? "udp " : "tcp ";
  int fd = socket(a.ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 && a.any && (errno == EAFNOSUPPORT || errno == EPROTONOSUPPORT)) {
    // No IPv6 on this host: "*" means every IPv4 address.
    a = Address();
    auto* in4 = reinterpret_cast<sockaddr_in*>(&a.ss);
    in4->sin_family = AF_INET;
    in4->sin_addr.s_addr = htonl(INADDR_ANY);
    in4->sin_port = htons(static_cast<uint16_t>(std::stoul(spec.substr(spec.rfind(':') + 1))));
    a.len = sizeof(sockaddr_in);
    fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  }
  if (fd < 0) return Status::IOError(Errno((kind + spec + ": socket").c_str()));
  int one = 1, zero = 0;
  if (type == SOCK_STREAM) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (a.any && a.ss.ss_family == AF_INET6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
  }
  if (bind(fd, reinterpret_cast<const sockaddr*>(&a.ss), a.len) != 0 ||
      (type == SOCK_STREAM && listen(fd, SOMAXCONN) != 0)) {
    Status st = Status::IOError(Errno((kind + spec + ": bind").c_str()));
    close(fd);
    return st;
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  *port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return fd;
}

void CloseFd(int* fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

using Clock = std::chrono::steady_clock;

// Decrypted bytes read from one TLS connection per wakeup before the others
// get their turn (the rest waits in ready_).
constexpr size_t kTlsReadBudget = 256 * 1024;

std::string SslError(const char* what) {
  unsigned long e = ERR_get_error();
  std::string out = what;
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    out.append(": ").append(buf);
  }
  ERR_clear_error();
  return out;
}

// An address as 16 bytes (IPv4 as IPv4-mapped IPv6), so that one
// comparison serves both families.
bool AddressBytes(const sockaddr_storage& ss, unsigned char out[16]) {
  static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (ss.ss_family == AF_INET) {
    std::memcpy(out, kMapped, 12);
    std::memcpy(out + 12, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, 4);
    return true;
  }
  if (ss.ss_family == AF_INET6) {
    std::memcpy(out, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, 16);
    return true;
  }
  return false;
}

}  // namespace

struct SyslogListener::PeerRule {
  std::string node;
  bool has_net = false;
  unsigned char net[16] = {};
  int prefix = 0;  // bits of net that must match (IPv4 rules: 96 + prefix)
  std::string certificate;
};

Status ParseSyslogPeerAddress(const std::string& spec, unsigned char net[16], int* prefix) {
  auto bad = [&](const char* why) {
    return Status::InvalidArgument("bad peer address '" + spec + "': " + why);
  };
  std::string host = spec;
  int bits = -1;
  if (size_t slash = spec.find('/'); slash != std::string::npos) {
    host = spec.substr(0, slash);
    std::string p = spec.substr(slash + 1);
    if (p.empty() || p.size() > 3 || !std::all_of(p.begin(), p.end(), IsDigit))
      return bad("bad prefix length");
    bits = std::stoi(p);
  }
  in_addr a4{};
  in6_addr a6{};
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1) {
    if (bits > 32) return bad("IPv4 prefix length over 32");
    sockaddr_storage ss{};
    reinterpret_cast<sockaddr_in*>(&ss)->sin_family = AF_INET;
    reinterpret_cast<sockaddr_in*>(&ss)->sin_addr = a4;
    AddressBytes(ss, net);
    *prefix = 96 + (bits < 0 ? 32 : bits);
  } else if (inet_pton(AF_INET6, host.c_str(), &a6) == 1) {
    if (bits > 128) return bad("IPv6 prefix length over 128");
    std::memcpy(net, &a6, 16);
    *prefix = bits < 0 ? 128 : bits;
  } else {
    return bad("expected a numeric IPv4/IPv6 address or ADDR/PREFIX");
  }
  return Status::OK();
}

namespace {

bool InNet(const unsigned char addr[16], const unsigned char net[16], int prefix) {
  int full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(addr, net, static_cast<size_t>(full)) != 0) return false;
  if (rest == 0) return true;
  unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (addr[full] & mask) == (net[full] & mask);
}

// The client certificate's subject CN, for messages ("" when none).
std::string CommonName(X509* cert) {
  char cn[256] = {};
  if (cert == nullptr) return "";
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn)) < 0)
    return "";
  return cn;
}

}  // namespace

struct SyslogListener::Conn {
  Conn(int f, std::string p, size_t max) : fd(f), peer(std::move(p)), decoder(max) {}
  int fd;
  std::string peer;
  sockaddr_storage addr{};
  FrameDecoder decoder;
  std::vector<SyslogMessage> pending;  // decoded, not yet queued
  size_t next = 0;                     // first element of pending not yet queued
  bool done = false;                   // EOF, error or bad frame: close once delivered
  bool paused = false;                 // out of epoll until the queue has room
  uint32_t events = EPOLLIN;           // what it waits for in epoll
  SSL* ssl = nullptr;                  // TLS connections
  bool handshaking = false;
  Clock::time_point deadline;  // of the handshake
  std::string node, rejected;  // allow-list verdict (SyslogMessage)
};

SyslogListener::SyslogListener() = default;

SyslogListener::~SyslogListener() { Stop(); }

Status SyslogListener::Start(const ListenOptions& options) {
  if (running_.load()) return Status::Busy("syslog listener already running");
  if (options.udp.empty() && options.tcp.empty() && options.tls.empty()) {
    return Status::InvalidArgument("syslog listener: no UDP, TCP or TLS address");
  }
  if (options.max_message_bytes < 1 || options.max_message_bytes > kSyslogMaxMessageCeiling) {
    return Status::InvalidArgument("syslog listener: max message size must be 1 byte .. 1 MiB");
  }
  if (options.queue_capacity < 1 || options.max_connections < 1) {
    return Status::InvalidArgument("syslog listener: queue capacity and connections must be >= 1");
  }
  std::vector<PeerRule> rules;
  for (const SyslogPeer& p : options.peers) {
    PeerRule r;
    r.node = p.node;
    r.certificate = p.certificate;
    if (p.node.empty()) return Status::InvalidArgument("syslog allow-list: a peer without a node");
    if (p.address.empty() && p.certificate.empty()) {
      return Status::InvalidArgument("syslog allow-list: peer '" + p.node +
                                     "' has neither an address nor a certificate name");
    }
    if (!p.address.empty()) {
      PVEAUDIT_RETURN_IF_ERROR(ParseSyslogPeerAddress(p.address, r.net, &r.prefix));
      r.has_net = true;
    }
    rules.push_back(std::move(r));
  }
  if (!options.tls.empty()) {
    if (options.tls_cert.empty() || options.tls_key.empty()) {
      return Status::InvalidArgument("syslog listener: TLS needs a certificate and a key");
    }
    if (options.tls_require_client_cert && options.tls_ca.empty()) {
      return Status::InvalidArgument(
          "syslog listener: TLS client certificates need a CA (tls_ca) to verify them");
    }
  }
  options_ = options;
  rules_ = std::move(rules);
  uint16_t port = 0;
  auto fail = [&](Status st) {
    CloseSockets();
    return st;
  };
  if (!options.tls.empty()) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == nullptr) return fail(Status::Internal(SslError("SSL_CTX_new")));
    ssl_ctx_ = ctx;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    // Renegotiation would let a peer make SSL_read want to write; nobody
    // needs it for a one-way log stream.
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    // Senders keep one long connection: no session tickets to write.
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (SSL_CTX_use_certificate_chain_file(ctx, options.tls_cert.c_str()) != 1) {
      return fail(
          Status::InvalidArgument(SslError(("TLS certificate " + options.tls_cert).c_str())));
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, options.tls_key.c_str(), SSL_FILETYPE_PEM) != 1) {
      return fail(Status::InvalidArgument(SslError(("TLS key " + options.tls_key).c_str())));
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
      return fail(Status::InvalidArgument(SslError(
          ("TLS key " + options.tls_key + " does not match " + options.tls_cert).c_str())));
    }
    if (!options.tls_ca.empty() &&
        SSL_CTX_load_verify_locations(ctx, options.tls_ca.c_str(), nullptr) != 1) {
      return fail(Status::InvalidArgument(SslError(("TLS CA " + options.tls_ca).c_str())));
    }
    int mode = SSL_VERIFY_PEER;
    if (options.tls_require_client_cert) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, options.tls_ca.empty() ? SSL_VERIFY_NONE : mode, nullptr);
    if (!options.tls_ca.empty()) {
      // Ask for certificates from the CA's names (helps clients with several).
      if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.tls_ca.c_str()))
        SSL_CTX_set_client_CA_list(ctx, names);
    }
    ERR_clear_error();
  }
  if (!options.udp.empty()) {
    Result<int> fd = OpenSocket(options.udp, SOCK_DGRAM, &port);
    if (!fd.ok()) return fail(fd.status());
    udp_fd_ = *fd;
    udp_port_ = port;
    if (options.udp_receive_buffer > 0) {
      setsockopt(udp_fd_, SOL_SOCKET, SO_RCVBUF, &options.udp_receive_buffer,
                 sizeof(options.udp_receive_buffer));
    }
  }
  if (!options.tcp.empty()) {
    Result<int> fd = OpenSocket(options.tcp, SOCK_STREAM, &port);
    if (!fd.ok()) return fail(fd.status());
    tcp_fd_ = *fd;
    tcp_port_ = port;
  }
  if (!options.tls.empty()) {
    Result<int> fd = OpenSocket(options.tls, SOCK_STREAM, &port);
    if (!fd.ok()) return fail(fd.status());
    tls_fd_ = *fd;
    tls_port_ = port;
  }
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return fail(Status::IOError(Errno("epoll_create1")));
  int wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake < 0) return fail(Status::IOError(Errno("eventfd")));
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake_fd_ = wake;
    space_wanted_ = false;
    last_tls_error_.clear();
  }
  spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);  // reserve for EMFILE
  for (int fd : {udp_fd_, tcp_fd_, tls_fd_, wake}) {
    if (fd < 0) continue;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      return fail(Status::IOError(Errno("epoll_ctl")));
    }
  }
  stop_ = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_ = true;
  }
  thread_ = std::thread([this] { Run(); });
  return Status::OK();
}

void SyslogListener::Stop() {
  if (thread_.joinable()) {
    stop_ = true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      uint64_t one = 1;
      if (wake_fd_ >= 0 && write(wake_fd_, &one, sizeof(one)) < 0) {
        // EAGAIN: the counter is already non-zero, the thread wakes anyway.
      }
    }
    thread_.join();
  }
  CloseSockets();
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_ = false;
  }
  cv_.notify_all();
}

void SyslogListener::CloseSockets() {
  stats_.open_connections -= conns_.size();
  for (auto& [fd, c] : conns_) {
    if (c->ssl != nullptr) SSL_free(c->ssl);
    CloseFd(&c->fd);
  }
  conns_.clear();
  paused_.clear();
  ready_.clear();
  handshaking_ = 0;
  CloseFd(&udp_fd_);
  CloseFd(&tcp_fd_);
  CloseFd(&tls_fd_);
  CloseFd(&epoll_fd_);
  CloseFd(&spare_fd_);
  if (ssl_ctx_ != nullptr) SSL_CTX_free(static_cast<SSL_CTX*>(ssl_ctx_));
  ssl_ctx_ = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    CloseFd(&wake_fd_);
    space_wanted_ = false;
  }
  udp_port_ = 0;
  tcp_port_ = 0;
  tls_port_ = 0;
}

void SyslogListener::Run() {
  // OpenSSL writes alerts and close_notify with write(2), which raises
  // SIGPIPE when the peer is gone; blocked here it becomes EPIPE instead
  // (the pending signal stays on this thread, which never unblocks it).
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  std::vector<char> buf(std::max(kReadChunk, options_.max_message_bytes + 2));
  epoll_event events[kMaxEvents];
  while (!stop_.load()) {
    int timeout = ExpireHandshakes();
    if (!ready_.empty()) timeout = 0;
    int n = epoll_wait(epoll_fd_, events, kMaxEvents, timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      ++stats_.errors;
      break;
    }
    bool resume = false;
    for (int i = 0; i < n && !stop_.load(); ++i) {
      int fd = events[i].data.fd;
      if (fd == wake_fd_) {
        uint64_t v;
        if (read(wake_fd_, &v, sizeof(v)) < 0) {
          // EAGAIN: already drained.
        }
        resume = true;
      } else if (fd == udp_fd_) {
        HandleUdp(&buf);
      } else if (fd == tcp_fd_) {
        HandleAccept(tcp_fd_, false);
      } else if (fd == tls_fd_) {
        HandleAccept(tls_fd_, true);
      } else {
        auto it = conns_.find(fd);
        if (it == conns_.end() || it->second->paused) continue;
        if (it->second->handshaking) {
          StepHandshake(it->second.get(), &buf);
        } else {
          HandleRead(it->second.get(), &buf);
        }
      }
    }
    if (resume && !stop_.load()) {
      std::vector<Conn*> waiting;
      waiting.swap(paused_);
      for (Conn* c : waiting) {
        int fd = c->fd;
        // A resumed TLS connection may hold decrypted bytes that epoll
        // cannot announce.
        if (Deliver(c) && conns_.count(fd) && c->ssl && !c->paused) ready_.push_back(fd);
      }
    }
    if (!ready_.empty() && !stop_.load()) {
      std::vector<int> ready;
      ready.swap(ready_);
      std::sort(ready.begin(), ready.end());
      ready.erase(std::unique(ready.begin(), ready.end()), ready.end());
      for (int fd : ready) {
        auto it = conns_.find(fd);
        if (it != conns_.end() && !it->second->paused && !it->second->handshaking)
          HandleRead(it->second.get(), &buf);
      }
    }
  }
}

int SyslogListener::ExpireHandshakes() {
  if (handshaking_ == 0) return -1;
  auto now = Clock::now();
  std::vector<Conn*> late;
  auto next = Clock::time_point::max();
  for (auto& [fd, c] : conns_) {
    if (!c->handshaking) continue;
    if (c->deadline <= now) {
      late.push_back(c.get());
    } else {
      next = std::min(next, c->deadline);
    }
  }
  for (Conn* c : late) {
    ++stats_.tls_handshake_timeouts;
    HandshakeFailed(c, "handshake not finished within " +
                           std::to_string(options_.tls_handshake_timeout.count()) + " ms");
  }
  if (next == Clock::time_point::max()) return -1;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count() + 1;
  return static_cast<int>(std::min<int64_t>(ms, 60000));
}

void SyslogListener::Judge(const sockaddr_storage& addr, const std::string& peer, void* x509,
                           std::string* node, std::string* rejected) {
  node->clear();
  rejected->clear();
  if (rules_.empty()) return;
  X509* cert = static_cast<X509*>(x509);
  unsigned char bytes[16];
  bool have_addr = AddressBytes(addr, bytes);
  for (const PeerRule& r : rules_) {
    if (r.has_net && !(have_addr && InNet(bytes, r.net, r.prefix))) continue;
    if (!r.certificate.empty()) {
      // Either name kind counts (ALWAYS_CHECK_SUBJECT: the CN even when the
      // certificate has DNS names); a wildcard must not stand for a node.
      const unsigned int flags =
          X509_CHECK_FLAG_ALWAYS_CHECK_SUBJECT | X509_CHECK_FLAG_NO_WILDCARDS;
      if (cert == nullptr ||
          X509_check_host(cert, r.certificate.data(), r.certificate.size(), flags, nullptr) != 1)
        continue;
    }
    *node = r.node;
    return;
  }
  *rejected = "peer " + peer;
  if (cert != nullptr) *rejected += " (certificate CN '" + CommonName(cert) + "')";
  *rejected += " is not on the allow-list";
}

void SyslogListener::HandleUdp(std::vector<char>* buf) {
  const size_t max = options_.max_message_bytes;
  for (int k = 0; k < kUdpBatch; ++k) {
    sockaddr_storage from{};
    socklen_t from_len = sizeof(from);
    // MSG_TRUNC: the datagram's real length even when it does not fit.
    ssize_t n = recvfrom(udp_fd_, buf->data(), max + 2, MSG_TRUNC | MSG_DONTWAIT,
                         reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ++stats_.errors;
      return;
    }
    size_t len = static_cast<size_t>(n);
    bool cut = len > max + 2;
    std::string_view s(buf->data(), std::min(len, max + 2));
    while (!s.empty() && IsTrailer(s.back())) s.remove_suffix(1);
    if (s.size() > max) {
      cut = true;
      s = s.substr(0, max);
    }
    if (s.empty()) continue;
    ++stats_.received;
    if (cut) ++stats_.truncated;
    SyslogMessage m{std::string(s), FormatPeer(from), NowUs(), {}, {}};
    Judge(from, m.peer, nullptr, &m.node, &m.rejected);
    if (!m.rejected.empty()) ++stats_.peers_rejected;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (queue_.size() >= options_.queue_capacity) {
        ++stats_.dropped;
        continue;
      }
      queue_.push_back(std::move(m));
    }
    cv_.notify_one();
  }
}

void SyslogListener::HandleAccept(int listen_fd, bool tls) {
  for (int k = 0; k < kAcceptBatch; ++k) {
    sockaddr_storage from{};
    socklen_t from_len = sizeof(from);
    int fd = accept4(listen_fd, reinterpret_cast<sockaddr*>(&from), &from_len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR || errno == ECONNABORTED) continue;
      ++stats_.errors;
      if ((errno == EMFILE || errno == ENFILE) && spare_fd_ >= 0) {
        // Out of descriptors: accept with the reserved one and close the
        // connection, or the listening socket stays readable forever.
        CloseFd(&spare_fd_);
        int drop = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (drop >= 0) {
          ++stats_.rejected_connections;
          close(drop);
        }
        spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
        continue;
      }
      return;
    }
    if (conns_.size() >= options_.max_connections) {
      ++stats_.rejected_connections;  // counters change before the peer can see it
      close(fd);
      continue;
    }
    auto c = std::make_unique<Conn>(fd, FormatPeer(from), options_.max_message_bytes);
    c->addr = from;
    if (tls) {
      c->ssl = SSL_new(static_cast<SSL_CTX*>(ssl_ctx_));
      if (c->ssl == nullptr || SSL_set_fd(c->ssl, fd) != 1) {
        ++stats_.errors;
        if (c->ssl) SSL_free(c->ssl);
        ERR_clear_error();
        close(fd);
        continue;
      }
      SSL_set_accept_state(c->ssl);
      c->handshaking = true;
      c->deadline = Clock::now() + options_.tls_handshake_timeout;
    } else {
      Judge(from, c->peer, nullptr, &c->node, &c->rejected);
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      ++stats_.errors;
      if (c->ssl) SSL_free(c->ssl);
      close(fd);
      continue;
    }
    if (tls) ++handshaking_;
    conns_.emplace(fd, std::move(c));
    ++stats_.connections;
    ++stats_.open_connections;
  }
}

void SyslogListener::Want(Conn* c, uint32_t events) {
  if (c->events == events || c->paused) {
    c->events = events;
    return;
  }
  c->events = events;
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = c->fd;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd, &ev) != 0) ++stats_.errors;
}

void SyslogListener::HandshakeFailed(Conn* c, const std::string& why) {
  ++stats_.tls_handshake_failures;
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_tls_error_ = c->peer + ": " + why;
  }
  c->pending.clear();
  c->next = 0;
  c->done = true;
  CloseConn(c);
}

void SyslogListener::StepHandshake(Conn* c, std::vector<char>* buf) {
  ERR_clear_error();
  int r = SSL_do_handshake(c->ssl);
  if (r == 1) {
    c->handshaking = false;
    --handshaking_;
    ++stats_.tls_connections;
    X509* cert = SSL_get1_peer_certificate(c->ssl);  // verified by OpenSSL, or none
    Judge(c->addr, c->peer, cert, &c->node, &c->rejected);
    X509_free(cert);
    Want(c, EPOLLIN);
    HandleRead(c, buf);  // application data may have come with the last flight
    return;
  }
  int e = SSL_get_error(c->ssl, r);
  if (e == SSL_ERROR_WANT_READ) {
    Want(c, EPOLLIN);
  } else if (e == SSL_ERROR_WANT_WRITE) {
    Want(c, EPOLLOUT);
  } else {
    std::string why;
    long v = SSL_get_verify_result(c->ssl);
    if (v != X509_V_OK) {
      why = std::string("client certificate: ") + X509_verify_cert_error_string(v);
      ERR_clear_error();
    } else if (e == SSL_ERROR_SSL) {
      why = SslError("handshake");
    } else {
      why = "connection closed during the handshake";
      ERR_clear_error();
    }
    HandshakeFailed(c, why);
  }
}

void SyslogListener::HandleRead(Conn* c, std::vector<char>* buf) {
  std::vector<std::string> lines;
  uint64_t truncated_before = c->decoder.truncated();
  bool framing_ok = true;
  if (c->ssl == nullptr) {
    ssize_t n = read(c->fd, buf->data(), kReadChunk);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n > 0) {
      framing_ok = c->decoder.Feed(std::string_view(buf->data(), static_cast<size_t>(n)), &lines);
    } else if (n == 0) {
      framing_ok = c->decoder.Finish(&lines);  // an octet-counted frame cut short is bad
      c->done = true;
    } else {
      if (errno != ECONNRESET) ++stats_.errors;  // a reset is the peer's business
      c->done = true;
    }
  } else {
    // SSL_read returns one record at a time; read until OpenSSL needs the
    // socket again, or the budget is spent (then come back via ready_).
    size_t total = 0;
    for (;;) {
      ERR_clear_error();
      errno = 0;
      int n = SSL_read(c->ssl, buf->data(), static_cast<int>(kReadChunk));
      if (n > 0) {
        framing_ok = c->decoder.Feed(std::string_view(buf->data(), static_cast<size_t>(n)), &lines);
        if (!framing_ok) break;
        total += static_cast<size_t>(n);
        if (total >= kTlsReadBudget) {
          ready_.push_back(c->fd);
          break;
        }
        continue;
      }
      int e = SSL_get_error(c->ssl, n);
      if (e == SSL_ERROR_WANT_READ) {
        Want(c, EPOLLIN);
      } else if (e == SSL_ERROR_WANT_WRITE) {
        Want(c, EPOLLOUT);  // e.g. a TLS 1.3 key update to answer
      } else {
        // close_notify, or the TCP connection ended without it: either way
        // the stream is over; a frame cut short is a bad frame.
        if (e == SSL_ERROR_ZERO_RETURN ||
            (e == SSL_ERROR_SYSCALL && (errno == 0 || errno == ECONNRESET)) ||
            (e == SSL_ERROR_SSL &&
             ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
          framing_ok = c->decoder.Finish(&lines);
        } else {
          ++stats_.errors;
        }
        ERR_clear_error();
        c->done = true;
      }
      break;
    }
  }
  if (!framing_ok) {
    ++stats_.bad_frames;
    c->done = true;
  }
  stats_.truncated += c->decoder.truncated() - truncated_before;
  if (!lines.empty()) {
    stats_.received += lines.size();
    if (!c->rejected.empty()) stats_.peers_rejected += lines.size();
    int64_t now = NowUs();
    c->pending.reserve(c->pending.size() + lines.size());
    for (std::string& l : lines)
      c->pending.push_back(SyslogMessage{std::move(l), c->peer, now, c->node, c->rejected});
  }
  Deliver(c);
}

bool SyslogListener::Deliver(Conn* c) {
  if (!PushTcp(&c->pending, &c->next)) {
    // Queue full: stop reading this connection until the consumer makes
    // room (TCP flow control then slows the sender down).
    if (!c->paused) {
      epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
      c->paused = true;
    }
    if (std::find(paused_.begin(), paused_.end(), c) == paused_.end()) paused_.push_back(c);
    return true;
  }
  c->pending.clear();
  c->next = 0;
  if (c->done) {
    CloseConn(c);
    return false;
  }
  if (c->paused) {
    epoll_event ev{};
    ev.events = c->events;
    ev.data.fd = c->fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
      ++stats_.errors;
      CloseConn(c);
      return false;
    }
    c->paused = false;
  }
  return true;
}

void SyslogListener::CloseConn(Conn* c) {
  int fd = c->fd;
  if (!c->paused) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);  // paused: not in epoll
  paused_.erase(std::remove(paused_.begin(), paused_.end(), c), paused_.end());
  if (c->handshaking) --handshaking_;
  if (c->ssl != nullptr) {
    if (!c->handshaking) SSL_shutdown(c->ssl);  // one non-blocking try at close_notify
    SSL_free(c->ssl);
    ERR_clear_error();
  }
  --stats_.open_connections;
  close(fd);
  conns_.erase(fd);  // destroys *c
}
bool SyslogListener::PushTcp(std::vector<SyslogMessage>* msgs, size_t* next) {
  size_t pushed = 0;
  bool all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (*next < msgs->size() && queue_.size() < options_.queue_capacity) {
      queue_.push_back(std::move((*msgs)[(*next)++]));
      ++pushed;
    }
    all = *next == msgs->size();
    if (!all) space_wanted_ = true;
  }
  if (pushed == 1) {
    cv_.notify_one();
  } else if (pushed > 1) {
    cv_.notify_all();
  }
  return all;
}

void SyslogListener::AfterTakeLocked() {
  if (!space_wanted_ || wake_fd_ < 0) return;
  // Resume paused connections once a quarter of the queue is free, not
  // after every message.
  size_t cap = options_.queue_capacity;
  if (queue_.size() > cap - std::max<size_t>(1, cap / 4)) return;
  space_wanted_ = false;
  uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof(one)) < 0) {
    // EAGAIN: the counter is already non-zero, the thread wakes anyway.
  }
}

bool SyslogListener::WaitLocked(std::unique_lock<std::mutex>* lock,
                                std::chrono::milliseconds timeout) {
  return cv_.wait_for(*lock, timeout, [&] { return !queue_.empty() || !running_.load(); }) &&
         !queue_.empty();
}

bool SyslogListener::Pop(SyslogMessage* out, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!WaitLocked(&lock, timeout)) return false;
  *out = std::move(queue_.front());
  queue_.pop_front();
  AfterTakeLocked();
  return true;
}

size_t SyslogListener::Drain(std::vector<SyslogMessage>* out, size_t max,
                             std::chrono::milliseconds timeout) {
  if (max == 0) return 0;
  std::unique_lock<std::mutex> lock(mu_);
  if (!WaitLocked(&lock, timeout)) return 0;
  size_t n = std::min(max, queue_.size());
  for (size_t i = 0; i < n; ++i) {
    out->push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  AfterTakeLocked();
  return n;
}

size_t SyslogListener::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

SyslogCounters SyslogListener::counters() const {
  SyslogCounters c;
  c.received = stats_.received.load();
  c.dropped = stats_.dropped.load();
  c.truncated = stats_.truncated.load();
  c.bad_frames = stats_.bad_frames.load();
  c.connections = stats_.connections.load();
  c.open_connections = stats_.open_connections.load();
  c.rejected_connections = stats_.rejected_connections.load();
  c.errors = stats_.errors.load();
  c.tls_connections = stats_.tls_connections.load();
  c.tls_handshake_failures = stats_.tls_handshake_failures.load();
  c.tls_handshake_timeouts = stats_.tls_handshake_timeouts.load();
  c.peers_rejected = stats_.peers_rejected.load();
  return c;
}

std::string SyslogListener::last_tls_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_tls_error_;
}

}  // namespace pveaudit
