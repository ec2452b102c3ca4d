#include "daemon/daemon.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/time_spec.h"
#include "pipeline/file_source.h"
#include "store/event_store.h"

namespace pveaudit {
namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};

void Log(const char* level, const std::string& msg) {
  // stderr goes to the journal under systemd; one line per message.
  std::fprintf(stderr, "pveauditd[%s]: %s\n", level, msg.c_str());
  std::fflush(stderr);
}

std::string HostName() {
  char h[256] = {};
  if (gethostname(h, sizeof h - 1) != 0) return "localhost";
  std::string s = h;
  if (auto dot = s.find('.'); dot != std::string::npos) s.resize(dot);
  return s.empty() ? "localhost" : s;
}

std::vector<std::unique_ptr<FileSource>> MakeSources(const Config& c) {
  std::vector<std::unique_ptr<FileSource>> out;
  std::string node = c.node.empty() ? HostName() : c.node;
  auto add = [&](const char* name, const FileSourceConfig& fs, const char* format) {
    if (!fs.enabled || fs.path.empty()) return;
    ImportOptions o;
    o.format = format;
    o.node = std::string(format) == "pveproxy" ? node : c.node;
    out.push_back(std::make_unique<FileSource>(name, fs.path, o));
  };
  add("access_log", c.access_log, "pveproxy");
  add("auth", c.auth, "auth");
  add("tasks", c.tasks, "tasks");
  return out;
}

// Sleeps up to `ms`, waking early for a stop or reload request.
void Nap(int ms) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!g_stop && !g_reload && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(ms, 20)));
}

}  // namespace

void Daemon::RequestStop() { g_stop = true; }
void Daemon::RequestReload() { g_reload = true; }

int Daemon::Run() {
  SetClusterTimeZone(opt_.config.timezone);
  std::unique_ptr<EventStore> store;
  while (!store && !g_stop) {
    auto s = OpenSqliteStore(opt_.data_dir, StoreOptions{});
    if (s.ok()) {
      store = std::move(s.value());
      break;
    }
    Log("error", "cannot open the store in " + opt_.data_dir + ": " + s.status().message());
    if (opt_.config.on_store_error == "exit") return 1;
    Nap(opt_.config.retry_ms);
  }
  if (!store) return 0;

  auto sources = MakeSources(opt_.config);
  if (sources.empty()) Log("warning", "no source is enabled; nothing to do until one is");
  for (auto& src : sources) Log("info", "following " + src->state().path + " (" + src->state().name + ")");
  bool caught_up = false;
  int64_t last_status = 0;
  std::map<std::string, uint64_t> last_events;  // per source, at last_status
  bool failing = false;

  while (!g_stop) {
    if (g_reload.exchange(false)) {
      if (opt_.sources_from_flags) {
        Log("info", "SIGHUP: sources come from the command line; nothing to reload");
      } else {
        auto c = LoadConfig(opt_.config_path);
        if (!c.ok()) {
          Log("error", "SIGHUP: keeping the old configuration: " + c.status().message());
        } else {
          opt_.config = *c;
          SetClusterTimeZone(opt_.config.timezone);
          sources = MakeSources(opt_.config);
          caught_up = false;
          Log("info", "SIGHUP: configuration reloaded from " +
                          (c->source.empty() ? std::string("defaults") : c->source));
        }
      }
    }
    bool error = false;
    for (auto& src : sources) {
      if (g_stop) break;
      Status st = caught_up ? src->Poll(*store) : src->CatchUp(*store);
      if (!st.ok()) {
        error = true;
        if (!failing) Log("error", src->state().name + ": " + st.message());
        if (opt_.config.on_store_error == "exit" &&
            (st.code() == Status::Code::kIOError || st.code() == Status::Code::kBusy ||
             st.code() == Status::Code::kCorruption)) {
          Log("error", "exiting (on_store_error = \"exit\"); cursors were not advanced");
          return 1;
        }
      }
    }
    if (!error) caught_up = true;
    if (error != failing) {
      if (!error) Log("info", "recovered; ingest resumed from the stored cursors");
      failing = error;
    }
    int64_t now = NowUs();
    if (now - last_status >= 1000000) {
      int64_t last_status_prev = last_status;
      last_status = now;
      nlohmann::json j;
      j["pid"] = getpid();
      j["updated"] = FormatRfc3339Utc(now);
      j["healthy"] = !failing;
      for (auto& src : sources) {
        const FileSourceState& s = src->state();
        nlohmann::json o;
        o["name"] = s.name;
        o["path"] = s.path;
        o["format"] = s.format;
        o["ok"] = s.ok;
        o["error"] = s.error;
        o["offset"] = s.offset;
        o["size"] = s.size;
        o["lag_bytes"] = s.size > s.offset ? s.size - s.offset : 0;
        o["events"] = s.events;
        double secs = last_status_prev ? double(now - last_status_prev) / 1e6 : 0;
        uint64_t before = last_events.count(s.name) ? last_events[s.name] : s.events;
        o["events_per_s"] = secs > 0 ? int64_t(double(s.events - before) / secs) : 0;
        last_events[s.name] = s.events;
        o["rejected"] = s.rejected;
        o["last_event"] = s.last_event_us ? FormatRfc3339Utc(s.last_event_us) : "";
        j["sources"].push_back(o);
      }
      (void)store->PutSetting("daemon.status", j.dump(), "pveauditd");
    }
    Nap(failing ? opt_.config.retry_ms : opt_.config.poll_ms);
  }
  Log("info", "stopped");
  return 0;
}

}  // namespace pveaudit
