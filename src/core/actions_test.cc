#include "core/actions.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace pveaudit {
namespace {

struct ApiRow {
  const char* method;
  const char* path;
  const char* action;
  const char* resource;
};

// One row per rule of docs/actions.md "API requests".
const ApiRow kApiRows[] = {
    // guests (qemu; lxc mirrors it)
    {"POST", "/nodes/pve1/qemu", "vm:create", "/vms"},
    {"GET", "/nodes/pve1/qemu", "vm:read", "/vms"},
    {"GET", "/nodes/pve1/qemu/100", "vm:read", "/vms/100"},
    {"DELETE", "/nodes/pve1/qemu/100", "vm:delete", "/vms/100"},
    {"POST", "/nodes/pve1/qemu/100/status/start", "vm:start", "/vms/100"},
    {"POST", "/nodes/pve1/qemu/100/status/stop", "vm:stop", "/vms/100"},
    {"POST", "/nodes/pve1/qemu/100/status/shutdown", "vm:shutdown", "/vms/100"},
    {"POST", "/nodes/pve1/qemu/100/status/reboot", "vm:reboot", "/vms/100"},
    {"POST", "/nodes/pve1/qemu/100/status/reset", "vm:reset", "/vms/100"},
    {"POST", "/nodes/pve1/qemu/100/status/suspend", "vm:suspend", "/vms/100"},
    {"POST", "/nodes/pve1/qemu/100/status/resume", "vm:resume", "/vms/100"},
    {"GET", "/nodes/pve1/qemu/100/status/current", "vm:read", "/vms/100"},
    {"GET", "/nodes/pve1/qemu/100/config", "vm:read", "/vms/100"},
    {"PUT", "/nodes/pve1/qemu/100/config", "vm:config", "/vms/100"},
    {"POST", "/nodes/pve1/qemu/100/config", "vm:config", "/vms/100"},
    {"GET", "/nodes/pve1/qemu/100/pending", "vm:read", "/vms/100"},
    {"PUT", "/nodes/pve1/qemu/100/cloudinit", "vm:config", "/vms/100"},
    {"PUT", "/nodes/pve1/qemu/100/firewall/options", "vm:config", "/vms/100"},
    {"PUT", "/nodes/pve1/qemu/100/unlink", "vm:config", "/vms/100"},
    {"POST", "/nodes/pve1/qemu/100/migrate", "vm:migrate", "/vms/100"},
    {"GET", "/nodes/pve1/qemu/100/migrate", "vm:read", "/vms/100"},
    {"POST", "/nodes/pve1/qemu/100/remote_migrate", "vm:migrate", "/vms/100"},
    {"POST", "/nodes/pve1/qemu/100/clone", "vm:clone", "/vms/100"},
    {"POST", "/nodes/pve1/qemu/100/template", "vm:template", "/vms/100"},
    {"PUT", "/nodes/pve1/qemu/100/resize", "vm:resize", "/vms/100"},
    {"POST", "/nodes/pve1/qemu/100/move_disk", "vm:move", "/vms/100"},
    {"POST", "/nodes/pve1/lxc/105/move_volume", "ct:move", "/vms/105"},
    {"POST", "/nodes/pve1/qemu/100/vncproxy", "vm:console", "/vms/100"},
    {"POST", "/nodes/pve1/qemu/100/termproxy", "vm:console", "/vms/100"},
    {"POST", "/nodes/pve1/qemu/100/spiceproxy", "vm:console", "/vms/100"},
    {"GET", "/nodes/pve1/qemu/100/vncwebsocket", "vm:console", "/vms/100"},
    {"PUT", "/nodes/pve1/qemu/100/sendkey", "vm:console", "/vms/100"},
    {"POST", "/nodes/pve1/qemu/100/monitor", "vm:monitor", "/vms/100"},
    {"POST", "/nodes/pve1/qemu/100/agent/exec", "vm:agent", "/vms/100"},
    {"GET", "/nodes/pve1/qemu/100/agent/info", "vm:read", "/vms/100"},
    {"GET", "/nodes/pve1/qemu/100/snapshot", "vm:read", "/vms/100"},
    {"POST", "/nodes/pve1/qemu/100/snapshot", "vm:snapshot", "/vms/100"},
    {"DELETE", "/nodes/pve1/qemu/100/snapshot/before-upgrade", "vm:delsnapshot", "/vms/100"},
    {"POST", "/nodes/pve1/qemu/100/snapshot/before-upgrade/rollback", "vm:rollback", "/vms/100"},
    {"PUT", "/nodes/pve1/qemu/100/snapshot/before-upgrade/config", "vm:config", "/vms/100"},
    {"GET", "/nodes/pve1/qemu/100/rrddata", "vm:read", "/vms/100"},
    {"POST", "/nodes/pve1/qemu/100/feature", "vm:modify", "/vms/100"},
    {"POST", "/nodes/pve1/lxc", "ct:create", "/vms"},
    {"POST", "/nodes/pve1/lxc/105/status/start", "ct:start", "/vms/105"},
    {"POST", "/nodes/pve1/lxc/105/status/shutdown", "ct:shutdown", "/vms/105"},
    {"DELETE", "/nodes/pve1/lxc/105", "ct:delete", "/vms/105"},
    {"PUT", "/nodes/pve1/lxc/105/config", "ct:config", "/vms/105"},
    {"POST", "/nodes/pve1/lxc/105/snapshot", "ct:snapshot", "/vms/105"},
    {"POST", "/nodes/pve1/lxc/105/termproxy", "ct:console", "/vms/105"},
    {"GET", "/nodes/pve1/lxc/105/status/current", "ct:read", "/vms/105"},
    // nodes
    {"GET", "/nodes", "node:read", "/nodes"},
    {"GET", "/nodes/pve1", "node:read", "/nodes/pve1"},
    {"POST", "/nodes/pve1/status", "node:power", "/nodes/pve1"},
    {"GET", "/nodes/pve1/status", "node:read", "/nodes/pve1"},
    {"POST", "/nodes/pve1/termproxy", "node:console", "/nodes/pve1"},
    {"POST", "/nodes/pve1/vncshell", "node:console", "/nodes/pve1"},
    {"POST", "/nodes/pve1/spiceshell", "node:console", "/nodes/pve1"},
    {"GET", "/nodes/pve1/vncwebsocket", "node:console", "/nodes/pve1"},
    {"PUT", "/nodes/pve1/dns", "node:config", "/nodes/pve1"},
    {"PUT", "/nodes/pve1/time", "node:config", "/nodes/pve1"},
    {"POST", "/nodes/pve1/hosts", "node:config", "/nodes/pve1"},
    {"PUT", "/nodes/pve1/config", "node:config", "/nodes/pve1"},
    {"POST", "/nodes/pve1/network", "node:config", "/nodes/pve1"},
    {"PUT", "/nodes/pve1/network", "node:config", "/nodes/pve1"},
    {"POST", "/nodes/pve1/certificates/custom", "node:config", "/nodes/pve1"},
    {"POST", "/nodes/pve1/ceph/mon/pve1", "node:config", "/nodes/pve1"},
    {"GET", "/nodes/pve1/dns", "node:read", "/nodes/pve1"},
    {"GET", "/nodes/pve1/syslog", "node:read", "/nodes/pve1"},
    {"GET", "/nodes/pve1/journal", "node:read", "/nodes/pve1"},
    {"POST", "/nodes/pve1/disks/initgpt", "node:disk", "/nodes/pve1"},
    {"POST", "/nodes/pve1/apt/update", "node:update", "/nodes/pve1"},
    {"GET", "/nodes/pve1/apt/update", "node:read", "/nodes/pve1"},
    {"POST", "/nodes/pve1/services/pveproxy/restart", "node:service", "/nodes/pve1"},
    {"POST", "/nodes/pve1/startall", "node:power", "/nodes/pve1"},
    {"POST", "/nodes/pve1/stopall", "node:power", "/nodes/pve1"},
    {"POST", "/nodes/pve1/suspendall", "node:power", "/nodes/pve1"},
    {"POST", "/nodes/pve1/wakeonlan", "node:power", "/nodes/pve1"},
    {"POST", "/nodes/pve1/migrateall", "node:migrate", "/nodes/pve1"},
    {"POST", "/nodes/pve1/execute", "node:modify", "/nodes/pve1"},
    {"GET", "/nodes/pve1/tasks", "task:read", "/nodes/pve1"},
    {"DELETE", "/nodes/pve1/tasks/UPID:pve1:00001A2B:0000ABCD:686D1234:qmstart:210:root@pam:",
     "task:cancel", "/nodes/pve1"},
    {"POST", "/nodes/pve1/vzdump", "guest:backup", "/vms"},
    // storage
    {"GET", "/storage", "storage:read", "/storage"},
    {"POST", "/storage", "storage:create", "/storage"},
    {"GET", "/storage/local", "storage:read", "/storage/local"},
    {"PUT", "/storage/local", "storage:config", "/storage/local"},
    {"DELETE", "/storage/local", "storage:delete", "/storage/local"},
    {"POST", "/nodes/pve1/storage/local/upload", "storage:upload", "/storage/local"},
    {"POST", "/nodes/pve1/storage/local/download-url", "storage:download", "/storage/local"},
    {"POST", "/nodes/pve1/storage/local/oci-registry-pull", "storage:download", "/storage/local"},
    {"POST", "/nodes/pve1/storage/local-lvm/content", "storage:allocate", "/storage/local-lvm"},
    {"GET", "/nodes/pve1/storage/local/content", "storage:read", "/storage/local"},
    {"DELETE", "/nodes/pve1/storage/local/content/local:iso%2Fa.iso", "storage:free",
     "/storage/local"},
    {"PUT", "/nodes/pve1/storage/local/content/local:backup%2Fx", "storage:modify",
     "/storage/local"},
    {"DELETE", "/nodes/pve1/storage/local/prunebackups", "storage:prune", "/storage/local"},
    {"GET", "/nodes/pve1/storage", "storage:read", "/storage"},
    {"GET", "/nodes/pve1/storage/local/status", "storage:read", "/storage/local"},
    // access control
    {"POST", "/access/ticket", "access:ticket", "/access"},
    {"GET", "/access/ticket", "access:read", "/access"},
    {"POST", "/access/vncticket", "access:vncticket", "/access"},
    {"POST", "/access/openid/login", "access:ticket", "/access"},
    {"POST", "/access/openid/auth-url", "access:ticket", "/access"},
    {"GET", "/access", "access:read", "/access"},
    {"GET", "/access/domains", "realm:read", "/access/realm"},
    {"PUT", "/access/password", "user:password", "/access"},
    {"GET", "/access/acl", "acl:read", "/access"},
    {"PUT", "/access/acl", "acl:modify", "/access"},
    {"GET", "/access/permissions", "acl:read", "/access"},
    {"GET", "/access/users", "user:read", "/access/users"},
    {"POST", "/access/users", "user:create", "/access/users"},
    {"GET", "/access/users/bob%40pve", "user:read", "/access/users/bob@pve"},
    {"PUT", "/access/users/bob%40pve", "user:modify", "/access/users/bob@pve"},
    {"DELETE", "/access/users/bob@pve", "user:delete", "/access/users/bob@pve"},
    {"GET", "/access/users/bob%40pve/token", "token:read", "/access/users/bob@pve"},
    {"POST", "/access/users/bob%40pve/token/ci", "token:create", "/access/users/bob@pve"},
    {"PUT", "/access/users/bob%40pve/token/ci", "token:modify", "/access/users/bob@pve"},
    {"DELETE", "/access/users/bob%40pve/token/ci", "token:delete", "/access/users/bob@pve"},
    {"GET", "/access/users/bob%40pve/tfa", "tfa:read", "/access/users/bob@pve"},
    {"PUT", "/access/users/bob%40pve/unlock-tfa", "tfa:unlock", "/access/users/bob@pve"},
    {"GET", "/access/groups", "group:read", "/access/groups"},
    {"POST", "/access/groups", "group:create", "/access/groups"},
    {"PUT", "/access/groups/admins", "group:modify", "/access/groups/admins"},
    {"DELETE", "/access/groups/admins", "group:delete", "/access/groups/admins"},
    {"GET", "/access/groups/admins", "group:read", "/access/groups/admins"},
    {"POST", "/access/roles", "role:create", "/access"},
    {"PUT", "/access/roles/Auditor2", "role:modify", "/access"},
    {"DELETE", "/access/roles/Auditor2", "role:delete", "/access"},
    {"GET", "/access/roles", "role:read", "/access"},
    {"POST", "/access/domains", "realm:create", "/access/realm"},
    {"PUT", "/access/domains/ldap1", "realm:modify", "/access/realm/ldap1"},
    {"DELETE", "/access/domains/ldap1", "realm:delete", "/access/realm/ldap1"},
    {"GET", "/access/domains/ldap1", "realm:read", "/access/realm/ldap1"},
    {"POST", "/access/domains/ldap1/sync", "realm:sync", "/access/realm/ldap1"},
    {"GET", "/access/tfa", "tfa:read", "/access"},
    {"POST", "/access/tfa", "access:ticket", "/access"},
    {"GET", "/access/tfa/bob%40pve", "tfa:read", "/access/users/bob@pve"},
    {"POST", "/access/tfa/bob%40pve", "tfa:add", "/access/users/bob@pve"},
    {"PUT", "/access/tfa/bob%40pve/9c1b", "tfa:modify", "/access/users/bob@pve"},
    {"DELETE", "/access/tfa/bob%40pve/9c1b", "tfa:remove", "/access/users/bob@pve"},
    // pools
    {"GET", "/pools", "pool:read", "/pool"},
    {"POST", "/pools", "pool:create", "/pool"},
    {"PUT", "/pools", "pool:modify", "/pool"},
    {"DELETE", "/pools", "pool:delete", "/pool"},
    {"GET", "/pools/dev", "pool:read", "/pool/dev"},
    {"PUT", "/pools/dev", "pool:modify", "/pool/dev"},
    {"DELETE", "/pools/dev%2Fteam", "pool:delete", "/pool/dev/team"},
    // cluster and the rest
    {"GET", "/cluster/resources", "cluster:read", "/"},
    {"PUT", "/cluster/options", "cluster:config", "/"},
    {"POST", "/cluster/backup", "cluster:config", "/"},
    {"PUT", "/cluster/sdn/zones/z1", "cluster:config", "/sdn"},
    {"POST", "/cluster/mapping/pci", "cluster:config", "/mapping"},
    {"GET", "/version", "cluster:read", "/"},
    {"GET", "", "cluster:read", "/"},
    {"GET", "/", "cluster:read", "/"},
    {"POST", "/unknown/thing", "cluster:modify", "/"},
};

TEST(MapApiRequest, EveryRow) {
  for (const ApiRow& r : kApiRows) {
    ActionMapping m = MapApiRequest(r.method, r.path);
    EXPECT_EQ(m.action, r.action) << r.method << " " << r.path;
    EXPECT_EQ(m.resource, r.resource) << r.method << " " << r.path;
  }
}

TEST(MapApiRequest, EveryActionIsKnown) {
  for (const ApiRow& r : kApiRows) {
    EXPECT_TRUE(IsKnownActionSpec(r.action)) << r.action;
  }
}

TEST(MapApiRequest, PathOddities) {
  // query string, double and trailing slashes
  EXPECT_EQ(MapApiRequest("POST", "/nodes/pve1/qemu/100/status/start?x=1").action, "vm:start");
  EXPECT_EQ(MapApiRequest("POST", "//nodes/pve1//qemu/100/status/start/").action, "vm:start");
  // an encoded slash cannot escape the resource subtree
  EXPECT_EQ(MapApiRequest("PUT", "/access/users/x%2F..%2Fy").resource, "/access/users/x_.._y");
  EXPECT_EQ(MapApiRequest("DELETE", "/nodes/pve1/qemu/1%2F2").resource, "/vms/1_2");
  // invalid escapes are kept literally
  EXPECT_EQ(MapApiRequest("PUT", "/access/users/a%4").resource, "/access/users/a%4");
  EXPECT_EQ(MapApiRequest("PUT", "/access/users/a%zz").resource, "/access/users/a%zz");
  // very deep paths do not crash
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "/nodes";
  EXPECT_EQ(MapApiRequest("GET", deep).action, "node:read");
}

struct TaskRow {
  const char* type;
  const char* id;
  const char* action;
  const char* resource;
};

const TaskRow kTaskRows[] = {
    {"qmstart", "100", "vm:start", "/vms/100"},
    {"qmstop", "100", "vm:stop", "/vms/100"},
    {"qmshutdown", "100", "vm:shutdown", "/vms/100"},
    {"qmreboot", "100", "vm:reboot", "/vms/100"},
    {"qmreset", "100", "vm:reset", "/vms/100"},
    {"qmsuspend", "100", "vm:suspend", "/vms/100"},
    {"qmpause", "100", "vm:suspend", "/vms/100"},
    {"qmresume", "100", "vm:resume", "/vms/100"},
    {"qmcreate", "100", "vm:create", "/vms/100"},
    {"qmrestore", "100", "vm:restore", "/vms/100"},
    {"qmdestroy", "100", "vm:delete", "/vms/100"},
    {"qmconfig", "113", "vm:config", "/vms/113"},
    {"qmigrate", "100", "vm:migrate", "/vms/100"},
    {"qmtunnel", "100", "vm:migrate", "/vms/100"},
    {"qmclone", "100", "vm:clone", "/vms/100"},
    {"qmsnapshot", "100", "vm:snapshot", "/vms/100"},
    {"qmrollback", "100", "vm:rollback", "/vms/100"},
    {"qmdelsnapshot", "100", "vm:delsnapshot", "/vms/100"},
    {"qmtemplate", "100", "vm:template", "/vms/100"},
    {"qmmove", "100", "vm:move", "/vms/100"},
    {"vzstart", "105", "ct:start", "/vms/105"},
    {"vzstop", "105", "ct:stop", "/vms/105"},
    {"vzshutdown", "100", "ct:shutdown", "/vms/100"},
    {"vzreboot", "105", "ct:reboot", "/vms/105"},
    {"vzsuspend", "105", "ct:suspend", "/vms/105"},
    {"vzresume", "105", "ct:resume", "/vms/105"},
    {"vzcreate", "105", "ct:create", "/vms/105"},
    {"vzrestore", "105", "ct:restore", "/vms/105"},
    {"vzdestroy", "105", "ct:delete", "/vms/105"},
    {"vzmigrate", "105", "ct:migrate", "/vms/105"},
    {"vzmtunnel", "105", "ct:migrate", "/vms/105"},
    {"vzclone", "105", "ct:clone", "/vms/105"},
    {"vzsnapshot", "105", "ct:snapshot", "/vms/105"},
    {"vzrollback", "105", "ct:rollback", "/vms/105"},
    {"vzdelsnapshot", "105", "ct:delsnapshot", "/vms/105"},
    {"vztemplate", "105", "ct:template", "/vms/105"},
    {"move_volume", "105", "ct:move", "/vms/105"},
    {"vzmount", "105", "ct:config", "/vms/105"},
    {"vzumount", "105", "ct:config", "/vms/105"},
    {"vzdump", "100", "guest:backup", "/vms/100"},
    {"vzdump", "", "guest:backup", "/vms"},
    {"vncproxy", "100", "guest:console", "/vms/100"},
    {"resize", "100", "guest:resize", "/vms/100"},
    {"hastart", "100", "guest:start", "/vms/100"},
    {"hastop", "100", "guest:stop", "/vms/100"},
    {"hamigrate", "100", "guest:migrate", "/vms/100"},
    {"vncshell", "", "node:console", "/nodes/pve1"},
    {"termproxy", "", "node:console", "/nodes/pve1"},
    {"spiceshell", "", "node:console", "/nodes/pve1"},
    {"termproxy", "105", "guest:console", "/vms/105"},
    {"aptupdate", "", "node:update", "/nodes/pve1"},
    {"startall", "", "node:power", "/nodes/pve1"},
    {"stopall", "", "node:power", "/nodes/pve1"},
    {"suspendall", "", "node:power", "/nodes/pve1"},
    {"bulk-start", "", "node:power", "/nodes/pve1"},
    {"bulk-shutdown", "", "node:power", "/nodes/pve1"},
    {"migrateall", "", "node:migrate", "/nodes/pve1"},
    {"bulk-migrate", "", "node:migrate", "/nodes/pve1"},
    {"srvrestart", "pveproxy", "node:service", "/nodes/pve1"},
    {"srvstop", "pveproxy", "node:service", "/nodes/pve1"},
    {"diskinit", "sdb", "node:disk", "/nodes/pve1"},
    {"zfscreate", "tank", "node:disk", "/nodes/pve1"},
    {"reloadnetworkall", "", "node:config", "/nodes/pve1"},
    {"cephcreatemon", "mon.pve1", "node:config", "/nodes/pve1"},
    {"clustercreate", "", "cluster:config", "/"},
    {"clusterjoin", "", "cluster:config", "/"},
    {"auth-realm-sync", "ldap1", "realm:sync", "/access/realm/ldap1"},
    {"auth-realm-sync-test", "ldap1", "realm:read", "/access/realm/ldap1"},
    {"download", "local", "storage:download", "/storage/local"},
    {"ociregistrypull", "local", "storage:download", "/storage/local"},
    {"imgcopy", "local", "storage:allocate", "/storage/local"},
    {"unknownimgdel", "local", "storage:free", "/storage/local"},
    {"fake-but-valid-type", "100", "task:fake-but-valid-type", "/nodes/pve1"},
    {"srvreload", "", "node:service", "/nodes/pve1"},
};

TEST(MapTask, EveryRow) {
  for (const TaskRow& r : kTaskRows) {
    ActionMapping m = MapTask(r.type, r.id, "pve1");
    EXPECT_EQ(m.action, r.action) << r.type << " " << r.id;
    EXPECT_EQ(m.resource, r.resource) << r.type << " " << r.id;
    if (std::string(r.action).rfind("task:", 0) != 0) {
      EXPECT_TRUE(IsKnownActionSpec(r.action)) << r.action;
    }
  }
}

TEST(ActionClasses, Names) {
  const auto& n = ActionClassNames();
  ASSERT_EQ(n.size(), 11u);
  EXPECT_EQ(n.front(), "login");
  EXPECT_EQ(n.back(), "session");
  EXPECT_EQ(ActionClassFromName("login"), kClassLogin);
  EXPECT_EQ(ActionClassFromName("power"), kClassPower);
  EXPECT_EQ(ActionClassFromName("session"), kClassSession);
  EXPECT_EQ(ActionClassFromName("migrate"), kClassMigrate);
  EXPECT_EQ(ActionClassFromName("vm"), 0u);
  EXPECT_EQ(ActionClassFromName(""), 0u);
}

TEST(ActionClasses, Examples) {
  EXPECT_EQ(ActionClasses("vm:start"), kClassPower | kClassModify);
  EXPECT_EQ(ActionClassList("vm:start"), "power,modify");
  EXPECT_EQ(ActionClasses("ct:create"), kClassCreate | kClassModify);
  EXPECT_EQ(ActionClasses("vm:restore"), kClassCreate | kClassModify | kClassBackup);
  EXPECT_EQ(ActionClasses("vm:delete"), kClassDelete | kClassModify);
  EXPECT_EQ(ActionClasses("vm:config"), kClassConfig | kClassModify);
  EXPECT_EQ(ActionClasses("vm:migrate"), kClassMigrate | kClassModify);
  EXPECT_EQ(ActionClasses("guest:backup"), kClassBackup | kClassModify);
  EXPECT_EQ(ActionClasses("vm:console"), kClassConsole);
  EXPECT_EQ(ActionClasses("node:console"), kClassConsole);
  EXPECT_EQ(ActionClasses("node:power"), kClassPower | kClassModify);
  EXPECT_EQ(ActionClasses("vm:read"), kClassRead);
  EXPECT_EQ(ActionClasses("http:read"), kClassRead);
  EXPECT_EQ(ActionClasses("http:request"), 0u);
  EXPECT_EQ(ActionClasses("http:connect"), kClassConsole);
  EXPECT_EQ(ActionClasses("login"), kClassLogin);
  EXPECT_EQ(ActionClasses("session:renew"), kClassSession);
  EXPECT_EQ(ActionClasses("access:ticket"), kClassSession);
  EXPECT_EQ(ActionClasses("logout"), kClassSession);
  EXPECT_EQ(ActionClasses("acl:modify"), kClassConfig | kClassModify);
  EXPECT_EQ(ActionClasses("user:password"), kClassConfig | kClassModify);
  EXPECT_EQ(ActionClasses("tfa:add"), kClassCreate | kClassModify);
  EXPECT_EQ(ActionClasses("tfa:remove"), kClassDelete | kClassModify);
  EXPECT_EQ(ActionClasses("task:fake-but-valid-type"), kClassModify);
  EXPECT_EQ(ActionClasses("task:read"), kClassRead);
  EXPECT_EQ(ActionClasses("foo:start"), kClassPower | kClassModify);
  EXPECT_EQ(ActionClasses("foo:frobnicate"), 0u);
  EXPECT_EQ(ActionClasses("nonsense"), 0u);
  EXPECT_EQ(ActionClasses(""), 0u);
  EXPECT_EQ(ActionClassList("foo:frobnicate"), "");
}

TEST(ActionClasses, EveryStateChangeIsModify) {
  const uint32_t state =
      kClassPower | kClassCreate | kClassDelete | kClassConfig | kClassBackup | kClassMigrate;
  for (const std::string& a : KnownActions()) {
    uint32_t c = ActionClasses(a);
    if (c & state) {
      EXPECT_TRUE(c & kClassModify) << a;
    }
    if (c & kClassRead) {
      EXPECT_EQ(c, kClassRead) << a;
    }
  }
}

TEST(ActionClasses, EveryKnownActionHasAClass) {
  for (const std::string& a : KnownActions()) {
    if (a == "http:request") continue;
    EXPECT_NE(ActionClasses(a), 0u) << a;
  }
}

TEST(KnownActions, SortedUnique) {
  auto k = KnownActions();
  EXPECT_TRUE(std::is_sorted(k.begin(), k.end()));
  EXPECT_EQ(std::adjacent_find(k.begin(), k.end()), k.end());
  EXPECT_NE(std::find(k.begin(), k.end(), "vm:start"), k.end());
  EXPECT_NE(std::find(k.begin(), k.end(), "login"), k.end());
}

TEST(IsKnownActionSpec, Kinds) {
  EXPECT_TRUE(IsKnownActionSpec("vm:start"));
  EXPECT_TRUE(IsKnownActionSpec("vm"));
  EXPECT_TRUE(IsKnownActionSpec("guest"));
  EXPECT_TRUE(IsKnownActionSpec("power"));
  EXPECT_TRUE(IsKnownActionSpec("login"));
  EXPECT_FALSE(IsKnownActionSpec("vm:strat"));
  EXPECT_FALSE(IsKnownActionSpec("vms"));
  EXPECT_FALSE(IsKnownActionSpec(""));
  // pveaudit's own events.
  EXPECT_TRUE(IsKnownActionSpec("alert:failed-login"));
  EXPECT_TRUE(IsKnownActionSpec("pveaudit:alert-ack"));
  EXPECT_TRUE(IsKnownActionSpec("pveaudit:api-read"));
  EXPECT_TRUE(IsKnownActionSpec("pveaudit:web-logout"));
  EXPECT_FALSE(IsKnownActionSpec("pveaudit:alert-akc"));
  EXPECT_FALSE(IsKnownActionSpec("pveaudit:api-"));
  EXPECT_FALSE(IsKnownActionSpec("pveaudit:api-Read"));
  EXPECT_FALSE(IsKnownActionSpec("alert:failed-logins"));
}

TEST(ActionMatches, Rules) {
  // exact
  EXPECT_TRUE(ActionMatches("vm:start", "vm:start"));
  EXPECT_FALSE(ActionMatches("vm:start", "vm:stop"));
  EXPECT_FALSE(ActionMatches("vm:start", "ct:start"));
  // object prefix
  EXPECT_TRUE(ActionMatches("vm", "vm:start"));
  EXPECT_TRUE(ActionMatches("vm:*", "vm:start"));
  EXPECT_FALSE(ActionMatches("vm", "vmx:start"));
  EXPECT_FALSE(ActionMatches("vm", "ct:start"));
  EXPECT_FALSE(ActionMatches("vm", "guest:backup"));
  EXPECT_FALSE(ActionMatches("v", "vm:start"));
  EXPECT_TRUE(ActionMatches("guest", "guest:backup"));
  EXPECT_TRUE(ActionMatches("guest", "vm:start"));
  EXPECT_TRUE(ActionMatches("guest", "ct:start"));
  EXPECT_FALSE(ActionMatches("guest", "node:power"));
  // login: exact and login:*, never renewals or tickets
  EXPECT_TRUE(ActionMatches("login", "login"));
  EXPECT_TRUE(ActionMatches("login", "login:tfa"));
  EXPECT_FALSE(ActionMatches("login", "session:renew"));
  EXPECT_FALSE(ActionMatches("login", "access:ticket"));
  EXPECT_FALSE(ActionMatches("login", "logout"));
  // classes
  EXPECT_TRUE(ActionMatches("power", "vm:start"));
  EXPECT_TRUE(ActionMatches("power", "node:power"));
  EXPECT_FALSE(ActionMatches("power", "vm:config"));
  EXPECT_TRUE(ActionMatches("modify", "vm:config"));
  EXPECT_TRUE(ActionMatches("modify", "acl:modify"));
  EXPECT_FALSE(ActionMatches("modify", "vm:read"));
  EXPECT_FALSE(ActionMatches("modify", "vm:console"));
  EXPECT_TRUE(ActionMatches("backup", "guest:backup"));
  EXPECT_TRUE(ActionMatches("backup", "vm:backup"));
  EXPECT_TRUE(ActionMatches("session", "session:renew"));
  EXPECT_TRUE(ActionMatches("session", "access:ticket"));
  EXPECT_TRUE(ActionMatches("console", "node:console"));
  EXPECT_TRUE(ActionMatches("read", "http:read"));
  // garbage
  EXPECT_FALSE(ActionMatches("", "vm:start"));
  EXPECT_FALSE(ActionMatches("vm:", "vm:start"));
  EXPECT_FALSE(ActionMatches("nonsense", "vm:start"));
}

}  // namespace
}  // namespace pveaudit
