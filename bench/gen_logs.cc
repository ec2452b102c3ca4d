// gen_logs.cc
// pveaudit-gen: a standalone, deterministic generator of realistic Proxmox VE
// logs for benchmarking (pveproxy access.log, pvedaemon auth lines in classic
// syslog, and the task archive tasks/index), one directory per node.
//
// Standalone on purpose: it uses only the C++ standard library and none of
// the pveaudit libraries, so the data set is a neutral peer of the importer.
// All randomness comes from our own splitmix64 generator (std distributions
// differ between library versions), so a given --seed always yields the same
// bytes. All times are UTC: access.log carries "+0000", syslog lines are
// written in UTC (run importers with TZ=UTC). Classic syslog has no year; the
// default window stays within one calendar year.
//
// The default window (--start 2025-01-01, 30 days) is fixed so benchmark
// figures stay comparable. `--end-date today` makes a window that ends now,
// for demos: its last three hours are busy (people at work, so sessions
// are open now), and lines that would lie after now (renewals of those
// sessions, tasks still running) are not written; MANIFEST.txt counts them
// as cut_after_now. `--now` pins "now" for tests.
//
// `--pve-dir DIR` also writes a Proxmox config dir for the same world
// (users, realms, tokens, nodes, guests), from its own random stream: the
// logs are the same bytes with or without it.
//
// Usage: pveaudit-gen --events N --out DIR [--seed S]
//                     [--start YYYY-MM-DD | --end-date today|YYYY-MM-DD [--now T]]
//                     [--days D] [--nodes pve1,pve2,pve3] [--users 200] [--pve-dir DIR]

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

#include "rng.h"

namespace {

// ---------------------------------------------------------------- random --

using bench::Rng;

// Samples index i with probability proportional to 1 / (i + 1)^s.
class Zipf {
 public:
  Zipf() = default;
  Zipf(size_t n, double s) {
    cum_.resize(n);
    double total = 0;
    for (size_t i = 0; i < n; ++i) {
      total += 1.0 / std::pow(static_cast<double>(i + 1), s);
      cum_[i] = total;
    }
    for (double& c : cum_) c /= total;
  }
  size_t Sample(Rng& rng) const {
    double u = rng.Unit();
    size_t i = std::upper_bound(cum_.begin(), cum_.end(), u) - cum_.begin();
    return i < cum_.size() ? i : cum_.size() - 1;
  }

 private:
  std::vector<double> cum_;
};

// ------------------------------------------------------------ formatting --

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

// 0 = Sunday.
int Weekday(int64_t days) { return static_cast<int>(((days % 7) + 11) % 7); }

std::string IsoDate(int64_t days) {
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char b[32];
  std::snprintf(b, sizeof b, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
  return b;
}

inline char* Put(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}
inline char* PutU(char* p, uint64_t v) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) *p++ = tmp[--n];
  return p;
}
inline char* Put2(char* p, unsigned v) {
  *p++ = static_cast<char>('0' + v / 10);
  *p++ = static_cast<char>('0' + v % 10);
  return p;
}
inline char* PutHex8(char* p, uint64_t v) {
  static const char kHex[] = "0123456789ABCDEF";
  for (int i = 7; i >= 0; --i) p[7 - i] = kHex[(v >> (i * 4)) & 15];
  return p + 8;
}
inline char* PutHms(char* p, int64_t t) {
  const unsigned sod = static_cast<unsigned>(((t % 86400) + 86400) % 86400);
  p = Put2(p, sod / 3600);
  *p++ = ':';
  p = Put2(p, sod / 60 % 60);
  *p++ = ':';
  return Put2(p, sod % 60);
}

// Per-day cache of the date parts of both timestamp styles.
struct DateCache {
  int64_t day = INT64_MIN;
  char access[11];  // "08/07/2025"
  char syslog[7];   // "Jul  8 "
  void Update(int64_t t) {
    const int64_t d = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    if (d == day) return;
    day = d;
    static const char* kMon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int64_t y;
    unsigned m, dd;
    CivilFromDays(d, &y, &m, &dd);
    std::snprintf(access, sizeof access, "%02u/%02u/%04lld", dd, m, static_cast<long long>(y));
    std::snprintf(syslog, sizeof syslog, "%s %2u ", kMon[m - 1], dd);
  }
};

// ---------------------------------------------------------------- output --

class Out {
 public:
  static constexpr size_t kCap = 1 << 20;
  static constexpr size_t kMaxLine = 2048;
  explicit Out(const std::string& path) : path_(path), buf_(kCap) {
    f_ = std::fopen(path.c_str(), "wb");
    if (!f_) {
      std::fprintf(stderr, "pveaudit-gen: cannot open %s: %s\n", path.c_str(),
                   std::strerror(errno));
      std::exit(1);
    }
  }
  ~Out() { Close(); }
  Out(const Out&) = delete;
  Out& operator=(const Out&) = delete;
  // Returns room for one line; call Commit with the end pointer.
  char* Begin() {
    if (n_ + kMaxLine > kCap) Flush();
    return buf_.data() + n_;
  }
  // `t` is the time the line was written; the newest becomes the mtime.
  // A line after the limit ("now") is dropped and counted.
  void Commit(char* end, int64_t t) {
    if (t > limit_) {
      ++cut_;
      return;
    }
    n_ = static_cast<size_t>(end - buf_.data());
    ++lines_;
    if (t > last_t_) last_t_ = t;
  }
  void Flush() {
    if (n_ && std::fwrite(buf_.data(), 1, n_, f_) != n_) {
      std::fprintf(stderr, "pveaudit-gen: write %s: %s\n", path_.c_str(), std::strerror(errno));
      std::exit(1);
    }
    n_ = 0;
  }
  void Close() {
    if (!f_) return;
    Flush();
    if (std::fclose(f_) != 0) {
      std::fprintf(stderr, "pveaudit-gen: close %s failed\n", path_.c_str());
      std::exit(1);
    }
    f_ = nullptr;
    // Like a real log, the file was last modified when its newest line was
    // written. Importers use the mtime to infer the year of syslog lines.
    if (last_t_ != INT64_MIN) {
      namespace fs = std::filesystem;
      const auto sys = std::chrono::sys_seconds(std::chrono::seconds(last_t_));
      std::error_code ec;
      fs::last_write_time(path_, fs::file_time_type::clock::from_sys(sys), ec);
      if (ec)
        std::fprintf(stderr, "pveaudit-gen: cannot set mtime of %s: %s\n", path_.c_str(),
                     ec.message().c_str());
    }
  }
  uint64_t lines() const { return lines_; }
  uint64_t cut() const { return cut_; }
  void set_limit(int64_t t) { limit_ = t; }

 private:
  std::string path_;
  std::vector<char> buf_;
  size_t n_ = 0;
  uint64_t lines_ = 0, cut_ = 0;
  int64_t last_t_ = INT64_MIN;
  int64_t limit_ = INT64_MAX;
  FILE* f_ = nullptr;
};

// ----------------------------------------------------------------- model --

enum FileKind { kAccess = 0, kAuth = 1, kTask = 2 };

struct Node {
  std::string name;
  std::string ip;  // v4-mapped address of the node itself (cluster traffic)
  std::vector<int> daemon_pids;
  int proxy_pid = 0;
  uint32_t task_pid = 0;
  int64_t boot = 0;  // epoch of boot, for pstart
  std::string last_upid;
};

struct Guest {
  int vmid;
  bool lxc;
  int node;
};

struct User {
  std::string name;
  std::string ip;
  int home_node;
  bool token;
  bool pam;     // realm pam: failures also write a pam_unix line
  bool denied;  // often gets 403 on changes
};

struct Session {
  uint32_t user;
  uint16_t renewals;
  bool tfa;
};

struct Failure {
  uint32_t user;  // index into users, or kUnknownUser
  uint16_t count;
  uint8_t api;  // 1: /api2/json (401), 0: GUI /api2/extjs (200)
};

enum PendingKind : uint8_t {
  kPendRenew,      // access ticket renewal + auth success
  kPendTfa,        // access second ticket POST + auth success
  kPendFailAuth,   // auth failure (plus pam_unix line for @pam)
  kPendFailAccess  // access line of a failed login (answered after 3 s)
};

struct Pending {
  int64_t t;
  uint64_t seq;
  PendingKind kind;
  uint8_t node;
  uint8_t api;
  uint32_t user;     // user index; for failures may be an unknown-user id
  uint32_t ip_slot;  // attacker ip index (failures)
  bool operator>(const Pending& o) const { return t != o.t ? t > o.t : seq > o.seq; }
};

// Hourly weights from which slot times are drawn: `hours` hours from
// `start` (a midnight). With `busy_tail`, people work in the last three
// hours whatever the time of day (a demo ending now shows open sessions).
std::vector<double> HourWeights(int64_t start, int64_t hours, int style, bool busy_tail) {
  std::vector<double> w(static_cast<size_t>(hours));
  for (int64_t b = 0; b < hours; ++b) {
    const int64_t t = start + b * 3600;
    const int h = static_cast<int>(t / 3600 % 24);
    const int wd = Weekday(t / 86400);
    const bool weekend = wd == 0 || wd == 6;
    double x;
    if (style == 0) {  // people: business hours, some off-hours
      if (h >= 8 && h < 17)
        x = 10;
      else if (h == 7 || (h >= 17 && h < 20))
        x = 4;
      else
        x = 0.8;
      if (weekend) x *= 0.2;
    } else if (style == 1) {  // machines and attackers: flat
      x = 1;
    } else {  // scheduled jobs: nights
      x = (h >= 1 && h < 5) ? 12 : 0.5;
    }
    if (busy_tail && style == 0 && b >= hours - 3) x = 10;
    w[static_cast<size_t>(b)] = x;
  }
  return w;
}

