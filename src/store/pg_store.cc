// The PostgreSQL backend of EventStore (pg_store.h). Layout and what is not
// done yet: docs/storage.md, "PostgreSQL"; the chains and their
// checks: docs/integrity.md. Every value travels as a binary parameter or
// result: SQL text holds only our own identifiers and placeholders.
#include "store/pg_store.h"

#include <dlfcn.h>
#include <libpq-fe.h>
#include <openssl/evp.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstring>
#include <deque>
#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "core/actions.h"
#include "core/host_name.h"
#include "core/time_spec.h"
#include "store/chain.h"

namespace pveaudit {
namespace {

// libpq is opened when a PostgreSQL store is (dlopen), not linked into
// the programs: it pulls in about 20 shared libraries (Kerberos, LDAP,
// GnuTLS, ...) that made a program's start 24 ms slower, and pveam starts
// once per command while only a configured PostgreSQL store needs them
// (docs/storage.md). libpq-fe.h still gives the types and prototypes, so
// each pointer has the exact type of the function it stands for.
#define PVEAUDIT_LIBPQ_FUNCTIONS(X) \
  X(clear)                          \
  X(cmdStatus)                      \
  X(connectdbParams)                \
  X(errorMessage)                   \
  X(exec)                           \
  X(execParams)                     \
  X(finish)                         \
  X(ftype)                          \
  X(getResult)                      \
  X(getlength)                      \
  X(getvalue)                       \
  X(nfields)                        \
  X(ntuples)                        \
  X(putCopyData)                    \
  X(putCopyEnd)                     \
  X(reset)                          \
  X(resultErrorField)               \
  X(resultStatus)                   \
  X(setNoticeProcessor)             \
  X(status)                         \
  X(transactionStatus)

struct LibPq {
#define PVEAUDIT_LIBPQ_POINTER(name) decltype(&::PQ##name) name = nullptr;
  PVEAUDIT_LIBPQ_FUNCTIONS(PVEAUDIT_LIBPQ_POINTER)
#undef PVEAUDIT_LIBPQ_POINTER
};

// Set once by LoadLibPq; every store object exists only after it.
const LibPq* g_libpq = nullptr;
const LibPq& Pq() { return *g_libpq; }

Status LoadLibPq() {
  static std::once_flag once;
  static std::string error;
  std::call_once(once, [] {
    static LibPq api;
    void* h = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      error = std::string("cannot load libpq.so.5 (Debian package libpq5): ") + dlerror();
      return;
    }
#define PVEAUDIT_LIBPQ_LOAD(name)                                        \
  api.name = reinterpret_cast<decltype(api.name)>(dlsym(h, "PQ" #name)); \
  if (!api.name) {                                                       \
    error = "libpq.so.5 has no function PQ" #name;                       \
    return;                                                              \
  }
    PVEAUDIT_LIBPQ_FUNCTIONS(PVEAUDIT_LIBPQ_LOAD)
#undef PVEAUDIT_LIBPQ_LOAD
    g_libpq = &api;
  });
  if (!error.empty()) return Status::NotFound("PostgreSQL store: " + error);
  return Status::OK();
}

// Type OIDs (catalog/pg_type.h, fixed since PostgreSQL 7; the server
// headers that name them are not part of libpq-dev).
constexpr Oid kByteaOid = 17, kInt8Oid = 20, kInt2Oid = 21, kTextOid = 25, kInt8ArrayOid = 1016;

// Serialises the first creation of the tables by concurrent openers (a
// racing CREATE TABLE IF NOT EXISTS can fail on the catalog's unique index).
constexpr int64_t kCreateLockKey = 0x7076656175646974;  // "pveaudit"

// Rows per server-side cursor FETCH: memory stays flat whatever the result.
constexpr int kFetchRows = 10000;
// Time windows per statement (PgStore::ForEachMatchingRow).
constexpr size_t kWindowChunk = 128;
// Bytes of COPY data handed to libpq at a time.
constexpr size_t kCopyChunk = 1 << 20;

// Strings that come from logs are bytea, not text: text refuses NUL bytes
// and invalid UTF-8, so one crafted user name in a failed login would make
// every later batch fail and stop the audit trail. The chain hashes bytes,
// and bytea gives back exactly the bytes stored.
const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS events(id bigint PRIMARY KEY, time_us bigint NOT NULL,
  result smallint NOT NULL, origin_line bigint NOT NULL, node bytea NOT NULL,
  "user" bytea NOT NULL, ip bytea NOT NULL, action bytea NOT NULL, resource bytea NOT NULL,
  status bytea NOT NULL, source bytea NOT NULL, session bytea NOT NULL, detail bytea NOT NULL,
  origin bytea NOT NULL, digest bytea NOT NULL, hash bytea NOT NULL);
CREATE INDEX IF NOT EXISTS events_time ON events(time_us, id);
CREATE TABLE IF NOT EXISTS chain_head(id smallint PRIMARY KEY CHECK (id = 1),
  last_id bigint NOT NULL, hash bytea NOT NULL, updated_us bigint NOT NULL);
CREATE TABLE IF NOT EXISTS cursors(key bytea PRIMARY KEY, path bytea NOT NULL,
  "offset" bigint NOT NULL, line bigint NOT NULL, state bytea NOT NULL,
  updated_us bigint NOT NULL);
CREATE TABLE IF NOT EXISTS rejected(id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  time_us bigint NOT NULL, origin bytea NOT NULL, line bigint NOT NULL, reason bytea NOT NULL,
  text bytea NOT NULL);
CREATE TABLE IF NOT EXISTS settings(key text PRIMARY KEY, value text NOT NULL,
  changed_by text NOT NULL, changed_us bigint NOT NULL);
CREATE TABLE IF NOT EXISTS consumers(name text PRIMARY KEY, last_id bigint NOT NULL,
  updated_us bigint NOT NULL);
)sql";

// Schema changes after version 1 (kSchema), in order: kMigrations[i]
// takes a store from version i + 1 to i + 2. A writable open runs the ones
// the store lacks, with the tables' creation, in one transaction under the
// creation lock; reading needs none of them. Each is several statements
// (the simple protocol: no parameters).
//
// 2: stored events and rejected lines are append-only for every role, the
//    tables' owner included (a statement trigger, so that it fires
//    whatever rows match; only the owner, deliberately, or a superuser can
//    switch it off, and `verify` then shows what was changed); the role
//    pveaudit_node (NOLOGIN: an administrator gives a node's own login
//    role its membership) gets SELECT, and INSERT/UPDATE only where a node
//    writes: never UPDATE or DELETE on events (docs/storage.md, "Roles").
const char* const kMigrations[] = {R"sql(
CREATE OR REPLACE FUNCTION pveaudit_append_only() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  RAISE EXCEPTION 'pveaudit: % on %.% refused: stored events are never changed or removed',
    TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $f$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON events
  FOR EACH STATEMENT EXECUTE FUNCTION pveaudit_append_only();
CREATE TRIGGER rejected_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON rejected
  FOR EACH STATEMENT EXECUTE FUNCTION pveaudit_append_only();
DO $d$
DECLARE
  may_create boolean;
BEGIN
  SELECT rolsuper OR rolcreaterole INTO may_create FROM pg_roles WHERE rolname = current_user;
  IF may_create AND NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pveaudit_node') THEN
    BEGIN
      CREATE ROLE pveaudit_node NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;  -- another store's first open made it (roles are per server)
    END;
  END IF;
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'pveaudit_node') THEN
    IF NOT has_schema_privilege('pveaudit_node', current_schema(), 'USAGE') THEN
      EXECUTE format('GRANT USAGE ON SCHEMA %I TO pveaudit_node', current_schema());
    END IF;
    GRANT SELECT ON meta, events, chain_head, cursors, rejected, settings, consumers
      TO pveaudit_node;
    GRANT INSERT ON events, rejected, chain_head, cursors, settings, consumers TO pveaudit_node;
    GRANT UPDATE ON chain_head, cursors, settings, consumers TO pveaudit_node;
  END IF;
END $d$;
)sql",
                                   // 3: one chain per writer (docs/storage.md, "Chains").
                                   // The chain of schema 2 becomes the writer ''
                                   // chain, its sequence numbers the ids it linked.
                                   R"sql(
ALTER TABLE events DISABLE TRIGGER events_append_only;
ALTER TABLE events ADD COLUMN writer bytea NOT NULL DEFAULT '\x'::bytea,
  ADD COLUMN seq bigint;
UPDATE events SET seq = id;
ALTER TABLE events ALTER COLUMN seq SET NOT NULL, ALTER COLUMN writer DROP DEFAULT;
ALTER TABLE events ENABLE TRIGGER events_append_only;
CREATE UNIQUE INDEX events_writer_seq ON events(writer, seq);
CREATE TABLE chain_heads(writer bytea PRIMARY KEY, last_seq bigint NOT NULL,
  last_id bigint NOT NULL, hash bytea NOT NULL, updated_us bigint NOT NULL);
INSERT INTO chain_heads SELECT '\x'::bytea, last_id, last_id, hash, updated_us FROM chain_head;
ALTER TABLE chain_head DROP COLUMN hash;
DO $d$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'pveaudit_node') THEN
    GRANT SELECT, INSERT, UPDATE ON chain_heads TO pveaudit_node;
  END IF;
END $d$;
)sql",
                                   // 4: indexes for the page's queries (docs/storage.md,
                                   // "Queries and verify"): a user's events by time, the
                                   // failures by time (partial: a few percent of the rows).
                                   // Not one by resource: with it ingest took twice as long.
                                   R"sql(
