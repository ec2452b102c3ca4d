// parse_util.h
// The small Perl helpers pve-access-control and pve-common parse user.cfg
// and domains.cfg with, re-implemented byte for byte: split_list,
// encode_text/decode_text, normalize_path, Perl truthiness, and the
// userid/token/group/role/pool/storage name checks. Used by the parsers and
// the permission engine of src/pve; tests call them directly.
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pveaudit::pve {

// PVE::Tools::split_list: NUL-separated when the text contains a NUL; else
// ',' and ';' are spaces and the text is split on whitespace.
std::vector<std::string> SplitList(std::string_view text);

// Perl truthiness of a string scalar: "" and "0" are false, all else true.
bool PerlTrue(std::string_view s);

// Trims Perl \s (space, \t, \n, \r, \f, \v) from both ends.
std::string_view TrimSpace(std::string_view s);

// Perl split(/:/, $line): fields, trailing empty fields removed.
std::vector<std::string> SplitColons(std::string_view line);

// PVE::Tools::encode_text: every byte outside [\x20-\x24\x26-\x39\x3b-\x7e]
// (controls, high-bit bytes, ':' and '%') becomes %XX (upper-case hex).
std::string EncodeText(std::string_view text);
// PVE::Tools::decode_text: %XX unescaped, then decoded as UTF-8 (malformed
// sequences become U+FFFD, as Perl's Encode::decode("utf8") does).
std::string DecodeText(std::string_view data);

// PVE::AccessControl::normalize_path: collapses '//', strips one trailing
// '/', prepends '/'; nullopt for an empty/"0" path or one with characters
// outside [[:alnum:].-_/].
std::optional<std::string> NormalizePath(std::string_view path);

// PVE::Auth::Plugin::verify_username: 3..64 bytes, user@realm with
// user = [^\s:/]+ and realm = [A-Za-z][A-Za-z0-9.\-_]+. On success stores
// the realm (the part after the last '@').
bool VerifyUsername(std::string_view userid, std::string* realm = nullptr);

// PVE::AccessControl::split_tokenid: "user@realm!name" (no length check).
bool SplitTokenId(std::string_view tokenid, std::string* userid, std::string* name);

// $realm_regex: [A-Za-z][A-Za-z0-9.\-_]+
bool ValidRealm(std::string_view realm);
bool ValidGroupName(std::string_view name);  // [A-Za-z0-9.\-_]+
bool ValidRoleName(std::string_view name);   // [A-Za-z0-9.\-_]+
// [A-Za-z0-9.\-_]+ with up to two '/'-separated sub-levels (3 levels max).
bool ValidPoolName(std::string_view name);
// [a-z][a-z0-9\-_.]*[a-z0-9], case-insensitive.
bool ValidStorageId(std::string_view id);
bool AllDigits(std::string_view s);  // non-empty, only 0-9

}  // namespace pveaudit::pve