// K stratified, non-decreasing slot times in [start, start + days) drawn from
// the hourly density: slot i sits at the inverse CDF of (i + U) / K.
class SlotStream {
 public:
  SlotStream(uint64_t k, int64_t start, std::vector<double> w) : k_(k), start_(start), w_(w) {
    cum_.resize(w_.size() + 1);
    cum_[0] = 0;
    for (size_t i = 0; i < w_.size(); ++i) cum_[i + 1] = cum_[i] + w_[i];
  }
  bool Done() const { return i_ >= k_; }
  int64_t Peek(Rng& rng) {
    if (!have_) {
      const double u = (static_cast<double>(i_) + rng.Unit()) / static_cast<double>(k_);
      const double target = u * cum_.back();
      while (b_ + 1 < w_.size() && cum_[b_ + 1] <= target) ++b_;
      const double frac = std::min(1.0, std::max(0.0, (target - cum_[b_]) / w_[b_]));
      int64_t t = start_ + static_cast<int64_t>(b_) * 3600 + static_cast<int64_t>(frac * 3600.0);
      next_ = std::max(t, last_);
      last_ = next_;
      have_ = true;
    }
    return next_;
  }
  void Pop() {
    have_ = false;
    ++i_;
  }

 private:
  uint64_t k_, i_ = 0;
  int64_t start_;
  std::vector<double> w_, cum_;
  size_t b_ = 0;
  bool have_ = false;
  int64_t next_ = 0, last_ = INT64_MIN;
};

struct Options {
  uint64_t events = 0;
  std::string out;
  uint64_t seed = 1;
  std::string start = "2025-01-01";
  int days = 30;
  std::vector<std::string> nodes = {"pve1", "pve2", "pve3"};
  int users = 200;
  std::string pve_dir;  // --pve-dir: also write a matching Proxmox config dir
  bool start_given = false;
  std::string end_date;  // "", "today" or YYYY-MM-DD
  int64_t now = -1;      // --now, epoch seconds; -1: the current time
  // Resolved by ResolveWindow: slot hours from the start, and the newest
  // time a line may have (INT64_MAX: no limit).
  int64_t hours = 0;
  int64_t limit = INT64_MAX;
};

[[noreturn]] void Usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: pveaudit-gen --events N --out DIR [--seed S]\n"
               "         [--start YYYY-MM-DD | --end-date today|YYYY-MM-DD [--now TIME]]\n"
               "         [--days D] [--nodes pve1,pve2,pve3] [--users 200]\n"
               "Writes DIR/<node>/access.log, DIR/<node>/auth.log, DIR/<node>/tasks/index\n"
               "(N lines in total, ~85%% / 10%% / 5%%) and DIR/MANIFEST.txt. All times UTC.\n"
               "Window: D days (default 30) from --start (default 2025-01-01), or the D\n"
               "days ending with --end-date; 'today' ends now (--now: epoch seconds or\n"
               "YYYY-MM-DDTHH:MM:SSZ), dropping lines that would be later than now.\n"
               "--pve-dir DIR also writes a Proxmox config dir (user.cfg, priv/tfa.cfg,\n"
               "domains.cfg, storage.cfg, guest configs) with the same users, tokens,\n"
               "nodes and guests as the logs.\n");
  std::exit(code);
}

bool ParseU64(const char* s, uint64_t* v) {
  if (!*s) return false;
  char* end;
  errno = 0;
  unsigned long long x = std::strtoull(s, &end, 10);
  if (*end || errno || s[0] == '-') return false;
  *v = x;
  return true;
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  bool have_events = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") Usage(0);
    if (i + 1 >= argc) {
      std::fprintf(stderr, "pveaudit-gen: %s needs a value\n", a.c_str());
      Usage(2);
    }
    const char* v = argv[++i];
    uint64_t x = 0;
    auto need_num = [&](uint64_t lo, uint64_t hi) {
      if (!ParseU64(v, &x) || x < lo || x > hi) {
        std::fprintf(stderr, "pveaudit-gen: bad value for %s: '%s'\n", a.c_str(), v);
        std::exit(2);
      }
    };
    if (a == "--events") {
      need_num(1, 2000000000ull);
      o.events = x;
      have_events = true;
    } else if (a == "--out") {
      o.out = v;
    } else if (a == "--seed") {
      need_num(0, UINT64_MAX);
      o.seed = x;
    } else if (a == "--start") {
      o.start = v;
      o.start_given = true;
    } else if (a == "--end-date") {
      o.end_date = v;
    } else if (a == "--now") {
      unsigned y, mo, d, hh, mm, ss;
      char z, tail;
      if (ParseU64(v, &x)) {
        o.now = static_cast<int64_t>(x);
      } else if (std::sscanf(v, "%4u-%2u-%2uT%2u:%2u:%2u%c%c", &y, &mo, &d, &hh, &mm, &ss, &z,
                             &tail) == 7 &&
                 z == 'Z' && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && hh < 24 && mm < 60 &&
                 ss < 60) {
        o.now = DaysFromCivil(y, mo, d) * 86400 + hh * 3600 + mm * 60 + ss;
      } else {
        std::fprintf(stderr,
                     "pveaudit-gen: bad value for --now: '%s' (want epoch seconds or "
                     "YYYY-MM-DDTHH:MM:SSZ)\n",
                     v);
        std::exit(2);
      }
    } else if (a == "--days") {
      need_num(1, 3660);
      o.days = static_cast<int>(x);
    } else if (a == "--pve-dir") {
      o.pve_dir = v;
    } else if (a == "--users") {
      need_num(1, 99999);
      o.users = static_cast<int>(x);
    } else if (a == "--nodes") {
      o.nodes.clear();
      std::string s = v;
      size_t p = 0;
      while (p <= s.size()) {
        size_t q = s.find(',', p);
        if (q == std::string::npos) q = s.size();
        if (q > p) o.nodes.push_back(s.substr(p, q - p));
        p = q + 1;
      }
      if (o.nodes.empty() || o.nodes.size() > 64) {
        std::fprintf(stderr, "pveaudit-gen: --nodes needs 1..64 names\n");
        std::exit(2);
      }
    } else {
      std::fprintf(stderr, "pveaudit-gen: unknown option %s\n", a.c_str());
      Usage(2);
    }
  }
  if (!have_events || o.out.empty()) Usage(2);
  return o;
}

bool ParseDate(const std::string& s, int64_t* days) {
  unsigned y, m, d;
  char tail;
  if (std::sscanf(s.c_str(), "%4u-%2u-%2u%c", &y, &m, &d, &tail) != 3) return false;
  if (m < 1 || m > 12 || d < 1 || d > 31 || y < 1971) return false;
  *days = DaysFromCivil(y, m, d);
  return IsoDate(*days) == s;
}

// Sets o->start, o->hours and o->limit from --start / --end-date; false
// (after a message) on a bad value.
bool ResolveWindow(Options* o) {
  if (o->end_date.empty()) {
    int64_t days;
    if (!ParseDate(o->start, &days)) {
      std::fprintf(stderr, "pveaudit-gen: bad --start '%s' (want YYYY-MM-DD)\n", o->start.c_str());
      return false;
    }
    o->hours = static_cast<int64_t>(o->days) * 24;
    return true;
  }
  if (o->start_given) {
    std::fprintf(stderr, "pveaudit-gen: give --start or --end-date, not both\n");
    return false;
  }
  int64_t end_day;
  if (o->end_date == "today") {
    const int64_t now = o->now >= 0 ? o->now : static_cast<int64_t>(std::time(nullptr));
    end_day = now / 86400;
    o->limit = now;
    // Whole hours up to now (at least one); the last may pass now: its
    // lines after now are cut like the renewals.
    o->hours = std::max<int64_t>(1, (now / 3600 * 3600 - (end_day - o->days + 1) * 86400) / 3600);
  } else if (ParseDate(o->end_date, &end_day)) {
    o->hours = static_cast<int64_t>(o->days) * 24;
  } else {
    std::fprintf(stderr, "pveaudit-gen: bad --end-date '%s' (want today or YYYY-MM-DD)\n",
                 o->end_date.c_str());
    return false;
  }
  if (o->now >= 0 && o->end_date != "today") {
    std::fprintf(stderr, "pveaudit-gen: --now needs --end-date today\n");
    return false;
  }
  o->start = IsoDate(end_day - o->days + 1);
  return true;
}

// --------------------------------------------------------------- generator --

class Generator {
 public:
  explicit Generator(const Options& o) : o_(o), rng_(o.seed ^ 0x7076656175646974ull) {}
  int Run();

 private:
  // Static world.
  void BuildWorld();
  void PlanBudgets();
  // Emitters.
  void Access(int node, int64_t t, std::string_view peer, uint32_t user, std::string_view method,
              std::string_view path, int code, int64_t len);
  void AuthSuccess(int node, int64_t t, uint32_t user);
  void AuthFailure(int node, int64_t t, uint32_t user, std::string_view rhost);
  void Noise(int node, int64_t t);
  void Task(int node, int64_t start, const std::string& upid, int64_t end, std::string_view status,
            uint32_t user);
  std::string NewUpid(int node, int64_t t, std::string_view type, std::string_view id,
                      std::string_view user);
  // Slot handlers.
  void DoAccessOnly(int64_t t);
  void DoTaskPost(int64_t t);
  void DoSession(int64_t t);
  void DoFailure(int64_t t, bool burst);
  void DoScheduledTask(int64_t t);
  int WritePveDir();
  void FlushPending(int64_t upto);
  void RunPending(const Pending& p);
  void Push(int64_t t, PendingKind k, int node, uint32_t user, uint32_t ip_slot, uint8_t api) {
    pending_.push(Pending{t, seq_++, k, static_cast<uint8_t>(node), api, user, ip_slot});
  }
  // Helpers.
  uint32_t PickHuman() { return static_cast<uint32_t>(human_rank_[human_zipf_.Sample(rng_)]); }
  const Guest& PickGuest(uint32_t user) {
    size_t r = guest_zipf_.Sample(rng_);
    return guests_[(r + user * 7) % guests_.size()];
  }
  std::string_view UserName(uint32_t u) const {
    return u < users_.size() ? std::string_view(users_[u].name) : unknown_names_[u - kUnknownBase];
  }
  void Count(uint32_t user, int64_t t) {
    if (user >= users_.size() || t > o_.limit) return;  // a cut line is not counted
    const int64_t d = (t - start_) / 86400;
    if (t < start_ || d >= static_cast<int64_t>(per_day_cols_)) return;
    ++per_day_[user * per_day_cols_ + static_cast<size_t>(d)];
  }
  const std::string& AttackerIp(uint32_t slot) const { return attacker_ips_[slot]; }
  int64_t TicketLen() { return rng_.Range(640, 720); }

