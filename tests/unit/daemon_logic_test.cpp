// The daemon's logic without a bus: configuration, health, snapshot diffs, partitioning.
#include "card_reader.hpp"
#include "daemon_config.hpp"
#include "health.hpp"
#include "snapshot.hpp"
#include "state_store.hpp"
#include "vf_partitioner.hpp"

#include "sim_fixture.hpp"

#include <aismi/card.hpp>

#include <fstream>

using namespace aismi;

TEST(DaemonConfig, ReadsTheCommandLine) {
    auto p = parseDaemonConfig({"--backend=sim", "--sim-cards=3", "--sim-vfs=64", "--poll-interval=250", "--state-dir=/x",
                                "--config=/dev/null", "--match=a15e:0100", "--match=8086:1572"});
    ASSERT_TRUE(p.ok()) << p.error().message;
    EXPECT_EQ(p->config.backend, DaemonConfig::Backend::Sim);
    EXPECT_EQ(p->config.sim.cards, 3u);
    EXPECT_EQ(p->config.sim.totalVfs, 64u);
    EXPECT_EQ(p->config.pollIntervalMs, 250u);
    EXPECT_EQ(p->config.simDir, "/x/sim");
    EXPECT_EQ(p->config.matches.size(), 2u);
    EXPECT_FALSE(p->config.simTimeFactor.has_value());
}

TEST(DaemonConfig, ReadsAConfigFileAndLetsTheCommandLineWin) {
    aismi::test::TempDir tmp;
    std::ofstream(tmp / "aismid.conf") << "# comment\nbackend = sim\npoll-interval = 500\nsim-time-factor = 0.5\nmatch = 1234:5678\n";
    auto p = parseDaemonConfig({"--config=" + (tmp / "aismid.conf"), "--poll-interval=2000"});
    ASSERT_TRUE(p.ok()) << p.error().message;
    EXPECT_EQ(p->config.backend, DaemonConfig::Backend::Sim);
    EXPECT_EQ(p->config.pollIntervalMs, 2000u);
    EXPECT_EQ(p->config.simTimeFactor.value_or(0), 0.5);
    EXPECT_EQ(p->config.matches.at(0), (DeviceMatch{0x1234, 0x5678}));
}

TEST(DaemonConfig, NamesTheBadSettingAndItsSource) {
    aismi::test::TempDir tmp;
    std::ofstream(tmp / "bad.conf") << "colour = blue\n";
    auto p = parseDaemonConfig({"--config=" + (tmp / "bad.conf")});
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().code, Errc::ConfigInvalid);
    EXPECT_NE(p.error().message.find("bad.conf"), std::string::npos) << p.error().message;
    EXPECT_NE(p.error().message.find("colour"), std::string::npos);
    for (std::vector<std::string> bad : {std::vector<std::string>{"--sim-vfs=300"}, {"--poll-interval=abc"}, {"--sim-time-factor=-1"},
                                         {"--backend=gpu"}, {"--state-dir="}}) {
        bad.push_back("--config=/dev/null");
        EXPECT_FALSE(parseDaemonConfig(bad).ok()) << bad[0];
    }
}

TEST(DaemonConfig, AnswersHelpAndVersion) {
    auto p = parseDaemonConfig({"--help"});
    ASSERT_TRUE(p.ok());
    EXPECT_TRUE(p->exitNow);
    for (const char* opt : {"--backend", "--match", "--sysfs-root", "--sim-cards", "--sim-vfs", "--sim-dir", "--sim-time-factor",
                            "--state-dir", "--poll-interval", "--config"})
        EXPECT_NE(p->output.find(opt), std::string::npos) << opt;
}

namespace {

CardSnapshot healthyCard() {
    CardSnapshot c;
    c.temperatureC = 50;
    c.temperatureCritC = 95;
    c.eccUncorrected = 0;
    c.aerFatal = c.aerNonFatal = 0;
    c.linkSpeed = c.linkMaxSpeed = "16.0 GT/s PCIe";
    c.linkWidth = c.linkMaxWidth = 16;
    c.vfs.resize(2);
    c.vfs[0].state = "running";
    c.vfs[1].state = "idle";
    return c;
}

}  // namespace

