// pg_layout: the two PostgreSQL layouts of issue 11, measured side by side
// on the same events (bench/pg_layout.sh runs it; bench/RESULTS.md).
//
//   row    the PostgreSQL store as it is (src/store/pg_store.cc): one row
//          per event, appended through EventStore::AppendBatch.
//   block  a prototype of the SQLite store's layout on PostgreSQL: events
//          dictionary-encoded (one dictionary per writer, so writers never
//          contend for ids), sealed into blocks of 4,096 with the same codec
//          (store/block_codec.h: columns in 512-row chunks, summary, failure
//          projection), each chunk a bytea row, written with binary COPY in
//          the same kind of transaction as the row layout's (the cluster's
//          id counter locked, ids assigned, the writer's chain linked, head
//          updated, commit).
//
// The prototype answers "what would the block layout cost and give", not
// "is it a store": it has no verify, no cursors and no partial-block tail
// (see docs/storage.md, "Row layout or block layout"). Both layouts get
// the same events with their content digests computed beforehand, as the
// importer's parser threads compute them.
//
//   pg_layout ingest --layout row|block --from DATA_DIR --conn CONNINFO
//                    [--writers N] [--events N]
//   pg_layout query  --layout row|block|sqlite --conn CONNINFO|--from DIR
//                    --user U --start US --end US [--runs N]
//   pg_layout failed --layout row|block|sqlite ... --start US --end US
//
// query/failed print p50 and p95 in ms over the runs, the rows found and a
// checksum of their ids, so the layouts can be checked against each other.
#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/event.h"
#include "core/filter.h"
#include "store/block_codec.h"
#include "store/chain.h"
#include "store/event_store.h"
#include "store/pg_store.h"

namespace pveaudit {
namespace {

constexpr size_t kBlockRows = 4096;
constexpr size_t kBatch = 16384;  // events per transaction (4 blocks)
constexpr int kFailureBase = 16;  // as the SQLite store

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "pg_layout: %s\n", what.c_str());
  std::exit(1);
}

double NowMs() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// ------------------------------------------------------------ libpq glue

struct Conn {
  PGconn* c = nullptr;
  explicit Conn(const std::string& info) {
    c = PQconnectdb(info.c_str());
    if (PQstatus(c) != CONNECTION_OK) Die(std::string("connect: ") + PQerrorMessage(c));
  }
  ~Conn() { PQfinish(c); }
  void Exec(const std::string& sql) {
    PGresult* r = PQexec(c, sql.c_str());
    auto st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
      Die(sql.substr(0, 60) + ": " + PQerrorMessage(c));
    PQclear(r);
  }
  // Text parameters, binary results.
  PGresult* Query(const std::string& sql, const std::vector<std::string>& params) {
    std::vector<const char*> v;
    for (const auto& p : params) v.push_back(p.c_str());
    PGresult* r =
        PQexecParams(c, sql.c_str(), int(v.size()), nullptr, v.data(), nullptr, nullptr, 1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
      Die(sql.substr(0, 60) + ": " + PQerrorMessage(c));
    return r;
  }
  // Sends one binary COPY.
  void Copy(const std::string& sql, const std::string& data) {
    PGresult* r = PQexec(c, sql.c_str());
    if (PQresultStatus(r) != PGRES_COPY_IN) Die(sql + ": " + PQerrorMessage(c));
    PQclear(r);
    if (PQputCopyData(c, data.data(), int(data.size())) != 1 || PQputCopyEnd(c, nullptr) != 1)
      Die("copy: " + std::string(PQerrorMessage(c)));
    r = PQgetResult(c);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) Die("copy: " + std::string(PQerrorMessage(c)));
    PQclear(r);
    while ((r = PQgetResult(c))) PQclear(r);
  }
};

int64_t BinI8(const PGresult* r, int row, int col) {
  const auto* p = reinterpret_cast<const unsigned char*>(PQgetvalue(r, row, col));
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return int64_t(v);
}
int64_t BinInt(const PGresult* r, int row, int col) {
  int n = PQgetlength(r, row, col);
  const auto* p = reinterpret_cast<const unsigned char*>(PQgetvalue(r, row, col));
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = v << 8 | p[i];
  if (n == 2) return int16_t(v);
  if (n == 4) return int32_t(v);
  return int64_t(v);
}
std::string_view BinBytes(const PGresult* r, int row, int col) {
  return {PQgetvalue(r, row, col), size_t(PQgetlength(r, row, col))};
}

