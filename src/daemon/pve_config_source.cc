// pve_config_source.cc
// PveConfigSource: see pve_config_source.h and docs/config-changes.md.
#include "daemon/pve_config_source.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "core/time_spec.h"

namespace pveaudit {
namespace {

const char* const kFiles[3] = {"user.cfg", "priv/tfa.cfg", "domains.cfg"};

std::string JoinPath(const std::string& dir, const std::string& rel) {
  if (dir.empty()) return rel;
  return dir.back() == '/' ? dir + rel : dir + "/" + rel;
}

// The whole file; *missing is set when it does not exist.
// pve::ReadWholeFile, with "missing" (ENOENT) told apart.
Result<std::string> ReadWholeFile(const std::string& path, bool* missing) {
  auto r = pve::ReadWholeFile(path);
  *missing = !r.ok() && r.status().code() == Status::Code::kNotFound;
  return r;
}

}  // namespace

PveConfigSource::PveConfigSource(PveConfigSourceOptions options) : opt_(std::move(options)) {
  state_.name = "pve_config";
  state_.path = opt_.dir;
  state_.format = std::string(pve::kConfigChangeSource);
}

void PveConfigSource::Info(const std::string& msg) {
  if (opt_.log) opt_.log("info", msg);
}

void PveConfigSource::Problem(const std::string& msg) {
  state_.ok = false;
  state_.error = msg;
  if (msg != last_problem_ && opt_.log) opt_.log("warning", "pve config: " + msg);
  last_problem_ = msg;
}

PveConfigSource::Sig PveConfigSource::Stat() const {
  Sig sig{};
  for (size_t i = 0; i < 3; ++i) {
    struct stat st;
    if (::stat(JoinPath(opt_.dir, kFiles[i]).c_str(), &st) != 0) continue;
    sig[i].exists = true;
    sig[i].mtime_us = int64_t(st.st_mtim.tv_sec) * 1'000'000 + st.st_mtim.tv_nsec / 1000;
    sig[i].size = uint64_t(st.st_size);
    sig[i].ino = uint64_t(st.st_ino);
  }
  return sig;
}

// Settles a change set left half-done by a crash (see the header).
Status PveConfigSource::Start(EventStore& store) {
  auto pending = store.GetSetting(kPendingKey);
  if (!pending.ok()) return pending.status();
  if (*pending && !(*pending)->empty()) {
    std::string id, snap;
    std::vector<int64_t> times;
    try {
      auto j = nlohmann::json::parse(**pending);
      id = j.at("change").get<std::string>();
      snap = j.at("snapshot").get<std::string>();
      times = j.at("times").get<std::vector<int64_t>>();
    } catch (const nlohmann::json::exception& e) {
      id.clear();
      Info(std::string("pve config: ignoring an unreadable pending snapshot: ") + e.what());
    }
    bool stored = false;
    const std::string marker = "; change " + id;
    for (int64_t t : times) {
      if (stored || id.empty()) break;
      Filter f;
      f.start_us = t;
      f.end_us = t + 1;
      PVEAUDIT_RETURN_IF_ERROR(store.Scan(f, kFieldSource | kFieldDetail, [&](const Event& e) {
        if (e.source == pve::kConfigChangeSource && e.detail.find(marker) != std::string::npos)
          stored = true;
        return !stored;
      }));
    }
    if (stored) {
      PVEAUDIT_RETURN_IF_ERROR(store.PutSetting(kSnapshotKey, snap, "pveauditd"));
      Info("pve config: change " + id +
           " was stored before the last stop; its snapshot is now current");
    }
    PVEAUDIT_RETURN_IF_ERROR(store.PutSetting(kPendingKey, "", "pveauditd"));
  }
  auto snap = store.GetSetting(kSnapshotKey);
  if (!snap.ok()) return snap.status();
  if (*snap && !(*snap)->empty()) {
    auto parsed = pve::ParseDiffSnapshot(**snap);
    if (parsed.ok()) {
      snapshot_ = std::move(*parsed);
      snapshot_text_ = **snap;
      have_snapshot_ = true;
    } else {
      Problem("the stored snapshot is unreadable (" + parsed.status().message() +
              "); taking a new baseline");
    }
  }
  return Status::OK();
}

Status PveConfigSource::PersistSnapshot(EventStore& store) {
  PVEAUDIT_RETURN_IF_ERROR(store.PutSetting(kSnapshotKey, snapshot_text_, "pveauditd"));
  PVEAUDIT_RETURN_IF_ERROR(store.PutSetting(kPendingKey, "", "pveauditd"));
  snapshot_dirty_ = false;
  return Status::OK();
}

Status PveConfigSource::Poll(EventStore& store) { return PollAt(store, NowUs()); }

Status PveConfigSource::PollAt(EventStore& store, int64_t now_us) {
  state_.last_poll_us = now_us;
  if (!started_) {
    PVEAUDIT_RETURN_IF_ERROR(Start(store));
    started_ = true;
  }
  if (snapshot_dirty_) PVEAUDIT_RETURN_IF_ERROR(PersistSnapshot(store));

  const Sig sig = Stat();
  if (processed_valid_ && sig == processed_) return Status::OK();
  if (!seen_valid_ || !(sig == seen_)) {
    seen_ = sig;
    seen_valid_ = true;
    seen_since_ = now_us;
  }
  int64_t newest = 0;
  for (const FileSig& f : sig) newest = std::max(newest, f.mtime_us);
  if (now_us - seen_since_ < opt_.settle_us && now_us - newest < opt_.settle_us)
    return Status::OK();  // still being written, or its access.log line not yet stored

  // Read the three files. Only user.cfg is required; a tfa.cfg or
  // domains.cfg that cannot be read keeps its part of the last snapshot.
  pve::PveConfig cfg;
  cfg.dir = opt_.dir;
  bool missing = false;
  const std::string user_path = JoinPath(opt_.dir, kFiles[0]);
  auto user_text = ReadWholeFile(user_path, &missing);
  if (!user_text.ok()) {
    Problem(missing ? user_path + " not found; access-control changes are not watched"
                    : user_text.status().message());
    return Status::OK();
  }
  cfg.access = pve::ParseUserCfg(*user_text, user_path);

  const std::string tfa_path = JoinPath(opt_.dir, kFiles[1]);
  auto tfa_text = ReadWholeFile(tfa_path, &missing);
  std::string file_problem;
  if (tfa_text.ok()) {
    auto tfa = pve::ParseTfaCfg(*tfa_text, tfa_path);
    if (tfa.ok()) {
      cfg.tfa = std::move(*tfa);
    } else {
      file_problem = tfa.status().message();
      cfg.tfa = snapshot_.config.tfa;
    }
  } else if (!missing) {
    file_problem = tfa_text.status().message();
    cfg.tfa = snapshot_.config.tfa;
  }
  const std::string domains_path = JoinPath(opt_.dir, kFiles[2]);
  auto domains_text = ReadWholeFile(domains_path, &missing);
  if (!domains_text.ok() && !missing) {
    file_problem = domains_text.status().message();
    cfg.realms = snapshot_.config.realms;
  } else {
    auto realms =
        pve::ParseDomainsCfg(domains_text.ok() ? *domains_text : std::string(), domains_path);
    if (realms.ok()) {
      cfg.realms = std::move(*realms);
    } else {
      file_problem = realms.status().message();
      cfg.realms = snapshot_.config.realms;
    }
  }
  if (!file_problem.empty()) {
    Problem(file_problem + "; keeping its last known state");
  } else {
    state_.ok = true;
    state_.error.clear();
    last_problem_.clear();
  }

  if (!have_snapshot_ || snapshot_.config.dir != opt_.dir) {
    std::string text = pve::SerializeDiffSnapshot(cfg, now_us);
    PVEAUDIT_RETURN_IF_ERROR(store.PutSetting(kSnapshotKey, text, "pveauditd"));
    auto parsed = pve::ParseDiffSnapshot(text);
    if (!parsed.ok()) return parsed.status();
    Info("pve config: baseline of " + opt_.dir + " taken (" +
         std::to_string(cfg.access.users.size()) + " users, " +
         std::to_string(cfg.access.acls.size()) + " ACL entries); later changes become events");
    snapshot_ = std::move(*parsed);
    snapshot_text_ = std::move(text);
    have_snapshot_ = true;
    processed_ = sig;
    processed_valid_ = true;
    return Status::OK();
  }

  std::vector<Event> events = pve::DiffPveConfig(snapshot_.config, cfg, now_us, opt_.node);
  if (events.empty()) {
    processed_ = sig;
    processed_valid_ = true;
    return Status::OK();
  }
  // The change happened when its file was written (not before the last
  // snapshot was taken: a restored file may carry an old mtime).
  std::set<int64_t> times;
  for (Event& e : events) {
    for (size_t i = 0; i < 3; ++i) {
      if (e.origin != JoinPath(opt_.dir, kFiles[i]) || !sig[i].exists || sig[i].mtime_us <= 0)
        continue;
      e.time_us = std::min(now_us, std::max(sig[i].mtime_us, snapshot_.taken_us));
    }
    times.insert(e.time_us);
  }
  // Stored as the files say: who made the change is a view
  // (query/correlator.h) joining it with the request at query time.

  std::string text = pve::SerializeDiffSnapshot(cfg, now_us);
  const std::string id = pve::ChangeId(snapshot_text_, text);
  for (Event& e : events) e.detail += "; change " + id;
  nlohmann::json pending = {{"change", id}, {"times", times}, {"snapshot", text}};
  PVEAUDIT_RETURN_IF_ERROR(store.PutSetting(kPendingKey, pending.dump(), "pveauditd"));
  const size_t n = events.size();
  int64_t last = 0;
  for (const Event& e : events) last = std::max(last, e.time_us);
  PVEAUDIT_RETURN_IF_ERROR(store.Append(&events, {}, nullptr));

  // Stored: from here on the new snapshot is current, in memory at once
  // and in the store as soon as it can be written.
  auto parsed = pve::ParseDiffSnapshot(text);
  if (!parsed.ok()) return parsed.status();
  snapshot_ = std::move(*parsed);
  snapshot_text_ = std::move(text);
  processed_ = sig;
  processed_valid_ = true;
  snapshot_dirty_ = true;
  state_.events += n;
  state_.last_event_us = std::max(state_.last_event_us, last);
  Info("pve config: " + std::to_string(n) + " access-control change(s) stored (change " + id + ")");
  return PersistSnapshot(store);
}

}  // namespace pveaudit
