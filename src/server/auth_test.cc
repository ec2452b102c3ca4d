// Tests of src/server/auth_*: real RSA keys generated here, real files in
// a temp dir, a real SQLite store for the local accounts.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <thread>
#include <vector>

#include "pve/access_config.h"
#include "server/auth_authenticator.h"
#include "server/auth_csrf.h"
#include "server/auth_local.h"
#include "server/auth_ticket.h"
#include "server/auth_token.h"
#include "store/event_store.h"

namespace pveaudit::auth {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kNow = 1800000000;  // the tests' clock (2027-01-15)

void WriteFile(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
}

void SetMtime(const fs::path& p, int64_t t) {
  struct timespec ts[2] = {{t, 0}, {t, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, p.c_str(), ts, 0), 0);
}

// Three key pairs for the whole suite: RSA generation is the slow part.
struct Keys {
  PKey current, old, stranger;
};
const Keys& TestKeys() {
  static const Keys k = [] {
    Keys k;
    k.current = *GenerateRsaKey(2048);
    k.old = *GenerateRsaKey(2048);
    k.stranger = *GenerateRsaKey(2048);
    return k;
  }();
  return k;
}

constexpr const char* kUserCfg =
    "user:root@pam:1:0:::root@example.com:::\n"
    "user:alice@pve:1:0::::::\n"
    "user:bob@pve:1:0::::::\n"
    "user:auditor@pve:1:0::::::\n"
    "user:dave@pve:1:0::::::\n"
    "user:carol@pve:0:0::::::\n"
    "user:old@pve:1:1000::::::\n"
    "token:bob@pve!sep:0:1::\n"
    "token:bob@pve!full:0:0::\n"
    "token:bob@pve!gone:1000:0::\n"
    "acl:1:/vms/100:alice@pve:PVEAuditor:\n"
    "acl:1:/:auditor@pve:PVEAuditor:\n"
    "acl:1:/vms:bob@pve:PVEVMAdmin:\n"
    "acl:1:/vms/101:bob@pve!sep:PVEAuditor:\n"
    "acl:1:/storage/local:bob@pve!sep:PVEAuditor:\n";

constexpr const char* kSecretSep = "5e7a1c2d-0000-4000-8000-000000000001";
constexpr const char* kSecretFull = "5e7a1c2d-0000-4000-8000-000000000002";
constexpr const char* kSecretGone = "5e7a1c2d-0000-4000-8000-000000000003";

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pveaudit-auth-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    pve_ = dir_ / "pve";
    data_ = dir_ / "data";
    fs::create_directories(data_);
    WriteFile(pve_ / "authkey.pub", PublicKeyPem(TestKeys().current.get()));
    WriteFile(pve_ / "authkey.pub.old", PublicKeyPem(TestKeys().old.get()));
    // Rotated 3 h before the tests' now: the old key vouches for tickets
    // made up to 5 min after that, the current one for 2 h.
    SetMtime(pve_ / "authkey.pub", kNow - 3 * 3600);
    SetMtime(pve_ / "authkey.pub.old", kNow - 3 * 3600);
    WriteFile(pve_ / "user.cfg", kUserCfg);
    WriteFile(pve_ / "priv/token.cfg", std::string("bob@pve!sep ") + kSecretSep +
                                           "\nbob@pve!full " + kSecretFull + "\nbob@pve!gone " +
                                           kSecretGone + "\n");
    // One local RSA key for all tests of the suite (saves a generation).
    WriteFile(data_ / "web-authkey.key", PrivateKeyPem(TestKeys().stranger.get()));
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<PveAuthenticator> Make(SettingsReader settings = {}) {
    PveAuthenticator::Options o;
    o.pve_dir = pve_.string();
    o.data_dir = data_.string();
    o.now = [this] { return now_.load(); };
    o.settings = std::move(settings);
    o.on_login_failure = [this](const LoginFailure& f) { failures_.push_back(f); };
    auto a = PveAuthenticator::Create(o);
    EXPECT_TRUE(a.ok()) << a.status().message();
    return a.ok() ? std::move(*a) : nullptr;
  }

  std::string Ticket(const std::string& data, int64_t time, EVP_PKEY* key = nullptr,
                     Digest d = Digest::kSha256) {
    auto t = SignTicket(key ? key : TestKeys().current.get(), "PVE", data, time, d);
    EXPECT_TRUE(t.ok());
    return *t;
  }

  Result<Principal> ByTicket(PveAuthenticator& a, const std::string& t) {
    Credentials c;
    c.ticket = t;
    return a.Authenticate(c);
  }
  Result<Principal> ByToken(PveAuthenticator& a, const std::string& header) {
    Credentials c;
    c.authorization = header;
    return a.Authenticate(c);
  }

  fs::path dir_, pve_, data_;
  std::atomic<int64_t> now_{kNow};
  std::vector<LoginFailure> failures_;
};

// --- tickets ---------------------------------------------------------------

