// pveam access migrate --to URL: carries a node's SQLite store over into
// the cluster's PostgreSQL database as that node's chain (docs/storage.md,
// "Moving a node's SQLite store").
#include <cstdio>
#include <iostream>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "core/host_name.h"
#include "store/copy_events.h"

namespace pveaudit {
namespace {

constexpr size_t kBatch = 10000;

struct MigrateOptions : CommonOptions {
  std::string to, passfile;
};

// The cursor in the target that remembers how far this node's SQLite store
// was moved: re-running moves only what came after, never anything twice.
std::string MigrateKey(const std::string& writer) { return "migrate:sqlite:" + writer; }

const ChainSummary* ChainOf(const StoreInfo& info, const std::string& writer) {
  for (const ChainSummary& c : info.chains)
    if (c.writer == writer) return &c;
  return nullptr;
}

int Fail(const std::string& message) {
  std::cerr << "error: " << message << "\n";
  return kExitFailure;
}

int Migrate(const MigrateOptions& o) {
  Env env = ResolveEnv(o);
  if (Status st = CheckStoreUrl(o.to); !st.ok())
    throw UsageError{"invalid value for --to: " + st.message()};
  if (!o.passfile.empty() && o.passfile[0] != '/')
    throw UsageError{"invalid value '" + o.passfile +
                     "' for --passfile: expected an absolute path"};
  const StoreLocation to{env.data_dir, o.to,
                         o.passfile.empty() ? env.config.store_passfile : o.passfile};
  const std::string writer = NodeNameOr(env.config.node);

  // The target first: its first use creates the tables and the role.
  StoreOptions wo;
  wo.writer = writer;
  auto target = OpenStore(to, wo);
  if (!target.ok()) return Fail(target.status().message());

  StoreOptions ro;
  ro.read_only = true;
  auto source = OpenStore(StoreLocation{env.data_dir, "", ""}, ro);
  if (!source.ok() && source.status().code() == Status::Code::kNotFound) {
    std::printf("no SQLite store in %s: nothing to move; %s is ready for node %s\n",
                env.data_dir.c_str(), to.Describe().c_str(), writer.c_str());
    return kExitOk;
  }
  if (!source.ok()) return Fail(source.status().message());

  // Only an intact chain is carried over, and its head is the proof that
  // the copy is whole.
  Progress vp("verifying " + env.data_dir);
  auto v = (*source)->Verify([&](uint64_t d, uint64_t t) { vp.Update(d, t); });
  vp.Done();
  if (!v.ok()) return Fail(v.status().message());
  if (!v->intact)
    return Fail("the SQLite store in " + env.data_dir +
                " is damaged, nothing was moved: " + v->reason);
  const uint64_t last = v->events_checked;

  auto done = (*target)->GetCursor(MigrateKey(writer));
  if (!done.ok()) return Fail(done.status().message());
  const uint64_t moved = done->has_value() ? (*done)->offset : 0;
  if (moved == last) {
    std::printf("nothing new to move: the %s events of %s are in %s as node %s's chain\n",
                WithThousands(last).c_str(), env.data_dir.c_str(), to.Describe().c_str(),
                writer.c_str());
    return kExitOk;
  }
  if (moved > last)
    return Fail("the SQLite store in " + env.data_dir + " holds " + WithThousands(last) +
                " events, fewer than the " + WithThousands(moved) +
                " already moved from it: it is not the store that was moved");
  // The node's chain in the target must be exactly what came from here,
  // so that the copy continues it with the same sequence numbers.
  auto info = (*target)->Info();
  if (!info.ok()) return Fail(info.status().message());
  const ChainSummary* chain = ChainOf(*info, writer);
  const uint64_t there = chain ? chain->events : 0;
  if (there != moved)
    return Fail("node " + writer + " already has " + WithThousands(there) + " events in " +
                to.Describe() + " that did not come from " + env.data_dir +
                ": a store can only be moved before its node writes to the cluster store "
                "(or give the node another name: node = ... in the config)");

  std::vector<RejectedLine> rejected;
  if (moved == 0) {
    auto r = (*source)->ListRejected(0);
    if (!r.ok()) return Fail(r.status().message());
    rejected = std::move(*r);
  }
  auto file_cursors = (*source)->ListCursors();
  if (!file_cursors.ok()) return Fail(file_cursors.status().message());

  Progress mp("moving");
  uint64_t pos = moved;
  while (pos < last) {
    std::vector<Event> batch;
    Status st = ReadNextEvents(**source, pos, kBatch, &batch);
    if (st.code() == Status::Code::kCorruption) return Fail("the SQLite store's " + st.message());
    if (!st.ok()) return Fail(st.message());
    if (batch.empty()) break;
    const uint64_t upto = batch.back().id;
    // The migration's own cursor commits with the events it covers; the
    // file cursors and rejected lines with the last batch (pveauditd on
    // the cluster store then goes on where the SQLite one stopped).
    std::vector<SourceCursor> cursors = {
        SourceCursor{MigrateKey(writer), env.data_dir, upto, upto, v->head_hash}};
    const bool final_batch = upto == last;
    if (final_batch) cursors.insert(cursors.end(), file_cursors->begin(), file_cursors->end());
    st = (*target)->AppendBatch(&batch, final_batch ? rejected : std::vector<RejectedLine>{},
                                cursors, nullptr);
    if (!st.ok())
      return Fail(st.message() + " (after event " + std::to_string(pos) +
                  "; run the command again to go on from there)");
    pos = upto;
    mp.Update(pos, last);
  }
  mp.Done();

  info = (*target)->Info();
  if (!info.ok()) return Fail(info.status().message());
  chain = ChainOf(*info, writer);
  if (!chain || chain->events != last || chain->head_hash != v->head_hash)
    return Fail("the copy's chain head does not match the SQLite store's (" +
                (chain ? chain->head_hash : std::string("none")) + " against " + v->head_hash +
                "): run pveam access verify on both");
  std::printf(
      "moved %s events (%s to %s) from %s into %s as node %s's chain; head %s, the same as the "
      "SQLite store's; %zu file cursors, %zu rejected lines\n",
      WithThousands(last - moved).c_str(), WithThousands(moved + 1).c_str(),
      WithThousands(last).c_str(), env.data_dir.c_str(), to.Describe().c_str(), writer.c_str(),
      v->head_hash.c_str(), file_cursors->size(), rejected.size());
  return kExitOk;
}

}  // namespace

CommandRun AddAccessMigrateCommand(CLI::App* access) {
  auto o = std::make_shared<MigrateOptions>();
  CLI::App* cmd = access->add_subcommand(
      "migrate", "Move this node's SQLite store into the cluster's PostgreSQL database");
  AddCommonOptions(cmd, o.get(), false);
  cmd->add_option("--to", o->to,
                  "The cluster store: postgresql://HOST[:PORT]/DATABASE[?PARAMS], connecting as "
                  "the tables' owner the first time (it creates them and the role pveaudit_node)")
      ->required();
  cmd->add_option("--passfile", o->passfile,
                  "libpq password file for --to (default: the config's [store] passfile, else "
                  "$PGPASSFILE or ~/.pgpass)")
      ->type_name("FILE");
  cmd->footer(R"(
Carries the SQLite store in the data dir over into the PostgreSQL database
as this node's chain (the node is the config's `node`, else the host name):
every event in its order, with its chain hash unchanged (the node's chain
head in the cluster store is then the SQLite store's head), the file
cursors, so that pveauditd on the cluster store goes on where it stopped,
and the rejected lines. The SQLite store is verified first and only moved
when intact; it is left as it was. Running the command again moves only
the events added since, never one twice; it refuses when the node already
wrote other events to the cluster store. Alert rules, export destinations
and consumer positions are not moved (the cluster store has its own).
Without a SQLite store it only makes the cluster store ready.

Exit status: 0 done (or nothing to do), 1 failure (nothing half done: each
batch commits with the cursor that records it), 2 bad argument.

Example:
  pveam access migrate --to "postgresql://pveaudit_admin@pgdb.example.com/pveaudit?sslmode=verify-full")");
  return [o]() -> int { return Migrate(*o); };
}

}  // namespace pveaudit
