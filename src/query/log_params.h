// log_params.h
// The arguments of `pveam access log` as text, checked and turned into a
// query: the CLI (src/cli/access_log.cc) and the HTTPS API
// (GET /api2/json/audit/log, src/server/http_routes.cc) take the same
// parameter names and must accept and refuse exactly the same values.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/filter.h"
#include "core/status.h"
#include "query/log_query.h"

namespace pveaudit {

// Every filter of `pveam access log`, as given ("" = not given).
struct LogParams {
  std::string user, start, end, action, resource, failed, ip, node, count, hour, group_by, limit;
};

struct LogRequest {
  Filter filter;
  bool counting = false;  // count was given: groups instead of events
  CountSpec spec;         // when counting
  size_t limit = 0;       // 0 = all
};

// Checks `p` and builds the request (relative times such as "today" are
// taken against `now_us`). An InvalidArgument error names the parameter
// as `prefix` + its name ("--resource" for the CLI, "resource" for the
// API) and the bad value.
Result<LogRequest> ParseLogParams(const LogParams& p, int64_t now_us, std::string_view prefix);

// Parses a whole number >= min; false otherwise.
bool ParseWholeNumber(const std::string& v, uint64_t min, uint64_t* out);

}  // namespace pveaudit