TEST_F(AuthTest, ValidTicketLogsInItsUser) {
  auto a = Make();
  auto p = ByTicket(*a, Ticket("alice@pve", kNow - 60));
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->userid, "alice@pve");
  EXPECT_EQ(p->via, Principal::Via::kTicket);
  EXPECT_EQ(p->Actor(), "alice@pve");
  // Crypt::OpenSSL::RSA before 0.35 (PVE 8) signs with SHA-1.
  auto sha1 = ByTicket(*a, Ticket("alice@pve", kNow - 60, nullptr, Digest::kSha1));
  ASSERT_TRUE(sha1.ok()) << sha1.status().message();
  EXPECT_EQ(sha1->userid, "alice@pve");
  // Its OpenSSL 3 versions default to PSS padding.
  auto pss = ByTicket(*a, Ticket("alice@pve", kNow - 60, nullptr, Digest::kPssSha256));
  ASSERT_TRUE(pss.ok()) << pss.status().message();
  // A PSS signature is not a PKCS#1 v1.5 one.
  auto parsed = ParseTicket(Ticket("alice@pve", kNow - 60, nullptr, Digest::kPssSha256));
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(
      VerifySignature(TestKeys().current.get(), parsed->plain, parsed->signature, Digest::kSha256));
  EXPECT_TRUE(VerifySignature(TestKeys().current.get(), parsed->plain, parsed->signature,
                              Digest::kPssSha256));
}

TEST_F(AuthTest, TicketAgeLimits) {
  auto a = Make();
  EXPECT_TRUE(ByTicket(*a, Ticket("alice@pve", kNow - 7199)).ok());
  EXPECT_FALSE(ByTicket(*a, Ticket("alice@pve", kNow - 7200)).ok());  // expired
  EXPECT_FALSE(ByTicket(*a, Ticket("alice@pve", kNow - 86400)).ok());
  EXPECT_TRUE(ByTicket(*a, Ticket("alice@pve", kNow + 299)).ok());   // clock skew
  EXPECT_FALSE(ByTicket(*a, Ticket("alice@pve", kNow + 300)).ok());  // from the future
  EXPECT_FALSE(ByTicket(*a, Ticket("alice@pve", kNow + 3600)).ok());
}

TEST_F(AuthTest, TicketOfAnotherKeyIsRefused) {
  auto a = Make();
  auto p = ByTicket(*a, Ticket("alice@pve", kNow - 60, TestKeys().stranger.get()));
  EXPECT_FALSE(p.ok());
}

TEST_F(AuthTest, RotatedOldKeyOnlyForTicketsFromBeforeTheRotation) {
  auto a = Make();
  // The key was rotated 1 h ago (both files written then).
  SetMtime(pve_ / "authkey.pub", kNow - 3600);
  SetMtime(pve_ / "authkey.pub.old", kNow - 3600);
  EXPECT_TRUE(ByTicket(*a, Ticket("alice@pve", kNow - 3600 - 600, TestKeys().old.get())).ok());
  EXPECT_TRUE(ByTicket(*a, Ticket("alice@pve", kNow - 3600 + 200, TestKeys().old.get())).ok());
  // After rotation + grace period, the old key signs nothing valid.
  EXPECT_FALSE(ByTicket(*a, Ticket("alice@pve", kNow - 3600 + 400, TestKeys().old.get())).ok());
  EXPECT_FALSE(ByTicket(*a, Ticket("alice@pve", kNow - 60, TestKeys().old.get())).ok());
  // The current key of 1 h vouches for nothing older than itself (+5 min).
  EXPECT_TRUE(ByTicket(*a, Ticket("alice@pve", kNow - 3600 - 200)).ok());
  EXPECT_FALSE(ByTicket(*a, Ticket("alice@pve", kNow - 3600 - 400)).ok());
  // Without the .old file, the old key's tickets are refused.
  fs::remove(pve_ / "authkey.pub.old");
  EXPECT_FALSE(ByTicket(*a, Ticket("alice@pve", kNow - 3600 - 600, TestKeys().old.get())).ok());
}

TEST_F(AuthTest, KeyFileChangeIsPickedUp) {
  auto a = Make();
  ASSERT_TRUE(ByTicket(*a, Ticket("alice@pve", kNow - 60)).ok());
  WriteFile(pve_ / "authkey.pub", PublicKeyPem(TestKeys().stranger.get()));
  SetMtime(pve_ / "authkey.pub", kNow - 3 * 3600 + 1);
  EXPECT_FALSE(ByTicket(*a, Ticket("alice@pve", kNow - 60)).ok());
  EXPECT_TRUE(ByTicket(*a, Ticket("alice@pve", kNow - 60, TestKeys().stranger.get())).ok());
}

TEST_F(AuthTest, AgeRangeFollowsProxmox) {
  auto r = TicketAgeRange(kNow, kNow - 10 * 3600, false);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->min, -300);
  EXPECT_EQ(r->max, 7200);
  r = TicketAgeRange(kNow, kNow - 600, false);  // young key
  EXPECT_EQ(r->max, 900);
  r = TicketAgeRange(kNow, kNow - 25 * 3600, false);  // overdue rotation
  EXPECT_EQ(r->min, 3600);
  EXPECT_EQ(TicketAgeRange(kNow, kNow - 27 * 3600, false), std::nullopt);
  r = TicketAgeRange(kNow, kNow - 25 * 3600, false, /*quorate=*/false);
  EXPECT_EQ(r->min, -300);
  r = TicketAgeRange(kNow, kNow - 3600, true);
  EXPECT_EQ(r->min, 3300);
  EXPECT_EQ(r->max, 7200);
  EXPECT_EQ(TicketAgeRange(kNow, kNow - 3 * 3600, true), std::nullopt);
}

TEST_F(AuthTest, TfaPendingTicketsAreRefused) {
  auto a = Make();
  for (const char* data :
       {"!tfa!{\"webauthn\":true}", "tfa!alice@pve", "u2f!alice@pve!Zm9vYmFy", "u2f!alice@pve"}) {
    auto p = ByTicket(*a, Ticket(data, kNow - 60));
    EXPECT_FALSE(p.ok()) << data;
  }
  auto done = ByTicket(*a, Ticket("u2f!alice@pve!verified", kNow - 60));
  ASSERT_TRUE(done.ok()) << done.status().message();
  EXPECT_EQ(done->userid, "alice@pve");
}

