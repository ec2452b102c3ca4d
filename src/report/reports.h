// reports.h
// `pveum user report` and `pveum acl report`: the product page's "User
// Access Report" and "Permission Audit Report" as sections of a Report
// (render.h). docs/reports.md describes every column.
// Thread safety: pure functions of their inputs.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "pve/access_config.h"
#include "report/model.h"
#include "report/render.h"

namespace pveaudit::report {

// One row per user: userid, realm, enabled, expire, groups, last_login,
// last_login_ip, failed_logins_30d, active_sessions, permissions, tfa,
// tokens. `local_times`: times in the cluster zone (text/html) instead of
// RFC 3339 UTC.
Report BuildUserReport(const pve::PveConfig& cfg, const StoreFacts& facts, const ReportOptions& opt,
                       bool local_times);

// The user report's notes: the missing store, config lines Proxmox ignores.
std::vector<std::string> UserReportNotes(const pve::PveConfig& cfg, const StoreFacts& facts);

// The user report written to `out` in `format`: csv and json/json-pretty
// are streamed (ReportWriter, a block of users at a time), the other
// formats rendered from BuildUserReport. False on a write error (errno).
bool WriteUserReport(const pve::PveConfig& cfg, const StoreFacts& facts, const ReportOptions& opt,
                     ReportFormat format, std::FILE* out);

// Sections "acl", "groups", "roles", "coverage", "warnings".
Report BuildAclReport(const pve::PveConfig& cfg, const ReportOptions& opt);

struct AclReportCounts {
  size_t entries = 0;         // rows of "acl"
  size_t orphaned = 0;        // of which orphaned
  size_t coverage = 0;        // rows of "coverage"
  size_t coverage_pairs = 0;  // (principal, path) pairs those rows list
};

// The ACL report written to `out` in `format`, byte for byte
// RenderReport(BuildAclReport(cfg, opt), format). csv and json/json-pretty
// are streamed: the coverage section is kept as 16-byte records (ids of the
// principal and of its role and privilege texts) and encoded into the
// output path by path, never as a table of strings. text, html and yaml are
// rendered from the whole Report. `counts` (optional) gets the row counts.
// False on a write error (errno).
bool WriteAclReport(const pve::PveConfig& cfg, const ReportOptions& opt, ReportFormat format,
                    std::FILE* out, AclReportCounts* counts);

// Why an ACL entry is orphaned ("user 'bob@pve' does not exist", "guest 105
// does not exist", ...), or "" when every name it uses exists.
std::string AclOrphanReason(const pve::PveConfig& cfg, const pve::Acl& acl);

// "user.cfg:12: ignore invalid acl role 'Foo'".
std::string WarningText(const pve::ConfigWarning& w);

// The 2FA cell: "none", "totp, webauthn", "realm oath (enforced)", ...
std::string TfaText(const pve::TfaStatus& s);

}  // namespace pveaudit::report
