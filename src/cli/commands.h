// commands.h
// Each command adds its subcommand to the CLI11 tree and returns the
// function that runs it once arguments are parsed (returning the exit code).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <utility>
#include <vector>

namespace pveaudit {

using CommandRun = std::function<int()>;

CommandRun AddAccessLogCommand(CLI::App* access);
CommandRun AddAccessImportCommand(CLI::App* access);
CommandRun AddAccessVerifyCommand(CLI::App* access);
CommandRun AddAccessStatusCommand(CLI::App* access);
CommandRun AddAccessRejectedCommand(CLI::App* access);
CommandRun AddAccessSessionsCommand(CLI::App* access);
CommandRun AddAccessMigrateCommand(CLI::App* access);
// pveam access alert add|list|remove|enable|disable and pveam access alerts:
// adds them and registers each runnable subcommand in `commands`.
void AddAccessAlertCommands(CLI::App* access,
                            std::vector<std::pair<CLI::App*, CommandRun>>* commands);
CommandRun AddAccessSyslogCommand(CLI::App* access);
CommandRun AddAccessNotifyCommand(CLI::App* access);
// pveam access web-user add|list|remove (local web accounts).
void AddAccessWebUserCommands(CLI::App* access,
                              std::vector<std::pair<CLI::App*, CommandRun>>* commands);

// pveam access export [verify] and pveam access key (signed evidence).
void AddAccessExportCommands(CLI::App* access,
                             std::vector<std::pair<CLI::App*, CommandRun>>* commands);

// pveam access review [list] (weekly log reviews).
// pveam access archive run|list|verify, pveam access hold add|list|remove.
void AddAccessArchiveCommands(CLI::App* access,
                              std::vector<std::pair<CLI::App*, CommandRun>>* commands);
void AddAccessReviewCommands(CLI::App* access,
                             std::vector<std::pair<CLI::App*, CommandRun>>* commands);

// pveam compliance requirements|check and pveam compliance exception
// add|list|remove (top level, beside `access`).
void AddComplianceCommands(CLI::App* pveam,
                           std::vector<std::pair<CLI::App*, CommandRun>>* commands);

// pveum: each adds one subcommand under the given parent ("user", "acl",
// "audit").
CommandRun AddUserPermissionsCommand(CLI::App* user);
CommandRun AddUserReportCommand(CLI::App* user);
CommandRun AddAclReportCommand(CLI::App* acl);
CommandRun AddAuditQuarterlyCommand(CLI::App* audit);

}  // namespace pveaudit
