// live_ingest: measures pveauditd's live ingest. A writer appends pveproxy
// access.log lines at a fixed rate to a file the daemon follows; a probe
// reads the daemon's committed cursor (the `cursors` table, committed in the
// same transaction as the events) every millisecond, so each line's latency
// is "committed - appended". Prints p50/p99/max latency, the daemon's peak
// RSS (VmHWM) and its CPU share.
//
//   live_ingest --pveauditd build/bin/pveauditd --rate 50000 --seconds 60 --dir /tmp/live
//
// Standalone on purpose (SQLite C API only): it observes the daemon from
// outside, as an operator would.
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::string daemon = "build/bin/pveauditd";
  std::string dir = "/tmp/pveaudit-live";
  int rate = 50000;
  int seconds = 60;
};

long ReadStatusKb(pid_t pid, const char* key) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key, 0) == 0) return std::atol(line.c_str() + std::strlen(key));
  return -1;
}

double CpuSeconds(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto p = s.rfind(')');
  if (p == std::string::npos) return 0;
  std::vector<std::string> fields;
  size_t i = p + 2;
  while (i < s.size()) {
    size_t j = s.find(' ', i);
    fields.push_back(s.substr(i, j - i));
    if (j == std::string::npos) break;
    i = j + 1;
  }
  // fields[11], [12] = utime, stime (fields 14, 15 of stat)
  if (fields.size() < 13) return 0;
  return double(std::atoll(fields[11].c_str()) + std::atoll(fields[12].c_str())) /
         double(sysconf(_SC_CLK_TCK));
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--pveauditd")
      a.daemon = v;
    else if (k == "--dir")
      a.dir = v;
    else if (k == "--rate")
      a.rate = std::atoi(v.c_str());
    else if (k == "--seconds")
      a.seconds = std::atoi(v.c_str());
    else {
      std::fprintf(stderr, "live_ingest: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  std::filesystem::remove_all(a.dir);
  std::filesystem::create_directories(a.dir);
  std::string log = a.dir + "/access.log", data = a.dir + "/data";
  { std::ofstream(log).flush(); }

  std::vector<std::string> args = {a.daemon, "--data-dir", data,  "--access-log",
                                   log,      "--node",     "pve1"};
  std::vector<char*> cargs;
  for (auto& s : args) cargs.push_back(s.data());
  cargs.push_back(nullptr);
  setenv("PVEAUDIT_CONFIG", "/dev/null", 1);
  pid_t pid;
  if (posix_spawn(&pid, a.daemon.c_str(), nullptr, nullptr, cargs.data(), environ) != 0) {
    std::perror("posix_spawn");
    return 1;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  // The writer: line i is appended at start + i/rate; we note its end offset.
  const int64_t total = int64_t(a.rate) * a.seconds;
  std::vector<uint64_t> end_offset(static_cast<size_t>(total));
  std::vector<Clock::time_point> appended(static_cast<size_t>(total));
  std::vector<Clock::time_point> committed(static_cast<size_t>(total));
  FILE* f = std::fopen(log.c_str(), "a");
  auto start = Clock::now();
  double cpu0 = CpuSeconds(pid);
  std::thread writer([&] {
    uint64_t off = 0;
    char line[256];
    for (int64_t i = 0; i < total; ++i) {
      auto due = start + std::chrono::nanoseconds(i * 1000000000LL / a.rate);
      if (i % 100 == 0) {
        std::fflush(f);
        std::this_thread::sleep_until(due);
      }
      time_t t = 1735689600 + i / 1000;
      struct tm tm;
      gmtime_r(&t, &tm);
      int n =
          std::snprintf(line, sizeof line,
                        "::ffff:192.0.2.%d - alice@pve [%02d/%02d/%04d:%02d:%02d:%02d +0000] "
                        "\"GET /api2/json/nodes/pve1/qemu/%d/status/current HTTP/1.1\" 200 %d\n",
                        int(1 + i % 250), tm.tm_mday, tm.tm_mon + 1, tm.tm_year + 1900, tm.tm_hour,
                        tm.tm_min, tm.tm_sec, int(100 + i % 50), int(i % 999));
      std::fwrite(line, 1, size_t(n), f);
      off += uint64_t(n);
      end_offset[size_t(i)] = off;
      appended[size_t(i)] = Clock::now();
    }
    std::fflush(f);
  });

  // The probe: committed offset of the file's cursor.
  sqlite3* db = nullptr;
  int64_t next = 0;
  auto deadline = start + std::chrono::seconds(a.seconds + 30);
  while (next < total && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (!db && sqlite3_open_v2((data + "/pveaudit.db").c_str(), &db, SQLITE_OPEN_READONLY,
                               nullptr) != SQLITE_OK) {
      sqlite3_close(db);
      db = nullptr;
      continue;
    }
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT MAX(offset) FROM cursors", -1, &st, nullptr) != SQLITE_OK) {
      sqlite3_finalize(st);
      continue;
    }
    uint64_t off = sqlite3_step(st) == SQLITE_ROW ? uint64_t(sqlite3_column_int64(st, 0)) : 0;
    sqlite3_finalize(st);
    auto now = Clock::now();
    while (next < total && end_offset[size_t(next)] != 0 && end_offset[size_t(next)] <= off)
      committed[size_t(next++)] = now;
  }
  writer.join();
  std::fclose(f);
  double cpu = CpuSeconds(pid) - cpu0;
  double wall = std::chrono::duration<double>(Clock::now() - start).count();
  long hwm = ReadStatusKb(pid, "VmHWM:");
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  sqlite3_close(db);

  std::vector<double> lat;
  for (int64_t i = 0; i < next; ++i)
    lat.push_back(
        std::chrono::duration<double, std::milli>(committed[size_t(i)] - appended[size_t(i)])
            .count());
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) { return lat.empty() ? 0 : lat[size_t(p * double(lat.size() - 1))]; };
  std::printf("lines=%lld committed=%lld rate=%d/s seconds=%d\n", (long long)total, (long long)next,
              a.rate, a.seconds);
  std::printf("latency_ms p50=%.1f p99=%.1f max=%.1f\n", pct(0.5), pct(0.99), pct(1.0));
  std::printf("daemon_peak_rss_mb=%.1f cpu_share=%.0f%% (of one core)\n", double(hwm) / 1024.0,
              100.0 * cpu / wall);
  return next == total ? 0 : 1;
}
