// VF profiles: the built-in fractions of a card, profiles.d files with errors naming file and
// line, sizes, and profiles that can never fit.
#include "profiles.hpp"

#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <fstream>

using namespace aismi;

TEST(Profiles, BuiltInsAreFractionsOfTheCardLessTheFirmwareReserve) {
    auto all = loadProfiles("/nonexistent/profiles.d");
    ASSERT_TRUE(all.ok()) << all.error().message;
    const Resources card{128, 65536, 8};
    EXPECT_EQ(findProfile(*all, "whole")->on(card), (Resources{128, 65024, 8}));
    EXPECT_EQ(findProfile(*all, "half")->on(card), (Resources{64, 32512, 4}));
    EXPECT_EQ(findProfile(*all, "quarter")->on(card), (Resources{32, 16256, 2}));
    EXPECT_EQ(findProfile(*all, "eighth")->on(card), (Resources{16, 8128, 1}));
    EXPECT_EQ(findProfile(*all, "tenth"), nullptr);
    std::string why;
    EXPECT_FALSE(findProfile(*all, "eighth")->on(Resources{4, 65536, 8}, &why).has_value()) << "half a compute unit";
    EXPECT_NE(why.find("less than one compute unit"), std::string::npos) << why;
}

TEST(Profiles, ReadsProfilesDFilesInNameOrder) {
    aismi::test::TempDir dir;
    std::ofstream(dir / "20-large.conf") << "# big ones\n[profile large]\ncompute_units = 96\nmemory = 48G\nengines = 6\n";
    std::ofstream(dir / "10-small.conf") << "[profile small]   # trailing comment\ncompute_units=8\nmemory = 4096MiB\n\n"
                                             "[profile tiny]\ncompute_units = 1\nmemory = 512\n";
    std::ofstream(dir / "README") << "not a .conf file: ignored";
    auto all = loadProfiles(dir.path());
    ASSERT_TRUE(all.ok()) << all.error().message;
    ASSERT_EQ(all->size(), 7u);
    EXPECT_EQ((*all)[4].name, "small");
    EXPECT_EQ((*all)[5].name, "tiny");
    EXPECT_EQ((*all)[6].name, "large");
    EXPECT_EQ(findProfile(*all, "small")->on(Resources{128, 65536, 8}), (Resources{8, 4096, 0}));
    EXPECT_EQ(findProfile(*all, "large")->shape, (Resources{96, 49152, 6}));
    EXPECT_NE(findProfile(*all, "small")->origin.find("10-small.conf line 1"), std::string::npos);
    std::string why;
    EXPECT_FALSE(findProfile(*all, "large")->on(Resources{64, 65536, 8}, &why).has_value());
    EXPECT_EQ(why, "needs 96 compute units, the card has 64");
}

TEST(Profiles, ReadsBurstCapsAndWeights) {
    auto p = parseProfiles("[profile burst]\ncompute_units = 8\nburst_units = 64\nweight = 3\nmemory = 4G\n", "b.conf");
    ASSERT_TRUE(p.ok()) << p.error().message;
    EXPECT_EQ(p->at(0).shape, (Resources{8, 4096, 0, 64, 3}));
    EXPECT_EQ(p->at(0).on(Resources{128, 65536, 8}), (Resources{8, 4096, 0, 64, 3}));
    std::string why;
    EXPECT_FALSE(p->at(0).on(Resources{32, 65536, 8}, &why).has_value());
    EXPECT_EQ(why, "bursts to 64 compute units, the card has 32");
    EXPECT_EQ(shapeText(p->at(0).shape), "8 compute units bursting to 64 at weight 3, 4096 MiB, 0 engines");
    auto builtIn = loadProfiles("/nonexistent");
    ASSERT_TRUE(builtIn.ok());
    EXPECT_EQ(findProfile(*builtIn, "eighth")->on(Resources{128, 65536, 8})->burstCap(), 16u) << "built-ins do not burst";
}

TEST(Profiles, RefusesMalformedFilesNamingFileAndLine) {
    const std::pair<std::string, std::string> bad[] = {
        {"[profile a]\ncompute_units = 8\n", "line 1: profile 'a' needs compute_units and memory"},
        {"[profile a]\ncompute_units = 8\nmemory = 1.5G\n", "line 3: memory: '1.5G' is not a size"},
        {"[profile a]\ncompute_units = -1\nmemory = 1G\n", "line 2: compute_units: '-1' is not a whole number"},
        {"[profile a]\ncompute_units = 0\nmemory = 1G\n", "line 2: compute_units must be 1 to"},
        {"[profile a]\ncompute_units = 8\nmemory = 1G\ncolor = red\n", "line 4: unknown setting 'color'"},
        {"[profile a]\ncompute_units = 8\ncompute_units = 9\nmemory = 1G\n", "line 3: compute_units is given twice"},
        {"compute_units = 8\n", "line 1: a setting before the first '[profile NAME]'"},
        {"[profile a b]\n", "line 1: 'a b' is not a profile name"},
        {"[profiles a]\n", "line 1: expected '[profile NAME]'"},
        {"[profile a]\ncompute_units 8\n", "line 2: expected 'key = value'"},
        {"[profile a]\ncompute_units = 8\nmemory = 1G\n[profile a]\n", "line 4: profile 'a' is defined twice"},
        {"[profile a]\ncompute_units = 8\nmemory = 0\n", "line 3: memory: '0' is out of range"},
        {"[profile a]\ncompute_units = 8\nmemory = 99999999999T\n", "line 3: memory: '99999999999T' is out of range"},
        {"[profile a]\ncompute_units = 8\nburst_units = 4\nmemory = 1G\n", "line 1: profile 'a' bursts to 4 compute units, less than the 8"},
        {"[profile a]\ncompute_units = 8\nmemory = 1G\nweight = 0\n", "line 4: weight must be 1 to 1000"},
        {"[profile a]\ncompute_units = 8\nmemory = 1G\nweight = 1001\n", "line 4: weight must be 1 to 1000"},
        {"[profile a]\ncompute_units = 8\nmemory = 1G\nweight = 1.5\n", "line 4: weight: '1.5' is not a whole number"},
        {"[profile a]\ncompute_units = 8\nmemory = 1G\nburst_units = 0\n", "line 4: burst_units must be 1 to"},
    };
    for (const auto& [content, why] : bad) {
        auto r = parseProfiles(content, "x.conf");
        ASSERT_FALSE(r.ok()) << content;
        EXPECT_EQ(r.error().code, Errc::ConfigInvalid);
        EXPECT_NE(r.error().message.find("x.conf " + why), std::string::npos) << r.error().message << " / wanted: " << why;
    }
    aismi::test::TempDir dir;
    std::ofstream(dir / "a.conf") << "[profile half]\ncompute_units = 8\nmemory = 1G\n";
    auto clash = loadProfiles(dir.path());
    ASSERT_FALSE(clash.ok());
    EXPECT_NE(clash.error().message.find("profile 'half' is already defined (built-in)"), std::string::npos) << clash.error().message;
}