CREATE INDEX events_user_time ON events("user", time_us, id);
CREATE INDEX events_failed_time ON events(time_us, id) WHERE result = 2;
)sql",
                                   // 5: events in month range partitions (docs/storage.md,
                                   // "Month partitions"). Unique indexes on a partitioned
                                   // table must hold the partition key: (id, time_us) and
                                   // (writer, seq, time_us). A node creates the partitions
                                   // its events need through pveaudit_month_partition, a
                                   // SECURITY DEFINER function (the node role may not
                                   // CREATE); each partition gets the append-only trigger.
                                   R"sql(
DO $d$
BEGIN
  EXECUTE format($f$
CREATE FUNCTION pveaudit_month_partition(t bigint) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = %1$I, pg_temp AS $b$
DECLARE
  -- Every table is named with its schema: the caller's temporary tables
  -- (pg_temp) must not stand in for ours in a function run as the owner.
  s text := %1$L;
  m timestamp;
  base text;
  name text;
  i int := 0;
BEGIN
  -- Before 1970 and from year 10000 on: two partitions made with the table.
  IF t < 0 THEN RETURN 'events_before_1970'; END IF;
  IF t >= 253402300800000000 THEN RETURN 'events_from_10000'; END IF;
  -- Whole seconds (integer division): seconds as a double would round the
  -- last microsecond of 9999 into year 10000.
  m := date_trunc('month', to_timestamp((t / 1000000)::double precision) AT TIME ZONE 'UTC');
  base := 'events_' || to_char(m, 'YYYYMM');
  PERFORM pg_advisory_xact_lock(8103776048755534197);  -- kCreateLockKey + 1
  -- A month that retention has detached keeps its name: a late event of
  -- that month gets a partition of its own, events_YYYYMM_1 (_2, ...).
  LOOP
    name := base || CASE WHEN i = 0 THEN '' ELSE '_' || i END;
    EXIT WHEN to_regclass(format('%%I.%%I', s, name)) IS NULL;
    IF EXISTS (SELECT FROM pg_inherits WHERE inhrelid = to_regclass(format('%%I.%%I', s, name))
               AND inhparent = to_regclass(format('%%I.events', s))) THEN
      RETURN name;
    END IF;
    i := i + 1;
  END LOOP;
  EXECUTE format('CREATE TABLE %%1$I.%%2$I (LIKE %%1$I.events INCLUDING DEFAULTS'
                 ' INCLUDING CONSTRAINTS)', s, name);
  EXECUTE format('CREATE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON %%1$I.%%2$I'
                 ' FOR EACH STATEMENT EXECUTE FUNCTION %%1$I.pveaudit_append_only()', s, name);
  -- ATTACH, not CREATE ... PARTITION OF (ACCESS EXCLUSIVE on events): it
  -- locks events in SHARE UPDATE EXCLUSIVE mode, so readers and appenders
  -- go on. With no default partition, nothing else is locked.
  EXECUTE format('ALTER TABLE %%1$I.events ATTACH PARTITION %%1$I.%%2$I'
                 ' FOR VALUES FROM (%%3$s) TO (%%4$s)', s, name,
                 (extract(epoch FROM m) * 1000000)::bigint,
                 (extract(epoch FROM m + interval '1 month') * 1000000)::bigint);
  RETURN name;
END $b$
$f$, current_schema());
END $d$;
REVOKE ALL ON FUNCTION pveaudit_month_partition(bigint) FROM PUBLIC;

ALTER TABLE events RENAME TO events_v4;
ALTER TABLE events_v4 RENAME CONSTRAINT events_pkey TO events_v4_pkey;
ALTER INDEX events_time RENAME TO events_v4_time;
ALTER INDEX events_writer_seq RENAME TO events_v4_writer_seq;
ALTER INDEX events_user_time RENAME TO events_v4_user_time;
ALTER INDEX events_failed_time RENAME TO events_v4_failed_time;
CREATE TABLE events(id bigint NOT NULL, time_us bigint NOT NULL,
  result smallint NOT NULL, origin_line bigint NOT NULL, node bytea NOT NULL,
  "user" bytea NOT NULL, ip bytea NOT NULL, action bytea NOT NULL, resource bytea NOT NULL,
  status bytea NOT NULL, source bytea NOT NULL, session bytea NOT NULL, detail bytea NOT NULL,
  origin bytea NOT NULL, digest bytea NOT NULL, hash bytea NOT NULL, writer bytea NOT NULL,
  seq bigint NOT NULL) PARTITION BY RANGE (time_us);
-- No DEFAULT partition: attaching a month would lock it ACCESS EXCLUSIVE
-- and wait for (and stall) every query that reads it.
CREATE TABLE events_before_1970 PARTITION OF events FOR VALUES FROM (MINVALUE) TO (0);
CREATE TABLE events_from_10000 PARTITION OF events
  FOR VALUES FROM (253402300800000000) TO (MAXVALUE);
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON events_before_1970
  FOR EACH STATEMENT EXECUTE FUNCTION pveaudit_append_only();
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON events_from_10000
  FOR EACH STATEMENT EXECUTE FUNCTION pveaudit_append_only();
SELECT pveaudit_month_partition(t) FROM
  (SELECT DISTINCT time_us / 86400000000 * 86400000000 AS t FROM events_v4) AS days;
INSERT INTO events SELECT id, time_us, result, origin_line, node, "user", ip, action, resource,
  status, source, session, detail, origin, digest, hash, writer, seq FROM events_v4;
DROP TABLE events_v4;
ALTER TABLE events ADD PRIMARY KEY (id, time_us);
CREATE INDEX events_time ON events(time_us, id);
CREATE UNIQUE INDEX events_writer_seq ON events(writer, seq, time_us);
CREATE INDEX events_user_time ON events("user", time_us, id);
CREATE INDEX events_failed_time ON events(time_us, id) WHERE result = 2;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON events
  FOR EACH STATEMENT EXECUTE FUNCTION pveaudit_append_only();
-- The role pveaudit_reader (NOLOGIN, like pveaudit_node): SELECT only, for
-- auditors' and the web UI's read-only logins.
DO $d$
DECLARE
  may_create boolean;
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'pveaudit_node') THEN
    GRANT SELECT, INSERT ON events TO pveaudit_node;
    GRANT EXECUTE ON FUNCTION pveaudit_month_partition(bigint) TO pveaudit_node;
  END IF;
  SELECT rolsuper OR rolcreaterole INTO may_create FROM pg_roles WHERE rolname = current_user;
  IF may_create AND NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pveaudit_reader') THEN
    BEGIN
      CREATE ROLE pveaudit_reader NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;  -- another store's first open made it (roles are per server)
    END;
  END IF;
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'pveaudit_reader') THEN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO pveaudit_reader', current_schema());
    GRANT SELECT ON meta, events, chain_head, chain_heads, cursors, rejected, settings, consumers
      TO pveaudit_reader;
  END IF;
END $d$;
)sql",
                                   // 6: the reads of --failed 1 --count (docs/storage.md,
                                   // "Queries and verify"): the failures, and the login lines
                                   // and ticket requests (the windows around each login; a
                                   // sixth of the rows), by time with every column an event
                                   // shows: index-only scans instead of a heap page per row.
                                   R"sql(
DROP INDEX events_failed_time;
CREATE INDEX events_failed ON events(time_us, id)
  INCLUDE (result, origin_line, node, "user", ip, action, resource, status, source, session,
           detail, origin)
  WHERE result = 2;
CREATE INDEX events_login_time ON events(time_us, id)
  INCLUDE (result, origin_line, node, "user", ip, action, resource, status, source, session,
           detail, origin)
  WHERE action = '\x6163636573733a7469636b6574'::bytea      -- access:ticket
     OR action = '\x73657373696f6e3a72656e6577'::bytea      -- session:renew
     OR (action >= '\x6c6f67696e'::bytea AND action < '\x6c6f67696e3b'::bytea);  -- [login, login;)
)sql"};
constexpr int kSchemaVersion = 1 + int(std::size(kMigrations));

// The string columns, in EventField bit order (which is also the order of
// the canonical encoding).
constexpr int kNumStrings = 10;
constexpr const char* kStringCols[kNumStrings] = {"node",     "\"user\"", "ip",     "action",
                                                  "resource", "status",   "source", "session",
                                                  "detail",   "origin"};

constexpr std::string Event::*kStringFields[kNumStrings] = {
    &Event::node,   &Event::user,   &Event::ip,      &Event::action, &Event::resource,
    &Event::status, &Event::source, &Event::session, &Event::detail, &Event::origin};
std::string& Str(Event& e, int k) { return e.*kStringFields[k]; }

// Columns of an event row: id, time_us, result, origin_line, the string
// columns of `fields` in bit order, then digest, hash, writer and seq when
// `chain`.
std::string SelectList(uint32_t fields, bool chain) {
  std::string s = "id, time_us, result, origin_line";
  for (int k = 0; k < kNumStrings; ++k)
    if (fields & (1u << k)) s.append(", ").append(kStringCols[k]);
  if (chain) s += ", digest, hash, writer, seq";
  return s;
}

// The string fields a filter needs to be checked in C++.
uint32_t FilterFields(const Filter& f) {
  uint32_t need = 0;
  if (f.node) need |= kFieldNode;
  if (f.user) need |= kFieldUser;
  if (f.ip) need |= kFieldIp;
  if (f.action) need |= kFieldAction;
  if (f.resource) need |= kFieldResource;
  return need;
}

