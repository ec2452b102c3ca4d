#include "daemon/retention_runner.h"

#include "core/time_spec.h"
#include "core/version.h"
#include "evidence/archive.h"
#include "evidence/signing_key.h"

namespace pveaudit {

RetentionRunner::RetentionRunner(RetentionRunnerOptions o, LogFn log)
    : o_(std::move(o)), log_(std::move(log)), worker_(o_.every_us, [this] { RunOnce(); }) {}

RetentionRunner::~RetentionRunner() { Stop(); }

nlohmann::json RetentionRunner::State() const {
  std::lock_guard<std::mutex> l(state_mu_);
  return {{"policy", o_.policy.why}, {"archive_dir", o_.policy.archive_dir},
          {"last_run", last_run_},   {"archived", archived_},
          {"purged", purged_},       {"held", held_},
          {"error", error_}};
}

void RetentionRunner::RunOnce() {
  auto set_error = [&](const std::string& e) {
    {
      std::lock_guard<std::mutex> l(state_mu_);
      if (error_ == e) return;  // logged once, retried quietly
      error_ = e;
    }
    log_("error", "retention: " + e);
  };
  auto store = OpenSqliteStore(o_.data_dir, StoreOptions{});
  if (!store.ok()) return set_error(store.status().message());
  auto holds = LoadHolds(**store);
  if (!holds.ok()) return set_error(holds.status().message());
  auto key = SigningKey::LoadOrCreate(o_.data_dir);
  if (!key.ok()) return set_error("signing key: " + key.status().message());
  RetentionRunOptions ro;
  ro.write.archive_dir = o_.policy.archive_dir;
  ro.write.node = o_.node;
  ro.write.software = kPveauditVersion;
  ro.write.now_us = NowUs();
  ro.user = "root@pam";  // pveauditd's own action
  ro.progress = [&](const std::string& line) { log_("info", "retention: " + line); };
  auto run = RunRetention(**store, &*key, o_.policy, *holds, ro);
  if (!run.ok()) return set_error(run.status().message());
  std::lock_guard<std::mutex> l(state_mu_);
  last_run_ = FormatRfc3339Utc(ro.write.now_us);
  archived_ += run->archived.size();
  purged_ += run->purged.size();
  held_ = run->held.size();
  error_.clear();
}

}  // namespace pveaudit
