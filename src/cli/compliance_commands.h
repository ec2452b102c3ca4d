// compliance_commands.h
// What the `pveam compliance` commands share between compliance.cc
// (requirements, check, report, exception) and compliance_certify.cc
// (certify start|decide|list|show).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "core/table.h"
#include "store/audited_setting.h"

namespace pveaudit {

// pveam compliance certify start|decide|list|show, under `comp`.
void AddCertifyCommands(CLI::App* comp, std::vector<std::pair<CLI::App*, CommandRun>>* commands);

// The Proxmox config directory: `flag` (--pve-dir), else $PVEAUDIT_PVE_DIR,
// the config's pve_dir, /etc/pve.
std::string ResolveCompliancePveDir(const std::string& flag, const Env& env);

// The options the compliance commands share: --period QUARTER (as
// ParseCertificationPeriod reads it), --by USERID (`who` says what the
// user did: "Who starts it"), --pve-dir DIR (ResolveCompliancePveDir).
void AddPeriodOption(CLI::App* cmd, std::string* period);
void AddByOption(CLI::App* cmd, std::string* by, const std::string& who);
void AddPveDirOption(CLI::App* cmd, std::string* pve_dir);

// For the commands whose result is one object (certify start, decide,
// compliance report): a UsageError unless the format is text, json,
// json-pretty or yaml.
void RequireObjectFormat(const Env& env, const std::string& typed);
// Prints the first row of `t` as one object: a JSON object (json,
// json-pretty) or a YAML mapping, keys in column order.
void PrintObject(const Table& t, OutputFormat format);

// The actor recorded for a change made for `reviewer` (--by): the reviewer
// is the event's user; who ran the command, when that is someone else, is
// named in the event's detail ("recorded by root@pam").
Actor ReviewerActor(const std::string& reviewer);

}  // namespace pveaudit