TEST_F(AuthTest, TamperedUserNameIsRefused) {
  auto a = Make();
  std::string t = Ticket("alice@pve", kNow - 60);
  std::string forged = t;
  forged.replace(forged.find("alice@pve"), 9, "root@pam");
  EXPECT_FALSE(ByTicket(*a, forged).ok());
  std::string time_forged = t;
  time_forged[time_forged.find(':', 4) + 1] ^= 1;  // first hex digit of the time
  EXPECT_FALSE(ByTicket(*a, time_forged).ok());
}

TEST_F(AuthTest, UnknownDisabledOrExpiredUsersAreRefused) {
  auto a = Make();
  EXPECT_FALSE(ByTicket(*a, Ticket("nobody@pve", kNow - 60)).ok());
  EXPECT_FALSE(ByTicket(*a, Ticket("carol@pve", kNow - 60)).ok());
  EXPECT_FALSE(ByTicket(*a, Ticket("old@pve", kNow - 60)).ok());
  EXPECT_FALSE(ByTicket(*a, Ticket("not a user", kNow - 60)).ok());
}

TEST_F(AuthTest, MalformedTicketsAreRefused) {
  auto a = Make();
  std::string good = Ticket("alice@pve", kNow - 60);
  std::string sig = good.substr(good.rfind("::") + 2);
  std::string plain = good.substr(0, good.rfind("::"));
  const std::vector<std::string> bad = {
      "",
      "PVE",
      plain,
      plain + "::",
      plain + ":" + sig,
      plain + "::" + sig + "!",
      plain + "::" + sig.substr(0, sig.size() / 2) + "*" + sig.substr(sig.size() / 2),
      "PMG" + good.substr(3),
      "PVE:alice@pve:" + std::string("6b49d200").substr(0, 8) + "::" + sig,  // lower-case hex
      "PVE:alice@pve:6B49D2::" + sig,
      "PVE:alice pve:6B49D200::" + sig,
      good + " ",
      std::string(5000, 'A'),
  };
  for (const std::string& t : bad) EXPECT_FALSE(ByTicket(*a, t).ok()) << t;
  EXPECT_TRUE(ByTicket(*a, good).ok());
  // The parser's own view of a good ticket.
  auto parsed = ParseTicket(good);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->data, "alice@pve");
  EXPECT_EQ(parsed->time, kNow - 60);
  EXPECT_EQ(parsed->signature.size(), 256u);
}

TEST_F(AuthTest, TicketDataColonsAreEscaped) {
  std::string t = Ticket("a:b@pve", kNow);
  EXPECT_NE(t.find("a%3Ab@pve"), std::string::npos);
  auto parsed = ParseTicket(t);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->data, "a:b@pve");
}

TEST(Base64Test, RoundTripAndStrictness) {
  for (std::string s : {"", "a", "ab", "abc", "abcd", "\xff\x00\x10"}) {
    auto d = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(d) << s;
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(*Base64Decode("YWI"), "ab");  // padding may be left out
  EXPECT_FALSE(Base64Decode("YW I="));
  EXPECT_FALSE(Base64Decode("Y"));
  EXPECT_FALSE(Base64Decode("YW=I"));
}

// --- API tokens ------------------------------------------------------------

TEST_F(AuthTest, ApiTokens) {
  auto a = Make();
  auto p = ByToken(*a, std::string("PVEAPIToken=bob@pve!full=") + kSecretFull);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->userid, "bob@pve");
  EXPECT_EQ(p->tokenid, "bob@pve!full");
  EXPECT_EQ(p->Actor(), "bob@pve!full");
  EXPECT_EQ(p->via, Principal::Via::kToken);
  // pve-http-server also takes a space after the key.
  EXPECT_TRUE(ByToken(*a, std::string("PVEAPIToken bob@pve!sep=") + kSecretSep).ok());
  EXPECT_FALSE(ByToken(*a, std::string("PVEAPIToken=bob@pve!full=") + kSecretSep).ok());
  EXPECT_FALSE(ByToken(*a, std::string("PVEAPIToken=bob@pve!full=") + kSecretFull + "x").ok());
  EXPECT_FALSE(ByToken(*a, "PVEAPIToken=bob@pve!full=").ok());
  EXPECT_FALSE(ByToken(*a, std::string("PVEAPIToken=bob@pve!gone=") + kSecretGone).ok());
  EXPECT_FALSE(ByToken(*a, std::string("PVEAPIToken=bob@pve!nope=") + kSecretFull).ok());
  EXPECT_FALSE(ByToken(*a, std::string("Bearer ") + kSecretFull).ok());
  EXPECT_FALSE(ByToken(*a, std::string("PVEAPIToken=bob@pve=") + kSecretFull).ok());
  EXPECT_FALSE(ByToken(*a, std::string("XPVEAPIToken=bob@pve!full=") + kSecretFull).ok());
  auto parsed = ParseApiTokenHeader("PVEAPIToken=bob@pve!full=abc%2Ddef; x=y");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->secret, "abc-def");
  // A disabled user's tokens stop working.
  WriteFile(pve_ / "user.cfg",
            std::string(kUserCfg).replace(std::string(kUserCfg).find("user:bob@pve:1"), 14,
                                          "user:bob@pve:0"));
  EXPECT_FALSE(ByToken(*a, std::string("PVEAPIToken=bob@pve!full=") + kSecretFull).ok());
}

