// SpoolingStore: the database while it answers, a local spool while it
// does not, forwarded exactly once (spooling_store.h, docs/storage.md).
#include "store/spooling_store.h"

#include <filesystem>
#include <random>

#include "core/time_spec.h"
#include "store/copy_events.h"

namespace pveaudit {
namespace {

// Names of the spool's own cursors; they never go to the database.
constexpr const char* kAmbiguousKey = "pveaudit.spool.ambiguous";
constexpr const char* kSpoolIdSetting = "spool.id";

bool IsDaemonStatus(const std::string& key) { return key.rfind("daemon.status", 0) == 0; }

std::string RandomHex(size_t bytes) {
  static const char* kHex = "0123456789abcdef";
  std::random_device rd;
  std::string s;
  for (size_t i = 0; i < bytes; ++i) {
    unsigned v = rd() & 0xff;
    s.push_back(kHex[v >> 4]);
    s.push_back(kHex[v & 15]);
  }
  return s;
}

uint64_t DirBytes(const std::string& dir) {
  uint64_t n = 0;
  std::error_code ec;
  for (const auto& f : std::filesystem::directory_iterator(dir, ec)) {
    std::error_code e2;
    if (f.is_regular_file(e2)) n += f.file_size(e2);
  }
  return n;
}

}  // namespace

std::string SpoolDir(const std::string& data_dir) { return data_dir + "/spool"; }

Result<std::unique_ptr<EventStore>> OpenSpoolForReading(const std::string& data_dir) {
  const std::string dir = SpoolDir(data_dir);
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return Status::NotFound("no spool in " + data_dir);
  StoreOptions so;
  so.read_only = true;
  return OpenSqliteStore(dir, so);
}

SpoolingStore::SpoolingStore(Opener open_database, SpoolOptions options)
    : open_(std::move(open_database)),
      opt_(std::move(options)),
      batch_key_("pveaudit:batch:" + opt_.writer) {}

Result<std::unique_ptr<SpoolingStore>> SpoolingStore::Open(Opener open_database,
                                                           SpoolOptions options) {
  std::unique_ptr<SpoolingStore> s(new SpoolingStore(std::move(open_database), std::move(options)));
  // A drained spool is renamed before it is removed: what is left of one
  // that a crash interrupted is garbage.
  namespace fs = std::filesystem;
  const fs::path dir(s->opt_.spool_dir);
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(dir.parent_path(), ec))
    if (f.path().filename().string().rfind(dir.filename().string() + ".old-", 0) == 0)
      fs::remove_all(f.path(), ec);
  {
    std::lock_guard<std::mutex> l(s->mu_);
    if (fs::exists(dir, ec)) {
      PVEAUDIT_RETURN_IF_ERROR(s->OpenSpoolLocked());
      s->spooling_ = true;
      s->since_us_ = NowUs();
    }
  }
  auto db = s->open_();
  if (db.ok()) {
    std::lock_guard<std::mutex> l(s->mu_);
    std::lock_guard<std::recursive_mutex> dl(s->db_mu_);
    s->db_ = std::move(*db);
    s->has_db_ = true;
    s->LoadCursorsLocked();
    s->MarkUp();
  } else {
    s->MarkDown(db.status());
    std::lock_guard<std::mutex> l(s->mu_);
    if (!s->spooling_) {
      s->spooling_ = true;
      s->since_us_ = NowUs();
    }
  }
  s->forwarder_ = std::thread([p = s.get()] { p->ForwarderLoop(); });
  return s;
}