  static constexpr uint32_t kUnknownBase = 1u << 30;
  // Names tried by attackers that do not exist (index 2 is the only non-pam one).
  std::string_view unknown_names_[4] = {"toor@pam", "admin@pam", "test@pve", "administrator@pam"};

  Options o_;
  Rng rng_;
  int64_t start_ = 0;
  std::vector<Node> nodes_;
  std::vector<Guest> guests_;
  std::vector<User> users_;
  size_t n_humans_ = 0;
  std::vector<size_t> human_rank_;  // rank -> user index
  std::vector<uint32_t> token_ids_;
  uint32_t tok_monitor_ = 0, tok_ci_ = 0, tok_tf_ = 0, tok_backup_ = 0;
  Zipf human_zipf_, guest_zipf_;
  std::vector<std::string> attacker_ips_;
  std::vector<std::unique_ptr<Out>> outs_;  // node * 3 + FileKind
  std::priority_queue<Pending, std::vector<Pending>, std::greater<Pending>> pending_;
  uint64_t seq_ = 0;
  DateCache date_;
  std::vector<uint32_t> per_day_;
  size_t per_day_cols_ = 0;

  // Budgets.
  uint64_t n_access_ = 0, n_auth_ = 0, n_task_ = 0;
  std::vector<Session> sessions_;
  std::vector<Failure> failures_, bursts_;
  uint64_t access_only_ = 0, task_posts_ = 0, sched_tasks_ = 0, noise_ = 0;
  size_t next_session_ = 0, next_failure_ = 0, next_burst_ = 0;
};

void Generator::BuildWorld() {
  start_ = 0;
  int64_t days;
  ParseDate(o_.start, &days);
  start_ = days * 86400;

  for (size_t i = 0; i < o_.nodes.size(); ++i) {
    Node n;
    n.name = o_.nodes[i];
    n.ip = "::ffff:10.0.0." + std::to_string(11 + i);
    const int base = 1100 + static_cast<int>(rng_.Below(800));
    n.proxy_pid = base + 40;
    for (int k = 0; k < 3; ++k) n.daemon_pids.push_back(base + 3 + k * 2);
    n.task_pid = static_cast<uint32_t>(rng_.Range(20000, 900000));
    n.boot = start_ - rng_.Range(86400, 86400 * 120);
    nodes_.push_back(std::move(n));
  }

  // Guests: a few hundred distinct vmids in 100..999.
  std::vector<int> ids;
  for (int v = 100; v <= 999; ++v) ids.push_back(v);
  for (size_t i = ids.size() - 1; i > 0; --i) std::swap(ids[i], ids[rng_.Below(i + 1)]);
  const size_t n_guests = std::min<size_t>(ids.size(), 60 + 80 * nodes_.size());
  for (size_t i = 0; i < n_guests; ++i)
    guests_.push_back(Guest{ids[i], rng_.Chance(0.3), static_cast<int>(rng_.Below(nodes_.size()))});
  guest_zipf_ = Zipf(guests_.size(), 0.8);

  // Humans.
  auto ip_for = [&](size_t i) -> std::string {
    if (rng_.Chance(0.06)) {
      char b[64];
      std::snprintf(b, sizeof b, "2001:db8:%x::%x", static_cast<unsigned>(0x10 + i % 7),
                    static_cast<unsigned>(0x100 + i));
      return b;
    }
    static const char* kNets[] = {"192.0.2.", "198.51.100.", "203.0.113."};
    return std::string("::ffff:") + kNets[i % 3] + std::to_string(10 + (i / 3) % 240);
  };
  std::vector<std::string> names = {"root@pam", "admin@pve", "alice@pve", "bob@pve"};
  const char* kDir[] = {"carol@ldap", "dave@ldap", "erin@ad", "frank@ad", "grace@ldap", "heidi@ad"};
  for (const char* n : kDir) names.push_back(n);
  for (int i = 1; i <= o_.users; ++i) {
    char b[32];
    std::snprintf(b, sizeof b, "user%04d@pve", i);
    names.push_back(b);
  }
  for (size_t i = 0; i < names.size(); ++i) {
    User u;
    u.name = names[i];
    u.ip = ip_for(i);
    u.home_node = static_cast<int>(rng_.Below(nodes_.size()));
    u.token = false;
    u.pam = u.name.size() > 4 && u.name.compare(u.name.size() - 4, 4, "@pam") == 0;
    u.denied = i >= 4 && rng_.Chance(0.3);
    users_.push_back(std::move(u));
  }
  n_humans_ = users_.size();
  // Zipf ranks: root, admin first, the rest shuffled.
  human_rank_.resize(n_humans_);
  for (size_t i = 0; i < n_humans_; ++i) human_rank_[i] = i;
  for (size_t i = n_humans_ - 1; i > 2; --i)
    std::swap(human_rank_[i], human_rank_[2 + rng_.Below(i - 1)]);
  human_zipf_ = Zipf(n_humans_, 1.0);

  // API tokens (never log in; used for API traffic).
  auto add_token = [&](const char* name, const char* ip) {
    User u;
    u.name = name;
    u.ip = ip;
    u.home_node = 0;
    u.token = true;
    u.pam = false;
    u.denied = false;
    users_.push_back(std::move(u));
    token_ids_.push_back(static_cast<uint32_t>(users_.size() - 1));
    return static_cast<uint32_t>(users_.size() - 1);
  };
  tok_monitor_ = add_token("monitoring@pve!prometheus", "::ffff:192.0.2.200");
  tok_ci_ = add_token("ci@pve!deploy", "::ffff:198.51.100.250");
  tok_tf_ = add_token("terraform@pve!tf", "2001:db8:42::7");
  tok_backup_ = add_token("root@pam!backup", "::ffff:192.0.2.201");

  for (int i = 0; i < 64; ++i) {
    char b[64];
    if (i % 9 == 8)
      std::snprintf(b, sizeof b, "2001:db8:bad:%x::%x", i, 0x1000 + i * 37);
    else
      std::snprintf(b, sizeof b, "::ffff:203.0.113.%d", 150 + i);
    attacker_ips_.push_back(b);
  }

  per_day_cols_ = static_cast<size_t>(o_.days) + 1;
  per_day_.assign(users_.size() * per_day_cols_, 0);
}

void Generator::PlanBudgets() {
  const uint64_t n = o_.events;
  n_access_ = n * 85 / 100;
  n_auth_ = n * 10 / 100;
  n_task_ = n - n_access_ - n_auth_;
  sched_tasks_ = n_task_ / 10;
  task_posts_ = n_task_ - sched_tasks_;

  // Sessions: login (+TFA second step) and renewals every 15 minutes; about
  // 70% of the auth lines.
  const double avg_renew = 12;
  const uint64_t target_session_lines = n_auth_ * 70 / 100;
  const uint64_t n_sessions =
      static_cast<uint64_t>(static_cast<double>(target_session_lines) / (1.15 + avg_renew));
  uint64_t session_lines = 0;  // auth lines == access lines for sessions
  for (uint64_t i = 0; i < n_sessions; ++i) {
    Session s;
    s.user = PickHuman();
    // Mostly 1..4 hours, some full work days.
    s.renewals = static_cast<uint16_t>(rng_.Chance(0.2) ? rng_.Range(20, 36) : rng_.Range(0, 16));
    s.tfa = rng_.Chance(0.15);
    session_lines += 1 + s.tfa + s.renewals;
    sessions_.push_back(s);
  }
  auto fail_auth_lines = [&](const Failure& f) {
    const bool pam = f.user >= kUnknownBase ? (f.user - kUnknownBase) != 2 : users_[f.user].pam;
    return static_cast<uint64_t>(f.count) * (pam ? 2 : 1);
  };
  // Single failed logins (typos): ~4% of auth lines.
  uint64_t fail_auth = 0, fail_access = 0;
  const uint64_t n_fail = n_auth_ * 3 / 100;
  for (uint64_t i = 0; i < n_fail; ++i) {
    Failure f;
    f.user = rng_.Chance(0.05) ? kUnknownBase + static_cast<uint32_t>(rng_.Below(4)) : PickHuman();
    f.count = 1;
    f.api = rng_.Chance(0.2);
    fail_auth += fail_auth_lines(f);
    fail_access += 1;
    failures_.push_back(f);
  }
  // Brute-force bursts: 5..50 failures from one IP within minutes.
  const uint64_t burst_target = n_auth_ * 7 / 100;
  uint64_t burst_auth = 0;
  while (burst_auth < burst_target) {
    Failure f;
    const uint64_t r = rng_.Below(10);
    f.user = r < 5 ? 0 : r < 8 ? 1 : kUnknownBase + static_cast<uint32_t>(rng_.Below(4));
    f.count = static_cast<uint16_t>(rng_.Range(5, 50));
    f.api = rng_.Chance(0.8);
    const uint64_t lines = fail_auth_lines(f);
    if (burst_auth + lines > burst_target) break;
    burst_auth += lines;
    fail_access += f.count;
    bursts_.push_back(f);
  }
  // Shrink until everything fits (only matters for tiny N).
  auto access_needed = [&] { return session_lines + fail_access + task_posts_; };
  auto auth_needed = [&] { return session_lines + fail_auth + burst_auth; };
  while (!sessions_.empty() && (auth_needed() > n_auth_ || access_needed() > n_access_)) {
    session_lines -= 1 + sessions_.back().tfa + sessions_.back().renewals;
    sessions_.pop_back();
  }
  while (!bursts_.empty() && (auth_needed() > n_auth_ || access_needed() > n_access_)) {
    burst_auth -= fail_auth_lines(bursts_.back());
    fail_access -= bursts_.back().count;
    bursts_.pop_back();
  }
  while (!failures_.empty() && (auth_needed() > n_auth_ || access_needed() > n_access_)) {
    fail_auth -= fail_auth_lines(failures_.back());
    fail_access -= 1;
    failures_.pop_back();
  }
  if (access_needed() > n_access_) {
    const uint64_t move = access_needed() - n_access_;
    task_posts_ -= move;
    sched_tasks_ += move;
  }
  noise_ = n_auth_ - auth_needed();
  access_only_ = n_access_ - access_needed();
}

