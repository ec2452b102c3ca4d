// alert_latency: how long from the 3rd failed login appended to the
// authentication log that pveauditd follows to the alert's webhook POST
// arriving at the real receiver (tests/webhook_receiver). It starts the
// receiver and pveauditd itself on loopback in a scratch dir, adds the
// product page's default rule (failed-login, 3 attempts in 15 minutes) and a
// webhook destination for alerts, then runs N bursts: each a new user from a
// new address (so every burst fires), two failures appended, then the 3rd;
// the clock starts when the 3rd line is written and stops when the
// receiver's record (written and flushed before it answers) holds a request
// naming that user. Prints p50, p99 and max.
//
//   alert_latency --bin build/bin --bursts 1000 --dir /tmp/pveaudit-alert-lat
//                 [--poll-ms 200] [--commit-ms 50] [--gap-ms 50]
//
// Standalone (standard library only): it observes pveauditd from outside,
// as an operator would. bench/README.md says what limits the figure.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::string bin = "build/bin";
  std::string dir = "/tmp/pveaudit-alert-lat";
  int bursts = 1000;
  int poll_ms = 200;
  int commit_ms = 50;
  int gap_ms = 50;
};

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "alert_latency: %s\n", msg.c_str());
  std::exit(1);
}

std::vector<std::string> Env(const Args& a) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string v = *e;
    if (v.rfind("PVEAUDIT_", 0) != 0 && v.rfind("TZ=", 0) != 0) env.push_back(v);
  }
  env.push_back("TZ=UTC");
  env.push_back("PVEAUDIT_DATA_DIR=" + a.dir + "/data");
  env.push_back("PVEAUDIT_CONFIG=" + a.dir + "/pveaudit.conf");
  return env;
}

pid_t Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
            const std::string& out) {
  std::vector<char*> av, ev;
  for (auto& s : argv) av.push_back(const_cast<char*>(s.c_str()));
  av.push_back(nullptr);
  for (auto& s : env) ev.push_back(const_cast<char*>(s.c_str()));
  ev.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = -1;
  if (posix_spawn(&pid, av[0], &fa, nullptr, av.data(), ev.data()) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  if (pid < 0) Die("cannot start " + argv[0]);
  return pid;
}

int Run(const std::vector<std::string>& argv, const std::vector<std::string>& env,
        const std::string& out) {
  pid_t pid = Spawn(argv, env, out);
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

void Append(const std::string& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "a");
  if (!f) Die("cannot open " + path);
  if (std::fwrite(text.data(), 1, text.size(), f) != text.size() || std::fclose(f) != 0)
    Die("cannot write " + path);
}

std::string AuthFailure(const std::string& user, const std::string& ip) {
  char stamp[32];
  time_t now = time(nullptr);
  struct tm tm;
  gmtime_r(&now, &tm);
  std::strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &tm);
  return std::string(stamp) + " pve1 pvedaemon[1234]: authentication failure; rhost=::ffff:" + ip +
         " user=" + user + " msg=Authentication failure\n";
}

