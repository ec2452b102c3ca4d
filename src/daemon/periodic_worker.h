// periodic_worker.h
// PeriodicWorker runs one piece of work on a thread of its own, once the
// daemon's sources have all been read once since its start (SetCaughtUp:
// until then the lines of the period just closed may still be in their
// files), and again every `every_us`, until stopped. The monthly exporter
// and the retention runner are built on it.
// Thread safety: Start/Stop from one thread; SetCaughtUp from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace pveaudit {

class PeriodicWorker {
 public:
  PeriodicWorker(int64_t every_us, std::function<void()> work)
      : every_us_(every_us), work_(std::move(work)) {}
  ~PeriodicWorker() { Stop(); }
  PeriodicWorker(const PeriodicWorker&) = delete;
  PeriodicWorker& operator=(const PeriodicWorker&) = delete;

  void Start() {
    if (thread_.joinable()) return;
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = false;
    }
    thread_ = std::thread([this] { Run(); });
  }
  void Stop() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  void SetCaughtUp(bool v) { caught_up_ = v; }

 private:
  void Run() {
    std::unique_lock<std::mutex> l(mu_);
    while (!stop_) {
      if (!caught_up_) {
        // Regression (monthly export): at the start the month was exported
        // before the lanes had stored its lines (an empty bundle, never redone).
        cv_.wait_for(l, std::chrono::milliseconds(200), [this] { return stop_; });
        continue;
      }
      l.unlock();
      work_();
      l.lock();
      cv_.wait_for(l, std::chrono::microseconds(every_us_), [this] { return stop_; });
    }
  }

  const int64_t every_us_;
  std::function<void()> work_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::atomic<bool> caught_up_{false};
};

}  // namespace pveaudit
