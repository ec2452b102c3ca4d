// syslog_listener.h (src/pipeline: network I/O; the framing is ingest/syslog_frame.h)
// SyslogListener receives syslog messages that other Proxmox nodes forward
// (rsyslog omfwd, syslog-ng, logger --server) over UDP, TCP and/or TLS, so
// that pveauditd can audit their pvedaemon/pveproxy authentication lines
// live. docs/syslog-listener.md describes what is accepted, limits, the
// allow-list and counters.
//
//  - UDP: one datagram is one message (RFC 5426).
//  - TCP: RFC 6587 framing, detected per message: a frame that starts with a
//    digit is octet-counted ("MSG-LEN SP MSG"), anything else is
//    non-transparent framing ending at LF (or NUL). See FrameDecoder.
//  - TLS (RFC 5425): TLS 1.2 or later, client certificates required by
//    default, then the same framing as TCP (RFC 5425 senders octet-count).
//    Handshakes run non-blocking in the I/O thread; one that does not finish
//    within tls_handshake_timeout is abandoned and counted.
//  - Trailing LF / CRLF / NUL are stripped; empty messages are skipped.
//    Otherwise the text is handed over exactly as it came (with "<PRI>"),
//    ready for MakeLineParser(LineFormat::kAuth, ...).
//  - Allow-list (ListenOptions::peers): when set, each message carries the
//    node its peer maps to, or why the peer is not allowed (the consumer
//    keeps such lines aside as rejected; see SyslogSource).
//
// Delivery: a bounded queue (ListenOptions::queue_capacity messages) that
// the consumer drains with Pop/Drain. Back-pressure: when the queue is full
// a TCP/TLS connection is no longer read (the sender's TCP window fills and
// it blocks or buffers), a UDP datagram is counted as dropped.
//
// Thread safety: Start/Stop from one owning thread; Pop/Drain/counters() and
// the port accessors from any thread.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "ingest/syslog_frame.h"

namespace pveaudit {

// One entry of the allow-list: a peer and the node name its lines are
// stored under. An entry matches a connection or datagram when every
// criterion it sets matches (at least one must be set).
struct SyslogPeer {
  std::string node;  // e.g. "pve2"
  // "" or a numeric address or network: "192.0.2.7", "192.0.2.0/24",
  // "2001:db8::7", "2001:db8::/64". IPv4-mapped IPv6 peers match IPv4.
  std::string address;
  // "" or a name the client certificate must carry as subjectAltName DNS
  // or subject CN (exact, case-insensitive, no wildcards). TLS only.
  std::string certificate;
};

// Parses an allow-list address ("192.0.2.7", "192.0.2.0/24", "2001:db8::/64")
// into 16 bytes (IPv4 as IPv4-mapped IPv6) and a prefix length in bits.
// InvalidArgument names the value.
Status ParseSyslogPeerAddress(const std::string& spec, unsigned char net[16], int* prefix);

struct ListenOptions {
  // "ADDR:PORT" to listen on; "" = that transport is off. ADDR is a numeric
  // IPv4 address, "[IPv6]" or "*" (every address, IPv6 dual-stack where
  // available). PORT 0 binds an ephemeral port (see udp_port()/tcp_port()).
  std::string udp;  // e.g. "127.0.0.1:5514", "[::1]:5514", "*:514"
  std::string tcp;
  std::string tls;  // RFC 5425, e.g. "192.0.2.50:6514"
  // PEM files: the server's certificate (chain) and key; the CA bundle
  // that signed the clients' certificates.
  std::string tls_cert, tls_key, tls_ca;
  // Refuse TLS clients without a valid certificate (signed by tls_ca).
  // When false, a client may send none; one it sends must still verify.
  bool tls_require_client_cert = true;
  // A handshake not finished by then is abandoned and counted.
  std::chrono::milliseconds tls_handshake_timeout{10000};
  // The allow-list; empty = every peer, node names as the lines claim.
  std::vector<SyslogPeer> peers;
  // Longer messages are cut to this size and counted (1 .. 1 MiB).
  size_t max_message_bytes = kSyslogDefaultMaxMessage;
  // Messages waiting for the consumer (>= 1).
  size_t queue_capacity = 16384;
  // Further TCP connections are accepted and closed at once, and counted.
  size_t max_connections = 1024;
  // SO_RCVBUF for the UDP socket; 0 = system default.
  int udp_receive_buffer = 0;
};

struct SyslogMessage {
  std::string line;         // the message as sent, trailing CR/LF/NUL stripped
  std::string peer;         // sender "ADDR:PORT": "192.0.2.7:41234", "[2001:db8::7]:41234"
  int64_t received_us = 0;  // wall-clock time of reception (Unix µs)
  // With an allow-list: the node the peer maps to, or (node empty) why the
  // peer is not on the list. Both empty without an allow-list.
  std::string node;
  std::string rejected;
};

// Snapshot of the listener's counters (each read atomically; the set is
// not one consistent instant).
struct SyslogCounters {
  uint64_t received = 0;                // messages decoded (UDP + TCP), dropped ones included
  uint64_t dropped = 0;                 // UDP messages discarded because the queue was full
  uint64_t truncated = 0;               // messages cut to max_message_bytes
  uint64_t bad_frames = 0;              // TCP framing errors (the connection was closed)
  uint64_t connections = 0;             // TCP connections accepted in total
  uint64_t open_connections = 0;        // TCP connections open now
  uint64_t rejected_connections = 0;    // closed at once: over max_connections
  uint64_t errors = 0;                  // socket errors (recv, accept, ...)
  uint64_t tls_connections = 0;         // TLS handshakes completed
  uint64_t tls_handshake_failures = 0;  // refused: no/invalid certificate, bad TLS, timeout
  uint64_t tls_handshake_timeouts = 0;  // of which: not finished in tls_handshake_timeout
  uint64_t peers_rejected = 0;          // messages from peers not on the allow-list
};

class SyslogListener {
 public:
  SyslogListener();
  ~SyslogListener();  // Stop()
  SyslogListener(const SyslogListener&) = delete;
  SyslogListener& operator=(const SyslogListener&) = delete;

