// pveum user report, pveum acl report, pveum audit quarterly: the product
// page's compliance reports (docs/reports.md).
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "core/host_name.h"
#include "core/time_spec.h"
#include "evidence/audit_event.h"
#include "pve/access_config.h"
#include "report/model.h"
#include "report/quarterly.h"
#include "report/reports.h"

namespace pveaudit {
namespace {

using report::ReportFormat;

struct ReportCliOptions {
  CommonOptions common;
  std::string pve_dir, output, output_format, now;
};

void AddReportOptions(CLI::App* cmd, ReportCliOptions* o, bool output_is_dir) {
  cmd->add_option("--pve-dir", o->pve_dir,
                  "Proxmox config dir with user.cfg, priv/tfa.cfg, domains.cfg, storage.cfg and "
                  "nodes/ (default: $PVEAUDIT_PVE_DIR, the config's pve_dir, /etc/pve)")
      ->type_name("DIR");
  if (output_is_dir) {
    cmd->add_option("--output", o->output,
                    "Directory for the review (HTML, CSV and JSON); created when missing")
        ->type_name("DIR")
        ->required();
  } else {
    cmd->add_option("--output", o->output, "Write the report to FILE (default: stdout)")
        ->type_name("FILE");
    cmd->add_option("--output-format", o->output_format,
                    "csv, json, json-pretty, text, html or yaml (default: from the --output "
                    "name: .csv csv, .json json-pretty, .html html, .txt text, .yaml yaml, no "
                    "extension csv, another extension is an error; text on stdout)")
        ->type_name("FORMAT");
  }
  cmd->add_option("--now", o->now,
                  "Time reference for the 30-day and 90-day windows, active sessions and "
                  "expiry (default: the current time), e.g. 2026-12-31T23:59:59Z")
      ->type_name("TIME");
  AddCommonOptions(cmd, &o->common, false);
}

std::string ResolvePveDir(const ReportCliOptions& o, const Env& env) {
  if (!o.pve_dir.empty()) return o.pve_dir;
  if (const char* d = std::getenv("PVEAUDIT_PVE_DIR"); d && *d) return d;
  return env.config.pve_dir.empty() ? "/etc/pve" : env.config.pve_dir;
}

int64_t ParseNow(const std::string& text) {
  if (text.empty()) return NowUs();
  auto r = ParseTimeSpec(text, NowUs());
  if (!r.ok()) throw UsageError{"--now: " + r.status().message()};
  if (r->kind != TimeSpec::Kind::kInstant)
    throw UsageError{
        "--now: expected a date and time such as 2026-12-31T12:00:00Z, not a time "
        "of day"};
  return r->us;
}

// The format a --output name implies. Regression: names with another
// extension (r.xlsx, r.pdf) were silently written as CSV; they are refused
// (exit 2) unless --output-format says what to write. A name without an
// extension ("report", /dev/stdout) is CSV, and so is an existing FIFO or
// device whatever its name (its name is not a file type).
ReportFormat FormatFromOutputName(const std::string& output) {
  const std::string name = std::filesystem::path(output).filename().string();
  const size_t dot = name.rfind('.');
  struct stat st;
  const bool special = stat(output.c_str(), &st) == 0 && !S_ISREG(st.st_mode);
  if (dot != std::string::npos && dot > 0 && !special && !output.empty() && output != "-") {
    std::string ext = name.substr(dot);
    for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
    static const char* kKnown[] = {".csv", ".json", ".html", ".htm", ".txt", ".yaml", ".yml"};
    bool known = false;
    for (const char* k : kKnown) known |= ext == k;
    if (!known)
      throw UsageError{"cannot tell the format of --output '" + output + "' from its extension '" +
                       name.substr(dot) +
                       "': pveaudit writes .csv, .json, .html (.htm), .txt and .yaml (.yml); "
                       "name the file so, or give --output-format"};
  }
  return report::DefaultReportFormat(output);
}

ReportFormat ResolveFormat(const ReportCliOptions& o) {
  if (o.output_format.empty()) return FormatFromOutputName(o.output);
  ReportFormat f;
  if (!report::ParseReportFormat(o.output_format, &f))
    throw UsageError{"invalid value '" + o.output_format +
                     "' for --output-format: expected csv, json, json-pretty, text, html or yaml"};
  return f;
}

// A missing or unreadable config is a usage error naming the file (exit 2):
// never an empty report presented as complete.
// Without a readable user.cfg (not a Proxmox node, or not root) the message
// says where the directory comes from.
pve::PveConfig LoadPveOrThrow(const std::string& dir) {
  auto cfg = pve::LoadPveConfig(dir);
  if (!cfg.ok())
    throw UsageError{cfg.status().message() +
                     "\nThe reports read the Proxmox config directory (user.cfg, priv/tfa.cfg, "
                     "domains.cfg, nodes/): run on a Proxmox VE node as root, or point to a "
                     "copy with --pve-dir DIR, $PVEAUDIT_PVE_DIR or pve_dir in the config file."};
  return std::move(cfg.value());
}

// The store when it exists (read-only), else null with a note.
std::unique_ptr<EventStore> OpenStoreIfAny(const Env& env) {
  StoreOptions opt;
  opt.read_only = true;
  auto s = OpenStore(env.store, opt);
  if (s.ok()) return std::move(s.value());
  if (s.status().code() == Status::Code::kNotFound) return nullptr;
  std::cerr << "error: " << s.status().message() << "\n";
  std::exit(kExitFailure);
}

std::string NoStoreNote(const Env& env) {
  return "no event store at " + StoreName(env) +
         ": last login unknown (last login, failed logins and active sessions are left empty)";
}

// Puts the complete file `tmp` in place of `path` atomically. An existing
// `path` is exchanged with `tmp` (renameat2 RENAME_EXCHANGE) and then
// removed: a plain rename() over an existing file makes ext4 (auto_da_alloc)
// start writing the new file's data back before rename returns, which costs
// ~0.2 s for the ACL report's 350 MB. The reader sees the old or the new
// file, never a partial one, either way. False with errno set.
bool ReplaceFile(const std::string& tmp, const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
      renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_EXCHANGE) == 0) {
    unlink(tmp.c_str());  // the old file now
    return true;
  }
  // No regular file there (or no RENAME_EXCHANGE on this file system).
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

// Runs `write` on `path` (a temporary file put into place once complete),
// or on stdout when `path` is empty. A `path` that exists and is not a
// regular file (/dev/null, a FIFO, /dev/stdout) is written directly: it
// must not be replaced by a file. `write` returns false on a write error
// (errno set).
bool WriteWith(const std::string& path, const std::function<bool(std::FILE*)>& write) {
  if (path.empty() || path == "-") {
    bool ok = write(stdout);
    return std::fflush(stdout) == 0 && ok;
  }
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
    errno = 0;
    std::FILE* f = std::fopen(path.c_str(), "wb");
    bool ok = f && write(f) && std::fflush(f) == 0;
    int err = errno;
    if (f && std::fclose(f) != 0 && ok) {
      ok = false;
      err = errno;
    }
    if (!ok)
      std::cerr << "error: cannot write " << path << ": " << std::strerror(err ? err : EIO) << "\n";
    return ok;
  }
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  auto fail = [&](const std::string& why) {
    std::cerr << "error: cannot write " << path << ": " << why << "\n";
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    return false;
  };
  errno = 0;
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return fail(std::strerror(errno));
  bool ok = write(f) && std::fflush(f) == 0;
  int err = errno;
  if (std::fclose(f) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (!ok) return fail(std::strerror(err ? err : EIO));
  if (!ReplaceFile(tmp, path)) return fail(std::strerror(errno));
  return true;
}

}  // namespace

