// Provisioning single VFs with profiles: admitted against free capacity, journaled, read back,
// neighbours untouched, desired state restored on failure, recovered after a crash, and
// re-applied when a power cycle cleared it.
#include "daemon_fixture.hpp"
#include "events.hpp"
#include "quota_service.hpp"

#include <filesystem>
#include <fstream>

using namespace aismi;

namespace {

class ProvisionServiceTest : public aismi::test::DaemonFixture {
protected:
    void SetUp() override {
        DaemonFixture::SetUp();
        ASSERT_TRUE(setVfCount(0, 4).ok());  // the driver splits the card: 32 CUs each
    }
    Resources onDevice(unsigned vf) { return inventory->device(0)->vfResources(vf).value(); }
    using P = DesiredStateRepository::Provisioned;
    Result<void> setPolicy(unsigned card, std::optional<uint32_t> compute, std::optional<uint32_t> memory) {
        std::optional<Result<void>> outcome;
        policies->set(card, compute, memory, [&](Result<void> r) { outcome = std::move(r); });
        if (!runUntil([&] { return outcome.has_value(); })) return makeError(Errc::Timeout, "no outcome");
        return *outcome;
    }
};

}  // namespace

TEST_F(ProvisionServiceTest, RefusesWhatDoesNotFitAndSaysWhatIsLeft) {
    auto r = provision(0, 0, "half");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::NoSpace);
    EXPECT_NE(r.error().message.find("needs 64 compute units, 32 of 128 are free (VFs 1, 2, 3 hold the rest"), std::string::npos)
        << r.error().message;
    EXPECT_FALSE(desired->provisioned(kSerial0, 0).value().has_value()) << "nothing written";
    EXPECT_TRUE(journal->open()->empty());
    EXPECT_EQ(provision(0, 0, "tenth").error().code, Errc::NotFound);
    EXPECT_NE(provision(0, 0, "tenth").error().message.find("no such profile (there are: whole, half, quarter, eighth)"), std::string::npos);
    EXPECT_EQ(provision(0, 9, "eighth").error().code, Errc::NotFound);
    EXPECT_EQ(provision(0, 0, "eighth", "bad tenant!").error().code, Errc::InvalidArgument);
}

TEST_F(ProvisionServiceTest, ProvisionsOneVfWhileItsNeighboursKeepRunning) {
    ASSERT_TRUE(provision(0, 1, "").ok()) << "unprovisioned: frees its share";
    EXPECT_EQ(onDevice(1), (Resources{0, 0, 0}));
    load(0, 2);
    clock.advanceMs(10);
    poller->readAllNow();
    const uint64_t before = inventory->vf(VfRef{0, 2})->status->progress;
    auto r = provision(0, 0, "quarter", "acme");
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_TRUE(provision(0, 1, "quarter", "acme").ok());
    EXPECT_EQ(onDevice(1), (Resources{32, 16256, 2})) << "read back from the device";
    EXPECT_EQ(desired->provisioned(kSerial0, 1).value(), (P{"quarter", "acme", Resources{32, 16256, 2}}));
    const VfSnapshot* vf1 = inventory->vf(VfRef{0, 1});
    EXPECT_EQ(vf1->profile, "quarter");
    EXPECT_EQ(vf1->tenant, "acme");
    clock.advanceMs(10);
    poller->readAllNow();
    EXPECT_GT(inventory->vf(VfRef{0, 2})->status->progress, before) << "the neighbour's workload kept going";
    EXPECT_EQ(inventory->vf(VfRef{0, 2})->state(), VfState::Running);
    EXPECT_EQ(provision(0, 2, "eighth").error().code, Errc::Busy) << "a running VF's resources do not move";
    EXPECT_TRUE(journal->open()->empty());
}