TEST_F(AuthTest, PrivilegeSeparatedTokenHasTheIntersection) {
  auto a = Make();
  auto sep = ByToken(*a, std::string("PVEAPIToken=bob@pve!sep=") + kSecretSep);
  auto full = ByToken(*a, std::string("PVEAPIToken=bob@pve!full=") + kSecretFull);
  ASSERT_TRUE(sep.ok() && full.ok());
  // bob: PVEVMAdmin on /vms. sep: PVEAuditor on /vms/101 and /storage/local.
  EXPECT_TRUE(a->HasPrivilege(*full, "/vms/102", "VM.PowerMgmt"));
  EXPECT_TRUE(a->HasPrivilege(*sep, "/vms/101", "VM.Audit"));
  EXPECT_FALSE(a->HasPrivilege(*sep, "/vms/101", "VM.PowerMgmt"));           // not the token's
  EXPECT_FALSE(a->HasPrivilege(*sep, "/vms/102", "VM.Audit"));               // not the token's
  EXPECT_FALSE(a->HasPrivilege(*sep, "/storage/local", "Datastore.Audit"));  // not bob's
  Principal bob;
  bob.userid = "bob@pve";
  EXPECT_TRUE(a->HasPrivilege(bob, "/vms/102", "VM.Audit"));
  EXPECT_FALSE(a->HasPrivilege(bob, "/", "Sys.Audit"));
}

// --- CSRF ------------------------------------------------------------------