bool WriteOut(const std::string& path, const std::string& data) {
  return WriteWith(path, [&](std::FILE* f) {
    return std::fwrite(data.data(), 1, data.size(), f) == data.size();
  });
}

namespace {

// Prints the report's notes on stderr unless they are already part of
// what goes to the terminal.
void NotesToStderr(const std::vector<std::string>& notes, const ReportCliOptions& o,
                   ReportFormat f) {
  bool embedded = o.output.empty() && f != ReportFormat::kCsv;
  if (embedded) return;
  for (const std::string& n : notes) std::cerr << "note: " << n << "\n";
}

}  // namespace

CommandRun AddUserReportCommand(CLI::App* user) {
  auto o = std::make_shared<ReportCliOptions>();
  CLI::App* cmd = user->add_subcommand(
      "report",
      "User access report: every user with last login, active sessions, permissions, 2FA status "
      "and tokens");
  AddReportOptions(cmd, o.get(), false);
  cmd->footer(R"(
One row per user: userid, realm, enabled, expire, groups, last_login,
last_login_ip, failed_logins_30d, active_sessions, permissions, tfa, tokens
(docs/reports.md explains every column). Last login, failed logins and
sessions come from the event store (--data-dir); without a store those cells
are empty and a note says so.

Examples:
  pveum user report --output /tmp/user-access-report.csv
  pveum user report --output-format json-pretty
  pveum user report --now 2026-12-31T23:59:59Z --output users.html)");
  return [o]() -> int {
    Env env = ResolveEnv(o->common);
    ReportFormat fmt = ResolveFormat(*o);
    report::ReportOptions ropt;
    ropt.now_us = ParseNow(o->now);
    std::string pve_dir = ResolvePveDir(*o, env);
    pve::PveConfig cfg = LoadPveOrThrow(pve_dir);
    auto store = OpenStoreIfAny(env);
    auto facts = report::CollectStoreFacts(store.get(), ropt, NoStoreNote(env));
    if (!facts.ok()) {
      std::cerr << "error: " << facts.status().message() << "\n";
      return kExitFailure;
    }
    if (!WriteWith(o->output, [&](std::FILE* f) {
          return report::WriteUserReport(cfg, *facts, ropt, fmt, f);
        }))
      return kExitFailure;
    NotesToStderr(report::UserReportNotes(cfg, *facts), *o, fmt);
    if (!o->output.empty())
      std::cerr << "wrote " << cfg.access.users.size() << " users to " << o->output << "\n";
    return kExitOk;
  };
}

