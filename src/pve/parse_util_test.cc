// parse_util_test.cc: the Perl helpers user.cfg parsing depends on.
#include "pve/parse_util.h"

#include <gtest/gtest.h>

namespace pveaudit::pve {
namespace {

using Strings = std::vector<std::string>;

TEST(SplitListTest, CommaSemicolonAndWhitespaceAreEquivalent) {
  EXPECT_EQ(SplitList("store1 store2"), (Strings{"store1", "store2"}));
  EXPECT_EQ(SplitList("store1,store2"), (Strings{"store1", "store2"}));
  EXPECT_EQ(SplitList(" a;b ,, c\td "), (Strings{"a", "b", "c", "d"}));
  EXPECT_EQ(SplitList(""), Strings{});
  EXPECT_EQ(SplitList(std::string_view("a b\0c,d", 7)), (Strings{"a b", "c,d"}));
}

TEST(PerlTrueTest, EmptyAndZeroAreFalse) {
  EXPECT_FALSE(PerlTrue(""));
  EXPECT_FALSE(PerlTrue("0"));
  EXPECT_TRUE(PerlTrue("1"));
  EXPECT_TRUE(PerlTrue("00"));  // a non-empty string other than "0"
  EXPECT_TRUE(PerlTrue("0.0"));
  EXPECT_TRUE(PerlTrue("no"));
}

TEST(SplitColonsTest, TrailingEmptyFieldsDropped) {
  EXPECT_EQ(SplitColons("user:root@pam:1:0::::::"), (Strings{"user", "root@pam", "1", "0"}));
  EXPECT_EQ(SplitColons("acl::/:"), (Strings{"acl", "", "/"}));
  EXPECT_EQ(SplitColons(":"), Strings{});
  EXPECT_EQ(SplitColons("a"), Strings{"a"});
}

TEST(TextCodecTest, EncodeEscapesControlsHighBitColonAndPercent) {
  EXPECT_EQ(EncodeText("Ops: 100% on-call"), "Ops%3A 100%25 on-call");
  EXPECT_EQ(EncodeText("J\xC3\xB6rg"), "J%C3%B6rg");
  EXPECT_EQ(EncodeText("a\nb\tc"), "a%0Ab%09c");
  EXPECT_EQ(EncodeText(" !\"#$&'()*+,-./09;<=>?@AZ[\\]^_`az{|}~"),
            " !\"#$&'()*+,-./09;<=>?@AZ[\\]^_`az{|}~");
}

TEST(TextCodecTest, DecodeUnescapesAndRepairsUtf8) {
  EXPECT_EQ(DecodeText("Ops%3A%20on-call"), "Ops: on-call");
  EXPECT_EQ(DecodeText("J%C3%B6rg"), "J\xC3\xB6rg");
  EXPECT_EQ(DecodeText("J%c3%b6rg"), "J\xC3\xB6rg");
  EXPECT_EQ(DecodeText("100%"), "100%");    // lone '%' stays
  EXPECT_EQ(DecodeText("%G1%2"), "%G1%2");  // not two hex digits
  EXPECT_EQ(DecodeText("bad%FFbyte"),
            "bad\xEF\xBF\xBD"
            "byte");  // U+FFFD
}

TEST(TextCodecTest, RoundTrips) {
  for (std::string s :
       {"", "plain", "Ops: 100% on-call", "J\xC3\xB6rg \xE2\x9C\x93", "a:b:c\n", "%3A is literal"})
    EXPECT_EQ(DecodeText(EncodeText(s)), s) << s;
}

TEST(NormalizePathTest, ProxmoxNormalisation) {
  EXPECT_EQ(NormalizePath("/vms/100/"), "/vms/100");
  EXPECT_EQ(NormalizePath("//vms///100"), "/vms/100");
  EXPECT_EQ(NormalizePath("vms/100"), "/vms/100");
  EXPECT_EQ(NormalizePath("/"), "/");
  EXPECT_EQ(NormalizePath("//"), "/");
  EXPECT_EQ(NormalizePath("/pool/dev/web"), "/pool/dev/web");
  EXPECT_EQ(NormalizePath(""), std::nullopt);
  EXPECT_EQ(NormalizePath("0"), std::nullopt);  // Perl-false
  EXPECT_EQ(NormalizePath("/vms/1 00"), std::nullopt);
  EXPECT_EQ(NormalizePath("/vm$"), std::nullopt);
}

TEST(IdentifierTest, Usernames) {
  std::string realm;
  EXPECT_TRUE(VerifyUsername("alice@pve", &realm));
  EXPECT_EQ(realm, "pve");
  EXPECT_TRUE(VerifyUsername("a@b@corp.example", &realm));  // user part may hold '@'
  EXPECT_EQ(realm, "corp.example");
  EXPECT_TRUE(VerifyUsername("joe@localhost"));
  EXPECT_FALSE(VerifyUsername("alice"));
  EXPECT_FALSE(VerifyUsername("a@p"));         // realm needs 2 characters
  EXPECT_FALSE(VerifyUsername("alice@1pve"));  // realm starts with a letter
  EXPECT_FALSE(VerifyUsername("al ice@pve"));
  EXPECT_FALSE(VerifyUsername("al/ice@pve"));
  EXPECT_FALSE(VerifyUsername("alice@pve!ci"));  // a token id
  // Appended, not `std::string(61, 'a') + "@pve"`: GCC 12 at -O1 warns
  // (-Warray-bounds) on that temporary, a compiler bug (GCC PR 105651).
  std::string long_name(61, 'a');
  long_name += "@pve";
  EXPECT_FALSE(VerifyUsername(long_name));  // 64 bytes max
  long_name.erase(0, 1);
  EXPECT_TRUE(VerifyUsername(long_name));
}

TEST(IdentifierTest, TokenIds) {
  std::string user, name;
  EXPECT_TRUE(SplitTokenId("alice@pve!ci", &user, &name));
  EXPECT_EQ(user, "alice@pve");
  EXPECT_EQ(name, "ci");
  EXPECT_FALSE(SplitTokenId("alice@pve", &user, &name));
  EXPECT_FALSE(SplitTokenId("alice@pve!", &user, &name));
  EXPECT_FALSE(SplitTokenId("alice@pve!1ci", &user, &name));  // token name = realm syntax
  EXPECT_FALSE(SplitTokenId("alice@pve!t", &user, &name));    // ... of 2+ characters
  EXPECT_FALSE(SplitTokenId("alice!ci", &user, &name));
}

TEST(IdentifierTest, GroupsRolesPoolsStorages) {
  EXPECT_TRUE(ValidGroupName("ops-team_1.x"));
  EXPECT_FALSE(ValidGroupName("ops team"));
  EXPECT_FALSE(ValidRoleName("Role@x"));
  EXPECT_TRUE(ValidPoolName("a"));
  EXPECT_TRUE(ValidPoolName("a/b/c"));
  EXPECT_FALSE(ValidPoolName("a/b/c/d"));  // nested too deeply (max levels = 3)
  EXPECT_FALSE(ValidPoolName("a//b"));
  EXPECT_FALSE(ValidPoolName("/a"));
  EXPECT_TRUE(ValidStorageId("local-lvm"));
  EXPECT_TRUE(ValidStorageId("NFS.backup2"));
  EXPECT_FALSE(ValidStorageId("1local"));
  EXPECT_FALSE(ValidStorageId("local-"));
  EXPECT_FALSE(ValidStorageId("l"));
}

}  // namespace
}  // namespace pveaudit::pve
