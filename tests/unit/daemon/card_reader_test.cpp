// Reading a card into a snapshot: identity, telemetry and VFs; a lost card does not hide
// the others.
#include "card_reader.hpp"
#include "health_assessor.hpp"

#include "sim_fixture.hpp"

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