CommandRun AddAclReportCommand(CLI::App* acl) {
  auto o = std::make_shared<ReportCliOptions>();
  CLI::App* cmd = acl->add_subcommand(
      "report",
      "Permission audit report: ACL entries, group memberships, role definitions, path "
      "coverage and orphaned entries");
  AddReportOptions(cmd, o.get(), false);
  cmd->footer(R"(
Sections: acl (every entry, orphaned ones flagged), groups, roles, coverage
(every user's and token's effective roles and privileges on every ACL path;
the principals with the same cells on a path share one row), warnings
(user.cfg lines Proxmox ignores). CSV is one file whose first column,
'section', names the section; JSON is an object with one array per section
(docs/reports.md).

Examples:
  pveum acl report --output /tmp/permission-report.csv
  pveum acl report --output-format json-pretty)");
  return [o]() -> int {
    Env env = ResolveEnv(o->common);
    ReportFormat fmt = ResolveFormat(*o);
    report::ReportOptions ropt;
    ropt.now_us = ParseNow(o->now);
    pve::PveConfig cfg = LoadPveOrThrow(ResolvePveDir(*o, env));
    // csv and json are streamed: the coverage section (millions of rows
    // on a large cluster) is never held as one table or string.
    report::AclReportCounts n;
    if (!WriteWith(o->output,
                   [&](std::FILE* f) { return report::WriteAclReport(cfg, ropt, fmt, f, &n); }))
      return kExitFailure;
    if (!o->output.empty())
      std::cerr << "wrote " << n.entries << " ACL entries (" << n.orphaned << " orphaned), "
                << n.coverage << " coverage rows (" << n.coverage_pairs
                << " principal-path pairs) to " << o->output << "\n";
    return kExitOk;
  };
}