// Parameters of one statement, all sent in binary: integers big-endian,
// strings as their bytes, never spliced into the SQL text. Strings are
// referenced, not copied: they must outlive Exec.
class Params {
 public:
  void Int8(int64_t v) { PutInt(uint64_t(v), 8, kInt8Oid); }
  void Int2(int16_t v) { PutInt(uint16_t(v), 2, kInt2Oid); }
  void Bytes(std::string_view s, Oid type = kByteaOid) {
    items_.push_back({type, s.empty() ? "" : s.data(), int(s.size()), -1});
  }
  void Text(std::string_view s) { Bytes(s, kTextOid); }
  // A temporary would be gone by Exec: refused at compile time.
  void Bytes(std::string&&, Oid = kByteaOid) = delete;
  void Text(std::string&&) = delete;
  void Null(Oid type) { items_.push_back({type, nullptr, 0, -1}); }
  // An int8[] in PostgreSQL's binary array format: dimensions, no nulls,
  // element type, length and lower bound, then each element's length and
  // value.
  void Int8Array(const std::vector<int64_t>& v) {
    std::string a;
    auto put = [&a](uint64_t x, int n) {
      for (int i = n - 1; i >= 0; --i) a.push_back(char(x >> (8 * i)));
    };
    put(1, 4);
    put(0, 4);
    put(kInt8Oid, 4);
    put(v.size(), 4);
    put(1, 4);
    for (int64_t x : v) {
      put(8, 4);
      put(uint64_t(x), 8);
    }
    owned_.push_back(std::move(a));
    Bytes(owned_.back(), kInt8ArrayOid);
  }
  // A string made for this statement, kept here until Exec.
  void OwnedBytes(std::string s) {
    owned_.push_back(std::move(s));
    Bytes(owned_.back());
  }
  // "$<n>" of the parameter added last.
  std::string Last() const { return "$" + std::to_string(items_.size()); }

  PGresult* Exec(PGconn* conn, const std::string& sql) const {
    std::vector<const char*> values(items_.size());
    std::vector<int> lengths(items_.size()), formats(items_.size(), 1);
    std::vector<Oid> types(items_.size());
    for (size_t i = 0; i < items_.size(); ++i) {
      const Item& it = items_[i];
      values[i] = it.own >= 0 ? ints_.data() + it.own : it.p;
      lengths[i] = it.len;
      types[i] = it.type;
    }
    return Pq().execParams(conn, sql.c_str(), int(items_.size()), types.data(), values.data(),
                           lengths.data(), formats.data(), /*resultFormat=*/1);
  }

 private:
  struct Item {
    Oid type;
    const char* p;
    int len;
    int own;  // offset in ints_, or -1
  };
  void PutInt(uint64_t v, int n, Oid type) {
    items_.push_back({type, nullptr, n, int(ints_.size())});
    for (int i = n - 1; i >= 0; --i) ints_.push_back(char(v >> (8 * i)));
  }
  std::vector<Item> items_;
  std::string ints_;
  std::deque<std::string> owned_;  // a deque: its strings never move
};

struct ClearResult {
  void operator()(PGresult* r) const { Pq().clear(r); }
};
using PgResult = std::unique_ptr<PGresult, ClearResult>;

// Binary result values. A NULL or short value reads as 0 / empty rather
// than past the end of the buffer.
int64_t I8(const PGresult* r, int row, int col) {
  if (Pq().getlength(r, row, col) != 8) return 0;
  auto* p = reinterpret_cast<const unsigned char*>(Pq().getvalue(r, row, col));
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return int64_t(v);
}
int16_t I2(const PGresult* r, int row, int col) {
  if (Pq().getlength(r, row, col) != 2) return 0;
  auto* p = reinterpret_cast<const unsigned char*>(Pq().getvalue(r, row, col));
  return int16_t((p[0] << 8) | p[1]);
}
std::string_view Bytes(const PGresult* r, int row, int col) {
  return std::string_view(Pq().getvalue(r, row, col), size_t(Pq().getlength(r, row, col)));
}

// Checks a result's column types against `want` ('8' bigint, '2' smallint,
// 'b' bytea, 't' text): a table altered by hand is reported, not misread.
Status CheckTypes(const PGresult* r, std::string_view want) {
  bool ok = Pq().nfields(r) == int(want.size());
  for (int i = 0; ok && i < int(want.size()); ++i) {
    Oid t = Pq().ftype(r, i);
    ok = t == (want[i] == '8'   ? kInt8Oid
               : want[i] == '2' ? kInt2Oid
               : want[i] == 'b' ? kByteaOid
                                : kTextOid);
  }
  if (!ok) return Status::Corruption("PostgreSQL store: a table has unexpected column types");
  return Status::OK();
}

std::string EventTypes(uint32_t fields, bool chain) {
  std::string t = "8828";
  t.append(size_t(std::popcount(fields & kFieldAll)), 'b');
  if (chain) t += "bbb8";
  return t;
}

// Fills *e from row `row` laid out by SelectList(fields, chain); fields not
// in `fields` are left as they are.
void DecodeEvent(const PGresult* r, int row, uint32_t fields, Event* e) {
  e->id = uint64_t(I8(r, row, 0));
  e->time_us = I8(r, row, 1);
  e->result = Outcome(uint8_t(I2(r, row, 2)));
  e->origin_line = (fields & kFieldOrigin) ? uint64_t(I8(r, row, 3)) : 0;
  int col = 4;
  for (int k = 0; k < kNumStrings; ++k)
    if (fields & (1u << k)) Str(*e, k).assign(Bytes(r, row, col++));
}

// The store's head, for status and verify: with one chain, its head (so a
// node alone has the head its SQLite store would have); with several, the
// SHA-256 of every chain's u32be writer length | writer | u64be last
// sequence | head, in writer order (docs/integrity.md). "" when empty.
std::string StoreHead(const std::vector<std::tuple<std::string, uint64_t, Hash256>>& chains) {
  if (chains.empty()) return std::string();
  if (chains.size() == 1) return HexHash(std::get<2>(chains[0]));
  std::string buf;
  auto put = [&buf](uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) buf.push_back(char(v >> (8 * i)));
  };
  for (const auto& [w, seq, h] : chains) {
    put(w.size(), 4);
    buf += w;
    put(seq, 8);
    buf.append(reinterpret_cast<const char*>(h.data()), h.size());
  }
  Hash256 out{};
  unsigned len = 0;
  EVP_Digest(buf.data(), buf.size(), out.data(), &len, EVP_sha256(), nullptr);
  return HexHash(out);
}

// Month partitions (schema 5): a month as year * 12 + month - 1 (UTC), or
// -1 for a time of the two edge partitions (before 1970, from year 10000).
// pveaudit_month_partition computes the same months on the server.
constexpr int64_t kYear10000Us = 253402300800000000;
int64_t MonthKey(int64_t time_us) {
  using namespace std::chrono;
  if (time_us < 0 || time_us >= kYear10000Us) return -1;
  const year_month_day ymd{floor<days>(sys_seconds(seconds(time_us / 1000000)))};
  return int64_t(int(ymd.year())) * 12 + int64_t(unsigned(ymd.month())) - 1;
}
int64_t MonthStartUs(int64_t key) {
  using namespace std::chrono;
  const sys_days d{year_month_day{year(int(key / 12)), month(unsigned(key % 12) + 1), day(1)}};
  return int64_t(d.time_since_epoch().count()) * 86400 * 1000000;
}

class PgStore final : public EventStore {
 public:
  PgStore(std::string conninfo, StoreOptions opt, std::string passfile)
      : conninfo_(std::move(conninfo)),
        passfile_(std::move(passfile)),
        opt_(opt),
        writer_(opt_.writer.empty() ? ShortHostName() : opt_.writer) {}
  ~PgStore() override {
    if (conn_) Pq().finish(conn_);
  }

  Status Open() {
    // The conninfo is passed as dbname with expand_dbname, so that a
    // postgresql:// URI works as well as "key=value" text.
    // A lost server or network is an error within ~10 s, never a hang:
    // pveauditd then spools (spooling_store.h). These come before the
    // conninfo, so that values given in the URL win.
    const char* keys[] = {"connect_timeout",
                          "keepalives_idle",
                          "keepalives_interval",
                          "keepalives_count",
                          "tcp_user_timeout",
                          "dbname",
                          "fallback_application_name",
                          passfile_.empty() ? nullptr : "passfile",
                          nullptr};
    const char* vals[] = {
        "10", "5", "2", "2", "10000", conninfo_.c_str(), "pveaudit", passfile_.c_str(), nullptr};
    conn_ = Pq().connectdbParams(keys, vals, 1);
    if (!conn_ || Pq().status(conn_) != CONNECTION_OK)
      return Status::IOError("cannot connect to PostgreSQL: " + ConnError());
    // Notices ("relation already exists, skipping") would go to stderr.
    Pq().setNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
    PVEAUDIT_RETURN_IF_ERROR(ApplySession());
    auto where = Query(
        "SELECT current_database()::text, COALESCE(current_schema()::text, ''),"
        " (to_regclass('meta') IS NOT NULL)::int::smallint");
    if (!where.ok()) return where.status();
    PVEAUDIT_RETURN_IF_ERROR(CheckTypes(where->get(), "tt2"));
    const std::string db(Bytes(where->get(), 0, 0)), schema(Bytes(where->get(), 0, 1));
    if (I2(where->get(), 0, 2) == 0) {
      if (opt_.read_only)
        return Status::NotFound("no event store in PostgreSQL database " + db + ", schema " +
                                (schema.empty() ? "(none)" : schema) +
                                " (import events first: pveam access import FILE..., which "
                                "creates the store's tables)");
      PVEAUDIT_RETURN_IF_ERROR(CreateOrUpgrade(db));
    }
    auto v = SchemaVersion(db);
    if (!v.ok()) return v.status();
    if (*v > kSchemaVersion)
      return Status::InvalidArgument("database " + db + " has store schema " + std::to_string(*v) +
                                     ", newer than this pveaudit's (" +
                                     std::to_string(kSchemaVersion) + "): upgrade pveaudit");
    if (*v < kSchemaVersion && opt_.read_only)
      return Status::InvalidArgument(
          "database " + db + " has store schema " + std::to_string(*v) +
          ", older than this pveaudit's (" + std::to_string(kSchemaVersion) +
          "): the first writable use by the tables' owner upgrades it (start pveauditd, or run "
          "pveam access import, with the owner's connection)");
    if (*v < kSchemaVersion) PVEAUDIT_RETURN_IF_ERROR(CreateOrUpgrade(db));
    return Status::OK();
  }