// Binary COPY data (the format of the PostgreSQL documentation, "COPY",
// binary file format): header, tuples of length-prefixed fields, trailer.
class CopyBuf {
 public:
  CopyBuf() { buf_.assign("PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19); }
  void Tuple(int fields) { Put(uint64_t(fields), 2); }
  void I2(int v) { Field(2), Put(uint64_t(uint16_t(v)), 2); }
  void I4(int64_t v) { Field(4), Put(uint64_t(uint32_t(v)), 4); }
  void I8(int64_t v) { Field(8), Put(uint64_t(v), 8); }
  void Bytes(std::string_view s) {
    Field(uint32_t(s.size()));
    buf_.append(s);
  }
  // An int4[] in the binary array format: dimensions, flags (no nulls),
  // element type (int4, OID 23), length and lower bound, then each element
  // as a length and its value.
  void Int4Array(const std::vector<uint32_t>& v) {
    Field(uint32_t(20 + 8 * v.size()));
    for (uint32_t x : {1u, 0u, 23u, uint32_t(v.size()), 1u}) Put(x, 4);
    for (uint32_t x : v) Put(4, 4), Put(x, 4);
  }
  const std::string& Finish() {
    Put(0xffff, 2);
    return buf_;
  }
  bool empty() const { return buf_.size() == 19; }

 private:
  void Field(uint32_t n) { Put(n, 4); }
  void Put(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) buf_.push_back(char(v >> (8 * i)));
  }
  std::string buf_;
};

std::string IntArray(const std::vector<int64_t>& v) {
  std::string s = "{";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "}";
}

// ------------------------------------------------------------ the events

struct Loaded {
  std::vector<Event> events;
  std::vector<Hash256> digests;
};

Loaded Load(const std::string& dir, size_t limit) {
  StoreOptions o;
  o.read_only = true;
  auto store = OpenSqliteStore(dir, o);
  if (!store.ok()) Die(store.status().ToString());
  Loaded l;
  Status st = (*store)->ScanAfter(0, limit, kFieldAll, [&](Event& e) {
    l.events.push_back(std::move(e));
    return true;
  });
  if (!st.ok()) Die(st.ToString());
  ChainHasher h;
  for (const Event& e : l.events) l.digests.push_back(h.Digest(e));
  return l;
}

// ------------------------------------------------------------ block layout

const char* kBlockSchema = R"sql(
CREATE TABLE IF NOT EXISTS blk_dict(writer text NOT NULL, kind int2 NOT NULL, id int4 NOT NULL,
  value bytea NOT NULL, PRIMARY KEY (writer, kind, id));
CREATE INDEX IF NOT EXISTS blk_dict_value ON blk_dict(kind, value);
CREATE TABLE IF NOT EXISTS blk_blocks(id bigint PRIMARY KEY, writer text NOT NULL,
  first_id bigint NOT NULL, last_id bigint NOT NULL, n int4 NOT NULL, t_min bigint NOT NULL,
  t_max bigint NOT NULL, failures int4 NOT NULL, head bytea NOT NULL, summary bytea NOT NULL,
  users int4[] NOT NULL);
CREATE INDEX IF NOT EXISTS blk_blocks_tmax ON blk_blocks(t_max);
CREATE INDEX IF NOT EXISTS blk_blocks_users ON blk_blocks USING gin (users);
CREATE TABLE IF NOT EXISTS blk_cols(block bigint NOT NULL, col int2 NOT NULL, chunk int2 NOT NULL,
  data bytea NOT NULL, PRIMARY KEY (block, col, chunk));
CREATE TABLE IF NOT EXISTS blk_head(id int2 PRIMARY KEY, last_id bigint NOT NULL,
  next_block bigint NOT NULL);
INSERT INTO blk_head VALUES (1, 0, 1) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS blk_heads(writer text PRIMARY KEY, last_id bigint NOT NULL,
  hash bytea NOT NULL);
)sql";

class BlockWriter {
 public:
  BlockWriter(const std::string& conn, std::string writer) : db_(conn), writer_(std::move(writer)) {
    for (auto& m : dict_) m.emplace("", 0);
    for (auto& n : next_) n = 1;
  }

