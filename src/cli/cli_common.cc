#include "cli/cli_common.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "core/host_name.h"
#include "core/time_spec.h"
#include "evidence/signing_key.h"
#include "store/spooling_store.h"

namespace pveaudit {

void AddCommonOptions(CLI::App* app, CommonOptions* o, bool with_output_format) {
  app->add_option("--data-dir", o->data_dir,
                  "Store directory (default: $PVEAUDIT_DATA_DIR, the config's data_dir, "
                  "/var/lib/pveaudit)")
      ->type_name("DIR");
  app->add_option("--config", o->config,
                  "Config file (default: $PVEAUDIT_CONFIG, /etc/pveaudit/pveaudit.toml)")
      ->type_name("FILE");
  if (with_output_format)
    app->add_option("--output-format", o->output_format,
                    "Output format: text, json, json-pretty, csv or yaml (default: text)")
        ->type_name("FORMAT");
}

Env ResolveEnv(const CommonOptions& o) {
  Env env;
  if (!ParseOutputFormat(o.output_format, &env.format))
    throw UsageError{"invalid value '" + o.output_format +
                     "' for --output-format: expected text, json, json-pretty, csv or yaml"};
  auto cfg = LoadConfig(o.config);
  if (!cfg.ok()) throw UsageError{cfg.status().message()};
  env.config = *cfg;
  // The config's zone was checked by LoadConfig; $TZ applies only without it.
  // Regression: an unknown zone silently became UTC (glibc's fallback).
  if (env.config.timezone.empty())
    if (const char* tz = std::getenv("TZ"); tz && *tz)
      if (Status st = CheckTimeZone(tz); !st.ok())
        throw UsageError{"environment variable TZ: " + st.message()};
  SetClusterTimeZone(env.config.timezone);
  if (!o.data_dir.empty())
    env.data_dir = o.data_dir;
  else if (const char* d = std::getenv("PVEAUDIT_DATA_DIR"); d && *d)
    env.data_dir = d;
  else
    env.data_dir = env.config.data_dir;
  env.store = env.config.StoreAt(env.data_dir);
  return env;
}

namespace {
Result<std::unique_ptr<EventStore>> OpenEnvStore(const Env& env, bool read_only) {
  StoreOptions opt;
  opt.read_only = read_only;
  opt.writer = NodeNameOr(env.config.node);
  return OpenStore(env.store, opt);
}
}  // namespace

std::unique_ptr<EventStore> OpenStoreOrDie(const Env& env, bool read_only) {
  auto s = OpenEnvStore(env, read_only);
  if (!s.ok()) {
    std::cerr << "error: " << s.status().message() << "\n";
    std::exit(kExitFailure);
  }
  return std::move(s.value());
}

std::unique_ptr<EventStore> OpenStoreOrSpool(const Env& env, bool* spool_only) {
  if (spool_only) *spool_only = false;
  auto s = OpenEnvStore(env, /*read_only=*/true);
  if (s.ok()) return std::move(s.value());
  if (env.store.postgres() && s.status().code() == Status::Code::kIOError) {
    auto spool = OpenSpoolForReading(env.data_dir);
    if (spool.ok()) {
      std::cerr << "warning: " << s.status().message()
                << "\nwarning: showing this node's local spool only: the events pveauditd "
                   "kept here while the database is away, not yet forwarded (other nodes' "
                   "events are not shown)\n";
      if (spool_only) *spool_only = true;
      return std::move(spool.value());
    }
  }
  std::cerr << "error: " << s.status().message() << "\n";
  std::exit(kExitFailure);
}

uint64_t ParseCount(const std::string& flag, const std::string& v, uint64_t min) {
  bool digits =
      !v.empty() && v.size() < 19 && v.find_first_not_of("0123456789") == std::string::npos;
  uint64_t n = digits ? std::stoull(v) : 0;
  if (!digits || n < min)
    throw UsageError{"invalid value '" + v + "' for " + flag +
                     ": expected a whole number >= " + std::to_string(min)};
  return n;
}

void CheckChange(const Status& st) {
  if (st.ok()) return;
  if (st.code() == Status::Code::kInvalidArgument) throw UsageError{st.message()};
  std::cerr << "error: " << st.message() << "\n";
  std::exit(kExitFailure);
}

Progress::Progress(std::string label) : label_(std::move(label)), tty_(isatty(2) != 0) {}
Progress::~Progress() { Done(); }

void Progress::Update(uint64_t done, uint64_t total) {
  if (!tty_ || total == 0) return;
  int64_t now = NowUs();
  if (now - last_us_ < 100000 && done < total) return;
  last_us_ = now;
  double f = std::min(1.0, double(done) / double(total));
  int width = 30, fill = int(f * width);
  std::string bar(size_t(fill), '#');
  bar.resize(size_t(width), '.');
  std::fprintf(stderr, "\r%s [%s] %3d%%", label_.c_str(), bar.c_str(), int(f * 100));
  std::fflush(stderr);
  shown_ = true;
}

void Progress::Done() {
  if (shown_) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    shown_ = false;
  }
}

std::string WithThousands(uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string InvokingUser(const std::string& flag) {
  if (!flag.empty()) return flag;
  std::string name;
  if (const char* s = std::getenv("SUDO_USER"); s && *s)
    name = s;
  else if (const char* u = std::getenv("USER"); u && *u)
    name = u;
  else if (struct passwd* pw = getpwuid(geteuid()))
    name = pw->pw_name;
  else
    name = "root";
  return name.find('@') == std::string::npos ? name + "@pam" : name;
}

std::string ReadTrustedKey(const std::string& path) {
  std::string pem;
  std::FILE* kf = std::fopen(path.c_str(), "rb");
  if (!kf) throw UsageError{"invalid value '" + path + "' for --key: cannot be read"};
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, kf)) > 0 && pem.size() < 65536) pem.append(buf, n);
  std::fclose(kf);
  if (VerifySignature(pem, "", "").code() == Status::Code::kInvalidArgument)
    throw UsageError{"invalid value '" + path +
                     "' for --key: not an Ed25519 public key in PEM form (as printed by "
                     "'pveam access key --pem')"};
  return pem;
}

void PrintJson(const nlohmann::ordered_json& j, OutputFormat f) {
  std::cout << (f == OutputFormat::kJsonPretty ? j.dump(4) : j.dump()) << "\n";
}

void PrintRendered(const Table& t, OutputFormat f) {
  std::string out = RenderTable(t, f);
  std::fwrite(out.data(), 1, out.size(), stdout);
}

}  // namespace pveaudit
