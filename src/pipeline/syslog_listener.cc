// syslog_listener.cc
// FrameDecoder (RFC 6587 framing) and SyslogListener: one I/O thread with
// epoll over the UDP socket, the TCP listening socket, the TCP connections
// and an eventfd (Stop, and "the queue has room again").
#include "pipeline/syslog_listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
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

}  // namespace

struct SyslogListener::Conn {
  Conn(int f, std::string p, size_t max) : fd(f), peer(std::move(p)), decoder(max) {}
  int fd;
  std::string peer;
  FrameDecoder decoder;
  std::vector<SyslogMessage> pending;  // decoded, not yet queued
  size_t next = 0;                     // first element of pending not yet queued
  bool done = false;                   // EOF, error or bad frame: close once delivered
  bool paused = false;                 // out of epoll until the queue has room
};

SyslogListener::SyslogListener() = default;

SyslogListener::~SyslogListener() { Stop(); }

Status SyslogListener::Start(const ListenOptions& options) {
  if (running_.load()) return Status::Busy("syslog listener already running");
  if (options.udp.empty() && options.tcp.empty()) {
    return Status::InvalidArgument("syslog listener: neither a UDP nor a TCP address");
  }
  if (options.max_message_bytes < 1 || options.max_message_bytes > kSyslogMaxMessageCeiling) {
    return Status::InvalidArgument("syslog listener: max message size must be 1 byte .. 1 MiB");
  }
  if (options.queue_capacity < 1 || options.max_connections < 1) {
    return Status::InvalidArgument("syslog listener: queue capacity and connections must be >= 1");
  }
  options_ = options;
  uint16_t port = 0;
  auto fail = [&](Status st) {
    CloseSockets();
    return st;
  };
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
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return fail(Status::IOError(Errno("epoll_create1")));
  int wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake < 0) return fail(Status::IOError(Errno("eventfd")));
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake_fd_ = wake;
    space_wanted_ = false;
  }
  spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);  // reserve for EMFILE
  for (int fd : {udp_fd_, tcp_fd_, wake}) {
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
  for (auto& [fd, c] : conns_) CloseFd(&c->fd);
  conns_.clear();
  paused_.clear();
  CloseFd(&udp_fd_);
  CloseFd(&tcp_fd_);
  CloseFd(&epoll_fd_);
  CloseFd(&spare_fd_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    CloseFd(&wake_fd_);
    space_wanted_ = false;
  }
  udp_port_ = 0;
  tcp_port_ = 0;
}

void SyslogListener::Run() {
  std::vector<char> buf(std::max(kReadChunk, options_.max_message_bytes + 2));
  epoll_event events[kMaxEvents];
  while (!stop_.load()) {
    int n = epoll_wait(epoll_fd_, events, kMaxEvents, -1);
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
        HandleAccept();
      } else {
        auto it = conns_.find(fd);
        if (it != conns_.end() && !it->second->paused) HandleRead(it->second.get(), &buf);
      }
    }
    if (resume && !stop_.load()) {
      std::vector<Conn*> waiting;
      waiting.swap(paused_);
      for (Conn* c : waiting) Deliver(c);
    }
  }
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
    SyslogMessage m{std::string(s), FormatPeer(from), NowUs()};
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

void SyslogListener::HandleAccept() {
  for (int k = 0; k < kAcceptBatch; ++k) {
    sockaddr_storage from{};
    socklen_t from_len = sizeof(from);
    int fd = accept4(tcp_fd_, reinterpret_cast<sockaddr*>(&from), &from_len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR || errno == ECONNABORTED) continue;
      ++stats_.errors;
      if ((errno == EMFILE || errno == ENFILE) && spare_fd_ >= 0) {
        // Out of descriptors: accept with the reserved one and close the
        // connection, or the listening socket stays readable forever.
        CloseFd(&spare_fd_);
        int drop = accept4(tcp_fd_, nullptr, nullptr, SOCK_CLOEXEC);
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
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      ++stats_.errors;
      close(fd);
      continue;
    }
    conns_.emplace(fd, std::move(c));
    ++stats_.connections;
    ++stats_.open_connections;
  }
}

void SyslogListener::HandleRead(Conn* c, std::vector<char>* buf) {
  ssize_t n = read(c->fd, buf->data(), kReadChunk);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
  std::vector<std::string> lines;
  uint64_t truncated_before = c->decoder.truncated();
  bool framing_ok = true;
  if (n > 0) {
    framing_ok = c->decoder.Feed(std::string_view(buf->data(), static_cast<size_t>(n)), &lines);
  } else if (n == 0) {
    framing_ok = c->decoder.Finish(&lines);  // an octet-counted frame cut short is bad
    c->done = true;
  } else {
    if (errno != ECONNRESET) ++stats_.errors;  // a reset is the peer's business
    c->done = true;
  }
  if (!framing_ok) {
    ++stats_.bad_frames;
    c->done = true;
  }
  stats_.truncated += c->decoder.truncated() - truncated_before;
  if (!lines.empty()) {
    stats_.received += lines.size();
    int64_t now = NowUs();
    c->pending.reserve(c->pending.size() + lines.size());
    for (std::string& l : lines) c->pending.push_back(SyslogMessage{std::move(l), c->peer, now});
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
    ev.events = EPOLLIN;
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
  return c;
}

}  // namespace pveaudit
