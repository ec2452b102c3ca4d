// The SQLite backend of EventStore. Layout and the reasons for it are in
// docs/storage.md; the chain and its checks in docs/integrity.md.
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <queue>
#include <span>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "core/actions.h"
#include "core/time_spec.h"
#include "store/block_codec.h"
#include "store/chain.h"
#include "store/event_store.h"
#include "store/sqlite_db.h"

namespace pveaudit {
namespace {

constexpr int kSchemaVersion = 2;  // 2: chunked columns, failure projection
// block_cols.key = ((block_id * 32 + column) << 4) | chunk
constexpr int64_t kColsPerBlock = 32;
constexpr int kChunkBits = 4;
constexpr uint32_t kMaxBlockEvents = kChunkRows << kChunkBits;
inline int64_t ColKey(int64_t block, int col, size_t chunk) {
  return ((block * kColsPerBlock + col) << kChunkBits) | int64_t(chunk);
}
// Columns kFailureBase.. hold the block's failed events again (same codec):
// a projection that makes "--failed 1" queries, the basis of login alerts,
// read a few hundred rows instead of every block. Verify checks it.
constexpr int kFailureBase = 16;
static_assert(kFailureBase >= kNumColumns && kFailureBase + kNumColumns <= kColsPerBlock);

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dict(kind INTEGER NOT NULL, id INTEGER NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY(kind, id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dict_value ON dict(kind, value);
CREATE TABLE IF NOT EXISTS blocks(id INTEGER PRIMARY KEY, first_id INTEGER NOT NULL,
  last_id INTEGER NOT NULL, n INTEGER NOT NULL, t_min INTEGER NOT NULL, t_max INTEGER NOT NULL,
  failures INTEGER NOT NULL, head BLOB NOT NULL, summary BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS blocks_tmax ON blocks(t_max);
CREATE INDEX IF NOT EXISTS blocks_last ON blocks(last_id);
CREATE TABLE IF NOT EXISTS block_cols(key INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS chain_head(id INTEGER PRIMARY KEY CHECK (id = 1),
  last_id INTEGER NOT NULL, hash BLOB NOT NULL, updated INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS cursors(key TEXT PRIMARY KEY, path TEXT NOT NULL,
  offset INTEGER NOT NULL, line INTEGER NOT NULL, state TEXT NOT NULL, updated INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS rejected(id INTEGER PRIMARY KEY, time INTEGER NOT NULL,
  origin TEXT NOT NULL, line INTEGER NOT NULL, reason TEXT NOT NULL, text BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS settings(key TEXT PRIMARY KEY, value TEXT NOT NULL,
  changed_by TEXT NOT NULL, changed INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS consumers(name TEXT PRIMARY KEY, last_id INTEGER NOT NULL,
  updated INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS archives(seq INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
  period TEXT NOT NULL,
  first_id INTEGER NOT NULL UNIQUE, last_id INTEGER NOT NULL, events INTEGER NOT NULL,
  t_min INTEGER NOT NULL, t_max INTEGER NOT NULL, prev_hash TEXT NOT NULL,
  last_hash TEXT NOT NULL, manifest_sha256 TEXT NOT NULL, archived INTEGER NOT NULL,
  purged INTEGER NOT NULL);
)sql";

struct SvHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};
struct SvEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};
using DictMap = std::unordered_map<std::string, uint32_t, SvHash, SvEq>;

uint32_t FieldBitOfKind(int kind) { return 1u << kind; }  // EventField order == DictKind order

struct BlockMeta {
  int64_t id = 0;
  uint64_t first_id = 0, last_id = 0;
  uint32_t n = 0;
  int64_t t_min = 0, t_max = 0;
  uint32_t failures = 0;
  std::string summary;
};

// The store holds user names and client addresses: only its owner may read
// it. Creates `dir` 0700 (CreateStore makes `db` 0600; SQLite gives the -wal
// and -shm files the database file's mode and, when root, its owner and
// group), and tightens an existing store's modes to those: the database,
// -wal and -shm files owned by us, and the directory when it is ours and
// holds nothing but the store (never a directory shared with other files,
// such as /tmp). Only group/other bits are removed.
// One exception, made on purpose by ShareStoreWithGroup: a directory of
// ours with mode exactly 0750 and a group other than ours is a store shared
// read-only with that group (pveauditd as root, pveaudit-web as its own
// user, docs/web.md); its files are then 0640 with the directory's group.
Status SecureStoreFiles(const std::string& dir, const std::string& db) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::string base = fs::path(db).filename().string();
  bool only_store = true;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    only_store &= n == base || n == base + "-wal" || n == base + "-shm" || n == base + "-journal";
  }
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create data directory " + dir + ": " + ec.message());
  struct stat st;
  if (stat(dir.c_str(), &st) != 0)
    return Status::IOError("cannot read data directory " + dir + ": " + std::strerror(errno));
  const bool ours = st.st_uid == geteuid();
  const bool shared = ours && (st.st_mode & 0777) == 0750 && st.st_gid != getegid();
  const gid_t group = st.st_gid;
  if (!shared && only_store && ours && (st.st_mode & 077) &&
      chmod(dir.c_str(), st.st_mode & 07700) != 0)
    return Status::IOError("cannot restrict " + dir + " to its owner: " + std::strerror(errno));
  for (const std::string& f : {db, db + "-wal", db + "-shm"}) {
    if (stat(f.c_str(), &st) != 0 || st.st_uid != geteuid()) continue;
    if (shared) {
      if (((st.st_mode & 0777) != 0640 && chmod(f.c_str(), 0640) != 0) ||
          (st.st_gid != group && chown(f.c_str(), uid_t(-1), group) != 0))
        return Status::IOError("cannot share " + f + " read-only with the group of " + dir + ": " +
                               std::strerror(errno));
      continue;
    }
    if (!(st.st_mode & 077)) continue;
    if (chmod(f.c_str(), st.st_mode & 0700) != 0)
      return Status::IOError("cannot restrict " + f + " to its owner: " + std::strerror(errno));
  }
  return Status::OK();
}

constexpr const char kPragmas[] =
    "PRAGMA page_size=16384; PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL; PRAGMA cache_size=-65536;";

// Creates the store `db` when it does not exist. It is built under a
// temporary name (0600) and renamed into place once its schema is
// committed, so a kill during creation never leaves a half-made database
// that every later command would reject as "not a pveaudit store"; only a
// temporary file, which the next creation removes. Two processes creating
// the store at once: the first rename wins, the other uses that store.
Status CreateStore(const std::string& dir, const std::string& db) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(db, ec)) return Status::OK();
  const std::string prefix = fs::path(db).filename().string() + ".new.";
  for (const auto& e : fs::directory_iterator(dir, ec)) {  // left by killed creators
    const std::string n = e.path().filename().string();
    if (n.rfind(prefix, 0) != 0) continue;
    pid_t pid = pid_t(std::atoi(n.c_str() + prefix.size()));
    if (pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH)) continue;  // still creating
    fs::remove(e.path(), ec);
  }
  const std::string tmp = db + ".new." + std::to_string(getpid());
  for (const std::string& f : {tmp, tmp + "-wal", tmp + "-shm"}) fs::remove(f, ec);
  int fd = open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("cannot create " + tmp + ": " + std::strerror(errno));
  close(fd);
  {
    Db d;
    Status st = d.Open(tmp, false);
    if (st.ok()) st = d.Exec(kPragmas);
    if (st.ok())
      st = d.Exec(std::string("BEGIN IMMEDIATE;") + kSchema +
                  "INSERT OR IGNORE INTO meta VALUES('schema', '" + std::to_string(kSchemaVersion) +
                  "'); COMMIT;");
    if (!st.ok()) {
      fs::remove(tmp, ec);
      return st;
    }
  }  // closed: the WAL is checkpointed into `tmp` and removed
  if (renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, db.c_str(), RENAME_NOREPLACE) != 0) {
    int err = errno;
    fs::remove(tmp, ec);
    if (err != EEXIST) return Status::IOError("cannot create " + db + ": " + std::strerror(err));
  }
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);  // the rename is durable before anything is stored in the store
    close(dfd);
  }
  return Status::OK();
}

class SqliteStore final : public EventStore {
 public:
  SqliteStore(std::string dir, StoreOptions opt) : dir_(std::move(dir)), opt_(opt) {}

