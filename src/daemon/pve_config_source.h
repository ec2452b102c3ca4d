// pve_config_source.h
// PveConfigSource watches the Proxmox access-control files under the
// config dir (default /etc/pve): user.cfg, priv/tfa.cfg and domains.cfg.
// Each daemon poll it compares their mtime/size/inode with what it last
// read; when one changed (and has been quiet for `settle_us`) it reads the
// model, diffs it against the snapshot kept in the store (setting
// "pve.snapshot") and appends one event per change, without actor: the
// query views (query/correlator.h) join each change with the access.log
// request that made it, whenever that request is stored. The first start only takes a baseline;
// later starts diff against the stored snapshot, so changes made while the daemon was down are
// seen.
//
// Exactly once: before appending, the new snapshot and the change id
// (written into every event's detail as "; change <id>") are saved as
// "pve.snapshot.pending"; after the append, "pve.snapshot" is replaced and
// the pending record cleared. A restart that finds a pending record looks
// for events carrying its change id: found, the pending snapshot becomes
// current (the events are not repeated); not found, it is dropped (the
// diff is made again). docs/config-changes.md has the details.
//
// Problems with the watched files (user.cfg missing, unreadable, tfa.cfg
// corrupt) are reported in state() and through `log`, never as an error
// status: only store errors are returned.
// Thread safety: one thread (the daemon's loop).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>

#include "core/status.h"
#include "pipeline/file_source.h"
#include "pve/config_diff.h"
#include "store/event_store.h"

namespace pveaudit {

struct PveConfigSourceOptions {
  std::string dir = "/etc/pve";
  std::string node;  // Event.node of the change events
  // A change is read once the file has been quiet this long (or the change
  // was first seen this long ago).
  int64_t settle_us = 1'000'000;
  // Informational messages ("info", "warning"); may be empty.
  std::function<void(const char* level, const std::string& msg)> log;
};

class PveConfigSource {
 public:
  static constexpr const char* kSnapshotKey = "pve.snapshot";
  static constexpr const char* kPendingKey = "pve.snapshot.pending";

  explicit PveConfigSource(PveConfigSourceOptions options);

  // Stats the files and, when due, diffs and stores the
  // changes. Errors are store errors; nothing is lost on error (the same
  // change is tried again on the next poll).
  Status Poll(EventStore& store);
  // Poll with an explicit clock (tests).
  Status PollAt(EventStore& store, int64_t now_us);

  // name "pve_config", path = dir, format "pve-config".
  const FileSourceState& state() const { return state_; }

 private:
  struct FileSig {
    bool exists = false;
    int64_t mtime_us = 0;
    uint64_t size = 0, ino = 0;
    bool operator==(const FileSig&) const = default;
  };
  using Sig = std::array<FileSig, 3>;  // user.cfg, priv/tfa.cfg, domains.cfg

  Status Start(EventStore& store);
  Status PersistSnapshot(EventStore& store);
  Sig Stat() const;
  void Problem(const std::string& msg);
  void Info(const std::string& msg);

  PveConfigSourceOptions opt_;
  FileSourceState state_;
  bool started_ = false;
  bool have_snapshot_ = false;
  bool snapshot_dirty_ = false;  // appended, but "pve.snapshot" not yet written
  pve::DiffSnapshot snapshot_;
  std::string snapshot_text_;
  bool processed_valid_ = false;
  Sig processed_{};  // the files' state that snapshot_ reflects
  bool seen_valid_ = false;
  Sig seen_{};
  int64_t seen_since_ = 0;
  std::string last_problem_;
};

}  // namespace pveaudit
