// reports.h
// `pveum user report` and `pveum acl report`: the product page's "User
// Access Report" and "Permission Audit Report" as sections of a Report
// (render.h). docs/reports.md describes every column.
// Thread safety: pure functions of their inputs.
#pragma once

#include <string>

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

// Sections "acl", "groups", "roles", "coverage", "warnings".
Report BuildAclReport(const pve::PveConfig& cfg, const ReportOptions& opt);

// Why an ACL entry is orphaned ("user 'bob@pve' does not exist", "guest 105
// does not exist", ...), or "" when every name it uses exists.
std::string AclOrphanReason(const pve::PveConfig& cfg, const pve::Acl& acl);

// "user.cfg:12: ignore invalid acl role 'Foo'".
std::string WarningText(const pve::ConfigWarning& w);

// The 2FA cell: "none", "totp, webauthn", "realm oath (enforced)", ...
std::string TfaText(const pve::TfaStatus& s);

}  // namespace pveaudit::report