TEST_F(AuthTest, CsrfTokens) {
  auto a = Make();
  Principal alice;
  alice.userid = "alice@pve";
  Principal bob;
  bob.userid = "bob@pve";
  std::string t = a->CsrfToken(alice);
  EXPECT_TRUE(a->CheckCsrf(alice, t));
  EXPECT_FALSE(a->CheckCsrf(bob, t));  // another user's
  EXPECT_FALSE(a->CheckCsrf(alice, ""));
  EXPECT_FALSE(a->CheckCsrf(alice, t.substr(0, t.size() - 1) + (t.back() == 'A' ? "B" : "A")));
  now_ += 7199;
  EXPECT_TRUE(a->CheckCsrf(alice, t));
  now_ += 1;
  EXPECT_FALSE(a->CheckCsrf(alice, t));  // expired
  now_ = kNow - 300;
  EXPECT_FALSE(a->CheckCsrf(alice, t));  // from the future
  // The token's format is Proxmox's: 8 hex digits, ':', 43 base64 chars.
  ASSERT_EQ(t.size(), 8u + 1 + 43);
  EXPECT_EQ(t[8], ':');
  // A second authenticator on the same data dir uses the same key file.
  now_ = kNow;
  auto b = Make();
  EXPECT_TRUE(b->CheckCsrf(alice, a->CsrfToken(alice)));
  struct stat st;
  ASSERT_EQ(stat((data_ / "web-csrf.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // API tokens need none (as in Proxmox).
  Principal tok;
  tok.userid = "bob@pve";
  tok.tokenid = "bob@pve!full";
  tok.via = Principal::Via::kToken;
  EXPECT_TRUE(a->CheckCsrf(tok, ""));
}

TEST(CsrfTest, MatchesProxmoxDerivation) {
  // Vectors from Perl's Digest::SHA, the code Proxmox runs:
  //   perl -MDigest::SHA=hmac_sha256_base64 -e '$s = hmac_sha256_base64("key file contents\n");
  //     print "$s\n6B49D200:", hmac_sha256_base64("6B49D200:alice\@pve", $s)'
  std::string secret = CsrfSecretFromKey("key file contents\n");
  EXPECT_EQ(secret, "Gx/sjwHyA+a+rVQiNAOEYoGFPpQQXL0xf16eP4iOmtc");
  EXPECT_EQ(AssembleCsrfToken(secret, "alice@pve", kNow),
            "6B49D200:FSyVOFVrZN7hAnRWHUJKmh6790HpXJou2GZ4towCPWs");
  EXPECT_TRUE(VerifyCsrfToken(secret, "alice@pve",
                              "6B49D200:FSyVOFVrZN7hAnRWHUJKmh6790HpXJou2GZ4towCPWs", kNow + 10));
  EXPECT_FALSE(VerifyCsrfToken(CsrfSecretFromKey("other"), "alice@pve",
                               AssembleCsrfToken(secret, "alice@pve", kNow), kNow + 10));
}

// Runs `script` with perl and returns its standard output; nullopt when
// perl or Crypt::OpenSSL::RSA is missing (scripts/install-deps installs
// both).
std::optional<std::string> Perl(const fs::path& dir, const std::string& script,
                                const std::string& args) {
  if (std::system("perl -MCrypt::OpenSSL::RSA -MDigest::SHA -MMIME::Base64 -e 1 2>/dev/null") != 0)
    return std::nullopt;
  WriteFile(dir / "t.pl", script);
  std::string cmd = "perl " + (dir / "t.pl").string() + " " + args;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return std::nullopt;
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  EXPECT_EQ(pclose(p), 0) << cmd;
  return out;
}

// Proxmox's own code path: PVE::Ticket::assemble_rsa_ticket signs with
// Crypt::OpenSSL::RSA's defaults; its CSRF token comes from Digest::SHA.
TEST_F(AuthTest, TicketsAndCsrfTokensMadeByPerlAsProxmoxDoes) {
  WriteFile(dir_ / "authkey.key", PrivateKeyPem(TestKeys().current.get()));
  auto a = Make();
  const std::string csrf_key = *pve::ReadWholeFile((data_ / "web-csrf.key").string());
  WriteFile(dir_ / "www.key", csrf_key);
  auto out = Perl(dir_, R"PL(
use strict; use warnings;
use Crypt::OpenSSL::RSA; use MIME::Base64; use Digest::SHA;
my ($keyfile, $time, $wwwkey) = @ARGV;
my $pem = do { local $/; open(my $f, '<', $keyfile) or die; <$f> };
my $rsa = Crypt::OpenSSL::RSA->new_private_key($pem);
my $plain = "PVE:alice\@pve:" . sprintf("%08X", $time);
print $plain . "::" . encode_base64($rsa->sign($plain), '') . "
";
my $input = do { local $/; open(my $f, '<', $wwwkey) or die; <$f> };
my $secret = Digest::SHA::hmac_sha256_base64($input);
my $ts = sprintf("%08X", $time);
print "$ts:" . Digest::SHA::hmac_sha256_base64("$ts:alice\@pve", $secret) . "
";
)PL",
                  (dir_ / "authkey.key").string() + " " + std::to_string(kNow - 60) + " " +
                      (dir_ / "www.key").string());
  if (!out) GTEST_SKIP() << "perl with Crypt::OpenSSL::RSA is not installed";
  std::string ticket = out->substr(0, out->find('\n'));
  std::string csrf = out->substr(ticket.size() + 1);
  csrf = csrf.substr(0, csrf.find('\n'));
  auto p = ByTicket(*a, ticket);
  ASSERT_TRUE(p.ok()) << ticket << ": " << p.status().message();
  EXPECT_EQ(p->userid, "alice@pve");
  EXPECT_TRUE(a->CheckCsrf(*p, csrf)) << csrf;
  EXPECT_EQ(a->CsrfToken(*p), AssembleCsrfToken(CsrfSecretFromKey(csrf_key), "alice@pve", kNow));
  // And the other way: Perl's verify accepts what SignTicket makes with
  // the digest of this Crypt::OpenSSL::RSA.
  std::string ours = Ticket("alice@pve", kNow, nullptr, Digest::kSha1);
  std::string ours256 = Ticket("alice@pve", kNow, nullptr, Digest::kSha256);
  WriteFile(dir_ / "authkey.pub", PublicKeyPem(TestKeys().current.get()));
  auto verified = Perl(dir_, R"PL(
use strict; use warnings;
use Crypt::OpenSSL::RSA; use MIME::Base64;
my ($pubfile, @tickets) = @ARGV;
my $pem = do { local $/; open(my $f, '<', $pubfile) or die; <$f> };
my $rsa = Crypt::OpenSSL::RSA->new_public_key($pem);
for my $t (@tickets) {
  my ($plain, $sig) = $t =~ m/^(PVE:\S+)::([^:\s]+)$/ or die;
  print $rsa->verify($plain, decode_base64($sig)) ? "1" : "0";
}
)PL",
                       (dir_ / "authkey.pub").string() + " '" + ours + "' '" + ours256 + "'");
  ASSERT_TRUE(verified);
  // One of the two is this module version's default (SHA-1 up to 0.33).
  EXPECT_TRUE(*verified == "10" || *verified == "01") << *verified;
}

// --- authorization: who sees which events ----------------------------------

Event On(const std::string& user, const std::string& resource) {
  Event e;
  e.user = user;
  e.resource = resource;
  e.action = "vm:start";
  return e;
}

TEST_F(AuthTest, RowLevelVisibility) {
  auto a = Make();
  auto alice = ByTicket(*a, Ticket("alice@pve", kNow - 60));
  ASSERT_TRUE(alice.ok());
  Visibility v = a->VisibilityOf(*alice);
  EXPECT_FALSE(v.all);
  EXPECT_TRUE(v.Sees(On("root@pam", "/vms/100")));  // VM.Audit there
  EXPECT_TRUE(v.Sees(On("root@pam", "/vms/100/firewall")));
  EXPECT_FALSE(v.Sees(On("root@pam", "/vms/101")));
  EXPECT_FALSE(v.Sees(On("root@pam", "/vms/1000")));
  EXPECT_TRUE(v.Sees(On("alice@pve", "/vms/101")));     // her own action
  EXPECT_TRUE(v.Sees(On("alice@pve!ci", "/vms/101")));  // her token's
  EXPECT_FALSE(v.Sees(On("alice@pve2", "/vms/101")));   // not hers
  EXPECT_FALSE(v.Sees(On("bob@pve", "/access")));       // others' logins
  EXPECT_FALSE(v.Sees(On("root@pam", "/storage/local")));
  EXPECT_FALSE(v.Sees(On("root@pam", "/nodes/pve1")));
  EXPECT_FALSE(v.Sees(On("", "/")));
  // Memoized per resource: many rows, same answers, and fast.
  std::vector<Event> rows;
  for (int i = 0; i < 2000; ++i) rows.push_back(On("x@pve", "/vms/" + std::to_string(i % 200)));
  const auto t0 = std::chrono::steady_clock::now();
  size_t seen = 0;
  for (int round = 0; round < 250; ++round)
    for (const Event& e : rows) seen += v.Sees(e);
  const double ns =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() /
      (250.0 * rows.size());
  EXPECT_EQ(seen, 250u * 10);  // only /vms/100 (10 of every 2000 rows)
  std::cout << "Visibility::Sees: " << ns << " ns per row\n";

  auto auditor = ByTicket(*a, Ticket("auditor@pve", kNow - 60));
  ASSERT_TRUE(auditor.ok());
  EXPECT_TRUE(a->VisibilityOf(*auditor).all);

  // No ACL at all: only their own events (not an error).
  auto dave = ByTicket(*a, Ticket("dave@pve", kNow - 60));
  ASSERT_TRUE(dave.ok());
  Visibility d = a->VisibilityOf(*dave);
  EXPECT_FALSE(d.all);
  EXPECT_TRUE(d.Sees(On("dave@pve", "/access")));
  EXPECT_FALSE(d.Sees(On("alice@pve", "/vms/100")));

  // A privilege-separated token: its own actions, and its audit paths.
  auto sep = ByToken(*a, std::string("PVEAPIToken=bob@pve!sep=") + kSecretSep);
  ASSERT_TRUE(sep.ok());
  Visibility s = a->VisibilityOf(*sep);
  EXPECT_TRUE(s.Sees(On("bob@pve!sep", "/vms/200")));
  EXPECT_FALSE(s.Sees(On("bob@pve", "/nodes/x")));
  EXPECT_TRUE(s.Sees(On("root@pam", "/vms/101")));
  EXPECT_FALSE(s.Sees(On("root@pam", "/vms/102")));
}

TEST_F(AuthTest, OtherResourceKinds) {
  WriteFile(pve_ / "user.cfg", std::string(kUserCfg) +
                                   "acl:1:/access:dave@pve:PVEAuditor:\n"
                                   "acl:1:/nodes/pve1:alice@pve:PVEAuditor:\n"
                                   "acl:1:/storage/nfs:alice@pve:PVEDatastoreUser:\n");
  auto a = Make();
  Principal alice, dave;
  alice.userid = "alice@pve";
  dave.userid = "dave@pve";
  Visibility va = a->VisibilityOf(alice);
  EXPECT_TRUE(va.Sees(On("root@pam", "/nodes/pve1")));
  EXPECT_FALSE(va.Sees(On("root@pam", "/nodes/pve2")));
  EXPECT_TRUE(va.Sees(On("root@pam", "/storage/nfs")));
  EXPECT_FALSE(va.Sees(On("root@pam", "/pool/dev")));
  EXPECT_FALSE(va.Sees(On("root@pam", "/access/users/bob@pve")));
  Visibility vd = a->VisibilityOf(dave);
  EXPECT_TRUE(vd.Sees(On("root@pam", "/access/users/bob@pve")));
  EXPECT_TRUE(vd.Sees(On("bob@pve", "/access")));
  EXPECT_TRUE(vd.Sees(On("root@pam", "/pool/dev")));
  EXPECT_FALSE(vd.Sees(On("root@pam", "/vms/100")));
  EXPECT_FALSE(vd.Sees(On("root@pam", "/")));
  EXPECT_FALSE(vd.Sees(On("root@pam", "/cluster/ha")));
}

TEST_F(AuthTest, UserCfgChangesApplyWithoutRestart) {
  auto a = Make();
  Principal dave;
  dave.userid = "dave@pve";
  EXPECT_FALSE(a->HasPrivilege(dave, "/", "Sys.Audit"));
  WriteFile(pve_ / "user.cfg", std::string(kUserCfg) + "acl:1:/:dave@pve:PVEAuditor:\n");
  EXPECT_TRUE(a->HasPrivilege(dave, "/", "Sys.Audit"));
  EXPECT_TRUE(a->VisibilityOf(dave).all);
  EXPECT_FALSE(a->HasPrivilege(dave, "/", "Sys.Modify"));
}

// Many server threads at once while user.cfg changes under them (run
// under the sanitizers by CI).
TEST_F(AuthTest, ConcurrentRequestsWhileUserCfgChanges) {
  auto a = Make();
  const std::string ticket = Ticket("dave@pve", kNow - 60);
  std::atomic<int> failures{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 150 && !stop; ++i) {
        Credentials c;
        c.ticket = ticket;
        auto p = a->Authenticate(c);
        if (!p.ok()) {
          ++failures;
          continue;
        }
        Visibility v = a->VisibilityOf(*p);
        if (!v.Sees(On("dave@pve", "/vms/1"))) ++failures;  // own events, always
        (void)a->HasPrivilege(*p, "/vms/100", "VM.Audit");
      }
    });
  // Replaced whole, as pmxcfs does.
  for (int i = 0; i < 40; ++i) {
    WriteFile(pve_ / "user.cfg.new",
              std::string(kUserCfg) + (i % 2 ? "acl:1:/vms:dave@pve:PVEAuditor:\n" : ""));
    fs::rename(pve_ / "user.cfg.new", pve_ / "user.cfg");
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST_F(AuthTest, NoProxmoxConfigMeansNoProxmoxLogins) {
  fs::remove(pve_ / "user.cfg");
  auto a = Make();
  auto p = ByTicket(*a, Ticket("alice@pve", kNow - 60));
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("user.cfg"), std::string::npos);
}

