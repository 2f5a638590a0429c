// Setting a card's VF count: journaled before acting, read back after, refused cleanly,
// desired state restored exactly on failure, and recovered after a crash at each step.
#include "daemon_fixture.hpp"

using namespace aismi;

namespace {
using VfCountServiceTest = aismi::test::DaemonFixture;
}

TEST_F(VfCountServiceTest, JournalsBeforeActingAndClosesTheEntryAfter) {
    std::optional<Result<void>> outcome;
    auto job = service->setVfCount(0, 4, [&](Result<void> r) { outcome = r; });
    ASSERT_TRUE(job.ok()) << job.error().message;
    EXPECT_EQ(desired->vfCount(kSerial0).valueOr(std::nullopt), 4u) << "desired state first";
    auto open = journal->open();
    ASSERT_EQ(open->size(), 1u);
    EXPECT_EQ(open->at(0).step, "write-sriov-numvfs");
    EXPECT_EQ(open->at(0).payload, "count 4\n") << "typed payload, readable";
    ASSERT_TRUE(runUntil([&] { return outcome.has_value(); }));
    EXPECT_TRUE(outcome->ok());
    EXPECT_TRUE(journal->open()->empty());
    EXPECT_EQ(inventory->snapshot(0).vfEnabled(), 4u) << "the snapshot shows it when the caller hears of it";
    const Job* j = jobs->find(*job);
    ASSERT_NE(j, nullptr);
    EXPECT_EQ(j->state, JobState::Done);
    EXPECT_EQ(j->progress, 100u);
}

TEST_F(VfCountServiceTest, RefusesBeforeWritingAnything) {
    EXPECT_EQ(service->setVfCount(0, 9).error().code, Errc::OutOfRange);
    ASSERT_TRUE(inventory->device(0)->setVfCount(2).ok());
    poller->readAllNow();
    EXPECT_EQ(service->setVfCount(0, 3).error().code, Errc::InvalidState);
    EXPECT_FALSE(desired->vfCount(kSerial0).value().has_value());
    EXPECT_TRUE(journal->open()->empty());
    EXPECT_TRUE(jobs->all().empty());
}

TEST_F(VfCountServiceTest, LeavesDesiredStateExactlyAsItWasWhenTheDeviceFails) {
    inject(0, std::nullopt, sim::Fault::DeviceLost);  // the snapshot still says it answers
    auto r = setVfCount(0, 4);
    ASSERT_FALSE(r.ok());
    EXPECT_FALSE(desired->vfCount(kSerial0).value().has_value()) << "no desired count before, none after";
    EXPECT_TRUE(journal->open()->empty());
    ASSERT_TRUE(desired->setVfCount(kSerial0, 0).ok());
    EXPECT_FALSE(setVfCount(0, 4).ok());
    EXPECT_EQ(desired->vfCount(kSerial0).valueOr(std::nullopt), 0u);
}

// Issue 26 (4): the device refuses the change and the store refuses its rollback (a full disk).
// The card takes no other change until the store takes the rollback; then desired state is as
// it was and the entry closed, without a restart.
TEST_F(VfCountServiceTest, KeepsTheCardUntilTheStoreTakesTheRollbackItRefused) {
    inject(0, std::nullopt, sim::Fault::DeviceLost);
    std::optional<Result<void>> outcome;
    ASSERT_TRUE(service->setVfCount(0, 4, [&](Result<void> r) { outcome = r; }).ok());
    ASSERT_TRUE(Statement(*db, "PRAGMA query_only = 1").run("refuse writes").ok());
    ASSERT_TRUE(runUntil([&] { return outcome.has_value(); }));
    EXPECT_FALSE(outcome->ok()) << "the device did not take it";
    EXPECT_EQ(desired->vfCount(kSerial0).valueOr(std::nullopt), 4u) << "the store refused the rollback";
    EXPECT_EQ(journal->open()->size(), 1u);
    auto next = service->setVfCount(0, 2);
    ASSERT_FALSE(next.ok());
    EXPECT_EQ(next.error().code, Errc::Busy);
    EXPECT_NE(next.error().message.find("the store did not record its end"), std::string::npos) << next.error().message;
    db->retryEnds();
    EXPECT_EQ(db->unrecordedEnds().size(), 1u);
    ASSERT_TRUE(Statement(*db, "PRAGMA query_only = 0").run("take writes").ok());
    db->retryEnds();
    EXPECT_TRUE(db->unrecordedEnds().empty());
    EXPECT_FALSE(desired->vfCount(kSerial0).value().has_value()) << "rolled back: no desired count, as before";
    EXPECT_TRUE(journal->open()->empty());
    mutate(0, [&](sim::SimCardModel& m) { return m.clear(std::nullopt, clock.now); });
    poller->readAllNow();
    auto again = setVfCount(0, 2);
    EXPECT_TRUE(again.ok()) << "the card takes changes again: " << again.error().message;
}

TEST_F(VfCountServiceTest, RefusesASecondChangeWhileOneIsUnderWay) {
    std::optional<Result<void>> first;
    ASSERT_TRUE(service->setVfCount(0, 4, [&](Result<void> r) { first = r; }).ok());
    auto second = service->setVfCount(0, 8);
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.error().code, Errc::Busy);
    ASSERT_TRUE(runUntil([&] { return first.has_value(); }));
    EXPECT_EQ(desired->vfCount(kSerial0).valueOr(std::nullopt), 4u);
}

