#include "daemon/daemon.h"

#include <pwd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "core/host_name.h"
#include "core/time_spec.h"
#include "daemon/alert_runner.h"
#include "daemon/control_socket.h"
#include "daemon/export_runner.h"
#include "daemon/monthly_export.h"
#include "daemon/pve_config_source.h"
#include "daemon/retention_runner.h"
#include "daemon/supervised_process.h"
#include "ingest/line_parser.h"
#include "ingest/login_tracker.h"
#include "pipeline/file_source.h"
#include "pipeline/journal_source.h"
#include "pipeline/syslog_listener.h"
#include "pipeline/syslog_source.h"
#include "server/web_files.h"
#include "store/event_store.h"
#include "store/group_commit.h"
#include "store/spooling_store.h"

namespace pveaudit {
namespace {

// pveaudit-web beside this program (bin/ of the build tree, /usr/bin).
std::string WebProgram() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "/usr/bin/pveaudit-web";
  return (self.parent_path() / "pveaudit-web").string();
}

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};

void Log(const char* level, const std::string& msg) {
  // stderr goes to the journal under systemd; one line per message.
  std::fprintf(stderr, "pveauditd[%s]: %s\n", level, msg.c_str());
  std::fflush(stderr);
}

// Sleeps up to `ms`, waking early for a stop, and for a reload request
// (main thread) or a stop of `lane` (a lane's thread: a reload stops the
// lanes it replaces).
void Nap(int ms, const std::atomic<bool>* lane = nullptr) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!g_stop && !(lane ? lane->load() : g_reload.load()) &&
         std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(ms, 20)));
}

// One source as a lane polls it.
class PolledSource {
 public:
  virtual ~PolledSource() = default;
  // `first`: the first successful round has not happened yet (catch-up).
  virtual Status Poll(EventStore& store, bool first) = 0;
  virtual std::string Name() const = 0;
  // A JSON object for `pveam access status` (see StateJson).
  virtual nlohmann::json State() const = 0;
  // Whether `st` from Poll means the store cannot be written (so the
  // on_store_error policy applies) rather than, say, a missing file.
  virtual bool IsStoreError(const Status& st) const {
    (void)st;
    return true;
  }
  // Polled only in rounds where every earlier source of the lane succeeded.
  virtual bool NeedsCleanRound() const { return false; }
};

// The codes a failed store write returns (a missing log file is kNotFound).
bool IsStoreWriteError(const Status& st) {
  return st.code() == Status::Code::kIOError || st.code() == Status::Code::kBusy ||
         st.code() == Status::Code::kCorruption;
}

nlohmann::json StateJson(const FileSourceState& s) {
  nlohmann::json o;
  o["name"] = s.name;
  o["path"] = s.path;
  o["format"] = s.format;
  o["ok"] = s.ok;
  o["error"] = s.error;
  o["offset"] = s.offset;
  o["size"] = s.size;
  o["lag_bytes"] = s.size > s.offset ? s.size - s.offset : 0;
  // Seconds behind: while unread input is left, the age of the newest
  // event stored from this source (docs/daemon.md); 0 when caught up.
  int64_t now = NowUs();
  o["lag_s"] = s.size > s.offset && s.last_event_us && now > s.last_event_us
                   ? (now - s.last_event_us) / 1000000
                   : 0;
  o["events"] = s.events;
  o["rejected"] = s.rejected;
  o["last_event"] = s.last_event_us ? FormatRfc3339Utc(s.last_event_us) : "";
  return o;
}

class FilePolled : public PolledSource {
 public:
  FilePolled(const char* name, const FileSourceConfig& fs, ImportOptions o)
      : src_(name, fs.path, o, fs.rotated_dir) {}
  Status Poll(EventStore& store, bool first) override {
    return first ? src_.CatchUp(store) : src_.Poll(store);
  }
  std::string Name() const override { return src_.state().name; }
  nlohmann::json State() const override { return StateJson(src_.state()); }
  bool IsStoreError(const Status& st) const override { return IsStoreWriteError(st); }

 private:
  FileSource src_;
};

class JournalPolled : public PolledSource {
 public:
  JournalPolled(const std::string& dir, const std::string& node) : src_(dir, node) {}
  Status Poll(EventStore& store, bool) override { return src_.Poll(store); }
  std::string Name() const override { return "journal"; }
  nlohmann::json State() const override { return StateJson(src_.state()); }
  // Journal problems are kNotFound/kInternal.
  bool IsStoreError(const Status& st) const override { return IsStoreWriteError(st); }

