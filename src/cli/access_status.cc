// pveam access status: the store and, when pveauditd runs, its sources.
// Whether pveauditd is running is checked, not taken from its last status:
// its pid must be alive and be a pveauditd, and the status it rewrites
// every second must be recent. Exit 3 (like `systemctl status` of an
// inactive unit) when a daemon that ran against this store is not running
// now; a store only ever fed by `pveam access import` exits 0.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "core/host_name.h"
#include "core/time_spec.h"

namespace pveaudit {
namespace {

constexpr int kExitNotRunning = 3;
// The daemon rewrites its status every second; a minute without one means
// it is stuck (e.g. the store cannot be written) even if its pid lives.
constexpr int64_t kStaleUs = 60 * 1000000LL;

std::string BaseName(std::string s) {
  const std::string deleted = " (deleted)";  // the binary was replaced (upgrade)
  if (s.size() > deleted.size() &&
      s.compare(s.size() - deleted.size(), deleted.size(), deleted) == 0)
    s.resize(s.size() - deleted.size());
  auto slash = s.rfind('/');
  return slash == std::string::npos ? s : s.substr(slash + 1);
}

// The program running as `pid`, "" when there is no such process. The
// executable's name when we may read it (same user or root), else argv[0]
// from /proc/PID/cmdline (readable by everyone).
std::string ProgramOf(long pid) {
  if (pid <= 0 || (kill(pid_t(pid), 0) != 0 && errno == ESRCH)) return "";
  const std::string proc = "/proc/" + std::to_string(pid);
  char buf[4096];
  ssize_t n = readlink((proc + "/exe").c_str(), buf, sizeof buf - 1);
  if (n > 0) return BaseName(std::string(buf, size_t(n)));
  std::ifstream in(proc + "/cmdline", std::ios::binary);
  std::string argv0;
  std::getline(in, argv0, '\0');
  if (!argv0.empty()) return BaseName(argv0);
  std::ifstream comm(proc + "/comm");
  std::string name;
  std::getline(comm, name);
  return name.empty() ? "?" : name;
}

struct DaemonState {
  std::string state;   // "running", "not running", "stalled", "not started"
  std::string detail;  // why, for people
  int exit_code = kExitOk;
};

DaemonState CheckDaemon(const nlohmann::json& daemon) {
  if (!daemon.is_object()) return {"not started", "has not run against this store", kExitOk};
  const long pid =
      daemon.value("pid", nlohmann::json()).is_number_integer() ? daemon["pid"].get<long>() : 0;
  const std::string updated = daemon.value("updated", "");
  auto t = ParseTimeSpec(updated, NowUs());
  const int64_t age_us = t.ok() ? NowUs() - t->us : INT64_MAX;
  const std::string seen = "last seen " + (updated.empty() ? std::string("never") : updated);
  const std::string prog = ProgramOf(pid);
  if (prog.empty())
    return {"not running", seen + "; pid " + std::to_string(pid) + " has exited", kExitNotRunning};
  if (prog != "pveauditd")
    return {"not running",
            seen + "; pid " + std::to_string(pid) + " is now '" + prog + "', not pveauditd",
            kExitNotRunning};
  if (age_us > kStaleUs)
    return {"stalled",
            "pid " + std::to_string(pid) + " is alive but has not updated its status for " +
                std::to_string(age_us / 1000000) + " s (" + seen +
                "); is the store writable? see its log",
            kExitNotRunning};
  return {"running", "pid " + std::to_string(pid) + ", updated " + updated, kExitOk};
}

}  // namespace

CommandRun AddAccessStatusCommand(CLI::App* access) {
  auto o = std::make_shared<CommonOptions>();
  CLI::App* cmd =
      access->add_subcommand("status",
                             "Show the store's size, time range and chain head, and whether "
                             "pveauditd is running");
  AddCommonOptions(cmd, o.get(), true);
  cmd->footer(R"(
Exit status: 0, or 3 when a pveauditd that ran against this store is not
running now (its pid has exited or is another program) or has not updated
its status for a minute. A store only fed by 'pveam access import' exits 0.)");
  return [o]() -> int {
    Env env = ResolveEnv(*o);
    bool spool_only = false;
    auto store = OpenStoreOrSpool(env, &spool_only);
    auto info = store->Info();
    if (!info.ok()) {
      std::cerr << "error: " << info.status().message() << "\n";
      return kExitFailure;
    }
    Table t;
    t.columns = {"key", "value"};
    auto add = [&](const char* k, Cell v) { t.rows.push_back({std::string(k), std::move(v)}); };
    add("data_dir", env.data_dir);
    if (env.store.postgres())
      add("store", spool_only
                       ? "this node's local spool (" + env.store.Describe() + " does not answer)"
                       : env.store.Describe());
    add("events", int64_t(info->events));
    add("last_id", int64_t(info->last_id));
    add("first_time", info->events ? FormatRfc3339Utc(info->first_time_us) : std::string());
    add("last_time", info->events ? FormatRfc3339Utc(info->last_time_us) : std::string());
    add("bytes_on_disk", int64_t(info->bytes_on_disk));
    add("rejected_lines", int64_t(info->rejected_lines));
    add("chain_head", info->head_hash);
    // The daemon publishes its sources every second (see src/daemon).
    auto status = store->GetSetting(DaemonStatusKey(env.store, NodeNameOr(env.config.node)));
    nlohmann::json daemon;
    if (status.ok() && status->has_value())
      daemon = nlohmann::json::parse(**status, nullptr, false);
    const DaemonState ds = CheckDaemon(daemon);
    if (env.format != OutputFormat::kText) {
      add("daemon_state", ds.state);
      add("daemon_detail", ds.detail);
      nlohmann::ordered_json j;
      for (const auto& row : t.rows) {
        const std::string& k = std::get<std::string>(row[0]);
        if (const auto* v = std::get_if<int64_t>(&row[1]))
          j[k] = *v;
        else
          j[k] = std::get<std::string>(row[1]);
      }
      j["daemon"] = daemon.is_object() ? nlohmann::ordered_json::parse(daemon.dump())
                                       : nlohmann::ordered_json();
      if (env.format == OutputFormat::kJsonPretty)
        std::cout << j.dump(4) << "\n";
      else if (env.format == OutputFormat::kJson)
        std::cout << j.dump() << "\n";
      else {
        std::string out = RenderTable(t, env.format);
        std::fwrite(out.data(), 1, out.size(), stdout);
      }
      return ds.exit_code;
    }
    std::string out = RenderTable(t, env.format);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::printf("\npveauditd: %s (%s)%s\n", ds.state.c_str(), ds.detail.c_str(),
                ds.state != "running"            ? ""
                : !daemon.value("healthy", true) ? " (store errors: retrying)"
                : !daemon.value("caught_up", true)
                    ? " (catching up: its sources are being read a first time)"
                    : "");
    if (daemon.is_object()) {
      if (ds.state != "running") std::printf("as last seen:\n");
      Table s;
      // cursor: bytes of the live file stored (for the journal: entries).
      s.columns = {"source", "path",   "state",        "cursor",   "lag_bytes",
                   "lag_s",  "events", "events_per_s", "rejected", "last_event"};
      for (const auto& src : daemon.value("sources", nlohmann::json::array()))
        s.rows.push_back({src.value("name", ""), src.value("path", ""),
                          src.value("ok", false) ? std::string("ok") : src.value("error", ""),
                          src.value("offset", int64_t(0)), src.value("lag_bytes", int64_t(0)),
                          src.value("lag_s", int64_t(0)), src.value("events", int64_t(0)),
                          src.value("events_per_s", int64_t(0)), src.value("rejected", int64_t(0)),
                          src.value("last_event", "")});
      std::string so = RenderTable(s, OutputFormat::kText);
      std::fwrite(so.data(), 1, so.size(), stdout);
      // The syslog listener's refused senders (docs/syslog-listener.md).
      for (const auto& src : daemon.value("sources", nlohmann::json::array())) {
        if (!src.contains("peers_rejected")) continue;
        std::printf(
            "%s listener: %s received, %s TLS handshakes failed, %s peers rejected, "
            "%s node-name mismatches\n",
            src.value("name", "").c_str(),
            WithThousands(src.value("received", uint64_t(0))).c_str(),
            WithThousands(src.value("tls_handshakes_failed", uint64_t(0))).c_str(),
            WithThousands(src.value("peers_rejected", uint64_t(0))).c_str(),
            WithThousands(src.value("node_mismatches", uint64_t(0))).c_str());
        if (!src.value("last_tls_error", "").empty())
          std::printf("  last TLS failure: %s\n", src.value("last_tls_error", "").c_str());
      }
      if (daemon.contains("writer")) {  // the one writer (store/group_commit.h)
        const nlohmann::json& w = daemon["writer"];
        std::printf("writer: %s events in %s batches, %s transactions, %s failed\n",
                    WithThousands(w.value("events", uint64_t(0))).c_str(),
                    WithThousands(w.value("batches", uint64_t(0))).c_str(),
                    WithThousands(w.value("commits", uint64_t(0))).c_str(),
                    WithThousands(w.value("failed", uint64_t(0))).c_str());
      }
      // The local spool of a node whose cluster database was away
      // (store/spooling_store.h).
      if (daemon.contains("spool")) {
        const nlohmann::json& sp = daemon["spool"];
        const uint64_t n = sp.value("events", uint64_t(0));
        if (n > 0 || sp.value("spooling", false))
          std::printf("spool: %s events not yet forwarded%s, %s bytes; %s\n",
                      WithThousands(n).c_str(),
                      n ? (", the oldest of " + sp.value("oldest", std::string())).c_str() : "",
                      WithThousands(sp.value("bytes", uint64_t(0))).c_str(),
                      sp.value("database_up", false)
                          ? "the database answers again: forwarding"
                          : ("the database does not answer since " + sp.value("since", "") +
                             (sp.value("error", "").empty() ? "" : ": " + sp.value("error", "")))
                                .c_str());
        else
          std::printf("spool: empty (%s forwarded since start)\n",
                      WithThousands(sp.value("forwarded", uint64_t(0))).c_str());
      }
      // A store the cluster shares: whether this node runs the consumers.
      if (daemon.contains("lead"))
        std::printf("node %s: %s\n", daemon.value("node", "").c_str(),
                    daemon.value("lead", false)
                        ? "runs the alert engine and exports for the cluster"
                        : "another node runs the alert engine and exports");
      // The alert engine (src/daemon/alert_runner.h): how far it has judged.
      if (daemon.contains("alerts") && daemon["alerts"].is_object()) {
        const nlohmann::json& a = daemon["alerts"];
        const uint64_t cursor = a.value("cursor", uint64_t(0));
        const uint64_t last = info->last_id;
        std::printf("alerts: %s rules, %s fired since start, judged up to event %s (%s behind)%s\n",
                    WithThousands(a.value("rules", uint64_t(0))).c_str(),
                    WithThousands(a.value("fired", uint64_t(0))).c_str(),
                    WithThousands(cursor).c_str(),
                    WithThousands(last > cursor ? last - cursor : 0).c_str(),
                    a.value("error", "").empty()
                        ? ""
                        : (": failing: " + a.value("error", std::string())).c_str());
      }
      // [export] monthly (docs/evidence.md).
      if (daemon.contains("monthly_export") && daemon["monthly_export"].is_object()) {
        const nlohmann::json& m = daemon["monthly_export"];
        const std::string last = m.value("last_month", ""), err = m.value("error", "");
        std::printf("monthly export to %s: %s%s\n", m.value("dir", "").c_str(),
                    last.empty() ? "nothing written since start"
                                 : (last + " written since start (" +
                                    WithThousands(m.value("last_events", uint64_t(0))) + " events)")
                                       .c_str(),
                    err.empty() ? "" : ("; failing: " + err).c_str());
      }
      // [retention] (docs/retention.md).
      if (daemon.contains("retention") && daemon["retention"].is_object()) {
        const nlohmann::json& r = daemon["retention"];
        const std::string last = r.value("last_run", ""), err = r.value("error", "");
        std::printf("retention: %s; %s%s\n", r.value("policy", "").c_str(),
                    last.empty()
                        ? "not run since start"
                        : ("last run " + last + ", since start " +
                           WithThousands(r.value("archived", uint64_t(0))) + " archived, " +
                           WithThousands(r.value("purged", uint64_t(0))) + " purged")
                              .c_str(),
                    err.empty() ? "" : ("; failing: " + err).c_str());
      }
      // The web server pveauditd runs (docs/web.md).
      if (daemon.contains("web") && daemon["web"].is_object()) {
        const nlohmann::json& w = daemon["web"];
        const std::string err = w.value("error", "");
        const int64_t pid = w.value("pid", int64_t(0));
        if (!err.empty())
          std::printf("web: not running: %s\n", err.c_str());
        else if (pid > 0)
          std::printf("web: pveaudit-web (pid %lld) on https://%s, %s\n",
                      static_cast<long long>(pid), w.value("listen", "").c_str(),
                      w.value("starts", uint64_t(0)) == 1
                          ? "started once"
                          : ("started " + WithThousands(w.value("starts", uint64_t(0))) +
                             " times (it exited: " + w.value("last_exit", std::string()) + ")")
                                .c_str());
        else
          std::printf("web: restarting (last: %s)\n", w.value("last_exit", "").c_str());
      }
      // Export destinations (src/daemon/export_runner.h): what waits for each.
      const nlohmann::json dests = daemon.value("destinations", nlohmann::json::array());
      if (!dests.empty()) {
        Table d;
        d.columns = {"destination", "state", "cursor", "undelivered", "lag_s", "delivered"};
        std::string errors;
        for (const auto& x : dests) {
          const std::string name = x.value("kind", "") + ":" + x.value("destination", "");
          const std::string err = x.value("last_error", "");
          d.rows.push_back({name,
                            !x.value("enabled", true) ? std::string("disabled")
                            : err.empty()             ? std::string("ok")
                                                      : std::string("failing"),
                            x.value("cursor", int64_t(0)), x.value("undelivered", int64_t(0)),
                            x.value("lag_s", int64_t(0)), x.value("delivered", int64_t(0))});
          if (!err.empty()) errors += name + ": " + err + "\n";
        }
        std::printf("\n");
        std::string dout = RenderTable(d, OutputFormat::kText);
        std::fwrite(dout.data(), 1, dout.size(), stdout);
        std::fwrite(errors.data(), 1, errors.size(), stdout);
      }
    }
    return ds.exit_code;
  };
}

}  // namespace pveaudit
