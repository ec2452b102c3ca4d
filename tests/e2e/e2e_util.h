// e2e_util.h
// Helpers for the end-to-end tests of the pveam binary: running it with
// posix_spawn (captured stdout/stderr/exit code, a controlled environment),
// per-test temporary data directories, fixture copies and JSON parsing.
// The tests never read anything outside the build tree and tests/data/e2e.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utime.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace e2e {

inline const std::string kPveam = PVEAM_BIN;
inline const std::string kPveum = PVEUM_BIN;
inline const std::string kFixtures = E2E_DATA;

struct RunResult {
  int code = -1;   // exit status, or -1 when killed by a signal
  int signal = 0;  // terminating signal, 0 if it exited
  std::string out, err;
};

inline std::ostream& operator<<(std::ostream& os, const RunResult& r) {
  return os << "exit " << r.code << " (signal " << r.signal << ")\n--- stdout ---\n"
            << r.out << "--- stderr ---\n"
            << r.err;
}

// Splits a command line the way a POSIX shell would for the simple cases
// on the product page: words separated by blanks, "double" and 'single'
// quotes group words.
inline std::vector<std::string> SplitCommandLine(const std::string& line) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (char c : line) {
    if (quote) {
      if (c == quote)
        quote = 0;
      else
        cur.push_back(c);
    } else if (c == '"' || c == '\'') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(cur), cur.clear(), in_word = false;
    } else {
      cur.push_back(c);
      in_word = true;
    }
  }
  if (in_word) words.push_back(cur);
  return words;
}

