#include "daemon/daemon.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "core/time_spec.h"
#include "daemon/pve_config_source.h"
#include "ingest/line_parser.h"
#include "ingest/login_tracker.h"
#include "ingest/syslog_listener.h"
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

// Forwarded syslog lines: parsed as authentication lines and stored in one
// transaction per poll. There is no cursor to commit with them: a line is
// durable once that transaction commits, and lines still queued when the
// process dies are lost (syslog over UDP/TCP has no acknowledgement).
class SyslogSource {
 public:
  Status Start(const std::string& listen) {
    ListenOptions o;
    o.udp = o.tcp = listen;
    PVEAUDIT_RETURN_IF_ERROR(listener_.Start(o));
    ParseContext ctx;
    ctx.origin = "syslog";
    parser_ = MakeLineParser(LineFormat::kAuth, ctx);
    return Status::OK();
  }
  // Stores what arrived since the last call. On a store error the batch is
  // kept and retried.
  Status Poll(EventStore& store) {
    if (pending_events_.empty() && pending_rejected_.empty()) {
      std::vector<SyslogMessage> msgs;
      listener_.Drain(&msgs, 20000, std::chrono::milliseconds(0));
      std::string reason;
      for (const SyslogMessage& m : msgs) {
        ++seq_;
        reason.clear();
        size_t before = pending_events_.size();
        if (parser_->Parse(m.line, seq_, &pending_events_, &reason) == LineVerdict::kRejected)
          pending_rejected_.push_back(RejectedLine{0, "syslog:" + m.peer, seq_, reason, m.line});
        for (size_t i = before; i < pending_events_.size(); ++i)
          pending_events_[i].origin = "syslog:" + m.peer;
      }
      tracker_.Apply(&pending_events_);
    }
    if (pending_events_.empty() && pending_rejected_.empty()) return Status::OK();
    Status st = store.Append(&pending_events_, pending_rejected_, nullptr);
    if (!st.ok()) return st;
    events_ += pending_events_.size();
    pending_events_.clear();
    pending_rejected_.clear();
    return Status::OK();
  }
  const SyslogListener& listener() const { return listener_; }
  uint64_t events() const { return events_; }

 private:
  SyslogListener listener_;
  std::unique_ptr<LineParser> parser_;
  LoginTracker tracker_;
  std::vector<Event> pending_events_;
  std::vector<RejectedLine> pending_rejected_;
  uint64_t seq_ = 0, events_ = 0;
};

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
  for (auto& src : sources)
    Log("info", "following " + src->state().path + " (" + src->state().name + ")");
  std::unique_ptr<SyslogSource> syslog;
  auto start_syslog = [&] {
    syslog.reset();
    if (!opt_.config.syslog_enabled) return true;
    auto s = std::make_unique<SyslogSource>();
    Status st = s->Start(opt_.config.syslog_listen);
    if (!st.ok()) {
      Log("error", "syslog listener on " + opt_.config.syslog_listen + ": " + st.message());
      return false;
    }
    Log("info", "receiving syslog on " + opt_.config.syslog_listen + " (UDP and TCP)");
    syslog = std::move(s);
    return true;
  };
  if (!start_syslog()) return 2;
  auto make_pve = [&] {  // access-control changes (docs/config-changes.md)
    PveConfigSourceOptions o;
    o.dir = opt_.config.pve_dir;
    o.node = opt_.config.node.empty() ? HostName() : opt_.config.node;
    o.log = Log;
    return std::make_unique<PveConfigSource>(o);
  };
  auto pve = make_pve();
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
          // Regression: a reload used to drop --node/--pve-dir.
          if (!opt_.node_override.empty()) opt_.config.node = opt_.node_override;
          if (!opt_.pve_dir_override.empty()) opt_.config.pve_dir = opt_.pve_dir_override;
          SetClusterTimeZone(opt_.config.timezone);
          sources = MakeSources(opt_.config);
          start_syslog();
          pve = make_pve();
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
    if (syslog && !g_stop) {
      Status st = syslog->Poll(*store);
      if (!st.ok()) {
        error = true;
        if (!failing) Log("error", "syslog: " + st.message());
        if (opt_.config.on_store_error == "exit") return 1;
      }
    }
    if (pve && !g_stop && !error) {  // after the logs, so the request is stored
      Status st = pve->Poll(*store);
      if (!st.ok()) {
        error = true;
        if (!failing) Log("error", "pve config: " + st.message());
        if (opt_.config.on_store_error == "exit") return 1;
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
      auto add_state = [&](const FileSourceState& s) {
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
      };
      for (auto& src : sources) add_state(src->state());
      if (pve) add_state(pve->state());
      if (syslog) {
        const SyslogCounters c = syslog->listener().counters();
        nlohmann::json o;
        o["name"] = "syslog";
        o["path"] = opt_.config.syslog_listen;
        o["format"] = "auth";
        o["ok"] = true;
        o["error"] =
            c.dropped ? std::to_string(c.dropped) + " UDP messages dropped" : std::string();
        o["offset"] = 0;
        o["size"] = 0;
        o["lag_bytes"] = 0;
        o["events"] = syslog->events();
        o["events_per_s"] = 0;
        o["rejected"] = c.bad_frames;
        o["last_event"] = "";
        o["received"] = c.received;
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
