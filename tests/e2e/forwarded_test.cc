// Requests forwarded between cluster nodes (docs/correlation.md,
// "Forwarded requests"), through the real pveam binary: alice talks to
// pve1's pveproxy about VM 200 on pve2; pve1 forwards, so both nodes' access
// logs have the request (pve2's with pve1's address 10.0.0.1). Fixtures:
//
//   forwarded-pve1.log    the client side: 192.0.2.10 (alice), 192.0.2.20 (bob)
//   forwarded-pve2.log    the forwarded copies from 10.0.0.1, plus two
//                         genuine identical stops by alice from two clients
//                         (12:05:00, logged on pve2 only: never merged) and a
//                         shutdown that pve1 logged as 500 (not merged)
//   forwarded-pve2-tasks  the qmstart:200 that alice's start began
#include "e2e_util.h"

namespace e2e {
namespace {

// time node ip action result, per event shown.
const std::vector<std::string> kWant = {
    "2025-03-10T12:00:00Z pve2 192.0.2.10 vm:start success",  // the task, with the client IP
    "2025-03-10T12:00:05Z pve1 192.0.2.10 vm:read success",
    "2025-03-10T12:01:00Z pve1 192.0.2.10 vm:config unknown",  // /api2/extjs
    "2025-03-10T12:02:00Z pve1 192.0.2.10 vm:stop success",    // pve1's own VM
    "2025-03-10T12:03:00Z pve1 192.0.2.20 vm:delete failure",
    "2025-03-10T12:05:00Z pve2 192.0.2.10 vm:stop success",
    "2025-03-10T12:05:00Z pve2 192.0.2.11 vm:stop success",
    "2025-03-10T12:06:00Z pve2 10.0.0.1 vm:shutdown success",
    "2025-03-10T12:06:01Z pve1 192.0.2.10 vm:shutdown failure",
};

class ForwardedTest : public E2eTest {
 protected:
  void Import(const std::string& what) {
    RunResult r;
    if (what == "pve1")
      r = Pveam({"access", "import", "--node", "pve1", Fixture("forwarded-pve1.log")});
    else if (what == "pve2")
      r = Pveam({"access", "import", "--node", "pve2", Fixture("forwarded-pve2.log")});
    else
      r = Pveam({"access", "import", "--format", "tasks", Fixture("forwarded-pve2-tasks")});
    ASSERT_EQ(r.code, 0) << r;
  }

  nlohmann::json Log(std::vector<std::string> args = {}) {
    args.insert(args.begin(), {"access", "log", "--output-format", "json"});
    RunResult r = Pveam(args);
    EXPECT_EQ(r.code, 0) << r;
    return Json(r);
  }

  static std::vector<std::string> Rows(const nlohmann::json& arr) {
    std::vector<std::string> rows;
    for (const auto& e : arr)
      rows.push_back(e["time"].get<std::string>() + " " + e["node"].get<std::string>() + " " +
                     e["ip"].get<std::string>() + " " + e["action"].get<std::string>() + " " +
                     e["result"].get<std::string>());
    return rows;
  }

  // The id of the stored event with this node, ip and request line.
  static int64_t IdOf(const std::map<std::string, int64_t>& ids, const std::string& key) {
    auto it = ids.find(key);
    EXPECT_NE(it, ids.end()) << key;
    return it == ids.end() ? -1 : it->second;
  }

  // Every stored access.log event's id by "node ip request line", for
  // logs imported in `order` (one event per line, ids in import order):
  // the views hide an absorbed copy from every listing.
  std::map<std::string, int64_t> StoredIds(const std::vector<std::string>& order) {
    std::map<std::string, int64_t> ids;
    int64_t id = 0;
    for (const std::string& node : order)
      for (const std::string& line : Lines(ReadFile(Fixture("forwarded-" + node + ".log")))) {
        if (line.empty()) continue;
        std::string ip = line.substr(0, line.find(' '));
        if (ip.rfind("::ffff:", 0) == 0) ip = ip.substr(7);
        size_t q = line.find('"');
        ids[node + " " + ip + " " + line.substr(q + 1, line.find(" HTTP/", q) - q - 1)] = ++id;
      }
    return ids;
  }