  // The schema version in meta, or Corruption when there is none.
  Result<int> SchemaVersion(const std::string& db) {
    auto ver = Query("SELECT value FROM meta WHERE key = 'schema_version'");
    if (!ver.ok())
      return Status::Corruption("database " + db +
                                " holds no pveaudit store: " + ver.status().message());
    if (Pq().ntuples(ver->get()) != 1 || !CheckTypes(ver->get(), "t").ok())
      return Status::Corruption("database " + db + " holds no pveaudit store (no schema version)");
    const std::string v(Bytes(ver->get(), 0, 0));
    if (v.empty() || v.size() > 6 || v.find_first_not_of("0123456789") != std::string::npos)
      return Status::Corruption("database " + db + " has an unreadable store schema version");
    return std::stoi(v);
  }

  // ---------------------------------------------------------------- writing

  Status AppendBatch(std::vector<Event>* events, const std::vector<RejectedLine>& rejected,
                     std::span<const SourceCursor> cursors,
                     const std::vector<Hash256>* digests) override {
    if (digests && digests->size() != events->size())
      return Status::InvalidArgument("Append: digests do not match the events");
    PVEAUDIT_RETURN_IF_ERROR(ReadyToWrite());
    Status st = AppendOnce(events, rejected, cursors, digests);
    if (copy_found_no_partition_) {
      // A month this store knew was detached meanwhile (retention): the
      // server refused the COPY, so nothing was stored. Ask again for
      // every month, and append once more.
      months_.clear();
      st = AppendOnce(events, rejected, cursors, digests);
    }
    return st;
  }

  Status AppendOnce(std::vector<Event>* events, const std::vector<RejectedLine>& rejected,
                    std::span<const SourceCursor> cursors, const std::vector<Hash256>* digests) {
    copy_found_no_partition_ = false;
    PVEAUDIT_RETURN_IF_ERROR(EnsureMonths(*events));
    // READ COMMITTED whatever the role's default: the head read after the
    // lock must see the previous appender's commit.
    PVEAUDIT_RETURN_IF_ERROR(Exec("BEGIN ISOLATION LEVEL READ COMMITTED"));
    Status st = AppendInTxn(events, rejected, cursors, digests);
    if (st.ok()) st = Commit();
    if (!st.ok()) {
      (void)Exec("ROLLBACK");
      for (Event& e : *events) e.id = 0;
    }
    return st;
  }

  // Makes the month partitions the events need that this store has not
  // made or seen yet, each in a transaction of its own before the append's:
  // ATTACH PARTITION takes a lock on events that the append would otherwise
  // hold through its COPY, and a partition made for a batch that then fails
  // is only an empty table. The month after the current one is made with
  // the current one, so a live stream never waits at a month's turn.
  Status EnsureMonths(const std::vector<Event>& events) {
    std::vector<int64_t> need;
    auto want = [&](int64_t key) {
      if (key >= 0 && !months_.contains(key) &&
          std::find(need.begin(), need.end(), key) == need.end())
        need.push_back(key);
    };
    const int64_t now = MonthKey(NowUs());
    for (const Event& e : events) {
      const int64_t key = MonthKey(e.time_us);
      want(key);
      if (key == now) want(key + 1);
    }
    for (int64_t key : need) {
      Params p;
      p.Int8(MonthStartUs(key));
      auto r = Query("SELECT pveaudit_month_partition($1)", &p);
      if (!r.ok())
        return Status::IOError("cannot make the month partition for " + std::to_string(key / 12) +
                               "-" + std::to_string(key % 12 + 1) + ": " + r.status().message());
      months_.insert(key);
    }
    return Status::OK();
  }

  Status AppendInTxn(std::vector<Event>* events, const std::vector<RejectedLine>& rejected,
                     std::span<const SourceCursor> cursors, const std::vector<Hash256>* digests) {
    const int64_t now = NowUs();
    if (!events->empty()) {
      // Appenders queue here, whatever process or host they run in, until
      // the one before them commits: ids are then contiguous in commit
      // order (what consumers follow). EXCLUSIVE still lets readers in.
      PVEAUDIT_RETURN_IF_ERROR(Exec("LOCK TABLE chain_head IN EXCLUSIVE MODE"));
      // Read after the lock: this statement's snapshot holds the previous
      // appender's commit. The events link into this writer's own chain
      // (docs/storage.md, "Chains"), numbered by its own sequence.
      Params w;
      w.Bytes(writer_);
      auto head = Query(
          "SELECT COALESCE((SELECT last_id FROM chain_head WHERE id = 1), 0),"
          " COALESCE((SELECT last_seq FROM chain_heads WHERE writer = $1), 0),"
          " COALESCE((SELECT hash FROM chain_heads WHERE writer = $1), ''::bytea)",
          &w);
      if (!head.ok()) return head.status();
      PVEAUDIT_RETURN_IF_ERROR(CheckTypes(head->get(), "88b"));
      uint64_t last = uint64_t(I8(head->get(), 0, 0));
      uint64_t seq = uint64_t(I8(head->get(), 0, 1));
      Hash256 h{};
      if (std::string_view hv = Bytes(head->get(), 0, 2); seq != 0) {
        if (hv.size() != 32)
          return Status::Corruption("PostgreSQL store: the chain head of writer " + writer_ +
                                    " is damaged");
        std::memcpy(h.data(), hv.data(), 32);
      }
      const size_t n = events->size();
      std::vector<Hash256> digest(n), hash(n);
      for (size_t i = 0; i < n; ++i) {
        Event& e = (*events)[i];
        e.id = ++last;
        digest[i] = digests ? (*digests)[i] : hasher().Digest(e);
        h = hash[i] = hasher().Link(h, seq + 1 + i, digest[i]);
      }
      PVEAUDIT_RETURN_IF_ERROR(CopyEvents(*events, digest, hash, seq + 1));
      seq += n;
      Params g;
      g.Int8(int64_t(last));
      g.Int8(now);
      PVEAUDIT_RETURN_IF_ERROR(
          Exec("INSERT INTO chain_head(id, last_id, updated_us) VALUES(1, $1, $2)"
               " ON CONFLICT (id) DO UPDATE SET last_id = EXCLUDED.last_id,"
               " updated_us = EXCLUDED.updated_us",
               &g));
      Params p;
      p.Int8(int64_t(last));
      p.Int8(now);
      p.Bytes(writer_);
      p.Int8(int64_t(seq));
      p.Bytes(AsView(h));
      PVEAUDIT_RETURN_IF_ERROR(
          Exec("INSERT INTO chain_heads(writer, last_seq, last_id, hash, updated_us)"
               " VALUES($3, $4, $1, $5, $2) ON CONFLICT (writer) DO UPDATE SET"
               " last_seq = EXCLUDED.last_seq, last_id = EXCLUDED.last_id,"
               " hash = EXCLUDED.hash, updated_us = EXCLUDED.updated_us",
               &p));
    }
    for (const RejectedLine& r : rejected) {
      Params p;
      p.Int8(now);
      p.Bytes(r.origin);
      p.Int8(int64_t(r.line));
      p.Bytes(r.reason);
      p.Bytes(std::string_view(r.text).substr(0, 4096));
      PVEAUDIT_RETURN_IF_ERROR(Exec(
          "INSERT INTO rejected(time_us, origin, line, reason, text) VALUES($1, $2, $3, $4, $5)",
          &p));
    }
    for (const SourceCursor& c : cursors) {
      Params p;
      p.Bytes(c.key);
      p.Bytes(c.path);
      p.Int8(int64_t(c.offset));
      p.Int8(int64_t(c.line));
      p.Bytes(c.state);
      p.Int8(now);
      PVEAUDIT_RETURN_IF_ERROR(
          Exec("INSERT INTO cursors(key, path, \"offset\", line, state, updated_us)"
               " VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO UPDATE SET"
               " path = EXCLUDED.path, \"offset\" = EXCLUDED.\"offset\", line = EXCLUDED.line,"
               " state = EXCLUDED.state, updated_us = EXCLUDED.updated_us",
               &p));
    }
    return Status::OK();
  }

  Result<std::optional<SourceCursor>> GetCursor(const std::string& key) override {
    PVEAUDIT_RETURN_IF_ERROR(Ready());
    Params p;
    p.Bytes(key);
    auto r = Query("SELECT path, \"offset\", line, state FROM cursors WHERE key = $1", &p);
    if (!r.ok()) return r.status();
    PVEAUDIT_RETURN_IF_ERROR(CheckTypes(r->get(), "b88b"));
    if (Pq().ntuples(r->get()) == 0) return std::optional<SourceCursor>();
    SourceCursor c;
    c.key = key;
    c.path = Bytes(r->get(), 0, 0);
    c.offset = uint64_t(I8(r->get(), 0, 1));
    c.line = uint64_t(I8(r->get(), 0, 2));
    c.state = Bytes(r->get(), 0, 3);
    return std::optional<SourceCursor>(std::move(c));
  }

