// connect.h
// One outgoing TCP (or UDP) connection for the export sinks: the name
// resolved and each address tried within a time limit, a stop of the
// export loop honoured while waiting, and the socket left blocking with
// read/write timeouts so a stuck receiver fails a delivery instead of
// hanging it. Plain sockets: what cpp-httplib's client would do, but the
// syslog sink needs the bare socket and both sinks need the cancel flag.
// Thread safety: free function; safe to call from several threads.
#pragma once

#include <atomic>
#include <string>

#include "core/status.h"

namespace pveaudit {

struct ConnectOptions {
  int socktype = 0;                           // SOCK_STREAM (0 means the same) or SOCK_DGRAM
  int timeout_ms = 5000;                      // name resolution, then each address's connect
  int io_timeout_ms = 10000;                  // SO_SNDTIMEO/SO_RCVTIMEO of the connected socket
  bool no_delay = false;                      // TCP_NODELAY (request/answer protocols)
  const std::atomic<bool>* cancel = nullptr;  // polled at least every 100 ms
};

// A connected socket's descriptor (the caller closes it), or kIOError:
// "cannot resolve 'HOST': ..." (also when resolving takes longer than
// timeout_ms: getaddrinfo has no time limit of its own, and a dead DNS
// server would hold the loop for tens of seconds) or "cannot connect: ...".
Result<int> ConnectSocket(const std::string& host, int port, const ConnectOptions& o);

}  // namespace pveaudit
