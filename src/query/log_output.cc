#include "query/log_output.h"

#include "core/time_spec.h"
#include "query/log_query.h"

namespace pveaudit {

Table EventsLayout() {
  Table t;
  t.columns = {"id",     "time",   "node",   "user",    "ip",     "action", "resource",
               "result", "status", "source", "session", "detail", "origin", "line"};
  return t;
}

Result<uint64_t> WriteEventRows(EventStore& store, const Filter& filter, size_t limit,
                                OutputFormat format, OutputBuffer* out,
                                const std::function<bool(const Event&)>& keep) {
  TableWriter w(EventsLayout(), format, out);
  std::string time;
  // The unknown user or address is the empty string: "" in JSON and YAML,
  // an empty CSV cell (the JSON an import reads back).
  Status st = ForEachEvent(store, filter, limit, kFieldAll, [&](Event&& e) {
    if (keep && !keep(e)) return true;
    FormatRfc3339UtcTo(e.time_us, &time);
    const CellView row[] = {int64_t(e.id), time,
                            e.node,        e.user,
                            e.ip,          e.action,
                            e.resource,    OutcomeName(e.result),
                            e.status,      e.source,
                            e.session,     e.detail,
                            e.origin,      int64_t(e.origin_line)};
    return w.Add(row);
  });
  if (!st.ok()) return st;
  w.Finish();
  return w.rows();
}

}  // namespace pveaudit