  Result<std::vector<SourceCursor>> ListCursors() override {
    PVEAUDIT_RETURN_IF_ERROR(Ready());
    auto r = Query("SELECT key, path, \"offset\", line, state FROM cursors ORDER BY key");
    if (!r.ok()) return r.status();
    PVEAUDIT_RETURN_IF_ERROR(CheckTypes(r->get(), "bb88b"));
    std::vector<SourceCursor> out;
    for (int i = 0; i < Pq().ntuples(r->get()); ++i)
      out.push_back({std::string(Bytes(r->get(), i, 0)), std::string(Bytes(r->get(), i, 1)),
                     uint64_t(I8(r->get(), i, 2)), uint64_t(I8(r->get(), i, 3)),
                     std::string(Bytes(r->get(), i, 4))});
    return out;
  }

  // ---------------------------------------------------------------- reading

  // ("user", time_us, id) is indexed: a user's windows are index ranges.
  bool ReadsByUserAreCheap() const override { return true; }

  Status Scan(const Filter& f, uint32_t fields, const std::function<bool(Event&)>& fn) override {
    fields &= kFieldAll;
    const uint32_t cols = fields | FilterFields(f);
    Event e;
    return ForEachMatchingRow(
        f, cols,
        [&]() {
          // Read for the filter only: left empty, as the interface says.
          for (int k = 0; k < kNumStrings; ++k)
            if ((cols & ~fields) & (1u << k)) Str(e, k).clear();
          return fn(e);
        },
        &e);
  }

  // Reads the rows of `f` in (time, id) order with columns `cols` into *e
  // and calls `fn` for each that MatchesStoredEvent; `fn` returns false to
  // stop. Many windows are read kWindowChunk at a time, each chunk one
  // statement: the rows of a statement over windows are sorted by the
  // server, and a sort of millions of rows (the failures of a month and the
  // events around them) spills to disk. Windows ascend and do not overlap,
  // so the chunks' rows follow each other in order.
  Status ForEachMatchingRow(const Filter& f, uint32_t cols, const std::function<bool()>& fn,
                            Event* e) {
    bool stopped = false;
    auto run = [&](const Filter& part) {
      Params p;
      const std::string sql =
          "SELECT " + SelectList(cols, false) + FromWhere(part, cols, &p) + " ORDER BY time_us, id";
      return ForEachRow(sql, &p, EventTypes(cols, false), [&](const PGresult* r, int row) {
        DecodeEvent(r, row, cols, e);
        if (!MatchesStoredEvent(f, *e)) return true;
        stopped = !fn();
        return !stopped;
      });
    };
    if (f.windows.size() <= kWindowChunk) return run(f);
    Filter part = f;
    for (size_t i = 0; i < f.windows.size() && !stopped; i += kWindowChunk) {
      part.windows.assign(
          f.windows.begin() + ptrdiff_t(i),
          f.windows.begin() + ptrdiff_t(std::min(i + kWindowChunk, f.windows.size())));
      PVEAUDIT_RETURN_IF_ERROR(run(part));
    }
    return Status::OK();
  }

  Status ScanKeys(const Filter& f, EventField key, std::vector<std::string>* names,
                  const std::function<bool(int64_t, uint32_t, uint64_t)>& fn) override {
    if (std::popcount(uint32_t(key)) != 1 || !(uint32_t(key) & kFieldAll) || key == kFieldSession ||
        key == kFieldDetail)
      return Status::InvalidArgument("ScanKeys: not a dictionary field");
    const int kind = std::countr_zero(uint32_t(key));
    const uint32_t cols = uint32_t(key) | FilterFields(f);
    // Keys numbered by first appearance; 0 is the empty string, as in the
    // SQLite store's dictionaries.
    std::vector<std::string> out(1);
    std::unordered_map<std::string, uint32_t> index{{std::string(), 0}};
    Event e;
    Status st = ForEachMatchingRow(
        f, cols,
        [&]() {
          auto [it, fresh] = index.try_emplace(Str(e, kind), uint32_t(out.size()));
          if (fresh) out.push_back(it->first);
          return fn(e.time_us, it->second, e.id);
        },
        &e);
    if (st.ok()) *names = std::move(out);
    return st;
  }

  Status ScanAfter(uint64_t after_id, size_t limit, uint32_t fields,
                   const std::function<bool(Event&)>& fn) override {
    fields &= kFieldAll;
    Params p;
    p.Int8(int64_t(after_id));
    std::string sql =
        "SELECT " + SelectList(fields, false) + " FROM events WHERE id > $1 ORDER BY id";
    if (limit) {
      p.Int8(int64_t(limit));
      sql += " LIMIT $2";
    }
    Event e;
    return ForEachRow(sql, &p, EventTypes(fields, false), [&](const PGresult* r, int row) {
      DecodeEvent(r, row, fields, &e);
      return fn(e);
    });
  }

  // ------------------------------------------------------------- consumers

  Result<std::optional<uint64_t>> GetConsumer(const std::string& name) override {
    PVEAUDIT_RETURN_IF_ERROR(Ready());
    Params p;
    p.Text(name);
    auto r = Query("SELECT last_id FROM consumers WHERE name = $1", &p);
    if (!r.ok()) return r.status();
    PVEAUDIT_RETURN_IF_ERROR(CheckTypes(r->get(), "8"));
    if (Pq().ntuples(r->get()) == 0) return std::optional<uint64_t>();
    return std::optional<uint64_t>(uint64_t(I8(r->get(), 0, 0)));
  }

  Status PutConsumer(const std::string& name, uint64_t last_id) override {
    PVEAUDIT_RETURN_IF_ERROR(ReadyToWrite());
    Params p;
    p.Text(name);
    p.Int8(int64_t(last_id));
    p.Int8(NowUs());
    return Exec(
        "INSERT INTO consumers(name, last_id, updated_us) VALUES($1, $2, $3) ON CONFLICT (name)"
        " DO UPDATE SET last_id = EXCLUDED.last_id, updated_us = EXCLUDED.updated_us",
        &p);
  }

  Result<std::vector<ConsumerPosition>> ListConsumers() override {
    PVEAUDIT_RETURN_IF_ERROR(Ready());
    // COLLATE "C": byte order, as SQLite sorts, whatever the database's locale.
    auto r = Query("SELECT name, last_id, updated_us FROM consumers ORDER BY name COLLATE \"C\"");
    if (!r.ok()) return r.status();
    PVEAUDIT_RETURN_IF_ERROR(CheckTypes(r->get(), "t88"));
    std::vector<ConsumerPosition> out;
    for (int i = 0; i < Pq().ntuples(r->get()); ++i)
      out.push_back(
          {std::string(Bytes(r->get(), i, 0)), uint64_t(I8(r->get(), i, 1)), I8(r->get(), i, 2)});
    return out;
  }

  // ------------------------------------------------------------- verifying

