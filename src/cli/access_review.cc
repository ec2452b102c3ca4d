// pveam access review (a week's log reviewed: counts shown and recorded)
// and pveam access review list.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "core/host_name.h"
#include "core/time_spec.h"
#include "evidence/log_review.h"
#include "query/log_query.h"

namespace pveaudit {
namespace {

struct ReviewOptions {
  CommonOptions common;
  std::string week, by, note;
  bool show = false;
};

IsoWeek WeekOrThrow(const std::string& text, int64_t now) {
  IsoWeek w;
  if (text.empty()) throw UsageError{"--week YYYY-Www is required (e.g. 2026-W47, or 'last')"};
  if (text == "last") return IsoWeekOf(IsoWeekOf(now).start_us - 1);
  if (!ParseIsoWeek(text, &w))
    throw UsageError{"invalid value '" + text +
                     "' for --week: expected an ISO week YYYY-Www (e.g. 2026-W47) or 'last'"};
  if (w.start_us > now)
    throw UsageError{"invalid value '" + text + "' for --week: that week has not begun"};
  return w;
}

int RunReview(const ReviewOptions& o) {
  Env env = ResolveEnv(o.common);
  const int64_t now = NowUs();
  IsoWeek week = WeekOrThrow(o.week, now);
  if (o.note.size() > 1024)
    throw UsageError{"invalid value for --note: at most 1024 bytes (" +
                     std::to_string(o.note.size()) + " given)"};
  for (unsigned char ch : o.note)
    if (ch < 0x20 || ch == 0x7f)
      throw UsageError{"invalid value for --note: one line of text, no control characters"};
  if (env.format != OutputFormat::kText && env.format != OutputFormat::kJson &&
      env.format != OutputFormat::kJsonPretty)
    throw UsageError{"invalid value '" + o.common.output_format +
                     "' for --output-format: expected text, json or json-pretty"};
  const std::string reviewer = InvokingUser(o.by);
  WeekCounts c;
  {
    auto store = OpenStoreOrDie(env, /*read_only=*/true);
    auto r = CountWeek(*store, week);
    if (!r.ok()) {
      std::cerr << "error: " << r.status().message() << "\n";
      return kExitFailure;
    }
    c = *r;
  }
  uint64_t id = 0;
  if (!o.show) {
    auto w = OpenStoreOrDie(env, /*read_only=*/false);
    std::vector<Event> ev = {
        LogReviewEvent(week, c, reviewer, o.note, NodeNameOr(env.config.node), NowUs())};
    Status st = w->Append(&ev, {}, nullptr);
    if (!st.ok()) {
      std::cerr << "error: recording the review in the store: " << st.message() << "\n";
      return kExitFailure;
    }
    id = ev[0].id;
  }
  const std::string start = FormatLocal(week.start_us), end = FormatLocal(week.end_us);
  if (env.format != OutputFormat::kText) {
    nlohmann::ordered_json j = {{"week", week.Name()},
                                {"start", FormatRfc3339Utc(week.start_us)},
                                {"end", FormatRfc3339Utc(week.end_us)},
                                {"reviewer", reviewer},
                                {"events", c.events},
                                {"failed_logins", c.failed_logins},
                                {"alerts", c.alerts},
                                {"privilege_changes", c.privilege_changes},
                                {"off_hours", c.off_hours},
                                {"note", o.note},
                                {"recorded_id", id}};
    std::cout << (env.format == OutputFormat::kJsonPretty ? j.dump(4) : j.dump()) << "\n";
    return kExitOk;
  }
  const std::string range = "--start \"" + start + "\" --end \"" + end + "\"";
  std::printf("week %s (%s to %s, %s): %s events\n", week.Name().c_str(), start.c_str(),
              end.c_str(), env.config.timezone.empty() ? "local time" : env.config.timezone.c_str(),
              WithThousands(c.events).c_str());
  std::printf("  failed logins       %10s   pveam access log %s --action login --failed 1\n",
              WithThousands(c.failed_logins).c_str(), range.c_str());
  std::printf("  alerts fired        %10s   pveam access alerts %s\n",
              WithThousands(c.alerts).c_str(), range.c_str());
  std::printf("  privilege changes   %10s   of users, groups, roles, ACLs, tokens, TFA, realms\n",
              WithThousands(c.privilege_changes).c_str());
  std::printf("  off-hours actions   %10s   outside Mon-Fri 08:00-18:00, reads excluded\n",
              WithThousands(c.off_hours).c_str());
  if (o.show)
    std::printf("not recorded (--show); run without --show to record the review\n");
  else
    std::printf("recorded as event %llu (audit:log-review of %s by %s)\n",
                static_cast<unsigned long long>(id), week.Name().c_str(), reviewer.c_str());
  return kExitOk;
}

int RunReviewList(const CommonOptions& o) {
  Env env = ResolveEnv(o);
  auto store = OpenStoreOrSpool(env);
  Filter f;
  f.action = "audit:log-review";
  std::vector<LogReview> reviews;
  Status st = ForEachEvent(*store, f, 0, kFieldAll, [&](Event&& e) {
    LogReview r;
    if (ParseLogReview(e, &r)) reviews.push_back(std::move(r));
    return true;
  });
  if (!st.ok()) {
    std::cerr << "error: " << st.message() << "\n";
    return kExitFailure;
  }
  // Text: what fits 80 columns (the recorded date, not its time); the
  // other formats: everything.
  const bool text = env.format == OutputFormat::kText;
  Table t;
  if (text) {
    t.columns = {"week",   "reviewer", "recorded",  "failed",
                 "alerts", "changes",  "off_hours", "note"};
  } else {
    t.columns = {"id",        "week",          "reviewer", "recorded",
                 "events",    "failed_logins", "alerts",   "privilege_changes",
                 "off_hours", "note"};
  }
  for (const LogReview& r : reviews) {
    if (text)
      t.rows.push_back({r.week, r.reviewer, FormatLocal(r.time_us).substr(0, 10),
                        int64_t(r.counts.failed_logins), int64_t(r.counts.alerts),
                        int64_t(r.counts.privilege_changes), int64_t(r.counts.off_hours), r.note});
    else
      t.rows.push_back({int64_t(r.id), r.week, r.reviewer, FormatRfc3339Utc(r.time_us),
                        int64_t(r.counts.events), int64_t(r.counts.failed_logins),
                        int64_t(r.counts.alerts), int64_t(r.counts.privilege_changes),
                        int64_t(r.counts.off_hours), r.note});
  }
  if (env.format == OutputFormat::kText && t.rows.empty()) {
    std::printf("no weekly log review recorded (record one: pveam access review --week last)\n");
    return kExitOk;
  }
  t.width = kTextWidth;
  std::string out = RenderTable(t, env.format);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return kExitOk;
}

}  // namespace

void AddAccessReviewCommands(CLI::App* access,
                             std::vector<std::pair<CLI::App*, CommandRun>>* commands) {
  auto o = std::make_shared<ReviewOptions>();
  CLI::App* cmd = access->add_subcommand(
      "review", "Record that a week's log was reviewed, with the counts the reviewer saw");
  AddCommonOptions(cmd, &o->common, true);
  cmd->add_option("--week", o->week, "ISO week YYYY-Www (cluster time zone), or 'last' (required)");
  cmd->add_option("--by", o->by,
                  "The reviewer, recorded in the event (default: $SUDO_USER or $USER as user@pam)");
  cmd->add_option("--note", o->note, "One line: what was looked at, what was followed up");
  cmd->add_flag("--show", o->show, "Show the week's counts without recording a review");
  cmd->require_subcommand(0, 1);
  cmd->footer(R"(
Counts the week's events as 'pveam access log' shows them (Monday 00:00 to
the next Monday 00:00): failed logins, alerts fired, changes of users,
groups, roles, ACLs, tokens, TFA or realms, and actions other than reads
outside Monday-Friday 08:00-18:00; prints each with the command that lists
them, and records the review as an audit:log-review event (reviewer, week,
counts, note). Compliance checks report weeks without one.

Exit status: 0 recorded (or shown), 1 store error, 2 bad argument.

Examples:
  pveam access review --week last --show
  pveam access review --week 2026-W47 --by alice@pve --note "2 failed logins of bob: typo, confirmed"
  pveam access review list)");
  commands->emplace_back(cmd, [o] { return RunReview(*o); });

  auto l = std::make_shared<CommonOptions>();
  CLI::App* lc = cmd->add_subcommand("list", "List the recorded weekly log reviews, oldest first");
  AddCommonOptions(lc, l.get(), true);
  lc->footer(R"(
Example:
  pveam access review list --output-format json)");
  commands->emplace_back(lc, [l] { return RunReviewList(*l); });
}

}  // namespace pveaudit