TEST_F(VfCountServiceTest, CancelsAJobThatHasNotStartedAndRestoresDesiredState) {
    // Keep the card's strand busy so that the change stays queued.
    std::atomic<bool> release{false};
    executor->runOnCard<void>(
        kSerial0,
        [&]() -> Result<void> {
            while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
            return {};
        },
        [](Result<void>) {});
    std::optional<Result<void>> outcome;
    auto job = service->setVfCount(0, 4, [&](Result<void> r) { outcome = r; });
    ASSERT_TRUE(job.ok());
    EXPECT_TRUE(jobs->cancel(*job).ok());
    release = true;
    ASSERT_TRUE(runUntil([&] { return outcome.has_value(); }));
    EXPECT_EQ(outcome->error().code, Errc::Cancelled);
    EXPECT_EQ(jobs->find(*job)->state, JobState::Cancelled);
    EXPECT_EQ(inventory->snapshot(0).vfEnabled(), 0u);
    EXPECT_FALSE(desired->vfCount(kSerial0).value().has_value());
    EXPECT_EQ(jobs->cancel(*job).error().code, Errc::InvalidState) << "a finished job cannot be cancelled";
}

TEST_F(VfCountServiceTest, RollsBackAChangeTheDeviceNeverTook) {
    // What plan() leaves behind when the daemon dies before the worker writes (or when the
    // device refused it and the store refused the rollback): desired state goes back to what it
    // was, so a change nobody was told succeeded is not made behind everyone's back.
    ASSERT_TRUE(desired->setVfCount(kSerial0, 3).ok());
    ASSERT_TRUE(journal->begin("set-vf-count", kSerial0, VfCountService::Payload{3, std::nullopt}.encode(), "write-sriov-numvfs").ok());
    Reconciler reconciler(*journal);
    reconciler.add(*service);
    auto report = reconciler.run();
    EXPECT_TRUE(journal->open()->empty());
    EXPECT_EQ(inventory->device(0)->sriov()->numVfs, 0u) << "nothing applied";
    EXPECT_FALSE(desired->vfCount(kSerial0).value().has_value()) << "no desired count, as before";
    ASSERT_EQ(report.actions.size(), 1u);
    EXPECT_NE(report.actions[0].find("found unfinished at start"), std::string::npos) << report.actions[0];
    EXPECT_NE(report.actions[0].find("desired state is back to none"), std::string::npos) << report.actions[0];
}

TEST_F(VfCountServiceTest, RollsBackTheProvisioningADisableTheDeviceNeverTookCleared) {
    ASSERT_TRUE(inventory->device(0)->setVfCount(2).ok());
    const DesiredStateRepository::Provisioned quarter{"quarter", "acme", Resources{16, 8192, 1}};
    VfCountService::Payload payload{0, 2};
    payload.cleared.emplace_back(1, quarter);
    ASSERT_TRUE(desired->setVfCount(kSerial0, 0).ok());
    ASSERT_TRUE(journal->begin("set-vf-count", kSerial0, payload.encode(), "write-sriov-numvfs").ok());
    Reconciler reconciler(*journal);
    reconciler.add(*service);
    auto report = reconciler.run();
    EXPECT_TRUE(journal->open()->empty());
    EXPECT_EQ(inventory->device(0)->sriov()->numVfs, 2u);
    EXPECT_EQ(desired->vfCount(kSerial0).value(), std::optional<unsigned>(2u));
    auto back = desired->provisioned(kSerial0, 1);
    ASSERT_TRUE(back.ok() && back->has_value());
    EXPECT_EQ((*back)->tenant, "acme");
    EXPECT_NE(report.actions.at(0).find("back to 2 VFs and the provisioning of 1 VF"), std::string::npos) << report.actions.at(0);
}

TEST_F(VfCountServiceTest, FinishesAChangeACrashInterruptedAfterTheWrite) {
    ASSERT_TRUE(desired->setVfCount(kSerial0, 3).ok());
    ASSERT_TRUE(journal->begin("set-vf-count", kSerial0, VfCountService::Payload{3, 0}.encode(), "write-sriov-numvfs").ok());
    ASSERT_TRUE(inventory->device(0)->setVfCount(3).ok());  // the write landed, the close did not
    Reconciler reconciler(*journal);
    reconciler.add(*service);
    auto report = reconciler.run();
    EXPECT_TRUE(journal->open()->empty());
    ASSERT_EQ(report.actions.size(), 1u);
    EXPECT_NE(report.actions[0].find("the device has it"), std::string::npos) << report.actions[0];
}

TEST_F(VfCountServiceTest, LeavesVfsItDidNotCreateAlone) {
    ASSERT_TRUE(desired->setVfCount(kSerial0, 2).ok());
    ASSERT_TRUE(inventory->device(0)->setVfCount(5).ok());  // someone else, outside aismid
    auto log = service->converge();
    EXPECT_EQ(inventory->device(0)->sriov()->numVfs, 5u);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_NE(log[0].find("left as it is"), std::string::npos) << log[0];
}

TEST_F(VfCountServiceTest, RestoresDesiredVfsWhenACardComesBackWithout) {
    ASSERT_TRUE(setVfCount(1, 5).ok());
    ASSERT_TRUE(inventory->device(1)->setVfCount(0).ok());  // what a power cycle does
    poller->readAllNow();
    service->convergeLive(1);
    ASSERT_TRUE(runUntil([&] { return inventory->snapshot(1).vfEnabled() == 5; }));
    EXPECT_EQ(inventory->device(1)->sriov()->numVfs, 5u);
}

TEST(VfCountPayload, RoundTripsAndRefusesGarbage) {
    auto p = VfCountService::Payload::decode(VfCountService::Payload{7, 2}.encode());
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->count, 7u);
    EXPECT_EQ(p->previousDesired, 2u);
    EXPECT_FALSE(VfCountService::Payload::decode("4").ok()) << "the old untyped form";
    EXPECT_FALSE(VfCountService::Payload::decode("count -1\n").ok());
    EXPECT_FALSE(VfCountService::Payload::decode("count 99999999\n").ok());
}
