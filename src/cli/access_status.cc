// pveam access status: the store and, when pveauditd runs, its sources.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "core/time_spec.h"

namespace pveaudit {

CommandRun AddAccessStatusCommand(CLI::App* access) {
  auto o = std::make_shared<CommonOptions>();
  CLI::App* cmd =
      access->add_subcommand("status", "Show the store's size, time range and chain head");
  AddCommonOptions(cmd, o.get(), true);
  return [o]() -> int {
    Env env = ResolveEnv(*o);
    auto store = OpenStoreOrDie(env, /*read_only=*/true);
    auto info = store->Info();
    if (!info.ok()) {
      std::cerr << "error: " << info.status().message() << "\n";
      return kExitFailure;
    }
    Table t;
    t.columns = {"key", "value"};
    auto add = [&](const char* k, Cell v) { t.rows.push_back({std::string(k), std::move(v)}); };
    add("data_dir", env.data_dir);
    add("events", int64_t(info->events));
    add("last_id", int64_t(info->last_id));
    add("first_time", info->events ? FormatRfc3339Utc(info->first_time_us) : std::string());
    add("last_time", info->events ? FormatRfc3339Utc(info->last_time_us) : std::string());
    add("bytes_on_disk", int64_t(info->bytes_on_disk));
    add("rejected_lines", int64_t(info->rejected_lines));
    add("chain_head", info->head_hash);
    // The daemon publishes its sources every second (see src/daemon).
    auto status = store->GetSetting("daemon.status");
    nlohmann::json daemon;
    if (status.ok() && status->has_value())
      daemon = nlohmann::json::parse(**status, nullptr, false);
    if (env.format != OutputFormat::kText) {
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
      return kExitOk;
    }
    std::string out = RenderTable(t, env.format);
    std::fwrite(out.data(), 1, out.size(), stdout);
    if (daemon.is_object()) {
      std::printf("\npveauditd: pid %s, updated %s%s\n",
                  daemon.value("pid", nlohmann::json()).dump().c_str(),
                  daemon.value("updated", "").c_str(),
                  daemon.value("healthy", true) ? "" : " (store errors: retrying)");
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
      if (daemon.contains("writer")) {  // the one writer (store/group_commit.h)
        const nlohmann::json& w = daemon["writer"];
        std::printf("writer: %s events in %s batches, %s transactions, %s failed\n",
                    WithThousands(w.value("events", uint64_t(0))).c_str(),
                    WithThousands(w.value("batches", uint64_t(0))).c_str(),
                    WithThousands(w.value("commits", uint64_t(0))).c_str(),
                    WithThousands(w.value("failed", uint64_t(0))).c_str());
      }
    } else {
      std::printf("\npveauditd: has not run against this store\n");
    }
    return kExitOk;
  };
}

}  // namespace pveaudit