  Status Open() {
    if (opt_.block_events == 0 || opt_.block_events > kMaxBlockEvents)
      return Status::InvalidArgument("block_events must be 1.." + std::to_string(kMaxBlockEvents));
    std::error_code ec;
    std::string path = dir_ + "/pveaudit.db";
    if (opt_.read_only) {
      if (!std::filesystem::exists(path, ec))
        return Status::NotFound("no event store in " + dir_ +
                                " (import events first: pveam access import FILE...)");
    } else {
      // Regression: the store was created 0644 in a 0755 directory,
      // readable by every local account.
      PVEAUDIT_RETURN_IF_ERROR(SecureStoreFiles(dir_, path));
      PVEAUDIT_RETURN_IF_ERROR(CreateStore(dir_, path));
      // A store just created in a shared directory gets its group too.
      PVEAUDIT_RETURN_IF_ERROR(SecureStoreFiles(dir_, path));
    }
    path_ = path;
    PVEAUDIT_RETURN_IF_ERROR(db_.Open(path, opt_.read_only));
    if (!opt_.read_only) {
      PVEAUDIT_RETURN_IF_ERROR(db_.Exec(kPragmas));
      PVEAUDIT_RETURN_IF_ERROR(db_.Exec(std::string("BEGIN IMMEDIATE;") + kSchema +
                                        "INSERT OR IGNORE INTO meta VALUES('schema', '" +
                                        std::to_string(kSchemaVersion) + "'); COMMIT;"));
    } else {
      PVEAUDIT_RETURN_IF_ERROR(
          db_.Exec("PRAGMA cache_size=-65536; PRAGMA query_only=1; PRAGMA mmap_size=68719476736;"));
    }
    auto ver = db_.Prepare("SELECT value FROM meta WHERE key='schema'");
    if (!ver.ok())
      return Status::Corruption(path + " is not a pveaudit store: " + ver.status().message());
    if (!ver->Step()) return Status::Corruption(path + " is not a pveaudit store (no schema)");
    if (ver->Text(0) != std::to_string(kSchemaVersion))
      return Status::InvalidArgument(path + " has store schema " + std::string(ver->Text(0)) +
                                     ", this pveaudit reads schema " +
                                     std::to_string(kSchemaVersion));
    return Status::OK();
  }

  // ---------------------------------------------------------------- writing

  Status AppendBatch(std::vector<Event>* events, const std::vector<RejectedLine>& rejected,
                     std::span<const SourceCursor> cursors,
                     const std::vector<Hash256>* digests) override {
    if (digests && digests->size() != events->size())
      return Status::InvalidArgument("Append: digests do not match the events");
    if (opt_.read_only) return Status::InvalidArgument("store opened read-only");
    PVEAUDIT_RETURN_IF_ERROR(db_.Exec("BEGIN IMMEDIATE"));
    Status st = AppendInTxn(events, rejected, cursors, digests);
    if (st.ok()) st = db_.Exec("COMMIT");
    ++own_commits_;  // committed or rolled back: reader caches may be stale
    if (!st.ok()) {
      (void)db_.Exec("ROLLBACK");
      writer_loaded_ = false;  // in-memory state may be ahead of the database: reload
      for (Event& e : *events) e.id = 0;
    }
    return st;
  }

  Status PrepareWriter() {
    if (stmts_ready_) return Status::OK();
    auto prep = [&](Stmt* s, const char* sql) -> Status {
      auto r = db_.Prepare(sql);
      if (!r.ok()) return r.status();
      *s = std::move(r.value());
      return Status::OK();
    };
    PVEAUDIT_RETURN_IF_ERROR(prep(&ins_dict_, "INSERT INTO dict(kind,id,value) VALUES(?,?,?)"));
    PVEAUDIT_RETURN_IF_ERROR(prep(
        &ins_block_,
        "INSERT OR REPLACE INTO blocks(id,first_id,last_id,n,t_min,t_max,failures,head,summary)"
        " VALUES(?,?,?,?,?,?,?,?,?)"));
    PVEAUDIT_RETURN_IF_ERROR(
        prep(&ins_col_, "INSERT OR REPLACE INTO block_cols(key,data) VALUES(?,?)"));
    PVEAUDIT_RETURN_IF_ERROR(prep(
        &set_head_, "INSERT OR REPLACE INTO chain_head(id,last_id,hash,updated) VALUES(1,?,?,?)"));
    PVEAUDIT_RETURN_IF_ERROR(prep(
        &set_cursor_,
        "INSERT OR REPLACE INTO cursors(key,path,offset,line,state,updated) VALUES(?,?,?,?,?,?)"));
    PVEAUDIT_RETURN_IF_ERROR(prep(
        &ins_rejected_, "INSERT INTO rejected(time,origin,line,reason,text) VALUES(?,?,?,?,?)"));
    stmts_ready_ = true;
    return Status::OK();
  }

  // Loads the writer's view (dictionaries, chain head, open tail block).
  // Called inside the write transaction whenever another writer may have
  // committed since we last looked.
  Status LoadWriterState() {
    for (auto& m : dict_) m.clear();
    for (auto& v : last_value_) v.clear();
    for (auto& i : last_id_of_kind_) i = 0;
    for (auto& n : dict_next_) n = 1;
    {
      auto s = db_.Prepare("SELECT kind,id,value FROM dict");
      if (!s.ok()) return s.status();
      while (s->Step()) {
        int k = int(s->Int(0));
        if (k < 0 || k >= kNumDictKinds) continue;
        uint32_t id = uint32_t(s->Int(1));
        dict_[k].emplace(std::string(s->Text(2)), id);
        dict_next_[k] = std::max(dict_next_[k], id + 1);
      }
      PVEAUDIT_RETURN_IF_ERROR(s->status());
    }
    for (auto& m : dict_) m.emplace("", 0);
    last_id_ = 0;
    head_ = Hash256{};
    {
      auto s = db_.Prepare("SELECT last_id,hash FROM chain_head WHERE id=1");
      if (!s.ok()) return s.status();
      if (s->Step()) {
        last_id_ = uint64_t(s->Int(0));
        auto h = s->Text(1);
        if (h.size() == 32) std::memcpy(head_.data(), h.data(), 32);
      }
      PVEAUDIT_RETURN_IF_ERROR(s->status());
    }
    tail_.clear();
    tail_block_id_ = 0;
    next_block_id_ = 1;
    {
      auto s = db_.Prepare("SELECT id,n FROM blocks ORDER BY id DESC LIMIT 1");
      if (!s.ok()) return s.status();
      if (s->Step()) {
        next_block_id_ = s->Int(0) + 1;
        if (uint32_t(s->Int(1)) < opt_.block_events) {
          tail_block_id_ = s->Int(0);
          tail_.resize(size_t(s->Int(1)));
          for (int c = 0; c < kNumColumns; ++c)
            PVEAUDIT_RETURN_IF_ERROR(
                LoadColumn(tail_block_id_, 0, c, tail_.data(), tail_.size(), nullptr));
          // Stored in BlockOrder; the writer appends in id order.
          std::sort(tail_.begin(), tail_.end(),
                    [](const Row& a, const Row& b) { return a.id < b.id; });
        }
      }
      PVEAUDIT_RETURN_IF_ERROR(s->status());
    }
    writer_loaded_ = true;
    return Status::OK();
  }

  Status AppendInTxn(std::vector<Event>* events, const std::vector<RejectedLine>& rejected,
                     std::span<const SourceCursor> cursors, const std::vector<Hash256>* digests) {
    PVEAUDIT_RETURN_IF_ERROR(PrepareWriter());
    if (writer_loaded_) {
      // Another writer may have appended since our last transaction.
      auto s = db_.Prepare("SELECT last_id FROM chain_head WHERE id=1");
      if (!s.ok()) return s.status();
      uint64_t db_last = s->Step() ? uint64_t(s->Int(0)) : 0;
      if (db_last != last_id_) writer_loaded_ = false;
    }
    if (!writer_loaded_) PVEAUDIT_RETURN_IF_ERROR(LoadWriterState());

    if (events->empty()) return WriteSideRecords(rejected, cursors);
    std::vector<Row> rows = std::move(tail_);
    tail_.clear();
    rows.reserve(rows.size() + events->size());
    pending_heads_.clear();
    for (size_t i = 0; i < events->size(); ++i) {
      Event& e = (*events)[i];
      e.id = ++last_id_;
      head_ = hasher().Link(head_, e.id, digests ? (*digests)[i] : hasher().Digest(e));
      if ((rows.size() + 1) % opt_.block_events == 0) pending_heads_.emplace(e.id, head_);
      Row r;
      r.id = e.id;
      r.time_us = e.time_us;
      r.result = uint8_t(e.result);
      r.origin_line = e.origin_line;
      r.hash32 = HashPrefix32(head_);
      for (int k = 0; k < kNumDictKinds; ++k) {
        if (IsInlineKind(k)) continue;
        auto res = Intern(k, DictField(e, k));
        if (!res.ok()) return res.status();
        r.dict[k] = *res;
      }
      // Inline kinds move into the row (see EventStore::Append).
      r.detail = std::move(e.detail);
      r.session = std::move(e.session);
      rows.push_back(std::move(r));
    }
    // Seal full blocks; the remainder is written as the (replaceable) tail.
    size_t pos = 0;
    int64_t block_id = tail_block_id_ ? tail_block_id_ : next_block_id_;
    while (pos < rows.size()) {
      size_t take = std::min<size_t>(opt_.block_events, rows.size() - pos);
      std::span<const Row> chunk(rows.data() + pos, take);
      PVEAUDIT_RETURN_IF_ERROR(WriteBlock(block_id, chunk));
      pos += take;
      if (take < opt_.block_events) {
        tail_.assign(chunk.begin(), chunk.end());
        tail_block_id_ = block_id;
      } else {
        tail_block_id_ = 0;
      }
      if (block_id >= next_block_id_) next_block_id_ = block_id + 1;
      block_id = next_block_id_;
    }
    PVEAUDIT_RETURN_IF_ERROR(
        set_head_.Bind(1, int64_t(last_id_))
            .BindBlob(2, std::string_view(reinterpret_cast<const char*>(head_.data()), 32))
            .Bind(3, NowUs())
            .Run());
    return WriteSideRecords(rejected, cursors);
  }

