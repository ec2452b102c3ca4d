#include "evidence/requirements.h"

namespace pveaudit {

const std::vector<Requirement>& Requirements() {
  static const std::vector<Requirement> kAll = {
      {"hipaa:phi-access", "hipaa", "Track all PHI access", "HIPAA 45 CFR 164.312(b)"},
      {"hipaa:retention", "hipaa", "Maintain 6-year audit logs", "HIPAA 45 CFR 164.316(b)(2)(i)"},
      {"hipaa:2fa", "hipaa", "Enable 2FA for all users", "HIPAA 45 CFR 164.312(d)"},
      {"hipaa:access-review", "hipaa", "Regular access reviews",
       "HIPAA 45 CFR 164.308(a)(1)(ii)(D)"},
      {"pci-dss:unique-ids", "pci-dss", "Unique user IDs", "PCI DSS v4.0.1 8.2.1"},
      {"pci-dss:access-logging", "pci-dss", "Access logging", "PCI DSS v4.0.1 10.2.1"},
      {"pci-dss:2fa", "pci-dss", "2FA for remote access", "PCI DSS v4.0.1 8.4.3"},
      {"pci-dss:access-review", "pci-dss", "Quarterly access reviews", "PCI DSS v4.0.1 7.2.4"},
      {"pci-dss:retention", "pci-dss", "Retain 12 months, the last 3 immediately available",
       "PCI DSS v4.0.1 10.5.1"},
      {"sox:config-changes", "sox", "Track all configuration changes",
       "SOX 404 (change management)"},
      {"sox:data-access", "sox", "Log all data access", "SOX 404 (access to financial data)"},
      {"sox:retention", "sox", "Maintain 7-year audit logs", "SOX 802; 17 CFR 210.2-06"},
      {"sox:certification", "sox", "Regular access certification",
       "SOX 404 (user access certification)"},
  };
  return kAll;
}

const Requirement* FindRequirement(std::string_view id) {
  for (const Requirement& r : Requirements())
    if (r.id == id) return &r;
  return nullptr;
}

}  // namespace pveaudit
