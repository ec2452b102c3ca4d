// pg_test_server.h
// A real PostgreSQL server for the tests of one test binary. Started on
// first use (tests that never ask for it cost nothing) and stopped when
// the binary exits:
//   initdb (PostgreSQL's own binaries, /usr/lib/postgresql/<newest>/bin, or
//   $PVEAUDIT_PG_BINDIR) into a fresh directory under /tmp, then
//   postgres -p PORT -k DIR/sock -c listen_addresses=127.0.0.1 -c fsync=on
//   on a free loopback port, with password (scram-sha-256) authentication
//   for every connection and a random password; then a database
//   "pveaudit_test". At exit: immediate shutdown (SIGQUIT; the data is
//   thrown away), directory removed.
// initdb and postgres refuse to run as root: as root (CI) they run as the
// `postgres` user of the Debian package (setpriv), in a directory owned by
// it. The server gets SIGQUIT if the test binary dies without stopping it.
// To test against an existing server instead, set PVEAUDIT_TEST_PG to its
// libpq conninfo, e.g. PVEAUDIT_TEST_PG="host=db1 dbname=ci user=ci"; the
// role needs CREATE on that database (each test gets its own schema,
// dropped at exit).
// The first cluster initdb makes is kept, never started, as a template
// (/tmp/pveaudit-pg-template-<uid>-<n>, 0700, the server user's) that the
// test processes after it copy instead of running initdb again; remove it
// freely.
// Missing binaries or a server that does not come up are an error, with
// the reason, in error(): tests must fail on it, not skip.
// Thread safety: use from the test's main thread.
#pragma once

#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"

extern char** environ;

namespace pveaudit {

class PgTestServer {
 public:
  // The binary's one server, started on the first call.
  static PgTestServer& Shared() {
    static PgTestServer server;
    return server;
  }

  // Why there is no server; empty when there is one.
  const std::string& error() const { return error_; }

  // A conninfo for a new, empty schema of the test database: the store's
  // tables go there (it is the search_path's only schema).
  Result<std::string> FreshSchema() {
    if (!error_.empty()) return Status::Internal(error_);
    const std::string name =
        "pveaudit_t" + std::to_string(getpid()) + "_" + std::to_string(++schemas_);
    PGconn* c = Connect(conninfo_);
    std::string err;
    if (PQstatus(c) != CONNECTION_OK) {
      err = PQerrorMessage(c);
    } else {
      PGresult* r = PQexec(c, ("CREATE SCHEMA " + name).c_str());
      if (PQresultStatus(r) != PGRES_COMMAND_OK) err = PQresultErrorMessage(r);
      PQclear(r);
    }
    PQfinish(c);
    if (!err.empty()) return Status::IOError("cannot create test schema " + name + ": " + err);
    created_.push_back(name);
    return conninfo_ + " options='-csearch_path=" + name + "'";
  }