  Status WriteSideRecords(const std::vector<RejectedLine>& rejected,
                          std::span<const SourceCursor> cursors) {
    for (const RejectedLine& r : rejected) {
      std::string_view text = r.text;
      if (text.size() > 4096) text = text.substr(0, 4096);
      PVEAUDIT_RETURN_IF_ERROR(ins_rejected_.Bind(1, NowUs())
                                   .Bind(2, r.origin)
                                   .Bind(3, int64_t(r.line))
                                   .Bind(4, r.reason)
                                   .BindBlob(5, text)
                                   .Run());
    }
    for (const SourceCursor& c : cursors) {
      PVEAUDIT_RETURN_IF_ERROR(set_cursor_.Bind(1, c.key)
                                   .Bind(2, c.path)
                                   .Bind(3, int64_t(c.offset))
                                   .Bind(4, int64_t(c.line))
                                   .Bind(5, c.state)
                                   .Bind(6, NowUs())
                                   .Run());
    }
    return Status::OK();
  }

  Result<uint32_t> Intern(int kind, const std::string& value) {
    // Neighbouring events mostly share node, source, origin, status...:
    // compare with the previous value before hashing.
    if (value == last_value_[kind]) return last_id_of_kind_[kind];
    auto found = InternSlow(kind, value);
    if (found.ok()) {
      last_value_[kind] = value;
      last_id_of_kind_[kind] = *found;
    }
    return found;
  }

  Result<uint32_t> InternSlow(int kind, const std::string& value) {
    auto& m = dict_[kind];
    auto it = m.find(std::string_view(value));
    if (it != m.end()) return it->second;
    uint32_t id = dict_next_[kind]++;
    Status st = ins_dict_.Bind(1, kind).Bind(2, id).Bind(3, value).Run();
    if (!st.ok()) return st;
    m.emplace(value, id);
    return id;
  }

  Status WriteBlock(int64_t block_id, std::span<const Row> by_id) {
    std::vector<Row> sorted(by_id.begin(), by_id.end());
    std::sort(sorted.begin(), sorted.end(), BlockOrder);
    std::span<const Row> rows(sorted);
    BlockMeta m;
    m.first_id = by_id.front().id;
    m.last_id = by_id.back().id;
    m.t_min = INT64_MAX;
    m.t_max = INT64_MIN;
    for (const Row& r : rows) {
      m.t_min = std::min(m.t_min, r.time_us);
      m.t_max = std::max(m.t_max, r.time_us);
      if (r.result == uint8_t(Outcome::kFailure)) ++m.failures;
    }
    // The block head is the chain hash of its last event (HeadFor).
    std::string summary = EncodeSummary(rows);
    PVEAUDIT_RETURN_IF_ERROR(ins_block_.Bind(1, block_id)
                                 .Bind(2, int64_t(m.first_id))
                                 .Bind(3, int64_t(m.last_id))
                                 .Bind(4, int64_t(rows.size()))
                                 .Bind(5, m.t_min)
                                 .Bind(6, m.t_max)
                                 .Bind(7, int64_t(m.failures))
                                 .BindBlob(8, HeadFor(m.last_id))
                                 .BindBlob(9, summary)
                                 .Run());
    PVEAUDIT_RETURN_IF_ERROR(WriteColumns(block_id, 0, rows));
    if (m.failures > 0) {
      std::vector<Row> fails = FailureRows(by_id);  // in id (~time) order
      PVEAUDIT_RETURN_IF_ERROR(WriteColumns(block_id, kFailureBase, fails));
    }
    return Status::OK();
  }

  Status WriteColumns(int64_t block_id, int base, std::span<const Row> rows) {
    for (int c = 0; c < kNumColumns; ++c) {
      std::vector<std::string> chunks = EncodeColumn(c, rows);
      for (size_t k = 0; k < chunks.size(); ++k)
        PVEAUDIT_RETURN_IF_ERROR(
            ins_col_.Bind(1, ColKey(block_id, base + c, k)).BindBlob(2, chunks[k]).Run());
    }
    return Status::OK();
  }

  static std::vector<Row> FailureRows(std::span<const Row> rows) {
    std::vector<Row> fails;
    for (const Row& r : rows)
      if (r.result == uint8_t(Outcome::kFailure)) fails.push_back(r);
    return fails;
  }

  // ---------------------------------------------------------------- reading

  // Decodes column `col` of block `block_id` (at `base`: 0, or kFailureBase
  // for the failure projection) into rows[0..n): only the chunks holding a
  // row of `only` when it is given.
  Status LoadColumn(int64_t block_id, int base, int col, Row* rows, size_t n,
                    const std::vector<uint32_t>* only) {
    size_t o = 0;
    for (size_t k = 0, lo = 0; lo < n; ++k, lo += kChunkRows) {
      size_t len = std::min<size_t>(kChunkRows, n - lo);
      if (only) {
        while (o < only->size() && (*only)[o] < lo) ++o;
        if (o == only->size() || (*only)[o] >= lo + len) continue;
      }
      PVEAUDIT_RETURN_IF_ERROR(ReadChunk(block_id, base + col, k, &chunk_buf_));
      Status st = DecodeColumnChunk(col, chunk_buf_, rows + lo, len, only, lo);
      if (!st.ok())
        return Status::Corruption("block " + std::to_string(block_id) + ": " + st.message());
    }
    return Status::OK();
  }

  Status ReadChunk(int64_t block_id, int col, size_t chunk, std::string* out) {
    if (!read_col_ready_) {
      auto r = db_.Prepare("SELECT data FROM block_cols WHERE key=?");
      if (!r.ok()) return r.status();
      read_col_ = std::move(r.value());
      read_col_ready_ = true;
    }
    read_col_.Bind(1, ColKey(block_id, col, chunk));
    bool found = read_col_.Step();
    if (found) out->assign(read_col_.Text(0));
    Status st = read_col_.status();
    read_col_.Reset();
    if (!st.ok()) return st;
    if (!found)
      return Status::Corruption("block " + std::to_string(block_id) + " has no column " +
                                std::to_string(col) + " chunk " + std::to_string(chunk));
    return Status::OK();
  }

  Result<std::optional<SourceCursor>> GetCursor(const std::string& key) override {
    auto s = db_.Prepare("SELECT path,offset,line,state FROM cursors WHERE key=?");
    if (!s.ok()) return s.status();
    s->Bind(1, key);
    if (!s->Step()) {
      PVEAUDIT_RETURN_IF_ERROR(s->status());
      return std::optional<SourceCursor>();
    }
    SourceCursor c;
    c.key = key;
    c.path = std::string(s->Text(0));
    c.offset = uint64_t(s->Int(1));
    c.line = uint64_t(s->Int(2));
    c.state = std::string(s->Text(3));
    return std::optional<SourceCursor>(std::move(c));
  }

  Result<std::vector<SourceCursor>> ListCursors() override {
    auto s = db_.Prepare("SELECT key,path,offset,line,state FROM cursors ORDER BY key");
    if (!s.ok()) return s.status();
    std::vector<SourceCursor> out;
    while (s->Step())
      out.push_back({std::string(s->Text(0)), std::string(s->Text(1)), uint64_t(s->Int(2)),
                     uint64_t(s->Int(3)), std::string(s->Text(4))});
    PVEAUDIT_RETURN_IF_ERROR(s->status());
    return out;
  }

  // Strings of one dictionary kind, loaded on first use. The detail kind
  // can be large, so it is looked up per id instead (see Lookup).
  Status LoadKind(int kind) {
    if (reader_dict_loaded_[kind]) return Status::OK();
    auto s = db_.Prepare("SELECT id,value FROM dict WHERE kind=?");
    if (!s.ok()) return s.status();
    s->Bind(1, kind);
    auto& v = reader_dict_[kind];
    v.assign(1, std::string());
    while (s->Step()) {
      size_t id = size_t(s->Int(0));
      if (id >= v.size()) v.resize(id + 1);
      v[id] = std::string(s->Text(1));
    }
    PVEAUDIT_RETURN_IF_ERROR(s->status());
    reader_dict_loaded_[kind] = true;
    return Status::OK();
  }