SpoolingStore::~SpoolingStore() {
  {
    std::lock_guard<std::mutex> l(wake_mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (forwarder_.joinable()) forwarder_.join();
}

void SpoolingStore::Log(const char* level, const std::string& m) const {
  if (opt_.log) opt_.log(level, m);
}

void SpoolingStore::MarkDown(const Status& st) {
  const bool was = up_.exchange(false);
  bool say;
  {
    std::lock_guard<std::mutex> l(state_mu_);
    say = was || st.message() != state_.error;
    state_.error = st.message();
  }
  if (say)
    Log("error", "the cluster database does not answer (" + st.message() +
                     "): events go to the local spool " + opt_.spool_dir +
                     " and are forwarded when it is back");
}

void SpoolingStore::MarkUp() {
  if (up_.exchange(true)) return;
  bool say;
  {
    std::lock_guard<std::mutex> l(state_mu_);
    say = !state_.error.empty();
    state_.error.clear();
  }
  if (say) Log("info", "the cluster database answers again");
}

Status SpoolingStore::OpenSpoolLocked() {
  StoreOptions so;
  so.writer = opt_.writer;
  auto s = OpenSqliteStore(opt_.spool_dir, so);
  if (!s.ok()) return s.status().Prefixed("spool: ");
  auto id = (*s)->GetSetting(kSpoolIdSetting);
  if (!id.ok()) return id.status().Prefixed("spool: ");
  std::string spool_id = id->value_or("");
  if (spool_id.empty()) {
    spool_id = RandomHex(8);
    PVEAUDIT_RETURN_IF_ERROR((*s)->PutSetting(kSpoolIdSetting, spool_id, "pveauditd"));
  }
  auto info = (*s)->Info();
  if (!info.ok()) return info.status().Prefixed("spool: ");
  spool_ = std::move(*s);
  spool_key_ = "pveaudit:spool:" + opt_.writer + ":" + spool_id;
  spool_last_ = info->last_id;
  std::lock_guard<std::mutex> l(state_mu_);
  state_.events = info->last_id;  // until the forwarder knows how far it got
  state_.oldest_us = info->events ? info->first_time_us : 0;
  return Status::OK();
}

void SpoolingStore::Remember(std::span<const SourceCursor> cursors) {
  for (const SourceCursor& c : cursors) cursors_[c.key] = c;
}

Status SpoolingStore::SpoolAppendLocked(std::vector<Event>* events,
                                        const std::vector<RejectedLine>& rejected,
                                        std::span<const SourceCursor> cursors,
                                        const std::vector<Hash256>* digests,
                                        const SourceCursor* ambiguous) {
  if (!spool_) PVEAUDIT_RETURN_IF_ERROR(OpenSpoolLocked());
  std::vector<SourceCursor> all(cursors.begin(), cursors.end());
  if (ambiguous) all.push_back(*ambiguous);
  const size_t n = events->size();
  int64_t first_time = n ? (*events)[0].time_us : 0;
  PVEAUDIT_RETURN_IF_ERROR(spool_->AppendBatch(events, rejected, all, digests));
  if (n) spool_last_ = events->back().id;
  Remember(cursors);
  std::lock_guard<std::mutex> l(state_mu_);
  if (state_.events == 0) state_.oldest_us = first_time;
  state_.events += n;
  return Status::OK();
}

Status SpoolingStore::AppendBatch(std::vector<Event>* events,
                                  const std::vector<RejectedLine>& rejected,
                                  std::span<const SourceCursor> cursors,
                                  const std::vector<Hash256>* digests) {
  std::lock_guard<std::mutex> l(mu_);
  if (spooling_) return SpoolAppendLocked(events, rejected, cursors, digests, nullptr);
  std::unique_lock<std::recursive_mutex> dl(db_mu_);
  Status st;
  if (next_batch_ == 0) {
    auto c = db_->GetCursor(batch_key_);
    if (c.ok())
      next_batch_ = (c->has_value() ? (*c)->offset : 0) + 1;
    else
      st = c.status();
  }
  bool sent = false;
  if (st.ok()) {
    std::vector<SourceCursor> all(cursors.begin(), cursors.end());
    all.push_back(SourceCursor{batch_key_, opt_.spool_dir, next_batch_, next_batch_, ""});
    sent = true;
    st = db_->AppendBatch(events, rejected, all, digests);
  }
  if (st.ok()) {
    ++next_batch_;
    Remember(cursors);
    MarkUp();
    return st;
  }
  dl.unlock();
  MarkDown(st);
  // The database may have committed the batch and lost the answer: the
  // spool records which direct batch this was (the forwarder skips it when
  // the database holds its number). The spool is new: its ids start at 1.
  spooling_ = true;
  since_us_ = NowUs();
  // Its ids will be (state, line]: those of this batch in the spool.
  SourceCursor ambiguous{kAmbiguousKey, "", next_batch_, spool_last_ + events->size(),
                         std::to_string(spool_last_)};
  next_batch_ = 0;
  return SpoolAppendLocked(events, rejected, cursors, digests, sent ? &ambiguous : nullptr);
}

Result<std::optional<SourceCursor>> SpoolingStore::GetCursor(const std::string& key) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (spooling_) {
      if (spool_) {  // the newest values: written during this outage
        auto c = spool_->GetCursor(key);
        if (!c.ok()) return c.status();
        if (c->has_value()) return c;
      }
      if (!up_) {
        if (auto it = cursors_.find(key); it != cursors_.end())
          return std::optional<SourceCursor>(it->second);
        if (cursors_complete_) return std::optional<SourceCursor>();  // a new file
        return DatabaseForRead();  // never reached the database: the source waits
      }
    }
  }
  Result<std::optional<SourceCursor>> c = Status::IOError("the cluster database was never reached");
  {
    std::lock_guard<std::recursive_mutex> dl(db_mu_);
    if (db_) c = db_->GetCursor(key);
  }
  std::lock_guard<std::mutex> l(mu_);
  if (c.ok()) {
    if (c->has_value()) cursors_[key] = **c;
    return c;
  }
  // The database stopped answering since: what it had, and what we wrote.
  if (auto it = cursors_.find(key); it != cursors_.end())
    return std::optional<SourceCursor>(it->second);
  if (cursors_complete_) return std::optional<SourceCursor>();
  return c.status();
}

