// Laying a card out in one step: the layout language, the plan a dry run shows, applying it
// as a job, and rolling back to the layout the card had when a step fails.
#include "daemon_fixture.hpp"

using namespace aismi;

namespace {

class LayoutServiceTest : public aismi::test::DaemonFixture {
protected:
    Result<void> apply(const std::string& layout) {
        std::optional<Result<void>> outcome;
        auto job = layouts->apply(0, layout, [&](Result<void> r) { outcome = std::move(r); });
        if (!job) return std::move(job).error();
        if (!runUntil([&] { return outcome.has_value(); })) return makeError(Errc::Timeout, "no outcome");
        return *outcome;
    }
    std::string profiles() {
        poller->readAllNow();
        std::string out;
        for (const auto& vf : inventory->snapshot(0).vfs) out += (out.empty() ? "" : ",") + (vf.profile.empty() ? "-" : vf.profile);
        return out;
    }
};

}  // namespace

TEST(Layouts, ParsesCountsAndProfilesAndRefusesAnythingElse) {
    auto ok = parseLayout("4xquarter,8xeighth");
    ASSERT_TRUE(ok.ok());
    ASSERT_EQ(ok->size(), 2u);
    EXPECT_EQ(ok->at(1).count, 8u);
    EXPECT_EQ(ok->at(1).profile, "eighth");
    for (const char* bad : {"", "4x", "x8", "-1xhalf", "1e9xhalf", "4xquarter,", "0xhalf", "300xeighth", "4quarter", "4 x half", "200xa,100xb"}) {
        auto r = parseLayout(bad);
        ASSERT_FALSE(r.ok()) << bad;
        EXPECT_EQ(r.error().code, Errc::InvalidArgument) << bad;
        EXPECT_NE(r.error().message.find("COUNTxPROFILE"), std::string::npos) << r.error().message;
    }
}

TEST_F(LayoutServiceTest, PlansWithoutChangingAnything) {
    auto plan = layouts->plan(0, "2xquarter,4xeighth");
    ASSERT_TRUE(plan.ok()) << plan.error().message;
    EXPECT_EQ(plan->describe(),
              "enable 6 VFs on card 0\n"
              "VF 0:0: provision quarter (32 compute units, 16256 MiB, 2 engines)\n"
              "VF 0:1: provision quarter (32 compute units, 16256 MiB, 2 engines)\n"
              "VF 0:2: provision eighth (16 compute units, 8128 MiB, 1 engines)\n"
              "VF 0:3: provision eighth (16 compute units, 8128 MiB, 1 engines)\n"
              "VF 0:4: provision eighth (16 compute units, 8128 MiB, 1 engines)\n"
              "VF 0:5: provision eighth (16 compute units, 8128 MiB, 1 engines)\n");
    EXPECT_EQ(inventory->snapshot(0).vfEnabled(), 0u) << "a plan changes nothing";
    EXPECT_EQ(layouts->plan(0, "3xhalf").error().code, Errc::NoSpace);
    EXPECT_NE(layouts->plan(0, "3xhalf").error().message.find("needs 192 compute units, the card has 128"), std::string::npos);
    EXPECT_EQ(layouts->plan(0, "9xeighth").error().code, Errc::OutOfRange) << "TotalVFs is 8";
    EXPECT_EQ(layouts->plan(0, "2xtenth").error().code, Errc::NotFound);
}

TEST_F(LayoutServiceTest, AppliesALayoutAndAnotherOverIt) {
    ASSERT_TRUE(apply("2xquarter,4xeighth").ok());
    EXPECT_EQ(profiles(), "quarter,quarter,eighth,eighth,eighth,eighth");
    EXPECT_EQ(inventory->device(0)->vfResources(5).value(), (Resources{16, 8128, 1}));
    ASSERT_TRUE(apply("1xhalf,2xquarter").ok()) << "a different count replaces the VFs";
    EXPECT_EQ(profiles(), "half,quarter,quarter");
    auto plan = layouts->plan(0, "1xhalf,2xquarter");
    ASSERT_TRUE(plan.ok());
    EXPECT_NE(plan->describe().find("VF 0:1: left alone (quarter)"), std::string::npos) << plan->describe();
    EXPECT_TRUE(journal->open()->empty());
}

TEST_F(LayoutServiceTest, RollsBackToTheLayoutTheCardHadWhenAStepFails) {
    ASSERT_TRUE(apply("4xeighth").ok());
    load(0, 2);  // a workload on VF 2: its resources cannot move
    poller->readAllNow();
    auto r = apply("4xquarter");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("rolled back to the layout it had"), std::string::npos) << r.error().message << " / " << profiles();
    EXPECT_EQ(profiles(), "eighth,eighth,eighth,eighth");
    for (unsigned vf = 0; vf < 4; ++vf) EXPECT_EQ(inventory->device(0)->vfResources(vf).value(), (Resources{16, 8128, 1})) << vf;
}