  // The dictionary value of `id`, owned by the reader caches (valid until
  // the next RefreshReaderCaches). A pointer, not a copy: copying every
  // field of every event was a fifth of a full scan's time.
  Result<const std::string*> Lookup(int kind, uint32_t id) {
    static const std::string kEmpty;
    if (id == 0) return &kEmpty;
    if (reader_dict_loaded_[kind]) {
      auto& v = reader_dict_[kind];
      if (id < v.size()) return &v[id];
      return Status::Corruption("dictionary " + std::to_string(kind) + " has no entry " +
                                std::to_string(id));
    }
    auto& cache = lookup_cache_[kind];
    auto it = cache.find(id);
    if (it != cache.end()) return &it->second;
    if (!lookup_ready_) {
      auto r = db_.Prepare("SELECT value FROM dict WHERE kind=? AND id=?");
      if (!r.ok()) return r.status();
      lookup_ = std::move(r.value());
      lookup_ready_ = true;
    }
    lookup_.Bind(1, kind).Bind(2, int64_t(id));
    bool found = lookup_.Step();
    std::string v = found ? std::string(lookup_.Text(0)) : std::string();
    Status st = lookup_.status();
    lookup_.Reset();
    if (!st.ok()) return st;
    if (!found)
      return Status::Corruption("dictionary " + std::to_string(kind) + " has no entry " +
                                std::to_string(id));
    return &cache.emplace(id, std::move(v)).first->second;
  }

  Result<std::optional<uint32_t>> FindId(int kind, const std::string& value) {
    if (value.empty()) return std::optional<uint32_t>(0);
    auto s = db_.Prepare("SELECT id FROM dict WHERE kind=? AND value=?");
    if (!s.ok()) return s.status();
    s->Bind(1, kind).Bind(2, value);
    if (s->Step()) return std::optional<uint32_t>(uint32_t(s->Int(0)));
    PVEAUDIT_RETURN_IF_ERROR(s->status());
    return std::optional<uint32_t>();
  }

  // The filter translated to dictionary ids: for each summarised kind, the
  // set of ids that may match (empty optional = no constraint).
  struct Plan {
    std::optional<std::vector<bool>> wanted[kDictResource + 1];
    bool impossible = false;
  };

  Status MakePlan(const Filter& f, Plan* plan) {
    auto one = [&](int kind, const std::optional<std::string>& v) -> Status {
      if (!v) return Status::OK();
      auto id = FindId(kind, *v);
      if (!id.ok()) return id.status();
      if (!id->has_value()) {
        plan->impossible = true;
        return Status::OK();
      }
      std::vector<bool> w(size_t(**id) + 1, false);
      w[**id] = true;
      plan->wanted[kind] = std::move(w);
      return Status::OK();
    };
    PVEAUDIT_RETURN_IF_ERROR(one(kDictUser, f.user));
    PVEAUDIT_RETURN_IF_ERROR(one(kDictNode, f.node));
    auto many = [&](int kind, auto pred) -> Status {
      PVEAUDIT_RETURN_IF_ERROR(LoadKind(kind));
      const auto& v = reader_dict_[kind];
      std::vector<bool> w(v.size(), false);
      bool any = false;
      for (size_t i = 0; i < v.size(); ++i)
        if (pred(v[i])) w[i] = any = true;
      if (!any) plan->impossible = true;
      plan->wanted[kind] = std::move(w);
      return Status::OK();
    };
    if (f.action)
      PVEAUDIT_RETURN_IF_ERROR(
          many(kDictAction, [&](const std::string& a) { return ActionMatches(*f.action, a); }));
    if (f.resource)
      PVEAUDIT_RETURN_IF_ERROR(many(kDictResource, [&](const std::string& r) {
        return !r.empty() && ResourceCovers(*f.resource, r);
      }));
    if (f.ip)
      PVEAUDIT_RETURN_IF_ERROR(many(
          kDictIp, [&](const std::string& ip) { return !ip.empty() && IpInRange(ip, *f.ip); }));
    return Status::OK();
  }

  static bool Wanted(const std::vector<bool>& w, uint32_t id) { return id < w.size() && w[id]; }

  // Matching rows of one block, sorted by (time, id).
  struct OpenBlock {
    std::vector<Row> rows;
    size_t pos = 0;
  };

  Status MatchBlock(const BlockMeta& b, const Filter& f, const Plan& plan, uint32_t fields,
                    std::vector<Row>* out) {
    out->clear();
    const bool projection = f.failed && *f.failed;
    const uint32_t n = projection ? b.failures : b.n;
    // Rows worth looking at: with a user filter on the main block, only
    // the runs of the wanted users (rows are stored by user).
    std::vector<uint32_t> cand;
    bool all_rows = true;
    if (plan.wanted[0] || plan.wanted[1] || plan.wanted[2] || plan.wanted[3] || plan.wanted[4]) {
      BlockSummary sum;
      PVEAUDIT_RETURN_IF_ERROR(DecodeSummary(b.summary, &sum));
      if (plan.wanted[kDictUser] && !projection) {
        all_rows = false;
        const auto& users = sum.ids[kDictUser];
        for (size_t u = 0; u < users.size(); ++u)
          if (Wanted(*plan.wanted[kDictUser], users[u]))
            for (uint32_t i = 0; i < sum.user_ranges[u].second; ++i)
              cand.push_back(sum.user_ranges[u].first + i);
        if (cand.empty()) return Status::OK();
      }
      for (int k = 0; k <= kDictResource; ++k) {
        if (!plan.wanted[k]) continue;
        bool hit = false;
        for (uint32_t id : sum.ids[k])
          if (Wanted(*plan.wanted[k], id)) {
            hit = true;
            break;
          }
        if (!hit) return Status::OK();
      }
    }
    if (all_rows) {
      cand.resize(n);
      for (uint32_t i = 0; i < n; ++i) cand[i] = i;
    }
    const int base = projection ? kFailureBase : 0;
    // Reused across blocks: only rows of decoded chunks are read, and those
    // are overwritten by the decode, so no clearing is needed.
    std::vector<Row>& rows = scan_rows_;
    if (rows.size() < n) rows.resize(n);
    const std::vector<uint32_t>* only = all_rows ? nullptr : &cand;
    auto load = [&](int col) -> Status {
      return LoadColumn(b.id, base, col, rows.data(), n, only);
    };
    // Filter columns first, then output columns only if anything matched.
    PVEAUDIT_RETURN_IF_ERROR(load(kColTime));
    if (f.failed && !projection) PVEAUDIT_RETURN_IF_ERROR(load(kColResult));
    for (int k = 0; k <= kDictResource; ++k)
      if (plan.wanted[k]) PVEAUDIT_RETURN_IF_ERROR(load(k));
    std::vector<uint32_t> match;
    for (uint32_t i : cand) {
      const Row& r = rows[i];
      if (f.start_us && r.time_us < *f.start_us) continue;
      if (f.end_us && r.time_us >= *f.end_us) continue;
      if (f.failed && !projection && (r.result == uint8_t(Outcome::kFailure)) != *f.failed)
        continue;
      bool ok = true;
      for (int k = 0; k <= kDictResource && ok; ++k)
        if (plan.wanted[k] && !Wanted(*plan.wanted[k], r.dict[k])) ok = false;
      if (!ok) continue;
      if (!InWindows(f.windows, r.time_us)) continue;
      if (f.tod_start || f.tod_end) {
        int s = SecondsOfDayLocal(r.time_us);
        int lo = f.tod_start.value_or(0), hi = f.tod_end.value_or(86400);
        bool in = lo <= hi ? (s >= lo && s < hi) : (s >= lo || s < hi);
        if (!in) continue;
      }
      match.push_back(i);
    }
    if (match.empty()) return Status::OK();
    only = &match;
    PVEAUDIT_RETURN_IF_ERROR(load(kColId));
    if (!f.failed) PVEAUDIT_RETURN_IF_ERROR(load(kColResult));
    if (projection)
      for (uint32_t i : match) rows[i].result = uint8_t(Outcome::kFailure);
    for (int k = 0; k < kNumDictKinds; ++k)
      if ((fields & FieldBitOfKind(k)) && !(k <= kDictResource && plan.wanted[k]))
        PVEAUDIT_RETURN_IF_ERROR(load(k));
    if (fields & kFieldOrigin) PVEAUDIT_RETURN_IF_ERROR(load(kColLine));
    // Output in (time, id) order; sort the indexes, not the (large) rows.
    auto before = [&rows](uint32_t a, uint32_t b) {
      const Row &x = rows[a], &y = rows[b];
      return x.time_us != y.time_us ? x.time_us < y.time_us : x.id < y.id;
    };
    if (!std::is_sorted(match.begin(), match.end(), before))
      std::sort(match.begin(), match.end(), before);
    out->reserve(match.size());
    for (uint32_t i : match) out->push_back(std::move(rows[i]));
    return Status::OK();
  }

