// pveam access log: the product page's query command.
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "core/actions.h"
#include "core/event_json.h"
#include "core/filter.h"
#include "core/time_spec.h"
#include "core/time_zone_name.h"
#include "evidence/archived_store.h"
#include "query/log_output.h"
#include "query/log_params.h"
#include "query/log_query.h"

namespace pveaudit {
namespace {

struct LogOptions {
  CommonOptions common;
  LogParams p;  // the filters, checked by ParseLogParams (shared with the HTTPS API)
  bool include_archives = false;
};

// The text table of events: the six columns an auditor reads, one line per
// event in an 80-column terminal. Nothing is cut: a user id, address or
// path longer than its column continues on the next line in that column
// (TableWriter), and the header names the zone of the times.
Table EventsTextLayout() {
  Table t;
  t.columns = {"time", "user", "ip", "action", "resource", "result"};
  t.headers = {"TIME (" + TimeZoneName() + ")"};
  // One space between columns: a typical row (user@realm, IPv4, vm:shutdown,
  // /vms/100) then fits an 80-column terminal.
  t.gap = 1;
  t.width = kTextWidth;
  // The time and result never leave their column, nor do users up to 17
  // characters (admin@example.com) and most actions; the minimums leave 5
  // columns to spare (19 + 17 + 8 + 11 + 8 + 7 + 5 gaps = 75).
  t.min_width = {19, 17, 8, 11, 8, 7};
  return t;
}

// Streams the matching events to stdout. Returns the number written, or
// the store's error.
Result<uint64_t> WriteEvents(EventStore& store, const Filter& f, size_t limit, OutputFormat fmt,
                             OutputBuffer* out) {
  const bool text = fmt == OutputFormat::kText;
  if (text) {
    TableWriter w(EventsTextLayout(), fmt, out);
    std::string time;
    Status st;
    // The unknown user or address (and an event without a resource) is "-",
    // as every empty text cell.
    auto dash = [](const std::string& v) { return v.empty() ? std::string_view("-") : v; };
    st = ForEachEvent(store, f, limit, kFieldUser | kFieldIp | kFieldAction | kFieldResource,
                      [&](Event&& e) {
                        FormatLocalTo(e.time_us, &time);
                        const CellView row[] = {time,     dash(e.user),     dash(e.ip),
                                                e.action, dash(e.resource), OutcomeName(e.result)};
                        return w.Add(row);
                      });
    if (!st.ok()) return st;
    w.Finish();
    return w.rows();
  }
  return WriteEventRows(store, f, limit, fmt, out);
}

Table GroupsTable(const std::vector<GroupRow>& rows, GroupBy g, OutputFormat fmt) {
  Table t;
  const bool text = fmt == OutputFormat::kText;
  // Text shows each group's label ("- (192.0.2.12)" for the anonymous events
  // of one address); the other formats give the value ("" when unknown, as
  // in the events) and, grouping by user, the anonymous group's address.
  const bool anon_ip = !text && g == GroupBy::kUser;
  t.columns = {GroupByName(g), "count", "first", "last"};
  if (anon_ip) t.columns.insert(t.columns.begin() + 1, "ip");
  if (text) {
    t.headers = {"", "", "FIRST (" + TimeZoneName() + ")"};
    t.width = kTextWidth;
    t.min_width = {8, 5, 19, 19};
  }
  for (const GroupRow& r : rows) {
    std::vector<Cell> row = {text ? r.key : r.value, int64_t(r.count),
                             text ? FormatLocal(r.first_us) : FormatRfc3339Utc(r.first_us),
                             text ? FormatLocal(r.last_us) : FormatRfc3339Utc(r.last_us)};
    if (anon_ip) row.insert(row.begin() + 1, r.anonymous_ip);
    t.rows.push_back(std::move(row));
  }
  return t;
}

}  // namespace

CommandRun AddAccessLogCommand(CLI::App* access) {
  auto o = std::make_shared<LogOptions>();
  CLI::App* cmd = access->add_subcommand(
      "log", "Show access events (who did what, to which resource, from where, when, result)");
  cmd->add_option("--user", o->p.user,
                  "Only events of this user or API token (alice@pve, bob@pve!ci)")
      ->type_name("USERID");
  cmd->add_option("--start", o->p.start,
                  "From this time: YYYY-MM-DD, 'YYYY-MM-DD HH:MM[:SS]', RFC 3339, epoch seconds, "
                  "now, recent, today, yesterday, this-week, week-ago, this-month, this-year, or "
                  "a time of day HH:MM (with --end HH:MM: that window on every day)")
      ->type_name("TIME");
  cmd->add_option("--end", o->p.end,
                  "Until this time (exclusive); a date alone includes that whole day")
      ->type_name("TIME");
  cmd->add_option("--action", o->p.action,
                  "An action (vm:start), an object (vm = vm:*) or a class: login, power, create, "
                  "delete, config, modify, read, console, backup, migrate, session")
      ->type_name("ACTION");
  cmd->add_option("--resource", o->p.resource, "An ACL path; selects its subtree (/vms, /vms/100)")
      ->type_name("PATH");
  cmd->add_option("--failed", o->p.failed, "1: only failures; 0: only events that did not fail")
      ->type_name("0|1");
  cmd->add_option("--ip", o->p.ip, "Source address or CIDR range (192.0.2.0/24, 2001:db8::/32)")
      ->type_name("ADDR");
  cmd->add_option("--node", o->p.node, "Only events from this node")->type_name("NODE");
  cmd->add_option("--count", o->p.count,
                  "Instead of events, list each group (see --group-by) with at least N matching "
                  "events, with the count and the first and last time")
      ->type_name("N");
  cmd->add_option("--hour", o->p.hour,
                  "With --count: the N events must fall within some sliding window of H hours")
      ->type_name("H");
  cmd->add_option("--group-by", o->p.group_by,
                  "With --count: user (default), ip, resource or action")
      ->type_name("KEY");
  cmd->add_option("--limit", o->p.limit, "Show only the newest N events (default: all)")
      ->type_name("N");
  cmd->add_flag("--include-archives", o->include_archives,
                "Also read the archived months (retention moved them out of the store; "
                "docs/retention.md), merged in time order");
  AddCommonOptions(cmd, &o->common, true);
  cmd->footer(R"(
Examples:
  pveam access log --user admin@example.com --start 2025-01-01 --end 2025-01-31
  pveam access log --action login --failed 1
  pveam access log --failed 1 --count 5                 users with 5 or more failures
  pveam access log --action vm:create --count 10 --hour 1
  pveam access log --start 18:00 --end 08:00            off-hours activity, every day
  pveam access log --resource /vms/100 --output-format json
  pveam access log --user alice@pve --start 2019-03-01 --end 2019-04-01 --include-archives

Text output fits 80 columns: one line per event, times in the cluster time
zone (config 'timezone', else TZ), named in the header: TIME (UTC). Nothing
is cut: a value too long for its column (a long user id, IPv6 address or
path) shows a down arrow there and is printed whole under its row:
  TIME (UTC)          USER              IP         ACTION      RESOURCE RESULT
  2025-01-08 12:42:27 admin@example.com -          login       ↓        success
                      resource: /access/users/admin@example.com
JSON, CSV and YAML carry RFC 3339 UTC times and every field of the event.
An unknown user or address is '-' in text (as any empty text cell), "" in
JSON and YAML, and an empty cell in CSV; --count shows the group of events
without one the same way. Output is written as it is read: `| head` ends
the command quietly.)");

  return [o]() -> int {
    Env env = ResolveEnv(o->common);
    // Every argument is checked before the store is opened.
    auto req = ParseLogParams(o->p, NowUs(), "--");
    if (!req.ok()) throw UsageError{req.status().message()};
    const Filter& f = req->filter;
    const bool counting = req->counting;
    const size_t limit = req->limit;
    const CountSpec& spec = req->spec;
    if (f.action && !IsKnownActionSpec(*f.action)) {
      // Not an error (it simply matches nothing), but most likely a typo.
      std::vector<std::string> known = KnownActions();
      for (std::string_view c : ActionClassNames()) known.emplace_back(c);
      std::string hint = DidYouMean(*f.action, known);
      std::cerr << "note: '" << *f.action << "' is not a known action, object or class"
                << (hint.empty() ? std::string() : " (did you mean '" + hint + "'?)")
                << "; see docs/actions.md\n";
    }
    auto store = OpenStoreOrSpool(env);
    if (o->include_archives) {
      // Purged archives that overlap the query: said, never silently missing.
      if (auto recs = store->ListArchives(); recs.ok()) {
        int64_t from = INT64_MAX, to = INT64_MIN;
        for (const ArchiveRecord& r : *recs)
          if (r.purged_us && (!f.start_us || r.t_max_us >= *f.start_us) &&
              (!f.end_us || r.t_min_us < *f.end_us)) {
            from = std::min(from, r.t_min_us);
            to = std::max(to, r.t_max_us);
          }
        if (from <= to)
          std::cerr << "note: archived events from " << FormatLocal(from) << " to "
                    << FormatLocal(to)
                    << " were purged by the retention policy; those in the range cannot be "
                       "shown\n";
      }
      store = WithArchives(std::move(store), PolicyOrDie(env).archive_dir);
    }
    // A reader that goes away (`| head`) ends the output quietly: the write
    // fails with EPIPE instead of killing us, and reading the store stops.
    std::signal(SIGPIPE, SIG_IGN);
    OutputBuffer out(STDOUT_FILENO);
    uint64_t written = 0;
    if (counting) {
      auto rows = CountGroups(*store, f, spec);
      if (!rows.ok()) {
        std::cerr << "error: " << rows.status().message() << "\n";
        return kExitFailure;
      }
      if (limit && rows->size() > limit) rows->resize(limit);
      Table table = GroupsTable(*rows, spec.group_by, env.format);
      TableWriter w(table, env.format, &out, table.rows.size());
      for (const auto& row : table.rows) w.Add(row);
      w.Finish();
      written = w.rows();
    } else {
      auto n = WriteEvents(*store, f, limit, env.format, &out);
      if (!n.ok()) {
        out.Flush();
        std::cerr << "error: " << n.status().message() << "\n";
        return kExitFailure;
      }
      written = *n;
    }
    if (out.error() == EPIPE) return kExitOk;
    if (out.error() != 0) {
      std::cerr << "error: cannot write the output: " << std::strerror(out.error()) << "\n";
      return kExitFailure;
    }
    if (written == 0 && env.format == OutputFormat::kText)
      std::cerr << (counting ? "no group reaches the count\n" : "no matching events\n");
    return kExitOk;
  };
}

}  // namespace pveaudit