// ---------------------------------------------------------------- emitters --

void Generator::Access(int node, int64_t t, std::string_view peer, uint32_t user,
                       std::string_view method, std::string_view path, int code, int64_t len) {
  Out& o = *outs_[node * 3 + kAccess];
  date_.Update(t);
  char* p = o.Begin();
  p = Put(p, peer);
  p = Put(p, " - ");
  if (user == UINT32_MAX) {
    *p++ = '-';
  } else {
    p = Put(p, users_[user].name);
    Count(user, t);
  }
  p = Put(p, " [");
  p = Put(p, std::string_view(date_.access, 10));
  *p++ = ':';
  p = PutHms(p, t);
  p = Put(p, " +0000] \"");
  p = Put(p, method);
  *p++ = ' ';
  p = Put(p, path);
  p = Put(p, " HTTP/1.1\" ");
  p = PutU(p, static_cast<uint64_t>(code));
  *p++ = ' ';
  if (len < 0)
    *p++ = '-';
  else
    p = PutU(p, static_cast<uint64_t>(len));
  *p++ = '\n';
  o.Commit(p, t);
}

char* SyslogHead(char* p, const DateCache& dc, int64_t t, const std::string& host,
                 std::string_view prog, int pid) {
  p = Put(p, std::string_view(dc.syslog, 6));
  *p++ = ' ';
  p = PutHms(p, t);
  *p++ = ' ';
  p = Put(p, host);
  *p++ = ' ';
  p = Put(p, prog);
  if (pid >= 0) {
    *p++ = '[';
    p = PutU(p, static_cast<uint64_t>(pid));
    *p++ = ']';
  }
  *p++ = ':';
  *p++ = ' ';
  return p;
}

int DaemonPid(const Node& n, int64_t t, Rng& rng) {
  // pvedaemon workers are recycled now and then: shift the pids per day.
  const int day = static_cast<int>((t / 86400) % 1000);
  return n.daemon_pids[rng.Below(n.daemon_pids.size())] + day * 11 % 9000;
}

void Generator::AuthSuccess(int node, int64_t t, uint32_t user) {
  Out& o = *outs_[node * 3 + kAuth];
  date_.Update(t);
  char* p = o.Begin();
  p = SyslogHead(p, date_, t, nodes_[node].name, "pvedaemon", DaemonPid(nodes_[node], t, rng_));
  p = Put(p, "<root@pam> successful auth for user '");
  p = Put(p, users_[user].name);
  p = Put(p, "'\n");
  o.Commit(p, t);
  Count(user, t);
}

void Generator::AuthFailure(int node, int64_t t, uint32_t user, std::string_view rhost) {
  Out& o = *outs_[node * 3 + kAuth];
  date_.Update(t);
  const int pid = DaemonPid(nodes_[node], t, rng_);
  const std::string_view name = UserName(user);
  const bool known = user < users_.size();
  const size_t at = name.find('@');
  const std::string_view local = name.substr(0, at);
  const std::string_view realm = name.substr(at + 1);
  if (realm == "pam") {
    char* p = o.Begin();
    p = SyslogHead(p, date_, t, nodes_[node].name, "pvedaemon", pid);
    p = Put(p,
            "pam_unix(proxmox-ve-auth:auth): authentication failure; logname= uid=0 euid=0 tty= "
            "ruser= rhost=  user=");
    p = Put(p, local);
    *p++ = '\n';
    o.Commit(p, t);
  }
  char* p = o.Begin();
  p = SyslogHead(p, date_, t, nodes_[node].name, "pvedaemon", pid);
  p = Put(p, "authentication failure; rhost=");
  p = Put(p, rhost);
  p = Put(p, " user=");
  p = Put(p, name);
  p = Put(p, " msg=");
  if (!known && realm != "pam") {
    p = Put(p, "no such user ('");
    p = Put(p, name);
    p = Put(p, "')");
  } else if (realm == "pam") {
    p = Put(p, "Authentication failure");
  } else if (realm == "pve") {
    p = Put(p, "invalid credentials");
  } else {
    p = Put(p, "LDAP bind failed: Invalid credentials");
  }
  *p++ = '\n';
  o.Commit(p, t);
  if (known) Count(user, t);
}

void Generator::Noise(int node, int64_t t) {
  Out& o = *outs_[node * 3 + kAuth];
  date_.Update(t);
  const Node& n = nodes_[node];
  char* p = o.Begin();
  const uint64_t r = rng_.Below(100);
  const int rpid = static_cast<int>(rng_.Range(2000, 3999999));
  if (r < 30) {
    p = SyslogHead(p, date_, t, n.name, "CRON", rpid);
    p = Put(p, rng_.Chance(0.5) ? "(root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)"
                                : "pam_unix(cron:session): session opened for user root(uid=0) by "
                                  "(uid=0)");
  } else if (r < 50) {
    p = SyslogHead(p, date_, t, n.name, "systemd", 1);
    static const char* kMsg[] = {
        "Starting pve-daily-update.service - Daily PVE download activities...",
        "Finished pve-daily-update.service - Daily PVE download activities.",
        "Starting logrotate.service - Rotate log files...",
        "Started session-482.scope - Session 482 of User root.",
        "Starting man-db.service - Daily man-db regeneration...",
        "pvescheduler.service: Consumed 1.204s CPU time."};
    p = Put(p, kMsg[rng_.Below(6)]);
  } else if (r < 62) {
    p = SyslogHead(p, date_, t, n.name, "pmxcfs", n.proxy_pid - 600);
    p = Put(p, "[status] notice: received log");
  } else if (r < 72) {
    p = SyslogHead(p, date_, t, n.name, "pvestatd", n.proxy_pid - 30);
    p = Put(p, "status update time (");
    p = PutU(p, static_cast<uint64_t>(rng_.Range(5, 12)));
    *p++ = '.';
    p = PutU(p, static_cast<uint64_t>(rng_.Range(100, 999)));
    p = Put(p, " seconds)");
  } else if (r < 80) {
    p = SyslogHead(p, date_, t, n.name, "pvedaemon", n.daemon_pids[0] - 3);
    p = Put(p, rng_.Chance(0.5) ? "worker " : "starting 1 worker(s)");
    if (p[-1] == ' ') {
      p = PutU(p, static_cast<uint64_t>(DaemonPid(n, t, rng_)));
      p = Put(p, " finished");
    }
  } else if (r < 88) {
    p = SyslogHead(p, date_, t, n.name, "sshd", rpid);
    p = Put(p, "Accepted publickey for root from 192.0.2.5 port ");
    p = PutU(p, static_cast<uint64_t>(rng_.Range(40000, 65000)));
    p = Put(p, " ssh2: ED25519 SHA256:1bq6dP3gI0aYQ4bRZ0qj9kq0Sg0e1xqf0Gq3Hc9Tz8w");
  } else if (r < 93) {
    p = SyslogHead(p, date_, t, n.name, "postfix/pickup", rpid);
    p = PutHex8(p, rng_.Next() & 0xFFFFFFFFu);
    p = Put(p, ": uid=0 from=<root>");
  } else if (r < 97) {
    p = SyslogHead(p, date_, t, n.name, "kernel", -1);
    p = Put(p, "vmbr0: port 2(tap");
    p = PutU(p, static_cast<uint64_t>(guests_[rng_.Below(guests_.size())].vmid));
    p = Put(p, "i0) entered forwarding state");
  } else {
    // pveproxy complains about a bad ticket/token: no user, no rhost.
    p = SyslogHead(p, date_, t, n.name, "pveproxy", n.proxy_pid + static_cast<int>(rng_.Below(3)));
    p = Put(p, rng_.Chance(0.5) ? "authentication failure: invalid token value!"
                                : "authentication failure: 401 permission denied - invalid PVE "
                                  "ticket");
  }
  *p++ = '\n';
  o.Commit(p, t);
}

std::string Generator::NewUpid(int node, int64_t t, std::string_view type, std::string_view id,
                               std::string_view user) {
  Node& n = nodes_[node];
  n.task_pid += static_cast<uint32_t>(rng_.Range(3, 400));
  if (n.task_pid > 4194303) n.task_pid = 1000 + n.task_pid % 4000;
  const uint64_t pstart = static_cast<uint64_t>(t - n.boot) * 100 + rng_.Below(100);
  char b[256];
  char* p = b;
  p = Put(p, "UPID:");
  p = Put(p, n.name);
  *p++ = ':';
  p = PutHex8(p, n.task_pid);
  *p++ = ':';
  p = PutHex8(p, pstart);
  *p++ = ':';
  p = PutHex8(p, static_cast<uint64_t>(t));
  *p++ = ':';
  p = Put(p, type);
  *p++ = ':';
  p = Put(p, id);
  *p++ = ':';
  p = Put(p, user);
  *p++ = ':';
  return std::string(b, p);
}