  // Fills *e from r; the inline strings (detail, session) are moved out of
  // r, which is not read again.
  Status ToEvent(Row& r, uint32_t fields, Event* e) {
    e->id = r.id;
    e->time_us = r.time_us;
    e->result = Outcome(r.result);
    e->origin_line = (fields & kFieldOrigin) ? r.origin_line : 0;
    for (int k = 0; k < kNumDictKinds; ++k) {
      std::string& s = MutableDictField(*e, k);
      if (!(fields & FieldBitOfKind(k))) {
        s.clear();
        continue;
      }
      if (IsInlineKind(k)) {
        s = std::move(k == kDictDetail ? r.detail : r.session);
        continue;
      }
      auto v = Lookup(k, r.dict[k]);
      if (!v.ok()) return v.status();
      s.assign(**v);  // reuses the capacity of the caller's Event
    }
    return Status::OK();
  }

  Status Scan(const Filter& f, uint32_t fields, const std::function<bool(Event&)>& fn) override {
    PVEAUDIT_RETURN_IF_ERROR(db_.Exec("BEGIN"));
    Event e;
    Status cb;
    Status st = ScanInTxn(f, fields, [&](Row& r) {
      cb = ToEvent(r, fields, &e);
      return cb.ok() && fn(e);
    });
    (void)db_.Exec("COMMIT");
    return st.ok() ? cb : st;
  }

  Status ScanKeys(const Filter& f, EventField key, std::vector<std::string>* names,
                  const std::function<bool(int64_t, uint32_t, uint64_t)>& fn) override {
    int kind = 0;
    while (kind < kNumDictKinds && FieldBitOfKind(kind) != uint32_t(key)) ++kind;
    if (kind == kNumDictKinds || IsInlineKind(kind))
      return Status::InvalidArgument("ScanKeys: not a dictionary field");
    PVEAUDIT_RETURN_IF_ERROR(db_.Exec("BEGIN"));
    Status st = RefreshReaderCaches();
    if (st.ok()) st = LoadKind(kind);
    if (st.ok())
      st = ScanInTxn(f, uint32_t(key),
                     [&](const Row& r) { return fn(r.time_us, r.dict[kind], r.id); });
    if (st.ok()) *names = reader_dict_[kind];
    (void)db_.Exec("COMMIT");
    return st;
  }

  Status ScanKeyTuples(const Filter& f, const std::vector<EventField>& fields,
                       std::vector<std::vector<std::string>>* names,
                       const std::function<bool(int64_t, const uint32_t*)>& fn) override {
    std::vector<int> kinds;
    uint32_t mask = 0;
    for (EventField field : fields) {
      int kind = 0;
      while (kind < kNumDictKinds && FieldBitOfKind(kind) != uint32_t(field)) ++kind;
      if (kind == kNumDictKinds || IsInlineKind(kind))
        return Status::InvalidArgument("ScanKeyTuples: not a dictionary field");
      kinds.push_back(kind);
      mask |= uint32_t(field);
    }
    PVEAUDIT_RETURN_IF_ERROR(db_.Exec("BEGIN"));
    Status st = RefreshReaderCaches();
    for (int kind : kinds)
      if (st.ok()) st = LoadKind(kind);
    // The dictionaries of this transaction are whole: every id a row holds
    // is in them before the first row is read.
    if (st.ok()) {
      names->clear();
      for (int kind : kinds) names->push_back(reader_dict_[kind]);
      std::vector<uint32_t> keys(kinds.size());
      st = ScanInTxn(f, mask, [&](const Row& r) {
        for (size_t i = 0; i < kinds.size(); ++i) keys[i] = r.dict[kinds[i]];
        return fn(r.time_us, keys.data());
      });
    }
    (void)db_.Exec("COMMIT");
    return st;
  }

  // Visits matching rows in (time, id) order with the columns of `fields`
  // decoded; `fn` returns false to stop.
  // Reader caches (dictionaries) are valid for one state of the database:
  // this connection's appends and other connections' commits (PRAGMA
  // data_version) invalidate them. Regression: a daemon that scanned, then
  // appended new strings, then scanned again saw "dictionary has no entry".
  Status RefreshReaderCaches() {
    auto s = db_.Prepare("PRAGMA data_version");
    if (!s.ok()) return s.status();
    int64_t version = s->Step() ? s->Int(0) : 0;
    PVEAUDIT_RETURN_IF_ERROR(s->status());
    if (version == cache_data_version_ && own_commits_ == cache_own_commits_) return Status::OK();
    cache_data_version_ = version;
    cache_own_commits_ = own_commits_;
    for (int k = 0; k < kNumDictKinds; ++k) {
      reader_dict_loaded_[k] = false;
      reader_dict_[k].clear();
      lookup_cache_[k].clear();
    }
    return Status::OK();
  }

  Status ScanInTxn(const Filter& f, uint32_t fields, const std::function<bool(Row&)>& fn) {
    PVEAUDIT_RETURN_IF_ERROR(RefreshReaderCaches());
    for (int k : {kDictNode, kDictUser, kDictAction, kDictSource, kDictStatus})
      if (fields & FieldBitOfKind(k)) PVEAUDIT_RETURN_IF_ERROR(LoadKind(k));
    Plan plan;
    PVEAUDIT_RETURN_IF_ERROR(MakePlan(f, &plan));
    if (plan.impossible) return Status::OK();
    std::vector<BlockMeta> blocks;
    {
      std::string sql =
          "SELECT id,first_id,last_id,n,t_min,t_max,failures,summary FROM blocks"
          " WHERE t_max >= ?1 AND t_min < ?2";
      if (f.failed && *f.failed) sql += " AND failures > 0";
      sql += " ORDER BY t_min, id";
      auto s = db_.Prepare(sql);
      if (!s.ok()) return s.status();
      s->Bind(1, f.start_us.value_or(INT64_MIN)).Bind(2, f.end_us.value_or(INT64_MAX));
      PVEAUDIT_RETURN_IF_ERROR(ReadBlockMetas(*s, &blocks));
    }
    if (!f.windows.empty())
      blocks.erase(std::remove_if(blocks.begin(), blocks.end(),
                                  [&](const BlockMeta& b) {
                                    return !WindowsOverlap(f.windows, b.t_min, b.t_max);
                                  }),
                   blocks.end());
    // k-way merge: blocks are visited by t_min; a block is opened once the
    // next event to emit is not earlier than its t_min, so output is in
    // time order even where blocks overlap (files imported one after another).
    auto later = [](const OpenBlock* a, const OpenBlock* b) {
      const Row& x = a->rows[a->pos];
      const Row& y = b->rows[b->pos];
      return x.time_us != y.time_us ? x.time_us > y.time_us : x.id > y.id;
    };
    std::vector<std::unique_ptr<OpenBlock>> owned;
    std::priority_queue<OpenBlock*, std::vector<OpenBlock*>, decltype(later)> heap(later);
    size_t next = 0;
    Event e;
    while (true) {
      while (next < blocks.size() &&
             (heap.empty() || blocks[next].t_min <= heap.top()->rows[heap.top()->pos].time_us)) {
        auto o = std::make_unique<OpenBlock>();
        PVEAUDIT_RETURN_IF_ERROR(MatchBlock(blocks[next], f, plan, fields, &o->rows));
        ++next;
        if (!o->rows.empty()) {
          heap.push(o.get());
          owned.push_back(std::move(o));
        }
      }
      if (heap.empty()) break;
      OpenBlock* top = heap.top();
      heap.pop();
      if (!fn(top->rows[top->pos])) return Status::OK();
      if (++top->pos < top->rows.size()) {
        heap.push(top);
      } else {
        auto it = std::find_if(owned.begin(), owned.end(), [&](auto& p) { return p.get() == top; });
        if (it != owned.end()) owned.erase(it);
      }
    }
    return Status::OK();
  }

  // The rows of a "SELECT id,first_id,last_id,n,t_min,t_max,failures,summary
  // FROM blocks ..." statement.
  static Status ReadBlockMetas(Stmt& s, std::vector<BlockMeta>* out) {
    while (s.Step()) {
      BlockMeta b;
      b.id = s.Int(0);
      b.first_id = uint64_t(s.Int(1));
      b.last_id = uint64_t(s.Int(2));
      b.n = uint32_t(s.Int(3));
      b.t_min = s.Int(4);
      b.t_max = s.Int(5);
      b.failures = uint32_t(s.Int(6));
      b.summary = std::string(s.Text(7));
      out->push_back(std::move(b));
    }
    return s.status();
  }

  Status ScanAfter(uint64_t after_id, size_t limit, uint32_t fields,
                   const std::function<bool(Event&)>& fn) override {
    PVEAUDIT_RETURN_IF_ERROR(db_.Exec("BEGIN"));
    Status st = ScanAfterInTxn(after_id, limit, fields, fn);
    (void)db_.Exec("COMMIT");
    return st;
  }