TEST_F(ProvisionServiceTest, LeavesDesiredStateAsItWasWhenTheDeviceFails) {
    ASSERT_TRUE(provision(0, 3, "").ok());
    inject(0, std::nullopt, sim::Fault::DeviceLost);  // the snapshot still says it answers
    ASSERT_FALSE(provision(0, 3, "eighth").ok());
    EXPECT_EQ(desired->provisioned(kSerial0, 3).value(), P{}) << "still explicitly empty, as before";
    ASSERT_FALSE(provision(0, 2, "").ok());
    EXPECT_FALSE(desired->provisioned(kSerial0, 2).value().has_value()) << "no row before, none after";
    EXPECT_TRUE(journal->open()->empty());
}

TEST_F(ProvisionServiceTest, TheVfCountStaysWhileVfsAreInUseUnlessForced) {
    ASSERT_TRUE(provision(0, 3, "").ok());
    ASSERT_TRUE(provision(0, 3, "eighth", "acme").ok());
    ASSERT_TRUE(provision(0, 2, "").ok());
    auto r = setVfCount(0, 0);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::InvalidState);
    EXPECT_NE(r.error().message.find("VFs in use (0:3 is provisioned for tenant acme); unprovision or release them first, or force it"), std::string::npos)
        << r.error().message;
    // Forced, but the device fails: every VF's provisioning is back exactly.
    const auto before = desired->provisionedVfs(kSerial0).value();
    inject(0, std::nullopt, sim::Fault::DeviceLost);
    std::optional<Result<void>> failed;
    ASSERT_TRUE(service->setVfCount(0, 0, [&](Result<void> x) { failed = x; }, true).ok());
    ASSERT_TRUE(runUntil([&] { return failed.has_value(); }));
    EXPECT_FALSE(failed->ok());
    EXPECT_EQ(desired->provisionedVfs(kSerial0).value(), before);
    mutate(0, [&](sim::SimCardModel& m) { return m.clear(std::nullopt, clock.now); });
    poller->readAllNow();
    // Forced: the VFs go, and their provisioning with them.
    std::optional<Result<void>> forced;
    ASSERT_TRUE(service->setVfCount(0, 0, [&](Result<void> x) { forced = x; }, true).ok());
    ASSERT_TRUE(runUntil([&] { return forced.has_value(); }));
    ASSERT_TRUE(forced->ok()) << forced->error().message;
    EXPECT_TRUE(desired->provisionedVfs(kSerial0)->empty());
    // Provisioned without a tenant does not hold the count.
    ASSERT_TRUE(setVfCount(0, 2).ok());
    ASSERT_TRUE(provision(0, 1, "").ok());
    ASSERT_TRUE(provision(0, 1, "eighth").ok());
    EXPECT_TRUE(setVfCount(0, 0).ok());
    EXPECT_TRUE(desired->provisionedVfs(kSerial0)->empty());
}

TEST_F(ProvisionServiceTest, FinishesOrRollsBackWhatACrashInterrupted) {
    // The device took it, then the daemon died: confirmed.
    ASSERT_TRUE(provision(0, 1, "").ok());
    ProvisionService::Payload took{1, P{"eighth", "", Resources{16, 8128, 1}}, P{}};
    ASSERT_TRUE(desired->setProvisioned(kSerial0, 1, *took.next).ok());
    auto op = journal->begin("provision-vf", kSerial0, took.encode(), "write-vf-resources");
    ASSERT_TRUE(op.ok());
    ASSERT_TRUE(inventory->device(0)->setVfResources(1, Resources{16, 8128, 1}).ok());
    // The daemon died before the device took it: rolled back to what the device has.
    ProvisionService::Payload lost{3, P{"eighth", "", Resources{16, 8128, 1}}, std::nullopt};
    ASSERT_TRUE(desired->setProvisioned(kSerial0, 3, *lost.next).ok());
    ASSERT_TRUE(journal->begin("provision-vf", kSerial0, lost.encode(), "write-vf-resources").ok());
    teardown();
    compose();
    Reconciler reconciler(*journal);
    reconciler.add(*provisioning);
    const auto report = reconciler.run();
    EXPECT_TRUE(journal->open()->empty());
    EXPECT_EQ(desired->provisioned(kSerial0, 1).value(), *took.next);
    EXPECT_FALSE(desired->provisioned(kSerial0, 3).value().has_value()) << "rolled back: the device never had it";
    EXPECT_EQ(onDevice(3), (Resources{32, 16256, 2})) << "the device untouched";
}

