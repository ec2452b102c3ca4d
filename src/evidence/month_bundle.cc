#include "evidence/month_bundle.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/actions.h"
#include "core/time_spec.h"
#include "evidence/files.h"
#include "export/cef.h"
#include "query/log_output.h"
#include "query/log_query.h"

namespace pveaudit {

namespace {

constexpr const char* kManifest = "manifest.json";
constexpr const char* kSums = "SHA256SUMS";
constexpr const char* kSignature = "SHA256SUMS.sig";
constexpr const char* kPublicKey = "signing-key.pem";
constexpr const char* kBundleFormat = "pveaudit-month-export/1";

const char* EventsFileName(BundleFormat f) {
  switch (f) {
    case BundleFormat::kJson:
      return "events.json";
    case BundleFormat::kCef:
      return "events.cef";
    default:
      return "events.csv";
  }
}

// A name SHA256SUMS may list: a plain file name of the bundle, printable
// (it is echoed to the auditor's terminal).
bool PlainName(const std::string& n) {
  if (n.empty() || n == "." || n == "..") return false;
  for (unsigned char c : n)
    if (c == '/' || c < 0x20 || c == 0x7f) return false;
  return true;
}

}  // namespace

bool ParseSha256Sums(const std::string& text, std::vector<std::pair<std::string, std::string>>* out,
                     std::string* bad_line) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) continue;
    bool ok = line.size() > 66 && (line[64] == ' ') && (line[65] == ' ' || line[65] == '*');
    for (size_t i = 0; ok && i < 64; ++i)
      ok = (line[i] >= '0' && line[i] <= '9') || (line[i] >= 'a' && line[i] <= 'f');
    std::string name = ok ? line.substr(66) : "";
    if (!ok || !PlainName(name)) {
      *bad_line = Printable(line.substr(0, 120));
      return false;
    }
    out->emplace_back(name, line.substr(0, 64));
  }
  return true;
}

std::string Month::Name() const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d", year, month);
  return buf;
}

bool ParseMonth(const std::string& text, Month* out) {
  if (text.size() != 7 || text[4] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6})
    if (text[i] < '0' || text[i] > '9') return false;
  int y = std::stoi(text.substr(0, 4)), m = std::stoi(text.substr(5, 2));
  if (y < 1970 || m < 1 || m > 12) return false;
  out->year = y;
  out->month = m;
  out->start_us = LocalCivilToUs(y, m, 1, 0, 0, 0);
  out->end_us =
      m == 12 ? LocalCivilToUs(y + 1, 1, 1, 0, 0, 0) : LocalCivilToUs(y, m + 1, 1, 0, 0, 0);
  return true;
}

Month MonthOf(int64_t us) {
  time_t t = time_t(us / 1000000);
  struct tm tm;
  localtime_r(&t, &tm);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d", tm.tm_year + 1900, tm.tm_mon + 1);
  Month m;
  ParseMonth(buf, &m);
  return m;
}

bool ParseBundleFormat(const std::string& text, BundleFormat* out) {
  if (text == "csv")
    *out = BundleFormat::kCsv;
  else if (text == "json")
    *out = BundleFormat::kJson;
  else if (text == "cef")
    *out = BundleFormat::kCef;
  else
    return false;
  return true;
}

const char* BundleFormatName(BundleFormat f) {
  return f == BundleFormat::kJson ? "json" : f == BundleFormat::kCef ? "cef" : "csv";
}

