#include "daemon/monthly_export.h"

#include <filesystem>

#include "core/time_spec.h"
#include "core/version.h"
#include "evidence/audit_event.h"
#include "evidence/month_bundle.h"
#include "evidence/signing_key.h"

namespace pveaudit {

MonthlyExporter::MonthlyExporter(EventStore& store, StoreLocation where, MonthlyExportOptions o,
                                 LogFn log)
    : store_(store),
      where_(std::move(where)),
      o_(std::move(o)),
      log_(std::move(log)),
      worker_(o_.check_every_us, [this] { CheckOnce(); }) {}

MonthlyExporter::~MonthlyExporter() { Stop(); }

nlohmann::json MonthlyExporter::State() const {
  std::lock_guard<std::mutex> l(state_mu_);
  return {{"dir", o_.dir},
          {"last_month", last_month_},
          {"last_events", last_events_},
          {"error", error_}};
}

void MonthlyExporter::CheckOnce() {
  const int64_t now = NowUs();
  const Month current = MonthOf(now - o_.grace_us);
  const Month month = MonthOf(current.start_us - 1);  // the last one over for grace_us
  const std::string dir = o_.dir + "/" + month.Name();
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) return;
  auto set_error = [&](const std::string& e) {
    {
      std::lock_guard<std::mutex> l(state_mu_);
      if (error_ == e) return;  // logged once, retried quietly
      error_ = e;
    }
    log_("error", "monthly export of " + month.Name() + ": " + e);
  };
  BundleOptions b;
  b.month = month;
  ParseBundleFormat(o_.format, &b.format);
  b.output_dir = dir;
  b.node = o_.node;
  b.store_name = where_.Describe();
  b.software = kPveauditVersion;
  b.now_us = now;
  // A month that ended before the store's first event has nothing to show
  // (a node installed this month): no bundle.
  auto info = store_.Info();
  if (!info.ok()) return set_error(info.status().message());
  if (info->events == 0 || info->first_time_us >= month.end_us) return;
  auto key = SigningKey::LoadOrCreate(o_.data_dir);
  if (!key.ok()) return set_error("signing key: " + key.status().message());
  std::unique_ptr<EventStore> reader;
  if (!where_.data_dir.empty() || where_.postgres()) {
    StoreOptions so;
    so.read_only = true;
    auto r = OpenStore(where_, so);
    if (!r.ok()) return set_error(r.status().message());
    reader = std::move(r.value());
  }
  auto r = WriteMonthBundle(reader ? *reader : store_, *key, b);
  reader.reset();
  if (!r.ok()) return set_error(r.status().message());
  // pveauditd's own action: root@pam.
  std::vector<Event> ev = {OwnAuditEvent("audit:export", "root@pam", o_.node,
                                         ExportEventDetail(month, b.format, *r) + " by=pveauditd",
                                         NowUs())};
  Status st = store_.Append(&ev, {}, nullptr);
  {
    std::lock_guard<std::mutex> l(state_mu_);
    last_month_ = month.Name();
    last_events_ = r->events;
    error_ = st.ok() ? "" : "recording the audit:export event: " + st.message();
  }
  log_("info", "monthly export: wrote " + dir + " (" + std::to_string(r->events) + " events of " +
                   month.Name() + ", SHA256SUMS sha256 " + r->sums_sha256 + ")");
  if (!st.ok()) log_("error", "monthly export: recording the audit:export event: " + st.message());
}

}  // namespace pveaudit
