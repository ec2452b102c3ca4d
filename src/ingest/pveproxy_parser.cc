// pveproxy_parser.cc
// Parser for /var/log/pveproxy/access.log, written by pve-http-server as
//   $realip - $userid [%d/%m/%Y:%H:%M:%S %z] "$requestline" $code $content_length
// (before 2017: %d/%b/%Y). See docs/actions.md for the mapping rules.
#include <string>

#include "core/actions.h"
#include "core/time_spec.h"
#include "ingest/parse_util.h"

namespace pveaudit::ingest {
namespace {

// "08/07/2025:12:42:28 +0000" or "08/Jul/2025:12:42:28 +0000" -> UTC us.
bool ParseAccessTime(std::string_view t, int64_t* us) {
  int d = Digits(t, 0, 2);
  if (d < 0 || t.size() < 3 || t[2] != '/') return false;
  size_t slash = t.find('/', 3);
  if (slash == std::string_view::npos) return false;
  std::string_view mon = t.substr(3, slash - 3);
  int mo = -1;
  if (mon.size() == 2) {
    mo = Digits(mon, 0, 2);
  } else {
    mo = MonthFromName(mon);
  }
  size_t i = slash + 1;
  int y = Digits(t, i, 4);
  if (y < 0 || i + 4 >= t.size() || t[i + 4] != ':') return false;
  i += 5;
  int h = Digits(t, i, 2), mi = Digits(t, i + 3, 2), s = Digits(t, i + 6, 2);
  if (h < 0 || mi < 0 || s < 0 || t[i + 2] != ':' || t[i + 5] != ':') return false;
  i += 8;
  if (i >= t.size() || t[i] != ' ') return false;
  ++i;
  int64_t off = 0;
  if (!ParseZone(t, &i, &off) || i != t.size()) return false;
  if (!ValidCivil(y, mo, d, h, mi, s)) return false;
  if (s == 60) s = 59;
  *us = CivilToUs(y, mo, d, h, mi, s) - off * 1000000;
  return true;
}

bool IsApiFormat(std::string_view f) {
  if (f.size() < 2 || f[0] < 'a' || f[0] > 'z') return false;
  for (char c : f) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

// Replaces the values of query parameters that carry credentials
// ("vncticket=", "ticket=", "password=") with "REDACTED": console tickets in
// vncwebsocket URLs should not be copied into a long-lived audit store.
void RedactQuery(std::string* detail) {
  size_t q = detail->find('?');
  if (q == std::string::npos) return;
  std::string out = detail->substr(0, q + 1);
  std::string_view rest = std::string_view(*detail).substr(q + 1);
  bool changed = false;
  while (true) {
    size_t amp = rest.find('&');
    std::string_view param = rest.substr(0, amp);
    size_t eq = param.find('=');
    std::string_view name = param.substr(0, eq);
    bool secret =
        eq != std::string_view::npos &&
        (name == "password" || (name.size() >= 6 && name.substr(name.size() - 6) == "ticket"));
    if (secret) {
      out.append(name).append("=REDACTED");
      changed = true;
    } else {
      out.append(param);
    }
    if (amp == std::string_view::npos) break;
    out.push_back('&');
    rest.remove_prefix(amp + 1);
  }
  if (changed) *detail = std::move(out);
}

class PveproxyParser : public LineParser {
 public:
  explicit PveproxyParser(const ParseContext& ctx)
      : ctx_(ctx), node_(ctx.node.empty() ? "localhost" : ctx.node) {}

  LineFormat format() const override { return LineFormat::kPveproxy; }

  LineVerdict Parse(std::string_view line, uint64_t line_no, std::vector<Event>* out,
                    std::string* reason) override {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty()) return LineVerdict::kIgnored;
    auto reject = [&](std::string why) {
      *reason = std::move(why);
      return LineVerdict::kRejected;
    };
    std::string_view rest = line;
    std::string_view ip = NextToken(&rest);
    if (ip.empty()) return reject("missing client address");
    if (rest.substr(0, 2) != "- ") return reject("expected ' - ' after client address");
    rest.remove_prefix(2);
    std::string_view user = NextToken(&rest);
    if (user.empty()) return reject("missing user field");
    if (rest.empty() || rest[0] != '[') return reject("missing '[' before time");
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return reject("missing ']' after time");
    std::string_view timestr = rest.substr(1, close - 1);
    rest.remove_prefix(close + 1);
    if (rest.substr(0, 2) != " \"") return reject("missing '\"' before request line");
    rest.remove_prefix(2);
    // The request line is raw client input and may itself contain '"', so
    // the code and size are taken from the end of the line.
    size_t sp2 = rest.rfind(' ');
    if (sp2 == std::string_view::npos || sp2 == 0) return reject("missing status code and size");
    std::string_view size = rest.substr(sp2 + 1);
    size_t sp1 = rest.rfind(' ', sp2 - 1);
    if (sp1 == std::string_view::npos) return reject("missing status code and size");
    std::string_view code = rest.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string_view request = rest.substr(0, sp1);
    if (request.empty() || request.back() != '"') {
      return reject("missing '\"' after request line");
    }
    request.remove_suffix(1);
    int code_num = code.size() == 3 ? Digits(code, 0, 3) : -1;
    if (code_num < 100 || code_num > 599) return reject("bad status code '" + Excerpt(code) + "'");
    if (size != "-") {
      if (size.empty() || size.size() > 19) return reject("bad size '" + Excerpt(size) + "'");
      for (char c : size) {
        if (c < '0' || c > '9') return reject("bad size '" + Excerpt(size) + "'");
      }
    }
    int64_t us = 0;
    if (!ParseAccessTime(timestr, &us)) return reject("bad date '" + Excerpt(timestr) + "'");

    // "METHOD TARGET HTTP/x.y"
    std::string_view method, target;
    size_t msp = request.find(' ');
    if (msp != std::string_view::npos) {
      method = request.substr(0, msp);
      target = request.substr(msp + 1);
      size_t vsp = target.rfind(' ');
      if (vsp != std::string_view::npos && target.substr(vsp + 1, 5) == "HTTP/") {
        target = target.substr(0, vsp);
      }
    }

    Event& e = out->emplace_back();
    e.time_us = us;
    e.node = node_;
    if (user != "-") e.user.assign(user);
    if (ip != "-") {
      if (ip.find(':') == std::string_view::npos) {
        e.ip.assign(ip);
      } else {
        e.ip = CanonicalIp(ip);
      }
    }
    e.status.assign(code);
    e.source = "pveproxy";
    e.origin = ctx_.origin;
    e.origin_line = line_no;
    // Status classes (docs/actions.md "Results"): 1xx (101: a websocket
    // was opened) and 2xx did what was asked; 3xx did not do it (a 308 is
    // pveproxy sending a plain-HTTP client to HTTPS) but did not refuse
    // either; 4xx and 5xx refused or failed.
    e.result = code_num < 300   ? Outcome::kSuccess
               : code_num < 400 ? Outcome::kUnknown
                                : Outcome::kFailure;
    if (method.empty() || target.empty()) {
      // "-" (no request line was read) or a bare word.
      e.action = "http:request";
      e.resource = "/";
      e.detail.assign(request);
      return LineVerdict::kEvents;
    }
    e.detail.reserve(method.size() + 1 + target.size());
    e.detail.append(method).append(" ").append(target);
    if (target.find("ticket=") != std::string_view::npos ||
        target.find("password=") != std::string_view::npos) {
      RedactQuery(&e.detail);
    }

    std::string_view path = target.substr(0, target.find('?'));
    if (path.substr(0, 6) == "/api2/") {
      std::string_view after = path.substr(6);
      size_t slash = after.find('/');
      std::string_view fmt = after.substr(0, slash);
      if (IsApiFormat(fmt)) {
        std::string_view rel = slash == std::string_view::npos ? "" : after.substr(slash);
        ActionMapping m = MapApiRequest(method, rel);
        e.action = std::move(m.action);
        e.resource = std::move(m.resource);
        // extjs answers every call with HTTP 200 and reports errors in the
        // body, which is not logged: a 200 there proves nothing.
        if (fmt == "extjs" && code_num == 200) e.result = Outcome::kUnknown;
        return LineVerdict::kEvents;
      }
    }
    if (method == "GET" || method == "HEAD") {
      e.action = "http:read";
    } else if (method == "CONNECT") {
      e.action = "http:connect";
    } else {
      e.action = "http:request";
    }
    e.resource = "/";
    return LineVerdict::kEvents;
  }

 private:
  ParseContext ctx_;
  std::string node_;
};

}  // namespace

std::unique_ptr<LineParser> MakePveproxyParser(const ParseContext& ctx) {
  return std::make_unique<PveproxyParser>(ctx);
}

}  // namespace pveaudit::ingest
