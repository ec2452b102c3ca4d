// pveam access verify / pveam access status.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "core/time_spec.h"

namespace pveaudit {

CommandRun AddAccessVerifyCommand(CLI::App* access) {
  auto o = std::make_shared<CommonOptions>();
  CLI::App* cmd = access->add_subcommand(
      "verify", "Recompute the hash chain over every stored event and report the first broken one");
  AddCommonOptions(cmd, o.get(), true);
  cmd->footer(R"(
Exit status: 0 when the chain is intact, 1 when an event was edited, deleted,
inserted or the tail truncated (the first broken event and why are printed).

Example:
  pveam access verify)");
  return [o]() -> int {
    Env env = ResolveEnv(*o);
    auto store = OpenStoreOrDie(env, /*read_only=*/true);
    Progress progress("verifying");
    auto r = store->Verify([&](uint64_t done, uint64_t total) { progress.Update(done, total); });
    progress.Done();
    if (!r.ok()) {
      std::cerr << "error: " << r.status().message() << "\n";
      return kExitFailure;
    }
    if (env.format != OutputFormat::kText) {
      Table t;
      t.columns = {"intact", "events", "first_bad_id", "reason", "head"};
      t.rows.push_back({int64_t(r->intact), int64_t(r->events_checked), int64_t(r->first_bad_id),
                        r->reason, r->head_hash});
      std::string out = RenderTable(t, env.format);
      std::fwrite(out.data(), 1, out.size(), stdout);
    } else if (r->intact) {
      std::printf("OK: %s events, hash chain intact, head %s\n",
                  WithThousands(r->events_checked).c_str(), r->head_hash.c_str());
    } else {
      std::printf("BROKEN: %s\n", r->reason.c_str());
      std::printf("checked %s events before the break\n", WithThousands(r->events_checked).c_str());
    }
    return r->intact ? kExitOk : kExitFailure;
  };
}

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
      s.columns = {"source", "path",         "state",    "lag_bytes",
                   "events", "events_per_s", "rejected", "last_event"};
      for (const auto& src : daemon.value("sources", nlohmann::json::array()))
        s.rows.push_back({src.value("name", ""), src.value("path", ""),
                          src.value("ok", false) ? std::string("ok") : src.value("error", ""),
                          src.value("lag_bytes", int64_t(0)), src.value("events", int64_t(0)),
                          src.value("events_per_s", int64_t(0)), src.value("rejected", int64_t(0)),
                          src.value("last_event", "")});
      std::string so = RenderTable(s, OutputFormat::kText);
      std::fwrite(so.data(), 1, so.size(), stdout);
    } else {
      std::printf("\npveauditd: has not run against this store\n");
    }
    return kExitOk;
  };
}

}  // namespace pveaudit

namespace pveaudit {

CommandRun AddAccessRejectedCommand(CLI::App* access) {
  struct Opts {
    CommonOptions common;
    std::string limit;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = access->add_subcommand(
      "rejected",
      "Show log lines that could not be parsed (kept aside with file, line and reason)");
  cmd->add_option("--limit", o->limit, "Show only the newest N lines (default: all)")
      ->type_name("N");
  AddCommonOptions(cmd, &o->common, true);
  cmd->footer(R"(
Example:
  pveam access rejected --limit 20)");
  return [o]() -> int {
    Env env = ResolveEnv(o->common);
    size_t limit = 0;
    if (!o->limit.empty()) {
      if (o->limit.find_first_not_of("0123456789") != std::string::npos || o->limit.size() > 9 ||
          std::stoul(o->limit) == 0)
        throw UsageError{"invalid value '" + o->limit +
                         "' for --limit: expected a whole number >= 1"};
      limit = std::stoul(o->limit);
    }
    auto store = OpenStoreOrDie(env, /*read_only=*/true);
    auto rows = store->ListRejected(limit);
    if (!rows.ok()) {
      std::cerr << "error: " << rows.status().message() << "\n";
      return kExitFailure;
    }
    if (rows->empty() && env.format == OutputFormat::kText) {
      std::cerr << "no rejected lines\n";
      return kExitOk;
    }
    Table t;
    t.columns = {"stored", "origin", "line", "reason", "text"};
    t.max_width = {0, 40, 0, 50, 60};
    for (const RejectedLine& r : *rows)
      t.rows.push_back({env.format == OutputFormat::kText ? FormatLocal(r.stored_us)
                                                          : FormatRfc3339Utc(r.stored_us),
                        r.origin, int64_t(r.line), r.reason, r.text});
    std::string out = RenderTable(t, env.format);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return kExitOk;
  };
}

}  // namespace pveaudit
