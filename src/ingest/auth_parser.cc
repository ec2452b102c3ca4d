// auth_parser.cc
// Parser for the authentication lines pvedaemon/pveproxy write to syslog,
// in any of the forms a Proxmox node stores them: classic BSD syslog
// ("Jul  8 12:42:30 host prog[pid]: msg"), journalctl -o short / short-iso /
// short-precise / short-iso-precise / short-full / short-unix, rsyslog RFC
// 3339 high-precision files, and RFC 5424 (with or without "<pri>", also
// rsyslog's RSYSLOG_SyslogProtocol23Format). Year inference for classic
// dates: docs/actions.md. The formats are described in docs/formats.md.
#include <cstdio>
#include <ctime>
#include <string>

#include "core/time_spec.h"
#include "ingest/parse_util.h"

namespace pveaudit::ingest {
namespace {

struct Header {
  int64_t us = 0;
  std::string_view host;
  std::string_view prog;
  std::string_view msg;
  std::string zone_error;  // the time could not be placed (see ZonedCivilToUs)
};

enum class HeaderVerdict { kOk, kNotSyslog, kBad };

bool Contains(std::string_view s, std::string_view what) {
  return s.find(what) != std::string_view::npos;
}

bool LooksLikeAuth(std::string_view line) {
  return (Contains(line, "pvedaemon") || Contains(line, "pveproxy")) &&
         (Contains(line, "authentication failure") || Contains(line, "successful auth") ||
          Contains(line, "successful openid auth") || Contains(line, "changed password"));
}

std::string UserResource(std::string_view user) {
  if (user.empty()) return "/access";
  std::string r = "/access/users/";
  for (char c : user) {
    unsigned char u = static_cast<unsigned char>(c);
    r.push_back(c == '/' || u <= 0x20 || u == 0x7f ? '_' : c);
  }
  return r;
}

LineVerdict ParseMessage(const Header& h, const ParseContext& ctx, uint64_t line_no,
                         std::vector<Event>* out, std::string* reason) {
  std::string_view msg = h.msg;
  // PVE::Cluster::log_msg prefixes "<ident> " (a constant root@pam for
  // the auth lines: not the actor).
  if (!msg.empty() && msg[0] == '<') {
    size_t gt = msg.find("> ");
    if (gt != std::string_view::npos && msg.find(' ') > gt) msg.remove_prefix(gt + 2);
  }
  auto reject = [&](std::string why) {
    *reason = std::move(why);
    return LineVerdict::kRejected;
  };
  auto make = [&]() -> Event& {
    Event& e = out->emplace_back();
    e.time_us = h.us;
    e.node = ctx.node.empty() ? std::string(h.host) : ctx.node;
    e.source = "auth";
    e.origin = ctx.origin;
    e.origin_line = line_no;
    return e;
  };
  static constexpr std::string_view kFail = "authentication failure; ";
  static constexpr std::string_view kOidcFail = "openid authentication failure; ";
  static constexpr std::string_view kTicketFail = "authentication failure: ";
  static constexpr std::string_view kOk = "successful auth for user ";
  static constexpr std::string_view kOidcOk = "successful openid auth for user ";
  static constexpr std::string_view kPasswd = "changed password for user ";

  bool oidc_fail = msg.substr(0, kOidcFail.size()) == kOidcFail;
  if (oidc_fail || msg.substr(0, kFail.size()) == kFail) {
    std::string_view r = msg.substr(oidc_fail ? kOidcFail.size() : kFail.size());
    if (r.substr(0, 6) != "rhost=") return reject("authentication failure line without rhost=");
    r.remove_prefix(6);
    std::string_view rhost = NextToken(&r);
    std::string_view user;
    if (!oidc_fail) {
      if (r.substr(0, 5) != "user=") return reject("authentication failure line without user=");
      r.remove_prefix(5);
      // Real user ids hold no whitespace, so the first " msg=" ends it.
      size_t m = r.find(" msg=");
      if (m == std::string_view::npos) return reject("authentication failure line without msg=");
      user = r.substr(0, m);
      r.remove_prefix(m + 1);
    } else if (!r.empty() && r[0] == ' ') {
      r.remove_prefix(1);
    }
    if (r.substr(0, 4) != "msg=") return reject("authentication failure line without msg=");
    r.remove_prefix(4);
    Event& e = make();
    e.user.assign(user);
    if (!rhost.empty()) e.ip = CanonicalIp(rhost);
    e.action = "login";
    e.resource = UserResource(user);
    e.result = Outcome::kFailure;
    e.detail.assign(r);
    return LineVerdict::kEvents;
  }
  if (msg.substr(0, kTicketFail.size()) == kTicketFail) {
    // pveproxy: invalid ticket or API token on an ordinary API call.
    Event& e = make();
    e.action = "access:ticket";
    e.resource = "/access";
    e.result = Outcome::kFailure;
    e.detail.assign(msg.substr(kTicketFail.size()));
    return LineVerdict::kEvents;
  }
  bool oidc_ok = msg.substr(0, kOidcOk.size()) == kOidcOk;
  bool passwd = msg.substr(0, kPasswd.size()) == kPasswd;
  if (oidc_ok || passwd || msg.substr(0, kOk.size()) == kOk) {
    std::string_view q = msg.substr(oidc_ok  ? kOidcOk.size()
                                    : passwd ? kPasswd.size()
                                             : kOk.size());
    if (q.size() < 3 || q.front() != '\'' || q.back() != '\'') {
      return reject(std::string("missing quoted user in '") +
                    std::string(msg.substr(0, msg.find(" for user"))) + "' line");
    }
    std::string_view user = q.substr(1, q.size() - 2);
    Event& e = make();
    e.result = Outcome::kSuccess;
    e.detail.assign(msg);
    e.resource = UserResource(user);
    if (passwd) {
      e.action = "user:password";  // actor unknown: the target is in resource
    } else {
      e.action = "login";
      e.user.assign(user);
    }
    return LineVerdict::kEvents;
  }
  return LineVerdict::kIgnored;
}

constexpr int64_t kMaxUnixSeconds = 253402300799;  // 9999-12-31T23:59:59Z

// Length of a leading "SECONDS.FRACTION" followed by a space, or 0.
size_t UnixTimeLength(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  if (i == 0 || i > 12 || i >= s.size() || s[i] != '.') return 0;
  size_t j = i + 1;
  while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
  if (j == i + 1 || j >= s.size() || s[j] != ' ') return 0;
  return j;
}

// "Sun".."Sat" -> 0..6, else -1 (systemd prints English names in any locale).
int WeekdayFromName(std::string_view s) {
  static constexpr std::string_view kNames[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  for (int i = 0; i < 7; ++i)
    if (kNames[i] == s) return i;
  return -1;
}

// The instant of a local civil time named with a zone abbreviation. "UTC",
// "GMT" and numeric "+hh[mm]" zones are exact. Other abbreviations must be
// the cluster time zone's at that time; they decide the repeated hour when
// clocks go back ("02:30 CEST" is an hour before "02:30 CET"). Anything
// else would be guessing, so it is an error naming the zone.
bool ZonedCivilToUs(int y, int mo, int d, int hh, int mi, int se, std::string_view zone,
                    int64_t* us, std::string* why) {
  if (zone == "UTC" || zone == "GMT" || zone == "UCT" || zone == "Z") {
    *us = CivilToUs(y, mo, d, hh, mi, se);
    return true;
  }
  if (zone[0] == '+' || zone[0] == '-') {
    // strftime %Z of zones without an abbreviation: "+03", "-0330".
    std::string z(zone);
    if (z.size() == 3) z += "00";
    size_t pos = 0;
    int64_t off = 0;
    if (ParseZone(z, &pos, &off) && pos == z.size()) {
      *us = CivilToUs(y, mo, d, hh, mi, se) - off * 1000000;
      return true;
    }
    *why = "bad time zone '" + Excerpt(zone) + "'";
    return false;
  }
  const int64_t base = LocalCivilToUs(y, mo, d, hh, mi, se) / 1000000;
  std::string seen;
  for (int64_t delta : {0, -3600, 3600}) {
    time_t t = static_cast<time_t>(base + delta);
    struct tm tm;
    if (localtime_r(&t, &tm) == nullptr) continue;
    if (tm.tm_year + 1900 != y || tm.tm_mon + 1 != mo || tm.tm_mday != d || tm.tm_hour != hh ||
        tm.tm_min != mi || tm.tm_sec != se)
      continue;
    const char* name = tm.tm_zone ? tm.tm_zone : "";
    if (zone == name) {
      *us = int64_t(t) * 1000000;
      return true;
    }
    if (seen.empty()) seen = name;
  }
  *why = "time zone '" + Excerpt(zone) + "' is not the cluster time zone's at that time" +
         (seen.empty() ? std::string() : " (" + seen + ")") +
         ": set the cluster time zone or export with journalctl --utc";
  return false;
}

// journalctl -o short-full's "Www YYYY-MM-DD HH:MM:SS[.frac] ZONE" at the
// start of `*s`; on success `*s` continues after the zone.
HeaderVerdict ParseShortFull(std::string_view* s, Header* h, std::string* why) {
  std::string_view v = *s;
  size_t date_end = v.find(' ', 4);
  size_t time_end = date_end == std::string_view::npos ? date_end : v.find(' ', date_end + 1);
  size_t zone_end = time_end == std::string_view::npos ? time_end : v.find(' ', time_end + 1);
  std::string_view stamp = v.substr(0, zone_end);
  auto bad = [&](std::string message) {
    *why = std::move(message);
    return HeaderVerdict::kBad;
  };
  if (zone_end == std::string_view::npos || zone_end == time_end + 1)
    return bad("bad date '" + Excerpt(stamp) + "'");
  std::string_view date = v.substr(4, date_end - 4),
                   clock = v.substr(date_end + 1, time_end - date_end - 1);
  std::string_view zone = v.substr(time_end + 1, zone_end - time_end - 1);
  int y = Digits(date, 0, 4), mo = Digits(date, 5, 2), d = Digits(date, 8, 2);
  int hh = Digits(clock, 0, 2), mi = Digits(clock, 3, 2), se = Digits(clock, 6, 2);
  size_t i = 8;
  int64_t frac = 0;
  if (date.size() != 10 || date[7] != '-' || y < 0 || mo < 0 || d < 0 || clock.size() < 8 ||
      clock[2] != ':' || clock[5] != ':' || hh < 0 || mi < 0 || se < 0 ||
      !ParseFraction(clock, &i, &frac) || i != clock.size() || !ValidCivil(y, mo, d, hh, mi, se))
    return bad("bad date '" + Excerpt(stamp) + "'");
  // The weekday must be the date's: a mismatch is a damaged line.
  const int64_t days = CivilToUs(y, mo, d, 0, 0, 0) / (86400LL * 1000000);
  if (WeekdayFromName(v.substr(0, 3)) != int((days + 4) % 7))  // 1970-01-01: Thursday
    return bad("weekday does not match the date in '" + Excerpt(stamp) + "'");
  if (se == 60) se = 59;
  int64_t us = 0;
  std::string zone_why;
  // An unresolvable zone still makes a syslog header (format detection
  // counts it); the auth lines behind it are rejected with the reason.
  if (!ZonedCivilToUs(y, mo, d, hh, mi, se, zone, &us, &zone_why))
    h->zone_error = zone_why + " in '" + Excerpt(stamp) + "'";
  h->us = us + frac;
  s->remove_prefix(zone_end);
  return HeaderVerdict::kOk;
}

class AuthParser : public LineParser {
 public:
  explicit AuthParser(const ParseContext& ctx) : ctx_(ctx) {
    int64_t ref = ctx.reference_us != 0 ? ctx.reference_us : NowUs();
    std::string local = FormatLocal(ref);  // "YYYY-MM-DD HH:MM:SS" in the cluster zone
    int y = Digits(local, 0, 4), m = Digits(local, 5, 2), d = Digits(local, 8, 2);
    if (y > 0 && m > 0 && d > 0) {
      ref_year_ = y;
      ref_month_ = m;
      ref_day_ = d;
    }
  }

  LineFormat format() const override { return LineFormat::kAuth; }

  LineVerdict Parse(std::string_view line, uint64_t line_no, std::vector<Event>* out,
                    std::string* reason) override {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty()) return LineVerdict::kIgnored;
    Header h;
    std::string why;
    HeaderVerdict hv = ParseHeader(line, &h, &why);
    if (hv != HeaderVerdict::kOk) {
      if (LooksLikeAuth(line)) {
        *reason = hv == HeaderVerdict::kBad ? why : "unrecognised syslog header";
        return LineVerdict::kRejected;
      }
      return LineVerdict::kIgnored;
    }
    if (h.prog != "pvedaemon" && h.prog != "pveproxy") return LineVerdict::kIgnored;
    if (!h.zone_error.empty()) {
      // Reject what would have been an audit record; ignore the rest.
      std::vector<Event> probe;
      if (ParseMessage(h, ctx_, line_no, &probe, reason) == LineVerdict::kIgnored)
        return LineVerdict::kIgnored;
      *reason = h.zone_error;
      return LineVerdict::kRejected;
    }
    return ParseMessage(h, ctx_, line_no, out, reason);
  }

  // Public for DetectLineFormat: true when `line` has a syslog header.
  bool HasHeader(std::string_view line) {
    Header h;
    std::string why;
    return ParseHeader(line, &h, &why) == HeaderVerdict::kOk;
  }

 private:
  // Year for a classic "Mmm dd" date (docs/actions.md "Year inference").
  int InferYear(int month, int day) const {
    // Compare as (month, day) ordinals in a leap year so Feb 29 has a slot.
    auto ordinal = [](int m, int d) {
      static constexpr int kStart[] = {0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335};
      return kStart[m - 1] + d;
    };
    int diff = ordinal(month, day) - ordinal(ref_month_, ref_day_);
    return diff > 1 ? ref_year_ - 1 : ref_year_;
  }

  HeaderVerdict ParseHeader(std::string_view line, Header* h, std::string* why) const {
    std::string_view s = line;
    bool rfc5424 = false, iso = false;
    if (!s.empty() && s[0] == '<') {
      size_t gt = s.find('>');
      if (gt == std::string_view::npos || gt < 2 || gt > 4) return HeaderVerdict::kNotSyslog;
      if (Digits(s, 1, gt - 1) < 0) return HeaderVerdict::kNotSyslog;
      s.remove_prefix(gt + 1);
      if (s.substr(0, 2) == "1 ") {
        rfc5424 = true;
        s.remove_prefix(2);
      }
    } else if (s.substr(0, 2) == "1 " && Digits(s, 2, 4) >= 0) {
      rfc5424 = true;  // RFC 5424 without <pri>
      s.remove_prefix(2);
    }
    if (Digits(s, 0, 4) >= 0 && s.size() > 4 && s[4] == '-') {
      // ISO 8601 / RFC 3339 timestamp.
      std::string_view ts = s.substr(0, s.find(' '));
      int y = Digits(ts, 0, 4), mo = Digits(ts, 5, 2), d = Digits(ts, 8, 2);
      int hh = Digits(ts, 11, 2), mi = Digits(ts, 14, 2), se = Digits(ts, 17, 2);
      auto bad = [&] {
        *why = "bad timestamp '" + Excerpt(ts) + "'";
        return HeaderVerdict::kBad;
      };
      if (y < 0 || mo < 0 || d < 0 || hh < 0 || mi < 0 || se < 0 || ts[7] != '-' || ts[10] != 'T' ||
          ts[13] != ':' || ts[16] != ':')
        return bad();
      size_t i = 19;
      int64_t frac = 0, off = 0;
      if (!ParseFraction(ts, &i, &frac) || !ParseZone(ts, &i, &off) || i != ts.size()) return bad();
      if (!ValidCivil(y, mo, d, hh, mi, se)) return bad();
      if (se == 60) se = 59;
      h->us = CivilToUs(y, mo, d, hh, mi, se) - off * 1000000 + frac;
      s.remove_prefix(ts.size());
      iso = true;
    } else if (s.size() > 4 && MonthFromName(s.substr(0, 3)) > 0 && s[3] == ' ') {
      if (rfc5424) return HeaderVerdict::kNotSyslog;
      // "Jul  8 12:42:30" / "Jul 08 12:42:30[.123456]"
      int mo = MonthFromName(s.substr(0, 3));
      size_t i = 4;
      if (s[i] == ' ') ++i;
      size_t ds = i;
      while (i < s.size() && i - ds < 2 && s[i] >= '0' && s[i] <= '9') ++i;
      int d = Digits(s, ds, i - ds);
      std::string_view ts = s.substr(0, s.find(' ', i + 1));
      auto bad = [&] {
        *why = "bad date '" + Excerpt(ts) + "'";
        return HeaderVerdict::kBad;
      };
      if (i == ds || i >= s.size() || s[i] != ' ') return bad();
      ++i;
      int hh = Digits(s, i, 2), mi = Digits(s, i + 3, 2), se = Digits(s, i + 6, 2);
      if (hh < 0 || mi < 0 || se < 0 || s[i + 2] != ':' || s[i + 5] != ':') return bad();
      i += 8;
      int64_t frac = 0;
      if (!ParseFraction(s, &i, &frac)) return bad();
      if (i < s.size() && s[i] != ' ') return bad();
      int y = InferYear(mo, d < 1 || d > 31 ? 1 : d);
      // Feb 29 of a common year: the line is from the leap year before.
      if (mo == 2 && d == 29 && !IsLeap(y)) --y;
      if (!ValidCivil(y, mo, d, hh, mi, se)) return bad();
      if (se == 60) se = 59;
      h->us = LocalCivilToUs(y, mo, d, hh, mi, se) + frac;
      s.remove_prefix(i);
    } else if (!rfc5424 && UnixTimeLength(s) > 0) {
      // journalctl -o short-unix: "1736846625.123456" ("%10llu.%06llu").
      size_t n = UnixTimeLength(s), dot = s.find('.');
      int64_t secs = 0, frac = 0;
      for (size_t i = 0; i < dot; ++i) secs = secs * 10 + (s[i] - '0');
      size_t i = dot;
      if (!ParseFraction(s, &i, &frac) || i != n || secs > kMaxUnixSeconds) {
        *why = "bad timestamp '" + Excerpt(s.substr(0, n)) + "'";
        return HeaderVerdict::kBad;
      }
      h->us = secs * 1000000 + frac;
      s.remove_prefix(n);
    } else if (!rfc5424 && s.size() > 14 && WeekdayFromName(s.substr(0, 3)) >= 0 && s[3] == ' ' &&
               Digits(s, 4, 4) >= 0 && s[8] == '-') {
      // journalctl -o short-full: "Tue 2025-01-14 10:23:45 CET" (systemd's
      // TIMESTAMP_PRETTY: English weekday, local time, zone abbreviation;
      // "UTC" with --utc).
      HeaderVerdict v = ParseShortFull(&s, h, why);
      if (v != HeaderVerdict::kOk) return v;
    } else {
      return HeaderVerdict::kNotSyslog;
    }
    if (s.empty() || s[0] != ' ') return HeaderVerdict::kNotSyslog;
    s.remove_prefix(1);
    h->host = NextToken(&s);
    if (h->host.empty()) return HeaderVerdict::kNotSyslog;
    // Traditional tag "prog[pid]:" / "prog:" or RFC 5424 "app procid msgid sd".
    std::string_view tag = s.substr(0, s.find(' '));
    if (!tag.empty() && tag.back() == ':') {
      tag.remove_suffix(1);
      h->prog = tag.substr(0, tag.find('['));
      s.remove_prefix(tag.size() + 1);
      if (!s.empty() && s[0] == ' ') s.remove_prefix(1);
      h->msg = s;
    } else if (rfc5424 || iso) {
      h->prog = NextToken(&s);
      std::string_view procid = NextToken(&s);
      std::string_view msgid = NextToken(&s);
      if (h->prog.empty() || procid.empty() || msgid.empty() || s.empty()) {
        return HeaderVerdict::kNotSyslog;
      }
      if (s[0] == '-') {
        s.remove_prefix(1);
      } else if (s[0] == '[') {
        // Structured data: [id k="v" ...][...]; values may escape \" and \].
        size_t i = 0;
        while (i < s.size() && s[i] == '[') {
          bool quoted = false;
          ++i;
          for (; i < s.size(); ++i) {
            if (quoted && s[i] == '\\') {
              ++i;
            } else if (s[i] == '"') {
              quoted = !quoted;
            } else if (!quoted && s[i] == ']') {
              break;
            }
          }
          if (i >= s.size()) return HeaderVerdict::kNotSyslog;
          ++i;
        }
        s.remove_prefix(i);
      } else {
        return HeaderVerdict::kNotSyslog;
      }
      if (!s.empty()) {
        if (s[0] != ' ') return HeaderVerdict::kNotSyslog;
        // rsyslog's RSYSLOG_SyslogProtocol23Format writes two spaces before
        // MSG (rsyslog issue #160): skip them all, or the message would
        // match no known phrase and a failed login would be ignored.
        while (!s.empty() && s[0] == ' ') s.remove_prefix(1);
      }
      if (s.substr(0, 3) == "\xEF\xBB\xBF") s.remove_prefix(3);
      h->msg = s;
    } else {
      return HeaderVerdict::kNotSyslog;
    }
    return HeaderVerdict::kOk;
  }

  ParseContext ctx_;
  int ref_year_ = 1970, ref_month_ = 1, ref_day_ = 1;
};

}  // namespace

LineVerdict ParseAuthEntry(const AuthEntry& entry, const ParseContext& ctx, uint64_t line_no,
                           std::vector<Event>* out, std::string* reason) {
  if (entry.prog != "pvedaemon" && entry.prog != "pveproxy") return LineVerdict::kIgnored;
  Header h;
  h.us = entry.us;
  h.host = entry.host;
  h.prog = entry.prog;
  h.msg = entry.msg;
  return ParseMessage(h, ctx, line_no, out, reason);
}

std::unique_ptr<LineParser> MakeAuthParser(const ParseContext& ctx) {
  return std::make_unique<AuthParser>(ctx);
}

bool HasSyslogHeader(std::string_view line) {
  // Reference 2024-12-31T00:00Z (Dec 30/31 in every zone): every classic
  // date, Feb 29 included, falls into the leap year 2024.
  static thread_local AuthParser p([] {
    ParseContext ctx;
    ctx.reference_us = CivilToUs(2024, 12, 31, 0, 0, 0);
    return ctx;
  }());
  return p.HasHeader(line);
}

}  // namespace pveaudit::ingest
