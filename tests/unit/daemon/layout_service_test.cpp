// Laying a card out in one step: the layout language, the plan a dry run shows, applying it
// as a job, and rolling back to the layout the card had when a step fails.
#include "daemon_fixture.hpp"
#include "declared_layouts.hpp"

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
    auto spaced = parseLayout(" 4xquarter,\t8xeighth ");
    ASSERT_TRUE(spaced.ok()) << "blanks around an item, as people write lists";
    EXPECT_EQ(spaced->at(0).count, 4u);
    EXPECT_EQ(spaced->at(1).profile, "eighth");
    for (const char* bad : {"", "4x", "x8", "-1xhalf", "1e9xhalf", "4xquarter,", "4xquarter, ", "0xhalf", "300xeighth", "4quarter", "4 x half", "200xa,100xb"}) {
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
              "VF 0:2: provision eighth (16 compute units, 8128 MiB, 1 engine)\n"
              "VF 0:3: provision eighth (16 compute units, 8128 MiB, 1 engine)\n"
              "VF 0:4: provision eighth (16 compute units, 8128 MiB, 1 engine)\n"
              "VF 0:5: provision eighth (16 compute units, 8128 MiB, 1 engine)\n");
    EXPECT_EQ(inventory->snapshot(0).vfEnabled(), 0u) << "a plan changes nothing";
    EXPECT_EQ(layouts->plan(0, "3xhalf").error().code, Errc::NoSpace);
    EXPECT_NE(layouts->plan(0, "3xhalf").error().message.find("needs 192 compute units, 128 of 128 are free"), std::string::npos);
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

TEST_F(LayoutServiceTest, PutsEveryVfOfTheBatchBackWhenTheDeviceFailsMidway) {
    ASSERT_TRUE(apply("4xeighth").ok());
    load(0, 2);  // started after the last poll: admitted, then refused by the device (EBUSY)
    auto r = apply("4xquarter");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("rolled back to the layout it had"), std::string::npos) << r.error().message;
    EXPECT_EQ(profiles(), "eighth,eighth,eighth,eighth");
    for (unsigned vf = 0; vf < 4; ++vf) EXPECT_EQ(inventory->device(0)->vfResources(vf).value(), (Resources{16, 8128, 1})) << vf;
    for (unsigned vf = 0; vf < 4; ++vf) EXPECT_EQ(desired->provisioned(kSerial0, vf).value()->profile, "eighth") << vf;
    EXPECT_TRUE(journal->open()->empty());
}

TEST_F(LayoutServiceTest, RecoversABatchACrashInterruptedAllOrNothing) {
    ASSERT_TRUE(apply("4xeighth").ok());
    using P = DesiredStateRepository::Provisioned;
    const Resources eighth{16, 8128, 1}, quarter{32, 16256, 2};
    ProvisionService::BatchPayload batch;
    for (unsigned vf : {0u, 1u}) batch.vfs.push_back({vf, P{"quarter", "", quarter}, P{"eighth", "", eighth}, eighth});
    auto decoded = ProvisionService::BatchPayload::decode(batch.encode());
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ(decoded->vfs.at(1).previous, batch.vfs.at(1).previous);
    // The daemon died midway: VF 0 has its new shape, VF 1 was only emptied.
    for (const auto& vf : batch.vfs) ASSERT_TRUE(desired->setProvisioned(kSerial0, vf.vf, vf.next).ok());
    ASSERT_TRUE(journal->begin("provision-vfs", kSerial0, batch.encode(), "write-vf-resources").ok());
    ASSERT_TRUE(inventory->device(0)->setVfResources(1, Resources{}).ok());
    ASSERT_TRUE(inventory->device(0)->setVfResources(0, quarter).ok());
    teardown();
    compose();
    Reconciler reconciler(*journal);
    reconciler.add(*provisioning);
    const auto report = reconciler.run();
    ASSERT_EQ(report.actions.size(), 1u);
    EXPECT_NE(report.actions[0].find("every VF is put back as it was"), std::string::npos) << report.actions[0];
    for (unsigned vf = 0; vf < 4; ++vf) EXPECT_EQ(inventory->device(0)->vfResources(vf).value(), eighth) << vf;
    EXPECT_EQ(desired->provisioned(kSerial0, 0).value()->profile, "eighth");
    EXPECT_TRUE(journal->open()->empty());
    // The device took all of it: confirmed.
    for (const auto& vf : batch.vfs) ASSERT_TRUE(desired->setProvisioned(kSerial0, vf.vf, vf.next).ok());
    ASSERT_TRUE(journal->begin("provision-vfs", kSerial0, batch.encode(), "write-vf-resources").ok());
    ASSERT_TRUE(inventory->device(0)->setVfResources(1, Resources{}).ok());
    ASSERT_TRUE(inventory->device(0)->setVfResources(3, Resources{}).ok());
    ASSERT_TRUE(inventory->device(0)->setVfResources(0, quarter).ok());
    ASSERT_TRUE(inventory->device(0)->setVfResources(1, quarter).ok());
    teardown();
    compose();
    Reconciler again(*journal);
    again.add(*provisioning);
    const auto confirmed = again.run();
    ASSERT_GE(confirmed.actions.size(), 1u);
    EXPECT_NE(confirmed.actions[0].find("the device has every VF"), std::string::npos) << confirmed.actions[0];
    EXPECT_EQ(inventory->device(0)->vfResources(3).value(), eighth) << "VF 3, emptied outside the batch, is restored by converging";
    EXPECT_EQ(desired->provisioned(kSerial0, 1).value()->profile, "quarter");
}

