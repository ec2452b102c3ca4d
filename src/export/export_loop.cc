#include "export/export_loop.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include "core/time_spec.h"

namespace pveaudit {

bool SelectedFor(EventSelection sel, const Event& e) {
  const bool alert = e.action.rfind("alert:", 0) == 0;
  switch (sel) {
    case EventSelection::kAll:
      return true;
    case EventSelection::kAlerts:
      return alert;
    case EventSelection::kFailed:
      return alert || e.result == Outcome::kFailure;
  }
  return true;
}

nlohmann::json ExportState::ToJson() const {
  return {{"destination", destination},
          {"consumer", consumer},
          {"describe", describe},
          {"enabled", enabled},
          {"cursor", cursor},
          {"undelivered", undelivered},
          {"lag_s", lag_s},
          {"last_error", last_error},
          {"last_error_time", last_error_us ? FormatRfc3339Utc(last_error_us) : std::string()},
          {"delivered", delivered},
          {"failures", failures}};
}

ExportLoop::ExportLoop(EventStore& store, std::unique_ptr<Sink> sink, ExportLoopOptions options)
    : store_(store),
      sink_(std::move(sink)),
      opt_(std::move(options)),
      rng_(std::random_device{}()) {
  if (opt_.batch == 0) opt_.batch = 1;
  state_.destination = opt_.destination;
  state_.consumer = opt_.consumer;
  state_.describe = sink_->Describe();
}

Status ExportLoop::Init() {
  auto c = store_.GetConsumer(opt_.consumer);
  if (!c.ok()) return c.status();
  if (c->has_value()) {
    cursor_ = **c;
  } else {
    // A new destination gets what is stored from now on (or everything).
    uint64_t start = 0;
    if (!opt_.from_start) {
      auto info = store_.Info();
      if (!info.ok()) return info.status();
      start = info->last_id;
    }
    PVEAUDIT_RETURN_IF_ERROR(store_.PutConsumer(opt_.consumer, start));
    cursor_ = start;
  }
  initialized_ = true;
  std::lock_guard<std::mutex> l(mu_);
  state_.cursor = cursor_;
  return Status::OK();
}

void ExportLoop::SetError(const Status& s) {
  std::lock_guard<std::mutex> l(mu_);
  state_.last_error = s.message();
  state_.last_error_us = NowUs();
  ++state_.failures;
}

Status ExportLoop::Step(bool* idle) {
  *idle = false;
  if (!initialized_) {
    Status s = Init();
    if (!s.ok()) {
      SetError(s);
      return s;
    }
  }
  const int64_t now = NowUs();
  std::vector<Event> batch;
  uint64_t last_seen = cursor_;
  size_t read = 0;
  Status s = store_.ScanAfter(cursor_, opt_.batch, kFieldAll, [&](const Event& e) {
    ++read;
    last_seen = e.id;
    if (SelectedFor(opt_.selection, e)) batch.push_back(e);
    return true;
  });
  if (!s.ok()) {
    SetError(s);
    return s;
  }
  if (read == 0) {
    *idle = true;
    pending_since_us_ = 0;
    std::lock_guard<std::mutex> l(mu_);
    state_.undelivered = 0;
    state_.lag_s = 0;
    return Status::OK();
  }
  if (pending_since_us_ == 0) pending_since_us_ = now;
  // The backlog for status: at most once a second (Info reads the store).
  auto update_backlog = [&](uint64_t cursor) {
    if (now - last_info_us_ < 1000000) return;
    last_info_us_ = now;
    auto info = store_.Info();
    if (!info.ok()) return;
    std::lock_guard<std::mutex> l(mu_);
    state_.undelivered = info->last_id > cursor ? info->last_id - cursor : 0;
    state_.lag_s = (now - pending_since_us_) / 1000000;
  };
  if (!batch.empty()) {
    s = sink_->Deliver(batch);
    if (!s.ok()) {
      sink_->Reset();
      SetError(s);
      update_backlog(cursor_);
      return s;
    }
  }
  // Delivered: only now may the cursor pass these events. A crash before
  // this commit resends the batch (at least once).
  s = store_.PutConsumer(opt_.consumer, last_seen);
  if (!s.ok()) {
    SetError(s);
    return s;
  }
  cursor_ = last_seen;
  const bool caught_up = read < opt_.batch;
  {
    std::lock_guard<std::mutex> l(mu_);
    state_.cursor = last_seen;
    state_.delivered += batch.size();
    state_.last_error.clear();
    if (caught_up) {
      state_.undelivered = 0;
      state_.lag_s = 0;
    }
  }
  if (caught_up)
    pending_since_us_ = 0;
  else
    update_backlog(last_seen);
  return Status::OK();
}

void ExportLoop::Nap(int64_t us, const std::atomic<bool>& stop) {
  auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(us);
  while (!stop && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(20, us / 1000 + 1)));
}

void ExportLoop::Run(const std::atomic<bool>& stop) {
  while (!stop) {
    bool idle = false;
    Status s = Step(&idle);
    if (s.ok()) {
      backoff_us_ = 0;
      if (idle) Nap(opt_.idle_poll_us, stop);
      continue;
    }
    // Transient (kBusy, kIOError): exponential backoff with jitter, so many
    // nodes do not reconnect in step. Anything else (a refusal, a bad
    // certificate) will not heal by itself soon: retry at the cap.
    const bool transient = s.code() == Status::Code::kBusy || s.code() == Status::Code::kIOError;
    backoff_us_ = transient ? std::clamp(backoff_us_ * 2, opt_.min_backoff_us, opt_.max_backoff_us)
                            : opt_.max_backoff_us;
    int64_t wait = backoff_us_ / 2 + int64_t(rng_() % uint64_t(backoff_us_ / 2 + 1));
    wait = std::max(wait, std::min(sink_->RetryAfterUs(), opt_.max_backoff_us * 10));
    Nap(wait, stop);
  }
}

ExportState ExportLoop::State() const {
  std::lock_guard<std::mutex> l(mu_);
  return state_;
}

}  // namespace pveaudit