void SpoolingStore::LoadCursorsLocked() {
  auto all = db_->ListCursors();
  if (!all.ok()) return;  // loaded at the next reconnection
  cursors_.clear();
  for (SourceCursor& c : *all) {
    std::string key = c.key;
    cursors_[key] = std::move(c);
  }
  cursors_complete_ = true;
}

Status SpoolingStore::DatabaseForRead() const {
  // Without db_mu_: the forwarder may hold it for a connection attempt
  // (up to its timeout), and GetCursor calls this with mu_ held.
  if (has_db_ && up_) return Status::OK();
  std::string why;
  {
    std::lock_guard<std::mutex> l(state_mu_);
    why = state_.error;
  }
  return Status::IOError("the cluster database does not answer" +
                         (why.empty() ? std::string() : " (" + why + ")") +
                         "; this node keeps its events in its local spool until it is back");
}

#define PVEAUDIT_DB_READ(call)                       \
  PVEAUDIT_RETURN_IF_ERROR(DatabaseForRead());       \
  std::lock_guard<std::recursive_mutex> dl_(db_mu_); \
  return db_->call

Result<std::vector<SourceCursor>> SpoolingStore::ListCursors() {
  PVEAUDIT_RETURN_IF_ERROR(DatabaseForRead());
  std::lock_guard<std::recursive_mutex> dl(db_mu_);
  auto all = db_->ListCursors();
  if (!all.ok()) return all.status();
  // The sources' cursors: not this object's own bookkeeping.
  std::erase_if(*all, [](const SourceCursor& c) { return c.key.rfind("pveaudit:", 0) == 0; });
  return all;
}
Status SpoolingStore::Scan(const Filter& filter, uint32_t fields,
                           const std::function<bool(Event&)>& fn) {
  PVEAUDIT_DB_READ(Scan(filter, fields, fn));
}
Status SpoolingStore::ScanKeys(const Filter& filter, EventField key,
                               std::vector<std::string>* names,
                               const std::function<bool(int64_t, uint32_t, uint64_t)>& fn) {
  PVEAUDIT_DB_READ(ScanKeys(filter, key, names, fn));
}
Status SpoolingStore::ScanAfter(uint64_t after_id, size_t limit, uint32_t fields,
                                const std::function<bool(Event&)>& fn) {
  PVEAUDIT_DB_READ(ScanAfter(after_id, limit, fields, fn));
}
Result<std::optional<uint64_t>> SpoolingStore::GetConsumer(const std::string& name) {
  PVEAUDIT_DB_READ(GetConsumer(name));
}
Status SpoolingStore::PutConsumer(const std::string& name, uint64_t last_id) {
  PVEAUDIT_DB_READ(PutConsumer(name, last_id));
}
Result<std::vector<EventStore::ConsumerPosition>> SpoolingStore::ListConsumers() {
  PVEAUDIT_DB_READ(ListConsumers());
}
Result<VerifyReport> SpoolingStore::Verify(
    const std::function<void(uint64_t, uint64_t)>& progress) {
  PVEAUDIT_DB_READ(Verify(progress));
}
Result<StoreInfo> SpoolingStore::Info() { PVEAUDIT_DB_READ(Info()); }
Result<std::optional<std::string>> SpoolingStore::GetSetting(const std::string& key) {
  PVEAUDIT_DB_READ(GetSetting(key));
}
Result<std::vector<RejectedLine>> SpoolingStore::ListRejected(size_t limit) {
  PVEAUDIT_DB_READ(ListRejected(limit));
}
#undef PVEAUDIT_DB_READ