void Generator::Task(int node, int64_t start, const std::string& upid, int64_t end,
                     std::string_view status, uint32_t user) {
  Out& o = *outs_[node * 3 + kTask];
  char* p = o.Begin();
  p = Put(p, upid);
  *p++ = ' ';
  p = PutHex8(p, static_cast<uint64_t>(end));
  *p++ = ' ';
  p = Put(p, status);
  *p++ = '\n';
  o.Commit(p, end);  // a task still running now is not in the index yet: cut
  if (end <= o_.limit) Count(user, start);
  nodes_[node].last_upid = upid;
}

// ----------------------------------------------------------------- actions --

void Generator::DoTaskPost(int64_t t) {
  // Who: people mostly, tokens for automation.
  uint32_t user;
  const uint64_t who = rng_.Below(100);
  if (who < 8)
    user = tok_ci_;
  else if (who < 13)
    user = tok_tf_;
  else if (who < 15)
    user = tok_backup_;
  else
    user = PickHuman();
  const User& u = users_[user];
  const Guest& g = PickGuest(user);
  const int node = g.node;
  const std::string& nn = nodes_[node].name;
  const std::string vmid = std::to_string(g.vmid);
  const bool extjs = !u.token && rng_.Chance(0.6);
  std::string path = extjs ? "/api2/extjs/nodes/" : "/api2/json/nodes/";
  path += nn;
  std::string type, id = vmid;
  int dmin = 1, dmax = 8;
  const char* method = "POST";
  const uint64_t r = user == tok_backup_ ? 96 : rng_.Below(100);
  const char* kind = g.lxc ? "/lxc/" : "/qemu/";
  if (r < 50) {
    static const char* kOps[] = {"start", "stop", "shutdown", "reboot"};
    static const int kW[] = {45, 15, 30, 10};
    int x = static_cast<int>(rng_.Below(100)), op = 0;
    while (x >= kW[op]) x -= kW[op++];
    path += kind + vmid + "/status/" + kOps[op];
    type = std::string(g.lxc ? "vz" : "qm") + kOps[op];
    if (op == 2) dmin = 4, dmax = 90;
  } else if (r < 65) {
    path += kind + vmid + "/vncproxy";
    type = "vncproxy";
    dmin = 30, dmax = 7200;
  } else if (r < 69) {
    path += "/termproxy";
    type = "vncshell";
    id.clear();
    dmin = 30, dmax = 3600;
  } else if (r < 76) {
    if (g.lxc) {  // LXC config changes are synchronous PUTs: use a snapshot
      path += kind + vmid + "/snapshot";
      type = "vzsnapshot";
      dmin = 3, dmax = 60;
    } else {
      path += kind + vmid + "/config";
      type = "qmconfig";
      dmin = 1, dmax = 3;
    }
  } else if (r < 80) {
    const int newid = static_cast<int>(rng_.Range(100, 999));
    path += g.lxc ? "/lxc" : "/qemu";
    id = std::to_string(newid);
    type = g.lxc ? "vzcreate" : "qmcreate";
    dmin = 5, dmax = 120;
  } else if (r < 83) {
    path += kind + vmid;
    method = "DELETE";
    type = g.lxc ? "vzdestroy" : "qmdestroy";
    dmin = 2, dmax = 30;
  } else if (r < 89) {
    path += kind + vmid + "/snapshot";
    type = g.lxc ? "vzsnapshot" : "qmsnapshot";
    dmin = 3, dmax = 120;
  } else if (r < 92) {
    path += kind + vmid + "/migrate";
    type = g.lxc ? "vzmigrate" : "qmigrate";
    dmin = 20, dmax = 900;
  } else if (r < 94) {
    path += kind + vmid + "/clone";
    type = "qmclone";
    if (g.lxc) type = "vzclone";
    dmin = 10, dmax = 600;
  } else {
    path += "/vzdump";
    type = "vzdump";
    dmin = 60, dmax = 3600;
  }
  const std::string upid = NewUpid(node, t, type, id, u.name);
  const int64_t len = static_cast<int64_t>(upid.size()) + (extjs ? 25 : 11);
  Access(node, t, u.ip, user, method, path, 200, len);
  // Status.
  std::string status = "OK";
  const uint64_t s = rng_.Below(1000);
  if (type == "vncproxy" || type == "vncshell") {
  } else if (s < 25) {
    status = "WARNINGS: " + std::to_string(rng_.Range(1, 3));
  } else if (s < 60) {
    if (type == "qmstart")
      status = "start failed: QEMU exited with code 1";
    else if (type == "vzstart")
      status = "startup for container '" + vmid + "' failed";
    else if (type == "vzdump")
      status = "job errors";
    else if (type == "qmigrate" || type == "vzmigrate")
      status = "migration problems";
    else
      status = "VM " + vmid + " is locked (backup)";
  }
  Task(node, t, upid, t + rng_.Range(dmin, dmax), status, user);
}

void Generator::DoScheduledTask(int64_t t) {
  // Jobs run by pvescheduler / cron / the qm CLI as root@pam: no access line.
  const Guest& g = guests_[rng_.Below(guests_.size())];
  int node = g.node;
  const uint64_t r = rng_.Below(100);
  std::string type, id;
  int dmin, dmax;
  std::string status = "OK";
  if (r < 65) {
    type = "vzdump", id = std::to_string(g.vmid), dmin = 60, dmax = 2400;
    if (rng_.Chance(0.03)) status = "job errors";
  } else if (r < 80) {
    node = static_cast<int>(rng_.Below(nodes_.size()));
    type = "aptupdate", dmin = 3, dmax = 40;
  } else if (r < 92) {
    type = g.lxc ? "vzstart" : "qmstart", id = std::to_string(g.vmid), dmin = 1, dmax = 6;
  } else {
    type = "qmsnapshot", id = std::to_string(g.vmid), dmin = 5, dmax = 60;
    if (g.lxc) type = "vzsnapshot";
    if (rng_.Chance(0.05)) status = "WARNINGS: 1";
  }
  const std::string upid = NewUpid(node, t, type, id, users_[0].name);
  Task(node, t, upid, t + rng_.Range(dmin, dmax), status, 0);
}