  // The same as FreshSchema, as the config's store URL takes it
  // (postgresql://USER@HOST:PORT/DB?...&options=-csearch_path%3DSCHEMA)
  // and the password apart (for a password file: "*:*:*:*:PASSWORD").
  struct UrlAndPassword {
    std::string url, password;
  };
  Result<UrlAndPassword> FreshSchemaUrl() {
    auto conninfo = FreshSchema();
    if (!conninfo.ok()) return conninfo.status();
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(conninfo->c_str(), &err);
    if (!opts) {
      std::string e = err ? err : "cannot parse";
      PQfreemem(err);
      return Status::Internal("test server conninfo: " + e);
    }
    std::string host = "localhost", port, user, db, options, sslmode, password;
    for (PQconninfoOption* o = opts; o->keyword; ++o) {
      if (!o->val) continue;
      const std::string k = o->keyword, v = o->val;
      if (k == "host" || k == "hostaddr") host = v;
      if (k == "port") port = v;
      if (k == "user") user = v;
      if (k == "dbname") db = v;
      if (k == "options") options = v;
      if (k == "sslmode") sslmode = v;
      if (k == "password") password = v;
    }
    PQconninfoFree(opts);
    auto encode = [](const std::string& v) {
      std::string out;
      for (unsigned char c : v) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
          out += char(c);
        } else {
          char hex[4];
          snprintf(hex, sizeof hex, "%%%02X", c);
          out += hex;
        }
      }
      return out;
    };
    UrlAndPassword r;
    r.url = "postgresql://" + (user.empty() ? "" : encode(user) + "@") +
            (host.starts_with("/") ? "" : host) + (port.empty() ? "" : ":" + port) + "/" +
            encode(db) + "?connect_timeout=10";
    if (host.starts_with("/")) r.url += "&host=" + encode(host);
    if (!sslmode.empty()) r.url += "&sslmode=" + encode(sslmode);
    if (!options.empty()) r.url += "&options=" + encode(options);
    r.password = password;
    return r;
  }

  // Stops the server as an administrator or a crash would, keeping its
  // data: `immediate` = SIGQUIT (no checkpoint; recovery at the next
  // start), else a fast shutdown (SIGINT: open transactions are rolled
  // back, clients disconnected). Only a server these tests started.
  Status Halt(bool immediate) {
    if (external_ || pid_ <= 0) return Status::Internal("no server of ours to stop");
    kill(pid_, immediate ? SIGQUIT : SIGINT);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return Status::OK();
  }
  // Starts a server Halt stopped again, on the same port and data.
  Status Resume() {
    if (external_ || pid_ > 0 || start_argv_.empty())
      return Status::Internal("no stopped server of ours to start");
    pid_ = Spawn(start_argv_, dir_ + "/server.log");
    if (pid_ < 0) return Status::Internal("cannot start postgres again");
    int status = 0;
    for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
         std::chrono::steady_clock::now() < until;
         std::this_thread::sleep_for(std::chrono::milliseconds(50))) {
      if (PQping(conninfo_.c_str()) == PQPING_OK) return Status::OK();
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return Status::Internal("postgres exited at its restart:\n" + Tail(dir_ + "/server.log"));
      }
    }
    return Status::Internal("postgres did not come back within 60 s");
  }

  ~PgTestServer() {
    if (external_) {  // an existing server: leave it as found
      PGconn* c = created_.empty() ? nullptr : Connect(conninfo_);
      if (c && PQstatus(c) == CONNECTION_OK)
        for (const std::string& s : created_)
          PQclear(PQexec(c, ("DROP SCHEMA " + s + " CASCADE").c_str()));
      if (c) PQfinish(c);
    }
    Stop();
  }

 private:
  PgTestServer() {
    if (const char* env = getenv("PVEAUDIT_TEST_PG"); env && *env) {
      conninfo_ = env;
      external_ = true;
      PGconn* c = PQconnectdb(conninfo_.c_str());
      if (PQstatus(c) != CONNECTION_OK)
        error_ = std::string("cannot connect to PVEAUDIT_TEST_PG: ") + PQerrorMessage(c);
      PQfinish(c);
      return;
    }
    error_ = Start();
    if (!error_.empty()) {
      error_ = "cannot start a PostgreSQL server for the tests: " + error_;
      Stop();
    }
  }
  PgTestServer(const PgTestServer&) = delete;
  PgTestServer& operator=(const PgTestServer&) = delete;

  static bool HasServer(const std::filesystem::path& bin) {
    return access((bin / "initdb").c_str(), X_OK) == 0 &&
           access((bin / "postgres").c_str(), X_OK) == 0;
  }

  static std::string FindBinDir() {
    namespace fs = std::filesystem;
    if (const char* env = getenv("PVEAUDIT_PG_BINDIR"); env && *env)
      return HasServer(env) ? env : "";
    std::string best;
    int best_version = 0;
    std::error_code ec;
    for (const auto& d : fs::directory_iterator("/usr/lib/postgresql", ec)) {
      int v = std::atoi(d.path().filename().c_str());
      if (v > best_version && HasServer(d.path() / "bin")) {
        best_version = v;
        best = (d.path() / "bin").string();
      }
    }
    return best;
  }

  // A connection whose notices ("drop cascades to ...") are not printed.
  static PGconn* Connect(const std::string& conninfo) {
    PGconn* c = PQconnectdb(conninfo.c_str());
    if (c)
      PQsetNoticeProcessor(
          c, [](void*, const char*) {}, nullptr);
    return c;
  }

  // argv for running `program` as the server's user, with SIGQUIT when we die.
  std::vector<std::string> As(const std::string& program) const {
    return AsUser(bindir_ + "/" + program);
  }
  std::vector<std::string> AsUser(const std::string& path) const {
    std::vector<std::string> a = {"/usr/bin/setpriv", "--pdeathsig", "QUIT"};
    if (getuid() == 0) {
      a.push_back("--reuid=" + std::to_string(uid_));
      a.push_back("--regid=" + std::to_string(gid_));
      a.push_back("--clear-groups");
    }
    a.push_back(path);
    return a;
  }

  // Starts argv with stdout and stderr to `log`, in dir_. Returns the pid,
  // or -1.
  pid_t Spawn(std::vector<std::string> argv, const std::string& log) const {
    std::vector<char*> args;
    for (std::string& s : argv) args.push_back(s.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    // The server's user may not enter our working directory.
    posix_spawn_file_actions_addchdir_np(&fa, dir_.c_str());
    pid_t pid = -1;
    if (posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ) != 0) pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    return pid;
  }

  static std::string Tail(const std::string& file) {
    std::ifstream in(file);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    if (s.size() > 2000) s = "..." + s.substr(s.size() - 2000);
    return s;
  }

  Status Chown(const std::string& path, mode_t mode) const {
    if (getuid() == 0 && chown(path.c_str(), uid_, gid_) != 0)
      return Status::IOError("cannot give " + path + " to the postgres user");
    if (chmod(path.c_str(), mode) != 0) return Status::IOError("cannot chmod " + path);
    return Status::OK();
  }

  static int FreeLoopbackPort() {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = 0;
    if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
  }

  // Runs `argv` to the end; true when it exited 0.
  bool Run(std::vector<std::string> argv, const std::string& log) const {
    pid_t p = Spawn(std::move(argv), log);
    if (p < 0) return false;
    int status = 0;
    waitpid(p, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }

  // A fresh cluster in dir_/data with a random password; "" or why not.
  std::string InitDb() {
    std::random_device rd;
    for (int i = 0; i < 4; ++i) password_ += std::to_string(rd());
    const std::string pwfile = dir_ + "/pwfile";
    std::ofstream(pwfile) << password_ << "\n";
    if (Status st = Chown(pwfile, 0600); !st.ok()) return st.message();
    // --no-sync: the cluster lives as long as the test binary; the server
    // itself runs with fsync=on, as in production.
    std::vector<std::string> init = As("initdb");
    init.insert(init.end(),
                {"-D", dir_ + "/data", "-U", "pveaudit", "-A", "scram-sha-256", "-E", "UTF8",
                 "--locale=C", "--no-sync", "--no-instructions", "--pwfile=" + pwfile});
    const std::string initlog = dir_ + "/initdb.log";
    const bool ok = Run(init, initlog);
    unlink(pwfile.c_str());
    if (!ok) return "initdb failed:\n" + Tail(initlog);
    return "";
  }

  // Copies the template's cluster into dir_/data; false when there is none.
  bool CopyTemplate(const std::string& tmpl) {
    // Only one the server's user made (its name is guessable, and a cluster
    // directory holds the configuration the server runs).
    struct stat st;
    if (lstat(tmpl.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != uid_ ||
        (st.st_mode & 077) != 0)
      return false;
    std::ifstream pw(tmpl + "/password");
    std::string password;
    if (!std::getline(pw, password) || password.empty()) return false;
    std::vector<std::string> cp = AsUser("/bin/cp");
    cp.insert(cp.end(), {"-a", tmpl + "/data", dir_ + "/data"});
    if (!Run(cp, dir_ + "/cp.log")) {
      std::error_code ec;
      std::filesystem::remove_all(dir_ + "/data", ec);
      return false;
    }
    password_ = password;
    return true;
  }

  // Keeps dir_/data, not started yet, as the template (best effort).
  void SaveTemplate(const std::string& tmpl) const {
    char work[] = "/tmp/pveaudit-pg-template-new-XXXXXX";
    if (!mkdtemp(work)) return;
    const std::string w = work;
    bool ok = Chown(w, 0700).ok();
    std::vector<std::string> cp = AsUser("/bin/cp");
    cp.insert(cp.end(), {"-a", dir_ + "/data", w + "/data"});
    ok = ok && Run(cp, dir_ + "/cp.log");
    if (ok) {
      std::ofstream(w + "/password") << password_ << "\n";
      ok = Chown(w + "/password", 0600).ok();
    }
    // rename() fails when another process put its template there first.
    std::error_code ec;
    if (!ok || rename(w.c_str(), tmpl.c_str()) != 0) std::filesystem::remove_all(w, ec);
  }

  // Returns "" or why it failed.
  std::string Start() {
    bindir_ = FindBinDir();
    if (bindir_.empty())
      return "PostgreSQL server binaries (initdb, postgres) not found in " +
             std::string(getenv("PVEAUDIT_PG_BINDIR") ? "$PVEAUDIT_PG_BINDIR"
                                                      : "/usr/lib/postgresql/*/bin") +
             ";"
             " install them (apt-get install postgresql, see scripts/install-deps), set "
             "PVEAUDIT_PG_BINDIR, or point PVEAUDIT_TEST_PG at an existing server";
    uid_ = getuid();
    gid_ = getgid();
    if (uid_ == 0) {
      const passwd* pw = getpwnam("postgres");
      if (!pw) return "running as root, and there is no `postgres` user to run the server as";
      uid_ = pw->pw_uid;
      gid_ = pw->pw_gid;
    }
    // Directly under /tmp: the postgres user must reach it, and a private
    // temporary directory of ours would be closed to it.
    char tmpl[] = "/tmp/pveaudit-pg-XXXXXX";
    if (!mkdtemp(tmpl)) return "cannot create a directory under /tmp";
    dir_ = tmpl;
    if (Status st = Chown(dir_, 0700); !st.ok()) return st.message();
    const std::string sock = dir_ + "/sock";
    if (mkdir(sock.c_str(), 0700) != 0) return "cannot create " + sock;
    if (Status st = Chown(sock, 0700); !st.ok()) return st.message();

    // initdb is most of a start (about 2 s of 3), and ctest runs each test
    // in a process of its own: the first cluster initdb makes is kept as a
    // template under /tmp (per server user and PostgreSQL binaries; never
    // started) that later processes copy. It is made whole in a directory
    // of its own and renamed into place, so a half-made one is never used.
    const std::string tmpl_dir = "/tmp/pveaudit-pg-template-" + std::to_string(uid_) + "-" +
                                 std::to_string(std::hash<std::string>{}(bindir_) % 1000000007);
    if (!CopyTemplate(tmpl_dir)) {
      if (std::string err = InitDb(); !err.empty()) return err;
      SaveTemplate(tmpl_dir);
    }

    // The port is free when we look; another process may take it before
    // the server binds it: try again with another.
    const std::string log = dir_ + "/server.log";
    int status = 0;
    for (int attempt = 0; attempt < 5; ++attempt) {
      const int port = FreeLoopbackPort();
      if (port == 0) return "no free port on 127.0.0.1";
      std::vector<std::string> argv = As("postgres");
      argv.insert(argv.end(), {"-D", dir_ + "/data", "-p", std::to_string(port), "-k", sock, "-c",
                               "listen_addresses=127.0.0.1", "-c", "fsync=on"});
      pid_ = Spawn(argv, log);
      if (pid_ < 0) return "cannot run " + bindir_ + "/postgres";
      start_argv_ = argv;
      const std::string base = "host=127.0.0.1 port=" + std::to_string(port) +
                               " user=pveaudit password=" + password_ +
                               " sslmode=disable connect_timeout=10";
      bool exited = false;
      for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
           std::chrono::steady_clock::now() < until;) {
        if (PQping((base + " dbname=postgres").c_str()) == PQPING_OK) break;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
          exited = true;
          pid_ = -1;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (exited) {
        if (Tail(log).find("could not bind") != std::string::npos) continue;
        return "postgres exited:\n" + Tail(log);
      }
      PGconn* c = PQconnectdb((base + " dbname=postgres").c_str());
      std::string err;
      if (PQstatus(c) != CONNECTION_OK) {
        err = PQerrorMessage(c);
      } else {
        PGresult* r = PQexec(c, "CREATE DATABASE pveaudit_test");
        if (PQresultStatus(r) != PGRES_COMMAND_OK) err = PQresultErrorMessage(r);
        PQclear(r);
      }
      PQfinish(c);
      if (!err.empty())
        return "server at port " + std::to_string(port) + ": " + err + "\n" + Tail(log);
      conninfo_ = base + " dbname=pveaudit_test";
      return "";
    }
    return "the server found no free port:\n" + Tail(log);
  }

  void Stop() {
    if (pid_ > 0) {
      // Immediate shutdown: the cluster is thrown away, and the shutdown
      // checkpoint of a fast one (SIGINT) fsyncs ~300 files, 1-3 s here.
      kill(pid_, SIGQUIT);
      int status = 0;
      auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (waitpid(pid_, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > until) {
          kill(pid_, SIGKILL);
          waitpid(pid_, &status, 0);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      pid_ = -1;
    }
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
      dir_.clear();
    }
  }

  std::string error_, conninfo_, bindir_, dir_, password_;
  std::vector<std::string> start_argv_;  // how the server was started (Resume)
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  pid_t pid_ = -1;
  bool external_ = false;
  int schemas_ = 0;
  std::vector<std::string> created_;
};

}  // namespace pveaudit