// --- local accounts --------------------------------------------------------

class LocalAccountTest : public AuthTest {
 protected:
  void SetUp() override {
    AuthTest::SetUp();
    auto s = OpenSqliteStore((dir_ / "store").string(), StoreOptions{});
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    AuthTest::TearDown();
  }
  Actor Root() {
    Actor a;
    a.user = "root@pam";
    return a;
  }
  std::unique_ptr<EventStore> store_;
};

TEST_F(LocalAccountTest, Argon2idRoundTrip) {
  auto h = HashPassword("correct horse", HashLimits::Minimum());
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->rfind("$argon2id$", 0), 0u);
  EXPECT_TRUE(CheckPassword(*h, "correct horse"));
  EXPECT_FALSE(CheckPassword(*h, "correct horsf"));
  EXPECT_FALSE(CheckPassword(*h, ""));
  EXPECT_FALSE(CheckPassword("", "correct horse"));
  auto h2 = HashPassword("correct horse", HashLimits::Minimum());
  EXPECT_NE(*h, *h2);  // salted
}

TEST_F(LocalAccountTest, AddListRemoveAudited) {
  WebUser u;
  ASSERT_TRUE(AddWebUser(*store_, Root(), "node1", "ann", WebRole::kAdmin, "s3cret-pass",
                         HashLimits::Minimum(), &u)
                  .ok());
  EXPECT_EQ(u.userid(), "ann@pveaudit");
  auto users = ListWebUsers(StoreSettingsReader(store_.get()));
  ASSERT_TRUE(users.ok());
  ASSERT_EQ(users->size(), 1u);
  EXPECT_EQ(users->at("ann").role, WebRole::kAdmin);
  EXPECT_EQ(users->at("ann").created_by, "root@pam");
  // Taken names, bad names and short passwords change nothing.
  EXPECT_FALSE(AddWebUser(*store_, Root(), "node1", "ann", WebRole::kAuditor, "another-pass",
                          HashLimits::Minimum())
                   .ok());
  EXPECT_FALSE(AddWebUser(*store_, Root(), "node1", "a:b", WebRole::kAuditor, "another-pass",
                          HashLimits::Minimum())
                   .ok());
  EXPECT_FALSE(
      AddWebUser(*store_, Root(), "node1", "bea", WebRole::kAuditor, "short", HashLimits::Minimum())
          .ok());
  EXPECT_EQ(ListWebUsers(StoreSettingsReader(store_.get()))->size(), 1u);
  ASSERT_TRUE(RemoveWebUser(*store_, Root(), "node1", "ann").ok());
  EXPECT_TRUE(ListWebUsers(StoreSettingsReader(store_.get()))->empty());
  EXPECT_FALSE(RemoveWebUser(*store_, Root(), "node1", "ann").ok());
  EXPECT_EQ(**store_->GetSetting(WebUserHashKey("ann")), "");
  // Both changes are audit events, and no hash is in them.
  std::vector<Event> events;
  Filter f;
  ASSERT_TRUE(store_
                  ->Scan(f, kFieldAll,
                         [&](const Event& e) {
                           events.push_back(e);
                           return true;
                         })
                  .ok());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].action, "pveaudit:web-user-add");
  EXPECT_EQ(events[0].resource, "/access/users/ann@pveaudit");
  EXPECT_EQ(events[0].user, "root@pam");
  EXPECT_EQ(events[1].action, "pveaudit:web-user-remove");
  for (const Event& e : events) {
    EXPECT_EQ(e.detail.find("argon2"), std::string::npos) << e.detail;
    EXPECT_EQ(e.detail.find("s3cret"), std::string::npos) << e.detail;
  }
}

