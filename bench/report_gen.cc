// report_gen.cc
// report_gen: a standalone, deterministic generator of a Proxmox VE config
// dir for benchmarking the access-control reports (`pveum user report`,
// `pveum acl report`, `pveum audit quarterly`). It writes
//   user.cfg, priv/tfa.cfg, domains.cfg, storage.cfg,
//   nodes/NODE/qemu-server/ID.conf and nodes/NODE/lxc/ID.conf
// with N users (plus root@pam), groups, API tokens, pools, custom roles,
// ACL entries (one (path, principal, role) triple each; some orphaned on
// purpose: unknown guests, storages, users, groups) and guests.
//
// Standalone on purpose: only the C++ standard library, none of the
// pveaudit libraries. All randomness comes from a splitmix64 generator
// (std distributions differ between library versions), so a given --seed
// always yields the same bytes.
//
// Usage: report_gen --out DIR [--users 5000] [--groups 500] [--acls 50000]
//                   [--guests 10000] [--nodes 4] [--pools 50] [--seed 1]

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "rng.h"

namespace {

using bench::Rng;

struct Options {
  std::string out;
  long users = 5000, groups = 500, acls = 50000, guests = 10000, nodes = 4, pools = 50;
  uint64_t seed = 1;
};

[[noreturn]] void Usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: report_gen --out DIR [--users 5000] [--groups 500] [--acls 50000]\n"
               "                  [--guests 10000] [--nodes 4] [--pools 50] [--seed 1]\n");
  std::exit(code);
}

long Number(const char* flag, const char* v) {
  char* end = nullptr;
  long n = std::strtol(v, &end, 10);
  if (!*v || *end || n < 0) {
    std::fprintf(stderr, "report_gen: invalid value '%s' for %s\n", v, flag);
    std::exit(2);
  }
  return n;
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") Usage(0);
    if (i + 1 >= argc) Usage(2);
    const char* v = argv[++i];
    if (a == "--out")
      o.out = v;
    else if (a == "--users")
      o.users = Number("--users", v);
    else if (a == "--groups")
      o.groups = Number("--groups", v);
    else if (a == "--acls")
      o.acls = Number("--acls", v);
    else if (a == "--guests")
      o.guests = Number("--guests", v);
    else if (a == "--nodes")
      o.nodes = Number("--nodes", v);
    else if (a == "--pools")
      o.pools = Number("--pools", v);
    else if (a == "--seed")
      o.seed = uint64_t(Number("--seed", v));
    else
      Usage(2);
  }
  if (o.out.empty() || o.nodes < 1) Usage(2);
  return o;
}

void WriteFile(const std::filesystem::path& p, const std::string& data) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << data;
  if (!f.good()) {
    std::fprintf(stderr, "report_gen: cannot write %s\n", p.c_str());
    std::exit(1);
  }
}