  Status ScanAfterInTxn(uint64_t after_id, size_t limit, uint32_t fields,
                        const std::function<bool(Event&)>& fn) {
    PVEAUDIT_RETURN_IF_ERROR(RefreshReaderCaches());
    for (int k : {kDictNode, kDictUser, kDictAction, kDictSource, kDictStatus})
      if (fields & FieldBitOfKind(k)) PVEAUDIT_RETURN_IF_ERROR(LoadKind(k));
    const Filter all;
    Plan plan;
    PVEAUDIT_RETURN_IF_ERROR(MakePlan(all, &plan));
    // Blocks hold consecutive ids (a block is sealed before the next one
    // starts), so walking them by first_id visits ids in order.
    auto s = db_.Prepare(
        "SELECT id,first_id,last_id,n,t_min,t_max,failures,summary FROM blocks"
        " WHERE last_id > ?1 ORDER BY first_id");
    if (!s.ok()) return s.status();
    s->Bind(1, int64_t(after_id));
    std::vector<BlockMeta> blocks;
    PVEAUDIT_RETURN_IF_ERROR(ReadBlockMetas(*s, &blocks));
    size_t emitted = 0;
    std::vector<Row> rows;
    Event e;
    for (const BlockMeta& b : blocks) {
      PVEAUDIT_RETURN_IF_ERROR(MatchBlock(b, all, plan, fields, &rows));
      std::sort(rows.begin(), rows.end(), [](const Row& x, const Row& y) { return x.id < y.id; });
      for (Row& r : rows) {
        if (r.id <= after_id) continue;
        PVEAUDIT_RETURN_IF_ERROR(ToEvent(r, fields, &e));
        if (!fn(e)) return Status::OK();
        if (limit && ++emitted >= limit) return Status::OK();
      }
    }
    return Status::OK();
  }

  Result<std::optional<uint64_t>> GetConsumer(const std::string& name) override {
    auto s = db_.Prepare("SELECT last_id FROM consumers WHERE name=?");
    if (!s.ok()) return s.status();
    s->Bind(1, name);
    if (s->Step()) return std::optional<uint64_t>(uint64_t(s->Int(0)));
    PVEAUDIT_RETURN_IF_ERROR(s->status());
    return std::optional<uint64_t>();
  }

  Status PutConsumer(const std::string& name, uint64_t last_id) override {
    if (opt_.read_only) return Status::InvalidArgument("store opened read-only");
    auto s = db_.Prepare("INSERT OR REPLACE INTO consumers(name,last_id,updated) VALUES(?,?,?)");
    if (!s.ok()) return s.status();
    return s->Bind(1, name).Bind(2, int64_t(last_id)).Bind(3, NowUs()).Run();
  }

  Result<std::vector<ConsumerPosition>> ListConsumers() override {
    auto s = db_.Prepare("SELECT name,last_id,updated FROM consumers ORDER BY name");
    if (!s.ok()) return s.status();
    std::vector<ConsumerPosition> out;
    while (s->Step()) out.push_back({std::string(s->Text(0)), uint64_t(s->Int(1)), s->Int(2)});
    PVEAUDIT_RETURN_IF_ERROR(s->status());
    return out;
  }

  // ------------------------------------------------------------- verifying

  Result<VerifyReport> Verify(const std::function<void(uint64_t, uint64_t)>& progress) override {
    PVEAUDIT_RETURN_IF_ERROR(db_.Exec("BEGIN"));
    auto r = VerifyInTxn(progress);
    (void)db_.Exec("COMMIT");
    return r;
  }

