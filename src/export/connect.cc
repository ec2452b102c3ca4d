#include "export/connect.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

namespace pveaudit {
namespace {

bool Cancelled(const ConnectOptions& o) { return o.cancel && o.cancel->load(); }

// getaddrinfo on a thread of its own, waited for with a limit. On a
// timeout the thread is left to finish alone: it owns its half of the
// shared state and frees the result itself.
struct Lookup {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false, abandoned = false;
  int rc = 0;
  addrinfo* res = nullptr;
  ~Lookup() {
    if (res) freeaddrinfo(res);
  }
};

Status Resolve(const std::string& host, int port, const ConnectOptions& o,
               std::shared_ptr<Lookup>* out) {
  auto l = std::make_shared<Lookup>();
  const int socktype = o.socktype ? o.socktype : SOCK_STREAM;
  std::thread([l, host, port, socktype] {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = socktype;
    addrinfo* res = nullptr;
    int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
    std::lock_guard<std::mutex> g(l->mu);
    l->rc = rc;
    l->res = res;
    l->done = true;
    l->cv.notify_all();
  }).detach();
  std::unique_lock<std::mutex> g(l->mu);
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(o.timeout_ms);
  while (!l->done) {
    if (Cancelled(o)) return Status::IOError("cannot resolve '" + host + "': cancelled");
    if (std::chrono::steady_clock::now() >= until)
      return Status::IOError("cannot resolve '" + host + "': no answer within " +
                             std::to_string(o.timeout_ms) + " ms");
    l->cv.wait_for(g, std::chrono::milliseconds(100));
  }
  if (l->rc != 0) return Status::IOError("cannot resolve '" + host + "': " + gai_strerror(l->rc));
  *out = l;
  return Status::OK();
}

}  // namespace

Result<int> ConnectSocket(const std::string& host, int port, const ConnectOptions& o) {
  std::shared_ptr<Lookup> l;
  PVEAUDIT_RETURN_IF_ERROR(Resolve(host, port, o, &l));
  std::string last = "no address";
  for (addrinfo* a = l->res; a; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) {
      last = std::strerror(errno);
      continue;
    }
    if (connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last = std::strerror(errno);
      close(fd);
      continue;
    }
    // Waits in slices, so a stop of the loop is not held up by a server
    // that does not answer.
    int ready = 0;
    for (int waited = 0; waited < o.timeout_ms && ready == 0 && !Cancelled(o); waited += 100) {
      pollfd p{fd, POLLOUT, 0};
      ready = poll(&p, 1, 100);
    }
    if (ready != 1) {
      last = Cancelled(o) ? "cancelled"
                          : "connect timed out after " + std::to_string(o.timeout_ms) + " ms";
      close(fd);
      continue;
    }
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      last = std::strerror(err);
      close(fd);
      continue;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    timeval tv{o.io_timeout_ms / 1000, (o.io_timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (o.no_delay && a->ai_socktype == SOCK_STREAM) {
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
  }
  return Status::IOError("cannot connect: " + last);
}

}  // namespace pveaudit
