// Resetting one VF: function-level only, the neighbours' workloads never notice, refused while
// the VF is mid-operation or (without force) busy, verified afterwards, and finished or
// reported after a crash; and the recovery policy that resets hung VFs by itself, within a
// guard, and quarantines them past it.
#include "daemon_fixture.hpp"
#include "events.hpp"
#include "recovery_repository.hpp"
#include "recovery_service.hpp"
#include "reset_service.hpp"

#include <aismi/card.hpp>
#include <aismi/pci_function.hpp>

using namespace aismi;

namespace {

class ResetServiceTest : public aismi::test::DaemonFixture {
protected:
    void SetUp() override {
        DaemonFixture::SetUp();
        ASSERT_TRUE(setVfCount(0, 4).ok());
        resets = std::make_unique<ResetService>(ResetService::Deps{*journal, *inventory, *executor, *poller, *events, changes});
    }
    void TearDown() override {
        resets.reset();
        DaemonFixture::TearDown();
    }
    Result<ResetService::Outcome> reset(unsigned vf, bool force = false) {
        std::optional<Result<ResetService::Outcome>> outcome;
        resets->resetVf(VfRef{0, vf}, force, [&](Result<ResetService::Outcome> r) { outcome = std::move(r); });
        if (!runUntil([&] { return outcome.has_value(); })) return makeError(Errc::Timeout, "no outcome");
        return *outcome;
    }
    uint64_t progress(unsigned vf) { return inventory->vf(VfRef{0, vf})->status->progress; }
    std::unique_ptr<ResetService> resets;
};

}  // namespace

TEST_F(ResetServiceTest, ResetsAHungVfWhileItsNeighboursKeepWorking) {
    ASSERT_TRUE(provision(0, 1, "").ok());
    ASSERT_TRUE(provision(0, 1, "eighth").ok());
    for (unsigned vf : {0u, 1u, 3u}) load(0, vf);
    clock.advanceMs(50);
    inject(0, 1u, sim::Fault::VfHang);
    clock.advanceMs(50);
    poller->readAllNow();
    ASSERT_EQ(inventory->vf(VfRef{0, 1})->state(), VfState::Hung);
    const uint64_t before0 = progress(0), before3 = progress(3);
    const Resources provisioned = inventory->device(0)->vfResources(1).value();
    clock.sleeps.clear();
    auto r = reset(1);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->provisioning, "kept");
    EXPECT_NE(std::find(clock.sleeps.begin(), clock.sleeps.end(), int64_t{100'000'000}), clock.sleeps.end()) << "one FLR: 100 ms";
    const VfSnapshot* vf1 = inventory->vf(VfRef{0, 1});
    EXPECT_EQ(vf1->status->resetCount, 1u);
    EXPECT_EQ(vf1->state(), VfState::Idle) << "the hang is gone with the reset";
    EXPECT_EQ(inventory->device(0)->vfResources(1).value(), provisioned) << "provisioning survives an FLR";
    // The neighbours worked through the reset's 100 ms and were never reset themselves.
    for (auto [vf, before] : {std::pair{0u, before0}, {3u, before3}}) {
        EXPECT_GE(progress(vf), before + 100) << "VF " << vf;
        EXPECT_EQ(inventory->vf(VfRef{0, vf})->state(), VfState::Running) << "VF " << vf;
        EXPECT_EQ(inventory->vf(VfRef{0, vf})->status->resetCount, 0u) << "VF " << vf;
    }
    EXPECT_EQ(inventory->snapshot(0).vfEnabled(), 4u);
    EXPECT_TRUE(journal->open()->empty());
}