TEST(Health, IsOkWhenNothingIsWrong) {
    CardSnapshot c = healthyCard();
    assessHealth(c);
    EXPECT_EQ(c.health, Health::Ok);
    EXPECT_TRUE(c.healthReasons.empty());
}

TEST(Health, WarnsNearTheCriticalTemperatureAndFailsAtIt) {
    CardSnapshot c = healthyCard();
    c.temperatureC = 86;
    assessHealth(c);
    EXPECT_EQ(c.health, Health::Warning);
    c.temperatureC = 95;
    assessHealth(c);
    EXPECT_EQ(c.health, Health::Critical);
    EXPECT_NE(c.healthReasons.at(0).find("critical 95 C"), std::string::npos);
}

TEST(Health, TreatsUncorrectableErrorsAsCriticalAndDegradedLinksAsWarnings) {
    CardSnapshot c = healthyCard();
    c.linkWidth = 4;
    assessHealth(c);
    EXPECT_EQ(c.health, Health::Warning);
    c.eccUncorrected = 1;
    assessHealth(c);
    EXPECT_EQ(c.health, Health::Critical);
    EXPECT_EQ(c.healthReasons.size(), 2u);
}

TEST(Health, MarksHungAndErroredVfs) {
    CardSnapshot c = healthyCard();
    c.vfs[0].state = "hung";
    c.vfs[1].state = "error";
    assessHealth(c);
    EXPECT_EQ(c.vfs[0].health, Health::Warning);
    EXPECT_EQ(c.vfs[1].health, Health::Critical);
    EXPECT_EQ(c.health, Health::Warning);
}

TEST(Health, WarnsOfACorruptSpareFirmwareBankAndFailsOnACorruptActiveOne) {
    CardSnapshot c = healthyCard();
    c.firmwareActiveBank = 0;
    c.firmwareBankIntegrity = {"ok", "bad"};
    assessHealth(c);
    EXPECT_EQ(c.health, Health::Warning);
    EXPECT_NE(c.healthReasons.at(0).find("firmware bank 1 fails its integrity check"), std::string::npos);
    c.firmwareBankIntegrity = {"bad", "ok"};
    assessHealth(c);
    EXPECT_EQ(c.health, Health::Critical);
}

TEST(Health, IgnoresWhatTheCardDoesNotReport) {
    CardSnapshot c;  // everything "not reported"
    assessHealth(c);
    EXPECT_EQ(c.health, Health::Ok);
}

TEST(Snapshot, NamesTheChangedBusProperties) {
    CardSnapshot a = healthyCard(), b = a;
    EXPECT_TRUE(changedCardProperties(a, b).empty());
    b.temperatureC = 51;
    b.vfs.pop_back();
    EXPECT_EQ(changedCardProperties(a, b), (std::vector<std::string>{"TemperatureC", "VfEnabled", "VirtualFunctions"}));
    a.powerW = b.powerW = kNoValue;
    b.temperatureC = a.temperatureC;
    b.vfs = a.vfs;
    EXPECT_TRUE(changedCardProperties(a, b).empty()) << "NaN equals NaN here";
    VfSnapshot v, w;
    w.progress = 7;
    EXPECT_EQ(changedVfProperties(v, w), std::vector<std::string>{"Progress"});
}

namespace {

class Partitioning : public aismi::test::SimFixture {
protected:
    void SetUp() override {
        SimFixture::SetUp();
        auto s = StateStore::open(tmp / "state");
        ASSERT_TRUE(s.ok());
        store = std::move(*s);
        const DeviceMatch matches[] = {{0xa15e, 0x0100}};
        cards = std::move(*discoverCards(*fs, matches));
        for (const auto& c : cards) identities.push_back(readCardIdentity(c));
    }
    CardSnapshot snapshot(unsigned i) { return readCardSnapshot(cards[i], identities[i]); }

    std::unique_ptr<StateStore> store;
    std::vector<Card> cards;
    std::vector<CardSnapshot> identities;
};

}  // namespace

