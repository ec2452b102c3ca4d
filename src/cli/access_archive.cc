// pveam access archive run|list|verify and pveam access hold add|list|
// remove: the retention policy, archives and legal holds
// (docs/retention.md).
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "core/host_name.h"
#include "core/time_spec.h"
#include "core/version.h"
#include "evidence/archive.h"
#include "evidence/files.h"
#include "evidence/retention.h"
#include "evidence/signing_key.h"

namespace pveaudit {

RetentionPolicy PolicyOrDie(const Env& env) {
  auto p = ResolveRetention(env.config.retention_online, env.config.retention_archive,
                            env.config.compliance_standards, env.config.retention_archive_dir,
                            env.data_dir);
  if (!p.ok()) throw UsageError{p.status().message()};
  return *p;
}

namespace {

struct ArchiveRunOptions {
  CommonOptions common;
  bool dry_run = false;
  std::string user;
};

struct ArchiveVerifyOptions {
  CommonOptions common;
  std::vector<std::string> dirs;
  std::string key;
};

struct HoldAddOptions {
  CommonOptions common;
  HoldOptions hold;
};

nlohmann::ordered_json RecordJson(const ArchiveRecord& r) {
  return {{"name", r.name},
          {"period", r.period},
          {"events", r.events},
          {"first_id", r.first_id},
          {"last_id", r.last_id},
          {"first_time", FormatRfc3339Utc(r.t_min_us)},
          {"last_time", FormatRfc3339Utc(r.t_max_us)},
          {"manifest_sha256", r.manifest_sha256},
          {"archived", r.archived_us ? FormatRfc3339Utc(r.archived_us) : ""},
          {"purged", r.purged_us ? FormatRfc3339Utc(r.purged_us) : ""}};
}

int RunArchive(const ArchiveRunOptions& o) {
  Env env = ResolveEnv(o.common);
  if (env.format != OutputFormat::kText && !IsJson(env.format))
    throw UsageError{"invalid value '" + o.common.output_format +
                     "' for --output-format: expected text, json or json-pretty"};
  RetentionPolicy policy = PolicyOrDie(env);
  if (!policy.Archives()) {
    std::printf(
        "%s\nset [retention] online/archive or [compliance] standards in the config "
        "(docs/retention.md)\n",
        policy.why.c_str());
    return kExitOk;
  }
  auto store = OpenStoreOrDie(env, /*read_only=*/o.dry_run);
  auto holds = LoadHolds(*store);
  if (!holds.ok()) {
    std::cerr << "error: " << holds.status().message() << "\n";
    return kExitFailure;
  }
  std::optional<SigningKey> key;
  if (!o.dry_run) {
    auto k = SigningKey::LoadOrCreate(env.data_dir);
    if (!k.ok()) {
      std::cerr << "error: signing key: " << k.status().message() << "\n";
      return kExitFailure;
    }
    key = *k;
  }
  RetentionRunOptions ro;
  ro.write.archive_dir = policy.archive_dir;
  ro.write.node = NodeNameOr(env.config.node);
  ro.write.software = kPveauditVersion;
  ro.write.now_us = NowUs();
  ro.user = InvokingUser(o.user);
  ro.dry_run = o.dry_run;
  if (env.format == OutputFormat::kText)
    ro.progress = [](const std::string& line) { std::printf("%s\n", line.c_str()); };
  if (env.format == OutputFormat::kText) std::printf("policy: %s\n", policy.why.c_str());
  auto run = RunRetention(*store, key ? &*key : nullptr, policy, *holds, ro);
  if (!run.ok()) {
    std::cerr << "error: " << run.status().message() << "\n";
    return kExitFailure;
  }
  if (IsJson(env.format)) {
    nlohmann::ordered_json j = {{"dry_run", int(o.dry_run)},
                                {"policy", policy.why},
                                {"archive_dir", policy.archive_dir},
                                {"online_from", FormatRfc3339Utc(run->online_cutoff_us)},
                                {"archived", nlohmann::ordered_json::array()},
                                {"purged", nlohmann::ordered_json::array()},
                                {"held", nlohmann::ordered_json::array()}};
    for (const ArchiveRecord& r : run->archived) j["archived"].push_back(RecordJson(r));
    for (const ArchiveRecord& r : run->purged) j["purged"].push_back(RecordJson(r));
    for (const auto& [r, hold] : run->held) {
      auto rj = RecordJson(r);
      rj["hold"] = hold;
      j["held"].push_back(rj);
    }
    PrintJson(j, env.format);
    return kExitOk;
  }
  const char* would = o.dry_run ? "would be " : "";
  std::printf("online from %s: %zu archive(s) %swritten (%s events)\n",
              FormatLocal(run->online_cutoff_us).c_str(), run->archived.size(), would,
              WithThousands([&] {
                uint64_t n = 0;
                for (const ArchiveRecord& r : run->archived) n += r.events;
                return n;
              }())
                  .c_str());
  if (o.dry_run)
    for (const ArchiveRecord& r : run->archived)
      std::printf("  %s: events %llu-%llu\n", r.name.c_str(),
                  static_cast<unsigned long long>(r.first_id),
                  static_cast<unsigned long long>(r.last_id));
  if (policy.archive_months) {
    std::printf("kept from %s: %zu archive(s) %spurged\n",
                FormatLocal(run->purge_cutoff_us).c_str(), run->purged.size(), would);
    if (o.dry_run)
      for (const ArchiveRecord& r : run->purged) std::printf("  %s\n", r.name.c_str());
  }
  for (const auto& [r, hold] : run->held)
    std::printf("held: %s is past retention but kept by legal hold %llu\n", r.name.c_str(),
                static_cast<unsigned long long>(hold));
  return kExitOk;
}

int RunArchiveList(const CommonOptions& o) {
  Env env = ResolveEnv(o);
  RetentionPolicy policy = PolicyOrDie(env);
  auto store = OpenStoreOrDie(env, /*read_only=*/true);
  auto recs = store->ListArchives();
  auto holds = LoadHolds(*store);
  if (!recs.ok() || !holds.ok()) {
    std::cerr << "error: " << (recs.ok() ? holds.status() : recs.status()).message() << "\n";
    return kExitFailure;
  }
  const int64_t now = NowUs();
  Table t;
  t.columns = {"name", "period", "events", "first_id", "last_id", "state"};
  if (env.format != OutputFormat::kText)
    t.columns.insert(t.columns.end(), {"first_time", "last_time", "manifest_sha256"});
  uint64_t kept = 0, purged = 0;
  for (const ArchiveRecord& r : *recs) {
    std::string state =
        r.purged_us ? "purged " + FormatRfc3339Utc(r.purged_us).substr(0, 10) : std::string("kept");
    for (const LegalHold& h : *holds)
      if (!r.purged_us && h.Covers(r.t_min_us, r.t_max_us, now)) {
        state = "held (" + std::to_string(h.id) + ")";
        break;
      }
    (r.purged_us ? purged : kept) += r.events;
    std::vector<Cell> row = {
        r.name, r.period, int64_t(r.events), int64_t(r.first_id), int64_t(r.last_id), state};
    if (env.format != OutputFormat::kText) {
      row.push_back(FormatRfc3339Utc(r.t_min_us));
      row.push_back(FormatRfc3339Utc(r.t_max_us));
      row.push_back(r.manifest_sha256);
    }
    t.rows.push_back(std::move(row));
  }
  if (env.format == OutputFormat::kText) {
    std::printf("policy: %s\narchive dir: %s\n", policy.why.c_str(), policy.archive_dir.c_str());
    if (t.rows.empty()) {
      std::printf("no archives\n");
      return kExitOk;
    }
    t.width = kTextWidth;
  }
  PrintRendered(t, env.format);
  if (env.format == OutputFormat::kText)
    std::printf("%zu archive(s): %s events kept, %s purged\n", recs->size(),
                WithThousands(kept).c_str(), WithThousands(purged).c_str());
  return kExitOk;
}

// The archive directories a verify argument names: an archive itself, or
// a directory holding archives.
std::vector<std::string> ArchiveDirs(const std::string& arg) {
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::path(arg) / kArchiveManifest, ec)) return {arg};
  std::vector<std::string> out;
  if (!std::filesystem::is_directory(arg, ec))
    throw UsageError{"invalid value '" + arg + "': not an archive or a directory of archives"};
  for (const auto& d : std::filesystem::directory_iterator(arg, ec))
    if (std::filesystem::exists(d.path() / kArchiveManifest, ec)) out.push_back(d.path().string());
  std::sort(out.begin(), out.end());
  if (out.empty())
    throw UsageError{"invalid value '" + arg + "': holds no archive (no */manifest.json)"};
  return out;
}