Status SpoolingStore::PutSetting(const std::string& key, const std::string& value,
                                 const std::string& changed_by) {
  Status st = DatabaseForRead();
  if (st.ok()) {
    std::lock_guard<std::recursive_mutex> dl(db_mu_);
    st = db_->PutSetting(key, value, changed_by);
  }
  if (st.ok() || !IsDaemonStatus(key)) return st;
  // The daemon's status while the database is away: what `pveam access
  // status` reads from the spool then.
  std::lock_guard<std::mutex> l(mu_);
  if (!spool_) PVEAUDIT_RETURN_IF_ERROR(OpenSpoolLocked());
  return spool_->PutSetting(key, value, changed_by);
}

SpoolState SpoolingStore::State() const {
  SpoolState s;
  {
    std::lock_guard<std::mutex> l(state_mu_);
    s = state_;
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    s.spooling = spooling_;
    s.since_us = spooling_ ? since_us_ : 0;
    if (!spool_) s.events = 0, s.oldest_us = 0;
  }
  s.database_up = up_;
  s.bytes = DirBytes(opt_.spool_dir);
  return s;
}

void SpoolingStore::ForwarderLoop() {
  for (;;) {
    const bool progress = ForwardOnce();
    std::unique_lock<std::mutex> l(wake_mu_);
    if (stop_) return;
    if (!progress) wake_.wait_for(l, opt_.retry, [&] { return stop_; });
    if (stop_) return;
  }
}

