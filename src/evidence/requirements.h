// requirements.h
// The compliance requirements pveaudit knows, one id each
// ("pci-dss:2fa"), with the product page's wording and the text it comes
// from: what exceptions (exceptions.h) refer to and compliance checks
// evaluate. Citations: PCI DSS v4.0.1, HIPAA 45 CFR Part 164, SOX (see
// docs/evidence.md for what each one says and how it is read here).
// Thread safety: immutable data.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pveaudit {

struct Requirement {
  std::string_view id;        // "pci-dss:2fa"
  std::string_view standard;  // "pci-dss"
  std::string_view title;     // "2FA for remote access"
  std::string_view citation;  // "PCI DSS v4.0.1 8.4.3"
};

// Every requirement, by standard (hipaa, pci-dss, sox) in the product
// page's order.
const std::vector<Requirement>& Requirements();
// The requirement with this id, or null.
const Requirement* FindRequirement(std::string_view id);

}  // namespace pveaudit
