// time_zone_name.h
// The name of the zone local times are printed in, for text headers such as
// "TIME (Europe/Vienna)": an auditor reading a table must know whose
// wall clock it shows.
// Thread safety: reads the environment and /etc; call after
// SetClusterTimeZone, from one thread.
#pragma once

#include <string>

namespace pveaudit {

// $TZ when set (SetClusterTimeZone puts the config's `timezone` there;
// "" and "Etc/UTC" read "UTC"; a leading ':' and a zoneinfo directory are
// dropped), else the system zone from the /etc/localtime link or
// /etc/timezone, else the C library's abbreviation. `etc` is the /etc to read
// (tests pass their own).
std::string TimeZoneName(const std::string& etc = "/etc");

}  // namespace pveaudit