// The receiver's record, read as it grows.
class Record {
 public:
  explicit Record(std::string path) : path_(std::move(path)) {}
  // True once a request naming `needle` is on record.
  bool Has(const std::string& needle) {
    std::ifstream f(path_, std::ios::binary);
    if (!f) return false;
    f.seekg(std::streamoff(offset_));
    std::string chunk((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    // Only whole lines: the receiver writes one line per request.
    size_t end = chunk.rfind('\n');
    if (end != std::string::npos) {
      text_.append(chunk, 0, end + 1);
      offset_ += end + 1;
    }
    return text_.find(needle) != std::string::npos;
  }

 private:
  std::string path_, text_;
  size_t offset_ = 0;
};

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t i = size_t(p / 100.0 * double(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die(k + " needs a value");
      return argv[++i];
    };
    if (k == "--bin")
      a.bin = next();
    else if (k == "--dir")
      a.dir = next();
    else if (k == "--bursts")
      a.bursts = std::atoi(next().c_str());
    else if (k == "--poll-ms")
      a.poll_ms = std::atoi(next().c_str());
    else if (k == "--commit-ms")
      a.commit_ms = std::atoi(next().c_str());
    else if (k == "--gap-ms")
      a.gap_ms = std::atoi(next().c_str());
    else if (k == "-h" || k == "--help") {
      std::printf(
          "alert_latency [--bin DIR] [--bursts N] [--dir DIR] [--poll-ms MS]\n"
          "              [--commit-ms MS] [--gap-ms MS]\n");
      return 0;
    } else {
      Die("unknown argument '" + k + "'");
    }
  }
  if (a.bursts < 1 || a.bursts > 100000) Die("bad --bursts");
  if (a.poll_ms < 10 || a.commit_ms < 0 || a.gap_ms < 0) Die("bad --poll-ms/--commit-ms/--gap-ms");
  namespace fs = std::filesystem;
  fs::remove_all(a.dir);
  fs::create_directories(a.dir + "/data");
  const std::string auth = a.dir + "/auth.log", access = a.dir + "/access.log",
                    log = a.dir + "/out.log", record = a.dir + "/record.jsonl";
  Append(auth, "");
  Append(access, "");
  {
    std::ofstream c(a.dir + "/pveaudit.conf");
    c << "[daemon]\npoll_ms = " << a.poll_ms << "\ncommit_ms = " << a.commit_ms << "\n";
  }
  {
    std::ofstream k(a.dir + "/key");
    k << "bench-secret\n";
  }
  const auto env = Env(a);
  pid_t receiver = Spawn({a.bin + "/webhook_receiver", "--port-file", a.dir + "/port", "--record",
                          record, "--secret", "bench-secret", "--record-body"},
                         env, log);
  std::string port;
  for (int i = 0; i < 3000 && port.empty(); ++i) {
    std::ifstream p(a.dir + "/port");
    if (!(p >> port)) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (port.empty()) Die("the receiver did not start (see " + log + ")");
  const std::string pveam = a.bin + "/pveam";
  if (Run({pveam, "access", "alert", "add", "--type", "failed-login"}, env, log) != 0)
    Die("alert add failed (see " + log + ")");
  if (Run({pveam, "access", "notify", "--webhook", "http://127.0.0.1:" + port + "/hook",
           "--allow-http", "--secret-file", a.dir + "/key", "--events", "alerts"},
          env, log) != 0)
    Die("notify failed (see " + log + ")");
  pid_t daemon = Spawn({a.bin + "/pveauditd", "--data-dir", a.dir + "/data", "--auth-log", auth,
                        "--access-log", access, "--node", "pve1", "--pve-dir", a.dir + "/no-pve"},
                       env, log);
  Record rec(record);
  std::mt19937 rng(1);
  std::vector<double> ms;
  int lost = 0;
  // Burst -1 warms up (the destination starts within a second): not counted.
  for (int b = -1; b < a.bursts; ++b) {
    const std::string user = "lat" + std::to_string(b + 1) + "@pve";
    const int n = b + 2;
    const std::string ip = "10." + std::to_string(n / 65536 % 256) + "." +
                           std::to_string(n / 256 % 256) + "." + std::to_string(n % 256);
    Append(auth, AuthFailure(user, ip));
    Append(auth, AuthFailure(user, ip));
    // A pause of one poll before the 3rd, as with a person typing (the
    // first two are then usually read before it comes).
    std::this_thread::sleep_for(std::chrono::milliseconds(a.poll_ms));
    const auto t0 = Clock::now();
    Append(auth, AuthFailure(user, ip));
    // The user name in the body, as the receiver records it (JSON in JSON).
    const std::string needle = "\\\"" + user + "\\\"";
    const auto limit = t0 + std::chrono::seconds(b < 0 ? 60 : 20);
    bool got = false;
    while (Clock::now() < limit) {
      if (rec.Has(needle)) {
        got = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    const double d = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (b < 0) {
      if (!got) Die("the warm-up alert never arrived (see " + log + ")");
      continue;
    }
    if (got)
      ms.push_back(d);
    else
      ++lost;
    if ((b + 1) % 100 == 0) std::fprintf(stderr, "%d bursts\n", b + 1);
    if (a.gap_ms) std::this_thread::sleep_for(std::chrono::milliseconds(rng() % (a.gap_ms + 1)));
  }
  kill(daemon, SIGTERM);
  kill(receiver, SIGTERM);
  waitpid(daemon, nullptr, 0);
  waitpid(receiver, nullptr, 0);
  if (ms.empty()) Die("no alert arrived");
  double sum = 0;
  for (double x : ms) sum += x;
  std::printf(
      "bursts=%d received=%zu lost=%d p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f max_ms=%.1f "
      "mean_ms=%.1f poll_ms=%d commit_ms=%d\n",
      a.bursts, ms.size(), lost, Percentile(ms, 50), Percentile(ms, 90), Percentile(ms, 99),
      *std::max_element(ms.begin(), ms.end()), sum / double(ms.size()), a.poll_ms, a.commit_ms);
  return lost ? 1 : 0;
}