Result<BundleResult> WriteMonthBundle(EventStore& store, const SigningKey& key,
                                      const BundleOptions& o) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path out_dir = fs::absolute(o.output_dir, ec).lexically_normal();
  if (out_dir.filename().empty()) out_dir = out_dir.parent_path();  // "DIR/" is DIR
  if (fs::exists(out_dir, ec)) {
    if (!fs::is_directory(out_dir, ec) || !fs::is_empty(out_dir, ec))
      return Status::InvalidArgument(o.output_dir +
                                     " already exists and is not an empty directory");
  }
  // Written beside the destination, then renamed into place. Audit data
  // (users, addresses, request lines): the bundle is 0700 and its files
  // 0600, like the store; whoever hands it to an auditor copies it.
  // A crash's leftover of an earlier export to the same place goes first.
  const std::string tmp = out_dir.string() + ".partial";
  fs::remove_all(tmp, ec);
  fs::create_directories(out_dir.parent_path(), ec);
  if (::mkdir(tmp.c_str(), 0700) != 0)
    return Status::IOError("cannot create " + tmp + ": " + std::strerror(errno));
  auto fail = [&](Status st) -> Result<BundleResult> {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    return st;
  };

  BundleResult res;
  res.events_file = EventsFileName(o.format);
  res.key_fingerprint = key.fingerprint();
  Filter filter;
  filter.start_us = o.month.start_us;
  filter.end_us = o.month.end_us;
  std::map<std::string, uint64_t> by_class, by_result;
  uint64_t first_id = 0, last_id = 0;
  auto tally = [&](const Event& e) {
    uint32_t classes = ActionClasses(e.action);
    const auto& names = ActionClassNames();
    bool any = false;
    for (size_t i = 0; i < names.size(); ++i)
      if (classes & (1u << i)) {
        ++by_class[std::string(names[i])];
        any = true;
      }
    if (!any) ++by_class["other"];
    ++by_result[std::string(OutcomeName(e.result))];
    if (!first_id || e.id < first_id) first_id = e.id;
    last_id = std::max(last_id, e.id);
    return true;
  };
  {
    const std::string path = tmp + "/" + res.events_file;
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return fail(Status::IOError("cannot create " + path + ": " + std::strerror(errno)));
    OutputBuffer out(fd);
    Result<uint64_t> n = uint64_t(0);
    if (o.format == BundleFormat::kCef) {
      uint64_t count = 0;
      Status st = ForEachEvent(store, filter, 0, kFieldAll, [&](Event&& e) {
        tally(e);
        AppendCef(&out.buffer(), e, CefDeviceVersion());
        out.buffer().push_back('\n');
        ++count;
        return out.Wrote();
      });
      n = st.ok() ? Result<uint64_t>(count) : Result<uint64_t>(st);
    } else {
      n = WriteEventRows(store, filter, 0,
                         o.format == BundleFormat::kJson ? OutputFormat::kJson : OutputFormat::kCsv,
                         &out, tally);
    }
    bool flushed = out.Flush() && ::fsync(fd) == 0;
    int err = out.error() ? out.error() : errno;
    ::close(fd);
    if (!n.ok()) return fail(n.status());
    if (!flushed) return fail(Status::IOError("cannot write " + path + ": " + std::strerror(err)));
    res.events = *n;
  }
  uint64_t events_bytes = 0;
  auto events_sha = Sha256File(tmp + "/" + res.events_file, &events_bytes);
  if (!events_sha.ok()) return fail(events_sha.status());

  auto info = store.Info();
  if (!info.ok()) return fail(info.status());
  nlohmann::ordered_json m;
  m["format"] = kBundleFormat;
  m["month"] = o.month.Name();
  m["start"] = FormatRfc3339Utc(o.month.start_us);
  m["end"] = FormatRfc3339Utc(o.month.end_us);
  m["query"] = "pveam access log --start " + FormatRfc3339Utc(o.month.start_us) + " --end " +
               FormatRfc3339Utc(o.month.end_us) + " --output-format " +
               (o.format == BundleFormat::kJson ? "json" : "csv");
  m["output_format"] = BundleFormatName(o.format);
  m["events"] = res.events;
  m["first_id"] = first_id;
  m["last_id"] = last_id;
  m["events_by_class"] = by_class;
  m["events_by_result"] = by_result;
  m["chain"] = {{"store", o.store_name},
                {"events", info->events},
                {"last_id", info->last_id},
                {"head", info->head_hash}};
  m["node"] = o.node;
  m["software"] = o.software;
  m["created"] = FormatRfc3339Utc(o.now_us);
  m["signing_key_sha256"] = key.fingerprint();
  m["files"] = nlohmann::ordered_json::array(
      {{{"name", res.events_file}, {"bytes", events_bytes}, {"sha256", *events_sha}}});
  const std::string manifest = m.dump(2) + "\n";
  const std::string sums =
      *events_sha + "  " + res.events_file + "\n" + Sha256Hex(manifest) + "  " + kManifest + "\n";
  auto sig = key.Sign(sums);
  if (!sig.ok()) return fail(sig.status());
  for (const auto& [name, data] : std::initializer_list<std::pair<const char*, std::string_view>>{
           {kManifest, manifest},
           {kSums, sums},
           {kSignature, *sig},
           {kPublicKey, key.public_pem()}}) {
    Status st = WriteWhole(tmp + "/" + name, data);
    if (!st.ok()) return fail(st);
  }
  FsyncDir(tmp);
  // An empty destination directory is replaced (rename needs it gone).
  if (fs::exists(out_dir, ec)) fs::remove(out_dir, ec);
  if (::rename(tmp.c_str(), out_dir.c_str()) != 0)
    return fail(Status::IOError("cannot rename " + tmp + " to " + out_dir.string() + ": " +
                                std::strerror(errno)));
  FsyncDir(out_dir.parent_path().string());
  res.sums_sha256 = Sha256Hex(sums);
  return res;
}

