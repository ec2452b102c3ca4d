#include "daemon/export_runner.h"

#include <chrono>
#include <set>
#include <vector>

#include "alert/alert_engine.h"
#include "export/cef.h"
#include "export/syslog_sink.h"
#include "export/webhook_sink.h"

namespace pveaudit {
namespace {

// Leaves out the alerts whose rule sent them elsewhere (`--notify`):
// deciding not to send one is as final as sending it, so the cursor moves
// past it either way.
class RoutedSink : public Sink {
 public:
  RoutedSink(std::unique_ptr<Sink> inner, std::string kind)
      : inner_(std::move(inner)), kind_(std::move(kind)) {}
  Status Deliver(std::span<const Event> batch) override {
    size_t keep = 0;
    for (const Event& e : batch) keep += AlertGoesTo(e, kind_);
    if (keep == batch.size()) return inner_->Deliver(batch);
    if (keep == 0) return Status::OK();
    std::vector<Event> some;
    some.reserve(keep);
    for (const Event& e : batch)
      if (AlertGoesTo(e, kind_)) some.push_back(e);
    return inner_->Deliver(some);
  }
  int64_t RetryAfterUs() const override { return inner_->RetryAfterUs(); }
  void Reset() override { inner_->Reset(); }
  void SetCancel(const std::atomic<bool>* c) override { inner_->SetCancel(c); }
  std::string Describe() const override { return inner_->Describe(); }