CommandRun AddAuditQuarterlyCommand(CLI::App* audit) {
  struct QuarterlyOptions {
    ReportCliOptions r;
    std::string quarter, user, shared_ips = "3", shared_window = "60", inactive_days = "90";
    std::vector<std::string> trusted;
  };
  auto o = std::make_shared<QuarterlyOptions>();
  CLI::App* cmd = audit->add_subcommand(
      "quarterly",
      "Quarterly access review: run the checklist and write an HTML report plus CSV and JSON "
      "of every finding");
  cmd->add_option("--quarter", o->quarter,
                  "The quarter under review, e.g. 2026Q4 (default: the quarter containing --now)")
      ->type_name("YYYYQN");
  cmd->add_option("--user", o->user,
                  "Reviewer recorded in the audit event (default: $SUDO_USER or $USER as "
                  "<name>@pam)")
      ->type_name("USERID");
  cmd->add_option("--shared-ips", o->shared_ips,
                  "Shared-looking account: this many distinct source addresses (default 3)...")
      ->type_name("N");
  cmd->add_option("--shared-window", o->shared_window, "...within this many minutes (default 60)")
      ->type_name("MIN");
  cmd->add_option("--trusted-ip", o->trusted,
                  "Addresses ignored by the shared-account check, e.g. the cluster nodes that "
                  "proxy requests to each other (repeatable; address or CIDR)")
      ->type_name("CIDR");
  cmd->add_option("--inactive-days", o->inactive_days,
                  "Inactive account: no login or activity for this many days (default 90)")
      ->type_name("DAYS");
  AddReportOptions(cmd, &o->r, true);
  cmd->footer(R"(
Checks (docs/reports.md states every rule):
  1. user list verification: last login of every user, never logged in,
     inactive for 90+ days, shared-looking accounts
  2. permission review: Administrator/admin roles, ACLs on / that propagate,
     ACLs granted to users directly, tokens without privilege separation
  3. 2FA compliance: users without an enabled second factor
  4. expired accounts: expired but enabled, disabled users holding ACLs,
     expired tokens
  5. orphaned permissions: ACLs naming users, groups, tokens, roles, guests,
     storages or pools that do not exist

Writes DIR/access-review-QUARTER.html (self-contained, printable),
DIR/access-review-QUARTER-findings.csv and -findings.json, and records the
run in the event store as action audit:review with the HTML's SHA-256.

Example:
  pveum audit quarterly --quarter 2026Q4 --output /root/reviews)");
  return [o]() -> int {
    Env env = ResolveEnv(o->r.common);
    report::ReportOptions ropt;
    ropt.now_us = ParseNow(o->r.now);
    report::Quarter q;
    if (o->quarter.empty())
      q = report::QuarterOf(ropt.now_us);
    else if (!report::ParseQuarter(o->quarter, &q))
      throw UsageError{"invalid value '" + o->quarter +
                       "' for --quarter: expected YYYYQ1..Q4, "
                       "e.g. 2026Q4"};
    auto whole = [](const std::string& flag, const std::string& v, int64_t min) {
      bool ok = !v.empty() && v.size() < 10 && v.find_first_not_of("0123456789") == v.npos;
      int64_t n = ok ? std::stoll(v) : 0;
      if (!ok || n < min)
        throw UsageError{"invalid value '" + v + "' for " + flag +
                         ": expected a whole number >= " + std::to_string(min)};
      return n;
    };
    ropt.shared_ips = int(whole("--shared-ips", o->shared_ips, 2));
    ropt.shared_window_us = whole("--shared-window", o->shared_window, 1) * 60 * 1000000;
    ropt.inactive_us = whole("--inactive-days", o->inactive_days, 1) * report::kDayUs;
    for (const std::string& c : o->trusted) {
      IpRange r;
      if (!ParseIpRange(c, &r))
        throw UsageError{"invalid value '" + c +
                         "' for --trusted-ip: expected an address or "
                         "CIDR range such as 192.0.2.0/24"};
    }
    ropt.trusted_ips = o->trusted;
    ropt.period_start_us = q.start_us;
    ropt.period_end_us = std::min(q.end_us, ropt.now_us);
    std::string reviewer = InvokingUser(o->user);
    std::string pve_dir = ResolvePveDir(o->r, env);
    pve::PveConfig cfg = LoadPveOrThrow(pve_dir);

    auto store = OpenStoreIfAny(env);
    bool have_store = store != nullptr;
    auto facts = report::CollectStoreFacts(store.get(), ropt, NoStoreNote(env));
    if (!facts.ok()) {
      std::cerr << "error: " << facts.status().message() << "\n";
      return kExitFailure;
    }
    store.reset();
    std::vector<report::Finding> findings = report::RunQuarterlyChecks(cfg, *facts, ropt);
    report::ReviewMeta meta{q, reviewer, pve_dir, have_store ? StoreName(env) : ""};
    std::string html = report::QuarterlyHtml(meta, cfg, *facts, ropt, findings);
    std::string digest = report::Sha256Hex(html);

    std::error_code ec;
    std::filesystem::create_directories(o->r.output, ec);
    if (ec) {
      std::cerr << "error: cannot create " << o->r.output << ": " << ec.message() << "\n";
      return kExitFailure;
    }
    std::string base =
        (std::filesystem::path(o->r.output) / ("access-review-" + q.Name())).string();
    report::Report data;
    data.title = "Quarterly access review " + q.Name();
    Table review;
    review.columns = {"quarter",  "period_start", "period_end", "now",
                      "reviewer", "pve_dir",      "store",      "html_sha256"};
    review.rows.push_back({q.Name(), FormatRfc3339Utc(q.start_us), FormatRfc3339Utc(q.end_us),
                           FormatRfc3339Utc(ropt.now_us), reviewer, pve_dir, meta.store, digest});
    data.sections.push_back({"review", "Review", review});
    data.sections.push_back({"findings", "Findings", report::FindingsTable(findings)});
    data.sections.push_back({"users", "Users", report::ReviewUsersTable(cfg, *facts, ropt, false)});
    if (!facts->available) data.notes.push_back(facts->note);
    for (const pve::ConfigWarning& w : cfg.warnings) data.notes.push_back(report::WarningText(w));
    report::Report csv;
    csv.sections.push_back(data.sections[1]);
    if (!WriteOut(base + ".html", html) ||
        !WriteOut(base + "-findings.csv", report::RenderReport(csv, ReportFormat::kCsv)) ||
        !WriteOut(base + "-findings.json", report::RenderReport(data, ReportFormat::kJsonPretty)))
      return kExitFailure;

    int n[4] = {0, 0, 0, 0};
    for (const report::Finding& f : findings) ++n[int(f.severity)];
    std::printf("%s: %zu findings (%d high, %d medium, %d low)\n", q.Name().c_str(),
                findings.size(), n[0], n[1], n[2]);
    std::printf("wrote %s.html\nwrote %s-findings.csv\nwrote %s-findings.json\n", base.c_str(),
                base.c_str(), base.c_str());
    if (!facts->available) std::cerr << "note: " << facts->note << "\n";

    // The review is itself an audit event.
    if (!have_store) {
      std::cerr << "note: no event store at " << StoreName(env)
                << ": this review is not recorded (import logs first to create the store)\n";
      return kExitOk;
    }
    auto w = OpenStoreOrDie(env, /*read_only=*/false);
    std::vector<Event> ev = {OwnAuditEvent("audit:review", reviewer, NodeNameOr(env.config.node),
                                           "quarter=" + q.Name() + " sha256=" + digest, NowUs())};
    Status st = w->Append(&ev, {}, nullptr);
    if (!st.ok()) {
      std::cerr << "error: recording the review in the store: " << st.message() << "\n";
      return kExitFailure;
    }
    std::printf("recorded as event %llu (audit:review by %s, sha256 %s)\n",
                static_cast<unsigned long long>(ev[0].id), reviewer.c_str(), digest.c_str());
    return kExitOk;
  };
}

}  // namespace pveaudit
