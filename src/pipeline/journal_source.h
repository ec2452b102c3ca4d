// journal_source.h
// JournalSource reads the authentication lines of pvedaemon and pveproxy
// from the systemd journal (sd-journal, libsystemd) and stores each entry
// exactly once. Proxmox VE 8 (Debian 12) logs them to the journal only;
// there is usually no /var/log/syslog.
//  - Which entries: SYSLOG_IDENTIFIER=pvedaemon or pveproxy (kIdentifiers),
//    the only programs whose auth lines the auth parser accepts (reference
//    section 4). PAM's lines for the service proxmox-ve-auth are written by
//    the same pvedaemon process under its identifier and are ignored by the
//    parser (the pvedaemon line carries user, IP and reason).
//  - How: each entry becomes the journalctl short-iso-precise line
//    (FormatJournalLine, UTC) and goes through the auth parser
//    (MakeLineParser(LineFormat::kAuth)) and LoginTracker, like a syslog
//    file, so the rules live in one place. Entries the parser rejects go to
//    the rejected table with origin "journal".
//  - Exactly once: the sd-journal cursor of the last entry of a batch and
//    the LoginTracker state are committed in the same Append as the batch's
//    events (SourceCursor: key "journal:<machine-id>" or
//    "journal:<directory>", offset = __REALTIME_TIMESTAMP of that entry,
//    line = entries consumed, state = "<journal cursor>\n<tracker state>").
//    After a failed Append the next Poll re-reads the cursor from the store
//    and seeks there again, so nothing uncommitted is skipped.
//  - Vacuum/rotation: rotation keeps cursors valid. When the cursor's entry
//    was vacuumed away, reading resumes at the oldest entry whose realtime is
//    after the cursor's (entries with the very same microsecond, or written
//    while the clock stood earlier, may then be skipped; what was vacuumed
//    before it was read is lost, as with a deleted log file).
// Thread safety: one thread (the daemon's loop).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "ingest/login_tracker.h"
#include "pipeline/file_source.h"
#include "store/event_store.h"

struct sd_journal;

namespace pveaudit {

struct JournalSourceOptions {
  // Entries per store.Append (one transaction).
  size_t batch_entries = 10000;
  // Entries read by one Poll at most (0 = all that are there), so a first
  // start on a node with months of journal does not hold the daemon's loop;
  // the next Poll continues.
  size_t max_entries_per_poll = 100000;
};

// The fields of one journal entry that make up its line.
struct JournalEntryFields {
  uint64_t realtime_us = 0;     // __REALTIME_TIMESTAMP
  std::string_view hostname;    // _HOSTNAME (domain part dropped); "" = fallback_host
  std::string_view identifier;  // SYSLOG_IDENTIFIER
  std::string_view pid;         // SYSLOG_PID or _PID; "" = none
  std::string_view message;     // MESSAGE
};

// "2025-01-08T11:42:28.123456Z pve1 pvedaemon[1234]: MESSAGE" (journalctl
// -o short-iso-precise --utc). Line breaks and NULs in the message and
// blanks in the host become spaces/'_' so the result is one parseable line.
std::string FormatJournalLine(const JournalEntryFields& f, std::string_view fallback_host);

class JournalSource {
 public:
  // SYSLOG_IDENTIFIER values matched (documented above).
  static constexpr const char* kIdentifiers[] = {"pvedaemon", "pveproxy"};

  // `directory`: "" = this machine's journal (sd_journal_open with
  // SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM: system services, not user
  // sessions); a directory = sd_journal_open_directory (e.g. a copy of
  // another node's /var/log/journal, tests); a regular file =
  // sd_journal_open_files with that one journal file.
  // `node`: node recorded in the events; "" = the entry's _HOSTNAME.
  JournalSource(std::string directory, std::string node, JournalSourceOptions options = {});
  ~JournalSource();
  JournalSource(const JournalSource&) = delete;
  JournalSource& operator=(const JournalSource&) = delete;

  // Stores the entries written since the committed cursor (on the first
  // call: since the cursor in the store, or from the oldest entry when there
  // is none). OK when everything read was committed; a store error leaves
  // the stored cursor where it was, and the next Poll seeks back to it.
  Status Poll(EventStore& store);

  // name "journal", path = the directory or "system journal", format
  // "auth". offset = entries consumed and committed (cursor line), size =
  // offset + entries read but not committed (so lag counts entries, not
  // bytes); events/rejected since start.
  const FileSourceState& state() const { return state_; }

  // The store cursor key; empty until the journal was opened.
  const std::string& cursor_key() const { return key_; }

 private:
  Status Open();
  Status Seek(EventStore& store);
  void Close();

  std::string directory_, node_;
  JournalSourceOptions options_;
  FileSourceState state_;
  sd_journal* j_ = nullptr;
  bool watching_ = false;   // inotify set up (sd_journal_get_fd)
  bool need_seek_ = true;   // position must be re-established from the store
  std::string key_;         // SourceCursor key
  SourceCursor committed_;  // as in the store
  LoginTracker tracker_;    // state at the reading position
};

}  // namespace pveaudit