  Result<VerifyReport> Verify(const std::function<void(uint64_t, uint64_t)>& progress) override {
    VerifyReport rep;
    // One snapshot for the head and the events: an append committed
    // meanwhile is neither half seen nor taken for tampering.
    Status st = InReadTxn("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                          [&] { return VerifyInTxn(progress, &rep); });
    if (!st.ok()) return st;
    return rep;
  }

  // Each writer's chain (docs/storage.md, "Chains"): its events in
  // sequence order must run #1, #2, #3, ..., each digest and link
  // recomputed and compared with the stored ones, and end at its head in
  // chain_heads; all chains together must hold every id up to the last
  // (ids are unique by the primary key). Messages name the node (writer)
  // and the event's id.
  Status VerifyInTxn(const std::function<void(uint64_t, uint64_t)>& progress, VerifyReport* rep) {
    auto heads_r = Query("SELECT writer, last_seq, last_id, hash FROM chain_heads ORDER BY writer");
    if (!heads_r.ok()) return heads_r.status();
    PVEAUDIT_RETURN_IF_ERROR(CheckTypes(heads_r->get(), "b88b"));
    struct Head {
      uint64_t last_seq = 0, last_id = 0;
      std::string hash;
      bool seen = false;
    };
    std::map<std::string, Head, std::less<>> heads;
    for (int i = 0; i < Pq().ntuples(heads_r->get()); ++i)
      heads[std::string(Bytes(heads_r->get(), i, 0))] = {uint64_t(I8(heads_r->get(), i, 1)),
                                                         uint64_t(I8(heads_r->get(), i, 2)),
                                                         std::string(Bytes(heads_r->get(), i, 3))};
    auto total_r = Query("SELECT COALESCE((SELECT last_id FROM chain_head WHERE id = 1), 0)");
    if (!total_r.ok()) return total_r.status();
    PVEAUDIT_RETURN_IF_ERROR(CheckTypes(total_r->get(), "8"));
    const uint64_t last_id = uint64_t(I8(total_r->get(), 0, 0));

    bool failed = false;
    auto fail = [&](uint64_t id, std::string why) {
      rep->intact = false;
      rep->first_bad_id = id;
      rep->reason = std::move(why);
      failed = true;
      return false;
    };
    auto who = [](std::string_view w) {
      return w.empty() ? std::string() : "node " + std::string(w) + ": ";
    };
    // A chain read to its end: it must reach its head, hash for hash.
    auto finish = [&](const std::string& w, const Head& head, uint64_t seen_seq, const Hash256& h) {
      if (seen_seq < head.last_seq)
        return fail(0, who(w) + "the chain ends at #" + std::to_string(seen_seq) +
                           " but its chain head records #" + std::to_string(head.last_seq) +
                           " (truncated: #" + std::to_string(seen_seq + 1) + "-#" +
                           std::to_string(head.last_seq) + " are gone)");
      if (head.hash != AsView(h))
        return fail(head.last_id, who(w) +
                                      "the recomputed chain head does not match the recorded "
                                      "chain head (events were rewritten)");
      return true;
    };
    std::vector<std::tuple<std::string, uint64_t, Hash256>> chains;
    std::string writer;
    Head* head = nullptr;
    Hash256 h{};
    uint64_t expect = 1;
    Event e;
    constexpr int kDigestCol = 4 + kNumStrings;
    Status st = ForEachRow(
        "SELECT " + SelectList(kFieldAll, true) + " FROM events ORDER BY writer, seq, id", nullptr,
        EventTypes(kFieldAll, true), [&](const PGresult* r, int row) {
          const std::string_view w = Bytes(r, row, kDigestCol + 2);
          if (!head || w != writer) {
            if (head) {
              if (!finish(writer, *head, expect - 1, h)) return false;
              chains.emplace_back(writer, expect - 1, h);
            }
            writer.assign(w);
            auto it = heads.find(writer);
            if (it == heads.end())
              return fail(uint64_t(I8(r, row, 0)),
                          who(writer) + "event " + std::to_string(I8(r, row, 0)) +
                              " belongs to no chain: its node has no chain head (inserted)");
            head = &it->second;
            head->seen = true;
            h = Hash256{};
            expect = 1;
          }
          DecodeEvent(r, row, kFieldAll, &e);
          const uint64_t id = e.id, seq = uint64_t(I8(r, row, kDigestCol + 3));
          const std::string ev =
              who(writer) + "event " + std::to_string(id) + " (#" + std::to_string(seq) + ")";
          if (seq > expect)
            return fail(id, who(writer) + "#" + std::to_string(expect) +
                                " is missing: the chain jumps from #" + std::to_string(expect - 1) +
                                " to #" + std::to_string(seq) + ", event " + std::to_string(id) +
                                " (deleted)");
          if (seq < expect)
            return fail(id, ev + " appears again after #" + std::to_string(expect - 1) +
                                " (inserted or duplicated)");
          if (seq > head->last_seq)
            return fail(id, ev + " lies beyond its chain head, which ends at #" +
                                std::to_string(head->last_seq) + " (inserted)");
          if (id > last_id)
            return fail(
                id, ev + " lies beyond the last id, " + std::to_string(last_id) + " (inserted)");
          const Hash256 d = hasher().Digest(e);
          const Hash256 nh = hasher().Link(h, seq, d);
          if (Bytes(r, row, kDigestCol + 1) != AsView(nh))
            return fail(id, ev + ": contents do not match its chain hash (edited, or an event "
                                 "before it was altered)");
          if (Bytes(r, row, kDigestCol) != AsView(d))
            return fail(id, ev + ": its stored digest does not match its contents (edited)");
          h = nh;
          ++expect;
          ++rep->events_checked;
          if (progress && rep->events_checked % kFetchRows == 0)
            progress(rep->events_checked, last_id);
          return true;
        });
    if (!st.ok() || failed) return st;
    if (head) {
      if (!finish(writer, *head, expect - 1, h)) return Status::OK();
      chains.emplace_back(writer, expect - 1, h);
    }
    if (progress) progress(rep->events_checked, last_id);
    for (auto& [w, hd] : heads)
      if (!hd.seen && !finish(w, hd, 0, Hash256{})) return Status::OK();
    if (rep->events_checked != last_id) {
      fail(0, "the chains hold " + std::to_string(rep->events_checked) + " events but ids run to " +
                  std::to_string(last_id) +
                  (rep->events_checked < last_id ? " (deleted)" : " (inserted)"));
      return Status::OK();
    }
    rep->head_hash = StoreHead(chains);
    for (auto& [w, n, hash] : chains) rep->chains.push_back({w, n, HexHash(hash)});
    return Status::OK();
  }

  Result<StoreInfo> Info() override {
    PVEAUDIT_RETURN_IF_ERROR(Ready());
    // The event count is the chain head's last id (ids are contiguous, and
    // verify checks that they are): count(*) would read the whole table.
    // min/max come from the time index.
    auto r = Query(
        "SELECT COALESCE((SELECT last_id FROM chain_head WHERE id = 1), 0),"
        " COALESCE((SELECT min(time_us) FROM events), 0),"
        " COALESCE((SELECT max(time_us) FROM events), 0),"
        " (SELECT count(*) FROM rejected),"
        " (SELECT COALESCE(sum(pg_total_relation_size(to_regclass(t))), 0)::bigint FROM"
        "  unnest(ARRAY['meta', 'chain_head', 'chain_heads', 'cursors', 'rejected',"
        "  'settings', 'consumers']) AS t) +"
        " (SELECT COALESCE(sum(pg_total_relation_size(relid)), 0)::bigint"
        "  FROM pg_partition_tree('events'))");
    if (!r.ok()) return r.status();
    PVEAUDIT_RETURN_IF_ERROR(CheckTypes(r->get(), "88888"));
    const PGresult* g = r->get();
    StoreInfo info;
    info.events = info.last_id = uint64_t(I8(g, 0, 0));
    info.first_time_us = I8(g, 0, 1);
    info.last_time_us = I8(g, 0, 2);
    info.rejected_lines = uint64_t(I8(g, 0, 3));
    info.bytes_on_disk = uint64_t(I8(g, 0, 4));
    auto heads = Query("SELECT writer, last_seq, hash FROM chain_heads ORDER BY writer");
    if (!heads.ok()) return heads.status();
    PVEAUDIT_RETURN_IF_ERROR(CheckTypes(heads->get(), "b8b"));
    std::vector<std::tuple<std::string, uint64_t, Hash256>> chains;
    for (int i = 0; i < Pq().ntuples(heads->get()); ++i) {
      Hash256 h{};
      const std::string_view hv = Bytes(heads->get(), i, 2);
      if (hv.size() == 32) std::memcpy(h.data(), hv.data(), 32);
      chains.emplace_back(std::string(Bytes(heads->get(), i, 0)), uint64_t(I8(heads->get(), i, 1)),
                          h);
    }
    info.head_hash = StoreHead(chains);
    for (auto& [w, n, hash] : chains) info.chains.push_back({w, n, HexHash(hash)});
    return info;
  }

  // ------------------------------------------------------- settings, rejects

  Status PutSetting(const std::string& key, const std::string& value,
                    const std::string& changed_by) override {
    PVEAUDIT_RETURN_IF_ERROR(ReadyToWrite());
    Params p;
    p.Text(key);
    p.Text(value);
    p.Text(changed_by);
    p.Int8(NowUs());
    return Exec(
        "INSERT INTO settings(key, value, changed_by, changed_us) VALUES($1, $2, $3, $4)"
        " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value,"
        " changed_by = EXCLUDED.changed_by, changed_us = EXCLUDED.changed_us",
        &p);
  }

  Result<std::optional<std::string>> GetSetting(const std::string& key) override {
    PVEAUDIT_RETURN_IF_ERROR(Ready());
    Params p;
    p.Text(key);
    auto r = Query("SELECT value FROM settings WHERE key = $1", &p);
    if (!r.ok()) return r.status();
    PVEAUDIT_RETURN_IF_ERROR(CheckTypes(r->get(), "t"));
    if (Pq().ntuples(r->get()) == 0) return std::optional<std::string>();
    return std::optional<std::string>(std::string(Bytes(r->get(), 0, 0)));
  }

  Result<std::vector<RejectedLine>> ListRejected(size_t limit) override {
    PVEAUDIT_RETURN_IF_ERROR(Ready());
    Params p;
    if (limit)
      p.Int8(int64_t(limit));
    else
      p.Null(kInt8Oid);  // LIMIT NULL: no limit
    auto r = Query(
        "SELECT time_us, origin, line, reason, text FROM"
        " (SELECT * FROM rejected ORDER BY id DESC LIMIT $1) AS newest ORDER BY id",
        &p);
    if (!r.ok()) return r.status();
    PVEAUDIT_RETURN_IF_ERROR(CheckTypes(r->get(), "8b8bb"));
    const PGresult* g = r->get();
    std::vector<RejectedLine> out;
    for (int i = 0; i < Pq().ntuples(g); ++i)
      out.push_back(RejectedLine{I8(g, i, 0), std::string(Bytes(g, i, 1)), uint64_t(I8(g, i, 2)),
                                 std::string(Bytes(g, i, 3)), std::string(Bytes(g, i, 4))});
    return out;
  }

 private:
  static std::string_view AsView(const Hash256& h) {
    return std::string_view(reinterpret_cast<const char*>(h.data()), h.size());
  }

  std::string ConnError() const {
    std::string m = conn_ ? Pq().errorMessage(conn_) : "out of memory";
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    return m;
  }

  // The server's own words: its primary message, and its detail when given.
  std::string ErrorText(const PGresult* r) const {
    const char* primary = r ? Pq().resultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    if (!primary) return "PostgreSQL: " + ConnError();
    std::string m = std::string("PostgreSQL: ") + primary;
    if (const char* detail = Pq().resultErrorField(r, PG_DIAG_MESSAGE_DETAIL))
      m += std::string(" (") + detail + ")";
    return m;
  }

  // Runs one statement (binary results); an error is the server's message.
  Result<PgResult> Query(const std::string& sql, const Params* p = nullptr) {
    static const Params kNone;
    PgResult r((p ? *p : kNone).Exec(conn_, sql));
    ExecStatusType s = r ? Pq().resultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) return Status::IOError(ErrorText(r.get()));
    return r;
  }
  Status Exec(const std::string& sql, const Params* p = nullptr) { return Query(sql, p).status(); }

