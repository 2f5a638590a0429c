// The strict text parsers every input goes through: ratios for oversubscription policies, times.
#include <aismi/text.hpp>

#include <gtest/gtest.h>

#include <ctime>

using namespace aismi;

TEST(Text, ParsesRatiosInHundredthsAndRefusesEverythingElse) {
    EXPECT_EQ(text::parseRatio("1.5", 100, 1600, "r").value(), 150u);
    EXPECT_EQ(text::parseRatio("2", 100, 1600, "r").value(), 200u);
    EXPECT_EQ(text::parseRatio("1.25", 100, 1600, "r").value(), 125u);
    EXPECT_EQ(text::parseRatio("16.00", 100, 1600, "r").value(), 1600u);
    EXPECT_EQ(text::parseRatio("1.0", 100, 1600, "r").value(), 100u);
    const std::pair<const char*, const char*> bad[] = {
        {"", "is empty"},        {"0", "is out of range"},       {"-1", "is not a number"},       {"nan", "is not a number"},
        {"inf", "is not a number"}, {"1e3", "is not a number"},  {"1000", "is out of range"},     {"1.333", "has more than two decimals"},
        {"1.", "is not a number"}, {".5", "is not a number"},    {"0.99", "is out of range"},     {"16.01", "is out of range"},
        {" 1.5", "is not a number"}, {"1,5", "is not a number"}, {"99999999999", "is out of range"},
    };
    for (const auto& [input, why] : bad) {
        auto r = text::parseRatio(input, 100, 1600, "--compute-oversubscription");
        ASSERT_FALSE(r.ok()) << input;
        EXPECT_EQ(r.error().code, Errc::InvalidArgument);
        EXPECT_EQ(r.error().message, std::string("--compute-oversubscription: '") + input + "' " + why +
                                         " (a ratio from 1.0 to 16.0 with at most two decimals, e.g. 1.5)");
    }
    EXPECT_EQ(text::ratioText(100), "1.0");
    EXPECT_EQ(text::ratioText(150), "1.5");
    EXPECT_EQ(text::ratioText(125), "1.25");
    EXPECT_EQ(text::ratioText(1600), "16.0");
}