int RunArchiveVerify(const ArchiveVerifyOptions& o) {
  OutputFormat f;
  if (!ParseOutputFormat(o.common.output_format, &f) || (f != OutputFormat::kText && !IsJson(f)))
    throw UsageError{"invalid value '" + o.common.output_format +
                     "' for --output-format: expected text, json or json-pretty"};
  std::string trusted = o.key.empty() ? std::string() : ReadTrustedKey(o.key);
  std::vector<std::string> dirs;
  for (const std::string& a : o.dirs)
    for (std::string& d : ArchiveDirs(a)) dirs.push_back(std::move(d));
  std::vector<ArchiveCheck> checks;
  Progress progress("verifying archives");
  for (const std::string& d : dirs) {
    checks.push_back(CheckArchiveDir(d, trusted, /*rehash=*/true));
    progress.Update(checks.size(), dirs.size());
  }
  progress.Done();
  std::vector<std::string> seq = CheckArchiveSequence(&checks);
  bool intact = seq.empty();
  uint64_t events = 0, purged = 0;
  for (const ArchiveCheck& c : checks) {
    intact &= c.ok;
    (c.purged ? purged : events) += c.events;
  }
  const bool from_archive = trusted.empty();
  if (IsJson(f)) {
    nlohmann::ordered_json j = {{"intact", int(intact)},
                                {"archives", checks.size()},
                                {"events", events},
                                {"purged_events", purged},
                                {"trusted_key", int(!from_archive)},
                                {"problems", seq},
                                {"checked", nlohmann::ordered_json::array()}};
    for (const ArchiveCheck& c : checks)
      j["checked"].push_back({{"dir", Printable(c.dir)},
                              {"ok", int(c.ok)},
                              {"purged", int(c.purged)},
                              {"period", c.period},
                              {"first_id", c.first_id},
                              {"last_id", c.last_id},
                              {"first_bad_id", c.first_bad_id},
                              {"key_sha256", c.key_fingerprint},
                              {"problems", c.problems}});
    PrintJson(j, f);
    return intact ? kExitOk : kExitFailure;
  }
  for (const ArchiveCheck& c : checks) {
    if (c.ok)
      std::printf("OK      %s: %s events %llu-%llu%s\n", Printable(c.dir).c_str(), c.period.c_str(),
                  static_cast<unsigned long long>(c.first_id),
                  static_cast<unsigned long long>(c.last_id),
                  c.purged ? " (purged: manifest and signed purge note kept)" : "");
    else
      std::printf("BROKEN  %s: %s\n", Printable(c.dir).c_str(),
                  Printable(c.problems.empty() ? "unreadable" : c.problems.front()).c_str());
  }
  for (const std::string& p : seq) std::printf("BROKEN  %s\n", Printable(p).c_str());
  std::printf("%s: %zu archive(s), %s events checked against their chain hashes%s\n",
              intact ? "OK" : "BROKEN", checks.size(), WithThousands(events).c_str(),
              purged ? (", " + WithThousands(purged) + " purged").c_str() : "");
  std::string fp;
  for (const ArchiveCheck& c : checks)
    if (!c.key_fingerprint.empty()) fp = c.key_fingerprint;
  if (!fp.empty())
    std::printf("key sha256 %s (%s)\n", fp.c_str(),
                from_archive ? "checked against the key in each archive: compare it with the "
                               "node's ('pveam access key') or pass --key"
                             : ("checked against the trusted key " + o.key).c_str());
  return intact ? kExitOk : kExitFailure;
}

