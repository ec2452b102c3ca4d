// pveam compliance requirements, pveam compliance check and pveam compliance
// exception add|list|remove.
#include <cstdio>
#include <iostream>
#include <map>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "core/host_name.h"
#include "core/time_spec.h"
#include "evidence/compliance_check.h"
#include "evidence/exceptions.h"
#include "evidence/requirements.h"
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

int RunCheck(const CheckCli& c) {
  Env env = ResolveEnv(c.common);
  if (c.standard.empty()) throw UsageError{"--standard hipaa|pci-dss|sox is required"};
  if (!IsStandard(c.standard))
    throw UsageError{"invalid value '" + c.standard +
                     "' for --standard: expected hipaa, pci-dss or sox"};
  report::ReportFormat f = report::ReportFormat::kText;
  if (!c.format.empty() && !report::ParseReportFormat(c.format, &f))
    throw UsageError{"invalid value '" + c.format +
                     "' for --output-format: expected text, json, json-pretty, csv, html or yaml"};
  if (c.format.empty() && !c.output.empty()) f = report::DefaultReportFormat(c.output);
  const int64_t now = NowUs();
  std::vector<std::string> notes;
  std::string pve_dir = c.pve_dir;
  if (pve_dir.empty())
    if (const char* d = std::getenv("PVEAUDIT_PVE_DIR"); d && *d) pve_dir = d;
  if (pve_dir.empty()) pve_dir = env.config.pve_dir.empty() ? "/etc/pve" : env.config.pve_dir;
  auto pve = pve::LoadPveConfig(pve_dir);
  if (!pve.ok()) notes.push_back("Proxmox config not read: " + pve.status().message());
  StoreOptions so;
  so.read_only = true;
  auto store = OpenStore(env.store, so);
  if (!store.ok()) notes.push_back("no event store: " + store.status().message());
  ComplianceInput in;
  in.pve = pve.ok() ? &*pve : nullptr;
  in.store = store.ok() ? store->get() : nullptr;
  in.now_us = now;
  if (in.store) {
    auto ex = LoadExceptions(*in.store);
    if (!ex.ok()) {
      std::cerr << "error: " << ex.status().message() << "\n";
      return kExitFailure;
    }
    in.exceptions = std::move(*ex);
  }
  auto outcomes = RunComplianceChecks(c.standard, in);
  if (!outcomes.ok()) {
    std::cerr << "error: " << outcomes.status().message() << "\n";
    return kExitFailure;
  }
  std::string text;
  if (f == report::ReportFormat::kText) {
    text = CheckText(c.standard, *outcomes, notes, now);
  } else {
    report::Report r;
    r.title = c.standard + " compliance check " + FormatRfc3339Utc(now);
    r.sections.push_back({"checks", "Requirements", OutcomesTable(*outcomes)});
    r.notes = notes;
    text = report::RenderReport(r, f);
  }
  if (!WriteOut(c.output, text)) return kExitFailure;
  if (!c.output.empty()) std::printf("wrote %s\n", c.output.c_str());
  for (const CheckOutcome& o : *outcomes)
    if (o.result == CheckResult::kFail) return kExitFailure;
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

void AddComplianceCommands(CLI::App* pveam,
                           std::vector<std::pair<CLI::App*, CommandRun>>* commands) {
  CLI::App* comp = pveam->add_subcommand(
      "compliance", "Compliance: the requirements pveaudit knows and the exceptions register");
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
  check->add_option("--pve-dir", ch->pve_dir,
                    "Proxmox config directory (default: $PVEAUDIT_PVE_DIR, the config's pve_dir, "
                    "/etc/pve)");
  check->add_option("--output", ch->output, "Write to FILE instead of stdout");
  check->add_option("--output-format", ch->format,
                    "text (default), json, json-pretty, csv, html or yaml (default from the "
                    "--output name)");
  check->footer(R"(
Each requirement of the standard gets PASS, FAIL, WARN, N/A or EXCEPTED
with the evidence that decided it, the command that shows that evidence and
a fix. A failure whose every subject has an active exception ('pveam
compliance exception add') is EXCEPTED; an expired exception is named.
Requirements pveaudit does not evaluate yet say UNCHECKED (never PASS).
Evaluated so far: hipaa:2fa, hipaa:access-review, pci-dss:access-logging,
pci-dss:access-review (docs/evidence.md).

Exit status: 0 nothing failed, 1 a requirement failed (or a store error),
2 bad argument.

Examples:
  pveam compliance check --standard pci-dss
  pveam compliance check --standard hipaa --output /root/hipaa-check.html)");
  check->allow_extras();  // RunTree names an unknown option
  commands->emplace_back(check, [ch] { return RunCheck(*ch); });

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