TEST_F(ResetServiceTest, RefusesABusyVfWithoutForceAndAnyVfMidOperation) {
    load(0, 0);
    poller->readAllNow();
    auto busy = reset(0);
    ASSERT_FALSE(busy.ok());
    EXPECT_EQ(busy.error().code, Errc::Busy);
    EXPECT_NE(busy.error().message.find("a workload runs on the VF and would be lost; --force resets it anyway"), std::string::npos);
    EXPECT_EQ(inventory->vf(VfRef{0, 0})->status->resetCount, 0u) << "refused: nothing happened";
    EXPECT_TRUE(reset(0, true).ok()) << "forced";
    ASSERT_TRUE(changes.begin(kSerial0, 2, "provision VF 2").ok());
    auto mid = reset(2);
    ASSERT_FALSE(mid.ok());
    EXPECT_EQ(mid.error().code, Errc::Busy);
    EXPECT_NE(mid.error().message.find("another change on this card is under way (provision VF 2)"), std::string::npos) << mid.error().message;
    changes.end(kSerial0, 2);
    EXPECT_EQ(reset(9).error().code, Errc::NotFound);
    EXPECT_TRUE(journal->open()->empty());
}

TEST_F(ResetServiceTest, ReportsAFailedResetAndReleasesTheVf) {
    inject(0, 2u, sim::Fault::FlrFail);
    auto r = reset(2);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("VF 2: reset"), std::string::npos) << r.error().message;
    EXPECT_TRUE(journal->open()->empty()) << "the entry is closed as failed";
    mutate(0, [&](sim::SimCardModel& m) { return m.clear(2u, clock.now); });
    EXPECT_TRUE(reset(2).ok()) << "released: the next reset runs";
}

TEST_F(ResetServiceTest, FinishesAResetACrashInterrupted) {
    ASSERT_TRUE(journal->begin("reset-vf", kSerial0, "vf 3\naddress 0000:3b:00.7\n", "function-level-reset").ok());
    ASSERT_TRUE(journal->begin("reset-vf", kSerial0, "vf 12\n", "function-level-reset").ok());
    Reconciler reconciler(*journal);
    reconciler.add(*resets);
    const auto report = reconciler.run();
    ASSERT_EQ(report.actions.size(), 2u);
    EXPECT_NE(report.actions[0].find("finished: the VF answers"), std::string::npos) << report.actions[0];
    EXPECT_NE(report.actions[1].find("does not answer"), std::string::npos) << report.actions[1];
    EXPECT_TRUE(journal->open()->empty());
}

TEST_F(ResetServiceTest, ResetsAWholeCardTellingClientsFirstAndReportsAFailure) {
    std::vector<std::string> told;
    events->subscribe<Notice>([&](const Notice& n) {
        if (n.type == EventType::CardReset) told.push_back(n.message);
    });
    bool returned = false;
    events->subscribe<CardReturned>([&](const CardReturned& e) { returned = e.card == 0; });
    const auto resetCard = [&](bool force) {
        std::optional<Result<ResetService::CardOutcome>> outcome;
        resets->resetCard(0, force, [&](Result<ResetService::CardOutcome> r) { outcome = std::move(r); });
        EXPECT_TRUE(runUntil([&] { return outcome.has_value(); }));
        return outcome.value_or(makeError(Errc::Timeout, "no outcome"));
    };
    load(0, 1);
    poller->readAllNow();
    auto refused = resetCard(false);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, Errc::Busy);
    EXPECT_NE(refused.error().message.find("0:1 runs a workload"), std::string::npos) << refused.error().message;
    EXPECT_TRUE(told.empty()) << "nothing said, nothing done";
    auto done = resetCard(true);
    ASSERT_TRUE(done.ok()) << done.error().message;
    EXPECT_EQ(done->vfs, 4u);
    ASSERT_EQ(told.size(), 2u);
    EXPECT_NE(told[0].find("resetting the whole card (4 VFs"), std::string::npos) << told[0];
    EXPECT_TRUE(returned) << "the services hear the card is back";
    EXPECT_TRUE(journal->open()->empty());
    for (unsigned k = 0; k < 4; ++k) EXPECT_EQ(inventory->vf(VfRef{0, k})->status->resetCount, 1u) << "VF " << k;
    EXPECT_FALSE(changes.busy(kSerial0));
    inject(0, std::nullopt, sim::Fault::FlrFail);
    auto failed = resetCard(true);
    ASSERT_FALSE(failed.ok());
    EXPECT_NE(failed.error().message.find("card 0 (0000:3b:00.0): reset"), std::string::npos) << failed.error().message;
    EXPECT_FALSE(changes.busy(kSerial0)) << "released after a failure";
    // A card reset a crash interrupted is reported at restart.
    ASSERT_TRUE(journal->begin("reset-card", kSerial0, "vfs 4\n", "function-level-reset").ok());
    Reconciler reconciler(*journal);
    reconciler.add(*resets);
    const auto report = reconciler.run();
    ASSERT_EQ(report.actions.size(), 1u);
    EXPECT_NE(report.actions[0].find("a reset of card AIS"), std::string::npos) << report.actions[0];
    EXPECT_TRUE(journal->open()->empty());
}

