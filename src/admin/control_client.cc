#include "admin/control_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pveaudit {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

ControlClient::ControlClient(std::string path, std::chrono::milliseconds timeout)
    : path_(std::move(path)), timeout_(timeout) {}

ControlClient::~ControlClient() { Disconnect(); }

void ControlClient::Disconnect() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  pending_.clear();
}

Status ControlClient::Connect() {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path_.size() >= sizeof addr.sun_path)
    return Status::InvalidArgument("control socket path '" + path_ + "' is too long");
  std::memcpy(addr.sun_path, path_.c_str(), path_.size());
  fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return Status::IOError(std::string("socket: ") + std::strerror(errno));
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    Status s = Status::IOError("cannot connect to pveauditd's control socket " + path_ + ": " +
                               std::strerror(errno));
    Disconnect();
    return s;
  }
  return Status::OK();
}

Status ControlClient::Call(const nlohmann::json& request, nlohmann::json* reply) {
  std::lock_guard<std::mutex> lock(mu_);
  if (fd_ >= 0) {
    // pveauditd never speaks unasked: anything readable now is its close
    // (EOF) or a refusal; either way this connection is done.
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 0) != 0 || !pending_.empty()) Disconnect();
  }
  if (fd_ < 0) PVEAUDIT_RETURN_IF_ERROR(Connect());
  const int64_t deadline = NowMs() + timeout_.count();
  std::string line = request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = send(fd_, line.data() + off, line.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      off += size_t(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    int64_t left = deadline - NowMs();
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && left > 0) {
      pollfd p{fd_, POLLOUT, 0};
      poll(&p, 1, int(left));
      continue;
    }
    Status s = Status::IOError("cannot send to pveauditd's control socket " + path_ + ": " +
                               (n < 0 ? std::strerror(errno) : "timed out"));
    Disconnect();
    return s;
  }
  for (;;) {
    size_t nl = pending_.find('\n');
    if (nl != std::string::npos) {
      std::string text = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      *reply = nlohmann::json::parse(text, nullptr, false);
      if (reply->is_discarded() || !reply->is_object()) {
        Disconnect();
        return Status::Corruption("pveauditd's control socket " + path_ +
                                  " answered something that is not a JSON object");
      }
      // A refused connection is closed by pveauditd after its one line.
      if (reply->value("code", "") == "forbidden" || reply->value("code", "") == "busy" ||
          reply->value("code", "") == "too-long")
        Disconnect();
      return Status::OK();
    }
    int64_t left = deadline - NowMs();
    pollfd p{fd_, POLLIN, 0};
    int r = left > 0 ? poll(&p, 1, int(left)) : 0;
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) {
      Disconnect();
      return Status::IOError("pveauditd did not answer on " + path_ + " within " +
                             std::to_string(timeout_.count()) + " ms");
    }
    char buf[8192];
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status s =
          Status::IOError("pveauditd closed the control socket " + path_ + " before answering" +
                          (n < 0 ? std::string(": ") + std::strerror(errno) : ""));
      Disconnect();
      return s;
    }
    pending_.append(buf, size_t(n));
  }
}

}  // namespace pveaudit