  // A COMMIT in a failed transaction "succeeds" as ROLLBACK: look at what
  // the server did, not only at whether it complained.
  Status Commit() {
    PgResult r(Pq().exec(conn_, "COMMIT"));
    if (!r || Pq().resultStatus(r.get()) != PGRES_COMMAND_OK)
      return Status::IOError(ErrorText(r.get()));
    if (std::strcmp(Pq().cmdStatus(r.get()), "COMMIT") != 0)
      return Status::IOError("PostgreSQL: the transaction was rolled back");
    return Status::OK();
  }

  // Per-session settings, again after a reconnect.
  Status ApplySession() {
    // No JIT: the store's statements are short index reads and appends, and
    // PostgreSQL's cost estimates on a large table made it compile them
    // (400 ms of a 2.4 s read of 7,000 rows, measured on 10 M events).
    PVEAUDIT_RETURN_IF_ERROR(Exec("SET jit = off"));
    if (opt_.read_only) return Exec("SET default_transaction_read_only = on");
    // Append promises durability on return; a server or role configured
    // with synchronous_commit=off would break that promise silently.
    auto r = Query("SELECT current_setting('synchronous_commit')::text");
    if (!r.ok()) return r.status();
    if (Bytes(r->get(), 0, 0) == "off") return Exec("SET synchronous_commit = on");
    return Status::OK();
  }

  // Creates the tables when missing and brings them to kSchemaVersion, in
  // one transaction under the creation lock (concurrent first opens wait
  // for each other; the second finds the work done).
  Status CreateOrUpgrade(const std::string& db) {
    PVEAUDIT_RETURN_IF_ERROR(Exec("BEGIN"));
    Params lock;
    lock.Int8(kCreateLockKey);
    Status st = Exec("SELECT pg_advisory_xact_lock($1)", &lock);
    if (st.ok()) st = ExecScript(kSchema);
    if (st.ok())
      st =
          Exec("INSERT INTO meta(key, value) VALUES('schema_version', '1') ON CONFLICT DO NOTHING");
    int from = 0;
    if (st.ok()) {
      auto v = SchemaVersion(db);
      if (v.ok())
        from = *v;
      else
        st = v.status();
    }
    for (int v = from; st.ok() && v < kSchemaVersion; ++v) st = ExecScript(kMigrations[v - 1]);
    if (st.ok() && from < kSchemaVersion) {
      const std::string version = std::to_string(kSchemaVersion);  // outlives Exec
      Params p;
      p.Text(version);
      st = Exec("UPDATE meta SET value = $1 WHERE key = 'schema_version'", &p);
    }
    if (st.ok()) st = Commit();
    if (!st.ok()) {
      (void)Exec("ROLLBACK");
      return Status::IOError(
          from <= 1 ? "cannot create the store's tables: " + st.message()
                    : "cannot upgrade the store from schema " + std::to_string(from) + " to " +
                          std::to_string(kSchemaVersion) +
                          " (the first writable open after an upgrade must be the tables' "
                          "owner's): " +
                          st.message());
    }
    return Status::OK();
  }

  // Several statements without parameters (the simple protocol).
  Status ExecScript(const char* sql) {
    PgResult r(Pq().exec(conn_, sql));
    if (!r || Pq().resultStatus(r.get()) != PGRES_COMMAND_OK)
      return Status::IOError(ErrorText(r.get()));
    return Status::OK();
  }

  // Before a call that is not inside a transaction: a connection lost
  // since the last call (server restart, network) is made again.
  Status Ready() {
    if (Pq().status(conn_) == CONNECTION_OK) return Status::OK();
    Pq().reset(conn_);
    if (Pq().status(conn_) != CONNECTION_OK)
      return Status::IOError("lost the connection to PostgreSQL: " + ConnError());
    return ApplySession();
  }

  // In a transaction of ours (a Scan's, when called from its callback). A
  // lost connection is in none: Ready makes it again.
  bool InTransaction() const {
    const PGTransactionStatusType t = Pq().transactionStatus(conn_);
    return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
  }

  // Writes return once committed: they cannot join the read transaction of
  // a Scan whose callback calls them.
  Status ReadyToWrite() {
    if (opt_.read_only) return Status::InvalidArgument("store opened read-only");
    if (InTransaction())
      return Status::InvalidArgument("PostgreSQL store: cannot write from inside a scan");
    return Ready();
  }

  // Runs `body` in a read transaction begun with `begin`, or in the one
  // already open (a read made from inside a Scan callback joins the scan's).
  Status InReadTxn(const char* begin, const std::function<Status()>& body) {
    const bool outer = InTransaction();
    if (!outer) {
      PVEAUDIT_RETURN_IF_ERROR(Ready());
      PVEAUDIT_RETURN_IF_ERROR(Exec(begin));
    }
    Status st = body();
    if (!outer) (void)Exec("ROLLBACK");  // read only: nothing to keep
    return st;
  }

  // Runs `sql` through a server-side cursor, kFetchRows rows at a time, and
  // calls `fn` for each row until it returns false. `types` as CheckTypes.
  Status ForEachRow(const std::string& sql, const Params* p, const std::string& types,
                    const std::function<bool(const PGresult*, int)>& fn) {
    return InReadTxn("BEGIN READ ONLY", [&]() -> Status {
      const std::string name = "pveaudit_rows_" + std::to_string(++cursor_seq_);
      PVEAUDIT_RETURN_IF_ERROR(Exec("DECLARE " + name + " NO SCROLL CURSOR FOR " + sql, p));
      const std::string fetch = "FETCH " + std::to_string(kFetchRows) + " FROM " + name;
      Status st;
      for (bool more = true; more && st.ok();) {
        auto r = Query(fetch);
        if (!r.ok()) return r.status();
        const int n = Pq().ntuples(r->get());
        if (n == 0) break;
        st = CheckTypes(r->get(), types);
        for (int i = 0; st.ok() && i < n && more; ++i) more = fn(r->get(), i);
        more = more && n == kFetchRows;
      }
      if (st.ok()) st = Exec("CLOSE " + name);  // when joined to an outer transaction
      return st;
    });
  }

  // " FROM ... WHERE ..." for the parts of `f` that SQL can apply exactly,
  // giving columns `cols`; MatchesStoredEvent applies the whole filter to
  // what comes back. Time windows (the views read the events around a few
  // moments of a long range) are each an index range of their own, read in
  // a nested loop over the windows: on 10 M events, a user's day read the
  // 3 M rows between the first window and the last before
  // (docs/storage.md, "Queries and verify"). A join the planner may turn
  // around (the span's index in time order, each row checked against the
  // windows) was slower still: hence the OFFSET 0 below.
  static std::string FromWhere(const Filter& f, uint32_t cols, Params* p) {
    std::string windows;
    if (!f.windows.empty()) {
      std::vector<int64_t> starts, ends;
      starts.reserve(f.windows.size());
      ends.reserve(f.windows.size());
      for (const auto& [a, b] : f.windows) starts.push_back(a), ends.push_back(b);
      p->Int8Array(starts);
      const std::string s = p->Last();
      p->Int8Array(ends);
      windows = " FROM unnest(" + s + "::int8[], " + p->Last() +
                "::int8[]) AS w(w_start, w_end) CROSS JOIN LATERAL (SELECT " +
                SelectList(cols, false) + " FROM events";
    }
    std::string w;
    auto add = [&](const std::string& cond) { w += (w.empty() ? " WHERE " : " AND ") + cond; };
    if (f.start_us) {
      p->Int8(*f.start_us);
      add("time_us >= " + p->Last());
    }
    if (f.end_us) {
      p->Int8(*f.end_us);
      add("time_us < " + p->Last());
    }
    if (!f.windows.empty()) {
      p->Int8(f.windows.front().first);
      add("time_us >= " + p->Last());
      p->Int8(f.windows.back().second);
      add("time_us < " + p->Last());
    }
    if (f.failed) add(*f.failed ? "result = 2" : "result <> 2");
    static_assert(int(Outcome::kFailure) == 2);
    if (f.user) {
      p->Bytes(*f.user);
      add("\"user\" = " + p->Last());
    }
    if (f.node) {
      p->Bytes(*f.node);
      add("node = " + p->Last());
    }
    if (f.action && f.action->find(':') != std::string::npos && !f.action->ends_with(":*")) {
      // One action by its full name matches only itself (ActionMatches).
      p->Bytes(*f.action);
      add("action = " + p->Last());
    } else if (f.action) {
      // An object ("vm", "vm:*") matches "vm" and "vm:..."; so does the
      // class login ("login", "login:..."). Both lie in the byte range
      // ["vm", "vm;") (';' follows ':'), which also holds a few other names
      // ("vm0"): the C++ check decides exactly, the range lets the server
      // use an index (events_login_time for the login lines). Other classes
      // and "guest" (vm and ct) are left to the C++ check.
      std::string_view obj = *f.action;
      if (obj.ends_with(":*")) obj.remove_suffix(2);
      if (!obj.empty() && obj.find(':') == std::string_view::npos && obj != "guest" &&
          (obj == "login" || !ActionClassFromName(obj))) {
        p->Bytes(obj);
        const std::string lo = p->Last();
        p->OwnedBytes(std::string(obj) + ";");
        add("action >= " + lo + " AND action < " + p->Last());
      }
    }
    if (f.resource) {
      // The subtree of path P: P itself, or P/... (bytes from "P/" up to
      // "P0", '0' following '/'). ResourceCovers decides exactly.
      std::string_view r = *f.resource;
      while (r.size() > 1 && r.back() == '/') r.remove_suffix(1);
      if (!r.empty() && r != "/") {
        p->Bytes(r);
        const std::string self = p->Last();
        p->OwnedBytes(std::string(r) + "/");
        const std::string lo = p->Last();
        p->OwnedBytes(std::string(r) + "0");
        add("(resource = " + self + " OR (resource >= " + lo + " AND resource < " + p->Last() +
            "))");
      }
    }
    if (windows.empty()) return " FROM events" + w;
    // OFFSET 0 keeps the subquery apart: pulled up into a plain join, the
    // planner turned it around (2.4 s against 6 ms for 57 windows of a day).
    return windows + (w.empty() ? " WHERE " : w + " AND ") +
           "time_us >= w_start AND time_us < w_end OFFSET 0) AS x";
  }

