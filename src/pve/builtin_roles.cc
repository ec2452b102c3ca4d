// builtin_roles.cc
// The built-in roles and the privilege list of pve-access-control 9.x
// (src/PVE/AccessControl.pm, $privgroups / create_roles): each category's
// admin+user+audit privileges make PVE<Cat>Admin and PVEAdmin, user+audit
// make PVE<Cat>User (only when the category has user privileges), audit
// makes PVEAuditor; PVEAdmin lacks Mapping.Modify; Administrator has every
// privilege; NoAccess none; PVETemplateUser = VM.Audit + VM.Clone.
#include "pve/access_config.h"

namespace pveaudit::pve {
namespace {

struct PrivGroup {
  const char* category;
  std::vector<std::string> root, admin, user, audit;
};

const std::vector<PrivGroup>& PrivGroups() {
  static const std::vector<PrivGroup> groups = {
      {"VM",
       {},
       {"VM.Config.Disk", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Network",
        "VM.Config.HWType", "VM.Config.Options", "VM.Allocate", "VM.Clone", "VM.Migrate",
        "VM.Replicate", "VM.Snapshot", "VM.Snapshot.Rollback", "VM.GuestAgent.Unrestricted"},
       {"VM.Config.CDROM", "VM.Config.Cloudinit", "VM.Console", "VM.Backup", "VM.PowerMgmt",
        "VM.GuestAgent.FileRead", "VM.GuestAgent.FileWrite", "VM.GuestAgent.FileSystemMgmt"},
       {"VM.Audit", "VM.GuestAgent.Audit"}},
      {"Sys",
       {"Sys.PowerMgmt", "Sys.Modify", "Sys.Incoming", "Sys.AccessNetwork"},
       {"Sys.Console", "Sys.Syslog"},
       {},
       {"Sys.Audit"}},
      {"Datastore",
       {},
       {"Datastore.Allocate", "Datastore.AllocateTemplate"},
       {"Datastore.AllocateSpace"},
       {"Datastore.Audit"}},
      {"SDN", {}, {"SDN.Allocate", "SDN.Audit"}, {"SDN.Use"}, {"SDN.Audit"}},
      {"User", {"Realm.Allocate"}, {"User.Modify", "Group.Allocate", "Realm.AllocateUser"}, {}, {}},
      {"Pool", {}, {"Pool.Allocate"}, {"Pool.Audit"}, {"Pool.Audit"}},
      {"Mapping", {}, {"Mapping.Modify"}, {"Mapping.Use"}, {"Mapping.Audit"}},
  };
  return groups;
}

}  // namespace

const std::set<std::string>& AllPrivileges() {
  static const std::set<std::string> privs = [] {
    std::set<std::string> s = {"Permissions.Modify"};  // not in any category
    for (const PrivGroup& g : PrivGroups())
      for (const auto* list : {&g.root, &g.admin, &g.user, &g.audit})
        s.insert(list->begin(), list->end());
    return s;
  }();
  return privs;
}

const std::map<std::string, std::set<std::string>>& BuiltinRoles() {
  static const std::map<std::string, std::set<std::string>> roles = [] {
    std::map<std::string, std::set<std::string>> r;
    r["NoAccess"] = {};
    r["Administrator"] = AllPrivileges();
    for (const PrivGroup& g : PrivGroups()) {
      std::string cat = g.category;
      for (const auto* list : {&g.admin, &g.user, &g.audit}) {
        r["PVE" + cat + "Admin"].insert(list->begin(), list->end());
        r["PVEAdmin"].insert(list->begin(), list->end());
      }
      if (!g.user.empty()) {
        r["PVE" + cat + "User"].insert(g.user.begin(), g.user.end());
        r["PVE" + cat + "User"].insert(g.audit.begin(), g.audit.end());
      }
      r["PVEAuditor"].insert(g.audit.begin(), g.audit.end());
    }
    // Only Administrator, root@pam and PVEMappingAdmin get Mapping.Modify.
    r["PVEAdmin"].erase("Mapping.Modify");
    r["PVETemplateUser"] = {"VM.Clone", "VM.Audit"};
    return r;
  }();
  return roles;
}

}  // namespace pveaudit::pve