TEST_F(ResetServiceTest, ACardResetACrashInterruptedPutsBackTheResetMethodsItNarrowed) {
    PciFunction& pf = inventory->device(0)->pf();
    ASSERT_EQ(pf.resetMethods().value(), (std::vector<std::string>{"flr", "bus"}));
    // The reset journals the PF's methods before it narrows them.
    std::optional<Result<ResetService::CardOutcome>> outcome;
    resets->resetCard(0, true, [&](Result<ResetService::CardOutcome> r) { outcome = std::move(r); });
    ASSERT_TRUE(runUntil([&] { return outcome.has_value(); }));
    ASSERT_TRUE(outcome->ok()) << outcome->error().message;
    EXPECT_EQ(pf.resetMethods().value(), (std::vector<std::string>{"flr", "bus"})) << "put back after the reset";
    // Killed between the narrowing and the reset: the entry says what to put back.
    ASSERT_TRUE(journal->begin("reset-card", kSerial0, "vfs 4\naddress 0000:3b:00.0\nreset_method flr bus\n", "function-level-reset").ok());
    ASSERT_TRUE(pf.setResetMethods({"flr"}).ok());
    Reconciler reconciler(*journal);
    reconciler.add(*resets);
    const auto report = reconciler.run();
    ASSERT_EQ(report.actions.size(), 1u);
    EXPECT_NE(report.actions[0].find("its reset_method is 'flr bus' again"), std::string::npos) << report.actions[0];
    EXPECT_EQ(pf.resetMethods().value(), (std::vector<std::string>{"flr", "bus"}));
    EXPECT_TRUE(journal->open()->empty());
}

TEST_F(ResetServiceTest, ResetsHungVfsWithinTheGuardsWindowAndQuarantinesPastIt) {
    RecoveryRepository rows(*db);
    RecoveryService recovery({rows, *inventory, *resets, *events, changes}, RecoveryPolicy{true, 2, std::chrono::seconds(60)});
    int64_t t = 1000;
    recovery.now = [&] { return t; };
    ASSERT_TRUE(recovery.load().ok());
    poller->annotators.push_back([&](CardSnapshot& s) { recovery.annotate(s); });
    const auto hangAndWatch = [&] {
        load(0, 2);
        inject(0, 2u, sim::Fault::VfHang);
        poller->readAllNow();
        recovery.watch(inventory->snapshot(0));
    };
    const auto resetsOf2 = [&] {
        runUntil([&] { return !changes.busy(kSerial0); });
        poller->readAllNow();
        return inventory->vf(VfRef{0, 2})->status->resetCount;
    };
    hangAndWatch();
    EXPECT_EQ(resetsOf2(), 1u);
    t += 10;
    hangAndWatch();
    EXPECT_EQ(resetsOf2(), 2u);
    t += 100;  // both resets are now older than the window: the guard allows two more
    hangAndWatch();
    EXPECT_EQ(resetsOf2(), 3u);
    t += 1;
    hangAndWatch();
    EXPECT_EQ(resetsOf2(), 4u);
    t += 1;
    hangAndWatch();  // a third within 60 s: quarantined instead
    EXPECT_EQ(resetsOf2(), 4u);
    EXPECT_TRUE(inventory->vf(VfRef{0, 2})->quarantined());
    recovery.watch(inventory->snapshot(0));
    EXPECT_EQ(resetsOf2(), 4u) << "never reset automatically while quarantined";
    // The store keeps it: a new service (a restart) finds it quarantined.
    RecoveryService restarted({rows, *inventory, *resets, *events, changes}, RecoveryPolicy{});
    ASSERT_TRUE(restarted.load().ok());
    CardSnapshot s = inventory->snapshot(0);
    restarted.annotate(s);
    EXPECT_TRUE(s.vfs[2].quarantined());
    EXPECT_FALSE(s.vfs[1].quarantined());
    EXPECT_EQ(recovery.unquarantine(VfRef{0, 1}).error().code, Errc::InvalidState);
    ASSERT_TRUE(recovery.unquarantine(VfRef{0, 2}).ok());
    EXPECT_TRUE(rows.quarantined()->empty());
    EXPECT_TRUE(rows.autoResets(kSerial0, 2, 0)->empty()) << "its guard starts afresh";
}

