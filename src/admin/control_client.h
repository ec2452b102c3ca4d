// control_client.h
// ControlClient is the web process's side of pveauditd's control socket
// (daemon/control_socket.h, docs/control-socket.md): it sends one JSON
// request and returns pveauditd's one-line reply.
// Connection: opened on the first Call and kept. Before each request a
// kept connection that pveauditd closed (a restart, its idle timeout) is
// noticed and replaced, so a restarted pveauditd is reached without an
// error. A request is never sent twice by this class: when the connection
// breaks after the request was written, Call fails and the caller decides
// (an `audit` reply that never came may or may not have been stored).
// Thread safety: Call may be called from any thread; calls are serialised.
#pragma once

#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"

namespace pveaudit {

class ControlClient {
 public:
  explicit ControlClient(std::string path,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~ControlClient();
  ControlClient(const ControlClient&) = delete;
  ControlClient& operator=(const ControlClient&) = delete;

  // Sends `request` and stores the reply in *reply. OK when a reply came,
  // whatever it says (reply["ok"] tells); kIOError when pveauditd cannot be
  // reached or did not answer within the timeout; kBusy when it refused
  // the connection (too many) ... all with a message naming the socket.
  Status Call(const nlohmann::json& request, nlohmann::json* reply);

 private:
  Status Connect();
  void Disconnect();

  const std::string path_;
  const std::chrono::milliseconds timeout_;
  std::mutex mu_;
  int fd_ = -1;          // guarded by mu_
  std::string pending_;  // bytes read past the last reply; guarded by mu_
};

}  // namespace pveaudit