TEST_F(LocalAccountTest, LoginTicketAndPrivileges) {
  ASSERT_TRUE(AddWebUser(*store_, Root(), "n", "aud", WebRole::kAuditor, "auditor-pass",
                         HashLimits::Minimum())
                  .ok());
  ASSERT_TRUE(AddWebUser(*store_, Root(), "n", "adm", WebRole::kAdmin, "admin-pass-1",
                         HashLimits::Minimum())
                  .ok());
  auto a = Make(StoreSettingsReader(store_.get()));
  auto l = a->LoginLocal("aud", "auditor-pass", "192.0.2.1");
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(l->principal.userid, "aud@pveaudit");
  auto p = ByTicket(*a, l->ticket);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->via, Principal::Via::kLocal);
  EXPECT_TRUE(a->CheckCsrf(*p, l->csrf));
  EXPECT_TRUE(a->HasPrivilege(*p, "/", "Sys.Audit"));
  EXPECT_FALSE(a->HasPrivilege(*p, "/", "Sys.Modify"));
  EXPECT_TRUE(a->VisibilityOf(*p).all);
  auto adm = a->LoginLocal("adm@pveaudit", "admin-pass-1", "192.0.2.1");
  ASSERT_TRUE(adm.ok());
  EXPECT_TRUE(a->HasPrivilege(adm->principal, "/", "Sys.Modify"));
  // A Proxmox key cannot vouch for a local account, nor the local key for
  // a Proxmox user.
  EXPECT_FALSE(ByTicket(*a, Ticket("adm@pveaudit", kNow - 60)).ok());
  auto local_for_pve = a->SignLocalTicket("root@pam", kNow - 60);
  ASSERT_TRUE(local_for_pve.ok());
  EXPECT_FALSE(ByTicket(*a, *local_for_pve).ok());
  // Removing the account ends its sessions.
  ASSERT_TRUE(RemoveWebUser(*store_, Root(), "n", "aud").ok());
  EXPECT_FALSE(ByTicket(*a, l->ticket).ok());
  EXPECT_FALSE(a->HasPrivilege(*p, "/", "Sys.Audit"));
  // Local tickets expire like Proxmox's.
  now_ += 7200;
  EXPECT_FALSE(ByTicket(*a, adm->ticket).ok());
}

