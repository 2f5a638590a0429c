// libmgmt's Card over the simulated card: the vendor ABI, provisioning, telemetry, resets.
#include <aismi/card.hpp>

#include "sim_fixture.hpp"

using namespace aismi;

namespace {

class CardOnSim : public aismi::test::SimFixture {
protected:
    Card card(unsigned index = 0) {
        const DeviceMatch matches[] = {{0xa15e, 0x0100}};
        auto cards = discoverCards(*fs, matches);
        EXPECT_TRUE(cards.ok()) << cards.error().message;
        return cards->at(index);
    }
};

}  // namespace

TEST_F(CardOnSim, DiscoversEverySimulatedCardWithItsVendorAbi) {
    const DeviceMatch matches[] = {{0xa15e, 0x0100}};
    auto cards = discoverCards(*fs, matches);
    ASSERT_TRUE(cards.ok());
    ASSERT_EQ(cards->size(), 2u);
    auto id = (*cards)[1].identity();
    ASSERT_TRUE(id.ok()) << id.error().message;
    EXPECT_EQ(id->serial, "AIS24110001");
    EXPECT_EQ(id->name, "AIS-1 Simulated");
    EXPECT_TRUE((*cards)[1].hasVendorAbi());
}

TEST_F(CardOnSim, EnablesVfsAndReadsThemBack) {
    Card c = card();
    ASSERT_TRUE(c.setVfCount(6).ok());
    EXPECT_EQ(c.sriov()->numVfs, 6u);
    EXPECT_EQ(c.vfAddresses()->size(), 6u);
    EXPECT_EQ(c.setVfCount(3).error().code, Errc::InvalidState);
    ASSERT_TRUE(c.setVfCount(0).ok());
    EXPECT_TRUE(c.vfAddresses()->empty());
}

TEST_F(CardOnSim, SplitsResourcesEvenlyAndProvisionsWithinCapacity) {
    Card c = card();
    ASSERT_TRUE(c.setVfCount(4).ok());
    auto r = c.vfResources(0);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->computeUnits, 32u);
    ASSERT_TRUE(c.setVfResources(1, Resources{8, 4096, 1}).ok());
    EXPECT_EQ(c.vfResources(1).value(), (Resources{8, 4096, 1}));
    EXPECT_EQ(c.setVfResources(2, Resources{200, 1, 1}).error().code, Errc::NoSpace);
    EXPECT_EQ(c.setVfResources(9, Resources{1, 1, 1}).error().code, Errc::NotFound);
}

TEST_F(CardOnSim, ReportsWorkloadInTelemetryAndVfStatus) {
    Card c = card();
    ASSERT_TRUE(c.setVfCount(4).ok());
    auto idle = c.telemetry();
    ASSERT_TRUE(idle.ok()) << idle.error().message;
    EXPECT_EQ(*idle->utilizationPct, 0u);
    load(0, 0);
    load(0, 1);
    clock.advanceMs(250);
    auto busy = c.telemetry();
    ASSERT_TRUE(busy.ok());
    EXPECT_EQ(*busy->utilizationPct, 50u);
    EXPECT_GT(*busy->powerW, *idle->powerW);
    EXPECT_GT(*busy->temperatureC, *idle->temperatureC);
    EXPECT_GT(*busy->memoryUsedMib, *idle->memoryUsedMib);
    EXPECT_EQ(*busy->memoryTotalMib, 65536u);
    auto st = c.vfStatus(1);
    ASSERT_TRUE(st.ok()) << st.error().message;
    EXPECT_EQ(st->state, VfState::Running);
    EXPECT_EQ(st->progress, 250u);
    EXPECT_EQ(c.vfStatus(2)->state, VfState::Idle);
}

TEST_F(CardOnSim, ResetsOneVfAndVerifiesItAnswers) {
    Card c = card();
    ASSERT_TRUE(c.setVfCount(2).ok());
    load(0, 0);
    ASSERT_TRUE(c.resetVf(0).ok());
    EXPECT_EQ(c.vfStatus(0)->resetCount, 1u);
    inject(0, 1, sim::Fault::FlrFail);
    auto r = c.resetVf(1);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::IoError);
    EXPECT_EQ(r.error().message.rfind("card 0 VF 1: ", 0), 0u) << r.error().message;
}