 private:
  std::unique_ptr<Sink> inner_;
  std::string kind_;
};

struct SinkSpec {
  std::unique_ptr<Sink> sink;
  EventSelection selection = EventSelection::kAll;
  // Events per Deliver (one syslog write, one webhook POST). The cursor is
  // stored once per round of up to ExportLoopOptions::max_round events, not
  // per batch.
  size_t batch = 2000;
  bool from_start = false;
  bool enabled = true;
  int64_t hold_us = int64_t(SyslogDestination::kDefaultHoldS) * 1000000;
};

Result<SinkSpec> MakeSink(EventStore& store, const std::string& kind, const std::string& name,
                          const nlohmann::json& j, const std::string& host) {
  SinkSpec spec;
  if (kind == "syslog") {
    auto d = SyslogDestination::FromJson(name, j);
    if (!d.ok()) return d.status();
    spec.selection = d->events;
    spec.from_start = d->from_start;
    spec.enabled = d->enabled;
    spec.hold_us = int64_t(d->hold_s) * 1000000;
    spec.sink = MakeSyslogSink(*d, host, CefDeviceVersion());
    return spec;
  }
  if (kind == "webhook") {
    if (!j.is_object())
      return Status::InvalidArgument("destination '" + name + "' is not an object");
    spec.enabled = !j.contains("enabled") || j["enabled"] != false;
    const std::string ev =
        j.contains("events") && j["events"].is_string() ? j["events"].get<std::string>() : "all";
    if (!ParseEventSelection(ev, &spec.selection))
      return Status::InvalidArgument("destination '" + name + "': invalid events '" + ev + "'");
    if (j.contains("batch") && j["batch"].is_number_unsigned() && j["batch"].get<size_t>() > 0)
      spec.batch = j["batch"].get<size_t>();
    else
      spec.batch = 100;  // events per POST
    if (j.contains("hold_s") && j["hold_s"].is_number_unsigned() &&
        j["hold_s"].get<int64_t>() <= 3600)
      spec.hold_us = j["hold_s"].get<int64_t>() * 1000000;
    if (!spec.enabled) return spec;  // no sink needed
    // The secret is kept apart from the audited setting (access_notify.cc).
    auto d = ResolveWebhookDestination(store, name, j);
    if (!d.ok()) return d.status();
    auto sink = MakeWebhookSink(*d);
    if (!sink.ok()) return sink.status();
    spec.sink = std::move(sink.value());
    return spec;
  }
  return Status::InvalidArgument("unknown destination kind '" + kind + "'");
}

}  // namespace

ExportRunner::ExportRunner(EventStore& store, StoreLocation where, std::string host, LogFn log)
    : store_(store), where_(std::move(where)), host_(std::move(host)), log_(std::move(log)) {}

ExportRunner::~ExportRunner() { Stop(); }

void ExportRunner::Start() {
  if (watcher_.joinable()) return;
  stop_ = false;
  watcher_ = std::thread([this] { Watch(); });
}

void ExportRunner::Stop() {
  stop_ = true;
  if (watcher_.joinable()) watcher_.join();
  std::map<std::string, std::unique_ptr<Running>> all;
  {
    std::lock_guard<std::mutex> l(mu_);
    all.swap(running_);
  }
  for (auto& [key, r] : all) r->stop = true;  // all at once, then wait for each
  for (auto& [key, r] : all) StopOne(r.get());
}

void ExportRunner::StopOne(Running* r) {
  r->stop = true;
  if (r->thread.joinable()) r->thread.join();
}

void ExportRunner::Watch() {
  while (!stop_) {
    Sync("syslog", "export.syslog");
    Sync("webhook", "export.webhook");
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    while (!stop_ && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void ExportRunner::Sync(const std::string& kind, const std::string& setting_key) {
  auto v = store_.GetSetting(setting_key);
  if (!v.ok()) return;  // the store is busy or failing: keep what runs
  nlohmann::json all = nlohmann::json::object();
  if (v->has_value() && !(*v)->empty()) {
    all = nlohmann::json::parse(**v, nullptr, false);
    if (!all.is_object()) {
      log_("error", "setting " + setting_key +
                        " is not a JSON object; exports of this kind keep running as they were");
      return;
    }
  }
  std::set<std::string> seen;
  for (auto it = all.begin(); it != all.end(); ++it) {
    const std::string key = kind + ":" + it.key();
    seen.insert(key);
    const std::string config = it.value().dump();
    std::unique_ptr<Running> old;  // stopped outside the lock: States() keeps answering
    {
      std::lock_guard<std::mutex> l(mu_);
      auto r = running_.find(key);
      if (r != running_.end() && r->second->config == config) continue;
      if (r != running_.end()) {
        old = std::move(r->second);
        running_.erase(r);
      }
    }
    if (old) StopOne(old.get());
    auto run = std::make_unique<Running>();
    run->kind = kind;
    run->name = it.key();
    run->config = config;
    auto spec = MakeSink(store_, kind, it.key(), it.value(), host_);
    if (!spec.ok()) {
      run->error = spec.status().message();
      log_("error", "export " + key + ": " + run->error);
    } else if (!spec->enabled) {
      run->enabled = false;
      log_("info", "export " + key + ": disabled");
    } else {
      ExportLoopOptions o;
      o.consumer = key;
      o.destination = it.key();
      o.selection = spec->selection;
      o.batch = spec->batch;
      o.from_start = spec->from_start;
      o.hold_us = spec->hold_us;
      log_("info", "export " + key + ": sending to " + spec->sink->Describe());
      // Scans on a connection of their own: they never wait for the
      // writer's lock, nor hold up ingest.
      std::unique_ptr<EventStore> reader;
      if (!where_.data_dir.empty() || where_.postgres()) {
        StoreOptions so;
        so.read_only = true;
        auto r = OpenStore(where_, so);
        if (r.ok())
          reader = std::move(r.value());
        else
          log_("warning",
               "export " + key + ": reading through the writer: " + r.status().message());
      }
      auto sink = std::make_unique<RoutedSink>(std::move(spec->sink), kind);
      run->loop = std::make_unique<ExportLoop>(store_, std::move(sink), o, std::move(reader));
      Running* r = run.get();
      r->thread = std::thread([r] { r->loop->Run(r->stop); });
    }
    std::lock_guard<std::mutex> l(mu_);
    running_[key] = std::move(run);
  }
  std::vector<std::unique_ptr<Running>> removed;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto it = running_.begin(); it != running_.end();) {
      if (it->second->kind == kind && !seen.count(it->first)) {
        log_("info", "export " + it->first + ": removed");
        removed.push_back(std::move(it->second));
        it = running_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& r : removed) StopOne(r.get());
}

nlohmann::json ExportRunner::States() const {
  nlohmann::json out = nlohmann::json::array();
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& [key, r] : running_) {
    nlohmann::json j;
    if (r->loop) {
      j = r->loop->State().ToJson();
    } else {
      ExportState s;
      s.destination = r->name;
      s.consumer = key;
      s.enabled = r->enabled;
      s.last_error = r->error;
      auto c = store_.GetConsumer(key);
      if (c.ok() && c->has_value()) s.cursor = **c;
      j = s.ToJson();
    }
    j["kind"] = r->kind;
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace pveaudit