TEST(Text, ParsesTimePointsTheWayEventsSinceTakesThem) {
    const int64_t now = 1'800'000'000;
    EXPECT_EQ(text::parseTimePoint("now", now, "t").value(), now);
    EXPECT_EQ(text::parseTimePoint("@1700000000", now, "t").value(), 1'700'000'000);
    EXPECT_EQ(text::parseTimePoint("10m ago", now, "t").value(), now - 600);
    EXPECT_EQ(text::parseTimePoint("-2h", now, "t").value(), now - 7200);
    EXPECT_EQ(text::parseTimePoint("3d ago", now, "t").value(), now - 3 * 86400);
    EXPECT_EQ(text::parseTimePoint("45s ago", now, "t").value(), now - 45);
    EXPECT_EQ(text::parseTimePoint("10 minutes ago", now, "t").value(), now - 600);
    EXPECT_EQ(text::parseTimePoint("1 hour ago", now, "t").value(), now - 3600);
    EXPECT_EQ(text::parseTimePoint("2 days ago", now, "t").value(), now - 2 * 86400);
    EXPECT_EQ(text::parseTimePoint("30 sec ago", now, "t").value(), now - 30);
    // Local times: compare against the C library's own reading of the same fields.
    std::tm tm{};
    tm.tm_year = 2026 - 1900, tm.tm_mon = 10, tm.tm_mday = 24, tm.tm_hour = 18, tm.tm_min = 5, tm.tm_isdst = -1;
    const int64_t at = static_cast<int64_t>(std::mktime(&tm));
    EXPECT_EQ(text::parseTimePoint("2026-11-24 18:05", now, "t").value(), at);
    EXPECT_EQ(text::parseTimePoint("2026-11-24T18:05:00", now, "t").value(), at);
    EXPECT_EQ(text::parseTimePoint("2026-11-24 18:05:07", now, "t").value(), at + 7);
    EXPECT_LE(text::parseTimePoint("today", now, "t").value(), now);
    EXPECT_LT(text::parseTimePoint("yesterday", now, "t").value(), text::parseTimePoint("today", now, "t").value());
    for (const char* bad : {"", "soon", "10 ago", "10x ago", "-", "-h", "2026-13-01", "2026-02-31", "2026-11-24 25:00", "2026-11-24 18", "18:60",
                            "@", "@-5", "@99999999999999", "4000d ago", "1e3s ago", "2026-11-24  18:00", "18:00:00:00",
                            "10 lightyears ago", "ten minutes ago", "10  minutes ago"}) {
        auto r = text::parseTimePoint(bad, now, "--since");
        EXPECT_FALSE(r.ok()) << bad;
        if (!r.ok()) {
            EXPECT_NE(r.error().message.find("--since"), std::string::npos) << bad;
        }
    }
}

TEST(Text, ParsesSizesAsUsersTypeThemAndAsksAboutDecimalUnits) {
    EXPECT_EQ(text::parseSizeMib("512", "s").value(), 512u);
    for (const char* g : {"32G", "32g", "32Gi", "32gi", "32GiB", "32gib"}) EXPECT_EQ(text::parseSizeMib(g, "s").value(), 32u * 1024) << g;
    EXPECT_EQ(text::parseSizeMib("1t", "s").value(), 1024u * 1024);
    EXPECT_EQ(text::parseSizeMib("64mi", "s").value(), 64u);
    auto decimal = text::parseSizeMib("32GB", "--max-memory");
    ASSERT_FALSE(decimal.ok());
    EXPECT_EQ(decimal.error().message, "--max-memory: '32GB': decimal or binary? aismi's sizes are binary; write 32G or 32GiB (1 GiB = 1024 MiB)");
    for (const char* bad : {"", "1.5G", "-1", "G", "32 G", "32Gx", "0"}) EXPECT_FALSE(text::parseSizeMib(bad, "s").ok()) << bad;
}

TEST(Text, BooleansTakeYesNoTrueFalse) {
    for (const char* yes : {"yes", "YES", "true", "True"}) EXPECT_TRUE(text::parseBoolean(yes, "--x").value()) << yes;
    for (const char* no : {"no", "No", "false", "FALSE"}) EXPECT_FALSE(text::parseBoolean(no, "--x").value()) << no;
    auto bad = text::parseBoolean("maybe", "--auto-reset");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().message, "--auto-reset takes yes or no (or true or false), not 'maybe'");
    EXPECT_FALSE(text::parseBoolean("yesyesyes", "--x").ok());
}

TEST(Text, FindsAndEscapesControlCharactersAndChecksUtf8) {
    EXPECT_FALSE(text::firstControlCharacter("plain text, even \xc3\xa9"));
    EXPECT_EQ(text::firstControlCharacter("ab\x1b[31m").value(), 2u);
    EXPECT_EQ(text::firstControlCharacter("a\nb").value(), 1u);
    EXPECT_FALSE(text::firstControlCharacter("a\nb\tc", true)) << "a document may have lines";
    EXPECT_EQ(text::firstControlCharacter("a\x7f").value(), 1u);
    EXPECT_EQ(text::escapeControl("ab\x1b[31mRED\x07"), "ab\\x1b[31mRED\\x07");
    EXPECT_EQ(text::escapeControl("a\nb", true), "a\nb");
    EXPECT_TRUE(text::validUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
    for (const char* bad : {"\xff", "\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "a\x80"}) EXPECT_FALSE(text::validUtf8(bad)) << bad;
    EXPECT_EQ(text::counted(1, "engine"), "1 engine");
    EXPECT_EQ(text::counted(2, "engine"), "2 engines");
    EXPECT_EQ(text::counted(0, "VF"), "0 VFs");
}
