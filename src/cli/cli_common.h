// cli_common.h
// Shared pieces of the command implementations: resolving the data
// directory and time zone, opening the store, argument errors (exit 2)
// with "did you mean" hints, and progress on a terminal.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/did_you_mean.h"  // DidYouMean, for the commands
#include "core/status.h"
#include "core/table.h"
#include "evidence/retention.h"
#include "store/event_store.h"

namespace pveaudit {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// Text tables fit a classic terminal, whatever its actual width, so the
// same command prints the same lines in a terminal, a mail or a ticket.
constexpr size_t kTextWidth = 80;

// Options every command takes.
struct CommonOptions {
  std::string data_dir;
  std::string config;
  std::string output_format = "text";
};

void AddCommonOptions(CLI::App* app, CommonOptions* o, bool with_output_format);

// Thrown by commands for a bad argument; printed as "<cmd>: <message>" and
// the process exits 2.
struct UsageError {
  std::string message;
};

// Loads the config, applies the time zone and resolves the data dir
// (--data-dir, $PVEAUDIT_DATA_DIR, config, default).
struct Env {
  Config config;
  std::string data_dir;
  StoreLocation store;  // the config's store with data_dir: what OpenStoreOrDie opens
  OutputFormat format = OutputFormat::kText;
};
Env ResolveEnv(const CommonOptions& o);

// Where the store is, for messages: the data dir, or the PostgreSQL URL
// without its password.
inline std::string StoreName(const Env& env) {
  return env.store.postgres() ? RedactStoreUrl(env.store.url) : env.data_dir;
}

// Opens the store or prints why not and exits 1.
std::unique_ptr<EventStore> OpenStoreOrDie(const Env& env, bool read_only);

// For the commands that show events (log, sessions, status, rejected):
// OpenStoreOrDie(env, true), except that when the cluster's PostgreSQL
// database does not answer and this node has a spool (pveauditd keeps its
// events there meanwhile, store/spooling_store.h), it opens the spool and
// says on stderr that only this node's unforwarded events are shown;
// *spool_only (may be null) is then set.
std::unique_ptr<EventStore> OpenStoreOrSpool(const Env& env, bool* spool_only = nullptr);

// Writes `data` to `path` (via a temporary file renamed into place), or
// to stdout when `path` is empty; prints why not and returns false.
bool WriteOut(const std::string& path, const std::string& data);

// Who runs the command, for the audit events it records: `flag` when
// given, else $SUDO_USER, $USER or the effective user, as user@pam.
std::string InvokingUser(const std::string& flag);

// Parses a whole number >= min for `flag`, or throws a UsageError naming it.
uint64_t ParseCount(const std::string& flag, const std::string& v, uint64_t min);

// For a failed change of pveaudit's settings (admin/settings_ops.h): a bad
// value (kInvalidArgument) is thrown as a UsageError (exit 2); anything else
// is printed as "error: ..." and the process exits 1. Returns when ok.
void CheckChange(const Status& st);

// Writes a one-line progress bar to stderr when it is a terminal.
class Progress {
 public:
  explicit Progress(std::string label);
  ~Progress();
  void Update(uint64_t done, uint64_t total);
  void Done();

 private:
  std::string label_;
  bool tty_;
  int64_t last_us_ = 0;
  bool shown_ = false;
};

std::string WithThousands(uint64_t n);

// True for json and json-pretty.
inline bool IsJson(OutputFormat f) {
  return f == OutputFormat::kJson || f == OutputFormat::kJsonPretty;
}
// Prints `j` as --output-format json or json-pretty asks.
void PrintJson(const nlohmann::ordered_json& j, OutputFormat f);
// Prints `t` rendered in `f` to stdout.
void PrintRendered(const Table& t, OutputFormat f);

// The public key in the PEM file `path` (a --key option: the node's key as
// 'pveam access key --pem' printed it), or a UsageError naming the file.
std::string ReadTrustedKey(const std::string& path);

// The retention policy of the config (evidence/retention.h), or a
// UsageError naming what is wrong with it.
RetentionPolicy PolicyOrDie(const Env& env);

}  // namespace pveaudit
