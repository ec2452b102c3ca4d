// pveam access export (monthly evidence bundles), pveam access export
// verify, and pveam access key (the node's signing key).
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "core/host_name.h"
#include "core/time_spec.h"
#include "core/version.h"
#include "evidence/audit_event.h"
#include "evidence/month_bundle.h"
#include "evidence/signing_key.h"

namespace pveaudit {
namespace {

struct ExportOptions {
  CommonOptions common;
  std::string month, output, format = "csv", user;
};

struct ExportVerifyOptions {
  std::string dir, key, output_format = "text";
};

int RunExport(const ExportOptions& o) {
  Env env = ResolveEnv(o.common);
  Month month;
  const int64_t now = NowUs();
  if (o.month.empty()) throw UsageError{"--month YYYY-MM is required"};
  if (o.month == "last") {
    Month cur = MonthOf(now);
    month = MonthOf(cur.start_us - 1);
  } else if (!ParseMonth(o.month, &month)) {
    throw UsageError{"invalid value '" + o.month +
                     "' for --month: expected YYYY-MM (e.g. 2026-10) or 'last'"};
  }
  if (month.start_us > now)
    throw UsageError{"invalid value '" + o.month + "' for --month: that month has not begun"};
  BundleFormat format;
  if (!ParseBundleFormat(o.format, &format))
    throw UsageError{"invalid value '" + o.format +
                     "' for --output-format: expected csv, json or cef"};
  if (o.output.empty()) throw UsageError{"--output DIR is required"};
  {
    // Before anything is created (the signing key at first use).
    std::error_code ec;
    if (std::filesystem::exists(o.output, ec) &&
        (!std::filesystem::is_directory(o.output, ec) || !std::filesystem::is_empty(o.output, ec)))
      throw UsageError{"invalid value '" + o.output +
                       "' for --output: it exists and is not an empty directory"};
  }
  auto store = OpenStoreOrDie(env, /*read_only=*/true);
  auto key = SigningKey::LoadOrCreate(env.data_dir);
  if (!key.ok()) {
    std::cerr << "error: signing key: " << key.status().message() << "\n";
    return kExitFailure;
  }
  BundleOptions b;
  b.month = month;
  b.format = format;
  b.output_dir = o.output;
  b.node = NodeNameOr(env.config.node);
  b.store_name = StoreName(env);
  b.software = kPveauditVersion;
  b.now_us = now;
  if (month.end_us > now)
    std::cerr << "note: " << month.Name()
              << " is not over yet: the bundle holds its events up to now\n";
  auto r = WriteMonthBundle(*store, *key, b);
  if (!r.ok()) {
    if (r.status().code() == Status::Code::kInvalidArgument)
      throw UsageError{"invalid value '" + o.output + "' for --output: " + r.status().message()};
    std::cerr << "error: " << r.status().message() << "\n";
    return kExitFailure;
  }
  store.reset();
  std::printf("wrote %s: %s events of %s (%s), manifest.json, SHA256SUMS, signed\n",
              o.output.c_str(), WithThousands(r->events).c_str(), month.Name().c_str(),
              r->events_file.c_str());
  std::printf("signing key sha256 %s\n", r->key_fingerprint.c_str());
  // The export is itself an audit event, with the bundle's digest.
  auto w = OpenStoreOrDie(env, /*read_only=*/false);
  std::vector<Event> ev = {OwnAuditEvent("audit:export", InvokingUser(o.user), b.node,
                                         ExportEventDetail(month, format, *r), NowUs())};
  Status st = w->Append(&ev, {}, nullptr);
  if (!st.ok()) {
    std::cerr << "error: recording the export in the store: " << st.message() << "\n";
    return kExitFailure;
  }
  std::printf("recorded as event %llu (audit:export by %s, SHA256SUMS sha256 %s)\n",
              static_cast<unsigned long long>(ev[0].id), ev[0].user.c_str(),
              r->sums_sha256.c_str());
  return kExitOk;
}

int RunExportVerify(const ExportVerifyOptions& o) {
  OutputFormat f;
  if (!ParseOutputFormat(o.output_format, &f) ||
      (f != OutputFormat::kText && f != OutputFormat::kJson && f != OutputFormat::kJsonPretty))
    throw UsageError{"invalid value '" + o.output_format +
                     "' for --output-format: expected text, json or json-pretty"};
  std::string trusted = o.key.empty() ? std::string() : ReadTrustedKey(o.key);
  auto r = VerifyMonthBundle(o.dir, trusted);
  if (!r.ok()) {
    std::cerr << "error: " << r.status().message() << "\n";
    return kExitFailure;
  }
  const std::string key_note =
      r->trusted_key ? "checked against the trusted key " + o.key
                     : "checked against the key in the bundle: compare its sha256 with the "
                       "node's ('pveam access key') or pass --key";
  if (f != OutputFormat::kText) {
    nlohmann::ordered_json j = {{"intact", int(r->intact())},
                                {"month", r->month},
                                {"events", r->events},
                                {"trusted_key", int(r->trusted_key)},
                                {"key_sha256", r->key_fingerprint},
                                {"problems", r->problems},
                                {"checked", r->checked}};
    PrintJson(j, f);
  } else if (r->intact()) {
    std::printf("OK: %s, %s events of %s, every file matches its signed checksum\n", o.dir.c_str(),
                WithThousands(r->events).c_str(), r->month.c_str());
    for (const std::string& c : r->checked) std::printf("  %s\n", c.c_str());
    std::printf("key sha256 %s (%s)\n", r->key_fingerprint.c_str(), key_note.c_str());
  } else {
    std::printf("BROKEN: %s\n", r->problems.front().c_str());
    for (size_t i = 1; i < r->problems.size(); ++i)
      std::printf("  also: %s\n", r->problems[i].c_str());
    if (!r->key_fingerprint.empty())
      std::printf("key sha256 %s (%s)\n", r->key_fingerprint.c_str(), key_note.c_str());
  }
  return r->intact() ? kExitOk : kExitFailure;
}

int RunKey(const CommonOptions& o, bool pem_only) {
  Env env = ResolveEnv(o);
  auto key = SigningKey::LoadOrCreate(env.data_dir);
  if (!key.ok()) {
    std::cerr << "error: signing key: " << key.status().message() << "\n";
    return kExitFailure;
  }
  const std::string path = env.data_dir + "/" + kSigningKeyFile;
  if (pem_only) {
    std::fputs(key->public_pem().c_str(), stdout);
  } else if (env.format == OutputFormat::kJson || env.format == OutputFormat::kJsonPretty) {
    PrintJson({{"sha256", key->fingerprint()}, {"public_key", key->public_pem()}, {"file", path}},
              env.format);
  } else if (env.format != OutputFormat::kText) {
    throw UsageError{"invalid value '" + o.output_format +
                     "' for --output-format: expected text, json or json-pretty"};
  } else {
    std::printf("signing key %s (Ed25519, private part 0600)\nsha256 %s\n%s", path.c_str(),
                key->fingerprint().c_str(), key->public_pem().c_str());
  }
  return kExitOk;
}

}  // namespace

void AddAccessExportCommands(CLI::App* access,
                             std::vector<std::pair<CLI::App*, CommandRun>>* commands) {
  auto o = std::make_shared<ExportOptions>();
  CLI::App* cmd = access->add_subcommand(
      "export", "Write a month's events as a signed evidence bundle an auditor checks offline");
  AddCommonOptions(cmd, &o->common, false);
  // Checked in RunExport: a required option here would be demanded of
  // 'export verify' too.
  cmd->add_option("--month", o->month,
                  "The month, YYYY-MM (cluster time zone), or 'last' (required)");
  cmd->add_option("--output", o->output,
                  "Directory to create (must not exist, or be empty); written beside it and "
                  "renamed into place (required)");
  cmd->add_option("--output-format", o->format, "Events file format: csv (default), json or cef");
  cmd->add_option("--user", o->user,
                  "Who exports, recorded in the audit event (default: $SUDO_USER or $USER as "
                  "user@pam)");
  cmd->require_subcommand(0, 1);
  cmd->footer(R"(
The bundle holds the month's events exactly as 'pveam access log --start
<1st> --end <1st of next month>' shows them (one event per real action),
oldest first, and:
  manifest.json    month, UTC range, the query, event counts per action
                   class and result, first/last event id, the store's chain
                   head at export time, node, software version, file hashes
  SHA256SUMS       sha256sum -c format: the events file and manifest.json
  SHA256SUMS.sig   Ed25519 signature of SHA256SUMS by the node's key
  signing-key.pem  that key's public half
The export is recorded in the store as an audit:export event with the
SHA-256 of SHA256SUMS.

Check a bundle on any machine, without pveaudit:
  cd DIR && sha256sum -c SHA256SUMS &&
  openssl pkeyutl -verify -pubin -inkey KEY.pem -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig
(KEY.pem: the node's public key as 'pveam access key' printed it, kept by
the auditor; signing-key.pem in the bundle proves only that the files were
not changed since someone signed them.)

Exit status: 0 written, 1 store or file error, 2 bad argument.

Examples:
  pveam access export --month 2026-10 --output /srv/audit-exports/2026-10
  pveam access export --month last --output-format cef --output /tmp/last-month
  pveam access export verify /srv/audit-exports/2026-10 --key pve1-audit-key.pem)");
  commands->emplace_back(cmd, [o] { return RunExport(*o); });

  auto v = std::make_shared<ExportVerifyOptions>();
  CLI::App* vc = cmd->add_subcommand("verify",
                                     "Check an export bundle offline: checksums, signature, "
                                     "manifest; no store needed");
  vc->add_option("dir", v->dir, "The bundle directory")->required();
  vc->add_option("--key", v->key,
                 "The node's public key (PEM, from 'pveam access key') to check the signature "
                 "against; without it, the key in the bundle is used, and the output says so");
  vc->add_option("--output-format", v->output_format, "text (default), json or json-pretty");
  vc->footer(R"(
Checks that SHA256SUMS is signed by the key, that every file it lists is
present with that SHA-256, that manifest.json names the same files and
hashes, and that the directory holds nothing else. The first problem is
printed after BROKEN, naming the file.

Exit status: 0 intact, 1 not intact (or unreadable), 2 bad argument.

Example:
  pveam access export verify /srv/audit-exports/2026-10 --key pve1-audit-key.pem)");
  commands->emplace_back(vc, [v] { return RunExportVerify(*v); });

  auto k = std::make_shared<CommonOptions>();
  auto pem_only = std::make_shared<bool>(false);
  CLI::App* kc = access->add_subcommand(
      "key", "Show the node's Ed25519 signing key (public half), creating it at first use");
  AddCommonOptions(kc, k.get(), true);
  kc->add_flag("--pem", *pem_only, "Print only the public key, in PEM (for --key and openssl)");
  kc->footer(R"(
The private key is <data dir>/signing-key.pem (mode 0600). Give the public
key printed here to your auditors: 'pveam access export verify --key' and
openssl check bundles against it.

Example:
  pveam access key
  pveam access key --pem > pve1-audit-key.pem)");
  commands->emplace_back(kc, [k, pem_only] { return RunKey(*k, *pem_only); });
}

}  // namespace pveaudit