TEST_F(ProvisionServiceTest, ReappliesProvisioningThatAPowerCycleCleared) {
    for (unsigned vf : {1u, 2u, 3u}) ASSERT_TRUE(provision(0, vf, "").ok());
    ASSERT_TRUE(provision(0, 0, "half", "acme").ok());
    mutate(0, [&](sim::SimCardModel& m) {
        m.powerCycle(clock.now);
        return Result<void>();
    });
    ASSERT_TRUE(inventory->device(0)->setVfCount(4).ok());  // VFs back, split evenly again
    EXPECT_EQ(onDevice(0), (Resources{32, 16256, 2}));
    const auto log = provisioning->converge();
    ASSERT_EQ(log.size(), 4u) << "three emptied, then the half";
    EXPECT_NE(log.back().find("profile half restored"), std::string::npos) << log.back();
    EXPECT_EQ(onDevice(0), (Resources{64, 32512, 4}));
    EXPECT_EQ(onDevice(3), (Resources{0, 0, 0}));
}

TEST_F(ProvisionServiceTest, ReappliesItWhileRunningOnceTheVfsComeBack) {
    for (unsigned vf : {1u, 2u, 3u}) ASSERT_TRUE(provision(0, vf, "").ok());
    ASSERT_TRUE(provision(0, 0, "half").ok());
    events->subscribe<CardUpdated>([&](const CardUpdated& e) { provisioning->watch(e.card, e.now); });
    ASSERT_TRUE(inventory->device(0)->setVfResources(1, Resources{0, 0, 0}).ok());
    mutate(0, [&](sim::SimCardModel& m) {
        m.powerCycle(clock.now);
        return Result<void>();
    });
    poller->readAllNow();  // VFs gone
    ASSERT_TRUE(inventory->device(0)->setVfCount(4).ok());
    poller->readAllNow();  // back, split evenly
    ASSERT_TRUE(runUntil([&] { return onDevice(0) == Resources{64, 32512, 4} && !changes.busy(kSerial0); }));
    EXPECT_EQ(onDevice(2), (Resources{0, 0, 0}));
}

TEST_F(ProvisionServiceTest, KeepsATenantWithinItsQuota) {
    for (unsigned vf : {1u, 2u, 3u}) ASSERT_TRUE(provision(0, vf, "").ok());
    QuotaService service(*quotas, *events);
    ASSERT_TRUE(service.set(Quota{"acme", 2, std::nullopt, 20000}).ok());
    ASSERT_TRUE(provision(0, 1, "eighth", "acme").ok());
    auto r = provision(0, 2, "quarter", "acme");
    ASSERT_FALSE(r.ok()) << "8128 + 16256 MiB is beyond 20000";
    EXPECT_EQ(r.error().code, Errc::NoSpace);
    EXPECT_NE(r.error().message.find("tenant acme's quota allows 20000 MiB of memory; 8128 in use, 16256 asked"), std::string::npos)
        << r.error().message;
    EXPECT_FALSE(desired->provisioned(kSerial0, 2).value()->tenant.size()) << "still the emptied row it was";
    ASSERT_TRUE(provision(0, 2, "eighth", "acme").ok());
    EXPECT_EQ(provision(0, 3, "eighth", "acme").error().code, Errc::NoSpace) << "a third VF";
    ASSERT_TRUE(provision(0, 1, "eighth", "acme").ok()) << "re-provisioning its own VF is not a new one";
    ASSERT_TRUE(provision(0, 3, "eighth", "other").ok()) << "other tenants are not limited by it";
    auto rows = service.list();
    ASSERT_TRUE(rows.ok());
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_EQ(rows->at(0).used.vfs, 2u);
    EXPECT_EQ(rows->at(0).used.memoryMib, 2u * 8128);
    EXPECT_EQ(service.set(Quota{"bad name", 1, {}, {}}).error().code, Errc::InvalidArgument);
    EXPECT_EQ(service.set(Quota{"acme", 2000000, {}, {}}).error().code, Errc::OutOfRange);
    ASSERT_TRUE(service.remove("acme").ok());
    EXPECT_EQ(service.remove("acme").error().code, Errc::NotFound);
    ASSERT_TRUE(provision(0, 0, "").ok());
    EXPECT_TRUE(provision(0, 0, "eighth", "acme").ok()) << "no quota, no limit";
}

