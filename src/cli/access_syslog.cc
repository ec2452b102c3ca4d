// pveam access syslog: forward events to syslog servers (SIEM) in CEF or
// RFC 5424. Destinations live in the store (setting "export.syslog", name
// -> destination); pveauditd picks a change up within a second
// (src/daemon/export_runner.h). Every change is recorded as an audit event
// with who, before and after (store/audited_setting.h).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "admin/settings_ops.h"
#include "cli/cli_common.h"
#include "cli/commands.h"
#include "core/host_name.h"
#include "core/time_spec.h"
#include "export/export_loop.h"
#include "export/syslog_sink.h"
#include "store/audited_setting.h"

namespace pveaudit {
namespace {

constexpr const char* kSettingKey = "export.syslog";

// The options of --enable as the shared validation takes them
// (admin/settings_ops.h), and the command's own.
struct SyslogOptions : SyslogEnableOptions {
  CommonOptions common;
  bool enable = false, disable = false;
};

nlohmann::json LoadDestinations(EventStore& store) {
  auto v = store.GetSetting(kSettingKey);
  if (!v.ok()) {
    std::cerr << "error: " << v.status().message() << "\n";
    std::exit(kExitFailure);
  }
  if (!v->has_value() || (*v)->empty()) return nlohmann::json::object();
  auto j = nlohmann::json::parse(**v, nullptr, false);
  if (!j.is_object()) {
    std::cerr << "error: the stored setting " << kSettingKey << " is not a JSON object\n";
    std::exit(kExitFailure);
  }
  return j;
}

int Enable(const SyslogOptions& o, const Env& env) {
  CheckChange(CheckSyslogOptions(o));  // before the store is opened (or created)
  auto store = OpenStoreOrDie(env, /*read_only=*/false);
  auto c = EnableSyslog(*store, LocalActor(), NodeNameOr(env.config.node), o);
  CheckChange(c.status());
  std::printf("%s\n", c->message.c_str());
  return kExitOk;
}

int Disable(const SyslogOptions& o, const Env& env) {
  auto store = OpenStoreOrDie(env, /*read_only=*/false);
  auto c = DisableSyslog(*store, LocalActor(), NodeNameOr(env.config.node), o.name);
  CheckChange(c.status());
  std::printf("%s\n", c->message.c_str());
  return kExitOk;
}

int Show(const SyslogOptions& o, const Env& env) {
  auto store = OpenStoreOrDie(env, /*read_only=*/true);
  nlohmann::json all = LoadDestinations(*store);
  auto info = store->Info();
  const uint64_t last_id = info.ok() ? info->last_id : 0;
  // What the running daemon reports per destination (src/daemon).
  std::map<std::string, nlohmann::json> live;
  auto st = store->GetSetting("daemon.status");
  bool daemon_fresh = false;
  if (st.ok() && st->has_value()) {
    auto d = nlohmann::json::parse(**st, nullptr, false);
    if (d.is_object()) {
      auto t = ParseTimeSpec(d.value("updated", ""), NowUs());
      daemon_fresh = t.ok() && NowUs() - t->us < 10 * 1000000LL;
      for (const auto& x : d.value("destinations", nlohmann::json::array()))
        if (x.value("kind", "") == "syslog") live[x.value("destination", "")] = x;
    }
  }
  std::map<std::string, uint64_t> cursors;
  if (auto cs = store->ListConsumers(); cs.ok())
    for (const auto& c : *cs) cursors[c.name] = c.last_id;
  Table t;
  t.columns = {"name",   "state",  "server",      "port",  "protocol",  "format",
               "events", "cursor", "undelivered", "lag_s", "delivered", "last_error"};
  for (auto it = all.begin(); it != all.end(); ++it) {
    auto d = SyslogDestination::FromJson(it.key(), it.value());
    if (!d.ok()) {
      t.rows.push_back({it.key(), std::string("invalid"), std::string(), int64_t(0), std::string(),
                        std::string(), std::string(), int64_t(0), int64_t(0), int64_t(0),
                        int64_t(0), d.status().message()});
      continue;
    }
    const uint64_t cursor = cursors.count("syslog:" + it.key()) ? cursors["syslog:" + it.key()] : 0;
    const nlohmann::json* l = daemon_fresh && live.count(it.key()) ? &live[it.key()] : nullptr;
    std::string state = !d->enabled                          ? "disabled"
                        : !l                                 ? "waiting"
                        : l->value("last_error", "").empty() ? "ok"
                                                             : "failing";
    // The daemon's figure is up to a second old; the store's is exact.
    uint64_t undelivered = last_id > cursor ? last_id - cursor : 0;
    if (l) undelivered = std::min(undelivered, l->value("undelivered", uint64_t(0)));
    t.rows.push_back(
        {it.key(), state, d->server, int64_t(d->port), std::string(SyslogProtocolName(d->protocol)),
         std::string(SyslogFormatName(d->format)), std::string(EventSelectionName(d->events)),
         int64_t(cursor), int64_t(undelivered), l ? l->value("lag_s", int64_t(0)) : int64_t(0),
         l ? l->value("delivered", int64_t(0)) : int64_t(0),
         l ? l->value("last_error", "") : std::string()});
  }
  if (env.format == OutputFormat::kText && t.rows.empty()) {
    std::printf(
        "no syslog destination; add one with\n"
        "  pveam access syslog --enable --server syslog.example.com --port 514\n");
    return kExitOk;
  }
  if (env.format == OutputFormat::kText) {
    // Within 80 columns: the destination on one cell, errors below.
    Table n;
    n.columns = {"name", "state", "destination", "cursor", "unsent", "lag_s"};
    std::string errors;
    for (const auto& r : t.rows) {
      auto str = [&](size_t i) { return std::get<std::string>(r[i]); };
      std::string dest = str(4) + "://" + str(2) + ":" + std::to_string(std::get<int64_t>(r[3])) +
                         " " + str(5) + " " + str(6);
      n.rows.push_back({str(0), str(1), dest, r[7], r[8], r[9]});
      if (!str(11).empty()) errors += str(0) + ": " + str(11) + "\n";
    }
    std::string out = RenderTable(n, env.format);
    std::fwrite(out.data(), 1, out.size(), stdout);
    if (!errors.empty()) std::printf("\nlast errors:\n%s", errors.c_str());
    if (!daemon_fresh && !n.rows.empty())
      std::printf("\npveauditd is not running: nothing is sent until it runs (waiting).\n");
    return kExitOk;
  }
  std::string out = RenderTable(t, env.format);
  std::fwrite(out.data(), 1, out.size(), stdout);
  (void)o;
  return kExitOk;
}

}  // namespace

CommandRun AddAccessSyslogCommand(CLI::App* access) {
  auto o = std::make_shared<SyslogOptions>();
  CLI::App* cmd = access->add_subcommand(
      "syslog", "Forward events to syslog servers (SIEM) in CEF or RFC 5424, and show them");
  AddCommonOptions(cmd, &o->common, true);
  cmd->add_flag("--enable", o->enable, "Add a destination, or change and enable one");
  cmd->add_flag("--disable", o->disable, "Stop sending to a destination (kept, with its position)");
  cmd->add_option("--name", o->name, "Destination name (default: default)")->type_name("NAME");
  cmd->add_option("--server", o->server, "Syslog server: host name or IP address")
      ->type_name("HOST");
  cmd->add_option("--port", o->port, "Port (default: 514; 6514 for tls)")->type_name("PORT");
  cmd->add_option("--protocol", o->protocol,
                  "udp (RFC 3164 header), tcp or tls (RFC 5424, octet counting); default: udp")
      ->type_name("PROTO");
  cmd->add_option("--format", o->format, "cef (ArcSight CEF, default) or rfc5424")
      ->type_name("FORMAT");
  cmd->add_option("--events", o->events,
                  "all (default), alerts (alert:* events) or failed (failures and alerts)")
      ->type_name("WHICH");
  cmd->add_option("--ca", o->ca,
                  "tls: CA certificates (PEM) that sign the server's certificate "
                  "(default: the system's CAs)")
      ->type_name("FILE");
  cmd->add_option("--cert", o->cert, "tls: client certificate (PEM), with --key")
      ->type_name("FILE");
  cmd->add_option("--key", o->key, "tls: the client certificate's private key (PEM)")
      ->type_name("FILE");
  cmd->add_option("--hold", o->hold,
                  "Seconds an event is held for a log line that may still join it "
                  "(default: 40; 0 = send at once)")
      ->type_name("SECONDS");
  cmd->add_flag("--from-start", o->from_start,
                "A new destination gets every stored event, not only new ones");
  cmd->footer(R"(
Without --enable or --disable, shows each destination: state, cursor (id of
the last event sent), undelivered events, lag in seconds, events delivered
since pveauditd started and the last error. pveauditd applies a change
within a second; every change is recorded as an audit event
(pveaudit:syslog-enable, pveaudit:syslog-disable) with who, before and after.

Delivery is at least once: an event counts as sent once the server took it
(TCP, TLS: written; UDP: sent, syslog has no acknowledgement). While a
server is down, events wait in the store and are sent when it is back.
A new destination starts with the events stored from now on.

What is sent is what 'pveam access log' shows: one action, one event (a
failed login's auth line and its ticket request are sent as one). An event
that a log line yet to come may still join is held --hold seconds (default
40) unless newer events have passed it; alerts are sent at once.
TLS verifies the server's certificate and name; there is no option to
turn that off.

Exit status: 0; 2 for a bad argument (nothing is changed); 1 when the store
cannot be written.

Examples:
  pveam access syslog --enable --server syslog.example.com --port 514
  pveam access syslog --enable --name siem --server siem.example.com \
      --protocol tls --ca /etc/pveaudit/siem-ca.pem --events failed
  pveam access syslog --disable --name siem
  pveam access syslog --output-format json)");
  return [o, cmd]() -> int {
    Env env = ResolveEnv(o->common);
    CheckChange(CheckDestinationName(o->name));
    if (o->enable && o->disable) throw UsageError{"--enable and --disable exclude each other"};
    if (!o->enable) {
      for (const char* flag : {"--server", "--port", "--protocol", "--format", "--events", "--ca",
                               "--cert", "--key", "--hold", "--from-start"})
        if (cmd->count(flag)) throw UsageError{std::string(flag) + " needs --enable"};
    }
    if (o->enable) return Enable(*o, env);
    if (o->disable) return Disable(*o, env);
    return Show(*o, env);
  };
}

}  // namespace pveaudit
