// host_name.h
// The name this host's events are stored under when no node is
// configured: the host name up to its first dot, as Proxmox names a node
// ("pve1" of "pve1.example.com"), "localhost" when there is none.
#pragma once

#include <string>

namespace pveaudit {

std::string ShortHostName();

// `configured` when set (the config's `node`), else ShortHostName().
inline std::string NodeNameOr(const std::string& configured) {
  return configured.empty() ? ShortHostName() : configured;
}

}  // namespace pveaudit
