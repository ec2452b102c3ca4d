// pveam access rejected: the lines parsers could not use, kept aside.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "core/time_spec.h"
#include "core/time_zone_name.h"

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
Text output, within 80 columns: the time stored (in the cluster time zone),
line number and reason, and under them the file ("origin: ...") and the raw
line ("text: ...", cut at 100 characters; JSON, CSV and YAML carry it whole,
up to 4 KiB).

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
    auto store = OpenStoreOrSpool(env);
    auto rows = store->ListRejected(limit);
    if (!rows.ok()) {
      std::cerr << "error: " << rows.status().message() << "\n";
      return kExitFailure;
    }
    if (rows->empty() && env.format == OutputFormat::kText) {
      std::cerr << "no rejected lines\n";
      return kExitOk;
    }
    const bool text = env.format == OutputFormat::kText;
    Table t;
    t.columns = {"stored", "origin", "line", "reason", "text"};
    if (text) {
      // Within 80 columns: the time, line number and reason in columns, the
      // file (never cut) and the raw line (cut after two lines; JSON, CSV
      // and YAML have it whole) under them, as "origin: ..." and "text: ...".
      t.headers = {"STORED (" + TimeZoneName() + ")"};
      t.width = 80;
      t.min_width = {19, 0, 4, 12};
      t.own_line = {false, true, false, false, true};
      t.max_width = {0, 0, 0, 0, 2 * 50};
    }
    for (const RejectedLine& r : *rows)
      t.rows.push_back({text ? FormatLocal(r.stored_us) : FormatRfc3339Utc(r.stored_us), r.origin,
                        int64_t(r.line), r.reason, r.text});
    std::string out = RenderTable(t, env.format);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return kExitOk;
  };
}

}  // namespace pveaudit