// A minimal, hermetic environment: PATH, LC_ALL=C, TZ=UTC, an empty config
// file (so /etc/pveaudit is never consulted), plus `extra` ("K=V", later
// entries override earlier ones with the same key).
inline std::vector<std::string> MakeEnv(const std::vector<std::string>& extra) {
  std::map<std::string, std::string> m = {
      {"PATH", "/usr/bin:/bin"}, {"LC_ALL", "C"}, {"TZ", "UTC"}};
  // The sanitizers' options reach the programs under test too (a TSan
  // build's log_path, so a report of pveauditd's threads is not lost in
  // its captured stderr).
  for (const char* k : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS", "LSAN_OPTIONS"})
    if (const char* v = std::getenv(k)) m[k] = v;
  for (const std::string& kv : extra) {
    auto eq = kv.find('=');
    m[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
  }
  std::vector<std::string> env;
  for (auto& [k, v] : m) env.push_back(k + "=" + v);
  return env;
}

// A loopback port of `type` (SOCK_STREAM, SOCK_DGRAM) that was free a
// moment ago (bound to port 0 and released; the program under test binds
// it next); -1 when none could be had.
inline int FreePort(int type = SOCK_STREAM) {
  int fd = socket(AF_INET, type, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

inline std::vector<char*> CStrings(std::vector<std::string>& v) {
  std::vector<char*> p;
  for (auto& s : v) p.push_back(s.data());
  p.push_back(nullptr);
  return p;
}

// Runs `path` with `args` (args[0] is argv[0]) and captures its output.
inline RunResult RunProgram(const std::string& path, std::vector<std::string> args,
                            const std::vector<std::string>& env_extra) {
  RunResult r;
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return r;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
  std::vector<std::string> env = MakeEnv(env_extra);
  auto argv = CStrings(args);
  auto envp = CStrings(env);
  pid_t pid;
  int rc = posix_spawn(&pid, path.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    ADD_FAILURE() << "posix_spawn " << path << ": " << std::strerror(rc);
    return r;
  }
  struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, size_t(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) r.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  return r;
}

// Starts `path` with output to /dev/null; returns the pid (or -1).
inline pid_t SpawnQuiet(const std::string& path, std::vector<std::string> args,
                        const std::vector<std::string>& env_extra) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  std::vector<std::string> env = MakeEnv(env_extra);
  auto argv = CStrings(args);
  auto envp = CStrings(env);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, path.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    ADD_FAILURE() << "posix_spawn " << path << ": " << std::strerror(rc);
    return -1;
  }
  return pid;
}

// Sends `sig` to *pid, reaps it and sets *pid to -1. Returns its exit code,
// 128 + the signal that ended it, or -1 when there was no process.
inline int StopProcess(pid_t* pid, int sig) {
  if (*pid <= 0) return -1;
  kill(*pid, sig);
  int status = 0;
  waitpid(*pid, &status, 0);
  *pid = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  ASSERT_TRUE(out.good()) << path;
}

// Appends `data` to `path`, as a program writing its log does.
inline void AppendFile(const std::string& path, const std::string& data) {
  FILE* f = std::fopen(path.c_str(), "a");
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(std::fwrite(data.data(), 1, data.size(), f), data.size());
  ASSERT_EQ(std::fclose(f), 0);
}

inline void SetMtime(const std::string& path, time_t t) {
  struct utimbuf ub = {t, t};
  ASSERT_EQ(utime(path.c_str(), &ub), 0) << path << ": " << std::strerror(errno);
}

inline std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> v;
  std::string cur;
  for (char c : s) {
    if (c == '\n')
      v.push_back(cur), cur.clear();
    else
      cur.push_back(c);
  }
  if (!cur.empty()) v.push_back(cur);
  return v;
}

inline bool Contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// Writes `per_day` events a day for `years` years up to now as JSON lines
// (the import format: four users, four actions, one failure in six);
// returns how many. For retention tests, which need months of full blocks.
inline size_t WriteYearsOfEvents(const std::string& path, double years, int per_day) {
  std::ofstream out(path);
  const time_t now = time(nullptr);
  const time_t start = now - time_t(years * 365.25 * 86400);
  const time_t step = 86400 / per_day;
  const char* users[] = {"alice@pve", "bob@pve", "root@pam", "carol@ldap"};
  const char* actions[] = {"login", "vm:start", "vm:stop", "vm:config"};
  std::mt19937 rng(11);
  size_t n = 0;
  char buf[512];
  for (time_t t = start; t < now - 3600; t += step, ++n) {
    struct tm tm;
    gmtime_r(&t, &tm);
    char ts[32];
    std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    std::snprintf(buf, sizeof buf,
                  "{\"time\":\"%s\",\"user\":\"%s\",\"action\":\"%s\",\"resource\":\"/vms/%u\","
                  "\"result\":\"%s\",\"node\":\"pve1\",\"ip\":\"192.0.2.%u\"}\n",
                  ts, users[rng() % 4], actions[rng() % 4], unsigned(100 + rng() % 20),
                  rng() % 6 ? "success" : "failure", unsigned(1 + rng() % 50));
    out << buf;
  }
  return n;
}

// 2025-02-01T00:00:00Z: the mtime given to classic-syslog fixtures so the
// importer infers the year 2025 for their "Jan  8" dates.
constexpr time_t kAuthMtime = 1738368000;

// A test with its own data dir and scratch dir (removed afterwards). The
// fixtures are copied into the scratch dir so mtimes can be set freely.
class E2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pveaudit-e2e-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr) << std::strerror(errno);
    root_ = tmpl;
    data_dir_ = root_ + "/data";
    work_ = root_ + "/work";
    std::filesystem::create_directories(work_);
    // data_dir_ is created by pveam itself (or not, for bad arguments).
    config_ = root_ + "/pveaudit.toml";
    WriteFile(config_, "# empty: defaults\n");
  }
  void TearDown() override {
    std::error_code ec;
    if (!root_.empty()) std::filesystem::remove_all(root_, ec);
  }

  std::vector<std::string> Env(std::vector<std::string> extra = {}) const {
    std::vector<std::string> env = {"PVEAUDIT_DATA_DIR=" + data_dir_, "PVEAUDIT_CONFIG=" + config_};
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
  }

  // Runs a command line as typed by a user, e.g.
  // `pveam access log --action "vm:start"`; the first word picks the binary.
  RunResult Sh(const std::string& line, std::vector<std::string> env_extra = {}) const {
    std::vector<std::string> words = SplitCommandLine(line);
    EXPECT_FALSE(words.empty());
    std::string bin = words[0] == "pveum" ? kPveum : kPveam;
    return RunProgram(bin, words, Env(std::move(env_extra)));
  }

  // pveam with the given arguments (after "pveam").
  RunResult Pveam(std::vector<std::string> args, std::vector<std::string> env_extra = {}) const {
    args.insert(args.begin(), "pveam");
    return RunProgram(kPveam, args, Env(std::move(env_extra)));
  }

  // Copies fixture `name` into the scratch dir; returns the copy's path.
  std::string Fixture(const std::string& name, time_t mtime = 0) const {
    std::string dst = work_ + "/" + name;
    std::filesystem::copy_file(kFixtures + "/" + name, dst,
                               std::filesystem::copy_options::overwrite_existing);
    if (mtime) SetMtime(dst, mtime);
    return dst;
  }

  // Imports the standard fixture set in a fixed order (ids are assigned in
  // this order): access.log (ids 1-20), auth.log (21-32), tasks-index
  // (33-55), events.jsonl (56-57).
  void ImportStandard() {
    std::string access = Fixture("access.log");
    std::string auth = Fixture("auth.log", kAuthMtime);
    std::string tasks = Fixture("tasks-index");
    std::string json = Fixture("events.jsonl");
    RunResult r = Pveam({"access", "import", "--format", "pveproxy", "--node", "pve1", access});
    ASSERT_EQ(r.code, 0) << r;
    r = Pveam({"access", "import", "--format", "auth", auth});
    ASSERT_EQ(r.code, 0) << r;
    r = Pveam({"access", "import", "--format", "tasks", tasks});
    ASSERT_EQ(r.code, 0) << r;
    r = Pveam({"access", "import", "--format", "json", json});
    ASSERT_EQ(r.code, 0) << r;
  }

  // Parses stdout as JSON (failing the test when it is not).
  static nlohmann::json Json(const RunResult& r) {
    try {
      return nlohmann::json::parse(r.out);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "stdout is not JSON: " << e.what() << "\n" << r;
      return nlohmann::json::array();
    }
  }

  // The ids of a JSON event array, in output order.
  static std::vector<int64_t> Ids(const nlohmann::json& arr) {
    std::vector<int64_t> ids;
    for (const auto& o : arr) ids.push_back(o.value("id", int64_t(-1)));
    return ids;
  }

  // `pveam access status --output-format json` (one object) as key -> value.
  std::map<std::string, nlohmann::json> Status() const {
    RunResult r = Pveam({"access", "status", "--output-format", "json"});
    EXPECT_EQ(r.code, 0) << r;
    std::map<std::string, nlohmann::json> m;
    auto j = Json(r);
    EXPECT_TRUE(j.is_object()) << r;
    if (j.is_object())
      for (auto it = j.begin(); it != j.end(); ++it) m[it.key()] = it.value();
    return m;
  }

  int64_t EventCount() const {
    auto s = Status();
    return s.count("events") ? s["events"].get<int64_t>() : -1;
  }

  std::string DbPath() const { return data_dir_ + "/pveaudit.db"; }

  std::string root_, data_dir_, work_, config_;
};

// Ranges of ids, for readable expectations: Seq(23, 28) = 23..28.
inline std::vector<int64_t> Seq(int64_t a, int64_t b) {
  std::vector<int64_t> v;
  for (int64_t i = a; i <= b; ++i) v.push_back(i);
  return v;
}

inline std::vector<int64_t> Cat(std::initializer_list<std::vector<int64_t>> parts) {
  std::vector<int64_t> v;
  for (const auto& p : parts) v.insert(v.end(), p.begin(), p.end());
  return v;
}

}  // namespace e2e