TEST_F(Partitioning, JournalsBeforeActingAndClosesTheEntryAfter) {
    VfPartitioner p(*store);
    auto plan = p.plan(snapshot(0), 4);
    ASSERT_TRUE(plan.ok()) << plan.error().message;
    EXPECT_EQ(store->desiredVfCount("AIS24110000").valueOr(std::nullopt), 4u) << "desired state first";
    ASSERT_EQ(store->unfinishedOperations()->size(), 1u);
    EXPECT_EQ(store->unfinishedOperations()->at(0).step, "write-sriov-numvfs");
    auto outcome = VfPartitioner::apply(cards[0], plan->count);
    ASSERT_TRUE(outcome.ok());
    ASSERT_TRUE(p.finish(*plan, outcome).ok());
    EXPECT_TRUE(store->unfinishedOperations()->empty());
    EXPECT_EQ(snapshot(0).vfEnabled(), 4u);
}

TEST_F(Partitioning, RefusesBeforeWritingAnything) {
    VfPartitioner p(*store);
    EXPECT_EQ(p.plan(snapshot(0), 9).error().code, Errc::OutOfRange);
    ASSERT_TRUE(cards[0].setVfCount(2).ok());
    EXPECT_EQ(p.plan(snapshot(0), 3).error().code, Errc::InvalidState);
    EXPECT_FALSE(store->desiredVfCount("AIS24110000").value().has_value());
    EXPECT_TRUE(store->unfinishedOperations()->empty());
}

TEST_F(Partitioning, RestoresThePreviousDesiredCountWhenTheDeviceRefuses) {
    VfPartitioner p(*store);
    ASSERT_TRUE(store->setDesiredVfCount("AIS24110000", 0).ok());
    auto plan = p.plan(snapshot(0), 4);
    ASSERT_TRUE(plan.ok());
    ASSERT_TRUE(p.finish(*plan, makeError(Errc::Busy, "device busy")).ok());
    EXPECT_EQ(store->desiredVfCount("AIS24110000").valueOr(std::nullopt), 0u);
    EXPECT_TRUE(store->unfinishedOperations()->empty());
}

TEST_F(Partitioning, FinishesAnOperationACrashInterruptedFromTheDevice) {
    VfPartitioner p(*store);
    auto plan = p.plan(snapshot(1), 3);  // the crash came before the write
    ASSERT_TRUE(plan.ok());
    auto log = p.reconcile(cards, identities);
    EXPECT_TRUE(store->unfinishedOperations()->empty());
    EXPECT_EQ(cards[1].sriov()->numVfs, 3u) << "desired state was applied";
    ASSERT_FALSE(log.empty());
}

TEST_F(Partitioning, LeavesVfsItDidNotCreateAlone) {
    VfPartitioner p(*store);
    ASSERT_TRUE(store->setDesiredVfCount("AIS24110000", 2).ok());
    ASSERT_TRUE(cards[0].setVfCount(5).ok());  // someone else, outside aismid
    auto log = p.reconcile(cards, identities);
    EXPECT_EQ(cards[0].sriov()->numVfs, 5u);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_NE(log[0].find("left as it is"), std::string::npos) << log[0];
}

using CardReader = Partitioning;

TEST_F(CardReader, ReportsALostCardAsLostAndLeavesTheOtherAlone) {
    inject(0, std::nullopt, sim::Fault::DeviceLost);
    auto lost = snapshot(0);
    EXPECT_EQ(lost.health, Health::Lost);
    EXPECT_NE(lost.healthReasons.at(0).find("does not answer"), std::string::npos);
    EXPECT_EQ(snapshot(1).health, Health::Ok);
}

TEST_F(CardReader, ReadsIdentityTelemetryAndVfs) {
    ASSERT_TRUE(cards[0].setVfCount(2).ok());
    load(0, 1);
    clock.advanceMs(10);
    auto s = snapshot(0);
    EXPECT_EQ(s.serial, "AIS24110000");
    EXPECT_EQ(s.firmwareVersion, "1.4.2");
    EXPECT_EQ(s.vfTotal, 8u);
    ASSERT_EQ(s.vfs.size(), 2u);
    EXPECT_EQ(s.vfs[1].pciAddress, "0000:3b:00.5");
    EXPECT_EQ(s.vfs[1].state, "running");
    EXPECT_EQ(s.vfs[1].progress, 10u);
    EXPECT_EQ(s.vfs[0].driver, "aismi");
    EXPECT_GT(s.utilizationPct, 0u);
}