int RunHoldAdd(const HoldAddOptions& o, const std::string& user) {
  Env env = ResolveEnv(o.common);
  auto store = OpenStoreOrDie(env, /*read_only=*/false);
  Actor actor = LocalActor();
  if (!user.empty()) actor.user = user;
  auto h = AddHold(*store, actor, NodeNameOr(env.config.node), o.hold, NowUs());
  if (!h.ok()) {
    CheckChange(h.status());
    return kExitFailure;
  }
  if (IsJson(env.format))
    PrintJson({{"id", h->id},
               {"reason", h->reason},
               {"start", h->start},
               {"end", h->end},
               {"until", h->until}},
              env.format);
  else
    std::printf("legal hold %llu added: %s%s; archives it covers are never purged\n",
                static_cast<unsigned long long>(h->id),
                h->start.empty() && h->end.empty()
                    ? "all events"
                    : ("events " + (h->start.empty() ? std::string("-") : h->start) + " to " +
                       (h->end.empty() ? std::string("-") : h->end))
                          .c_str(),
                h->until.empty() ? ", until removed" : (", until " + h->until).c_str());
  return kExitOk;
}

int RunHoldList(const CommonOptions& o) {
  Env env = ResolveEnv(o);
  auto store = OpenStoreOrDie(env, /*read_only=*/true);
  auto holds = LoadHolds(*store);
  if (!holds.ok()) {
    std::cerr << "error: " << holds.status().message() << "\n";
    return kExitFailure;
  }
  const int64_t now = NowUs();
  Table t;
  t.columns = {"id", "start", "end", "until", "state", "reason"};
  if (env.format != OutputFormat::kText)
    t.columns.insert(t.columns.end(), {"created", "created_by"});
  for (const LegalHold& h : *holds) {
    std::vector<Cell> row = {int64_t(h.id),
                             h.start.empty() ? std::string("-") : h.start,
                             h.end.empty() ? std::string("-") : h.end,
                             h.until.empty() ? std::string("-") : h.until,
                             h.Active(now) ? "active" : "expired",
                             h.reason};
    if (env.format != OutputFormat::kText) {
      row.push_back(h.created);
      row.push_back(h.created_by);
    }
    t.rows.push_back(std::move(row));
  }
  if (env.format == OutputFormat::kText && t.rows.empty()) {
    std::printf("no legal hold\n");
    return kExitOk;
  }
  t.width = kTextWidth;
  PrintRendered(t, env.format);
  return kExitOk;
}

