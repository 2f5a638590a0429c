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
    FirmwareState fw;
    fw.banks[0] = FirmwareBank{"1.0", true, ""};
    fw.banks[1] = FirmwareBank{"1.1", false, ""};
    c.firmware = fw;
    h.assess(c);
    EXPECT_EQ(c.health, Health::Warning);
    EXPECT_NE(c.healthReasons.at(0).find("firmware bank 1 fails its integrity check"), std::string::npos);
    std::swap(fw.banks[0].integrityOk, fw.banks[1].integrityOk);
    c.firmware = fw;
    h.assess(c);
    EXPECT_EQ(c.health, Health::Critical);
    // A bank erased (a write under way, or one that failed) says so; a running firmware that
    // fails its self-test is critical.
    fw = FirmwareState{};
    fw.banks[0] = FirmwareBank{"1.0", true, ""};
    fw.banks[1] = FirmwareBank{"", false, ""};
    c.firmware = fw;
    h.assess(c);
    EXPECT_EQ(c.health, Health::Warning);
    EXPECT_NE(c.healthReasons.at(0).find("firmware bank 1 is empty"), std::string::npos) << c.healthReasons.at(0);
    fw.banks[1] = FirmwareBank{"1.1", true, ""};
    fw.selftestOk = false;
    c.firmware = fw;
    h.assess(c);
    EXPECT_EQ(c.health, Health::Critical);
    EXPECT_NE(c.healthReasons.at(0).find("(bank 0, 1.0) fails its self-test"), std::string::npos) << c.healthReasons.at(0);
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

TEST(HealthAssessor, CallsWhatItCouldNotReadUnknownNeverOk) {
    CardSnapshot c = healthyCard();
    c.readProblems = {"hwmon/temp1_input: Input/output error"};
    HealthAssessor().assess(c);
    EXPECT_EQ(c.health, Health::Unknown);
    EXPECT_EQ(c.healthReasons.back(), "cannot read: hwmon/temp1_input: Input/output error");
    c.telemetry.temperatureC = 99;  // something known to be worse wins
    HealthAssessor().assess(c);
    EXPECT_EQ(c.health, Health::Critical);
    CardSnapshot v = healthyCard();
    v.vfs[1].status.reset();
    HealthAssessor().assess(v);
    EXPECT_EQ(v.vfs[1].health, Health::Unknown);
    EXPECT_EQ(v.vfs[1].healthReasons.at(0), "its status cannot be read");
}

TEST(HealthAssessor, CallsAStaleReadingUnknownAndNeverAHang) {
    HealthAssessor h;
    CardSnapshot c = healthyCard();
    h.assess(c);
    CardSnapshot stale = c;
    stale.staleReason = "no fresh reading for more than 3000 ms";
    for (int i = 0; i < 10; ++i) h.assess(stale);  // the same progress, over and over
    EXPECT_EQ(stale.health, Health::Unknown);
    EXPECT_EQ(stale.healthReasons, std::vector<std::string>{"no fresh reading for more than 3000 ms"});
    EXPECT_EQ(stale.vfs[0].health, Health::Unknown);
    EXPECT_FALSE(stale.vfs[0].stalled) << "old data is no proof of a hang";
    c.vfs[0].status->progress = 200;
    h.assess(c);
    EXPECT_EQ(c.health, Health::Ok) << "a fresh reading ends it";
}

TEST(HealthAssessor, JudgesErrorCountersByTheirRiseWithinTheLastHour) {
    HealthThresholds t;
    t.eccCorrectablePerHour = 10;
    t.aerCorrectablePerHour = 5;
    t.aerNonfatalPerHour = 0;
    HealthAssessor h(t);
    CardSnapshot c = healthyCard();
    c.telemetry.eccCorrected = 1000;  // what the card had before aismid looked: not a rate
    c.telemetry.aer = AerCounters{50, 0, 0};
    c.vfs[0].status->state = VfState::Idle;  // no hang to find in these polls
    h.assess(c, 0);
    EXPECT_EQ(c.health, Health::Ok) << ::testing::PrintToString(c.healthReasons);
    c.telemetry.eccCorrected = 1011;
    h.assess(c, 600);
    EXPECT_EQ(c.health, Health::Warning);
    EXPECT_NE(c.healthReasons.at(0).find("11 correctable ECC errors within the last hour"), std::string::npos) << c.healthReasons.at(0);
    c.telemetry.aer = AerCounters{50, 1, 0};
    h.assess(c, 700);
    EXPECT_EQ(c.healthReasons.size(), 2u) << "any non-fatal PCIe error with a threshold of 0";
    h.assess(c, 600 + 3700);  // an hour on, nothing new
    h.assess(c, 600 + 3800);
    EXPECT_EQ(c.health, Health::Ok) << ::testing::PrintToString(c.healthReasons);
}

TEST(HealthAssessor, FollowsItsThresholdsAndSaysWhyPerVf) {
    HealthThresholds t;
    t.temperatureWarningBelowCritC = 2;
    t.warnDegradedLink = false;
    t.stalledPolls = 1;
    HealthAssessor h(t);
    CardSnapshot c = healthyCard();
    c.telemetry.temperatureC = 90;  // 5 below critical: fine with a margin of 2
    c.telemetry.link = LinkState{"8.0 GT/s PCIe", 8, "16.0 GT/s PCIe", 16};
    h.assess(c);
    EXPECT_EQ(c.health, Health::Ok) << ::testing::PrintToString(c.healthReasons);
    EXPECT_EQ(c.thermal, Thermal::Normal);
    c.telemetry.temperatureC = 93;
    h.assess(c);
    EXPECT_EQ(c.thermal, Thermal::Warning);
    EXPECT_EQ(c.vfs[0].health, Health::Warning) << "one poll without progress is a hang at stalledPolls 1";
    EXPECT_EQ(c.vfs[0].healthReasons.at(0), "running without progress for 1 polls");
    c.vfs[1].status->eccUncorrected = 2;
    c.vfs[1].setConsumer({ConsumerKind::Quarantine, "quarantine", "3 resets in 600 s"});
    h.assess(c);
    EXPECT_EQ(c.vfs[1].health, Health::Critical);
    EXPECT_EQ(c.vfs[1].healthReasons, (std::vector<std::string>{"degraded: 2 uncorrectable ECC errors",
                                                                 "quarantined (aismi vf unquarantine releases it)"}));
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