 private:
  JournalSource src_;
};

class SyslogPolled : public PolledSource {
 public:
  explicit SyslogPolled(const Config& c) : listen_(c.syslog_listen) {
    o_.udp = o_.tcp = c.syslog_listen;
    o_.tls = c.syslog_tls;
    o_.tls_cert = c.syslog_tls_cert;
    o_.tls_key = c.syslog_tls_key;
    o_.tls_ca = c.syslog_tls_ca;
    o_.tls_require_client_cert = c.syslog_tls_require_client_cert;
    o_.tls_handshake_timeout = std::chrono::seconds(c.syslog_tls_handshake_timeout_s);
    for (const SyslogPeerConfig& p : c.syslog_peers)
      o_.peers.push_back(SyslogPeer{p.node, p.address, p.certificate});
    if (!listen_.empty()) listen_ += " (UDP and TCP)";
    if (!c.syslog_tls.empty()) listen_ += (listen_.empty() ? "" : ", ") + c.syslog_tls + " (TLS)";
  }
  Status Start() { return src_.Start(o_); }
  // "ADDR:PORT (UDP and TCP), ADDR:PORT (TLS)", for messages and status.
  std::string Where() const { return listen_; }
  Status Poll(EventStore& store, bool) override { return src_.Poll(store); }
  std::string Name() const override { return "syslog"; }
  nlohmann::json State() const override {
    const SyslogCounters c = src_.listener().counters();
    nlohmann::json o;
    o["name"] = "syslog";
    o["path"] = listen_;
    o["format"] = "auth";
    o["ok"] = true;
    o["error"] = c.dropped ? std::to_string(c.dropped) + " UDP messages dropped" : std::string();
    o["offset"] = 0;
    o["size"] = 0;
    o["lag_bytes"] = 0;
    o["lag_s"] = 0;
    o["events"] = src_.events();
    o["rejected"] = c.bad_frames + src_.rejected();
    o["last_event"] = "";
    o["received"] = c.received;
    // Refused senders (docs/syslog-listener.md, "Counters").
    o["tls_handshakes_failed"] = c.tls_handshake_failures;
    o["peers_rejected"] = c.peers_rejected;
    o["node_mismatches"] = src_.node_mismatches();
    o["last_tls_error"] = src_.listener().last_tls_error();
    return o;
  }

 private:
  std::string listen_;
  ListenOptions o_;
  SyslogSource src_;
};

class PvePolled : public PolledSource {
 public:
  explicit PvePolled(PveConfigSourceOptions o) : src_(std::move(o)) {}
  Status Poll(EventStore& store, bool) override { return src_.Poll(store); }
  std::string Name() const override { return "pve config"; }
  nlohmann::json State() const override { return StateJson(src_.state()); }
  // After the logs of its lane, so the request that made a change is stored
  // before the change is attributed (docs/config-changes.md).
  bool NeedsCleanRound() const override { return true; }

 private:
  PveConfigSource src_;
};

// A lane is one thread that polls its sources in order, every poll_ms.
// Sources whose events depend on another's share a lane, in that order:
// access.log before the task index (a task is joined with its request) and
// before the access-control files (a change is attributed to its request).
// Lanes run side by side and their batches meet in the one writer
// (GroupCommitStore), which commits them together.
class Lane {
 public:
  Lane(std::string name, const Config& config) : name_(std::move(name)), config_(config) {}
  ~Lane() { Stop(); }

  void Add(std::unique_ptr<PolledSource> s) {
    sources_.push_back(std::move(s));
    states_.push_back(sources_.back()->State());
  }
  bool empty() const { return sources_.empty(); }

