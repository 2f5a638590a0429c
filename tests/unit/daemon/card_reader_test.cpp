// Reading a card into a snapshot: identity, telemetry and VFs; a lost card does not hide
// the others.
#include "card_reader.hpp"
#include "health_assessor.hpp"

#include "fake_sysfs.hpp"
#include "sim_fixture.hpp"
#include "temp_dir.hpp"

#include <aismi/card.hpp>

using namespace aismi;

namespace {

class CardReaderTest : public aismi::test::SimFixture {
protected:
    void SetUp() override {
        SimFixture::SetUp();
        cards = std::move(*discoverCards(*fs, std::vector<DeviceMatch>{kAismiCardMatch}));
        for (unsigned i = 0; i < cards.size(); ++i) infos.push_back(readCardInfo(cards[i], i));
    }
    CardSnapshot snapshot(unsigned i) {
        CardSnapshot s = readCardSnapshot(cards[i], infos[i]);
        HealthAssessor().assess(s);
        return s;
    }
    std::vector<Card> cards;
    std::vector<CardInfo> infos;
};

}  // namespace

TEST_F(CardReaderTest, ReportsALostCardAsLostAndLeavesTheOtherAlone) {
    inject(0, std::nullopt, sim::Fault::DeviceLost);
    auto lost = snapshot(0);
    EXPECT_TRUE(lost.lost);
    EXPECT_EQ(lost.health, Health::Lost);
    EXPECT_NE(lost.healthReasons.at(0).find("does not answer"), std::string::npos);
    EXPECT_EQ(snapshot(1).health, Health::Ok);
}

TEST_F(CardReaderTest, ReadsIdentityTelemetryAndVfs) {
    ASSERT_TRUE(cards[0].setVfCount(2).ok());
    load(0, 1);
    clock.advanceMs(10);
    auto s = snapshot(0);
    EXPECT_EQ(s.info.serial, "AIS24110000");
    EXPECT_EQ(s.info.key, "AIS24110000");
    ASSERT_TRUE(s.firmware.has_value());
    EXPECT_EQ(s.firmware->activeVersion(), "1.4.2");
    EXPECT_EQ(s.vfTotal, 8u);
    ASSERT_EQ(s.vfs.size(), 2u);
    EXPECT_EQ(s.vfs[1].pciAddress, "0000:3b:00.5");
    EXPECT_EQ(s.vfs[1].state(), VfState::Running);
    EXPECT_EQ(s.vfs[1].status->progress, 10u);
    EXPECT_EQ(s.vfs[0].driver, "aismi");
    EXPECT_GT(s.telemetry.utilizationPct.value_or(0), 0u);
}

TEST(CardReaderOnLinux, DoesNotCallLinkDataThatDescribesNoLinkDegraded) {
    // Issue 7 #9, with the values Debian's 6.1 kernel gives for QEMU's emulated SR-IOV NVMe
    // controller (generic mode): "Unknown" speeds and widths that are no lane counts.
    aismi::test::TempDir tmp;
    aismi::test::FakeSysfs tree(tmp.path());
    const std::string nvme = "0000:01:00.0";
    tree.addFunction(nvme, 0x1b36, 0x0010, 0x010802);
    tree.addSriov(nvme, 127, 0, 0x0010);
    tree.bindDriver(nvme, "nvme");
    const std::string pf = tree.devicePath(nvme) + "/";
    tree.write(pf + "current_link_speed", "Unknown\n");
    tree.write(pf + "max_link_speed", "Unknown\n");
    tree.write(pf + "current_link_width", "0\n");
    tree.write(pf + "max_link_width", "255\n");
    auto fs = makeHostFs(tmp.path());
    auto cards = discoverCards(*fs, std::vector<DeviceMatch>{DeviceMatch{0x1b36, 0x0010}});
    ASSERT_TRUE(cards.ok()) << cards.error().message;
    ASSERT_EQ(cards->size(), 1u);
    CardSnapshot s = readCardSnapshot(cards->at(0), readCardInfo(cards->at(0), 0));
    HealthAssessor().assess(s);
    EXPECT_EQ(s.health, Health::Ok);
    for (const auto& reason : s.healthReasons) EXPECT_EQ(reason.find("degraded"), std::string::npos) << reason;
    if (s.telemetry.link) {
        EXPECT_FALSE(linkIsReadable(*s.telemetry.link));
    }
    // The same card with a real link that trained below its capability is degraded.
    tree.write(pf + "current_link_speed", "8.0 GT/s PCIe\n");
    tree.write(pf + "max_link_speed", "16.0 GT/s PCIe\n");
    tree.write(pf + "current_link_width", "4\n");
    tree.write(pf + "max_link_width", "16\n");
    s = readCardSnapshot(cards->at(0), readCardInfo(cards->at(0), 0));
    HealthAssessor().assess(s);
    EXPECT_EQ(s.health, Health::Warning);
    ASSERT_FALSE(s.healthReasons.empty());
    EXPECT_NE(s.healthReasons[0].find("PCIe link degraded to 8.0 GT/s PCIe x4"), std::string::npos) << s.healthReasons[0];
}

TEST_F(CardReaderTest, CarriesIommuGroupsOverOnlyForTheSameVfAddress) {
    ASSERT_TRUE(cards[0].setVfCount(2).ok());
    const CardSnapshot full = snapshot(0);
    ASSERT_TRUE(full.vfs.at(0).iommuGroup.has_value());
    CarryOver carry;
    carry.iommuGroups = {{full.vfs[0].pciAddress, 777}, {"0000:99:00.1", 778}};
    const CardSnapshot light = readCardSnapshot(cards[0], infos[0], &carry);
    EXPECT_EQ(light.vfs.at(0).iommuGroup, 777u) << "same VF at the same address: taken over";
    EXPECT_EQ(light.vfs.at(1).iommuGroup, full.vfs[1].iommuGroup) << "another address: read afresh";
}