// What clients read follows the store in commit order: the new profile and tenant show from the
// loop turn that commits them, not from the card's next reading (which comes after the device
// write). Otherwise a tenant could show more VFs than its quota across two cards for a moment.
TEST_F(ProvisionServiceTest, ShowsAChangeFromItsCommitNotFromTheNextReading) {
    std::optional<Result<void>> outcome;
    provisioning->provision(VfRef{0, 1}, "eighth", "acme", [&](Result<void> r) { outcome = std::move(r); });
    ASSERT_FALSE(outcome.has_value()) << "the device write is still to come";
    EXPECT_EQ(inventory->snapshot(0).vfs[1].tenant, "acme");
    EXPECT_EQ(inventory->snapshot(0).vfs[1].profile, "eighth");
    ASSERT_TRUE(runUntil([&] { return outcome.has_value(); }));
    ASSERT_TRUE(outcome->ok()) << outcome->error().message;
    outcome.reset();
    provisioning->unprovision(VfRef{0, 1}, [&](Result<void> r) { outcome = std::move(r); });
    EXPECT_EQ(inventory->snapshot(0).vfs[1].tenant, "");
    ASSERT_TRUE(runUntil([&] { return outcome.has_value(); }));
}

TEST_F(ProvisionServiceTest, KeepsAtMostTheLimitOfTenants) {
    EXPECT_EQ(limits::kMaxTenants, 10000u) << "the limit docs/security.md names";
    QuotaService service(*quotas, *events, 3);  // the same check, with a limit a test can reach
    for (const char* t : {"a", "b", "c"}) ASSERT_TRUE(service.set(Quota{t, 1, {}, {}}).ok()) << t;
    auto r = service.set(Quota{"d", 1, {}, {}});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::NoSpace);
    EXPECT_NE(r.error().message.find("3 tenants have a quota, the most aismid keeps"), std::string::npos) << r.error().message;
    EXPECT_EQ(service.list()->size(), 3u) << "nothing written";
    EXPECT_TRUE(service.set(Quota{"b", 5, {}, {}}).ok()) << "a tenant that has a quota may change it";
    ASSERT_TRUE(service.remove("a").ok());
    EXPECT_TRUE(service.set(Quota{"d", 1, {}, {}}).ok()) << "room again";
}