  void CheckAll() {
    nlohmann::json all = Log();
    EXPECT_EQ(Rows(all), kWant) << all.dump(1);
    if (all.size() != kWant.size()) return;
    // The task absorbed the pair (pve1's copy, naming pve2's) and shows
    // the client's address, whatever the import order.
    const std::string start = "POST /api2/json/nodes/pve2/qemu/200/status/start";
    std::string d = all[0]["detail"];
    EXPECT_EQ(all[0]["source"], "tasks");
    EXPECT_TRUE(Contains(d, " request=#")) << d;
    EXPECT_TRUE(Contains(d, start)) << d;
    EXPECT_TRUE(Contains(d, " forwarded=#")) << d;
    // Each merged request names pve2's copy and says it ran there.
    for (size_t i : {1, 2, 4}) {
      std::string det = all[i]["detail"];
      EXPECT_TRUE(Contains(det, " executed on pve2")) << det;
      EXPECT_EQ(all[i]["source"], "pveproxy");
    }
    for (size_t i : {3, 5, 6, 7, 8})
      EXPECT_FALSE(Contains(all[i]["detail"].get<std::string>(), "forwarded=")) << all[i].dump();

    // Counting agrees with the listing: alice 8 events, bob 1.
    RunResult r = Pveam({"access", "log", "--count", "1", "--output-format", "json"});
    ASSERT_EQ(r.code, 0) << r;
    nlohmann::json groups = Json(r);
    ASSERT_EQ(groups.size(), 2u) << r;
    EXPECT_EQ(groups[0]["user"], "alice@pve");
    EXPECT_EQ(groups[0]["count"], 8);
    EXPECT_EQ(groups[1]["user"], "bob@pve");
    EXPECT_EQ(groups[1]["count"], 1);
    r = Pveam({"access", "log", "--count", "1", "--group-by", "ip", "--output-format", "json"});
    ASSERT_EQ(r.code, 0) << r;
    std::map<std::string, int64_t> by_ip;
    for (const auto& g : Json(r)) by_ip[g["ip"]] = g["count"];
    // pve1's address only for the unmerged shutdown.
    std::map<std::string, int64_t> want_ip = {
        {"192.0.2.10", 6}, {"192.0.2.11", 1}, {"192.0.2.20", 1}, {"10.0.0.1", 1}};
    EXPECT_EQ(by_ip, want_ip) << r;

    // --limit counts a pair once.
    nlohmann::json lim =
        Log({"--start", "2025-03-10 12:00:00", "--end", "2025-03-10 12:01:30", "--limit", "2"});
    EXPECT_EQ(Rows(lim), (std::vector<std::string>{kWant[1], kWant[2]}));

    // --action vm:start: the task alone, with the client IP.
    nlohmann::json starts = Log({"--action", "vm:start"});
    EXPECT_EQ(Rows(starts), std::vector<std::string>{kWant[0]});

    // Text output: one row per action.
    RunResult text = Pveam({"access", "log"});
    ASSERT_EQ(text.code, 0) << text;
    EXPECT_EQ(Lines(text.out).size(), kWant.size() + 1) << text.out;
  }
};

TEST_F(ForwardedTest, BothNodesLogsThenTasks) {
  Import("pve1");
  Import("pve2");
  Import("tasks");
  CheckAll();
  // The merged read names pve2's copy by id.
  auto ids = StoredIds({"pve1", "pve2"});
  nlohmann::json all = Log();
  ASSERT_EQ(all.size(), kWant.size());
  const std::string read = "GET /api2/json/nodes/pve2/qemu/200/status/current";
  EXPECT_EQ(all[1]["id"], IdOf(ids, "pve1 192.0.2.10 " + read));
  EXPECT_EQ(all[1]["detail"], read + " forwarded=#" +
                                  std::to_string(IdOf(ids, "pve2 10.0.0.1 " + read)) +
                                  " executed on pve2");
}

TEST_F(ForwardedTest, AnyImportOrder) {
  // Regression (issue 8, point 2): the join was made at import, so a task
  // index imported before the access logs kept the forwarding node's
  // address, or doubled the task. Joined at query time, every order of
  // the three files gives the same answer.
  const std::vector<std::vector<std::string>> orders = {{"pve2", "tasks", "pve1"},
                                                        {"tasks", "pve1", "pve2"},
                                                        {"tasks", "pve2", "pve1"},
                                                        {"pve1", "tasks", "pve2"},
                                                        {"pve2", "pve1", "tasks"}};
  for (const auto& order : orders) {
    SCOPED_TRACE(order[0] + " " + order[1] + " " + order[2]);
    TearDown();
    SetUp();
    for (const std::string& what : order) Import(what);
    CheckAll();
  }
}

TEST_F(ForwardedTest, ExecutingNodeLogAloneIsShownAsLogged) {
  // Without pve1's log nothing pairs: pve2's copies are shown as logged,
  // with pve1's address.
  Import("pve2");
  nlohmann::json all = Log({"--action", "vm:read"});
  ASSERT_EQ(all.size(), 1u) << all.dump(1);
  EXPECT_EQ(all[0]["ip"], "10.0.0.1");
  EXPECT_EQ(all[0]["node"], "pve2");
}

TEST_F(ForwardedTest, GenuineIdenticalRequestsOnOneNodeAreNotMerged) {
  Import("pve1");
  Import("pve2");
  nlohmann::json stops =
      Log({"--action", "vm:stop", "--node", "pve2", "--start", "2025-03-10 12:05:00"});
  EXPECT_EQ(Rows(stops), (std::vector<std::string>{kWant[5], kWant[6]}));
  nlohmann::json all = Log({"--start", "2025-03-10 12:05:00"});
  EXPECT_EQ(Rows(all), (std::vector<std::string>{kWant[5], kWant[6], kWant[7], kWant[8]}));
}

}  // namespace
}  // namespace e2e
