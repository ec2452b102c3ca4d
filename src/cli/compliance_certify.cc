// pveam compliance certify start|decide|list|show: quarterly access
// certification (evidence/certification.h, docs/evidence.md).
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/compliance_commands.h"
#include "core/host_name.h"
#include "core/time_spec.h"
#include "evidence/certification.h"
#include "report/render.h"

namespace pveaudit {
namespace {

struct CertStartCli {
  CommonOptions common;
  std::string period, by, pve_dir;
};
struct CertDecideCli {
  CommonOptions common;
  DecideOptions o;
};
struct CertShowCli {
  CommonOptions common;
  std::string period;
};

void WriteStdout(const std::string& out) { std::fwrite(out.data(), 1, out.size(), stdout); }

// The campaign of `period` as typed, read-only. A missing store holds no
// campaign: exit 2 like any other period without one, and nothing created.
std::optional<Certification> CampaignOrThrow(const Env& env, const std::string& period_flag,
                                             report::Quarter* q) {
  CheckChange(ParseCertificationPeriod("--period", period_flag, NowUs(), q));
  StoreOptions so;
  so.read_only = true;
  auto store = OpenStore(env.store, so);
  if (!store.ok() && store.status().code() != Status::Code::kNotFound) {
    std::cerr << "error: " << store.status().message() << "\n";
    std::exit(kExitFailure);
  }
  if (!store.ok()) return std::nullopt;
  auto c = LoadCertification(**store, q->Name());
  if (!c.ok()) {
    std::cerr << "error: " << c.status().message() << "\n";
    std::exit(kExitFailure);
  }
  return std::move(*c);
}

std::string CountsText(const CertCounts& n) {
  return std::to_string(n.decided) + " of " + std::to_string(n.items) + " decided (" +
         std::to_string(n.kept) + " keep, " + std::to_string(n.revoked) + " revoke), " +
         std::to_string(n.open) + " open";
}

int RunCertStart(const CertStartCli& c) {
  Env env = ResolveEnv(c.common);
  RequireObjectFormat(env, c.common.output_format);
  const int64_t now = NowUs();
  report::Quarter q;
  CheckChange(ParseCertificationPeriod("--period", c.period, now, &q));
  const std::string by = InvokingUser(c.by);
  CheckChange(CheckReviewer("--by", by));
  const std::string pve_dir = ResolveCompliancePveDir(c.pve_dir, env);
  auto cfg = pve::LoadPveConfig(pve_dir);
  if (!cfg.ok())
    throw UsageError{cfg.status().message() +
                     "\nThe certification lists the users of the Proxmox config: run on a node as "
                     "root, or point to a copy with --pve-dir DIR, $PVEAUDIT_PVE_DIR or pve_dir "
                     "in the config file."};
  auto store = OpenStoreOrDie(env, /*read_only=*/false);
  uint64_t id = 0;
  auto r =
      StartCertification(*store, ReviewerActor(by), NodeNameOr(env.config.node), *cfg, q, now, &id);
  CheckChange(r.status());
  if (env.format != OutputFormat::kText) {
    Table t;
    t.columns = {"period", "started", "started_by", "pve_dir", "items", "recorded_id"};
    t.rows.push_back(
        {r->period, r->started, r->started_by, r->pve_dir, int64_t(r->items.size()), int64_t(id)});
    PrintObject(t, env.format);
    return kExitOk;
  }
  std::printf("certification %s started: %zu users to certify (Proxmox config %s)\n",
              r->period.c_str(), r->items.size(), r->pve_dir.c_str());
  std::printf("recorded as event %llu (audit:certification-start by %s)\n",
              static_cast<unsigned long long>(id), r->started_by.c_str());
  std::printf(
      "next: pveam compliance certify show --period %s\n"
      "      pveam compliance certify decide --period %s --user USERID --decision keep|revoke "
      "--by REVIEWER\n",
      r->period.c_str(), r->period.c_str());
  return kExitOk;
}

int RunCertDecide(const CertDecideCli& c) {
  Env env = ResolveEnv(c.common);
  RequireObjectFormat(env, c.common.output_format);
  report::Quarter q;
  DecideOptions o = c.o;
  // Everything is checked against the campaign before anything is written.
  std::optional<Certification> campaign = CampaignOrThrow(env, o.period, &q);
  o.period = q.Name();
  CheckChange(CheckDecision(campaign, o));
  auto store = OpenStoreOrDie(env, /*read_only=*/false);
  auto r =
      DecideCertification(*store, ReviewerActor(o.by), NodeNameOr(env.config.node), o, NowUs());
  CheckChange(r.status());
  const CertCounts& n = r->counts;
  if (env.format != OutputFormat::kText) {
    Table t;
    t.columns = {"period",  "userid",        "decision",      "decided_by",
                 "decided", "note",          "permissions",   "recorded_id",
                 "items",   "decided_items", "kept",          "revoked",
                 "open",    "complete",      "completion_id", "completion_sha256"};
    const CertDecision& d = *r->item.decision;
    t.rows.push_back({o.period, o.userid, d.decision, d.by, d.decided, d.note,
                      r->item.access.permissions, int64_t(r->event_id), int64_t(n.items),
                      int64_t(n.decided), int64_t(n.kept), int64_t(n.revoked), int64_t(n.open),
                      int64_t(n.complete ? 1 : 0),
                      r->completion_event_id ? Cell(int64_t(r->completion_event_id)) : Cell(),
                      r->completion_event_id ? Cell(r->completion_sha256) : Cell()});
    PrintObject(t, env.format);
    return kExitOk;
  }
  std::printf("%s: %s %s, decided by %s (recorded as event %llu, audit:certification-%s)\n",
              o.period.c_str(), o.decision.c_str(), o.userid.c_str(), o.by.c_str(),
              static_cast<unsigned long long>(r->event_id), o.decision.c_str());
  std::printf("  access: %s\n", ShortPermissions(r->item.access.permissions, 200).c_str());
  if (o.decision == "revoke")
    std::printf(
        "  remove it now: until it changes, 'pveam compliance check --standard sox' fails "
        "(pveum user permissions %s)\n",
        o.userid.c_str());
  std::printf("%s\n", CountsText(n).c_str());
  if (r->completion_event_id)
    std::printf(
        "certification %s complete: recorded as event %llu (audit:certification-complete, "
        "sha256 %s)\n",
        o.period.c_str(), static_cast<unsigned long long>(r->completion_event_id),
        r->completion_sha256.c_str());
  return kExitOk;
}

int RunCertList(const CommonOptions& co) {
  Env env = ResolveEnv(co);
  auto store = OpenStoreOrSpool(env);
  auto periods = ListCertificationPeriods(*store);
  if (!periods.ok()) {
    std::cerr << "error: " << periods.status().message() << "\n";
    return kExitFailure;
  }
  const bool text = env.format == OutputFormat::kText;
  // Text: what fits 80 columns (dates; open campaigns have no completion
  // date); the other formats: everything, with RFC 3339 times.
  Table t;
  if (text) {
    t.columns = {"period", "started", "by",   "users",    "decided",
                 "kept",   "revoked", "open", "completed"};
  } else {
    t.columns = {"period", "started", "started_by", "items", "decided",
                 "kept",   "revoked", "open",       "state", "completed"};
  }
  for (const std::string& p : *periods) {
    auto c = LoadCertification(*store, p);
    if (!c.ok()) {
      std::cerr << "error: " << c.status().message() << "\n";
      return kExitFailure;
    }
    if (!*c) continue;  // its start event was written, the setting not (a crash between)
    const CertCounts n = CountDecisions(**c);
    auto when = [&](int64_t us) -> Cell {
      if (!us) return Cell();
      return text ? FormatLocal(us).substr(0, 10) : FormatRfc3339Utc(us);
    };
    std::vector<Cell> row = {p,
                             when((*c)->started_us),
                             (*c)->started_by,
                             int64_t(n.items),
                             int64_t(n.decided),
                             int64_t(n.kept),
                             int64_t(n.revoked),
                             int64_t(n.open),
                             std::string(n.complete ? "complete" : "open"),
                             n.complete ? when(n.completed_us) : Cell()};
    if (text) row.erase(row.begin() + 8);  // the state: a completion date or none
    t.rows.push_back(std::move(row));
  }
  if (text && t.rows.empty()) {
    std::printf(
        "no certification started (start one: pveam compliance certify start --period current)\n");
    return kExitOk;
  }
  t.width = kTextWidth;
  WriteStdout(RenderTable(t, env.format));
  return kExitOk;
}

int RunCertShow(const CertShowCli& c) {
  Env env = ResolveEnv(c.common);
  report::Quarter q;
  std::optional<Certification> cert = CampaignOrThrow(env, c.period, &q);
  if (!cert)
    throw UsageError{"invalid value '" + c.period + "' for --period: no certification of " +
                     q.Name() + " was started (see 'pveam compliance certify list')"};
  const report::Report r = CertificationReport(*cert);
  switch (env.format) {
    case OutputFormat::kJson:
      // Byte for byte what the completion event's sha256 was taken of.
      WriteStdout(report::RenderReport(r, report::ReportFormat::kJson));
      return kExitOk;
    case OutputFormat::kJsonPretty:
      WriteStdout(report::RenderReport(r, report::ReportFormat::kJsonPretty));
      return kExitOk;
    case OutputFormat::kYaml:
      WriteStdout(report::RenderReport(r, report::ReportFormat::kYaml));
      return kExitOk;
    case OutputFormat::kCsv:  // the items: a reviewer's spreadsheet
      WriteStdout(RenderTable(r.sections[1].table, OutputFormat::kCsv));
      return kExitOk;
    case OutputFormat::kText:
      break;
  }
  const CertCounts n = CountDecisions(*cert);
  std::printf("certification %s (%s to %s), started %s by %s\n", cert->period.c_str(),
              FormatLocal(cert->quarter.start_us).c_str(),
              FormatLocal(cert->quarter.end_us).c_str(), FormatLocal(cert->started_us).c_str(),
              cert->started_by.c_str());
  std::printf("%s%s\n", CountsText(n).c_str(),
              n.complete ? (", complete " + FormatLocal(n.completed_us)).c_str() : "");
  Table t;
  t.columns = {"userid", "decision", "by", "decided", "permissions", "note"};
  t.min_width = {6, 8, 12, 10, 6, 6};
  t.own_line = {false, false, false, false, false, true};
  for (const CertItem& i : cert->items) {
    const CertDecision* d = i.decision ? &*i.decision : nullptr;
    t.rows.push_back({i.userid, std::string(d ? d->decision : "open"), d ? Cell(d->by) : Cell(),
                      d ? Cell(FormatLocal(d->decided_us).substr(0, 10)) : Cell(),
                      i.access.permissions.empty() ? std::string("none") : i.access.permissions,
                      d ? Cell(d->note) : Cell()});
  }
  t.width = kTextWidth;
  WriteStdout(RenderTable(t, OutputFormat::kText));
  return kExitOk;
}

}  // namespace

void RequireObjectFormat(const Env& env, const std::string& typed) {
  if (env.format == OutputFormat::kCsv)
    throw UsageError{"invalid value '" + typed +
                     "' for --output-format: expected text, json, json-pretty or yaml"};
}

void PrintObject(const Table& t, OutputFormat format) {
  if (format == OutputFormat::kYaml) {
    // A one-row sequence ("- a: 1\n  b: 2\n") without its dash is the mapping.
    std::string y = RenderTable(t, OutputFormat::kYaml), out;
    for (size_t pos = 0; pos < y.size();) {
      size_t nl = y.find('\n', pos);
      if (nl == std::string::npos) nl = y.size();
      out += y.substr(pos + 2, nl - pos - 2) + "\n";
      pos = nl + 1;
    }
    WriteStdout(out);
    return;
  }
  auto rows = nlohmann::ordered_json::parse(RenderTable(t, OutputFormat::kJson));
  WriteStdout(rows.at(0).dump(format == OutputFormat::kJsonPretty ? 4 : -1, ' ', false,
                              nlohmann::ordered_json::error_handler_t::replace) +
              "\n");
}

void AddPeriodOption(CLI::App* cmd, std::string* period) {
  cmd->add_option("--period", *period,
                  "The quarter: YYYYQN (e.g. 2026Q4), current or last (required; cluster time "
                  "zone)")
      ->type_name("QUARTER");
}

void AddByOption(CLI::App* cmd, std::string* by, const std::string& who) {
  cmd->add_option("--by", *by,
                  who + ", recorded in the event (default: $SUDO_USER or $USER as user@pam)")
      ->type_name("USERID");
}

void AddPveDirOption(CLI::App* cmd, std::string* pve_dir) {
  cmd->add_option("--pve-dir", *pve_dir,
                  "Proxmox config directory (default: $PVEAUDIT_PVE_DIR, the config's pve_dir, "
                  "/etc/pve)")
      ->type_name("DIR");
}

Actor ReviewerActor(const std::string& reviewer) {
  Actor local = LocalActor();
  Actor a{reviewer, "", local.via};
  if (local.user != reviewer)
    a.via = "recorded by " + local.user + (local.via.empty() ? "" : ", " + local.via);
  return a;
}

void AddCertifyCommands(CLI::App* comp, std::vector<std::pair<CLI::App*, CommandRun>>* commands) {
  CLI::App* cert = comp->add_subcommand(
      "certify",
      "Access certification: every user's access confirmed (keep) or revoked each quarter");
  cert->require_subcommand(0, 1);
  cert->allow_extras();
  cert->footer(R"(
A certification campaign (SOX 404 user access certification, PCI DSS 7.2.4)
lists every enabled Proxmox user with their effective permissions; a
reviewer decides for each user whether the access stays (keep) or goes
(revoke). 'pveam compliance check --standard sox' passes when the campaign
of this quarter or the last one is complete, and fails for every user whose
access was revoked but is still the same in the Proxmox config.

Examples:
  pveam compliance certify start --period current --by ciso@pve
  pveam compliance certify show --period 2026Q4
  pveam compliance certify decide --period 2026Q4 --user alice@pve --decision keep --by ciso@pve
  pveam compliance certify list)");

  auto s = std::make_shared<CertStartCli>();
  CLI::App* start = cert->add_subcommand(
      "start", "Start the certification of a quarter: one item per enabled user with its access");
  AddCommonOptions(start, &s->common, true);
  AddPeriodOption(start, &s->period);
  AddByOption(start, &s->by, "Who starts it");
  AddPveDirOption(start, &s->pve_dir);
  start->footer(R"(
Reads user.cfg (users, groups, tokens, roles, ACLs, pools) and lists every
enabled, unexpired user with their effective permissions as 'pveum user
report' shows them (/: Administrator; /vms/100: VMOperator (this path
only)), their groups and API tokens, and a SHA-256 of their effective
privileges on every path. The snapshot is stored in the store (setting
compliance.certification.QUARTER) and recorded as an
audit:certification-start event holding all of it. One campaign per
quarter: starting one that exists is refused.

--output-format: text (default), json, json-pretty or yaml.
Exit status: 0 started, 1 store error, 2 bad argument (named; nothing
changed).

Examples:
  pveam compliance certify start --period current --by ciso@pve
  pveam compliance certify start --period 2026Q4 --pve-dir /srv/pve-copy)");
  start->allow_extras();  // RunTree names an unknown option
  commands->emplace_back(start, [s] { return RunCertStart(*s); });

  auto d = std::make_shared<CertDecideCli>();
  CLI::App* decide = cert->add_subcommand(
      "decide", "Record a reviewer's decision on one user's access: keep or revoke");
  AddCommonOptions(decide, &d->common, true);
  AddPeriodOption(decide, &d->o.period);
  decide->add_option("--user", d->o.userid, "The user whose access is decided, e.g. alice@pve")
      ->type_name("USERID");
  decide->add_option("--decision", d->o.decision, "keep (the access is right) or revoke (it goes)")
      ->type_name("keep|revoke");
  decide->add_option("--note", d->o.note, "One line: why, ticket number, ...")->type_name("TEXT");
  decide->add_option("--by", d->o.by, "The reviewer (required; may not be the user under review)")
      ->type_name("USERID");
  decide->footer(R"(
Every option but --note is required. Each decision is an audit event,
audit:certification-keep or audit:certification-revoke (user: the
reviewer; detail: the access decided on and the decision), and a store
setting of its own, so reviewers can work on the same campaign at the same
time. A decision can be changed until the campaign is complete: the
decision that completes it also records audit:certification-complete with
the SHA-256 of 'certify show --period QUARTER --output-format json', and
closes the campaign.

A revoke is a promise: until the user's effective privileges change (ACL
or group membership removed, account disabled or deleted), 'pveam
compliance check --standard sox' (and --standard pci-dss) fails for them.