TEST_F(LocalAccountTest, LocalApiTokens) {
  ASSERT_TRUE(AddWebUser(*store_, Root(), "n", "ann", WebRole::kAdmin, "right-pass-1",
                         HashLimits::Minimum())
                  .ok());
  std::string secret;
  WebToken tok;
  ASSERT_TRUE(AddWebToken(*store_, Root(), "n", "ann", "ci", &secret, &tok).ok());
  EXPECT_EQ(tok.tokenid, "ann@pveaudit!ci");
  EXPECT_EQ(secret.size(), 36u);
  EXPECT_FALSE(AddWebToken(*store_, Root(), "n", "ann", "ci", &secret).ok());  // exists
  EXPECT_FALSE(AddWebToken(*store_, Root(), "n", "ann", "9x", &secret).ok());  // bad id
  EXPECT_FALSE(AddWebToken(*store_, Root(), "n", "bob", "ci", &secret).ok());  // no user
  auto a = Make(StoreSettingsReader(store_.get()));
  auto p = ByToken(*a, "PVEAPIToken=ann@pveaudit!ci=" + secret);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->via, Principal::Via::kLocal);
  EXPECT_EQ(p->Actor(), "ann@pveaudit!ci");
  EXPECT_TRUE(a->HasPrivilege(*p, "/", "Sys.Modify"));
  EXPECT_TRUE(a->CheckCsrf(*p, ""));  // a token needs none
  EXPECT_FALSE(ByToken(*a, "PVEAPIToken=ann@pveaudit!ci=" + secret + "0").ok());
  EXPECT_FALSE(ByToken(*a, "PVEAPIToken=ann@pveaudit!cd=" + secret).ok());
  // The secret is stored only as its SHA-256, and no event holds either.
  EXPECT_EQ(**store_->GetSetting(WebTokenHashKey("ann@pveaudit!ci")), Sha256Hex(secret));
  Filter f;
  ASSERT_TRUE(store_
                  ->Scan(f, kFieldAll,
                         [&](const Event& e) {
                           EXPECT_EQ(e.detail.find(secret), std::string::npos);
                           EXPECT_EQ(e.detail.find(Sha256Hex(secret)), std::string::npos);
                           return true;
                         })
                  .ok());
  // Removing the account kills its tokens, and a new account of the same
  // name does not revive them.
  ASSERT_TRUE(RemoveWebUser(*store_, Root(), "n", "ann").ok());
  EXPECT_FALSE(ByToken(*a, "PVEAPIToken=ann@pveaudit!ci=" + secret).ok());
  EXPECT_TRUE(ListWebTokens(StoreSettingsReader(store_.get()))->empty());
  ASSERT_TRUE(AddWebUser(*store_, Root(), "n", "ann", WebRole::kAdmin, "right-pass-1",
                         HashLimits::Minimum())
                  .ok());
  EXPECT_FALSE(ByToken(*a, "PVEAPIToken=ann@pveaudit!ci=" + secret).ok());
  // Removing a token.
  ASSERT_TRUE(AddWebToken(*store_, Root(), "n", "ann", "ci", &secret).ok());
  ASSERT_TRUE(ByToken(*a, "PVEAPIToken=ann@pveaudit!ci=" + secret).ok());
  ASSERT_TRUE(RemoveWebToken(*store_, Root(), "n", "ann", "ci").ok());
  EXPECT_FALSE(ByToken(*a, "PVEAPIToken=ann@pveaudit!ci=" + secret).ok());
  EXPECT_FALSE(RemoveWebToken(*store_, Root(), "n", "ann", "ci").ok());
}

TEST_F(LocalAccountTest, ThrottlingPerUserAndPerAddress) {
  ASSERT_TRUE(AddWebUser(*store_, Root(), "n", "ann", WebRole::kAuditor, "right-pass",
                         HashLimits::Minimum())
                  .ok());
  auto a = Make(StoreSettingsReader(store_.get()));
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(a->LoginLocal("ann", "wrong-pass", "192.0.2.7").ok());
  ASSERT_EQ(failures_.size(), 5u);
  EXPECT_EQ(failures_[0].user, "ann");
  EXPECT_EQ(failures_[0].ip, "192.0.2.7");
  EXPECT_EQ(failures_[0].reason, "bad password");
  // Locked: even the right password is refused, from any address.
  auto locked = a->LoginLocal("ann", "right-pass", "198.51.100.1");
  ASSERT_FALSE(locked.ok());
  EXPECT_EQ(locked.status().code(), Status::Code::kBusy);
  EXPECT_EQ(failures_.back().reason.rfind("throttled", 0), 0u);
  now_ += 15 * 60;
  EXPECT_TRUE(a->LoginLocal("ann", "right-pass", "198.51.100.1").ok());

  // Per address: many names from one address.
  LoginThrottle t({.max_per_user = 5, .max_per_ip = 3, .window = 60, .max_tracked = 100});
  std::string why;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(t.Allowed("u" + std::to_string(i), "203.0.113.9", 100, &why));
    t.Failure("u" + std::to_string(i), "203.0.113.9", 100);
  }
  EXPECT_FALSE(t.Allowed("u9", "203.0.113.9", 110, &why));
  EXPECT_NE(why.find("203.0.113.9"), std::string::npos);
  EXPECT_TRUE(t.Allowed("u9", "203.0.113.10", 110, &why));
  EXPECT_TRUE(t.Allowed("u9", "203.0.113.9", 161, &why));
}

TEST_F(LocalAccountTest, UnknownUserFailsLikeAWrongPassword) {
  auto a = Make(StoreSettingsReader(store_.get()));
  auto r = a->LoginLocal("ghost", "whatever-pass", "192.0.2.1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "login failed: wrong user name or password");
  ASSERT_EQ(failures_.size(), 1u);
  EXPECT_EQ(failures_[0].reason, "no such user");
}

}  // namespace
}  // namespace pveaudit::auth
