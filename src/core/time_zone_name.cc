// time_zone_name.cc
#include "core/time_zone_name.h"

#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <fstream>

namespace pveaudit {
namespace {

// "/usr/share/zoneinfo/Europe/Vienna" -> "Europe/Vienna"; "Etc/UTC" -> "UTC".
std::string Tidy(std::string name) {
  if (!name.empty() && name.front() == ':') name.erase(0, 1);
  const size_t z = name.find("zoneinfo/");
  if (z != std::string::npos) name.erase(0, z + 9);
  while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
  if (name.empty() || name == "Etc/UTC" || name == "Etc/Universal" || name == "Etc/Zulu")
    return "UTC";
  return name;
}

}  // namespace

std::string TimeZoneName(const std::string& etc) {
  if (const char* tz = std::getenv("TZ")) return Tidy(tz);  // glibc: TZ="" is UTC
  // The C library reads /etc/localtime, usually a link into zoneinfo.
  char buf[4096];
  const ssize_t n = readlink((etc + "/localtime").c_str(), buf, sizeof buf - 1);
  if (n > 0) {
    std::string target(buf, static_cast<size_t>(n));
    if (target.find("zoneinfo/") != std::string::npos) return Tidy(target);
  }
  // Older Debian (and so Proxmox VE) releases also name it in /etc/timezone.
  std::ifstream in(etc + "/timezone");
  std::string line;
  if (in && std::getline(in, line) && line.find_first_not_of(' ') != std::string::npos)
    return Tidy(line);
  tzset();
  return tzname[0] && *tzname[0] ? std::string(tzname[0]) : std::string("local time");
}

}  // namespace pveaudit
