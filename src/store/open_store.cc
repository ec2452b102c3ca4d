// OpenStore: the one place that turns a configured StoreLocation into a
// backend (event_store.h).
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "store/event_store.h"
#include "store/pg_store.h"

namespace pveaudit {
namespace {

// libpq itself only warns about a password file others can read, and then
// ignores it, so the connection fails later with a confusing "no password
// supplied": say what is wrong with the file instead.
Status CheckPassfile(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0)
    return Status::NotFound("[store] passfile " + path +
                            " cannot be read: " + std::string(strerror(errno)));
  if (!S_ISREG(st.st_mode))
    return Status::InvalidArgument("[store] passfile " + path + " is not a regular file");
  if ((st.st_mode & 077) != 0 || st.st_uid != geteuid())
    return Status::InvalidArgument("[store] passfile " + path +
                                   " must belong to the user pveaudit runs as and be readable "
                                   "by that user only (chmod 0600)");
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<EventStore>> OpenStore(const StoreLocation& where,
                                              const StoreOptions& options) {
  if (!where.postgres()) return OpenSqliteStore(where.data_dir, options);
  PVEAUDIT_RETURN_IF_ERROR(CheckStoreUrl(where.url));
  if (!where.passfile.empty()) PVEAUDIT_RETURN_IF_ERROR(CheckPassfile(where.passfile));
  auto s = OpenPostgresStore(where.url, options, where.passfile);
  if (!s.ok()) return s.status().Prefixed(where.Describe() + ": ");
  return s;
}

namespace {
// One node on its own store: always the lead.
class SoleLead final : public StoreLead {
 public:
  Result<bool> TryTake() override { return true; }
  bool Held() override { return true; }
};
}  // namespace

Result<std::unique_ptr<StoreLead>> OpenStoreLead(const StoreLocation& where,
                                                 const std::string& name) {
  if (!where.postgres()) return std::unique_ptr<StoreLead>(std::make_unique<SoleLead>());
  PVEAUDIT_RETURN_IF_ERROR(CheckStoreUrl(where.url));
  if (!where.passfile.empty()) PVEAUDIT_RETURN_IF_ERROR(CheckPassfile(where.passfile));
  return OpenPostgresLead(where.url, where.passfile, name);
}

}  // namespace pveaudit