void Generator::DoAccessOnly(int64_t t) {
  const uint64_t r = rng_.Below(1000);
  char path[512];
  // Monitoring token: polls the cluster every few seconds.
  if (r < 120) {
    const User& u = users_[tok_monitor_];
    const int node = static_cast<int>(rng_.Below(nodes_.size()));
    const uint64_t k = rng_.Below(3);
    if (k == 0)
      std::snprintf(path, sizeof path, "/api2/json/cluster/resources");
    else if (k == 1)
      std::snprintf(path, sizeof path, "/api2/json/nodes/%s/status", nodes_[node].name.c_str());
    else
      std::snprintf(path, sizeof path, "/api2/json/cluster/status");
    Access(node, t, u.ip, tok_monitor_, "GET", path, 200, rng_.Range(400, 60000));
    return;
  }
  if (r < 126) {  // a stale / bad token: 401, no user
    const int node = static_cast<int>(rng_.Below(nodes_.size()));
    Access(node, t, "::ffff:198.51.100.77", UINT32_MAX, "GET", "/api2/json/cluster/resources", 401,
           rng_.Chance(0.5) ? -1 : 53);
    return;
  }
  if (r < 135) {  // terraform / CI reading and changing configs
    const uint32_t tok = rng_.Chance(0.5) ? tok_tf_ : tok_ci_;
    const Guest& g = PickGuest(tok);
    const char* k = g.lxc ? "lxc" : "qemu";
    const bool put = rng_.Chance(0.3);
    std::snprintf(path, sizeof path, "/api2/json/nodes/%s/%s/%d/config",
                  nodes_[g.node].name.c_str(), k, g.vmid);
    Access(g.node, t, users_[tok].ip, tok, put ? "PUT" : "GET", path, 200,
           put ? 13 : rng_.Range(300, 2500));
    return;
  }
  const uint32_t user = PickHuman();
  const User& u = users_[user];
  const Guest& g = PickGuest(user);
  const char* k = g.lxc ? "lxc" : "qemu";
  const char* gn = nodes_[g.node].name.c_str();
  int node = rng_.Chance(0.8) ? u.home_node : static_cast<int>(rng_.Below(nodes_.size()));
  const char* hn = nodes_[node].name.c_str();
  if (r < 800) {  // GUI polling
    const uint64_t x = rng_.Below(100);
    int64_t len = rng_.Range(200, 4000);
    if (x < 30) {
      std::snprintf(path, sizeof path, "/api2/json/cluster/resources");
      len = rng_.Range(8000, 90000);
    } else if (x < 45) {
      std::snprintf(path, sizeof path, "/api2/json/nodes/%s/%s/%d/status/current", gn, k, g.vmid);
      node = g.node;
    } else if (x < 57) {
      std::snprintf(path, sizeof path, "/api2/json/cluster/tasks");
      len = rng_.Range(2000, 30000);
    } else if (x < 67) {
      std::snprintf(path, sizeof path, "/api2/json/nodes/%s/status", hn);
    } else if (x < 75) {
      std::snprintf(path, sizeof path,
                    "/api2/json/nodes/%s/%s/%d/rrddata?timeframe=hour&cf=AVERAGE", gn, k, g.vmid);
      node = g.node;
      len = rng_.Range(9000, 20000);
    } else if (x < 82) {
      std::snprintf(path, sizeof path, "/api2/extjs/nodes/%s/%s/%d/config?_dc=%lld", gn, k, g.vmid,
                    static_cast<long long>(t) * 1000 + static_cast<long long>(rng_.Below(1000)));
      node = g.node;
    } else if (x < 86) {
      std::snprintf(path, sizeof path, "/api2/extjs/nodes/%s/%s/%d/pending", gn, k, g.vmid);
      node = g.node;
    } else if (x < 89) {
      std::snprintf(path, sizeof path, "/api2/json/cluster/ha/status/current");
    } else if (x < 92) {
      static const char* kSt[] = {"local", "local-lvm", "ceph-pool", "nfs-backup"};
      static const char* kCt[] = {"iso", "images", "images", "backup"};
      const uint64_t s = rng_.Below(4);
      std::snprintf(path, sizeof path, "/api2/json/nodes/%s/storage/%s/content?content=%s", hn,
                    kSt[s], kCt[s]);
    } else if (x < 95 && !nodes_[node].last_upid.empty()) {
      // Task status poll: the UPID is URL-encoded in the path.
      char* p = path;
      p = Put(p, "/api2/json/nodes/");
      p = Put(p, nodes_[node].name);
      p = Put(p, "/tasks/");
      for (char c : nodes_[node].last_upid) {
        if (c == ':')
          p = Put(p, "%3A");
        else if (c == '!')
          p = Put(p, "%21");
        else if (c == '@')
          p = Put(p, "%40");
        else
          *p++ = c;
      }
      p = Put(p, "/status");
      *p = 0;
    } else if (x < 97) {
      std::snprintf(path, sizeof path, "/api2/json/access/domains");
      Access(node, t, u.ip, UINT32_MAX, "GET", path, 200, rng_.Range(300, 500));
      return;
    } else {
      std::snprintf(path, sizeof path, "/api2/json/version");
      len = rng_.Range(80, 120);
    }
    // Rarely the server fails (node busy, pmxcfs hiccup).
    const int code = rng_.Chance(0.0005) ? 500 : 200;
    Access(node, t, u.ip, user, "GET", path, code, code == 500 ? -1 : len);
    return;
  }
  if (r < 860) {  // synchronous config changes and reads
    std::snprintf(path, sizeof path, "/api2/extjs/nodes/%s/%s/%d/config", gn, k, g.vmid);
    const bool put = rng_.Chance(0.6);
    Access(g.node, t, u.ip, user, put ? "PUT" : "GET", path, 200, put ? 13 : rng_.Range(400, 3000));
    return;
  }
  if (r < 890) {  // failed changes: 403 on /api2/json (extjs would log 200)
    const uint32_t who =
        u.denied ? user
                 : static_cast<uint32_t>(
                       human_rank_[std::min<size_t>(n_humans_ - 1, 20 + rng_.Below(50))]);
    static const char* kOps[] = {"start", "stop", "shutdown"};
    std::snprintf(path, sizeof path, "/api2/json/nodes/%s/%s/%d/status/%s", gn, k, g.vmid,
                  kOps[rng_.Below(3)]);
    // {"data":null,"message":"Permission check failed (/vms/100, VM.PowerMgmt)\n"}
    const int64_t len = 28 + static_cast<int64_t>(std::strlen("Permission check failed (/vms/"
                                                              ", VM.PowerMgmt)") +
                                                  std::to_string(g.vmid).size());
    Access(g.node, t, users_[who].ip, who, "POST", path, 403, len);
    return;
  }
  if (r < 915) {  // console websocket after vncproxy: 101, no length
    std::snprintf(
        path, sizeof path,
        "/api2/json/nodes/%s/%s/%d/vncwebsocket?port=59%02d&vncticket=PVEVNC%%3A%08llX%%3A%%3A%"
        "s",
        gn, k, g.vmid, static_cast<int>(rng_.Below(100)), static_cast<unsigned long long>(t),
        "dGlja2V0c2lnbmF0dXJl");
    Access(g.node, t, u.ip, user, "GET", path, 101, -1);
    return;
  }
  if (r < 935) {  // storage
    static const char* kSt[] = {"local", "local-lvm", "ceph-pool", "nfs-backup"};
    const char* st = kSt[rng_.Below(4)];
    if (rng_.Chance(0.7))
      std::snprintf(path, sizeof path, "/api2/json/nodes/%s/storage/%s/status", hn, st);
    else
      std::snprintf(path, sizeof path,
                    "/api2/json/nodes/%s/storage/%s/rrddata?timeframe=day&cf=AVERAGE", hn, st);
    Access(node, t, u.ip, user, "GET", path, 200, rng_.Range(150, 9000));
    return;
  }
  if (r < 960) {  // permission and user management reads
    static const char* kP[] = {"/api2/json/access/users", "/api2/json/access/acl",
                               "/api2/json/access/groups", "/api2/json/access/permissions",
                               "/api2/json/access/roles"};
    Access(node, t, u.ip, user, "GET", kP[rng_.Below(5)], 200, rng_.Range(200, 6000));
    return;
  }
  // Access-control changes: mostly root and admin.
  const uint32_t who = rng_.Chance(0.7) ? static_cast<uint32_t>(rng_.Below(2)) : user;
  const User& w = users_[who];
  const uint64_t x = rng_.Below(100);
  const char* method = "PUT";
  if (x < 35) {
    std::snprintf(path, sizeof path, "/api2/extjs/access/acl");
  } else if (x < 50) {
    method = "POST";
    std::snprintf(path, sizeof path, "/api2/extjs/access/users");
  } else if (x < 65) {
    std::snprintf(path, sizeof path, "/api2/extjs/access/users/%s",
                  users_[n_humans_ > 10 ? 10 + rng_.Below(n_humans_ - 10) : 0].name.c_str());
  } else if (x < 70) {
    method = "DELETE";
    std::snprintf(path, sizeof path, "/api2/extjs/access/users/%s",
                  users_[n_humans_ > 10 ? 10 + rng_.Below(n_humans_ - 10) : 0].name.c_str());
  } else if (x < 78) {
    method = "POST";
    std::snprintf(path, sizeof path, "/api2/json/access/users/ci@pve/token/deploy");
  } else if (x < 86) {
    std::snprintf(path, sizeof path, "/api2/extjs/access/password");
  } else if (x < 92) {
    method = "POST";
    std::snprintf(path, sizeof path, "/api2/extjs/access/groups");
  } else if (x < 96) {
    method = "POST";
    std::snprintf(path, sizeof path, "/api2/extjs/access/roles");
  } else {
    std::snprintf(path, sizeof path, "/api2/extjs/access/domains/ldap");
  }
  Access(w.home_node, t, w.ip, who, method, path, 200, path[6] == 'j' ? 96 : 25);
}

void Generator::DoSession(int64_t t) {
  const Session& s = sessions_[next_session_++];
  const User& u = users_[s.user];
  const int node = u.home_node;
  Access(node, t, u.ip, UINT32_MAX, "POST", "/api2/extjs/access/ticket", 200,
         s.tfa ? rng_.Range(420, 460) : TicketLen());
  AuthSuccess(node, t, s.user);
  if (s.tfa) Push(t + rng_.Range(4, 25), kPendTfa, node, s.user, UINT32_MAX, 0);
  for (int i = 1; i <= s.renewals; ++i)
    Push(t + 900 * i + rng_.Range(0, 2), kPendRenew, node, s.user, UINT32_MAX, 0);
}

void Generator::DoFailure(int64_t t, bool burst) {
  const Failure& f = burst ? bursts_[next_burst_++] : failures_[next_failure_++];
  // Typos come from the user's own address; bursts from an attacker.
  uint32_t ip_slot = UINT32_MAX;
  int node;
  if (burst) {
    ip_slot = static_cast<uint32_t>(rng_.Below(attacker_ips_.size()));
    node = rng_.Chance(0.6) ? 0 : static_cast<int>(rng_.Below(nodes_.size()));
  } else {
    node = f.user < users_.size() ? users_[f.user].home_node : 0;
    if (f.user >= users_.size()) ip_slot = static_cast<uint32_t>(rng_.Below(attacker_ips_.size()));
  }
  int64_t ti = t;
  for (int i = 0; i < f.count; ++i) {
    if (i) ti += rng_.Range(1, 12);
    Push(ti, kPendFailAuth, node, f.user, ip_slot, f.api);
    Push(ti + 3, kPendFailAccess, node, f.user, ip_slot, f.api);
  }
}

void Generator::RunPending(const Pending& p) {
  const std::string& ip = p.ip_slot != UINT32_MAX ? AttackerIp(p.ip_slot) : users_[p.user].ip;
  switch (p.kind) {
    case kPendRenew:
      Access(p.node, p.t, ip, UINT32_MAX, "POST", "/api2/json/access/ticket", 200, TicketLen());
      AuthSuccess(p.node, p.t, p.user);
      break;
    case kPendTfa:
      Access(p.node, p.t, ip, UINT32_MAX, "POST", "/api2/extjs/access/ticket", 200, TicketLen());
      AuthSuccess(p.node, p.t, p.user);
      break;
    case kPendFailAuth:
      AuthFailure(p.node, p.t, p.user, ip);
      break;
    case kPendFailAccess:
      if (p.api)
        Access(p.node, p.t, ip, UINT32_MAX, "POST", "/api2/json/access/ticket", 401, 50);
      else  // the GUI formatter reports failures with HTTP 200
        Access(p.node, p.t, ip, UINT32_MAX, "POST", "/api2/extjs/access/ticket", 200, 62);
      break;
  }
}

void Generator::FlushPending(int64_t upto) {
  while (!pending_.empty() && pending_.top().t <= upto) {
    const Pending p = pending_.top();
    pending_.pop();
    RunPending(p);
  }
}