TEST(DeclaredLayouts, ParseCardsAndLayoutsAndRefuseAnythingElse) {
    auto ok = parseDeclaredLayouts("# fleet\n[layout inference]\ncards = serial:AIS1, address:3b:00.0, device:a15e:0100\nlayout = 4xquarter\n", "f.conf");
    ASSERT_TRUE(ok.ok()) << ok.error().message;
    ASSERT_EQ(ok->size(), 1u);
    EXPECT_EQ(ok->at(0).serials, std::vector<std::string>{"AIS1"});
    EXPECT_EQ(ok->at(0).addresses.at(0).str(), "0000:3b:00.0");
    EXPECT_EQ(ok->at(0).devices.at(0), (DeviceMatch{0xa15e, 0x0100}));
    CardInfo card;
    card.serial = "AIS2";
    card.address = *PciAddress::parse("0000:3d:00.0");
    EXPECT_FALSE(ok->at(0).matches(card));
    card.vendorId = 0xa15e;
    card.deviceId = 0x0100;
    EXPECT_TRUE(ok->at(0).matches(card)) << "by vendor:device";
    const std::pair<std::string, std::string> bad[] = {
        {"[layout a]\ncards = serial:X\n", "line 1: layout 'a' needs cards and layout"},
        {"[layout a]\ncards = slot:3\nlayout = 1xhalf\n", "line 2: 'slot:3' does not name cards"},
        {"[layout a]\ncards = address:zz\nlayout = 1xhalf\n", "line 2: 'zz' is not a PCI address"},
        {"[layout a]\ncards = serial:X\nlayout = 4x\n", "line 3: layout '4x'"},
        {"[layout a]\ncards = serial:X\nlayout = 1xhalf\nspeed = 3\n", "line 4: unknown setting 'speed'"},
        {"[layouts a]\n", "line 1: expected '[layout NAME]'"},
        {"[layout a]\ncards = serial:X\nlayout = 1xhalf\n[layout a]\n", "line 4: layout 'a' is defined twice"},
    };
    for (const auto& [content, why] : bad) {
        auto r = parseDeclaredLayouts(content, "f.conf");
        ASSERT_FALSE(r.ok()) << content;
        EXPECT_EQ(r.error().code, Errc::ConfigInvalid);
        EXPECT_NE(r.error().message.find("f.conf " + why), std::string::npos) << r.error().message;
    }
}

TEST_F(LayoutServiceTest, AppliesDeclaredLayoutsAndReportsConflicts) {
    DeclaredLayouts declared(*inventory, *layouts, *events);
    auto files = parseDeclaredLayouts("[layout one]\ncards = serial:AIS24110000\nlayout = 2xhalf\n"
                                      "[layout all]\ncards = device:a15e:0100\nlayout = 1xwhole\n",
                                      "f.conf");
    ASSERT_TRUE(files.ok());
    declared.set(*files);
    ASSERT_TRUE(runUntil([&] { return !changes.busy(inventory->info(1).key) && inventory->snapshot(1).vfEnabled() == 1; }));
    poller->readAllNow();
    EXPECT_EQ(inventory->snapshot(0).vfEnabled(), 0u) << "claimed twice: neither applied";
    CardSnapshot card0 = inventory->snapshot(0);
    declared.annotate(card0);
    ASSERT_EQ(card0.configProblems.size(), 1u);
    EXPECT_NE(card0.configProblems[0].find("declared layouts one (f.conf line 1) and all (f.conf line 4) both claim the card"), std::string::npos)
        << card0.configProblems[0];
    EXPECT_EQ(inventory->snapshot(1).vfs.at(0).profile, "whole");
    const size_t jobsBefore = jobs->all().size();
    declared.applyAll();
    EXPECT_EQ(jobs->all().size(), jobsBefore) << "card 1 already has its layout: nothing to do";
}