bool SpoolingStore::ForwardOnce() {
  std::string key;
  std::optional<SourceCursor> ambiguous;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!spooling_) return false;
    key = spool_key_;
    if (spool_) {
      auto a = spool_->GetCursor(kAmbiguousKey);
      if (a.ok()) ambiguous = *a;
    }
  }
  // The database, opened again if it never was.
  {
    std::unique_lock<std::recursive_mutex> dl(db_mu_);
    if (!db_) {
      dl.unlock();
      auto db = open_();  // may take the connect timeout: no lock held
      if (!db.ok()) {
        MarkDown(db.status());
        return false;
      }
      dl.lock();
      db_ = std::move(*db);
      has_db_ = true;
    }
  }
  // How far the spool is forwarded: the database knows (its cursor
  // commits with each forwarded batch).
  uint64_t from = 0, rejected_sent = 0;
  {
    std::lock_guard<std::recursive_mutex> dl(db_mu_);
    if (!key.empty()) {
      auto c = db_->GetCursor(key);
      if (!c.ok()) {
        MarkDown(c.status());
        return false;
      }
      if (c->has_value()) from = (*c)->offset, rejected_sent = (*c)->line;
    }
    if (ambiguous && std::to_string(from) == ambiguous->state) {
      auto b = db_->GetCursor(batch_key_);
      if (!b.ok()) {
        MarkDown(b.status());
        return false;
      }
      if (b->has_value() && (*b)->offset >= ambiguous->offset) {
        Log("info", "spooled events " + std::to_string(from + 1) + " to " +
                        std::to_string(ambiguous->line) +
                        " were committed by the database before it stopped answering: not "
                        "forwarded again");
        from = ambiguous->line;
      }
    }
  }
  MarkUp();

  std::unique_lock<std::mutex> l(mu_);
  if (!spool_) {  // nothing was spooled while the database was away
    std::lock_guard<std::recursive_mutex> dl(db_mu_);
    LoadCursorsLocked();
    spooling_ = false;
    since_us_ = 0;
    return true;
  }
  std::vector<Event> batch;
  Status st = ReadNextEvents(*spool_, from, opt_.forward_batch, &batch);
  if (!st.ok()) {
    Log("error",
        "spool " + opt_.spool_dir + ": " + st.message() +
            (st.code() == Status::Code::kCorruption ? ": not forwarded (pveam access verify)"
                                                    : ""));
    return false;
  }
  const uint64_t upto = batch.empty() ? from : batch.back().id;
  const bool last = upto >= spool_last_;
  std::vector<SourceCursor> cursors;
  std::vector<RejectedLine> rejected;
  if (last) {
    // The last batch carries what the sources' cursors and the rejected
    // lines became, while appends wait (mu_ is held until the spool is
    // gone and appends go to the database again).
    auto c = spool_->ListCursors();
    auto r = spool_->ListRejected(0);
    if (!c.ok() || !r.ok()) {
      Log("error", "spool: " + (c.ok() ? r.status() : c.status()).message());
      return false;
    }
    for (SourceCursor& sc : *c)
      if (sc.key.rfind("pveaudit.spool.", 0) != 0) cursors.push_back(std::move(sc));
    if (rejected_sent < r->size())
      rejected.assign(std::make_move_iterator(r->begin() + ptrdiff_t(rejected_sent)),
                      std::make_move_iterator(r->end()));
    rejected_sent += rejected.size();
  } else {
    l.unlock();  // appends go on into the spool meanwhile
  }
  cursors.push_back(SourceCursor{key, opt_.spool_dir, upto, rejected_sent, ""});
  const size_t n = batch.size();
  {
    std::lock_guard<std::recursive_mutex> dl(db_mu_);
    st = db_->AppendBatch(&batch, rejected, cursors, nullptr);
  }
  if (!st.ok()) {
    MarkDown(st);
    return false;
  }
  {
    std::lock_guard<std::mutex> sl(state_mu_);
    state_.forwarded += n;
  }
  if (!last) {
    // What is left, for the status: the next event's time.
    std::lock_guard<std::mutex> ll(mu_);
    int64_t next_time = 0;
    (void)spool_->ScanAfter(upto, 1, 0, [&](Event& e) {
      next_time = e.time_us;
      return false;
    });
    std::lock_guard<std::mutex> sl(state_mu_);
    state_.events = spool_last_ - upto;
    state_.oldest_us = next_time;
    return true;
  }
  // Drained: the spool goes (renamed first, so a crash while removing it
  // leaves nothing that looks like a spool), and appends go to the
  // database again.
  spool_.reset();
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::string old = opt_.spool_dir + ".old-" + key.substr(key.rfind(':') + 1);
  fs::rename(opt_.spool_dir, old, ec);
  if (!ec) fs::remove_all(old, ec);
  if (ec) Log("error", "cannot remove the drained spool " + opt_.spool_dir + ": " + ec.message());
  Log("info", "spool drained: " + std::to_string(upto) +
                  " events forwarded to the cluster database; appends go there again");
  {
    std::lock_guard<std::recursive_mutex> dl(db_mu_);
    LoadCursorsLocked();
  }
  spooling_ = false;
  since_us_ = 0;
  spool_last_ = 0;
  spool_key_.clear();
  next_batch_ = 0;
  std::lock_guard<std::mutex> sl(state_mu_);
  state_.events = 0;
  state_.oldest_us = 0;
  return true;
}

}  // namespace pveaudit