TEST_F(ProvisionServiceTest, AdmitsBurstCapsAndMemoryOnlyAsTheCardsPolicyAllows) {
    std::filesystem::create_directories(tmp / "profiles.d");
    std::ofstream(tmp / "profiles.d/burst.conf") << "[profile burst]\ncompute_units = 16\nburst_units = 64\nmemory = 24G\nweight = 2\n";
    auto profiles = loadProfiles(tmp / "profiles.d");
    ASSERT_TRUE(profiles.ok()) << profiles.error().message;
    provisioning->setProfiles(std::move(*profiles));
    for (unsigned vf = 0; vf < 4; ++vf) ASSERT_TRUE(provision(0, vf, "").ok());
    ASSERT_TRUE(provision(0, 0, "burst").ok());
    ASSERT_TRUE(provision(0, 1, "burst").ok());
    EXPECT_EQ(onDevice(0), (Resources{16, 24576, 0, 64, 2}));
    // Two burst caps of 64 fill the 128 units; memory 48 of 64 GiB.
    const Profile& burst = *findProfile(provisioning->profiles(), "burst");
    EXPECT_EQ(provisioning->fit(inventory->snapshot(0), burst).more, 0u);
    auto r = provision(0, 2, "burst");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::NoSpace);
    EXPECT_NE(r.error().message.find("needs 64 compute units of burst cap, 0 of 128 are free (the card's compute is not oversubscribed"),
              std::string::npos)
        << r.error().message;
    // Compute oversubscribed twice: the burst caps fit, the memory does not.
    ASSERT_TRUE(setPolicy(0, 200, std::nullopt).ok());
    EXPECT_EQ(inventory->snapshot(0).policy, (Oversubscription{200, 100}));
    r = provision(0, 2, "burst");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("needs 24576 MiB of memory, 16384 of 65536 are free"), std::string::npos) << r.error().message;
    ASSERT_TRUE(setPolicy(0, std::nullopt, 150).ok());
    ASSERT_TRUE(provision(0, 2, "burst").ok());
    EXPECT_EQ(provisioning->fit(inventory->snapshot(0), burst).more, 1u) << "burst 192 of 256, memory 73728 of 98304 MiB held";
    // A policy below what the VFs hold, or out of range, is refused and changes nothing.
    auto lower = setPolicy(0, 140, std::nullopt);
    ASSERT_FALSE(lower.ok());
    EXPECT_EQ(lower.error().code, Errc::NoSpace);
    EXPECT_NE(lower.error().message.find("the VFs hold burst caps of 192 compute units; compute ratio 1.4 allows 179"), std::string::npos)
        << lower.error().message;
    EXPECT_EQ(setPolicy(0, 99, std::nullopt).error().code, Errc::InvalidArgument);
    EXPECT_EQ(setPolicy(0, 1601, std::nullopt).error().code, Errc::InvalidArgument);
    EXPECT_EQ(setPolicy(0, std::nullopt, 401).error().code, Errc::InvalidArgument);
    EXPECT_EQ(setPolicy(0, std::nullopt, std::nullopt).error().code, Errc::InvalidArgument);
    EXPECT_EQ(setPolicy(7, 200, std::nullopt).error().code, Errc::NotFound);
    EXPECT_EQ(policies->of(kSerial0), (Oversubscription{200, 150}));
    // It is kept across restarts.
    teardown();
    compose();
    EXPECT_EQ(policies->of(kSerial0), (Oversubscription{200, 150}));
    EXPECT_EQ(inventory->snapshot(0).policy, (Oversubscription{200, 150}));
}

TEST_F(ProvisionServiceTest, ShowsEachVfsShareOfAnOversubscribedCard) {
    std::filesystem::create_directories(tmp / "profiles.d");
    std::ofstream(tmp / "profiles.d/burst.conf") << "[profile burst]\ncompute_units = 16\nburst_units = 128\nmemory = 4G\n";
    auto profiles = loadProfiles(tmp / "profiles.d");
    ASSERT_TRUE(profiles.ok()) << profiles.error().message;
    provisioning->setProfiles(std::move(*profiles));
    ASSERT_TRUE(setPolicy(0, 400, std::nullopt).ok());
    for (unsigned vf = 0; vf < 4; ++vf) ASSERT_TRUE(provision(0, vf, "").ok());
    for (unsigned vf = 0; vf < 3; ++vf) ASSERT_TRUE(provision(0, vf, "burst").ok());
    load(0, 0);
    poller->readAllNow();
    EXPECT_DOUBLE_EQ(inventory->vf(VfRef{0, 0})->status->computeShare, 128) << "alone it bursts to its cap";
    EXPECT_FALSE(inventory->vf(VfRef{0, 0})->status->throttled);
    load(0, 1);
    poller->readAllNow();
    EXPECT_DOUBLE_EQ(inventory->vf(VfRef{0, 0})->status->computeShare, 64);
    EXPECT_TRUE(inventory->vf(VfRef{0, 0})->status->throttled);
    EXPECT_TRUE(inventory->vf(VfRef{0, 1})->status->throttled);
    EXPECT_FALSE(inventory->vf(VfRef{0, 2})->status->throttled) << "idle";
}