  Result<VerifyReport> VerifyInTxn(const std::function<void(uint64_t, uint64_t)>& progress) {
    VerifyReport rep;
    PVEAUDIT_RETURN_IF_ERROR(RefreshReaderCaches());
    for (int k = 0; k < kNumDictKinds; ++k)
      if (!IsInlineKind(k)) PVEAUDIT_RETURN_IF_ERROR(LoadKind(k));
    uint64_t head_last = 0;
    Hash256 head_hash{};
    bool have_head = false;
    {
      auto s = db_.Prepare("SELECT last_id,hash FROM chain_head WHERE id=1");
      if (!s.ok()) return s.status();
      if (s->Step()) {
        have_head = true;
        head_last = uint64_t(s->Int(0));
        auto h = s->Text(1);
        if (h.size() == 32) std::memcpy(head_hash.data(), h.data(), 32);
      }
    }
    Hash256 h{};
    uint64_t expect = 1;
    // Events moved into archives: the chain is carried across each archived
    // range by its record, which must continue the chain where it stands.
    auto recs = ListArchivesInTxn();
    if (!recs.ok()) return recs.status();
    std::sort(recs->begin(), recs->end(), [](const ArchiveRecord& x, const ArchiveRecord& y) {
      return x.first_id < y.first_id;
    });
    size_t next_archive = 0;
    auto skip_archives = [&]() -> bool {
      for (; next_archive < recs->size() && (*recs)[next_archive].first_id <= expect;
           ++next_archive) {
        const ArchiveRecord& r = (*recs)[next_archive];
        Hash256 last{};
        if (r.first_id != expect || r.prev_hash != HexHash(h) || r.last_id < r.first_id ||
            !ParseHexHash(r.last_hash, &last)) {
          Fail(&rep, expect,
               "the archive records do not link up: archive " + r.name + " (events " +
                   std::to_string(r.first_id) + "-" + std::to_string(r.last_id) +
                   ") does not continue the chain after event " + std::to_string(expect - 1) +
                   " (an archive record, or the events before it, were edited)");
          return false;
        }
        h = last;
        expect = r.last_id + 1;
        rep.archived_events += r.events;
        ++rep.archives;
        rep.head_hash = r.last_hash;
      }
      return true;
    };
    uint64_t total = 0;
    {
      auto s = db_.Prepare("SELECT COALESCE(SUM(n),0) FROM blocks");
      if (!s.ok()) return s.status();
      if (s->Step()) total = uint64_t(s->Int(0));
    }
    auto fail = [&](uint64_t id, std::string why) { return Fail(&rep, id, std::move(why)); };
    auto s =
        db_.Prepare("SELECT id,first_id,last_id,n,head,failures FROM blocks ORDER BY first_id, id");
    if (!s.ok()) return s.status();
    Event e;
    std::vector<Row> rows;
    std::string data;
    while (s->Step()) {
      if (!skip_archives()) return rep;
      int64_t bid = s->Int(0);
      uint64_t first = uint64_t(s->Int(1)), last = uint64_t(s->Int(2));
      uint32_t n = uint32_t(s->Int(3));
      auto stored_head = s->Text(4);
      uint32_t failures = uint32_t(s->Int(5));
      rows.assign(n, Row());
      for (int c = 0; c < kNumColumns; ++c) {
        Status st = LoadColumn(bid, 0, c, rows.data(), rows.size(), nullptr);
        if (!st.ok())
          return fail(first, "block " + std::to_string(bid) + " (events " + std::to_string(first) +
                                 "-" + std::to_string(last) + ") is unreadable: " + st.message());
      }
      std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.id < b.id; });
      // The failure projection mirrors the failed rows in id order; it is
      // checked after the chain so that an edited event is named.
      std::vector<Row> stored_failures = FailureRows(rows);
      if (n == 0 || rows.front().id != first || rows.back().id != last)
        return fail(
            first, "block " + std::to_string(bid) + " holds events " +
                       (n ? std::to_string(rows.front().id) + "-" + std::to_string(rows.back().id)
                          : std::string("none")) +
                       " but its index says " + std::to_string(first) + "-" + std::to_string(last) +
                       " (events deleted or inserted)");
      for (Row& r : rows) {
        if (r.id > expect)
          return fail(expect, "event " + std::to_string(expect) +
                                  " is missing: the chain jumps from event " +
                                  std::to_string(expect - 1) + " to " + std::to_string(r.id) +
                                  " (deleted)");
        if (r.id < expect)
          return fail(r.id, "event " + std::to_string(r.id) + " appears again after event " +
                                std::to_string(expect - 1) + " (inserted or duplicated)");
        if (have_head && r.id > head_last)
          return fail(r.id, "event " + std::to_string(r.id) +
                                " lies beyond the chain head, which ends at event " +
                                std::to_string(head_last) + " (inserted)");
        Status st = ToEvent(r, kFieldAll, &e);
        if (!st.ok()) return fail(r.id, "event " + std::to_string(r.id) + ": " + st.message());
        Hash256 nh = hasher().Next(h, e);
        if (HashPrefix32(nh) != r.hash32)
          return fail(r.id, "event " + std::to_string(r.id) +
                                ": contents do not match its chain hash (edited, or an event "
                                "before it was altered)");
        h = nh;
        ++expect;
        ++rep.events_checked;
        rep.head_hash = HexHash(h);
      }
      Status pst = CheckFailureProjection(bid, failures, stored_failures);
      if (!pst.ok()) return fail(first, "block " + std::to_string(bid) + ": " + pst.message());
      if (stored_head.size() != 32 || std::memcmp(stored_head.data(), h.data(), 32) != 0)
        return fail(last, "block " + std::to_string(bid) + " ending at event " +
                              std::to_string(last) +
                              ": chain hash does not match the stored "
                              "block head (edited)");
      if (progress) progress(rep.events_checked, total);
    }
    PVEAUDIT_RETURN_IF_ERROR(s->status());
    if (!skip_archives()) return rep;
    if (next_archive < recs->size())
      return fail(expect, "archive " + (*recs)[next_archive].name + " holds events " +
                              std::to_string((*recs)[next_archive].first_id) + "-" +
                              std::to_string((*recs)[next_archive].last_id) +
                              " but the chain before it ends at event " +
                              std::to_string(expect - 1) + " (events deleted)");
    uint64_t last_seen = expect - 1;
    if (!have_head) {
      if (last_seen != 0)
        return fail(0, "the chain head record is missing; " + std::to_string(last_seen) +
                           " events cannot be checked for truncation");
      return rep;
    }
    if (last_seen < head_last)
      return fail(last_seen + 1, "the chain ends at event " + std::to_string(last_seen) +
                                     " but the chain head records " + std::to_string(head_last) +
                                     " events (truncated: events " + std::to_string(last_seen + 1) +
                                     "-" + std::to_string(head_last) + " are gone)");
    if (std::memcmp(head_hash.data(), h.data(), 32) != 0)
      return fail(head_last,
                  "the recomputed chain head does not match the recorded chain head "
                  "(events were rewritten)");
    return rep;
  }

  static VerifyReport Fail(VerifyReport* rep, uint64_t id, std::string why) {
    rep->intact = false;
    rep->first_bad_id = id;
    rep->reason = std::move(why);
    return *rep;
  }

  // ------------------------------------------------------------- archiving

  Result<std::vector<BlockSpan>> ListBlockSpans() override {
    auto s =
        db_.Prepare("SELECT first_id,last_id,n,t_min,t_max,head FROM blocks ORDER BY first_id");
    if (!s.ok()) return s.status();
    std::vector<BlockSpan> out;
    while (s->Step()) {
      BlockSpan b;
      b.first_id = uint64_t(s->Int(0));
      b.last_id = uint64_t(s->Int(1));
      b.events = uint64_t(s->Int(2));
      b.t_min_us = s->Int(3);
      b.t_max_us = s->Int(4);
      Hash256 h{};
      auto t = s->Text(5);
      if (t.size() == 32) std::memcpy(h.data(), t.data(), 32);
      b.head_hash = HexHash(h);
      out.push_back(std::move(b));
    }
    PVEAUDIT_RETURN_IF_ERROR(s->status());
    return out;
  }

  Result<std::vector<ArchiveRecord>> ListArchives() override {
    PVEAUDIT_RETURN_IF_ERROR(db_.Exec("BEGIN"));
    auto r = ListArchivesInTxn();
    (void)db_.Exec("COMMIT");
    return r;
  }

  Result<std::vector<ArchiveRecord>> ListArchivesInTxn() {
    std::vector<ArchiveRecord> out;
    // A store written by an older pveaudit and opened read-only has no
    // archives table yet: nothing was archived.
    auto t = db_.Prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name='archives'");
    if (!t.ok()) return t.status();
    if (!t->Step()) {
      PVEAUDIT_RETURN_IF_ERROR(t->status());
      return out;
    }
    auto s = db_.Prepare(
        "SELECT name,period,first_id,last_id,events,t_min,t_max,prev_hash,last_hash,"
        "manifest_sha256,archived,purged,seq FROM archives ORDER BY seq");
    if (!s.ok()) return s.status();
    while (s->Step()) {
      ArchiveRecord r;
      r.name = s->Text(0);
      r.period = s->Text(1);
      r.first_id = uint64_t(s->Int(2));
      r.last_id = uint64_t(s->Int(3));
      r.events = uint64_t(s->Int(4));
      r.t_min_us = s->Int(5);
      r.t_max_us = s->Int(6);
      r.prev_hash = s->Text(7);
      r.last_hash = s->Text(8);
      r.manifest_sha256 = s->Text(9);
      r.archived_us = s->Int(10);
      r.purged_us = s->Int(11);
      r.seq = uint64_t(s->Int(12));
      out.push_back(std::move(r));
    }
    PVEAUDIT_RETURN_IF_ERROR(s->status());
    return out;
  }

  Status RemoveArchivedRange(const ArchiveRecord& rec) override {
    if (opt_.read_only) return Status::InvalidArgument("store opened read-only");
    PVEAUDIT_RETURN_IF_ERROR(db_.Exec("BEGIN IMMEDIATE"));
    Status st = RemoveArchivedRangeInTxn(rec);
    if (st.ok()) st = db_.Exec("COMMIT");
    ++own_commits_;
    if (!st.ok()) (void)db_.Exec("ROLLBACK");
    return st;
  }

  Status RemoveArchivedRangeInTxn(const ArchiveRecord& rec) {
    auto refuse = [&](const std::string& why) {
      return Status::InvalidArgument("cannot move events " + std::to_string(rec.first_id) + "-" +
                                     std::to_string(rec.last_id) + " into archive " + rec.name +
                                     ": " + why);
    };
    if (rec.last_id < rec.first_id || rec.first_id == 0 || rec.name.empty())
      return refuse("no events");
    auto recs = ListArchivesInTxn();
    if (!recs.ok()) return recs.status();
    if (rec.seq != recs->size() + 1)
      return refuse("its sequence number is " + std::to_string(rec.seq) + ", the next is " +
                    std::to_string(recs->size() + 1));
    // The chain hash before the range: event first_id - 1 ends a block or
    // an archive (or there is none).
    std::string before = rec.first_id == 1 ? HexHash(Hash256{}) : std::string();
    for (const ArchiveRecord& r : *recs) {
      if (r.first_id <= rec.last_id && rec.first_id <= r.last_id)
        return refuse("archive " + r.name + " already holds events " + std::to_string(r.first_id) +
                      "-" + std::to_string(r.last_id));
      if (r.last_id + 1 == rec.first_id) before = r.last_hash;
    }
    auto s = db_.Prepare(
        "SELECT id,first_id,last_id,n,head FROM blocks WHERE last_id >= ?1 ORDER BY first_id "
        "LIMIT ?2");
    if (!s.ok()) return s.status();
    // The block ending just before the range, every block of it, and the
    // one after it (which must exist: the newest block keeps growing and
    // is never archived).
    s->Bind(1, int64_t(rec.first_id - 1)).Bind(2, int64_t(rec.last_id - rec.first_id + 3));
    std::vector<int64_t> ids;
    uint64_t expect = rec.first_id, events = 0;
    bool next_block = false;
    std::string last_head;
    auto hex = [](std::string_view blob) {
      Hash256 x{};
      if (blob.size() == 32) std::memcpy(x.data(), blob.data(), 32);
      return HexHash(x);
    };
    while (s->Step()) {
      uint64_t first = uint64_t(s->Int(1)), last = uint64_t(s->Int(2));
      if (last + 1 == rec.first_id) {
        before = hex(s->Text(4));
        continue;
      }
      if (first > rec.last_id) {
        next_block = true;
        break;
      }
      if (first != expect)
        return refuse("event " + std::to_string(expect) + " does not start an online block");
      if (last > rec.last_id)
        return refuse("event " + std::to_string(rec.last_id) + " does not end a block");
      ids.push_back(s->Int(0));
      events += uint64_t(s->Int(3));
      last_head = hex(s->Text(4));
      expect = last + 1;
    }
    PVEAUDIT_RETURN_IF_ERROR(s->status());
    if (expect != rec.last_id + 1) return refuse("the store does not hold all of them");
    if (!next_block) return refuse("they include the newest block, which is still growing");
    if (events != rec.events)
      return refuse("the store holds " + std::to_string(events) + " of them, the archive " +
                    std::to_string(rec.events));
    if (before != rec.prev_hash)
      return refuse("the chain hash before them is " +
                    (before.empty() ? std::string("unknown") : before) + ", not " + rec.prev_hash);
    if (last_head != rec.last_hash)
      return refuse("the stored chain hash of event " + std::to_string(rec.last_id) + " is " +
                    last_head + ", the archive's " + rec.last_hash);
    auto del_cols = db_.Prepare("DELETE FROM block_cols WHERE key >= ?1 AND key < ?2");
    auto del_block = db_.Prepare("DELETE FROM blocks WHERE id = ?1");
    if (!del_cols.ok()) return del_cols.status();
    if (!del_block.ok()) return del_block.status();
    for (int64_t bid : ids) {
      PVEAUDIT_RETURN_IF_ERROR(
          del_cols->Bind(1, ColKey(bid, 0, 0)).Bind(2, ColKey(bid + 1, 0, 0)).Run());
      PVEAUDIT_RETURN_IF_ERROR(del_block->Bind(1, bid).Run());
    }
    auto ins = db_.Prepare(
        "INSERT INTO archives(seq,name,period,first_id,last_id,events,t_min,t_max,prev_hash,"
        "last_hash,manifest_sha256,archived,purged) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,0)");
    if (!ins.ok()) return ins.status();
    return ins->Bind(1, int64_t(rec.seq))
        .Bind(2, rec.name)
        .Bind(3, rec.period)
        .Bind(4, int64_t(rec.first_id))
        .Bind(5, int64_t(rec.last_id))
        .Bind(6, int64_t(rec.events))
        .Bind(7, rec.t_min_us)
        .Bind(8, rec.t_max_us)
        .Bind(9, rec.prev_hash)
        .Bind(10, rec.last_hash)
        .Bind(11, rec.manifest_sha256)
        .Bind(12, rec.archived_us ? rec.archived_us : NowUs())
        .Run();
  }

  Status MarkArchivePurged(const std::string& name, int64_t when_us) override {
    if (opt_.read_only) return Status::InvalidArgument("store opened read-only");
    auto s = db_.Prepare("UPDATE archives SET purged=?1 WHERE name=?2 AND purged=0");
    if (!s.ok()) return s.status();
    PVEAUDIT_RETURN_IF_ERROR(s->Bind(1, when_us).Bind(2, name).Run());
    ++own_commits_;
    if (sqlite3_changes(db_.get()) == 0) return Status::NotFound("no kept archive named " + name);
    return Status::OK();
  }

  // The failure projection of block `bid` must equal `want`, its failed
  // rows in id order.
  Status CheckFailureProjection(int64_t bid, uint32_t failures, const std::vector<Row>& want) {
    if (want.size() != failures)
      return Status::Corruption("its failure count does not match its events (edited)");
    if (failures == 0) return Status::OK();
    std::vector<Row> got(failures);
    Status st;
    for (int c = 0; c < kNumColumns && st.ok(); ++c)
      st = LoadColumn(bid, kFailureBase, c, got.data(), got.size(), nullptr);
    for (size_t i = 0; st.ok() && i < got.size(); ++i) {
      const Row &a = got[i], &w = want[i];
      if (a.id != w.id || a.time_us != w.time_us || a.result != w.result ||
          a.origin_line != w.origin_line || a.hash32 != w.hash32 || a.detail != w.detail ||
          a.session != w.session ||
          !std::equal(std::begin(a.dict), std::end(a.dict), std::begin(w.dict)))
        st = Status::Corruption("event " + std::to_string(w.id) + " differs");
    }
    if (!st.ok())
      return Status::Corruption("the index of failed events does not match the events (edited): " +
                                st.message());
    return Status::OK();
  }

  Result<StoreInfo> Info() override {
    StoreInfo info;
    auto s = db_.Prepare(
        "SELECT COALESCE(SUM(n),0), COALESCE(MIN(t_min),0), COALESCE(MAX(t_max),0) FROM blocks");
    if (!s.ok()) return s.status();
    if (s->Step()) {
      info.events = uint64_t(s->Int(0));
      info.first_time_us = s->Int(1);
      info.last_time_us = s->Int(2);
    }
    auto h = db_.Prepare("SELECT last_id,hash FROM chain_head WHERE id=1");
    if (!h.ok()) return h.status();
    if (h->Step()) {
      info.last_id = uint64_t(h->Int(0));
      Hash256 hh{};
      auto t = h->Text(1);
      if (t.size() == 32) std::memcpy(hh.data(), t.data(), 32);
      info.head_hash = HexHash(hh);
    }
    auto rj = db_.Prepare("SELECT COUNT(*) FROM rejected");
    if (!rj.ok()) return rj.status();
    if (rj->Step()) info.rejected_lines = uint64_t(rj->Int(0));
    std::error_code ec;
    for (const char* suffix : {"", "-wal"}) {
      auto sz = std::filesystem::file_size(path_ + suffix, ec);
      if (!ec) info.bytes_on_disk += sz;
    }
    return info;
  }

  Status PutSetting(const std::string& key, const std::string& value,
                    const std::string& changed_by) override {
    if (opt_.read_only) return Status::InvalidArgument("store opened read-only");
    auto s = db_.Prepare(
        "INSERT OR REPLACE INTO settings(key,value,changed_by,changed) VALUES(?,?,?,?)");
    if (!s.ok()) return s.status();
    return s->Bind(1, key).Bind(2, value).Bind(3, changed_by).Bind(4, NowUs()).Run();
  }

  Result<std::optional<std::string>> GetSetting(const std::string& key) override {
    auto s = db_.Prepare("SELECT value FROM settings WHERE key=?");
    if (!s.ok()) return s.status();
    s->Bind(1, key);
    if (s->Step()) return std::optional<std::string>(std::string(s->Text(0)));
    PVEAUDIT_RETURN_IF_ERROR(s->status());
    return std::optional<std::string>();
  }

  Result<std::vector<RejectedLine>> ListRejected(size_t limit) override {
    auto s = db_.Prepare(
        "SELECT time,origin,line,reason,text FROM (SELECT * FROM rejected ORDER BY id DESC LIMIT ?)"
        " ORDER BY id");
    if (!s.ok()) return s.status();
    s->Bind(1, limit ? int64_t(limit) : int64_t(-1));
    std::vector<RejectedLine> out;
    while (s->Step())
      out.push_back(RejectedLine{s->Int(0), std::string(s->Text(1)), uint64_t(s->Int(2)),
                                 std::string(s->Text(3)), std::string(s->Text(4))});
    PVEAUDIT_RETURN_IF_ERROR(s->status());
    return out;
  }

 private:
  // Chain hash after event `id`, for the last event of a block: recorded
  // while hashing a batch for events that end a full block; otherwise the
  // block ends with the newest event, whose hash is head_.
  std::string HeadFor(uint64_t id) {
    auto it = pending_heads_.find(id);
    const Hash256& h = it != pending_heads_.end() ? it->second : head_;
    return std::string(reinterpret_cast<const char*>(h.data()), 32);
  }

  std::string dir_, path_;
  StoreOptions opt_;
  Db db_;

  // Writer state, valid while writer_loaded_.
  bool writer_loaded_ = false;
  DictMap dict_[kNumDictKinds];
  std::string last_value_[kNumDictKinds];  // Intern's one-entry cache
  uint32_t last_id_of_kind_[kNumDictKinds] = {};
  uint32_t dict_next_[kNumDictKinds] = {};
  uint64_t last_id_ = 0;
  Hash256 head_{};
  std::vector<Row> tail_;
  int64_t tail_block_id_ = 0, next_block_id_ = 1;
  std::unordered_map<uint64_t, Hash256> pending_heads_;
  // Created on first use: fetching the digest initialises OpenSSL, which
  // read-only queries need not pay for.
  std::unique_ptr<ChainHasher> hasher_ptr_;
  ChainHasher& hasher() {
    if (!hasher_ptr_) hasher_ptr_ = std::make_unique<ChainHasher>();
    return *hasher_ptr_;
  }
  bool stmts_ready_ = false;
  Stmt ins_dict_, ins_block_, ins_col_, set_head_, set_cursor_, ins_rejected_;

  // Reader state.
  uint64_t own_commits_ = 0, cache_own_commits_ = 0;
  int64_t cache_data_version_ = -1;
  std::vector<Row> scan_rows_;
  std::string chunk_buf_;
  bool reader_dict_loaded_[kNumDictKinds] = {};
  std::vector<std::string> reader_dict_[kNumDictKinds];
  std::unordered_map<uint32_t, std::string> lookup_cache_[kNumDictKinds];
  bool read_col_ready_ = false, lookup_ready_ = false;
  Stmt read_col_, lookup_;
};

}  // namespace

