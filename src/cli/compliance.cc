// pveam compliance requirements, pveam compliance check, pveam compliance
// report and pveam compliance exception add|list|remove (certify:
// compliance_certify.cc).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>

#include "cli/compliance_commands.h"
#include "core/host_name.h"
#include "core/time_spec.h"
#include "evidence/audit_event.h"
#include "evidence/certification.h"
#include "evidence/compliance_check.h"
#include "evidence/compliance_report.h"
#include "evidence/exceptions.h"
#include "evidence/requirements.h"
#include "report/quarterly.h"
#include "report/render.h"

namespace pveaudit {
namespace {

struct ExceptionAddCli {
  CommonOptions common;
  ExceptionOptions o;
};
struct CheckCli {
  CommonOptions common;
  std::string standard, pve_dir, output, format;
};

struct ExceptionRemoveCli {
  CommonOptions common;
  std::string id;
};
struct ReportCli {
  CommonOptions common;
  std::string standard, period, output, pve_dir, by;
};

void PrintTable(const Table& t, const Env& env) {
  std::string out = RenderTable(t, env.format);
  std::fwrite(out.data(), 1, out.size(), stdout);
}

int RunRequirements(const CommonOptions& o) {
  Env env = ResolveEnv(o);
  if (env.format == OutputFormat::kText) {
    // Two lines each: an 80-column table has no room for the citations.
    for (const Requirement& r : Requirements())
      std::printf("%-22s %s\n%-22s %s\n", std::string(r.id).c_str(), std::string(r.title).c_str(),
                  "", std::string(r.citation).c_str());
    return kExitOk;
  }
  Table t;
  t.columns = {"id", "standard", "requirement", "citation"};
  for (const Requirement& r : Requirements())
    t.rows.push_back({std::string(r.id), std::string(r.standard), std::string(r.title),
                      std::string(r.citation)});
  PrintTable(t, env);
  return kExitOk;
}

// The text form: one block per requirement, to be read top to bottom.
std::string CheckText(const std::string& standard, const std::vector<CheckOutcome>& outcomes,
                      const std::vector<std::string>& notes, int64_t now) {
  std::string out = standard + " compliance check, " + FormatLocal(now) + "\n";
  std::map<std::string, size_t> tally;
  for (const CheckOutcome& o : outcomes) {
    const Requirement* r = FindRequirement(o.requirement);
    char head[256];
    std::snprintf(head, sizeof head, "\n%-10s %s  %s (%s)\n", CheckResultName(o.result),
                  o.requirement.c_str(), std::string(r->title).c_str(),
                  std::string(r->citation).c_str());
    out += head;
    for (const std::string& e : o.evidence) out += "           " + e + "\n";
    if (!o.query.empty()) out += "           query: " + o.query + "\n";
    if (!o.fix.empty() && (o.result == CheckResult::kFail || o.result == CheckResult::kWarn))
      out += "           fix: " + o.fix + "\n";
    ++tally[CheckResultName(o.result)];
  }
  out += "\nsummary:";
  for (const char* k : {"PASS", "FAIL", "WARN", "EXCEPTED", "N/A", "UNCHECKED"})
    if (tally.count(k)) out += " " + std::to_string(tally[k]) + " " + k + ",";
  out.back() = '\n';
  for (const std::string& n : notes) out += "note: " + n + "\n";
  return out;
}

void CheckStandard(const std::string& standard) {
  if (standard.empty()) throw UsageError{"--standard hipaa|pci-dss|sox is required"};
  if (!IsStandard(standard))
    throw UsageError{"invalid value '" + standard +
                     "' for --standard: expected hipaa, pci-dss or sox"};
}

// What check and report evaluate: the Proxmox config and the store when
// they can be read (notes say what could not), the exceptions register.
struct Evaluation {
  std::string pve_dir;
  std::optional<pve::PveConfig> pve;
  std::unique_ptr<EventStore> store;
  std::vector<ComplianceException> exceptions;
  std::vector<std::string> notes;
  std::vector<CheckOutcome> outcomes;
  RetentionPolicy retention;
};

// Runs the checks of `standard` at `now_us` (events before
// `events_until_us` only, when not 0). Exits 1 on a store error.
Evaluation Evaluate(const Env& env, const std::string& standard, const std::string& pve_dir_flag,
                    int64_t now_us, int64_t events_until_us) {
  Evaluation ev;
  ev.pve_dir = ResolveCompliancePveDir(pve_dir_flag, env);
  auto pve = pve::LoadPveConfig(ev.pve_dir);
  if (pve.ok())
    ev.pve = std::move(*pve);
  else
    ev.notes.push_back("Proxmox config not read: " + pve.status().message());
  StoreOptions so;
  so.read_only = true;
  auto store = OpenStore(env.store, so);
  if (store.ok())
    ev.store = std::move(*store);
  else
    ev.notes.push_back("no event store: " + store.status().message());
  ComplianceInput in;
  in.pve = ev.pve ? &*ev.pve : nullptr;
  in.store = ev.store.get();
  in.now_us = now_us;
  in.events_until_us = events_until_us;
  auto policy = ResolveRetention(env.config.retention_online, env.config.retention_archive,
                                 env.config.compliance_standards, env.config.retention_archive_dir,
                                 env.data_dir);
  if (policy.ok())
    ev.retention = *policy;
  else
    ev.notes.push_back("retention policy not valid: " + policy.status().message());
  in.retention = policy.ok() ? &ev.retention : nullptr;
  in.internal_networks = env.config.compliance_internal_networks;
  in.phi_scope = env.config.compliance_hipaa_phi;
  in.sox_data_scope = env.config.compliance_sox_data;
  auto fail = [](const Status& st) {
    std::cerr << "error: " << st.message() << "\n";
    std::exit(kExitFailure);
  };
  if (in.store) {
    auto ex = LoadExceptions(*in.store);
    if (!ex.ok()) fail(ex.status());
    ev.exceptions = std::move(*ex);
    in.exceptions = ev.exceptions;
  }
  auto outcomes = RunComplianceChecks(standard, in);
  if (!outcomes.ok()) fail(outcomes.status());
  ev.outcomes = std::move(*outcomes);
  return ev;
}

int RunCheck(const CheckCli& c) {
  Env env = ResolveEnv(c.common);
  CheckStandard(c.standard);
  report::ReportFormat f = report::ReportFormat::kText;
  if (!c.format.empty() && !report::ParseReportFormat(c.format, &f))
    throw UsageError{"invalid value '" + c.format +
                     "' for --output-format: expected text, json, json-pretty, csv, html or yaml"};
  if (c.format.empty() && !c.output.empty()) f = report::DefaultReportFormat(c.output);
  const int64_t now = NowUs();
  Evaluation ev = Evaluate(env, c.standard, c.pve_dir, now, 0);
  std::string text;
  if (f == report::ReportFormat::kText) {
    text = CheckText(c.standard, ev.outcomes, ev.notes, now);
  } else {
    report::Report r;
    r.title = c.standard + " compliance check " + FormatRfc3339Utc(now);
    r.sections.push_back({"checks", "Requirements", OutcomesTable(ev.outcomes)});
    r.notes = ev.notes;
    text = report::RenderReport(r, f);
  }
  if (!WriteOut(c.output, text)) return kExitFailure;
  if (!c.output.empty()) std::printf("wrote %s\n", c.output.c_str());
  for (const CheckOutcome& o : ev.outcomes)
    if (o.result == CheckResult::kFail) return kExitFailure;
  return kExitOk;
}

int RunReport(const ReportCli& c) {
  Env env = ResolveEnv(c.common);
  RequireObjectFormat(env, c.common.output_format);
  CheckStandard(c.standard);
  const int64_t now = NowUs() / 1000000 * 1000000;  // whole seconds: the report shows them
  report::Quarter q;
  CheckChange(ParseCertificationPeriod("--period", c.period, now, &q));
  if (c.output.empty()) throw UsageError{"--output DIR is required"};
  const std::string by = InvokingUser(c.by);
  CheckChange(CheckReviewer("--by", by));
  // A past quarter is evaluated at its last second, with the events up to
  // its end; the current one now.
  const int64_t as_of = std::min(now, q.end_us - 1000000);
  Evaluation ev = Evaluate(env, c.standard, c.pve_dir, as_of, as_of < now ? q.end_us : 0);
  ComplianceReportInfo info;
  info.standard = c.standard;
  info.period = q;
  info.as_of_us = as_of;
  info.generated_us = now;
  info.node = NodeNameOr(env.config.node);
  info.prepared_by = by;
  info.pve_dir = ev.pve_dir;
  info.store = ev.store ? StoreName(env) : "";
  info.notes = ev.notes;
  if (as_of < now && ev.pve)
    info.notes.push_back("the Proxmox config is the one of " + FormatRfc3339Utc(now) +
                         ": pveaudit keeps no history of it (its changes are events: pveam "
                         "access log --action acl,user,group,role,token)");
  const std::string html = ComplianceReportHtml(info, ev.outcomes, ev.exceptions);
  const std::string digest = report::Sha256Hex(html);
  const std::string json = ComplianceReportJson(info, ev.outcomes, ev.exceptions, digest);
  const std::string json_digest = report::Sha256Hex(json);

  std::error_code ec;
  std::filesystem::create_directories(c.output, ec);
  if (ec) {
    std::cerr << "error: cannot create " << c.output << ": " << ec.message() << "\n";
    return kExitFailure;
  }
  const std::string base =
      (std::filesystem::path(c.output) / ComplianceReportName(c.standard, q)).string();
  if (!WriteOut(base + ".html", html) || !WriteOut(base + ".json", json)) return kExitFailure;

  // The report is itself an audit event, as the quarterly review is.
  uint64_t id = 0;
  if (ev.store) {
    ev.store.reset();
    auto w = OpenStoreOrDie(env, /*read_only=*/false);
    std::vector<Event> events = {OwnAuditEvent("audit:compliance-report", by, info.node,
                                               "standard=" + c.standard + " period=" + q.Name() +
                                                   " sha256=" + digest +
                                                   " json_sha256=" + json_digest,
                                               NowUs())};
    Status st = w->Append(&events, {}, nullptr);
    if (!st.ok()) {
      std::cerr << "error: recording the report in the store: " << st.message() << "\n";
      return kExitFailure;
    }
    id = events[0].id;
  }
  std::map<std::string, size_t> tally;
  for (const CheckOutcome& o : ev.outcomes) ++tally[CheckResultName(o.result)];
  std::string summary;
  for (const char* k : {"PASS", "FAIL", "WARN", "EXCEPTED", "N/A", "UNCHECKED"})
    if (tally.count(k))
      summary += (summary.empty() ? "" : ", ") + std::to_string(tally[k]) + " " + k;
  if (env.format != OutputFormat::kText) {
    Table t;
    t.columns = {"standard", "period",      "as_of",   "html",       "html_sha256",
                 "json",     "json_sha256", "summary", "recorded_id"};
    t.rows.push_back({c.standard, q.Name(), FormatRfc3339Utc(as_of), base + ".html", digest,
                      base + ".json", json_digest, summary, id ? Cell(int64_t(id)) : Cell()});
    PrintObject(t, env.format);
  } else {
    std::printf("%s %s (as of %s): %s\nwrote %s.html\nwrote %s.json\n", c.standard.c_str(),
                q.Name().c_str(), FormatLocal(as_of).c_str(), summary.c_str(), base.c_str(),
                base.c_str());
    if (id)
      std::printf("recorded as event %llu (audit:compliance-report by %s, sha256 %s)\n",
                  static_cast<unsigned long long>(id), by.c_str(), digest.c_str());
  }
  for (const std::string& n : ev.notes) std::cerr << "note: " << n << "\n";
  if (!id)
    std::cerr << "note: this report is not recorded (no event store at " << StoreName(env)
              << "; import logs first to create it)\n";
  return kExitOk;
}

int RunExceptionAdd(const ExceptionAddCli& c) {
  Env env = ResolveEnv(c.common);
  CheckChange(CheckExceptionOptions(c.o, NowUs()));  // before the store is opened
  auto store = OpenStoreOrDie(env, /*read_only=*/false);
  auto e = AddException(*store, LocalActor(), NodeNameOr(env.config.node), c.o, NowUs());
  CheckChange(e.status());
  const Requirement* r = FindRequirement(e->requirement);
  std::printf("exception %llu added: %s (%s, %s) for %s until %s, approved by %s\n",
              static_cast<unsigned long long>(e->id), e->requirement.c_str(),
              std::string(r->title).c_str(), std::string(r->citation).c_str(), e->subject.c_str(),
              e->expires.c_str(), e->approved_by.c_str());
  return kExitOk;
}

int RunExceptionList(const CommonOptions& o, bool all) {
  Env env = ResolveEnv(o);
  auto store = OpenStoreOrSpool(env);
  auto list = LoadExceptions(*store);
  if (!list.ok()) {
    std::cerr << "error: " << list.status().message() << "\n";
    return kExitFailure;
  }
  const int64_t now = NowUs();
  Table t;
  t.columns = {"id", "requirement", "subject", "expires", "state", "approved_by", "reason"};
  if (env.format != OutputFormat::kText)
    t.columns.insert(t.columns.end(), {"created", "created_by"});
  size_t expired = 0;
  for (const ComplianceException& e : *list) {
    const bool active = e.Active(now);
    expired += !active;
    if (!active && !all && env.format == OutputFormat::kText) continue;
    std::vector<Cell> row = {
        int64_t(e.id), e.requirement, e.subject, e.expires, active ? "active" : "expired",
        e.approved_by, e.reason};
    if (env.format != OutputFormat::kText) {
      row.push_back(e.created);
      row.push_back(e.created_by);
    }
    t.rows.push_back(std::move(row));
  }
  if (env.format == OutputFormat::kText && t.rows.empty()) {
    std::printf("no %sexception recorded\n", expired ? "active " : "");
  } else {
    t.width = kTextWidth;
    PrintTable(t, env);
  }
  if (env.format == OutputFormat::kText && expired && !all)
    std::printf("%zu expired (a finding until removed or renewed; --all shows them)\n", expired);
  return kExitOk;
}

int RunExceptionRemove(const ExceptionRemoveCli& c) {
  Env env = ResolveEnv(c.common);
  if (c.id.empty() || c.id.find_first_not_of("0123456789") != std::string::npos)
    throw UsageError{"invalid exception id '" + c.id + "': expected a number"};
  auto store = OpenStoreOrDie(env, /*read_only=*/false);
  auto e = RemoveException(*store, LocalActor(), NodeNameOr(env.config.node), c.id);
  CheckChange(e.status());
  std::printf("exception %llu removed: %s for %s\n", static_cast<unsigned long long>(e->id),
              e->requirement.c_str(), e->subject.c_str());
  return kExitOk;
}

}  // namespace

std::string ResolveCompliancePveDir(const std::string& flag, const Env& env) {
  if (!flag.empty()) return flag;
  if (const char* d = std::getenv("PVEAUDIT_PVE_DIR"); d && *d) return d;
  return env.config.pve_dir.empty() ? "/etc/pve" : env.config.pve_dir;
}

void AddComplianceCommands(CLI::App* pveam,
                           std::vector<std::pair<CLI::App*, CommandRun>>* commands) {
  CLI::App* comp = pveam->add_subcommand(
      "compliance",
      "Compliance: requirements, checks, reports, access certification and the exceptions "
      "register");
  // As `access`: an unknown word is named (with a suggestion), and the
  // group alone prints its help (cli.cc, RunTree).
  comp->require_subcommand(0, 1);
  comp->allow_extras();

  auto ro = std::make_shared<CommonOptions>();
  CLI::App* req = comp->add_subcommand(
      "requirements", "List the HIPAA, PCI DSS and SOX requirements, their ids and citations");
  AddCommonOptions(req, ro.get(), true);
  req->footer(R"(
The ids are what 'pveam compliance exception add --requirement' takes.

Example:
  pveam compliance requirements)");
  req->allow_extras();  // RunTree names an unknown option
  commands->emplace_back(req, [ro] { return RunRequirements(*ro); });

  auto ch = std::make_shared<CheckCli>();
  CLI::App* check = comp->add_subcommand(
      "check", "Evaluate a standard's requirements on the Proxmox config and the store");
  AddCommonOptions(check, &ch->common, false);
  check->add_option("--standard", ch->standard, "hipaa, pci-dss or sox (required)");
  AddPveDirOption(check, &ch->pve_dir);
  check->add_option("--output", ch->output, "Write to FILE instead of stdout");
  check->add_option("--output-format", ch->format,
                    "text (default), json, json-pretty, csv, html or yaml (default from the "
                    "--output name)");
  check->footer(R"(
Each requirement of the standard gets PASS, FAIL, WARN, N/A or EXCEPTED
with the evidence that decided it, the command that shows that evidence and
a fix. A failure whose every subject has an active exception ('pveam
compliance exception add') is EXCEPTED; an expired exception is named.
Every requirement of the three standards is evaluated (docs/evidence.md,
"Compliance checks", says how each decides). hipaa:phi-access reads the
scope of [compliance.hipaa] phi (pools, guests, storages holding PHI; none
named is a failure); sox:data-access that of [compliance.sox] data (none
named: every guest and storage). A user whose access a certification
revoked but who still has the same privileges fails sox:certification and
pci-dss:access-review.

Exit status: 0 nothing failed, 1 a requirement failed (or a store error),
2 bad argument.

Examples:
  pveam compliance check --standard pci-dss
  pveam compliance check --standard hipaa --output /root/hipaa-check.html)");
  check->allow_extras();  // RunTree names an unknown option
  commands->emplace_back(check, [ch] { return RunCheck(*ch); });

  auto rp = std::make_shared<ReportCli>();
  CLI::App* rep = comp->add_subcommand(
      "report", "Write a standard's compliance report for a quarter: printable HTML plus JSON");
  AddCommonOptions(rep, &rp->common, true);
  rep->add_option("--standard", rp->standard, "hipaa, pci-dss or sox (required)")
      ->type_name("STANDARD");
  AddPeriodOption(rep, &rp->period);
  rep->add_option("--output", rp->output,
                  "Directory for the report; created when missing (required)")
      ->type_name("DIR");
  AddPveDirOption(rep, &rp->pve_dir);
  AddByOption(rep, &rp->by, "Who prepared it");
  rep->footer(R"(
Evaluates the standard's requirements as 'pveam compliance check' does and
writes DIR/compliance-STANDARD-QUARTER.html and .json (replacing earlier
ones of the same standard and quarter):
  - the HTML is one self-contained page to print or file: a cover with the
    period, the evaluation time, node, store and a summary, then one page
    per requirement with its result, evidence lines, the query that shows
    the evidence, the fix and the exceptions of the register for it (active
    or expired, and whether they applied), then a sign-off page;
  - the JSON (format pveaudit-compliance-report/1) holds the same and the
    HTML's SHA-256.
A past quarter is evaluated at its last second with the events up to its
end (the Proxmox config is read as it is now: a note says so); the current
quarter now. The run is recorded as an audit:compliance-report event with
the SHA-256 of both files (sha256sum DIR/*.html matches it).

The results are in the report: the exit status says whether it was written
(use 'pveam compliance check' for a pass/fail status).
--output-format: text (default), json, json-pretty or yaml (what was
written, the digests and the event id).
Exit status: 0 written, 1 store or write error, 2 bad argument.

Examples:
  pveam compliance report --standard sox --period 2026Q3 --output /root/audit/2026Q3
  pveam compliance report --standard pci-dss --period last --output /srv/evidence --by ciso@pve)");
  rep->allow_extras();  // RunTree names an unknown option
  commands->emplace_back(rep, [rp] { return RunReport(*rp); });

  AddCertifyCommands(comp, commands);

  CLI::App* exc = comp->add_subcommand(
      "exception", "The exceptions register: documented, approved, dated deviations");
  exc->require_subcommand(0, 1);
  exc->allow_extras();

  auto a = std::make_shared<ExceptionAddCli>();
  CLI::App* add = exc->add_subcommand("add", "Record an approved exception to one requirement");
  AddCommonOptions(add, &a->common, false);
  add->add_option("--requirement", a->o.requirement,
                  "Requirement id, e.g. pci-dss:2fa ('pveam compliance requirements')");
  add->add_option("--subject", a->o.subject,
                  "Who or what it is for: user or token (svc-backup@pve), pool (pool:ehr), path");
  add->add_option("--reason", a->o.reason, "Why (one line)");
  add->add_option("--approved-by", a->o.approved_by, "Who approved it (one line)");
  add->add_option("--expires", a->o.expires,
                  "Last day it applies, YYYY-MM-DD (cluster time zone); required");
  add->footer(R"(
Every option is required. A check that fails only because of an active
exception reports EXCEPTED with its id; an expired one is a finding. The
addition is an audit event (pveaudit:exception-add) with who, before and
after.

Exit status: 0 added, 1 store error, 2 bad value (named; nothing changed).

Example:
  pveam compliance exception add --requirement pci-dss:2fa --subject svc-backup@pve \
    --reason "backup robot, key-only, no interactive login" --approved-by ciso@pve \
    --expires 2027-03-31)");
  add->allow_extras();  // RunTree names an unknown option
  commands->emplace_back(add, [a] { return RunExceptionAdd(*a); });

  auto lo = std::make_shared<CommonOptions>();
  auto all = std::make_shared<bool>(false);
  CLI::App* list = exc->add_subcommand("list", "List the exceptions (active; --all: expired too)");
  AddCommonOptions(list, lo.get(), true);
  list->add_flag("--all", *all, "Also the expired ones (json, csv and yaml always list all)");
  list->footer(R"(
Example:
  pveam compliance exception list --all)");
  list->allow_extras();  // RunTree names an unknown option
  commands->emplace_back(list, [lo, all] { return RunExceptionList(*lo, *all); });

  auto rm = std::make_shared<ExceptionRemoveCli>();
  CLI::App* remove = exc->add_subcommand("remove", "Remove an exception (an audit event)");
  AddCommonOptions(remove, &rm->common, false);
  remove->add_option("id", rm->id, "The exception's id")->required();
  remove->footer(R"(
Example:
  pveam compliance exception remove 3)");
  remove->allow_extras();  // RunTree names an unknown option
  commands->emplace_back(remove, [rm] { return RunExceptionRemove(*rm); });
}

}  // namespace pveaudit