std::string Num(long n, int width) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%0*ld", width, n);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = ParseArgs(argc, argv);
  Rng rng(o.seed);
  namespace fs = std::filesystem;
  const fs::path out(o.out);
  fs::create_directories(out);

  const char* kRealms[] = {"pve", "pve", "pve", "pam", "corp"};
  const long kNow = 1798761600;  // 2027-01-01T00:00:00Z, so generated dates are stable

  // Users.
  std::vector<std::string> users;
  for (long i = 0; i < o.users; ++i)
    users.push_back("user" + Num(i, 5) + "@" + kRealms[rng.Below(5)]);
  // Groups: each user joins 1..3 groups; group membership is in group lines.
  std::vector<std::string> groups;
  for (long i = 0; i < o.groups; ++i) groups.push_back("grp" + Num(i, 4));
  std::vector<std::vector<long>> members(groups.size());
  if (!groups.empty())
    for (long u = 0; u < o.users; ++u) {
      std::set<long> mine;
      long n = 1 + long(rng.Below(3));
      while (long(mine.size()) < n && long(mine.size()) < o.groups)
        mine.insert(long(rng.Below(groups.size())));
      for (long g : mine) members[size_t(g)].push_back(u);
    }
  // Tokens: 10% of the users, half of them privilege-separated.
  std::vector<std::string> tokens;
  std::string text = "user:root@pam:1:0:::root@example.com:::\n";
  for (long i = 0; i < o.users; ++i) {
    bool enabled = !rng.Pct(5);
    long expire = rng.Pct(5) ? kNow - long(rng.Below(400)) * 86400 : 0;
    text += "user:" + users[size_t(i)] + ":" + (enabled ? "1" : "0") + ":" +
            std::to_string(expire) + ":First" + std::to_string(i) + ":Last:" + "u" +
            std::to_string(i) + "@example.com:::\n";
  }
  for (long i = 0; i < o.users; ++i) {
    if (!rng.Pct(10)) continue;
    std::string id = users[size_t(i)] + "!tok" + std::to_string(rng.Below(3));
    tokens.push_back(id);
    long expire = rng.Pct(10) ? kNow - long(rng.Below(400)) * 86400 : 0;
    text += "token:" + id + ":" + std::to_string(expire) + ":" + (rng.Pct(50) ? "1" : "0") +
            ":generated:\n";
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    text += "group:" + groups[g] + ":";
    for (size_t k = 0; k < members[g].size(); ++k) {
      if (k) text += ',';
      text += users[size_t(members[g][k])];
    }
    text += ":Group " + std::to_string(g) + ":\n";
  }
  // Pools: ~20 guests each, some with a storage.
  const long kStorages = 20;
  std::vector<std::string> storages;
  for (long i = 0; i < kStorages; ++i) storages.push_back("store" + Num(i, 2));
  std::vector<std::string> pools;
  for (long p = 0; p < o.pools; ++p) {
    pools.push_back("pool" + Num(p, 3));
    std::string vms;
    for (int k = 0; k < 20 && o.guests > 0; ++k) {
      if (k) vms += ',';
      vms += std::to_string(100 + long(rng.Below(uint64_t(o.guests))));
    }
    std::string st = rng.Pct(30) ? storages[rng.Below(storages.size())] : "";
    text += "pool:" + pools.back() + ":Pool " + std::to_string(p) + ":" + vms + ":" + st + ":\n";
  }
  text += "role:VMOperator:VM.Audit,VM.Console,VM.PowerMgmt:\n";
  text += "role:BackupOperator:VM.Audit,VM.Backup,Datastore.AllocateSpace,Datastore.Audit:\n";
  text += "role:NetAuditor:Sys.Audit,SDN.Audit:\n";

  // ACL entries: unique (path, principal, role) triples.
  const char* kVmRoles[] = {"PVEVMUser",      "PVEVMAdmin", "VMOperator",
                            "BackupOperator", "PVEAuditor", "NoAccess"};
  const char* kStorageRoles[] = {"PVEDatastoreUser", "PVEDatastoreAdmin", "BackupOperator",
                                 "PVEAuditor"};
  const char* kTopRoles[] = {"PVEAuditor", "PVEVMUser", "NetAuditor", "PVEAdmin", "Administrator"};
  std::set<std::tuple<std::string, std::string, std::string>> seen;
  std::string acl_text;
  long written = 0, attempts = 0;
  // A few well-known grants on the root.
  auto add = [&](bool propagate, const std::string& path, const std::string& who,
                 const std::string& role) {
    if (!seen.emplace(path, who, role).second) return;
    acl_text +=
        "acl:" + std::string(propagate ? "1" : "0") + ":" + path + ":" + who + ":" + role + ":\n";
    ++written;
  };
  if (!groups.empty() && o.acls >= 3) {
    add(true, "/", "@" + groups[0], "Administrator");
    add(true, "/", "@" + groups[1 % groups.size()], "PVEAuditor");
    add(true, "/vms", "@" + groups[2 % groups.size()], "PVEVMUser");
  }
  while (written < o.acls && attempts < o.acls * 20) {
    ++attempts;
    // Principal: 80% group, 15% user, 5% token; 1% of them orphaned.
    std::string who;
    uint64_t kind = rng.Below(100);
    if (kind < 80 && !groups.empty())
      who = rng.Pct(1) ? "@gone" + std::to_string(rng.Below(20))
                       : "@" + groups[rng.Below(groups.size())];
    else if (kind < 95 && !users.empty())
      who = rng.Pct(1) ? "ghost" + std::to_string(rng.Below(20)) + "@pve"
                       : users[rng.Below(users.size())];
    else if (!tokens.empty())
      who = tokens[rng.Below(tokens.size())];
    else
      continue;
    // Path: 75% a guest, 8% a storage, 5% a pool, 5% a node, 4% SDN, 3% a top level.
    std::string path, role;
    uint64_t where = rng.Below(100);
    if (where < 75) {
      long id = 100 + long(rng.Below(uint64_t(o.guests + o.guests / 50 + 1)));  // ~2% orphaned
      path = "/vms/" + std::to_string(id);
      role = kVmRoles[rng.Below(rng.Pct(97) ? 5 : 6)];
    } else if (where < 83) {
      path = "/storage/" + (rng.Pct(3) ? std::string("oldstore") : storages[rng.Below(kStorages)]);
      role = kStorageRoles[rng.Below(4)];
    } else if (where < 88 && !pools.empty()) {
      path = "/pool/" + pools[rng.Below(pools.size())];
      role = rng.Pct(50) ? "PVEPoolUser" : "PVEVMUser";
    } else if (where < 93) {
      path = "/nodes/node" + std::to_string(1 + rng.Below(uint64_t(o.nodes)));
      role = rng.Pct(70) ? "PVEAuditor" : "PVESysAdmin";
    } else if (where < 97) {
      path = "/sdn/zones/zone" + std::to_string(rng.Below(10));
      role = rng.Pct(50) ? "PVESDNUser" : "NetAuditor";
    } else {
      const char* tops[] = {"/vms", "/storage", "/nodes", "/sdn", "/access"};
      path = tops[rng.Below(5)];
      role = kTopRoles[rng.Below(rng.Pct(90) ? 3 : 5)];
    }
    add(!rng.Pct(15), path, who, role);
  }
  text += acl_text;
  WriteFile(out / "user.cfg", text);

  // priv/tfa.cfg (JSON format): 60% of the users have TOTP, 5% WebAuthn too,
  // 3% only a disabled factor.
  std::string tfa = "{\"users\":{";
  bool first = true;
  for (size_t i = 0; i < users.size(); ++i) {
    uint64_t r = rng.Below(100);
    if (r >= 63) continue;
    std::string id = "6c3e0d2a-0000-4000-8000-" + Num(long(i), 12);
    std::string entry = "\"totp\":[{\"id\":\"" + id +
                        "\",\"description\":\"phone\",\"created\":1700000000," +
                        (r >= 60 ? "\"enable\":false," : "") +
                        "\"entry\":\"otpauth://totp/u?secret=JBSWY3DPEHPK3PXP\"}]";
    if (r < 5)
      entry += ",\"webauthn\":[{\"id\":\"w" + id +
               "\",\"description\":\"key\",\"created\":1700000000,\"credential-id\":\"x\"}]";
    tfa += std::string(first ? "" : ",") + "\"" + users[i] + "\":{" + entry + "}";
    first = false;
  }
  tfa += "}}\n";
  WriteFile(out / "priv" / "tfa.cfg", tfa);

  WriteFile(out / "domains.cfg",
            "pam: pam\n\tcomment Linux PAM standard authentication\n\n"
            "pve: pve\n\tcomment Proxmox VE authentication server\n\tdefault 1\n\n"
            "ldap: corp\n\tbase_dn dc=corp,dc=example\n\tserver1 ldap.corp.example\n"
            "\tuser_attr uid\n\ttfa type=oath\n");

  std::string storage = "dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n";
  for (const std::string& s : storages)
    storage +=
        "\nlvmthin: " + s + "\n\tthinpool data\n\tvgname " + s + "\n\tcontent rootdir,images\n";
  WriteFile(out / "storage.cfg", storage);

  // Guests 100 .. 100+N-1, 70% qemu, spread over the nodes.
  for (long i = 0; i < o.guests; ++i) {
    long id = 100 + i;
    std::string node = "node" + std::to_string(1 + rng.Below(uint64_t(o.nodes)));
    bool qemu = rng.Pct(70);
    fs::path p =
        out / "nodes" / node / (qemu ? "qemu-server" : "lxc") / (std::to_string(id) + ".conf");
    WriteFile(p, qemu ? "name: vm" + std::to_string(id) + "\nmemory: 2048\ncores: 2\n"
                      : "hostname: ct" + std::to_string(id) + "\nmemory: 512\n");
  }
  std::printf(
      "%s: %zu users (+root@pam), %zu groups, %zu tokens, %zu pools, %ld ACL entries, "
      "%ld guests\n",
      o.out.c_str(), users.size(), groups.size(), tokens.size(), pools.size(), written, o.guests);
  return 0;
}
