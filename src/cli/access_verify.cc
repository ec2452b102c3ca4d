// pveam access verify: recomputes the hash chain and names the first broken event.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "core/time_spec.h"
#include "evidence/archive.h"
#include "evidence/signing_key.h"

namespace pveaudit {

CommandRun AddAccessVerifyCommand(CLI::App* access) {
  auto o = std::make_shared<CommonOptions>();
  CLI::App* cmd = access->add_subcommand(
      "verify", "Recompute the hash chain over every stored event and report the first broken one");
  AddCommonOptions(cmd, o.get(), true);
  cmd->footer(R"(
Exit status: 0 when the chain is intact, 1 when an event was edited, deleted,
inserted or the tail truncated (the first broken event and why are printed).
Events moved into archives by the retention policy are not re-read: the
online chain is checked from the archives' recorded head, and each
recorded archive must be in the archive dir with the signed manifest it
was written with and an events file matching it ('pveam access archive
verify' re-hashes archived events). On a PostgreSQL store each node that wrote has a chain of its own; every
chain is checked, and a break names its node. The head printed is then
one hash over all the chains' heads.

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
    // Archived events (docs/retention.md): the store carried the chain
    // across each archived range by its record; here each recorded archive
    // must still be there, unaltered, with the manifest it had.
    std::vector<std::string> archive_problems;
    const uint64_t archives = r->archives;
    if (r->intact && r->archives) {
      auto recs = store->ListArchives();
      if (!recs.ok()) {
        std::cerr << "error: " << recs.status().message() << "\n";
        return kExitFailure;
      }
      std::string pem;
      if (auto key = SigningKey::Load(env.data_dir); key.ok())
        pem = key->public_pem();
      else
        archive_problems.push_back("the node's signing key cannot be read (" +
                                   key.status().message() + "): archives not checked");
      if (!pem.empty())
        archive_problems = CheckArchivesAgainstStore(*recs, PolicyOrDie(env).archive_dir, pem);
      if (!archive_problems.empty()) {
        r->intact = false;
        r->reason = archive_problems.front();
      }
    }
    const bool json = env.format == OutputFormat::kJson || env.format == OutputFormat::kJsonPretty;
    if (json && !r->chains.empty()) {
      // PostgreSQL: the same object, with each node's chain.
      nlohmann::ordered_json o = {{"intact", int(r->intact)},
                                  {"events", r->events_checked},
                                  {"first_bad_id", r->first_bad_id},
                                  {"reason", r->reason},
                                  {"head", r->head_hash}};
      for (const ChainSummary& c : r->chains)
        o["chains"].push_back({{"node", c.writer}, {"events", c.events}, {"head", c.head_hash}});
      const nlohmann::ordered_json out = nlohmann::ordered_json::array({o});
      std::cout << (env.format == OutputFormat::kJsonPretty ? out.dump(4) : out.dump()) << "\n";
    } else if (env.format != OutputFormat::kText) {
      Table t;
      t.columns = {"intact", "events", "first_bad_id", "reason", "head"};
      t.rows.push_back({int64_t(r->intact), int64_t(r->events_checked), int64_t(r->first_bad_id),
                        r->reason, r->head_hash});
      if (r->archives) {
        t.columns.insert(t.columns.end(), {"archived_events", "archives"});
        t.rows.back().push_back(int64_t(r->archived_events));
        t.rows.back().push_back(int64_t(archives));
      }
      std::string out = RenderTable(t, env.format);
      std::fwrite(out.data(), 1, out.size(), stdout);
    } else if (r->intact && r->chains.size() > 1) {
      // PostgreSQL: one chain per node that wrote (docs/storage.md, "Chains").
      std::printf("OK: %s events in %zu chains, every chain intact, head %s\n",
                  WithThousands(r->events_checked).c_str(), r->chains.size(), r->head_hash.c_str());
      for (const ChainSummary& c : r->chains)
        std::printf("  node %s: %s events, head %s\n",
                    c.writer.empty() ? "(from before per-node chains)" : c.writer.c_str(),
                    WithThousands(c.events).c_str(), c.head_hash.c_str());
    } else if (r->intact) {
      std::printf("OK: %s events, hash chain intact, head %s\n",
                  WithThousands(r->events_checked).c_str(), r->head_hash.c_str());
      if (r->archives)
        std::printf(
            "%s more events are in %llu archive(s): each is in place with the signed "
            "manifest recorded, and the chain runs through their recorded hashes "
            "(check their events with 'pveam access archive verify')\n",
            WithThousands(r->archived_events).c_str(), static_cast<unsigned long long>(archives));
    } else {
      std::printf("BROKEN: %s\n", r->reason.c_str());
      for (size_t i = 1; i < archive_problems.size(); ++i)
        std::printf("  also: %s\n", archive_problems[i].c_str());
      std::printf("checked %s events before the break\n", WithThousands(r->events_checked).c_str());
    }
    return r->intact ? kExitOk : kExitFailure;
  };
}

}  // namespace pveaudit
