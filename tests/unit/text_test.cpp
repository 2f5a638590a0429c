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
                            "@", "@-5", "@99999999999999", "4000d ago", "1e3s ago", "2026-11-24  18:00", "18:00:00:00"}) {
        auto r = text::parseTimePoint(bad, now, "--since");
        EXPECT_FALSE(r.ok()) << bad;
        if (!r.ok()) {
            EXPECT_NE(r.error().message.find("--since"), std::string::npos) << bad;
        }
    }
}