std::string ExportEventDetail(const Month& month, BundleFormat format, const BundleResult& r) {
  return "month=" + month.Name() + " format=" + BundleFormatName(format) +
         " events=" + std::to_string(r.events) + " sha256sums=" + r.sums_sha256;
}

Result<BundleCheck> VerifyMonthBundle(const std::string& dir, const std::string& trusted_pem) {
  BundleCheck c;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return Status::IOError("cannot read " + dir + ": " + std::strerror(errno));
  std::set<std::string> present;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") present.insert(n);
  }
  ::closedir(d);
  auto path = [&](const std::string& n) { return dir + "/" + n; };

  auto sums = ReadBoundedFile(path(kSums), 1 << 20);
  if (!sums.ok()) {
    c.problems.push_back(std::string(kSums) + " " + sums.status().message());
    return c;
  }
  // 1. The signature over SHA256SUMS.
  auto sig = ReadBoundedFile(path(kSignature), 4096);
  std::string pem = trusted_pem;
  c.trusted_key = !trusted_pem.empty();
  if (pem.empty()) {
    auto bundled = ReadBoundedFile(path(kPublicKey), 65536);
    if (!bundled.ok())
      c.problems.push_back(std::string(kPublicKey) + " " + bundled.status().message());
    else
      pem = *bundled;
  }
  if (!sig.ok()) {
    c.problems.push_back(std::string(kSignature) + " " + sig.status().message());
  } else if (!pem.empty()) {
    PublicKeyInfo ki;
    Status st = VerifySignature(pem, *sums, *sig, &ki);
    c.key_fingerprint = ki.fingerprint;
    if (st.code() == Status::Code::kInvalidArgument)
      c.problems.push_back(std::string(c.trusted_key ? "the trusted key" : kPublicKey) + ": " +
                           st.message());
    else if (!st.ok())
      c.problems.push_back(std::string(kSignature) + ": " + st.message() + " (" + kSums +
                           " was changed, or signed by another key)");
    else
      c.checked.push_back(std::string(kSignature) + ": signature ok");
  }
  // 2. Every listed file.
  std::vector<std::pair<std::string, std::string>> listed;
  std::string bad_line;
  if (!ParseSha256Sums(*sums, &listed, &bad_line)) {
    c.problems.push_back(std::string(kSums) + ": malformed line '" + bad_line + "'");
    return c;
  }
  std::map<std::string, std::string> want;
  for (const auto& [name, hash] : listed) {
    if (!want.emplace(name, hash).second) {
      c.problems.push_back(std::string(kSums) + ": lists " + name + " twice");
      continue;
    }
    auto got = Sha256File(path(name), nullptr);
    if (!got.ok())
      c.problems.push_back(name + " " + got.status().message());
    else if (*got != hash)
      c.problems.push_back(name + ": sha256 " + *got + " does not match " + kSums + " (" + hash +
                           "): the file was changed");
    else
      c.checked.push_back(name + ": sha256 ok");
  }
  // 3. The manifest names the same files and hashes.
  if (!want.count(kManifest)) {
    c.problems.push_back(std::string(kSums) + " does not list " + kManifest);
  } else if (auto mtext = ReadBoundedFile(path(kManifest), 16 << 20); mtext.ok()) {
    nlohmann::json m = nlohmann::json::parse(*mtext, nullptr, /*allow_exceptions=*/false);
    if (!m.is_object() || m.value("format", "") != kBundleFormat || !m["files"].is_array()) {
      c.problems.push_back(std::string(kManifest) + " is not a pveaudit month export manifest");
    } else {
      c.month = Printable(m.value("month", ""));
      c.events = m.value("events", uint64_t(0));
      size_t events_files = 0;
      for (const auto& f : m["files"]) {
        std::string name = f.value("name", ""), hash = f.value("sha256", "");
        ++events_files;
        auto it = want.find(name);
        if (it == want.end())
          c.problems.push_back(std::string(kManifest) + " names " + Printable(name) + ", which " +
                               kSums + " does not list");
        else if (it->second != hash)
          c.problems.push_back(std::string(kManifest) + " and " + kSums + " disagree on " +
                               Printable(name));
      }
      if (events_files + 1 != want.size())
        c.problems.push_back(std::string(kSums) + " lists files the manifest does not name");
    }
  }
  // 4. Nothing else in the directory.
  for (const std::string& n : present)
    if (!want.count(n) && n != kSums && n != kSignature && n != kPublicKey)
      c.problems.push_back(Printable(n) + ": not part of the bundle (not listed in " +
                           std::string(kSums) + ")");
  return c;
}

}  // namespace pveaudit