  // Writes the events with COPY ... (FORMAT binary): one statement for the
  // batch, no SQL to parse per row and no text conversion (docs/storage.md:
  // 4 times the rate of 1,000-row INSERTs here). The stream is PostgreSQL's
  // documented binary copy format: a header, per row the field count and
  // each field as a length and its bytes in network order, a trailer.
  Status CopyEvents(const std::vector<Event>& events, const std::vector<Hash256>& digest,
                    const std::vector<Hash256>& hash, uint64_t first_seq) {
    {
      PgResult r(Pq().exec(
          conn_,
          ("COPY events(" + SelectList(kFieldAll, true) + ") FROM STDIN (FORMAT binary)").c_str()));
      if (!r || Pq().resultStatus(r.get()) != PGRES_COPY_IN)
        return Status::IOError(ErrorText(r.get()));
    }
    std::string buf;
    buf.reserve(kCopyChunk + 4096);
    // Integers in network byte order.
    auto put = [&buf](uint64_t v, int bytes) {
      for (int i = bytes - 1; i >= 0; --i) buf.push_back(char(v >> (8 * i)));
    };
    auto put16 = [&](uint16_t v) { put(v, 2); };
    auto put32 = [&](uint32_t v) { put(v, 4); };
    auto put64 = [&](uint64_t v) { put(v, 8); };
    auto field = [&](std::string_view v) {
      put32(uint32_t(v.size()));
      buf.append(v);
    };
    bool sent = true;
    auto flush = [&] {
      if (sent && !buf.empty()) sent = Pq().putCopyData(conn_, buf.data(), int(buf.size())) == 1;
      buf.clear();
    };
    buf.append("PGCOPY\n\377\r\n\0", 11);
    put32(0);  // flags
    put32(0);  // header extension length
    constexpr uint16_t kColumns = 4 + kNumStrings + 4;
    for (size_t i = 0; i < events.size() && sent; ++i) {
      const Event& e = events[i];
      put16(kColumns);
      put32(8);
      put64(e.id);
      put32(8);
      put64(uint64_t(e.time_us));
      put32(2);
      put16(uint16_t(int16_t(e.result)));
      put32(8);
      put64(e.origin_line);
      for (int k = 0; k < kNumStrings; ++k) field(e.*kStringFields[k]);
      field(AsView(digest[i]));
      field(AsView(hash[i]));
      field(writer_);
      put32(8);
      put64(first_seq + i);
      if (buf.size() >= kCopyChunk) flush();
    }
    put16(0xffff);  // trailer: -1
    flush();
    // Ending the copy with an error message aborts it: nothing is stored.
    if (Pq().putCopyEnd(conn_, sent ? nullptr : "pveaudit: sending the rows failed") != 1)
      return Status::IOError("PostgreSQL: " + ConnError());
    Status st;
    while (PGresult* raw = Pq().getResult(conn_)) {
      PgResult r(raw);
      if (st.ok() && Pq().resultStatus(r.get()) != PGRES_COMMAND_OK) {
        st = Status::IOError(ErrorText(r.get()));
        // check_violation: "no partition of relation events found for row".
        const char* code = Pq().resultErrorField(r.get(), PG_DIAG_SQLSTATE);
        copy_found_no_partition_ = code && std::string_view(code) == "23514";
      }
    }
    if (st.ok() && !sent) st = Status::IOError("PostgreSQL: " + ConnError());
    return st;
  }

  ChainHasher& hasher() {
    if (!hasher_) hasher_ = std::make_unique<ChainHasher>();
    return *hasher_;
  }

  std::string conninfo_, passfile_;
  StoreOptions opt_;
  std::string writer_;  // whose chain this store's appends extend
  PGconn* conn_ = nullptr;
  uint64_t cursor_seq_ = 0;
  std::set<int64_t> months_;              // month partitions known to exist (MonthKey)
  bool copy_found_no_partition_ = false;  // the last COPY's error was "no partition"
  std::unique_ptr<ChainHasher> hasher_;
};

}  // namespace

Result<std::unique_ptr<EventStore>> OpenPostgresStore(const std::string& conninfo,
                                                      const StoreOptions& options,
                                                      const std::string& passfile) {
  PVEAUDIT_RETURN_IF_ERROR(LoadLibPq());
  auto s = std::make_unique<PgStore>(conninfo, options, passfile);
  PVEAUDIT_RETURN_IF_ERROR(s->Open());
  return std::unique_ptr<EventStore>(std::move(s));
}

}  // namespace pveaudit

namespace pveaudit {
namespace {

class PgLead final : public StoreLead {
 public:
  PgLead(std::string conninfo, std::string passfile, const std::string& name)
      : conninfo_(std::move(conninfo)), passfile_(std::move(passfile)), key_(LockKey(name)) {}
  ~PgLead() override {
    if (conn_) Pq().finish(conn_);  // the server releases the lock with the session
  }

  Result<bool> TryTake() override {
    if (held_ && Held()) return true;
    held_ = false;
    if (!conn_ || Pq().status(conn_) != CONNECTION_OK) PVEAUDIT_RETURN_IF_ERROR(Connect());
    const std::string sql = "SELECT pg_try_advisory_lock(" + std::to_string(key_) + ")::int::text";
    std::string v;
    PVEAUDIT_RETURN_IF_ERROR(One(sql, &v));
    held_ = v == "1";
    return held_;
  }

  bool Held() override {
    if (!held_ || !conn_) return false;
    std::string v;
    // A round trip: a connection the server dropped (and the lock with it)
    // fails here.
    if (!One("SELECT 1::text", &v).ok()) held_ = false;
    return held_;
  }

 private:
  // FNV-1a: a stable 64-bit key for the lock's name.
  static int64_t LockKey(const std::string& name) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : "pveaudit.lead:" + name) h = (h ^ c) * 1099511628211ull;
    return int64_t(h);
  }

  Status Connect() {
    if (conn_) Pq().finish(conn_);
    // Our side gives up on a dead server within ~10 s too: Held() runs on
    // pveauditd's main loop, which must not hang on a lost network.
    const char* keys[] = {"dbname",
                          "fallback_application_name",
                          "connect_timeout",
                          "keepalives_idle",
                          "keepalives_interval",
                          "keepalives_count",
                          "tcp_user_timeout",
                          passfile_.empty() ? nullptr : "passfile",
                          nullptr};
    const char* vals[] = {conninfo_.c_str(), "pveaudit-lead",   "10",   "5", "2", "2",
                          "10000",           passfile_.c_str(), nullptr};
    conn_ = Pq().connectdbParams(keys, vals, 1);
    if (!conn_ || Pq().status(conn_) != CONNECTION_OK) {
      std::string m = conn_ ? Pq().errorMessage(conn_) : "out of memory";
      while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
      return Status::IOError("cannot connect to PostgreSQL: " + m);
    }
    Pq().setNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
    // The server notices a holder whose host died (and frees the lock)
    // within about 5 + 2 * 2 s instead of the system's two hours.
    std::string ignored;
    return One(
        "SELECT set_config('tcp_keepalives_idle', '5', false) || "
        "set_config('tcp_keepalives_interval', '2', false) || "
        "set_config('tcp_keepalives_count', '2', false)",
        &ignored);
  }

  // Runs `sql` (one text column, one row) into *out.
  Status One(const std::string& sql, std::string* out) {
    PGresult* r = Pq().exec(conn_, sql.c_str());
    Status st;
    if (!r || Pq().resultStatus(r) != PGRES_TUPLES_OK || Pq().ntuples(r) != 1) {
      std::string m = conn_ ? Pq().errorMessage(conn_) : "";
      while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
      st = Status::IOError("PostgreSQL lead: " + m);
    } else {
      *out = Pq().getvalue(r, 0, 0);
    }
    if (r) Pq().clear(r);
    return st;
  }

  std::string conninfo_, passfile_;
  int64_t key_;
  PGconn* conn_ = nullptr;
  bool held_ = false;
};

}  // namespace

Result<std::unique_ptr<StoreLead>> OpenPostgresLead(const std::string& conninfo,
                                                    const std::string& passfile,
                                                    const std::string& name) {
  PVEAUDIT_RETURN_IF_ERROR(LoadLibPq());
  return std::unique_ptr<StoreLead>(std::make_unique<PgLead>(conninfo, passfile, name));
}

}  // namespace pveaudit
