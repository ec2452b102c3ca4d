// control_socket.h
// ControlSocket is pveauditd's local Unix stream socket through which the
// unprivileged web process (pveaudit-web) hands over everything that
// writes the store: the audit events of API use and changes of alert rules
// and export destinations. pveauditd alone writes the store, so a flaw in
// HTTP handling cannot rewrite it (privilege separation, as Proxmox splits
// pveproxy from pvedaemon). Protocol: docs/control-socket.md.
//
// Each connection is checked with SO_PEERCRED: only uid 0, pveauditd's own
// uid and the configured web user's uid are served; any other peer is
// logged and closed. One request per line (JSON), one reply per line. Every
// request is validated here, never trusted from the peer; changes go
// through the same code as the CLI (admin/settings_ops.h) with the web
// principal as actor ("via pveaudit-web from IP"). An `audit` request is
// committed (durable) before its reply says ok.
//
// One thread serves every connection with poll(): at most
// `max_connections` at once (a further one gets an error line and is
// closed), requests are handled one at a time, so changes of one setting
// never interleave. The thread only waits for its own commits; ingest
// never waits for it.
// Thread safety: Start/Stop from one thread; stats() from any.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "core/status.h"
#include "store/event_store.h"

namespace pveaudit {

struct ControlSocketOptions {
  std::string path;            // the socket file
  std::vector<uid_t> allowed;  // peers besides uid 0 and geteuid()
  gid_t group = gid_t(-1);     // the socket file's group; -1 = unchanged
  std::string node;            // this node's name, for the events
  std::string ack_lock;        // AckAlert's lock file ("": none; admin/settings_ops.h)
  size_t max_connections = 16;
  size_t max_line = 64 * 1024;  // bytes of one request line, newline excluded
  int idle_timeout_ms = 60000;  // a connection silent this long is closed
  std::function<void(const char* level, const std::string& msg)> log;
};

struct ControlSocketStats {
  uint64_t requests = 0;  // lines answered
  uint64_t errors = 0;    // of which answered with an error
  uint64_t refused = 0;   // connections refused (peer credentials, too many)
};

// The options from the configuration: the path ("" = <data_dir>/control.sock),
// the web user's uid and, when running as root, its group for the file.
ControlSocketOptions ControlSocketOptionsFor(
    const Config& c, const std::string& data_dir, const std::string& node,
    std::function<void(const char* level, const std::string& msg)> log);

class ControlSocket {
 public:
  // `store` must outlive this object (the daemon's GroupCommitStore).
  ControlSocket(EventStore& store, ControlSocketOptions options);
  ~ControlSocket();
  ControlSocket(const ControlSocket&) = delete;
  ControlSocket& operator=(const ControlSocket&) = delete;

  // Creates the socket (mode 0660; a stale file of a dead pveauditd is
  // replaced, a live one's is an error) and starts the thread.
  Status Start();
  // Stops the thread and removes the socket file.
  void Stop();
  ControlSocketStats stats() const;

 private:
  // Handles one request line from a peer with `uid`/`pid`; returns the
  // reply (without newline).
  std::string Handle(const std::string& line, uid_t uid, pid_t pid);
  void Loop();
  nlohmann::json Dispatch(const nlohmann::json& req, uid_t uid, pid_t pid);

  EventStore& store_;
  ControlSocketOptions o_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};  // Stop() writes to wake_[1]
  std::thread thread_;
  std::atomic<uint64_t> requests_{0}, errors_{0}, refused_{0};
};

}  // namespace pveaudit
