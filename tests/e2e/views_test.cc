// One real action = one event (docs/correlation.md), through the real
// pveam binary and its importer. Fixtures (node pve1, 2025-03-10 UTC):
//
//   views-pve1-access.log       alice's VM create (09:00:01), backup through
//                               /api2/extjs (09:10), and start of VM 100
//                               (09:50:01); anonymous ticket requests: a 401
//                               and an extjs 200 from 203.0.113.5 (failed
//                               logins), a 401 from 198.51.100.9 (no auth
//                               line), a 308 redirect from 192.0.2.77
//   views-pve1-auth.log         the two failed logins from 203.0.113.5
//                               (mallory@pve 09:20:00, root@pam 09:21:00)
//   views-pve1-tasks-index      qmcreate:299, vzdump:100, qmstart:100 (failed)
//   views-pve1-tasks-active-1   qmstart:100 running
//   views-pve1-tasks-active-2   qmstart:100 finished (the same UPID)
//
// Every import order of the five files gives the same seven events.
#include <algorithm>

#include "e2e_util.h"

namespace e2e {
namespace {

// time ip user action resource result status
const std::vector<std::string> kWant = {
    "2025-03-10T09:00:00Z 192.0.2.10 alice@pve vm:create /vms/299 success OK",
    "2025-03-10T09:10:00Z 192.0.2.10 alice@pve guest:backup /vms/100 success OK",
    "2025-03-10T09:20:00Z 203.0.113.5 mallory@pve login /access/users/mallory@pve failure 401",
    "2025-03-10T09:21:00Z 203.0.113.5 root@pam login /access/users/root@pam failure 200",
    "2025-03-10T09:30:00Z 198.51.100.9 - access:ticket /access failure 401",
    "2025-03-10T09:40:00Z 192.0.2.77 - access:ticket /access unknown 308",
    "2025-03-10T09:50:00Z 192.0.2.10 alice@pve vm:start /vms/100 failure start failed: QEMU "
    "exited with code 1",
};

class ViewsTest : public E2eTest {
 protected:
  void Import(const std::string& name) {
    std::vector<std::string> args = {"access", "import", "--node", "pve1"};
    if (name.find("tasks") != std::string::npos) args.insert(args.end(), {"--format", "tasks"});
    if (name.find("auth") != std::string::npos) args.insert(args.end(), {"--format", "auth"});
    args.push_back(Fixture("views-pve1-" + name));
    RunResult r = Pveam(args);
    ASSERT_EQ(r.code, 0) << r;
  }
  void ImportAll(const std::vector<std::string>& order) {
    for (const std::string& f : order) Import(f);
  }
  nlohmann::json Log(std::vector<std::string> args = {}) {
    args.insert(args.begin(), {"access", "log", "--output-format", "json"});
    RunResult r = Pveam(args);
    EXPECT_EQ(r.code, 0) << r;
    return Json(r);
  }
  static std::vector<std::string> Rows(const nlohmann::json& arr) {
    std::vector<std::string> rows;
    auto s = [](const nlohmann::json& v) {
      std::string x = v.is_string() ? v.get<std::string>() : "";
      return x.empty() ? std::string("-") : x;
    };
    for (const auto& e : arr)
      rows.push_back(s(e["time"]) + " " + s(e["ip"]) + " " + s(e["user"]) + " " + s(e["action"]) +
                     " " + s(e["resource"]) + " " + s(e["result"]) + " " + s(e["status"]));
    return rows;
  }
  // `pveam access log --count ...` as key -> count.
  std::map<std::string, int64_t> Count(std::vector<std::string> args, const std::string& key) {
    args.insert(args.begin(), {"access", "log", "--output-format", "json"});
    RunResult r = Pveam(args);
    EXPECT_EQ(r.code, 0) << r;
    std::map<std::string, int64_t> m;
    for (const auto& g : Json(r)) {
      // JSON gives an anonymous group (no user) as "user": "" with its
      // "ip"; the map uses text output's label for it, "- (ADDRESS)".
      std::string k = g[key].get<std::string>();
      if (key == "user" && k.empty()) {
        const std::string ip = g["ip"].get<std::string>();
        k = ip.empty() ? "-" : "- (" + ip + ")";
      }
      m[k] = g["count"].get<int64_t>();
    }
    return m;
  }
};

const std::vector<std::string> kFiles = {"tasks-index", "access.log", "auth.log", "tasks-active-1",
                                         "tasks-active-2"};

// Regression (issue 8, points 1, 2, 3, 5, 6): creates and backups were two
// events (request on /vms with the IP, task on /vms/299 without), a task
// index imported before the access log doubled every task, a failed login
// was an auth line plus an anonymous ticket request, a task in active and
// index was two events, and a 308 was a successful ticket request.
TEST_F(ViewsTest, OneEventPerActionInAnyImportOrder) {
  std::vector<std::string> order = kFiles;
  std::sort(order.begin(), order.end());
  int n = 0;
  do {
    if (n++ % 17) continue;  // 8 of the 120 orders (each import is a process)
    SCOPED_TRACE(order[0] + " " + order[1] + " " + order[2] + " " + order[3] + " " + order[4]);
    TearDown();
    SetUp();
    ImportAll(order);
    nlohmann::json all = Log();
    EXPECT_EQ(Rows(all), kWant) << all.dump(1);
    EXPECT_EQ(EventCount(), 14) << "the store keeps every line";
  } while (std::next_permutation(order.begin(), order.end()));
}

TEST_F(ViewsTest, FiltersSeeTheJoinedEvent) {
  ImportAll(kFiles);
  EXPECT_EQ(Rows(Log({"--resource", "/vms/299"})), std::vector<std::string>{kWant[0]});
  EXPECT_EQ(Rows(Log({"--ip", "192.0.2.10"})),
            (std::vector<std::string>{kWant[0], kWant[1], kWant[6]}));
  EXPECT_EQ(Rows(Log({"--ip", "192.0.2.10", "--resource", "/vms/100"})),
            (std::vector<std::string>{kWant[1], kWant[6]}));
  EXPECT_EQ(Rows(Log({"--user", "alice@pve", "--action", "create"})),
            std::vector<std::string>{kWant[0]});
  EXPECT_EQ(Rows(Log({"--action", "login"})), (std::vector<std::string>{kWant[2], kWant[3]}));
  EXPECT_EQ(Rows(Log({"--limit", "2"})), (std::vector<std::string>{kWant[5], kWant[6]}));
  // The joined event names the lines it was made of.
  nlohmann::json create = Log({"--resource", "/vms/299"});
  ASSERT_EQ(create.size(), 1u);
  // Ids in import order: tasks-index 1-3, access.log 4-10.
  EXPECT_EQ(create[0]["id"], 1);
  EXPECT_EQ(create[0]["detail"],
            "UPID:pve1:00001000:0000ABCD:67CEAA10:qmcreate:299:alice@pve: request=#4 "
            "POST /api2/json/nodes/pve1/qemu")
      << create.dump();
}

TEST_F(ViewsTest, CountsEqualTheListing) {
  ImportAll(kFiles);
  // Regression: `--action vm:create --count N --hour 1` counted each create twice.
  EXPECT_EQ(Count({"--action", "vm:create", "--count", "1", "--hour", "1"}, "user"),
            (std::map<std::string, int64_t>{{"alice@pve", 1}}));
  EXPECT_TRUE(Count({"--action", "vm:create", "--count", "2", "--hour", "1"}, "user").empty());
  // Regression: `--failed 1 --count N` put every anonymous 401 under "-".
  EXPECT_EQ(Count({"--failed", "1", "--count", "1"}, "user"),
            (std::map<std::string, int64_t>{
                {"- (198.51.100.9)", 1}, {"alice@pve", 1}, {"mallory@pve", 1}, {"root@pam", 1}}));
  EXPECT_EQ(Count({"--failed", "1", "--count", "2", "--group-by", "ip"}, "ip"),
            (std::map<std::string, int64_t>{{"203.0.113.5", 2}}));
  EXPECT_EQ(Count({"--count", "1", "--group-by", "resource"}, "resource"),
            (std::map<std::string, int64_t>{{"/access", 2},
                                            {"/access/users/mallory@pve", 1},
                                            {"/access/users/root@pam", 1},
                                            {"/vms/100", 2},
                                            {"/vms/299", 1}}));
  RunResult text = Pveam({"access", "log", "--failed", "1", "--count", "1"});
  ASSERT_EQ(text.code, 0) << text;
  EXPECT_TRUE(Contains(text.out, "- (198.51.100.9)")) << text.out;
}

}  // namespace
}  // namespace e2e
