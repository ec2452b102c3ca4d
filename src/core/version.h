// version.h
// pveaudit's version string, printed by every binary's --version and
// written into the evidence it produces (export manifests).
#pragma once

namespace pveaudit {

inline constexpr const char* kPveauditVersion = "pveaudit 0.1.0";

}  // namespace pveaudit