int RunHoldRemove(const CommonOptions& o, const std::string& id, const std::string& user) {
  Env env = ResolveEnv(o);
  auto store = OpenStoreOrDie(env, /*read_only=*/false);
  Actor actor = LocalActor();
  if (!user.empty()) actor.user = user;
  auto h = RemoveHold(*store, actor, NodeNameOr(env.config.node), id);
  if (!h.ok()) {
    CheckChange(h.status());
    return kExitFailure;
  }
  std::printf("legal hold %llu removed (%s)\n", static_cast<unsigned long long>(h->id),
              h->reason.c_str());
  return kExitOk;
}

}  // namespace

void AddAccessArchiveCommands(CLI::App* access,
                              std::vector<std::pair<CLI::App*, CommandRun>>* commands) {
  CLI::App* arc = access->add_subcommand(
      "archive", "Retention: move old months into signed archives, purge, verify offline");
  arc->require_subcommand(1);

  auto r = std::make_shared<ArchiveRunOptions>();
  CLI::App* run = arc->add_subcommand(
      "run",
      "Apply the retention policy now: archive months past the online period, purge "
      "archives past the archive period");
  AddCommonOptions(run, &r->common, true);
  run->add_flag("--dry-run", r->dry_run, "Show what would be archived and purged; change nothing");
  run->add_option("--user", r->user,
                  "Who runs it, recorded in the audit events (default: $SUDO_USER or $USER as "
                  "user@pam)");
  run->footer(R"(
The policy comes from [retention] online/archive in the config or, when
unset, from [compliance] standards (the longest wins: HIPAA 6 years, SOX 7
years, PCI DSS 12 months with the last 3 online). pveauditd applies it once
a day; this command applies it now.

Whole blocks of events older than the online period, grouped by month, are
written to <archive dir>/<YYYY-MM>.<first id>-<last id>/ (events.jsonl.zst,
manifest.json, manifest.sig, signing-key.pem), read back and checked, and
only then dropped from the store in one transaction with the archive's
record. An archive past the archive period is purged (its events file
deleted; the signed manifest and a signed purge note stay, so the chain of
archives still links up) unless a legal hold covers it. Each archive and
purge is an audit event (audit:archive, audit:purge).

Exit status: 0 done, 1 store or file error, 2 bad argument or policy.

Examples:
  pveam access archive run --dry-run
  pveam access archive run)");
  commands->emplace_back(run, [r] { return RunArchive(*r); });

  auto l = std::make_shared<CommonOptions>();
  CLI::App* list = arc->add_subcommand("list", "List the archives: period, events, ids, state");
  AddCommonOptions(list, l.get(), true);
  list->footer(R"(
State is kept, held (by the legal hold named) or purged (with the date).

Example:
  pveam access archive list)");
  commands->emplace_back(list, [l] { return RunArchiveList(*l); });

  auto v = std::make_shared<ArchiveVerifyOptions>();
  CLI::App* ver = arc->add_subcommand(
      "verify",
      "Check archives offline, no store needed: signatures, digests, every event's "
      "chain hash, and that they link up");
  ver->add_option("dir", v->dirs,
                  "Archive directories, or directories holding archives (e.g. the archive dir)")
      ->required();
  ver->add_option("--key", v->key,
                  "The node's public key (PEM, from 'pveam access key --pem'); without it each "
                  "archive's own key is used, and the output says so");
  ver->add_option("--output-format", v->common.output_format,
                  "text (default), json or json-pretty");
  ver->footer(R"(
For each archive: the manifest's Ed25519 signature, the events file's
SHA-256 against the manifest, then every event: ids without gap, each
event's chain hash (the first that does not match is named), the last
event's hash against the manifest. Across archives: each starts where the
previous ended and continues its chain (a removed or replaced archive in
the middle is named).

Exit status: 0 intact, 1 not intact, 2 bad argument.

Examples:
  pveam access archive verify /var/lib/pveaudit/archive --key pve1-audit-key.pem
  pveam access archive verify /mnt/usb/2019-03.1-40960)");
  commands->emplace_back(ver, [v] { return RunArchiveVerify(*v); });

  CLI::App* hold =
      access->add_subcommand("hold", "Legal holds: archives a hold covers are never purged");
  hold->require_subcommand(1);
  auto ha = std::make_shared<HoldAddOptions>();
  auto ha_user = std::make_shared<std::string>();
  CLI::App* add = hold->add_subcommand("add", "Place a legal hold (an audit event)");
  AddCommonOptions(add, &ha->common, true);
  add->add_option("--reason", ha->hold.reason, "Why: case, matter or request (required)")
      ->required();
  add->add_option("--start", ha->hold.start,
                  "Hold only events from this time on (as 'pveam access log --start')");
  add->add_option("--end", ha->hold.end,
                  "Hold only events before this time (a date: that day "
                  "included)");
  add->add_option("--until", ha->hold.until,
                  "The last day the hold applies, YYYY-MM-DD (default: until removed)");
  add->add_option("--user", *ha_user, "Who places it (default: $SUDO_USER or $USER as user@pam)");
  add->footer(R"(
Without --start/--end the hold covers every event. Placing it is recorded
as a pveaudit:hold-add event with who, before and after.

Examples:
  pveam access hold add --reason "case 2026-114, counsel request" --start 2019-01-01 --end 2019-06-30
  pveam access hold add --reason "SEC inquiry" --until 2027-12-31)");
  commands->emplace_back(add, [ha, ha_user] { return RunHoldAdd(*ha, *ha_user); });

  auto hl = std::make_shared<CommonOptions>();
  CLI::App* hlist = hold->add_subcommand("list", "List the legal holds");
  AddCommonOptions(hlist, hl.get(), true);
  commands->emplace_back(hlist, [hl] { return RunHoldList(*hl); });

  auto hr = std::make_shared<CommonOptions>();
  auto hr_id = std::make_shared<std::string>();
  auto hr_user = std::make_shared<std::string>();
  CLI::App* hrm = hold->add_subcommand("remove", "Lift a legal hold (an audit event)");
  AddCommonOptions(hrm, hr.get(), false);
  hrm->add_option("id", *hr_id, "The hold's id (from 'hold list')")->required();
  hrm->add_option("--user", *hr_user, "Who lifts it (default: $SUDO_USER or $USER as user@pam)");
  hrm->footer(R"(
Example:
  pveam access hold remove 2)");
  commands->emplace_back(hrm,
                         [hr, hr_id, hr_user] { return RunHoldRemove(*hr, *hr_id, *hr_user); });
}

}  // namespace pveaudit