  // Binds the configured sockets and starts the I/O thread. Fails with
  // InvalidArgument for bad options/addresses, IOError when a socket cannot
  // be bound, Busy when already running. May be called again after Stop().
  Status Start(const ListenOptions& options);
  // Closes every socket and connection and joins the I/O thread. Messages
  // still queued stay available to Pop/Drain. Idempotent.
  void Stop();
  bool running() const { return running_.load(); }

  // Bound ports (0 when that transport is off or not started).
  uint16_t udp_port() const { return udp_port_.load(); }
  uint16_t tcp_port() const { return tcp_port_.load(); }
  uint16_t tls_port() const { return tls_port_.load(); }

  // Takes the oldest message, waiting up to `timeout`. False on timeout,
  // or at once when the listener is stopped and the queue is empty.
  bool Pop(SyslogMessage* out, std::chrono::milliseconds timeout);
  // Waits up to `timeout` for at least one message, then moves up to `max`
  // queued messages to `out`. Returns how many were moved.
  size_t Drain(std::vector<SyslogMessage>* out, size_t max, std::chrono::milliseconds timeout);
  size_t queued() const;

  SyslogCounters counters() const;
  // Why the last TLS handshake failed ("" = none yet), e.g.
  // "192.0.2.9:40112: peer did not return a certificate".
  std::string last_tls_error() const;

 private:
  struct Conn;
  struct PeerRule;
  struct Stats {
    std::atomic<uint64_t> received{0}, dropped{0}, truncated{0}, bad_frames{0}, connections{0},
        open_connections{0}, rejected_connections{0}, errors{0}, tls_connections{0},
        tls_handshake_failures{0}, tls_handshake_timeouts{0}, peers_rejected{0};
  };

  void Run();
  void HandleUdp(std::vector<char>* buf);
  void HandleAccept(int listen_fd, bool tls);
  void HandleRead(Conn* c, std::vector<char>* buf);
  // TLS: advances c's handshake; on success identifies the peer.
  void StepHandshake(Conn* c, std::vector<char>* buf);
  void HandshakeFailed(Conn* c, const std::string& why);
  // Closes handshakes past their deadline; returns the epoll timeout (ms)
  // until the next deadline, -1 when none.
  int ExpireHandshakes();
  // Sets the epoll events c waits for (EPOLLIN or EPOLLOUT).
  void Want(Conn* c, uint32_t events);
  // Allow-list verdict for a peer (and its verified certificate, if any).
  void Judge(const sockaddr_storage& addr, const std::string& peer, void* x509, std::string* node,
             std::string* rejected);
  // Delivers c's pending messages; pauses c when the queue is full, closes
  // it when it is done. False when c was closed.
  bool Deliver(Conn* c);
  void CloseConn(Conn* c);
  // Waits until a message is queued or the listener is not running; mu_ held.
  bool WaitLocked(std::unique_lock<std::mutex>* lock, std::chrono::milliseconds timeout);
  // Called with mu_ held after messages were taken: wakes the I/O thread
  // when a paused TCP connection waits for room.
  void AfterTakeLocked();
  // Moves as many of `msgs` (from `*next` on) into the queue as fit; true
  // when all fit, else the I/O thread is woken once room frees up.
  bool PushTcp(std::vector<SyslogMessage>* msgs, size_t* next);
  void CloseSockets();

  ListenOptions options_;
  int udp_fd_ = -1, tcp_fd_ = -1, tls_fd_ = -1, epoll_fd_ = -1, spare_fd_ = -1;
  void* ssl_ctx_ = nullptr;  // SSL_CTX*; kept out of the header's includes
  std::vector<PeerRule> rules_;
  int wake_fd_ = -1;  // eventfd; written by Stop and by consumers (under mu_)
  std::atomic<uint16_t> udp_port_{0}, tcp_port_{0}, tls_port_{0};
  std::atomic<bool> running_{false};
  std::atomic<bool> stop_{false};
  std::thread thread_;
  // I/O thread only.
  std::unordered_map<int, std::unique_ptr<Conn>> conns_;
  std::vector<Conn*> paused_;
  std::vector<int> ready_;  // TLS connections with decrypted bytes still buffered
  size_t handshaking_ = 0;  // connections in a TLS handshake

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<SyslogMessage> queue_;  // guarded by mu_
  bool space_wanted_ = false;        // guarded by mu_: a TCP connection waits for room

  Stats stats_;
  std::string last_tls_error_;  // guarded by mu_
};

}  // namespace pveaudit
