// libFuzzer target for the parsers of untrusted request data in
// src/server/auth_*: the PVEAuthCookie ticket (ParseTicket and the
// half-login rules), the PVEAPIToken header, base64, and the CSRF token
// check. None may crash, hang or read out of bounds on any input; the
// invariants below must hold for whatever parses.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "server/auth_csrf.h"
#include "server/auth_ticket.h"
#include "server/auth_token.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  using namespace pveaudit::auth;

  auto t = ParseTicket(in, "PVE");
  if (t.ok()) {
    // What the signature covers is a prefix of the ticket, and the
    // creation time fits the 8 hex digits.
    if (in.substr(0, t->plain.size()) != t->plain) std::abort();
    if (t->time < 0 || t->time > 0xffffffffLL) std::abort();
    if (t->signature.empty()) std::abort();
    if (t->has_data) (void)UserOfTicketData(t->data);
  }
  (void)UserOfTicketData(in);

  auto tok = ParseApiTokenHeader(in);
  if (tok.ok()) {
    if (tok->secret.empty() || tok->tokenid.rfind(tok->userid, 0) != 0) std::abort();
  }

  auto b = Base64Decode(in);
  if (b && Base64Decode(Base64Encode(*b)) != b) std::abort();

  (void)VerifyCsrfToken("secret", "alice@pve", in, 1800000000);
  return 0;
}
