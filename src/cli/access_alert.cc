// pveam access alert add|list|remove|enable|disable and pveam access
// alerts: the alert rules pveauditd applies (docs/alerts.md) and the
// alerts it fired. Rules live in the store's settings (key "alert.rules"),
// so every node's CLI sees the same ones; every change is recorded as an
// audit event (store/audited_setting.h) before it is written.
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>
#include <optional>

#include "admin/settings_ops.h"
#include "alert/alert_engine.h"
#include "alert/alert_rule.h"
#include "cli/cli_common.h"
#include "cli/commands.h"
#include "core/actions.h"
#include "core/host_name.h"
#include "core/time_spec.h"
#include "core/time_zone_name.h"
#include "query/log_query.h"
#include "store/audited_setting.h"

namespace pveaudit {
namespace {

template <typename Range>
std::string Join(const Range& items, const char* sep) {
  std::string s;
  for (const auto& i : items) {
    if (!s.empty()) s += sep;
    s += i;
  }
  return s;
}

// The stored rules and their text (nullopt: none stored yet).
struct Loaded {
  std::optional<std::string> text;
  AlertRuleSet set;
};

Loaded LoadRules(EventStore& store) {
  Loaded l;
  auto t = store.GetSetting(std::string(kAlertRulesKey));
  if (!t.ok()) {
    std::cerr << "error: " << t.status().message() << "\n";
    std::exit(kExitFailure);
  }
  l.text = *t;
  auto set = AlertRuleSetFromJson(l.text.value_or(""));
  if (!set.ok()) {
    std::cerr << "error: " << set.status().message() << "\n";
    std::exit(kExitFailure);
  }
  l.set = *set;
  return l;
}

Table RulesTable(const std::vector<AlertRule>& rules, OutputFormat fmt) {
  Table t;
  const bool text = fmt == OutputFormat::kText;
  if (text) {
    // The description names the type, threshold, window and filters.
    t.columns = {"id", "enabled", "rule"};
    t.width = kTextWidth;
  } else {
    t.columns = {"id",     "type", "enabled", "threshold", "window",    "cooldown", "group_by",
                 "notify", "user", "node",    "resource",  "ip",        "action",   "start",
                 "end",    "days", "from_id", "created",   "created_by"};
  }
  for (const AlertRule& r : rules) {
    std::string notify = Join(r.notify, ",");
    if (text) {
      t.rows.push_back({int64_t(r.id), std::string(r.enabled ? "yes" : "no"), DescribeRule(r)});
    } else {
      // Proxmox's API gives booleans as 0/1; durations are seconds.
      t.rows.push_back(
          {int64_t(r.id), std::string(AlertTypeName(r.type)), int64_t(r.enabled ? 1 : 0),
           int64_t(r.threshold), int64_t(r.window_us / 1000000), int64_t(r.cooldown_us / 1000000),
           r.group_by, notify, r.user, r.node, r.resource, r.ip, r.action, r.start, r.end, r.days,
           int64_t(r.from_id), r.created_us ? FormatRfc3339Utc(r.created_us) : std::string(),
           r.created_by});
    }
  }
  return t;
}

int Print(const Table& t, OutputFormat fmt) {
  std::string out = RenderTable(t, fmt);
  std::cout << out;
  return kExitOk;
}

// The options of add, as the shared validation takes them
// (admin/settings_ops.h).
struct AddOptions : AlertRuleOptions {
  CommonOptions common;
};

constexpr const char* kTypesHelp =
    "failed-login (N failed logins per user or address within W; default: 3 within 15m), "
    "brute-force-success (a successful login after N failures within W), action-rate "
    "(N actions matching --action within W), off-hours (any matching action between --start "
    "and --end), privilege-change (a change of ACLs, users, groups, roles, tokens, realms or "
    "TFA), new-ip (a login from an address not seen for that user within W, default 90d)";

CommandRun AddAlertAdd(CLI::App* alert) {
  auto o = std::make_shared<AddOptions>();
  CLI::App* cmd = alert->add_subcommand("add", "Add an alert rule");
  cmd->add_option("--type", o->type, kTypesHelp)->type_name("TYPE");
  cmd->add_option("--threshold", o->threshold,
                  "Fire at the Nth matching event within the window (default: 3 for logins, 10 "
                  "for action-rate, 1 otherwise)")
      ->type_name("N");
  cmd->add_option("--window", o->window,
                  "The window W, as 90s, 15m, 2h, 1d or 1w (default: 15m; 1h for action-rate; "
                  "90d for new-ip)")
      ->type_name("DURATION");
  cmd->add_option("--cooldown", o->cooldown,
                  "While a burst goes on, fire again only after this long (default: the window; "
                  "0 for privilege-change)")
      ->type_name("DURATION");
  cmd->add_option("--group-by", o->group_by,
                  "Count per user (default), ip, resource or action; failed-login and "
                  "brute-force-success: user or ip")
      ->type_name("KEY");
  cmd->add_option("--notify", o->notify,
                  "Send this rule's alerts only to these kinds of destination: syslog, webhook "
                  "(comma-separated; default: every destination). Alerts are stored either way")
      ->type_name("LIST");
  cmd->add_option("--user", o->user, "Only events of this user or API token")->type_name("USERID");
  cmd->add_option("--node", o->node, "Only events from this node")->type_name("NODE");
  cmd->add_option("--resource", o->resource, "Only events on this ACL path or below")
      ->type_name("PATH");
  cmd->add_option("--ip", o->ip, "Only events from this address or CIDR range")->type_name("ADDR");
  cmd->add_option("--action", o->action,
                  "Only this action, object or class (as pveam access log --action)")
      ->type_name("ACTION");
  cmd->add_option("--start", o->start, "off-hours: the daily window starts at HH:MM")
      ->type_name("HH:MM");
  cmd->add_option("--end", o->end, "off-hours: the daily window ends at HH:MM (exclusive)")
      ->type_name("HH:MM");
  cmd->add_option("--days", o->days,
                  "off-hours: only on these days (mon-fri, sat,sun; a window past midnight "
                  "belongs to the day it starts)")
      ->type_name("DAYS");
  AddCommonOptions(cmd, &o->common, true);
  cmd->footer(R"(
The rule applies to events stored from now on, in a running pveauditd within
2 seconds (no restart). The change is recorded as an audit event
(pveaudit:alert-add, who, before and after): see pveam access log --action
pveaudit.

Examples:
  pveam access alert add --type failed-login       3 failures within 15 minutes
  pveam access alert add --type failed-login --threshold 5 --window 10m \
      --group-by ip
  pveam access alert add --type brute-force-success
  pveam access alert add --type action-rate --action vm:create --threshold 10 \
      --window 1h
  pveam access alert add --type off-hours --start 18:00 --end 08:00 \
      --days mon-fri --action login
  pveam access alert add --type privilege-change --resource /
  pveam access alert add --type new-ip)");
  return [o]() -> int {
    Env env = ResolveEnv(o->common);
    CheckChange(BuildAlertRule(*o).status());  // before the store is opened
    auto store = OpenStoreOrDie(env, /*read_only=*/false);
    auto c = AddAlertRule(*store, LocalActor(), NodeNameOr(env.config.node), *o);
    CheckChange(c.status());
    const AlertRule& rule = c->rule;
    if (env.format == OutputFormat::kText) {
      std::cout << "alert rule " << rule.id << " added: " << DescribeRule(rule) << "\n";
      return kExitOk;
    }
    return Print(RulesTable({rule}, env.format), env.format);
  };
}

CommandRun AddAlertList(CLI::App* alert) {
  auto o = std::make_shared<CommonOptions>();
  CLI::App* cmd = alert->add_subcommand("list", "List the alert rules");
  AddCommonOptions(cmd, o.get(), true);
  cmd->footer(R"(
JSON gives one object per rule: id, type, enabled (1/0), threshold, window
and cooldown (seconds), group_by, notify, the filters (user, node, resource,
ip, action, start, end, days; "" when not set), from_id (the rule judges
events stored after it), created and created_by.

Example:
  pveam access alert list --output-format json)");
  return [o]() -> int {
    Env env = ResolveEnv(*o);
    auto store = OpenStoreOrDie(env, /*read_only=*/true);
    Loaded l = LoadRules(*store);
    if (l.set.rules.empty() && env.format == OutputFormat::kText) {
      std::cerr << "no alert rules (add one with 'pveam access alert add --type failed-login')\n";
      return kExitOk;
    }
    return Print(RulesTable(l.set.rules, env.format), env.format);
  };
}

// remove, enable, disable: one rule by id.
CommandRun AddAlertChange(CLI::App* alert, const std::string& verb, const std::string& what) {
  struct Options {
    CommonOptions common;
    std::string id;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = alert->add_subcommand(verb, what);
  cmd->add_option("id", o->id, "The rule's id (pveam access alert list)")
      ->required()
      ->type_name("ID");
  AddCommonOptions(cmd, &o->common, true);
  cmd->footer("\nRecorded as an audit event (pveaudit:alert-" + verb +
              ", who, before and after).\nJSON, CSV and YAML show the rule as pveam access alert "
              "list does (after the\nchange; for remove, the rule removed).\n\nExample:\n  pveam "
              "access alert " +
              verb + " 1");
  return [o, verb]() -> int {
    Env env = ResolveEnv(o->common);
    if (o->id.empty() || o->id.find_first_not_of("0123456789") != std::string::npos)
      throw UsageError{"invalid rule id '" + o->id +
                       "': expected a number from 'pveam access alert list'"};
    auto store = OpenStoreOrDie(env, /*read_only=*/false);
    auto c = ChangeAlertRule(*store, LocalActor(), NodeNameOr(env.config.node), verb, o->id);
    CheckChange(c.status());
    if (env.format != OutputFormat::kText)
      return Print(RulesTable({c->rule}, env.format), env.format);
    if (!c->changed)
      std::cout << "alert rule " << c->rule.id << " is already " << c->done << "\n";
    else
      std::cout << "alert rule " << c->rule.id << " " << c->done << "\n";
    return kExitOk;
  };
}

// ack: an alert acknowledged, as an audit event of its own.
CommandRun AddAlertAck(CLI::App* alert) {
  struct Options {
    CommonOptions common;
    std::string id, comment;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = alert->add_subcommand("ack", "Acknowledge a fired alert");
  cmd->add_option("id", o->id, "The alert's id (the ID column of pveam access alerts)")
      ->required()
      ->type_name("ID");
  cmd->add_option("--comment", o->comment,
                  "Why, or what was done (one line, at most 1024 bytes; no control characters)")
      ->type_name("TEXT");
  AddCommonOptions(cmd, &o->common, true);
  cmd->footer(R"(
The store is append-only, so the alert itself is not changed: the
acknowledgement is an audit event of its own (pveaudit:alert-ack: who, when,
the alert's id and the comment), and pveam access alerts shows it with the
alert. An alert is acknowledged once; a second ack is refused (exit 2) and
names who acknowledged it and when. An id that is not a fired alert is
refused (exit 2) and nothing is stored.

JSON, CSV and YAML give alert, event (the acknowledgement's id), by, time
and comment.

Examples:
  pveam access alerts
  pveam access alert ack 4711 --comment "known scanner, blocked at the edge")");
  return [o]() -> int {
    Env env = ResolveEnv(o->common);
    if (o->id.empty() || o->id.find_first_not_of("0123456789") != std::string::npos)
      throw UsageError{"invalid alert id '" + o->id +
                       "': expected the id of a fired alert (pveam access alerts)"};
    auto store = OpenStoreOrDie(env, /*read_only=*/false);
    auto r = AckAlert(*store, LocalActor(), NodeNameOr(env.config.node), o->id, o->comment,
                      AlertAckLockFile(env.data_dir));
    CheckChange(r.status());
    const AlertAck& a = r->ack;
    if (!r->acknowledged)
      throw UsageError{"alert " + o->id + " was already acknowledged by " + a.by + " at " +
                       FormatLocal(a.time_us) + " (event " + std::to_string(a.event_id) + ")"};
    if (env.format == OutputFormat::kText) {
      std::cout << "alert " << a.alert_id << " acknowledged (event " << a.event_id << ")\n";
      return kExitOk;
    }
    Table t;
    t.columns = {"alert", "event", "by", "time", "comment"};
    t.rows.push_back(
        {int64_t(a.alert_id), int64_t(a.event_id), a.by, FormatRfc3339Utc(a.time_us), a.comment});
    return Print(t, env.format);
  };
}

struct AlertsOptions {
  CommonOptions common;
  std::string start, end, rule, limit;
};

CommandRun AddAlerts(CLI::App* access) {
  auto o = std::make_shared<AlertsOptions>();
  CLI::App* cmd = access->add_subcommand("alerts", "List the alerts pveauditd fired");
  cmd->add_option("--start", o->start,
                  "From this time (as pveam access log --start: 2025-01-31, today, ...)")
      ->type_name("TIME");
  cmd->add_option("--end", o->end, "Until this time (exclusive)")->type_name("TIME");
  cmd->add_option("--rule", o->rule, "Only the alerts of this rule")->type_name("ID");
  cmd->add_option("--limit", o->limit, "Only the newest N alerts")->type_name("N");
  AddCommonOptions(cmd, &o->common, true);
  cmd->footer(R"(
A fired alert is an event in the hash-chained store (action alert:TYPE,
source pveaudit-alert, resource /pveaudit/alerts/RULE): it survives restarts
and cannot be quietly deleted; pveam access log --action alert shows the same
events. JSON carries the event fields of pveam access log (time is the event
time of the action that completed the burst) plus rule (the rule id),
events (the ids of the events that triggered it) and acknowledged: null, or
by, time, comment and event (the id of the pveaudit:alert-ack event) of
pveam access alert ack. Text shows who acknowledged it under ACKED BY; CSV
gives acknowledged_by, _time, _comment and _event.

Examples:
  pveam access alerts --start today
  pveam access alert ack 4711 --comment "blocked at the edge"
  pveam access alerts --rule 1 --output-format json)");
  return [o]() -> int {
    Env env = ResolveEnv(o->common);
    Filter f;
    f.action = "alert";
    int64_t now = NowUs();
    for (const auto& [text, flag, dst] :
         {std::tuple{&o->start, "--start", &f.start_us}, std::tuple{&o->end, "--end", &f.end_us}}) {
      if (text->empty()) continue;
      auto t = ParseTimeSpec(*text, now);
      if (!t.ok()) throw UsageError{std::string(flag) + ": " + t.status().message()};
      if (t->kind != TimeSpec::Kind::kInstant)
        throw UsageError{"invalid value '" + *text + "' for " + flag +
                         ": expected a date or time, not a time of day"};
      *dst = t->us;
    }
    if (f.start_us && f.end_us && *f.start_us >= *f.end_us)
      throw UsageError{"--start " + o->start + " is not before --end " + o->end};
    uint64_t rule = o->rule.empty() ? 0 : ParseCount("--rule", o->rule, 1);
    size_t limit = o->limit.empty() ? 0 : size_t(ParseCount("--limit", o->limit, 1));
    auto store = OpenStoreOrDie(env, /*read_only=*/true);
    std::vector<Event> alerts;
    // Straight from the store: no view joins an alert with another event,
    // and the store selects action "alert:*" by its index.
    Status st = store->Scan(f, kFieldAll, [&](const Event& e) {
      uint64_t id = AlertRuleId(e);
      if (id && (!rule || id == rule)) alerts.push_back(e);
      return true;
    });
    if (!st.ok()) {
      std::cerr << "error: " << st.message() << "\n";
      return kExitFailure;
    }
    if (limit && alerts.size() > limit) alerts.erase(alerts.begin(), alerts.end() - int64_t(limit));
    auto acks = LoadAlertAcks(*store);
    if (!acks.ok()) {
      std::cerr << "error: " << acks.status().message() << "\n";
      return kExitFailure;
    }
    auto ack_of = [&](const Event& e) -> const AlertAck* {
      auto it = acks->find(e.id);
      return it == acks->end() ? nullptr : &it->second;
    };
    std::signal(SIGPIPE, SIG_IGN);
    OutputBuffer out(STDOUT_FILENO);
    const bool text = env.format == OutputFormat::kText;
    const bool csv = env.format == OutputFormat::kCsv;
    // JSON and YAML nest "acknowledged" (null or an object); the table
    // writer has flat rows only, so it writes the event's fields and the
    // acknowledgement is added after (below). CSV flattens it.
    const bool nested = !text && !csv;
    Table layout;
    if (text) {
      // ID: what pveam access alert ack takes.
      layout.columns = {"id", "time", "rule", "alert", "user", "ip", "events", "acknowledged"};
      layout.headers = {
          "ID",      "TIME (" + TimeZoneName() + ")", "RULE", "ALERT", "USER", "IP", "EVENTS",
          "ACKED BY"};
      layout.gap = 1;
      layout.width = kTextWidth;
      layout.min_width = {2, 19, 4, 12, 12, 8, 6, 8};
    } else {
      layout.columns = {"id",       "time",   "node",   "user",   "ip",      "action",
                        "resource", "result", "status", "source", "session", "detail",
                        "origin",   "line",   "rule",   "events"};
      if (csv)
        for (const char* c :
             {"acknowledged_by", "acknowledged_time", "acknowledged_comment", "acknowledged_event"})
          layout.columns.push_back(c);
    }
    OutputBuffer mem;  // nested formats: the flat rows, completed below
    TableWriter w(layout, env.format, nested ? &mem : &out);
    std::vector<std::string> yaml_rows;
    for (const Event& e : alerts) {
      std::vector<std::string> ids;
      for (uint64_t id : AlertTriggerIds(e)) ids.push_back(std::to_string(id));
      std::string events = Join(ids, ",");
      const AlertAck* ack = ack_of(e);
      if (text) {
        std::string time = FormatLocal(e.time_us);
        std::string type = e.action.substr(e.action.find(':') + 1);
        auto dash = [](const std::string& v) { return v.empty() ? std::string_view("-") : v; };
        const CellView row[] = {int64_t(e.id),
                                time,
                                int64_t(AlertRuleId(e)),
                                type,
                                dash(e.user),
                                dash(e.ip),
                                events,
                                ack ? std::string_view(ack->by) : std::string_view("-")};
        if (!w.Add(row)) break;
      } else {
        std::string time = FormatRfc3339Utc(e.time_us);
        std::string ack_time = ack ? FormatRfc3339Utc(ack->time_us) : std::string();
        const CellView row[] = {int64_t(e.id),
                                time,
                                e.node,
                                e.user,
                                e.ip,
                                e.action,
                                e.resource,
                                OutcomeName(e.result),
                                e.status,
                                e.source,
                                e.session,
                                e.detail,
                                e.origin,
                                int64_t(e.origin_line),
                                int64_t(AlertRuleId(e)),
                                events,
                                ack ? CellView(std::string_view(ack->by)) : CellView(),
                                ack ? CellView(std::string_view(ack_time)) : CellView(),
                                ack ? CellView(std::string_view(ack->comment)) : CellView(),
                                ack ? CellView(int64_t(ack->event_id)) : CellView()};
        if (!w.Add(std::span<const CellView>(row, layout.columns.size()))) break;
        if (env.format == OutputFormat::kYaml) {
          // Each row's mapping ends where the next begins: the
          // acknowledgement is inserted there, indented under the row.
          std::string& b = mem.buffer();
          yaml_rows.push_back(std::move(b));
          b.clear();
          std::string& y = yaml_rows.back();
          if (!ack) {
            y += "  acknowledged: null\n";
          } else {
            Table t;
            t.columns = {"by", "time", "comment", "event"};
            t.rows.push_back({ack->by, ack_time, ack->comment, int64_t(ack->event_id)});
            std::string inner = RenderTable(t, OutputFormat::kYaml);  // "- by: ...\n  time: ..."
            y += "  acknowledged:\n";
            for (size_t pos = 0; pos < inner.size();) {
              size_t nl = inner.find('\n', pos);
              y += "    " + inner.substr(pos + 2, nl - pos - 1);
              pos = nl + 1;
            }
          }
        }
      }
    }
    w.Finish();
    if (env.format == OutputFormat::kYaml) {
      std::string& b = out.buffer();
      if (yaml_rows.empty()) b += "[]\n";
      for (const std::string& y : yaml_rows) b += y;
      out.Flush();
    } else if (nested) {
      // What the writer printed is byte for byte ordered_json's dump, so
      // parsing and dumping again keeps every other key as it was.
      auto rows = nlohmann::ordered_json::parse(mem.Take());
      for (auto& row : rows) {
        auto it = acks->find(row["id"].get<uint64_t>());
        nlohmann::ordered_json a = nullptr;
        if (it != acks->end()) a = nlohmann::ordered_json::parse(AlertAckJson(&it->second).dump());
        row["acknowledged"] = std::move(a);
      }
      const bool pretty = env.format == OutputFormat::kJsonPretty;
      out.buffer() +=
          rows.dump(pretty ? 4 : -1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) +
          "\n";
      out.Flush();
    }
    if (out.error() != 0 && out.error() != EPIPE) {
      std::cerr << "error: cannot write the output: " << std::strerror(out.error()) << "\n";
      return kExitFailure;
    }
    if (alerts.empty() && text) std::cerr << "no alerts\n";
    return kExitOk;
  };
}

}  // namespace

void AddAccessAlertCommands(CLI::App* access,
                            std::vector<std::pair<CLI::App*, CommandRun>>* commands) {
  CLI::App* alert = access->add_subcommand(
      "alert", "Alert rules (add, list, remove, enable, disable) and acknowledging alerts (ack)");
  alert->require_subcommand(0, 1);
  alert->allow_extras();
  alert->footer(R"(
pveauditd judges every new event against the enabled rules and stores each
alert that fires as an event (pveam access alerts). Semantics and types:
docs/alerts.md.

Examples:
  pveam access alert add --type failed-login
  pveam access alert list
  pveam access alert disable 1
  pveam access alert ack 4711 --comment "known scanner")");
  auto reg = [&](CLI::App* parent, CommandRun run) {
    CLI::App* cmd = parent->get_subcommands({}).back();
    cmd->allow_extras();
    commands->emplace_back(cmd, std::move(run));
  };
  reg(alert, AddAlertAdd(alert));
  reg(alert, AddAlertList(alert));
  reg(alert, AddAlertChange(alert, "remove", "Remove an alert rule"));
  reg(alert, AddAlertChange(alert, "enable", "Enable an alert rule"));
  reg(alert, AddAlertChange(alert, "disable", "Disable an alert rule (kept, not applied)"));
  reg(alert, AddAlertAck(alert));
  reg(access, AddAlerts(access));
}

}  // namespace pveaudit