  void Start(GroupCommitStore& store) {
    thread_ = std::thread([this, &store] { Loop(store); });
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  bool failing() const { return failing_; }
  // Every source of the lane has been polled once since the lane started
  // (the start-up catch-up and the access-control baseline are done).
  bool first_round_done() const { return rounds_ > 0; }
  // Set when a store error met on_store_error = "exit".
  bool fatal() const { return fatal_; }
  std::vector<nlohmann::json> States() const {
    std::lock_guard<std::mutex> l(mu_);
    return states_;
  }

 private:
  void Loop(GroupCommitStore& store) {
    bool caught_up = false;
    while (!g_stop && !stop_ && !fatal_) {
      bool error = false;
      {
        GroupCommitStore::Activity polling(store);
        for (size_t i = 0; i < sources_.size() && !g_stop && !stop_; ++i) {
          PolledSource& src = *sources_[i];
          if (error && src.NeedsCleanRound()) continue;
          Status st = src.Poll(store, !caught_up);
          {
            std::lock_guard<std::mutex> l(mu_);
            states_[i] = src.State();
          }
          if (st.ok()) continue;
          error = true;
          if (!failing_) Log("error", src.Name() + ": " + st.message());
          if (config_.on_store_error == "exit" && src.IsStoreError(st)) {
            Log("error", "exiting (on_store_error = \"exit\"); cursors were not advanced");
            fatal_ = true;
            return;
          }
        }
      }
      if (!error) caught_up = true;
      ++rounds_;
      if (error != failing_) {
        if (!error) Log("info", name_ + ": recovered; ingest resumed from the stored cursors");
        failing_ = error;
      }
      Nap(failing_ ? config_.retry_ms : config_.poll_ms, &stop_);
    }
  }

  std::string name_;
  const Config config_;
  std::vector<std::unique_ptr<PolledSource>> sources_;
  mutable std::mutex mu_;
  std::vector<nlohmann::json> states_;  // guarded by mu_
  std::atomic<bool> stop_{false}, failing_{false}, fatal_{false};
  std::atomic<uint64_t> rounds_{0};
  std::thread thread_;
};

struct Lanes {
  std::vector<std::unique_ptr<Lane>> lanes;
  void Start(GroupCommitStore& store) {
    for (auto& l : lanes) l->Start(store);
  }
  void Stop() {
    for (auto& l : lanes) l->Stop();
  }
};

// Builds the lanes of `c`. False when the syslog listener cannot start.
bool MakeLanes(const Config& c, Lanes* out) {
  out->lanes.clear();
  std::string node = NodeNameOr(c.node);
  auto file = [&](const char* name, const FileSourceConfig& fs,
                  const char* format) -> std::unique_ptr<PolledSource> {
    if (!fs.enabled || fs.path.empty()) return nullptr;
    ImportOptions o;
    o.format = format;
    o.node = std::string(format) == "pveproxy" ? node : c.node;
    Log("info", "following " + fs.path + " (" + name + ")");
    return std::make_unique<FilePolled>(name, fs, o);
  };
  auto logs = std::make_unique<Lane>("logs", c);
  if (auto s = file("access_log", c.access_log, "pveproxy")) logs->Add(std::move(s));
  if (auto s = file("tasks", c.tasks, "tasks")) logs->Add(std::move(s));
  PveConfigSourceOptions po;  // access-control changes (docs/config-changes.md)
  po.dir = c.pve_dir;
  po.node = node;
  po.log = Log;
  logs->Add(std::make_unique<PvePolled>(po));
  out->lanes.push_back(std::move(logs));

  auto auth = std::make_unique<Lane>("auth", c);
  // "auto" chose the journal because the auth file is not there: do not
  // also wait for that file, or a later rsyslog install would store every
  // login twice (docs/config.md, [sources.journal]).
  const bool journal = JournalEnabled(c);
  const bool journal_instead_of_file =
      journal && c.journal.enabled == JournalSourceConfig::Enabled::kAuto;
  if (!journal_instead_of_file)
    if (auto s = file("auth", c.auth, "auth")) auth->Add(std::move(s));
  if (journal) {  // docs/config.md: [sources.journal]
    auto j = std::make_unique<JournalPolled>(c.journal.directory, c.node);
    Log("info", "following " + std::string(j->State()["path"]) + " (journal)");
    auth->Add(std::move(j));
  }
  if (!auth->empty()) out->lanes.push_back(std::move(auth));

  if (c.syslog_enabled) {
    auto s = std::make_unique<SyslogPolled>(c);
    Status st = s->Start();
    if (!st.ok()) {
      Log("error", "syslog listener on " + s->Where() + ": " + st.message());
      return false;
    }
    Log("info", "receiving syslog on " + s->Where() +
                    (c.syslog_peers.empty() ? "" : " from the allow-list's peers"));
    auto lane = std::make_unique<Lane>("syslog", c);
    lane->Add(std::move(s));
    out->lanes.push_back(std::move(lane));
  }
  return true;
}

}  // namespace

