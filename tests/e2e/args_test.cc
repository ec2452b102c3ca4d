// Bad arguments: exit 2, a message naming the bad value, nothing on
// stdout, and the store untouched.
#include "e2e_util.h"

namespace e2e {
namespace {

struct BadArg {
  const char* name;
  const char* line;     // typed command line
  const char* message;  // must appear on stderr
};

const BadArg kBadArgs[] = {
    {"StartMonth13", "pveam access log --start 2025-13-01", "invalid month 13"},
    {"EndMonth13", "pveam access log --end 2025-13-01", "invalid month 13"},
    {"Failed2", "pveam access log --failed 2", "invalid value '2' for --failed"},
    {"CountNegative", "pveam access log --count -1", "invalid value '-1' for --count"},
    {"CountZero", "pveam access log --count 0", "invalid value '0' for --count"},
    {"CountAbc", "pveam access log --count abc", "invalid value 'abc' for --count"},
    {"HourZero", "pveam access log --action vm:create --count 10 --hour 0",
     "invalid value '0' for --hour"},
    {"HourWithoutCount", "pveam access log --hour 1", "--hour needs --count"},
    {"UnknownOptionUsr", "pveam access log --usr x",
     "unknown option '--usr' (did you mean '--user'?)"},
    {"UnknownCommandLgo", "pveam access lgo", "unknown command 'lgo' (did you mean 'log'?)"},
    {"OutputFormatXml", "pveam access log --output-format xml",
     "invalid value 'xml' for --output-format"},
    {"MixedTimeOfDayAndDate", "pveam access log --start 18:00 --end 2025-01-01",
     "both be times of day"},
    {"GroupByHost", "pveam access log --failed 1 --count 5 --group-by host",
     "invalid value 'host' for --group-by"},
    {"GroupByWithoutCount", "pveam access log --group-by host", "--group-by needs --count"},
    {"StartAfterEnd", "pveam access log --start 2025-02-01 --end 2025-01-01",
     "is not before --end"},
    {"SameTimeOfDay", "pveam access log --start 08:00 --end 08:00", "same time of day"},
    {"ResourceNotAPath", "pveam access log --resource vms/100",
     "invalid value 'vms/100' for --resource"},
    {"BadIp", "pveam access log --ip 300.1.2.3", "invalid value '300.1.2.3' for --ip"},
    {"LimitZero", "pveam access log --limit 0", "invalid value '0' for --limit"},
    {"VerifyOutputFormat", "pveam access verify --output-format xml",
     "invalid value 'xml' for --output-format"},
    {"UnknownTopLevel", "pveam acess log", "unknown command 'acess' (did you mean 'access'?)"},
};

void PrintTo(const BadArg& a, std::ostream* os) { *os << a.line; }

class BadArgsTest : public E2eTest, public ::testing::WithParamInterface<BadArg> {};

// Against a populated store: exit 2, the message, no output, no change.
TEST_P(BadArgsTest, Exit2NamesValueStoreUnchanged) {
  ImportStandard();
  auto before = Status();
  struct stat st_before;
  ASSERT_EQ(stat(DbPath().c_str(), &st_before), 0);
  std::string db_before = ReadFile(DbPath());

  RunResult r = Sh(GetParam().line);
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_EQ(r.out, "") << r;
  EXPECT_TRUE(Contains(r.err, GetParam().message)) << r;

  auto after = Status();
  EXPECT_EQ(after["events"], before["events"]);
  EXPECT_EQ(after["chain_head"], before["chain_head"]);
  EXPECT_EQ(ReadFile(DbPath()), db_before);
}

// Against an empty data dir (nothing imported yet): still exit 2 with the
// message, and no store is created.
TEST_P(BadArgsTest, Exit2OnEmptyDataDir) {
  RunResult r = Sh(GetParam().line);
  // Regression: --count/--hour/--group-by were checked only after the store
  // was opened, so without a store they exited 1 ("no event store")
  // instead of 2 naming the bad value.
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_TRUE(Contains(r.err, GetParam().message)) << r;
  EXPECT_FALSE(std::filesystem::exists(data_dir_));
}

INSTANTIATE_TEST_SUITE_P(Log, BadArgsTest, ::testing::ValuesIn(kBadArgs),
                         [](const ::testing::TestParamInfo<BadArg>& i) { return i.param.name; });

TEST_F(E2eTest, ImportBadFormatLeavesStoreUnchanged) {
  ImportStandard();
  std::string db_before = ReadFile(DbPath());
  std::string extra = Fixture("access-malformed.log");
  RunResult r = Pveam({"access", "import", "--format", "bogus", extra});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_EQ(ReadFile(DbPath()), db_before);
  EXPECT_EQ(EventCount(), 57);
}

TEST_F(E2eTest, HelpExits0) {
  RunResult r = Sh("pveam access log --help");
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_TRUE(Contains(r.out, "--user")) << r;
  EXPECT_TRUE(Contains(r.out, "--start 18:00 --end 08:00")) << r;
}

}  // namespace
}  // namespace e2e