Result<std::unique_ptr<EventStore>> OpenSqliteStore(const std::string& data_dir,
                                                    const StoreOptions& options) {
  auto s = std::make_unique<SqliteStore>(data_dir, options);
  PVEAUDIT_RETURN_IF_ERROR(s->Open());
  return std::unique_ptr<EventStore>(std::move(s));
}

Status ShareStoreWithGroup(const std::string& data_dir, unsigned group) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return Status::IOError("cannot create data directory " + data_dir + ": " + ec.message());
  struct stat st;
  if (stat(data_dir.c_str(), &st) != 0)
    return Status::IOError("cannot read data directory " + data_dir + ": " + std::strerror(errno));
  if (st.st_uid != geteuid())
    return Status::InvalidArgument("data directory " + data_dir +
                                   " belongs to another user: cannot share it");
  if (group == getegid())
    return Status::InvalidArgument("the group to share " + data_dir + " with is our own");
  // Group first, then the mode: never a moment where the old group may read.
  if (chown(data_dir.c_str(), uid_t(-1), gid_t(group)) != 0 || chmod(data_dir.c_str(), 0750) != 0)
    return Status::IOError("cannot share " + data_dir + " read-only: " + std::strerror(errno));
  return SecureStoreFiles(data_dir, data_dir + "/pveaudit.db");
}

}  // namespace pveaudit
