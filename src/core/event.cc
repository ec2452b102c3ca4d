#include "core/event.h"

#include <arpa/inet.h>

namespace pveaudit {

std::string_view OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kSuccess:
      return "success";
    case Outcome::kFailure:
      return "failure";
    case Outcome::kUnknown:
      break;
  }
  return "unknown";
}

bool ParseOutcome(std::string_view s, Outcome* out) {
  if (s == "success")
    *out = Outcome::kSuccess;
  else if (s == "failure")
    *out = Outcome::kFailure;
  else if (s == "unknown")
    *out = Outcome::kUnknown;
  else
    return false;
  return true;
}

std::string CanonicalIp(std::string_view ip) {
  if (ip.size() > 7 && (ip.substr(0, 7) == "::ffff:" || ip.substr(0, 7) == "::FFFF:")) {
    std::string_view rest = ip.substr(7);
    in_addr a4;
    std::string tmp(rest);
    if (inet_pton(AF_INET, tmp.c_str(), &a4) == 1) return tmp;
  }
  if (ip.find(':') != std::string_view::npos) {
    std::string tmp(ip);
    in6_addr a6;
    if (inet_pton(AF_INET6, tmp.c_str(), &a6) == 1) {
      char buf[INET6_ADDRSTRLEN];
      if (inet_ntop(AF_INET6, &a6, buf, sizeof buf)) return buf;
    }
  }
  return std::string(ip);
}

}  // namespace pveaudit
