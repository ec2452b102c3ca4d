// syslog_frame_test.cc
#include "ingest/syslog_frame.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pveaudit {
namespace {

using namespace std::string_literals;
using Lines = std::vector<std::string>;

// ---------------------------------------------------------------------------
// FrameDecoder

Lines Decode(std::string_view in, size_t max = kSyslogDefaultMaxMessage,
             uint64_t* truncated = nullptr) {
  FrameDecoder d(max);
  Lines out;
  EXPECT_TRUE(d.Feed(in, &out)) << d.error();
  EXPECT_TRUE(d.Finish(&out));
  if (truncated != nullptr) *truncated = d.truncated();
  return out;
}

// Feeds `in` in pieces of `step` bytes.
Lines DecodeSplit(std::string_view in, size_t step, size_t max = kSyslogDefaultMaxMessage,
                  uint64_t* truncated = nullptr) {
  FrameDecoder d(max);
  Lines out;
  for (size_t i = 0; i < in.size(); i += step) {
    EXPECT_TRUE(d.Feed(in.substr(i, step), &out)) << d.error();
  }
  EXPECT_TRUE(d.Finish(&out));
  if (truncated != nullptr) *truncated = d.truncated();
  return out;
}

std::string Framed(std::string_view msg) {
  return std::to_string(msg.size()) + " " + std::string(msg);
}

// Feeds `in` whole; returns the framing verdict and the messages before it.
bool FeedBad(std::string_view in, Lines* out, std::string* error) {
  FrameDecoder d(100);
  bool ok = d.Feed(in, out);
  *error = d.error();
  if (!ok) {
    EXPECT_TRUE(d.failed());
    Lines more;
    EXPECT_FALSE(d.Feed("<13>still failed\n", &more));
    EXPECT_FALSE(d.Finish(&more));
    EXPECT_TRUE(more.empty());
  }
  return ok;
}

TEST(FrameDecoderTest, OctetCounting) {
  EXPECT_EQ(Decode("5 hello3 abc"), (Lines{"hello", "abc"}));
  // As rsyslog's RSYSLOG_SyslogProtocol23Format sends it: the LF that ends
  // the template is inside the count and is stripped.
  EXPECT_EQ(Decode(Framed("<86>1 2025-01-08T12:42:30Z pve2 pvedaemon 1 - - x\n")),
            (Lines{"<86>1 2025-01-08T12:42:30Z pve2 pvedaemon 1 - - x"}));
  // Transparent: LF and NUL inside the frame are kept, trailing ones not.
  EXPECT_EQ(Decode("9 a\nb\0c\r\n\0\n"s), (Lines{"a\nb\0c"s}));
  // A stray LF between frames (some senders add one) is an empty message.
  EXPECT_EQ(Decode("1 a\n1 b\n"), (Lines{"a", "b"}));
  // A frame holding only a line end is an empty message: skipped.
  EXPECT_EQ(Decode("1 \n2 ok"), (Lines{"ok"}));
  // A message that itself starts with digits.
  EXPECT_EQ(Decode("8 12 34 56"), (Lines{"12 34 56"}));
}

TEST(FrameDecoderTest, LfFraming) {
  EXPECT_EQ(Decode("<13>a b\n<13>c\r\n\n\n<13>d\0<13>e"s),
            (Lines{"<13>a b", "<13>c", "<13>d", "<13>e"}));
  EXPECT_EQ(Decode("x\r\n\r\ny"), (Lines{"x", "y"}));  // a lone CR line is empty
  EXPECT_EQ(Decode(""), Lines{});
  EXPECT_EQ(Decode("\n\n\0"s), Lines{});
}

TEST(FrameDecoderTest, MixedPerMessage) {
  std::string in = "5 hello<13>lf one\n" + Framed("<13>counted\n") + "<14>lf two\0"s +
                   Framed("<15>x") + "<16>last without LF";
  Lines want = {"hello", "<13>lf one", "<13>counted", "<14>lf two", "<15>x", "<16>last without LF"};
  EXPECT_EQ(Decode(in), want);
  // Split at every possible position, in the middle of lengths included.
  for (size_t step = 1; step <= in.size(); ++step) {
    EXPECT_EQ(DecodeSplit(in, step), want) << "step " << step;
  }
}

TEST(FrameDecoderTest, SplitInsideLength) {
  std::string msg(123, 'm');
  FrameDecoder d;
  Lines out;
  ASSERT_TRUE(d.Feed("1", &out));
  ASSERT_TRUE(d.Feed("2", &out));
  ASSERT_TRUE(d.Feed("3", &out));
  std::string part = " ";  // appended, not "a" + b: GCC 12's -Wrestrict false positive
  part += msg.substr(0, 50);
  ASSERT_TRUE(d.Feed(part, &out));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(d.buffered(), 50u);
  ASSERT_TRUE(d.Feed(msg.substr(50) + "2 ok", &out));
  EXPECT_EQ(out, (Lines{msg, "ok"}));
  EXPECT_TRUE(d.Finish(&out));
}

TEST(FrameDecoderTest, Oversize) {
  uint64_t truncated = 0;
  // Octet-counted: cut to 10, the rest of the frame skipped, next frame fine.
  std::string in = Framed("abcdefghijklmnopqrstuvwxyz") + "2 ok";
  EXPECT_EQ(Decode(in, 10, &truncated), (Lines{"abcdefghij", "ok"}));
  EXPECT_EQ(truncated, 1u);
  EXPECT_EQ(DecodeSplit(in, 3, 10, &truncated), (Lines{"abcdefghij", "ok"}));
  EXPECT_EQ(truncated, 1u);
  // LF-framed: the same.
  in = "abcdefghijklmnopqrstuvwxyz\nok\n" + std::string(1000, 'z');
  EXPECT_EQ(Decode(in, 10, &truncated), (Lines{"abcdefghij", "ok", "zzzzzzzzzz"}));
  EXPECT_EQ(truncated, 2u);
  EXPECT_EQ(DecodeSplit(in, 7, 10, &truncated), (Lines{"abcdefghij", "ok", "zzzzzzzzzz"}));
  EXPECT_EQ(truncated, 2u);
  // Exactly the limit plus a line end is not too long.
  EXPECT_EQ(Decode(Framed("0123456789\r\n") + "x123456789\r\n", 10, &truncated),
            (Lines{"0123456789", "x123456789"}));
  EXPECT_EQ(truncated, 0u);
  // The buffer never exceeds the limit.
  FrameDecoder d(10);
  Lines out;
  ASSERT_TRUE(d.Feed(std::string(100000, 'y'), &out));
  EXPECT_EQ(d.buffered(), 10u);
  FrameDecoder counted(10);
  ASSERT_TRUE(counted.Feed("999999999 " + std::string(100000, 'y'), &out));
  EXPECT_EQ(counted.buffered(), 10u);
  EXPECT_TRUE(out.empty());
}

TEST(FrameDecoderTest, BadOctetCount) {
  Lines out;
  std::string error;
  EXPECT_FALSE(FeedBad("5 hello12x <13>more", &out, &error));
  EXPECT_EQ(out, Lines{"hello"});  // what came before the error is kept
  EXPECT_NE(error.find("space"), std::string::npos) << error;
  out.clear();
  EXPECT_FALSE(FeedBad("0 ", &out, &error));
  EXPECT_NE(error.find("leading zero"), std::string::npos) << error;
  EXPECT_FALSE(FeedBad("05 hello", &out, &error));
  EXPECT_FALSE(FeedBad("1234567890 x", &out, &error));
  EXPECT_NE(error.find("9 digits"), std::string::npos) << error;
  EXPECT_FALSE(FeedBad("12\n", &out, &error));
  // "2025-01-08T.. host ..." without <PRI> starts with a digit: not a count.
  EXPECT_FALSE(FeedBad("2025-01-08T12:42:30Z pve1 pvedaemon[1]: x\n", &out, &error));
  EXPECT_TRUE(out.empty());
  // A count or frame cut short by the end of the stream.
  for (std::string_view in : {"12", "12 abc"}) {
    FrameDecoder d;
    ASSERT_TRUE(d.Feed(in, &out));
    EXPECT_FALSE(d.Finish(&out)) << in;
    EXPECT_TRUE(out.empty());
  }
}

}  // namespace
}  // namespace pveaudit