int Generator::Run() {
  int64_t start_day;
  if (!ParseDate(o_.start, &start_day)) {
    std::fprintf(stderr, "pveaudit-gen: bad --start '%s' (want YYYY-MM-DD)\n", o_.start.c_str());
    return 2;
  }
  BuildWorld();
  PlanBudgets();

  namespace fs = std::filesystem;
  std::error_code ec;
  for (const Node& n : nodes_) {
    fs::create_directories(fs::path(o_.out) / n.name / "tasks", ec);
    if (ec) {
      std::fprintf(stderr, "pveaudit-gen: mkdir %s: %s\n", o_.out.c_str(), ec.message().c_str());
      return 1;
    }
    const std::string base = (fs::path(o_.out) / n.name).string();
    outs_.push_back(std::make_unique<Out>(base + "/access.log"));
    outs_.push_back(std::make_unique<Out>(base + "/auth.log"));
    outs_.push_back(std::make_unique<Out>(base + "/tasks/index"));
  }
  for (auto& out : outs_) out->set_limit(o_.limit);
  const bool busy_tail = o_.limit != INT64_MAX;

  // Three slot streams merged by time: people (business hours), machines and
  // attackers (flat), scheduled jobs (nights).
  enum { kAO, kTP, kSess, kFail, kNoise, kBurst, kSched, kTypes };
  uint64_t left[kTypes] = {access_only_, task_posts_,    sessions_.size(), failures_.size(),
                           noise_,       bursts_.size(), sched_tasks_};
  SlotStream people(left[kAO] + left[kTP] + left[kSess] + left[kFail], start_,
                    HourWeights(start_, o_.hours, 0, busy_tail));
  SlotStream flat(left[kNoise] + left[kBurst], start_, HourWeights(start_, o_.hours, 1, false));
  SlotStream night(left[kSched], start_, HourWeights(start_, o_.hours, 2, false));
  SlotStream* streams[3] = {&people, &flat, &night};
  // Types drawn without replacement within each stream, so totals are exact.
  auto draw = [&](std::initializer_list<int> types) {
    uint64_t total = 0;
    for (int ty : types) total += left[ty];
    uint64_t x = rng_.Below(total);
    for (int ty : types) {
      if (x < left[ty]) {
        --left[ty];
        return ty;
      }
      x -= left[ty];
    }
    return -1;
  };
  for (;;) {
    int best = -1;
    int64_t bt = 0;
    for (int i = 0; i < 3; ++i) {
      if (streams[i]->Done()) continue;
      const int64_t t = streams[i]->Peek(rng_);
      if (best < 0 || t < bt) best = i, bt = t;
    }
    if (best < 0) break;
    streams[best]->Pop();
    FlushPending(bt);
    int ty;
    if (best == 0)
      ty = draw({kAO, kTP, kSess, kFail});
    else if (best == 1)
      ty = draw({kNoise, kBurst});
    else
      ty = draw({kSched});
    switch (ty) {
      case kAO:
        DoAccessOnly(bt);
        break;
      case kTP:
        DoTaskPost(bt);
        break;
      case kSess:
        DoSession(bt);
        break;
      case kFail:
        DoFailure(bt, false);
        break;
      case kNoise:
        Noise(static_cast<int>(rng_.Below(nodes_.size())), bt);
        break;
      case kBurst:
        DoFailure(bt, true);
        break;
      case kSched:
        DoScheduledTask(bt);
        break;
    }
  }
  FlushPending(INT64_MAX);

  uint64_t per_kind[3] = {0, 0, 0}, cut[3] = {0, 0, 0};
  for (size_t i = 0; i < outs_.size(); ++i) {
    per_kind[i % 3] += outs_[i]->lines();
    cut[i % 3] += outs_[i]->cut();
  }
  for (auto& o : outs_) o->Close();
  const uint64_t total = per_kind[0] + per_kind[1] + per_kind[2];
  const uint64_t total_cut = cut[0] + cut[1] + cut[2];
  // Every planned line is written or, after now, cut: none lost, none extra.
  if (total + total_cut != o_.events || per_kind[0] + cut[0] != n_access_ ||
      per_kind[1] + cut[1] != n_auth_ || per_kind[2] + cut[2] != n_task_) {
    std::fprintf(
        stderr,
        "pveaudit-gen: internal error: wrote %llu/%llu/%llu lines, planned %llu/%llu/%llu\n",
        static_cast<unsigned long long>(per_kind[0]), static_cast<unsigned long long>(per_kind[1]),
        static_cast<unsigned long long>(per_kind[2]), static_cast<unsigned long long>(n_access_),
        static_cast<unsigned long long>(n_auth_), static_cast<unsigned long long>(n_task_));
    return 1;
  }

  // Probe: the (person, day) whose line count is closest to 1,000, preferring
  // working days; not root (its successful-auth prefix is not the actor).
  size_t pu = 1, pd = 0;
  uint64_t best_score = UINT64_MAX;
  for (size_t u = 1; u < n_humans_; ++u) {
    for (size_t d = 0; d < static_cast<size_t>(o_.days); ++d) {
      const uint64_t c = per_day_[u * per_day_cols_ + d];
      const int wd = Weekday(start_day + static_cast<int64_t>(d));
      uint64_t score = c > 1000 ? c - 1000 : 1000 - c;
      if (wd == 0 || wd == 6) score += 500;
      if (score < best_score) best_score = score, pu = u, pd = d;
    }
  }
  const uint64_t probe_rows = per_day_[pu * per_day_cols_ + pd];
  const std::string probe_start = IsoDate(start_day + static_cast<int64_t>(pd));
  const std::string probe_end = IsoDate(start_day + static_cast<int64_t>(pd) + 1);

  // Syslog has no year: say so when the window crosses a year boundary.
  int64_t y0, y1;
  unsigned m, d;
  CivilFromDays(start_day, &y0, &m, &d);
  CivilFromDays(start_day + o_.days, &y1, &m, &d);

  std::string mpath = (fs::path(o_.out) / "MANIFEST.txt").string();
  FILE* mf = std::fopen(mpath.c_str(), "w");
  if (!mf) {
    std::fprintf(stderr, "pveaudit-gen: cannot write %s\n", mpath.c_str());
    return 1;
  }
  std::string nodes_csv;
  for (size_t i = 0; i < nodes_.size(); ++i) nodes_csv += (i ? "," : "") + nodes_[i].name;
  std::fprintf(mf, "# pveaudit-gen data set (all times UTC; import with TZ=UTC)\n");
  std::fprintf(mf, "generator=pveaudit-gen 1\n");
  std::fprintf(mf, "events=%llu\nseed=%llu\nstart=%s\ndays=%d\nnodes=%s\nusers=%d\n",
               static_cast<unsigned long long>(o_.events), static_cast<unsigned long long>(o_.seed),
               o_.start.c_str(), o_.days, nodes_csv.c_str(), o_.users);
  std::fprintf(mf, "syslog_year=%lld\n", static_cast<long long>(y0));
  if (y1 != y0)
    std::fprintf(mf, "# WARNING: window crosses into %lld; syslog lines carry no year\n",
                 static_cast<long long>(y1));
  if (!o_.end_date.empty()) {  // only then: the default manifest stays as it was
    std::fprintf(mf, "end_date=%s\n", IsoDate(start_day + o_.days - 1).c_str());
    if (o_.limit != INT64_MAX) {
      std::fprintf(mf, "# lines that would be later than now are not written\n");
      std::fprintf(mf, "now=%lld\ncut_after_now=%llu\n", static_cast<long long>(o_.limit),
                   static_cast<unsigned long long>(total_cut));
    }
  }
  for (size_t i = 0; i < nodes_.size(); ++i) {
    static const char* kFile[] = {"access.log", "auth.log", "tasks/index"};
    for (int k = 0; k < 3; ++k)
      std::fprintf(mf, "file %s/%s lines=%llu\n", nodes_[i].name.c_str(), kFile[k],
                   static_cast<unsigned long long>(outs_[i * 3 + k]->lines()));
  }
  std::fprintf(
      mf, "total_access=%llu\ntotal_auth=%llu\ntotal_task=%llu\ntotal_lines=%llu\n",
      static_cast<unsigned long long>(per_kind[0]), static_cast<unsigned long long>(per_kind[1]),
      static_cast<unsigned long long>(per_kind[2]), static_cast<unsigned long long>(total));
  std::fprintf(
      mf,
      "mix sessions=%zu failed_logins=%zu bursts=%zu noise_lines=%llu task_posts=%llu "
      "scheduled_tasks=%llu\n",
      sessions_.size(), failures_.size(), bursts_.size(), static_cast<unsigned long long>(noise_),
      static_cast<unsigned long long>(task_posts_), static_cast<unsigned long long>(sched_tasks_));
  std::fprintf(mf,
               "# probe_rows = lines naming probe_user (access user field, auth 'for user'/user=,\n"
               "# UPID user) with time in [probe_start, probe_end) UTC, all nodes\n");
  std::fprintf(mf, "probe_user=%s probe_start=%s probe_end=%s probe_rows=%llu\n",
               users_[pu].name.c_str(), probe_start.c_str(), probe_end.c_str(),
               static_cast<unsigned long long>(probe_rows));
  if (std::fclose(mf) != 0) return 1;
  std::printf("probe_user=%s probe_start=%s probe_end=%s probe_rows=%llu\n",
              users_[pu].name.c_str(), probe_start.c_str(), probe_end.c_str(),
              static_cast<unsigned long long>(probe_rows));
  return o_.pve_dir.empty() ? 0 : WritePveDir();
}

// ------------------------------------------------------------- config dir --

