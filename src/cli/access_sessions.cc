// pveam access sessions: active (or past) sessions reconstructed from
// logins, renewals, activity and expiry (src/query/sessions.h).
#include <cstdio>
#include <iostream>
#include <map>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "core/time_spec.h"
#include "core/time_zone_name.h"
#include "query/sessions.h"

namespace pveaudit {

CommandRun AddAccessSessionsCommand(CLI::App* access) {
  struct Opts {
    CommonOptions common;
    std::string at, start, end, user;
    bool all = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = access->add_subcommand(
      "sessions",
      "Show active sessions (or, with --all, past ones) and concurrent sessions per user");
  cmd->add_option("--at", o->at, "Show the sessions active at this time (default: now)")
      ->type_name("TIME");
  cmd->add_flag("--all", o->all, "List every session that overlaps --start/--end");
  cmd->add_option("--start", o->start, "With --all: from this time (default: 24 hours ago)")
      ->type_name("TIME");
  cmd->add_option("--end", o->end, "With --all: until this time (default: now)")->type_name("TIME");
  cmd->add_option("--user", o->user, "Only this user's sessions")->type_name("USERID");
  AddCommonOptions(cmd, &o->common, true);
  cmd->footer(R"(
A session starts at a successful login, is extended by the user's activity
and ticket renewals on that node, and ends at logout or when its ticket
expires (2 hours after the last renewal; [daemon] session_lifetime).

Text output fits 80 columns: times are in the cluster time zone (named in
the START header); LAST and EXPIRES show only the time of day when they fall
on START's day; a long user or address continues on the next line in its
column. An unknown address is '-' in text, "" in JSON and YAML, an empty
cell in CSV.

Examples:
  pveam access sessions
  pveam access sessions --at '2025-01-15 10:00'
  pveam access sessions --all --start 2025-01-01 --end 2025-01-31 --user alice@pve)");
  return [o]() -> int {
    Env env = ResolveEnv(o->common);
    int64_t now = NowUs();
    auto instant = [&](const std::string& flag, const std::string& v, int64_t dflt) {
      if (v.empty()) return dflt;
      auto t = ParseTimeSpec(v, now);
      if (!t.ok()) throw UsageError{flag + ": " + t.status().message()};
      if (t->kind != TimeSpec::Kind::kInstant)
        throw UsageError{flag + ": expected a date and time, not a time of day"};
      return t->us;
    };
    if (!o->all && (!o->start.empty() || !o->end.empty()))
      throw UsageError{"--start/--end need --all (use --at for one moment)"};
    if (o->all && !o->at.empty()) throw UsageError{"--at and --all exclude each other"};
    SessionOptions so;
    so.lifetime_us = int64_t(env.config.session_lifetime_s) * 1000000;
    int64_t at = instant("--at", o->at, now);
    int64_t from = instant("--start", o->start, now - 24LL * 3600 * 1000000);
    int64_t to = instant("--end", o->end, now);
    if (o->all && from >= to) throw UsageError{"--start is not before --end"};
    auto store = OpenStoreOrSpool(env);
    auto sessions = o->all ? SessionsBetween(*store, from, to, so) : ActiveSessions(*store, at, so);
    if (!sessions.ok()) {
      std::cerr << "error: " << sessions.status().message() << "\n";
      return kExitFailure;
    }
    std::map<std::string, int64_t> per_user;
    for (const Session& s : *sessions) ++per_user[s.user];
    bool text = env.format == OutputFormat::kText;
    Table t;
    t.columns = {"user", "ip", "node", "start", "last", "expires"};
    if (!o->all) t.columns.push_back("concurrent");
    if (text) {
      // Within 80 columns: the zone is named once, LAST and EXPIRES show
      // only the time when on START's day, ids wrap in their column.
      t.headers = {"", "", "", "START (" + TimeZoneName() + ")"};
      t.gap = 1;
      t.width = 80;
      t.min_width = {8, 8, 4, 19, 8, 8, 10};
    }
    auto when = [&](int64_t us) { return text ? FormatLocal(us) : FormatRfc3339Utc(us); };
    // "2025-01-08 13:10:00" after a START of "2025-01-08 12:42:28" is "13:10:00".
    auto later = [&](int64_t us, const std::string& start) {
      std::string s = when(us);
      return text && s.compare(0, 11, start, 0, 11) == 0 ? s.substr(11) : s;
    };
    for (const Session& s : *sessions) {
      if (!o->user.empty() && s.user != o->user) continue;
      const std::string start = when(s.start_us);
      std::vector<Cell> row = {s.user.empty() && text ? std::string("-") : s.user,
                               s.ip.empty() && text ? std::string("-") : s.ip,
                               s.node,
                               start,
                               later(s.last_us, start),
                               later(s.expires_us, start)};
      if (!o->all) row.push_back(per_user[s.user]);
      t.rows.push_back(std::move(row));
    }
    if (t.rows.empty() && text) {
      std::cerr << (o->all ? "no sessions in that time range\n" : "no active sessions\n");
      return kExitOk;
    }
    std::string out = RenderTable(t, env.format);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return kExitOk;
  };
}

}  // namespace pveaudit