void Daemon::RequestStop() { g_stop = true; }
void Daemon::RequestReload() { g_reload = true; }

// pveauditd as root with the web UI on: pveaudit-web runs as
// `control_socket_user` and may read the store and its own keys, never
// write them (docs/web.md). The store's directory is shared read-only with
// that user's group and pveauditd makes the web process's key files,
// which that user could not create. Errors are logged: pveaudit-web then
// fails at its start and says why (`pveam access status`).
static void ShareWithWebUser(const Config& c, const std::string& data_dir) {
  if (c.web_listen.empty() || geteuid() != 0) return;
  passwd pw{}, *found = nullptr;
  std::vector<char> buf(16384);
  if (getpwnam_r(c.control_socket_user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 ||
      !found || found->pw_uid == 0)
    return;  // SupervisedProcess reports the user that is missing or root
  Status st = ShareStoreWithGroup(data_dir, found->pw_gid);
  if (st.ok()) st = PrepareWebFiles(data_dir, found->pw_gid);
  if (!st.ok()) Log("error", "web: " + st.message());
}

int Daemon::Run() {
  SetClusterTimeZone(opt_.config.timezone);
  ShareWithWebUser(opt_.config, opt_.data_dir);
  const StoreLocation where = opt_.config.StoreAt(opt_.data_dir);
  std::unique_ptr<EventStore> base;
  SpoolingStore* spool = nullptr;  // the cluster database's local spool (owned by `base`)
  StoreOptions so;
  so.writer = NodeNameOr(opt_.config.node);  // --node, else the config's, else the host's
  if (where.postgres()) {
    // Ingest never waits for the cluster database: while it is away,
    // events go to a local spool that is forwarded when it is back
    // (store/spooling_store.h, docs/storage.md).
    SpoolOptions sp;
    sp.spool_dir = SpoolDir(opt_.data_dir);
    sp.writer = so.writer;
    sp.retry = std::chrono::milliseconds(opt_.config.retry_ms);
    sp.log = [](const char* level, const std::string& m) { Log(level, m); };
    auto s = SpoolingStore::Open([where, so]() { return OpenStore(where, so); }, sp);
    if (!s.ok()) {
      Log("error", "cannot open the spool: " + s.status().message());
      return 1;
    }
    spool = s->get();
    base = std::move(*s);
  }
  while (!base && !g_stop) {
    auto s = OpenStore(where, so);
    if (s.ok()) {
      base = std::move(s.value());
      break;
    }
    Log("error", "cannot open the " + where.Describe() + ": " + s.status().message());
    if (opt_.config.on_store_error == "exit") return 1;
    Nap(opt_.config.retry_ms);
  }
  if (!base) return 0;
  // Declared after `base` and before the lanes: destroyed after every lane
  // stopped (so no source still waits on it), committing what is queued.
  GroupCommitOptions gopt;
  gopt.max_events = size_t(opt_.config.commit_events);
  gopt.max_wait = std::chrono::milliseconds(opt_.config.commit_ms);
  GroupCommitStore store(*base, gopt);

  Lanes lanes;
  if (!MakeLanes(opt_.config, &lanes)) return 2;
  if (opt_.config.access_log.path.empty() && opt_.config.auth.path.empty() &&
      opt_.config.tasks.path.empty() && !opt_.config.syslog_enabled && !JournalEnabled(opt_.config))
    Log("warning", "no log source is enabled; only access-control changes are followed");
  lanes.Start(store);
  AlertRunner alert_runner(store, Log);  // docs/alerts.md
  alert_runner.ExpectAuthLines((opt_.config.auth.enabled && !opt_.config.auth.path.empty()) ||
                               JournalEnabled(opt_.config));
  // Export destinations (syslog, webhooks) follow the store by their own
  // cursors, on their own threads: a destination that is down never holds
  // back ingest (src/daemon/export_runner.h).
  ExportRunner exports(store, where, ShortHostName(),
                       [](const char* level, const std::string& m) { Log(level, m); });
  // The alert engine and the exporters run on the node that holds the
  // store's lead: on its own SQLite store always this one; on a store a
  // cluster shares, one node at a time, and another takes over within
  // seconds when it dies, from the cursors they committed (docs/storage.md,
  // "One alert engine per cluster").
  const std::string node = NodeNameOr(opt_.config.node);
  // [export] monthly: each closed month's signed bundle (docs/evidence.md),
  // by the node that runs the exports. Read at start only.
  std::unique_ptr<MonthlyExporter> monthly;
  if (!opt_.config.export_monthly.empty()) {
    MonthlyExportOptions mo;
    mo.dir = opt_.config.export_monthly;
    mo.format = opt_.config.export_monthly_format;
    mo.data_dir = opt_.data_dir;
    mo.node = node;
    monthly = std::make_unique<MonthlyExporter>(
        store, where, mo, [](const char* level, const std::string& m) { Log(level, m); });
  }
  // [retention] / [compliance] standards: archive and purge (docs/retention.md).
  // On the node's own SQLite store only: a cluster's PostgreSQL store keeps
  // every event (month partitions are issue 11's). Read at start only.
  std::unique_ptr<RetentionRunner> retention;
  if (auto p = ResolveRetention(opt_.config.retention_online, opt_.config.retention_archive,
                                opt_.config.compliance_standards, opt_.config.retention_archive_dir,
                                opt_.data_dir);
      !p.ok()) {
    Log("error", "retention: " + p.status().message() + "; nothing is archived or purged");
  } else if (p->Archives() && where.postgres()) {
    Log("warning",
        "retention: " + p->why + " is not applied: archiving needs the node's SQLite store");
  } else if (p->Archives()) {
    RetentionRunnerOptions ro;
    ro.policy = *p;
    ro.data_dir = opt_.data_dir;
    ro.node = node;
    retention = std::make_unique<RetentionRunner>(
        ro, [](const char* level, const std::string& m) { Log(level, m); });
    Log("info", "retention: " + p->why + ", archives in " + p->archive_dir);
    retention->Start();
  }
  std::unique_ptr<StoreLead> lead;
  if (auto l = OpenStoreLead(where, "consumers"); l.ok())
    lead = std::move(*l);
  else
    Log("error", "cannot run the alert engine and exports: " + l.status().message());
  bool leading = false;
  auto check_lead = [&] {
    if (!lead) return;
    if (leading && !lead->Held()) {
      leading = false;
      alert_runner.Stop();
      exports.Stop();
      if (monthly) monthly->Stop();
      Log("warning",
          "lost the store's lead: the alert engine and exports stop here (another "
          "node takes them over)");
    }
    if (!leading) {
      auto took = lead->TryTake();
      if (took.ok() && *took) {
        leading = true;
        if (where.postgres())
          Log("info", "node " + node + " runs the alert engine and exports for the store");
        alert_runner.Start();
        exports.Start();
        if (monthly) monthly->Start();
      }
    }
  };
  check_lead();
  // pveaudit-web hands every change and audit event to this socket: only
  // pveauditd writes the store (docs/control-socket.md). Read at start only.
  ControlSocket control(store, ControlSocketOptionsFor(opt_.config, opt_.data_dir,
                                                       NodeNameOr(opt_.config.node), Log));
  if (Status st = control.Start(); !st.ok()) {
    Log("error", "control socket: " + st.message());
    if (monthly) monthly->Stop();
    if (retention) retention->Stop();
    exports.Stop();
    lanes.Stop();
    alert_runner.Stop();
    return 2;
  }

  // The HTTPS API and UI run in a process of their own, as another user
  // when pveauditd is root (docs/web.md): started, watched and restarted
  // here while [web] listen is set. Read at start only.
  std::unique_ptr<SupervisedProcess> web;
  if (!opt_.config.web_listen.empty()) {
    SupervisedProcessOptions wo;
    wo.name = "pveaudit-web";
    wo.argv = {WebProgram(),           "--data-dir", opt_.data_dir,      "--listen",
               opt_.config.web_listen, "--pve-dir",  opt_.config.pve_dir};
    if (!opt_.config_path.empty()) {
      wo.argv.push_back("--config");
      wo.argv.push_back(opt_.config_path);
    }
    wo.run_as = opt_.config.control_socket_user;
    wo.log = [](const char* level, const std::string& m) { Log(level, m); };
    web = std::make_unique<SupervisedProcess>(std::move(wo));
  }

  int64_t last_status = 0, last_lead_check = NowUs();
  bool last_caught_up = false;
  std::map<std::string, uint64_t> last_events;  // per source, at last_status
  int rc = 0;
  while (!g_stop) {
    if (g_reload.exchange(false)) {
      if (opt_.sources_from_flags) {
        Log("info", "SIGHUP: sources come from the command line; nothing to reload");
      } else {
        auto c = LoadConfig(opt_.config_path);
        if (!c.ok()) {
          Log("error", "SIGHUP: keeping the old configuration: " + c.status().message());
        } else {
          lanes.Stop();  // each finishes its current poll; its batches are committed
          opt_.config = *c;
          // Regression: a reload used to drop --node/--pve-dir.
          if (!opt_.node_override.empty()) opt_.config.node = opt_.node_override;
          if (!opt_.pve_dir_override.empty()) opt_.config.pve_dir = opt_.pve_dir_override;
          SetClusterTimeZone(opt_.config.timezone);
          MakeLanes(opt_.config, &lanes);  // a failed listener is logged; the rest runs
          lanes.Start(store);
          Log("info", "SIGHUP: configuration reloaded from " +
                          (c->source.empty() ? std::string("defaults") : c->source));
        }
      }
    }
    bool fatal = false, failing = false, caught_up = true;
    for (auto& l : lanes.lanes) {
      fatal |= l->fatal();
      failing |= l->failing();
      caught_up &= l->first_round_done();
    }
    if (fatal) {
      rc = 1;
      break;
    }
    if (monthly) monthly->SetCaughtUp(caught_up);
    if (retention) retention->SetCaughtUp(caught_up);
    int64_t now = NowUs();
    if (now - last_lead_check >= 1000000) {
      last_lead_check = now;
      check_lead();
    }
    // Published every second, and at once when the first rounds are done.
    if (now - last_status >= 1000000 || caught_up != last_caught_up) {
      last_caught_up = caught_up;
      int64_t last_status_prev = last_status;
      last_status = now;
      nlohmann::json j;
      j["pid"] = getpid();
      j["updated"] = FormatRfc3339Utc(now);
      j["healthy"] = !failing;
      j["caught_up"] = caught_up;
      double secs = last_status_prev ? double(now - last_status_prev) / 1e6 : 0;
      for (auto& l : lanes.lanes) {
        for (nlohmann::json o : l->States()) {
          std::string name = o["name"];
          uint64_t events = o["events"];
          uint64_t before = last_events.count(name) ? last_events[name] : events;
          o["events_per_s"] = secs > 0 ? int64_t(double(events - before) / secs) : 0;
          last_events[name] = events;
          j["sources"].push_back(o);
        }
      }
      GroupCommitStats gs = store.stats();
      j["writer"] = {{"commits", gs.commits},
                     {"batches", gs.calls},
                     {"events", gs.events},
                     {"failed", gs.failed}};
      if (where.postgres()) {
        j["node"] = node;
        j["lead"] = leading;
      }
      if (spool) {
        SpoolState sp = spool->State();
        j["spool"] = {{"spooling", sp.spooling},
                      {"database_up", sp.database_up},
                      {"events", sp.events},
                      {"bytes", sp.bytes},
                      {"oldest", sp.oldest_us ? FormatRfc3339Utc(sp.oldest_us) : ""},
                      {"since", sp.since_us ? FormatRfc3339Utc(sp.since_us) : ""},
                      {"forwarded", sp.forwarded},
                      {"error", sp.error}};
      }
      if (leading) {
        j["alerts"] = alert_runner.State();
        j["destinations"] = exports.States();
        if (monthly) j["monthly_export"] = monthly->State();
      }
      if (retention) j["retention"] = retention->State();
      if (web) {
        SupervisedProcessState ws = web->State();
        j["web"] = {{"listen", opt_.config.web_listen},
                    {"pid", ws.pid},
                    {"starts", ws.starts},
                    {"last_exit", ws.last_exit},
                    {"error", ws.error}};
      }
      const std::string text = j.dump();
      (void)store.PutSetting(DaemonStatusKey(where, node), text, "pveauditd");
      if (where.postgres() && leading) (void)store.PutSetting("daemon.status", text, "pveauditd");
    }
    if (web) web->Poll();
    Nap(50);
  }
  if (web) web->Stop();  // before the socket it hands its changes to
  control.Stop();
  if (monthly) monthly->Stop();
  if (retention) retention->Stop();
  exports.Stop();
  lanes.Stop();
  alert_runner.Stop();
  Log("info", rc ? "stopped on a store error" : "stopped");
  return rc;
}

}  // namespace pveaudit