TEST_F(CardOnSim, ReadsFirmwareBanks) {
    auto fw = card().firmware();
    ASSERT_TRUE(fw.ok()) << fw.error().message;
    EXPECT_EQ(fw->activeBank, 0u);
    EXPECT_EQ(fw->activeVersion(), "1.4.2");
    EXPECT_TRUE(fw->banks[1].integrityOk);
}

TEST_F(CardOnSim, SurfacesALostDeviceAsDeviceLost) {
    Card c = card();
    inject(0, std::nullopt, sim::Fault::DeviceLost);
    EXPECT_EQ(c.telemetry().error().code, Errc::DeviceLost);
    EXPECT_EQ(c.firmware().error().code, Errc::DeviceLost);
    EXPECT_TRUE(c.identity().ok()) << "cached identity is still readable";
    EXPECT_TRUE(card(1).telemetry().ok());
}

TEST_F(CardOnSim, ReportsADegradedLink) {
    inject(0, std::nullopt, sim::Fault::LinkDegrade);
    auto t = card().telemetry();
    ASSERT_TRUE(t.ok());
    EXPECT_TRUE(t->link->degraded());
    EXPECT_EQ(t->link->width, 4u);
}

TEST_F(CardOnSim, ReportsEveryVfInOneReadAsTheVfFilesDo) {
    Card c = card(0);
    ASSERT_TRUE(c.setVfCount(3).ok());
    load(0, 1);
    clock.advanceMs(5);
    auto reports = c.vfReports();
    ASSERT_TRUE(reports.ok()) << reports.error().message;
    ASSERT_EQ(reports->size(), 3u);
    for (unsigned k = 0; k < 3; ++k) {
        EXPECT_EQ((*reports)[k].vf, k);
        EXPECT_EQ((*reports)[k].status, *c.vfStatus(k)) << "VF " << k;
        EXPECT_EQ((*reports)[k].resources, *c.vfResources(k)) << "VF " << k;
    }
    EXPECT_EQ((*reports)[1].status.state, VfState::Running);
    ASSERT_TRUE(c.setVfCount(0).ok());
    EXPECT_TRUE(c.vfReports()->empty());
}

TEST_F(CardOnSim, ScrubsOneVfsMemoryAndNoOtherAndAnFlrDoesNot) {
    auto cards = discoverCards(*fs, std::vector<DeviceMatch>{kAismiCardMatch});
    ASSERT_TRUE(cards.ok());
    Card& card = cards->front();
    ASSERT_TRUE(card.setVfCount(3).ok());
    for (unsigned vf : {0u, 1u, 2u})
        mutate(0, [&](sim::SimCardModel& m) { return m.writeMemory(vf, "tenant" + std::to_string(vf)); });
    const auto memory = [&](unsigned vf) { return state->card(0).value()->vfs.at(vf).memory; };
    ASSERT_TRUE(card.resetVf(1).ok());
    EXPECT_EQ(memory(1), "tenant1") << "an FLR resets function state, not device memory";
    EXPECT_EQ(fs->read(std::string(kPf) + "aismi/vf1/scrub").value(), "dirty\n");
    ASSERT_TRUE(card.scrubVf(1).ok());
    EXPECT_EQ(memory(1), "");
    EXPECT_EQ(memory(0), "tenant0");
    EXPECT_EQ(memory(2), "tenant2");
    EXPECT_EQ(fs->read(std::string(kPf) + "aismi/vf1/scrub").value(), "clean\n");
    EXPECT_EQ(card.scrubVf(5).error().code, Errc::NotFound);
    EXPECT_FALSE(fs->write(std::string(kPf) + "aismi/vf0/scrub", "2").ok()) << "only 1 starts a scrub";
    load(0, 0);
    EXPECT_EQ(card.scrubVf(0).error().code, Errc::Busy) << "not under a running workload";
}