TEST_F(ResetServiceTest, AutomaticResetsOlderThanTheWindowAreForgottenForEveryVf) {
    RecoveryRepository rows(*db);
    for (unsigned vf : {1u, 2u, 3u}) ASSERT_TRUE(rows.recordAutoReset(kSerial0, vf, 100).ok());
    ASSERT_TRUE(rows.recordAutoReset(kSerial0, 1, 500).ok());
    // VF 1 hangs again; VFs 2 and 3 never do (or are quarantined): their old rows go too.
    EXPECT_EQ(rows.autoResets(kSerial0, 1, 400).value(), std::vector<int64_t>{500});
    EXPECT_TRUE(rows.allAutoResets(0)->size() == 1u) << "the store keeps only the window, whichever VF asks";
}

TEST_F(ResetServiceTest, EscalatesToACardResetOnlyWhenThePolicyAllowsItAndWithinItsBudget) {
    RecoveryRepository rows(*db);
    RecoveryPolicy policy;
    policy.guardResets = 100;  // the guard does not stop these resets; the card budget does
    RecoveryService recovery({rows, *inventory, *resets, *events, changes}, policy);
    int64_t t = 1000;
    recovery.now = [&] { return t; };
    ASSERT_TRUE(recovery.load().ok());
    std::vector<std::string> said;
    events->subscribe<Notice>([&](const Notice& n) {
        if (n.type == EventType::AutoReset) said.push_back(n.message);
    });
    inject(0, 2u, sim::Fault::FlrFail);  // the VF's own reset fails
    const auto hangAndWatch = [&] {
        load(0, 2);
        inject(0, 2u, sim::Fault::VfHang);
        poller->readAllNow();
        recovery.watch(inventory->snapshot(0));
        runUntil([&] { return !changes.busy(kSerial0); });
        poller->readAllNow();
    };
    const auto cardResets = [&] { return inventory->vf(VfRef{0, 0})->status->resetCount; };  // VF 0 is reset only with the card
    hangAndWatch();
    EXPECT_EQ(cardResets(), 0u) << "escalation is off by default";
    ASSERT_FALSE(said.empty());
    EXPECT_NE(said.back().find("aismid does not reset the whole card (aismid.conf auto-card-reset = no)"), std::string::npos) << said.back();

    policy.autoCardReset = true;
    policy.cardResetBudget = 1;
    policy.cardResetWindow = std::chrono::seconds(600);
    recovery.setPolicy(policy);
    t += 10;
    hangAndWatch();
    EXPECT_EQ(cardResets(), 1u) << "the whole card was reset";
    EXPECT_NE(said.back().find("resetting the whole card (1 of 1 card reset(s) in 600 s)"), std::string::npos) << said.back();
    t += 10;
    hangAndWatch();
    EXPECT_EQ(cardResets(), 1u) << "the budget is spent: never more";
    EXPECT_NE(said.back().find("the card's reset budget (1 card reset(s) in 600 s) is spent: an operator must act"), std::string::npos) << said.back();
    t += 601;
    hangAndWatch();
    EXPECT_EQ(cardResets(), 2u) << "a new window, a new budget";
}
