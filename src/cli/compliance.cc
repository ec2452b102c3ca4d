// pveam compliance requirements; pveam compliance exception add|list|remove.
#include <cstdio>
#include <iostream>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "core/host_name.h"
#include "core/time_spec.h"
#include "evidence/exceptions.h"
#include "evidence/requirements.h"

namespace pveaudit {
namespace {

struct ExceptionAddCli {
  CommonOptions common;
  ExceptionOptions o;
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
