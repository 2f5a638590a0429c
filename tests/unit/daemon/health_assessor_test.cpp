// Health rules, and the ones that need history (a running VF whose progress stopped).
#include "health_assessor.hpp"

#include <gtest/gtest.h>

using namespace aismi;

namespace {

CardSnapshot healthyCard() {
    CardSnapshot c;
    c.info.key = "AIS1";
    c.telemetry.temperatureC = 50;
    c.telemetry.temperatureCritC = 95;
    c.telemetry.eccUncorrected = 0;
    c.telemetry.aer = AerCounters{};
    c.telemetry.link = LinkState{"16.0 GT/s PCIe", 16, "16.0 GT/s PCIe", 16};
    c.vfs.resize(2);
    c.vfs[0].pciAddress = "0000:3b:00.4";
    c.vfs[1].pciAddress = "0000:3b:00.5";
    c.vfs[0].status = VfStatus{VfState::Running, 100, 50, 0, 0, 0, 0};
    c.vfs[1].status = VfStatus{VfState::Idle, 0, 0, 0, 0, 0, 0};
    return c;
}

}  // namespace

TEST(HealthAssessor, IsOkWhenNothingIsWrong) {
    CardSnapshot c = healthyCard();
    HealthAssessor().assess(c);
    EXPECT_EQ(c.health, Health::Ok);
    EXPECT_TRUE(c.healthReasons.empty());
}

TEST(HealthAssessor, WarnsNearTheCriticalTemperatureAndFailsAtIt) {
    HealthAssessor h;
    CardSnapshot c = healthyCard();
    c.telemetry.temperatureC = 86;
    h.assess(c);
    EXPECT_EQ(c.health, Health::Warning);
    c.telemetry.temperatureC = 95;
    h.assess(c);
    EXPECT_EQ(c.health, Health::Critical);
    EXPECT_NE(c.healthReasons.at(0).find("critical 95 C"), std::string::npos);
}

TEST(HealthAssessor, TreatsUncorrectableErrorsAsCriticalAndDegradedLinksAsWarnings) {
    HealthAssessor h;
    CardSnapshot c = healthyCard();
    c.telemetry.link->width = 4;
    h.assess(c);
    EXPECT_EQ(c.health, Health::Warning);
    c.telemetry.eccUncorrected = 1;
    h.assess(c);
    EXPECT_EQ(c.health, Health::Critical);
    EXPECT_EQ(c.healthReasons.size(), 2u);
}

TEST(HealthAssessor, DoesNotCallALinkItCannotReadDegraded) {
    // What Debian's 6.1 kernel shows for QEMU's emulated SR-IOV NVMe controller.
    CardSnapshot c = healthyCard();
    c.telemetry.link = LinkState{"Unknown", 0, "Unknown", 255};
    HealthAssessor().assess(c);
    EXPECT_EQ(c.health, Health::Ok) << (c.healthReasons.empty() ? "" : c.healthReasons[0]);
    EXPECT_FALSE(linkIsReadable(*c.telemetry.link));
    EXPECT_TRUE(linkIsReadable(LinkState{"8.0 GT/s PCIe", 8, "16.0 GT/s PCIe", 16}));
}

TEST(HealthAssessor, MarksHungAndErroredVfs) {
    CardSnapshot c = healthyCard();
    c.vfs[0].status->state = VfState::Hung;
    c.vfs[1].status->state = VfState::Error;
    HealthAssessor().assess(c);
    EXPECT_EQ(c.vfs[0].health, Health::Warning);
    EXPECT_EQ(c.vfs[1].health, Health::Critical);
    EXPECT_EQ(c.health, Health::Warning);
}

TEST(HealthAssessor, WarnsOfACorruptSpareFirmwareBankAndFailsOnACorruptActiveOne) {
    HealthAssessor h;
    CardSnapshot c = healthyCard();
    c.firmware = FirmwareState{{{"1.0", true}, {"1.1", false}}, 0};
    h.assess(c);
    EXPECT_EQ(c.health, Health::Warning);
    EXPECT_NE(c.healthReasons.at(0).find("firmware bank 1 fails its integrity check"), std::string::npos);
    c.firmware = FirmwareState{{{"1.0", false}, {"1.1", true}}, 0};
    h.assess(c);
    EXPECT_EQ(c.health, Health::Critical);
}

TEST(HealthAssessor, IgnoresWhatTheCardDoesNotReport) {
    CardSnapshot c;  // everything "not reported"
    HealthAssessor().assess(c);
    EXPECT_EQ(c.health, Health::Ok);
}

TEST(HealthAssessor, RemembersProgressAndWarnsOfARunningVfThatStopped) {
    HealthAssessor h({10, 85, 3});
    for (int poll = 0; poll < 3; ++poll) {
        CardSnapshot c = healthyCard();  // progress stays at 100 while "running"
        h.assess(c);
        EXPECT_EQ(c.health, Health::Ok) << "poll " << poll;
    }
    CardSnapshot c = healthyCard();
    h.assess(c);
    EXPECT_EQ(c.vfs[0].health, Health::Warning);
    EXPECT_NE(c.healthReasons.at(0).find("without progress"), std::string::npos);
    c = healthyCard();
    c.vfs[0].status->progress = 200;
    h.assess(c);
    EXPECT_EQ(c.health, Health::Ok) << "moving again";
}

TEST(HealthAssessor, CallsALostCardLostAndItsVfsToo) {
    CardSnapshot c = healthyCard();
    c.lost = true;
    HealthAssessor().assess(c);
    EXPECT_EQ(c.health, Health::Lost);
    EXPECT_EQ(c.vfs[0].health, Health::Lost);
}

TEST(HealthAssessor, WarnsOfWhatItCouldNotRead) {
    CardSnapshot c = healthyCard();
    c.readProblems = {"hwmon/temp1_input: Input/output error"};
    HealthAssessor().assess(c);
    EXPECT_EQ(c.health, Health::Warning);
    EXPECT_EQ(c.healthReasons.back(), "cannot read: hwmon/temp1_input: Input/output error");
}

TEST(HealthAssessor, WarnsWhenTheDeviceHasOtherVfsThanDesired) {
    CardSnapshot c = healthyCard();  // 2 VFs
    c.desiredVfs = 4;
    HealthAssessor().assess(c);
    EXPECT_EQ(c.health, Health::Warning);
    EXPECT_NE(c.healthReasons.at(0).find("desired 4 VFs, the device has 2"), std::string::npos) << c.healthReasons.at(0);
    c.desiredVfs = 2;
    HealthAssessor().assess(c);
    EXPECT_EQ(c.health, Health::Ok);
}
