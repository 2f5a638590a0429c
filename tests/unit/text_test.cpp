// The strict text parsers every input goes through: ratios for oversubscription policies.
#include <aismi/text.hpp>

#include <gtest/gtest.h>

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
