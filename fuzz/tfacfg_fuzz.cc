// libFuzzer target for the priv/tfa.cfg parser (JSON and the old
// USER:TYPE:base64 lines): any input must either parse, keeping only valid
// userids, or be rejected as corruption with Proxmox's message; never a
// crash or hang. Seeds: tests/data/pve/cluster/priv/tfa.cfg,
// tests/data/pve/tfa-old.cfg.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pve/access_config.h"
#include "pve/parse_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pveaudit::pve;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto cfg = ParseTfaCfg(input, "tfa.cfg");
  if (!cfg.ok()) {
    if (cfg.status().code() != pveaudit::Status::Code::kCorruption) std::abort();
    if (cfg.status().message().find("neither old style nor valid json") == std::string::npos)
      std::abort();
    return 0;
  }
  for (const auto& [user, factors] : cfg->users) {
    if (!VerifyUsername(user)) std::abort();
    for (const TfaFactor& f : factors)
      if (f.type.empty()) std::abort();
  }
  for (const std::string& u : cfg->locked)
    if (!cfg->users.count(u)) std::abort();
  return 0;
}