  void Append(std::span<Event> events, std::span<const Hash256> digests) {
    db_.Exec("BEGIN");
    PGresult* r = db_.Query("SELECT last_id, next_block FROM blk_head WHERE id = 1 FOR UPDATE", {});
    uint64_t id = uint64_t(BinI8(r, 0, 0));
    int64_t block = BinI8(r, 0, 1);
    PQclear(r);
    CopyBuf dict;
    std::vector<Row> rows;
    rows.reserve(events.size());
    std::vector<Hash256> heads;
    for (size_t i = 0; i < events.size(); ++i) {
      Event& e = events[i];
      Row row;
      row.id = ++id;
      head_ = hasher_.Link(head_, row.id, digests[i]);
      heads.push_back(head_);
      row.time_us = e.time_us;
      row.result = uint8_t(e.result);
      row.origin_line = e.origin_line;
      row.hash32 = HashPrefix32(head_);
      for (int k = 0; k < kNumDictKinds; ++k) {
        if (IsInlineKind(k)) continue;
        const std::string& v = DictField(e, k);
        auto [it, fresh] = dict_[k].try_emplace(v, next_[k]);
        if (fresh) {
          ++next_[k];
          dict.Tuple(4);
          dict.Bytes(writer_);
          dict.I2(k);
          dict.I4(it->second);
          dict.Bytes(v);
        }
        row.dict[k] = it->second;
      }
      row.detail = e.detail;
      row.session = e.session;
      rows.push_back(std::move(row));
    }
    CopyBuf blocks, cols;
    for (size_t pos = 0; pos < rows.size(); pos += kBlockRows, ++block) {
      size_t take = std::min(kBlockRows, rows.size() - pos);
      std::span<const Row> by_id(rows.data() + pos, take);
      std::vector<Row> sorted(by_id.begin(), by_id.end());
      std::sort(sorted.begin(), sorted.end(), BlockOrder);
      int64_t t_min = INT64_MAX, t_max = INT64_MIN;
      std::vector<Row> fails;
      for (const Row& x : by_id) {
        t_min = std::min(t_min, x.time_us);
        t_max = std::max(t_max, x.time_us);
        if (x.result == uint8_t(Outcome::kFailure)) fails.push_back(x);
      }
      const Hash256& h = heads[pos + take - 1];
      blocks.Tuple(11);
      blocks.I8(block);
      blocks.Bytes(writer_);
      blocks.I8(int64_t(by_id.front().id));
      blocks.I8(int64_t(by_id.back().id));
      blocks.I4(int64_t(take));
      blocks.I8(t_min);
      blocks.I8(t_max);
      blocks.I4(int64_t(fails.size()));
      blocks.Bytes(std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
      blocks.Bytes(EncodeSummary(sorted));
      // The block's users (rows are sorted by user): what the server
      // searches to find one user's blocks without sending every summary.
      std::vector<uint32_t> users;
      for (const Row& x : sorted)
        if (users.empty() || users.back() != x.dict[kDictUser]) users.push_back(x.dict[kDictUser]);
      blocks.Int4Array(users);
      auto put_cols = [&](int base, std::span<const Row> rs) {
        for (int c = 0; c < kNumColumns; ++c) {
          std::vector<std::string> chunks = EncodeColumn(c, rs);
          for (size_t k = 0; k < chunks.size(); ++k) {
            cols.Tuple(4);
            cols.I8(block);
            cols.I2(base + c);
            cols.I2(int(k));
            cols.Bytes(chunks[k]);
          }
        }
      };
      put_cols(0, sorted);
      if (!fails.empty()) put_cols(kFailureBase, fails);
    }
    if (!dict.empty()) db_.Copy("COPY blk_dict FROM STDIN (FORMAT binary)", dict.Finish());
    db_.Copy("COPY blk_blocks FROM STDIN (FORMAT binary)", blocks.Finish());
    db_.Copy("COPY blk_cols FROM STDIN (FORMAT binary)", cols.Finish());
    PQclear(db_.Query("UPDATE blk_head SET last_id = $1, next_block = $2 WHERE id = 1",
                      {std::to_string(id), std::to_string(block)}));
    PQclear(db_.Query(
        "INSERT INTO blk_heads VALUES ($1, $2, decode($3, 'hex')) ON CONFLICT (writer) DO "
        "UPDATE SET last_id = excluded.last_id, hash = excluded.hash",
        {writer_, std::to_string(id), HexHash(head_)}));
    db_.Exec("COMMIT");
  }

 private:
  Conn db_;
  std::string writer_;
  std::unordered_map<std::string, uint32_t> dict_[kNumDictKinds];
  uint32_t next_[kNumDictKinds];
  ChainHasher hasher_;
  Hash256 head_{};
};

// Reads the rows [lo_row, hi_row) of the listed blocks' columns at `base`,
// keeps those with time in [start, end), resolves their strings. Returns
// events. `want` per block: (block id, writer, n, lo_row, hi_row).
struct Want {
  int64_t block;
  std::string writer;
  size_t n, lo, hi;
};

std::vector<Event> ReadBlocks(Conn& db, const std::vector<Want>& wants, int base, int64_t start,
                              int64_t end) {
  std::vector<Event> out;
  if (wants.empty()) return out;
  std::vector<int64_t> b, lo, hi;
  for (const Want& w : wants) {
    b.push_back(w.block);
    lo.push_back(int64_t(w.lo / kChunkRows));
    hi.push_back(int64_t((w.hi - 1) / kChunkRows));
  }
  PGresult* r = db.Query(
      "SELECT c.block, c.col, c.chunk, c.data FROM unnest($1::int8[], $2::int2[], $3::int2[]) "
      "AS w(b, lo, hi) JOIN blk_cols c ON c.block = w.b AND c.col >= $4::int2 AND c.col < "
      "$4::int2 + 16 AND c.chunk BETWEEN w.lo AND w.hi",
      {IntArray(b), IntArray(lo), IntArray(hi), std::to_string(base)});
  std::map<int64_t, std::vector<Row>> decoded;
  std::map<int64_t, const Want*> by_block;
  for (const Want& w : wants) {
    by_block[w.block] = &w;
    decoded[w.block].resize(w.n);
  }
  for (int i = 0; i < PQntuples(r); ++i) {
    int64_t blk = BinI8(r, i, 0);
    int col = int(BinInt(r, i, 1)) - base;
    size_t chunk = size_t(BinInt(r, i, 2));
    std::vector<Row>& rows = decoded[blk];
    size_t first = chunk * kChunkRows;
    size_t len = std::min<size_t>(kChunkRows, rows.size() - first);
    Status st = DecodeColumnChunk(col, BinBytes(r, i, 3), rows.data() + first, len);
    if (!st.ok()) Die(st.ToString());
  }
  PQclear(r);
  // Strings: one query per writer for the ids the kept rows use.
  std::map<std::string, std::vector<std::pair<int, uint32_t>>> need;
  std::vector<std::pair<const Want*, const Row*>> kept;
  for (const auto& [blk, rows] : decoded) {
    const Want* w = by_block[blk];
    for (size_t i = w->lo; i < w->hi; ++i) {
      const Row& row = rows[i];
      if (row.time_us < start || row.time_us >= end) continue;
      kept.emplace_back(w, &row);
      for (int k = 0; k < kNumDictKinds; ++k)
        if (!IsInlineKind(k)) need[w->writer].emplace_back(k, row.dict[k]);
    }
  }
  std::map<std::string, std::map<std::pair<int, uint32_t>, std::string>> strings;
  for (auto& [writer, ids] : need) {
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    std::vector<int64_t> kinds, nums;
    for (auto [k, id] : ids) kinds.push_back(k), nums.push_back(id);
    PGresult* d = db.Query(
        "SELECT d.kind, d.id, d.value FROM unnest($2::int2[], $3::int4[]) AS w(k, i) JOIN "
        "blk_dict d ON d.writer = $1 AND d.kind = w.k AND d.id = w.i",
        {writer, IntArray(kinds), IntArray(nums)});
    auto& m = strings[writer];
    for (int i = 0; i < PQntuples(d); ++i)
      m[{int(BinInt(d, i, 0)), uint32_t(BinInt(d, i, 1))}] = std::string(BinBytes(d, i, 2));
    PQclear(d);
  }
  for (auto [w, row] : kept) {
    Event e;
    e.id = row->id;
    e.time_us = row->time_us;
    e.result = Outcome(row->result);
    e.origin_line = row->origin_line;
    e.detail = row->detail;
    e.session = row->session;
    const auto& m = strings[w->writer];
    for (int k = 0; k < kNumDictKinds; ++k)
      if (!IsInlineKind(k) && row->dict[k] != 0) MutableDictField(e, k) = m.at({k, row->dict[k]});
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(), [](const Event& a, const Event& b) {
    return a.time_us != b.time_us ? a.time_us < b.time_us : a.id < b.id;
  });
  return out;
}

std::vector<Event> BlockUserQuery(Conn& db, const std::string& user, int64_t start, int64_t end) {
  PGresult* r = db.Query(
      "SELECT writer, id FROM blk_dict WHERE kind = $1::int2 AND value = convert_to($2, 'UTF8')",
      {std::to_string(kDictUser), user});
  std::map<std::string, uint32_t> uid;
  for (int i = 0; i < PQntuples(r); ++i)
    uid[std::string(BinBytes(r, i, 0))] = uint32_t(BinInt(r, i, 1));
  PQclear(r);
  // The user's blocks, found by the server (the users column's index).
  std::string which;
  for (const auto& [w, id] : uid)
    which += std::string(which.empty() ? "" : " OR ") + "(writer = '" + w + "' AND users @> '{" +
             std::to_string(id) + "}')";
  if (which.empty()) return {};
  r = db.Query(
      "SELECT id, writer, n, summary FROM blk_blocks WHERE t_max >= $1::int8 AND t_min < "
      "$2::int8 AND (" +
          which + ")",
      {std::to_string(start), std::to_string(end)});
  std::vector<Want> wants;
  for (int i = 0; i < PQntuples(r); ++i) {
    auto it = uid.find(std::string(BinBytes(r, i, 1)));
    if (it == uid.end()) continue;
    BlockSummary s;
    if (!DecodeSummary(BinBytes(r, i, 3), &s).ok()) Die("bad summary");
    const auto& users = s.ids[kDictUser];
    auto pos = std::lower_bound(users.begin(), users.end(), it->second);
    if (pos == users.end() || *pos != it->second) continue;
    auto [first, count] = s.user_ranges[size_t(pos - users.begin())];
    wants.push_back({BinI8(r, i, 0), it->first, size_t(BinInt(r, i, 2)), first, first + count});
  }
  PQclear(r);
  return ReadBlocks(db, wants, 0, start, end);
}

std::vector<Event> BlockFailedQuery(Conn& db, int64_t start, int64_t end) {
  PGresult* r = db.Query(
      "SELECT id, writer, failures FROM blk_blocks WHERE t_max >= $1::int8 AND t_min < $2::int8 "
      "AND failures > 0",
      {std::to_string(start), std::to_string(end)});
  std::vector<Want> wants;
  for (int i = 0; i < PQntuples(r); ++i) {
    size_t n = size_t(BinInt(r, i, 2));
    wants.push_back({BinI8(r, i, 0), std::string(BinBytes(r, i, 1)), n, 0, n});
  }
  PQclear(r);
  return ReadBlocks(db, wants, kFailureBase, start, end);
}

// ------------------------------------------------------------ commands

struct Args {
  std::string cmd, layout, from, conn, user;
  size_t writers = 1, events = 0;
  int runs = 5;
  int64_t start = 0, end = INT64_MAX;
};

// Independent of ids (writers interleave differently in each run) and of
// the order of events with the same time: a sum of per-event hashes.
uint64_t Checksum(const std::vector<Event>& ev) {
  uint64_t s = 0;
  for (const Event& e : ev) {
    std::string enc;
    AppendCanonicalEncoding(e, &enc);
    s += std::hash<std::string>()(enc);
  }
  return s;
}

int Ingest(const Args& a) {
  Loaded l = Load(a.from, a.events);
  size_t n = l.events.size();
  if (a.layout == "block") {
    Conn db(a.conn);
    db.Exec(kBlockSchema);
  }
  std::fprintf(stderr, "pg_layout: %zu events loaded, %zu writer(s), layout %s\n", n, a.writers,
               a.layout.c_str());
  double t0 = NowMs();
  std::vector<std::thread> threads;
  for (size_t w = 0; w < a.writers; ++w) {
    threads.emplace_back([&, w] {
      size_t lo = n * w / a.writers, hi = n * (w + 1) / a.writers;
      std::string writer = "bench" + std::to_string(w + 1);
      if (a.layout == "row") {
        StoreOptions o;
        o.writer = writer;
        auto store = OpenPostgresStore(a.conn, o);
        if (!store.ok()) Die(store.status().ToString());
        for (size_t p = lo; p < hi; p += kBatch) {
          size_t q = std::min(hi, p + kBatch);
          std::vector<Event> batch(l.events.begin() + long(p), l.events.begin() + long(q));
          std::vector<Hash256> d(l.digests.begin() + long(p), l.digests.begin() + long(q));
          Status st = (*store)->AppendBatch(&batch, {}, {}, &d);
          if (!st.ok()) Die(st.ToString());
        }
      } else {
        BlockWriter bw(a.conn, writer);
        for (size_t p = lo; p < hi; p += kBatch) {
          size_t q = std::min(hi, p + kBatch);
          bw.Append(std::span<Event>(l.events.data() + p, q - p),
                    std::span<const Hash256>(l.digests.data() + p, q - p));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  double ms = NowMs() - t0;
  Conn db(a.conn);
  PGresult* r = db.Query(
      a.layout == "row"
          ? "SELECT sum(pg_total_relation_size(relid))::int8 FROM pg_partition_tree('events')"
          : "SELECT (pg_total_relation_size('blk_blocks') + pg_total_relation_size('blk_cols') + "
            "pg_total_relation_size('blk_dict'))::int8",
      {});
  int64_t bytes = BinI8(r, 0, 0);
  PQclear(r);
  std::printf("ingest layout=%s writers=%zu events=%zu ms=%.0f events_per_s=%.0f bytes=%" PRId64
              " bytes_per_event=%.1f\n",
              a.layout.c_str(), a.writers, n, ms, n / (ms / 1000), bytes, double(bytes) / n);
  return 0;
}

int Query(const Args& a) {
  std::unique_ptr<EventStore> store;
  std::unique_ptr<Conn> db;
  if (a.layout == "sqlite" || a.layout == "row") {
    StoreOptions o;
    o.read_only = true;
    auto s = a.layout == "sqlite" ? OpenSqliteStore(a.from, o) : OpenPostgresStore(a.conn, o);
    if (!s.ok()) Die(s.status().ToString());
    store = std::move(*s);
  } else {
    db = std::make_unique<Conn>(a.conn);
  }
  std::vector<double> ms;
  size_t rows = 0;
  uint64_t sum = 0;
  for (int i = 0; i < a.runs; ++i) {
    double t0 = NowMs();
    std::vector<Event> got;
    if (store) {
      Filter f;
      if (a.cmd == "query")
        f.user = a.user;
      else
        f.failed = true;
      f.start_us = a.start;
      f.end_us = a.end;
      Status st = store->Scan(f, kFieldAll, [&](Event& e) {
        got.push_back(std::move(e));
        return true;
      });
      if (!st.ok()) Die(st.ToString());
    } else {
      got = a.cmd == "query" ? BlockUserQuery(*db, a.user, a.start, a.end)
                             : BlockFailedQuery(*db, a.start, a.end);
    }
    ms.push_back(NowMs() - t0);
    rows = got.size();
    sum = Checksum(got);
  }
  std::sort(ms.begin(), ms.end());
  std::printf("%s layout=%s rows=%zu checksum=%016" PRIx64 " p50_ms=%.1f p95_ms=%.1f\n",
              a.cmd.c_str(), a.layout.c_str(), rows, sum, ms[ms.size() / 2],
              ms[std::min(ms.size() - 1, size_t(ms.size() * 0.95))]);
  return 0;
}

}  // namespace
}  // namespace pveaudit

int main(int argc, char** argv) {
  using namespace pveaudit;
  if (argc < 2) Die("usage: pg_layout ingest|query|failed --layout row|block|sqlite ...");
  Args a;
  a.cmd = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--layout")
      a.layout = v;
    else if (k == "--from")
      a.from = v;
    else if (k == "--conn")
      a.conn = v;
    else if (k == "--user")
      a.user = v;
    else if (k == "--writers")
      a.writers = std::stoul(v);
    else if (k == "--events")
      a.events = std::stoul(v);
    else if (k == "--runs")
      a.runs = std::stoi(v);
    else if (k == "--start")
      a.start = std::stoll(v);
    else if (k == "--end")
      a.end = std::stoll(v);
    else
      Die("unknown argument '" + k + "'");
  }
  if (a.layout != "row" && a.layout != "block" && a.layout != "sqlite")
    Die("invalid value '" + a.layout + "' for --layout");
  if (a.cmd == "ingest") return Ingest(a);
  if (a.cmd == "query" || a.cmd == "failed") return Query(a);
  Die("unknown command '" + a.cmd + "'");
}