--output-format: text (default), json, json-pretty or yaml.
Exit status: 0 recorded, 1 store error, 2 bad argument: a quarter without a
campaign or whose campaign is complete, a user not in it, a decision other
than keep or revoke, a reviewer deciding on their own access (named;
nothing changed).

Examples:
  pveam compliance certify decide --period 2026Q4 --user alice@pve --decision keep --by ciso@pve
  pveam compliance certify decide --period current --user user0042@pve --decision revoke \
    --note "left the team, INC-4711" --by ciso@pve)");
  decide->allow_extras();  // RunTree names an unknown option
  commands->emplace_back(decide, [d] { return RunCertDecide(*d); });

  auto l = std::make_shared<CommonOptions>();
  CLI::App* list =
      cert->add_subcommand("list", "List the certification campaigns with their progress");
  AddCommonOptions(list, l.get(), true);
  list->footer(R"(
One row per campaign: the quarter, when and by whom it was started, its
users, how many are decided (keep, revoke), open, and whether it is
complete (when). Text shows dates; json, json-pretty, csv and yaml give RFC
3339 times.

Example:
  pveam compliance certify list --output-format json)");
  list->allow_extras();  // RunTree names an unknown option
  commands->emplace_back(list, [l] { return RunCertList(*l); });

  auto sh = std::make_shared<CertShowCli>();
  CLI::App* show = cert->add_subcommand(
      "show", "Show a campaign: every user, their access when it started, the decision");
  AddCommonOptions(show, &sh->common, true);
  AddPeriodOption(show, &sh->period);
  show->footer(R"(
Text: the campaign's progress, then one row per user (decision, reviewer,
date, permissions, note). json, json-pretty and yaml: an object with
"certification" (one row: period, quarter_start, quarter_end, started,
started_by, pve_dir, items, decided, kept, revoked, open, state, completed)
and "items" (userid, groups, tokens, permissions, access_sha256, decision,
decided_by, decided, note). csv: the items alone. The json output of a
complete campaign hashes (sha256sum) to the digest of its
audit:certification-complete event.

Exit status: 0 shown, 1 store error, 2 bad or unknown quarter.

Examples:
  pveam compliance certify show --period 2026Q4
  pveam compliance certify show --period 2026Q4 --output-format csv > 2026Q4-certification.csv)");
  show->allow_extras();  // RunTree names an unknown option
  commands->emplace_back(show, [sh] { return RunCertShow(*sh); });
}

}  // namespace pveaudit
