#include "core/host_name.h"

#include <unistd.h>

namespace pveaudit {

std::string ShortHostName() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) return "localhost";
  std::string h = host;
  if (auto dot = h.find('.'); dot != std::string::npos) h.resize(dot);
  return h.empty() ? "localhost" : h;
}

}  // namespace pveaudit