int Generator::WritePveDir() {
  namespace fs = std::filesystem;
  Rng r(o_.seed ^ 0x636f6e666967ull);
  const fs::path dir(o_.pve_dir);
  std::error_code ec;
  fs::create_directories(dir / "priv", ec);
  for (const Node& n : nodes_) {
    if (!ec) fs::create_directories(dir / "nodes" / n.name / "qemu-server", ec);
    if (!ec) fs::create_directories(dir / "nodes" / n.name / "lxc", ec);
  }
  if (ec) {
    std::fprintf(stderr, "pveaudit-gen: mkdir %s: %s\n", o_.pve_dir.c_str(), ec.message().c_str());
    return 1;
  }
  auto write = [&](const fs::path& p, const std::string& text) {
    FILE* f = std::fopen(p.c_str(), "w");
    if (!f || std::fwrite(text.data(), 1, text.size(), f) != text.size() || std::fclose(f) != 0) {
      std::fprintf(stderr, "pveaudit-gen: cannot write %s\n", p.c_str());
      return false;
    }
    return true;
  };
  auto local = [](const std::string& id) { return id.substr(0, id.find('@')); };
  auto cap = [](std::string w) {
    if (!w.empty()) w[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(w[0])));
    return w;
  };

  // user.cfg: the people of the logs, the service accounts behind the API
  // tokens, groups, pools, a custom role and ACLs (write_user_config's
  // field order; members and roles are defined before they are named).
  std::string u;
  std::vector<std::string> people;  // userNNNN, for groups and direct ACLs
  for (size_t i = 0; i < n_humans_; ++i) {
    const std::string& id = users_[i].name;
    std::string first = cap(local(id)), last, comment;
    bool enable = true;
    int64_t expire = 0;
    if (id == "root@pam") first.clear();
    if (id == "admin@pve") first = "Ada", last = "Admin";
    if (i >= 10) {
      people.push_back(id);
      first = "User", last = local(id).substr(4);
      if (r.Chance(0.04))
        enable = false, comment = "left%20the%20company";
      else if (r.Chance(0.03))
        expire = start_ - r.Range(86400, 86400 * 60), comment = "contractor";
    }
    u += "user:" + id + ":" + (enable ? "1" : "0") + ":" + std::to_string(expire) + ":" + first +
         ":" + last + ":" + local(id) + "@example.com:" + comment + "::\n";
  }
  std::vector<std::string> service;
  for (uint32_t t : token_ids_) {
    const std::string owner = users_[t].name.substr(0, users_[t].name.find('!'));
    bool seen = false;
    for (size_t i = 0; i < n_humans_; ++i) seen |= users_[i].name == owner;
    for (const std::string& sname : service) seen |= sname == owner;
    if (seen) continue;
    service.push_back(owner);
    u += "user:" + owner + ":1:0:" + cap(local(owner)) + ":::service%20account::\n";
  }
  for (uint32_t t : token_ids_) {
    const std::string& id = users_[t].name;
    // terraform's token shares its user's privileges (no privilege
    // separation): a finding of the quarterly review.
    const bool privsep = id != "terraform@pve!tf";
    u += "token:" + id + ":0:" + (privsep ? "1" : "0") + ":" + local(id.substr(id.find('!') + 1)) +
         "::\n";
  }
  auto members = [&](double p) {
    std::string m;
    for (const std::string& id : people)
      if (r.Chance(p)) m += (m.empty() ? "" : ",") + id;
    return m;
  };
  u += "group:admins:admin@pve:Cluster%20administrators:\n";
  u += "group:ops:alice@pve,bob@pve,carol@ldap,frank@ad:Operations:\n";
  u += "group:auditors:dave@ldap,erin@ad:Compliance:\n";
  u += "group:developers:" + members(0.4) + ":Developers:\n";
  u += "group:helpdesk:grace@ldap,heidi@ad," + members(0.1) + ":Helpdesk:\n";
  std::string prod, dev;
  for (const Guest& g : guests_) {
    const uint64_t x = r.Below(3);
    if (x == 0) prod += (prod.empty() ? "" : ",") + std::to_string(g.vmid);
    if (x == 1) dev += (dev.empty() ? "" : ",") + std::to_string(g.vmid);
  }
  u += "pool:prod:Production:" + prod + ":local-lvm,ceph-pool:\n";
  u += "pool:dev:Development:" + dev + ":local-lvm:\n";
  u += "role:VMOperator:VM.Audit,VM.Console,VM.PowerMgmt:\n";
  u += "acl:1:/:@admins:Administrator:\n";
  u += "acl:1:/:@auditors:PVEAuditor:\n";
  u += "acl:1:/vms:@ops:PVEVMAdmin:\n";
  u += "acl:1:/storage:@ops:PVEDatastoreUser:\n";
  u += "acl:1:/pool/dev:@developers:PVEVMUser:\n";
  u += "acl:1:/pool/prod:@helpdesk:VMOperator:\n";
  u += "acl:1:/:monitoring@pve,monitoring@pve!prometheus:PVEAuditor:\n";
  u += "acl:1:/vms:ci@pve,ci@pve!deploy:PVEVMAdmin:\n";
  u += "acl:1:/:terraform@pve:PVEVMAdmin,PVEDatastoreAdmin:\n";
  u += "acl:1:/:root@pam!backup:PVEDatastoreAdmin,PVEVMAdmin:\n";
  for (int i = 0; i < 12 && !people.empty(); ++i)
    u += "acl:0:/vms/" + std::to_string(guests_[r.Below(guests_.size())].vmid) + ":" +
         people[r.Below(people.size())] + ":VMOperator:\n";
  // A guest deleted long ago whose ACL stayed: an orphaned entry.
  for (int v = 999; v >= 100; --v) {
    bool used = false;
    for (const Guest& g : guests_) used |= g.vmid == v;
    if (used) continue;
    u += "acl:1:/vms/" + std::to_string(v) + ":@ops:PVEVMUser:\n";
    break;
  }
  if (!write(dir / "user.cfg", u)) return 1;

  // priv/tfa.cfg (JSON): TOTP for the administrators and some others.
  std::string tfa = "{\"users\":{";
  bool first_user = true;
  for (size_t i = 0; i < n_humans_; ++i) {
    if (i >= 3 && !r.Chance(0.35)) continue;
    char id[64];
    std::snprintf(id, sizeof id, "%08llx-%04llx-4%03llx-8%03llx-%012llx",
                  static_cast<unsigned long long>(r.Next() & 0xffffffffull),
                  static_cast<unsigned long long>(r.Below(0x10000)),
                  static_cast<unsigned long long>(r.Below(0x1000)),
                  static_cast<unsigned long long>(r.Below(0x1000)),
                  static_cast<unsigned long long>(r.Next() & 0xffffffffffffull));
    tfa += std::string(first_user ? "" : ",") + "\"" + users_[i].name + "\":{\"totp\":[{\"id\":\"" +
           id + "\",\"description\":\"phone\",\"created\":" +
           std::to_string(start_ - r.Range(86400, 86400 * 365)) + ",\"entry\":\"otpauth://totp/" +
           local(users_[i].name) + "?secret=JBSWY3DPEHPK3PXP\"}]}";
    first_user = false;
  }
  tfa += "}}\n";
  if (!write(dir / "priv" / "tfa.cfg", tfa)) return 1;

  if (!write(dir / "domains.cfg",
             "pam: pam\n\tcomment Linux PAM standard authentication\n\n"
             "pve: pve\n\tcomment Proxmox VE authentication server\n\tdefault 1\n\n"
             "ldap: ldap\n\tbase_dn dc=example,dc=com\n\tserver1 ldap.example.com\n"
             "\tuser_attr uid\n\tcomment Directory\n\n"
             "ad: ad\n\tdomain example.com\n\tserver1 dc1.example.com\n"
             "\tcomment Active Directory\n"))
    return 1;
  if (!write(dir / "storage.cfg",
             "dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\n"
             "lvmthin: local-lvm\n\tthinpool data\n\tvgname pve\n\tcontent rootdir,images\n\n"
             "rbd: ceph-pool\n\tpool ceph-pool\n\tcontent images,rootdir\n\tkrbd 0\n\n"
             "nfs: nfs-backup\n\texport /backup\n\tpath /mnt/pve/nfs-backup\n"
             "\tserver 192.0.2.50\n\tcontent backup\n"))
    return 1;

  static const char* kRole[] = {"web",       "db",      "cache", "mail",  "git",
                                "ci-runner", "monitor", "dns",   "proxy", "app"};
  for (const Guest& g : guests_) {
    const std::string id = std::to_string(g.vmid);
    const std::string name = std::string(kRole[r.Below(10)]) + "-" + id;
    const std::string& node = nodes_[static_cast<size_t>(g.node)].name;
    std::string conf;
    if (g.lxc)
      conf = "arch: amd64\ncores: " + std::to_string(1 + r.Below(4)) + "\nhostname: " + name +
             "\nmemory: " + std::to_string(512 << r.Below(4)) +
             "\nostype: debian\nrootfs: local-lvm:subvol-" + id + "-disk-0,size=8G\n";
    else
      conf = "boot: order=scsi0\ncores: " + std::to_string(1 + r.Below(8)) +
             "\nmemory: " + std::to_string(1024 << r.Below(4)) + "\nname: " + name +
             "\nnet0: virtio,bridge=vmbr0\nostype: l26\nscsi0: local-lvm:vm-" + id +
             "-disk-0,size=32G\n";
    if (!write(dir / "nodes" / node / (g.lxc ? "lxc" : "qemu-server") / (id + ".conf"), conf))
      return 1;
  }
  std::printf("pve_dir=%s users=%zu tokens=%zu guests=%zu\n", o_.pve_dir.c_str(),
              n_humans_ + service.size(), token_ids_.size(), guests_.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = ParseArgs(argc, argv);
  if (!ResolveWindow(&o)) return 2;
  Generator g(o);
  return g.Run();
}
