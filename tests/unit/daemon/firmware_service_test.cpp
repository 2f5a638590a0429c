// Firmware updates on simulated cards, in real (scaled) time: images refused before anything
// touches the card, the write with progress and read-back, activation with the health check,
// commit, the automatic roll-back of firmware that does not boot or fails its health check,
// one update per card, and power cut at random instants of the whole flow followed by a
// restart: the card always boots a valid bank and the record says what it runs.
#include "daemon_fixture.hpp"
#include "events.hpp"
#include "firmware_repository.hpp"
#include "firmware_service.hpp"
#include "reset_service.hpp"
#include "test_keys.hpp"

#include <aismi/firmware_image.hpp>

#include "sim/clock.hpp"

#include <cstdlib>
#include <fstream>
#include <random>
#include <thread>

using namespace aismi;

namespace {

sim::SimConfig flashConfig() {
    sim::SimConfig c;
    c.cards = 2;
    c.totalVfs = 8;
    c.timeFactor = 0.01;
    c.flashKibPerS = 16;       // 64 KiB: 4 s, 40 ms scaled
    c.flashProgramMs = 5000;   // 50 ms scaled
    return c;
}

class FirmwareServiceTest : public aismi::test::DaemonFixture {
protected:
    void SetUp() override {
        SimFixture::build(flashConfig());
        // Real time: the flash moves while the service polls it from its worker.
        fs = sim::makeSimulatedSysfs(*state, sim::systemClock());
        auto [priv, pub] = aismi::test::keyPair();
        key = priv;
        std::filesystem::create_directories(tmp / "keys");
        std::ofstream(tmp / "keys/test.pem") << pub;
        up();
    }
    void TearDown() override {
        down();
        teardown();
    }
    // aismid starting: the store, the services, reconciliation.
    void up() {
        compose();
        updates = std::make_unique<FirmwareRepository>(*db);
        resets = std::make_unique<ResetService>(ResetService::Deps{*journal, *inventory, *executor, *poller, *events, changes});
        FirmwareService::Settings s;
        s.keysDir = tmp / "keys";
        s.check = std::chrono::milliseconds(30);
        s.checkEvery = std::chrono::milliseconds(10);
        firmware = std::make_unique<FirmwareService>(FirmwareService::Deps{*db, *updates, *journal, *inventory, *executor, *poller, *jobs, *events, *resets, *io}, s);
        ASSERT_TRUE(jobs->recover().ok());
        Reconciler reconciler(*journal);
        reconciler.add(*service);
        reconciler.add(*provisioning);
        reconciler.add(*firmware);
        reconciler.add(*resets);
        report = reconciler.run();
        poller->readAllNow();
        events->subscribe<CardUpdated>([this](const CardUpdated& e) {
            if (firmware) firmware->watch(e.card, e.now);
        });
        // As aismid does: a card that was reset gets its VF count and provisioning back.
        events->subscribe<CardReturned>([this](const CardReturned& e) {
            service->convergeLive(e.card);
            provisioning->convergeLive(e.card);
        });
    }
    // aismid ending (or dying: nothing is finished on the way out).
    void down() {
        firmware.reset();
        resets.reset();
        updates.reset();
        teardown();
    }
    void restart() {
        down();
        up();
    }
    std::vector<uint8_t> image(const std::string& version, uint16_t device = 0x0100, const std::string& signer = "") {
        return firmware::pack(aismi::test::payload(64 * 1024), 0xa15e, device, version, signer.empty() ? key : signer).value();
    }
    Result<void> update(std::vector<uint8_t> img, FirmwareUpdate::Activation a = FirmwareUpdate::Activation::Now, bool older = false, unsigned card = 0) {
        std::optional<Result<void>> outcome;
        auto job = firmware->update({card, std::move(img), a, older, false}, [&](Result<void> r) { outcome = std::move(r); });
        if (!job) return job.error();
        if (!runUntil([&] { return outcome.has_value(); })) return makeError(Errc::Timeout, "no outcome");
        return *outcome;
    }
    FirmwareState fw(unsigned card = 0) { return inventory->device(card)->firmware().value(); }
    FirmwareUpdate last() { return updates->recent("", 1).value().at(0); }
    void cardMutate(unsigned card, const std::function<void(sim::SimCardModel&, int64_t)>& f) {
        mutate(card, [&](sim::SimCardModel& m) { return f(m, sim::systemClock().nowNs()), Result<void>(); });
    }
    void injectNow(unsigned card, sim::Fault f) {
        mutate(card, [&](sim::SimCardModel& m) { return m.inject(std::nullopt, f, sim::systemClock().nowNs()); });
    }

    std::string key;
    Reconciler::Report report;
    std::unique_ptr<FirmwareRepository> updates;
    std::unique_ptr<ResetService> resets;
    std::unique_ptr<FirmwareService> firmware;
};

}  // namespace

TEST_F(FirmwareServiceTest, WritesVerifiesActivatesChecksAndCommits) {
    std::vector<unsigned> progress;
    events->subscribe<JobChanged>([&](const JobChanged& c) { progress.push_back(c.job.progress); });
    auto r = update(image("2.0.0"));
    ASSERT_TRUE(r.ok()) << r.error().message;
    const FirmwareState now = fw();
    EXPECT_EQ(now.activeVersion(), "2.0.0");
    EXPECT_EQ(now.activeBank, 1u);
    EXPECT_EQ(now.bootBank, 1u) << "committed";
    EXPECT_EQ(now.banks[0].version, "1.4.2") << "the old firmware stays in the other bank";
    const FirmwareUpdate u = last();
    EXPECT_EQ(u.state, FirmwareUpdate::State::Committed) << u.reason;
    EXPECT_EQ(u.fromVersion, "1.4.2");
    EXPECT_EQ(u.toBank, 1u);
    EXPECT_NE(u.reason.find("committed after a health check"), std::string::npos) << u.reason;
    EXPECT_TRUE(journal->open()->empty());
    EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));
    EXPECT_GT(std::count_if(progress.begin(), progress.end(), [](unsigned p) { return p > 2 && p < 80; }), 0) << "progress during the write";
    EXPECT_EQ(progress.back(), 100u);
    // The other card was never touched.
    EXPECT_EQ(fw(1).activeVersion(), "1.4.2");
}

TEST_F(FirmwareServiceTest, RefusesEveryUntrustedImageBeforeTouchingTheCard) {
    const auto before = fw();
    const auto refused = [&](std::vector<uint8_t> img, Errc code, const std::string& words, bool older = false) {
        auto r = firmware->update({0, std::move(img), FirmwareUpdate::Activation::Now, older, false});
        ASSERT_FALSE(r.ok()) << words;
        EXPECT_EQ(r.error().code, code) << r.error().message;
        EXPECT_NE(r.error().message.find(words), std::string::npos) << r.error().message;
    };
    auto img = image("2.0.0");
    auto flipped = img;
    flipped[firmware::kHeaderSize + 10] ^= 1;
    refused(flipped, Errc::MalformedData, "SHA-256");
    auto badSig = img;
    badSig.back() ^= 0x80;
    refused(badSig, Errc::PermissionDenied, "signed by none");
    refused(std::vector<uint8_t>(img.begin(), img.end() - 1), Errc::MalformedData, "not usable");
    refused(image("2.0.0", 0x0200), Errc::InvalidArgument, "is for device a15e:0200");
    refused(image("2.0.0", 0x0100, aismi::test::keyPair().first), Errc::PermissionDenied, "signed by none");
    refused(image("1.0.0"), Errc::InvalidArgument, "older than the running 1.4.2");
    refused({}, Errc::MalformedData, "not usable");
    EXPECT_EQ(fw(), before);
    EXPECT_TRUE(updates->recent("", 10)->empty()) << "nothing recorded for a refused image";
    // An older image with --allow-older is written.
    auto r = update(image("1.0.0"), FirmwareUpdate::Activation::Never, true);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(fw().banks[1].version, "1.0.0");
    EXPECT_EQ(fw().activeVersion(), "1.4.2") << "staged only";
    EXPECT_EQ(last().state, FirmwareUpdate::State::Staged);
}

TEST_F(FirmwareServiceTest, FirmwareThatFailsItsHealthCheckOrDoesNotBootIsRolledBackByItself) {
    injectNow(0, sim::Fault::FirmwareUnhealthy);
    auto r = update(image("2.0.0"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::RolledBack) << r.error().message;
    EXPECT_NE(r.error().message.find("fails its self-test"), std::string::npos) << r.error().message;
    EXPECT_EQ(fw().activeVersion(), "1.4.2");
    EXPECT_EQ(fw().bootBank, 0u);
    EXPECT_EQ(last().state, FirmwareUpdate::State::RolledBack);
    EXPECT_TRUE(journal->open()->empty());

    injectNow(0, sim::Fault::FirmwareNoBoot);
    r = update(image("2.0.1"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::RolledBack);
    EXPECT_NE(r.error().message.find("did not boot; the card fell back by itself"), std::string::npos) << r.error().message;
    EXPECT_EQ(fw().activeVersion(), "1.4.2");
    EXPECT_EQ(last().state, FirmwareUpdate::State::RolledBack);

    // A write the device fails is a failure, never a success; the card runs what it ran.
    injectNow(0, sim::Fault::FirmwareWriteError);
    r = update(image("2.0.2"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::IoError);
    EXPECT_NE(r.error().message.find("read-write-error"), std::string::npos) << r.error().message;
    EXPECT_EQ(last().state, FirmwareUpdate::State::Failed);
    EXPECT_EQ(fw().activeVersion(), "1.4.2");
}

TEST_F(FirmwareServiceTest, ARollbackWaitsForTheVfsBeingPutBackAfterTheActivationsReset) {
    // The activation's reset takes the card's provisioning; putting it back is a change of the
    // card, during which the roll-back's own reset is refused (Busy) and tried again.
    ASSERT_TRUE(setVfCount(0, 4).ok());
    for (unsigned vf : {1u, 2u, 3u}) ASSERT_TRUE(provision(0, vf, "eighth").ok());
    const Resources given = inventory->device(0)->vfResources(1).value();
    injectNow(0, sim::Fault::FirmwareUnhealthy);
    auto r = update(image("2.0.0"), FirmwareUpdate::Activation::Now);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::RolledBack) << r.error().message;
    EXPECT_EQ(fw().activeVersion(), "1.4.2");
    EXPECT_FALSE(fw().tryBank.has_value());
    ASSERT_TRUE(runUntil([&] { return !changes.busy(kSerial0) && inventory->device(0)->vfResources(1).value() == given; }));
    EXPECT_EQ(inventory->device(0)->sriov()->numVfs, 4u) << "the VFs came back after both resets";
    // And a good image commits on the same card.
    ASSERT_TRUE(update(image("2.0.1"), FirmwareUpdate::Activation::Now).ok());
    EXPECT_EQ(fw().activeVersion(), "2.0.1");
}

TEST_F(FirmwareServiceTest, CancellingWhileWritingStopsTheUploadAndLeavesTheBankAlone) {
    // 1 MiB at 16 KiB/s x 0.01: 640 ms of transfer, long enough to cancel in.
    auto big = firmware::pack(aismi::test::payload(1 << 20), 0xa15e, 0x0100, "2.0.0", key).value();
    std::optional<Result<void>> outcome;
    auto job = firmware->update({0, big, FirmwareUpdate::Activation::Now, false, false}, [&](Result<void> r) { outcome = r; });
    ASSERT_TRUE(job.ok()) << job.error().message;
    ASSERT_TRUE(runUntil([&] { return jobs->find(*job)->progress > 2; })) << "the transfer is under way";
    ASSERT_TRUE(jobs->cancel(*job).ok());
    ASSERT_TRUE(runUntil([&] { return outcome.has_value(); }));
    ASSERT_FALSE(outcome->ok());
    EXPECT_EQ(outcome->error().code, Errc::Cancelled) << outcome->error().message;
    EXPECT_EQ(jobs->find(*job)->state, JobState::Cancelled);
    EXPECT_EQ(last().state, FirmwareUpdate::State::Failed);
    EXPECT_NE(last().reason.find("cancelled while writing bank 1"), std::string::npos) << last().reason;
    EXPECT_EQ(fw().banks[1].version, "1.3.7") << "the bank was never erased";
    EXPECT_EQ(fw().activeVersion(), "1.4.2");
    EXPECT_EQ(jobs->cancel(*job).error().code, Errc::InvalidState) << "already over";
    ASSERT_TRUE(update(image("2.0.1")).ok()) << "the card takes the next update";
}

TEST_F(FirmwareServiceTest, OneUpdatePerCardWhileOtherCardsKeepWorking) {
    ASSERT_TRUE(setVfCount(1, 2).ok());
    load(1, 0);
    poller->readAllNow();
    auto first = firmware->update({0, image("2.0.0"), FirmwareUpdate::Activation::Never, false, false});
    ASSERT_TRUE(first.ok());
    auto second = firmware->update({0, image("2.0.1"), FirmwareUpdate::Activation::Never, false, false});
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.error().code, Errc::Busy);
    EXPECT_NE(second.error().message.find("under way"), std::string::npos) << second.error().message;
    ASSERT_TRUE(runUntil([&] { return jobs->find(*first)->finished(); }));
    EXPECT_EQ(jobs->find(*first)->state, JobState::Done);
    // Card 1 is updated (forced: its VF works) while card 0 keeps its staged image untouched.
    std::optional<Result<void>> done;
    ASSERT_TRUE(firmware->update({1, image("2.1.0"), FirmwareUpdate::Activation::Now, false, true}, [&](Result<void> r) { done = r; }).ok());
    ASSERT_TRUE(runUntil([&] { return done.has_value(); }));
    ASSERT_TRUE(done->ok()) << done->error().message;
    EXPECT_EQ(fw(1).activeVersion(), "2.1.0");
    EXPECT_EQ(fw(0).banks[1].version, "2.0.0");
    EXPECT_EQ(fw(0).activeVersion(), "1.4.2");
    EXPECT_EQ(firmware->pending(0)->state, FirmwareUpdate::State::Staged);
}

TEST_F(FirmwareServiceTest, IdleActivationWaitsForTheVfsAndNowIsRefusedWhileTheyWork) {
    ASSERT_TRUE(setVfCount(0, 2).ok());
    load(0, 1);
    poller->readAllNow();
    auto now = firmware->update({0, image("2.0.0"), FirmwareUpdate::Activation::Now, false, false});
    ASSERT_FALSE(now.ok());
    EXPECT_EQ(now.error().code, Errc::Busy);
    EXPECT_NE(now.error().message.find("0:1 runs a workload"), std::string::npos) << now.error().message;
    std::optional<Result<void>> outcome;
    auto job = firmware->update({0, image("2.0.0"), FirmwareUpdate::Activation::Idle, false, false}, [&](Result<void> r) { outcome = r; });
    ASSERT_TRUE(job.ok());
    ASSERT_TRUE(runUntil([&] { return firmware->pending(0) && firmware->pending(0)->state == FirmwareUpdate::State::Staged; }));
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(150);
    runUntil([&] {
        poller->readAllNow();
        return std::chrono::steady_clock::now() >= until;
    });
    EXPECT_FALSE(outcome.has_value()) << "waits while VF 1 works";
    EXPECT_EQ(fw().activeVersion(), "1.4.2");
    load(0, 1, false);
    ASSERT_TRUE(runUntil([&] {
        poller->readAllNow();
        return outcome.has_value();
    }));
    ASSERT_TRUE(outcome->ok()) << outcome->error().message;
    EXPECT_EQ(fw().activeVersion(), "2.0.0");
}

TEST_F(FirmwareServiceTest, RollbackSwitchesToTheOtherBankTheSameCheckedWay) {
    ASSERT_TRUE(update(image("2.0.0")).ok());
    std::optional<Result<void>> outcome;
    auto job = firmware->rollback(0, false, [&](Result<void> r) { outcome = r; });
    ASSERT_TRUE(job.ok()) << job.error().message;
    ASSERT_TRUE(runUntil([&] { return outcome.has_value(); }));
    ASSERT_TRUE(outcome->ok()) << outcome->error().message;
    EXPECT_EQ(fw().activeVersion(), "1.4.2");
    EXPECT_EQ(fw().bootBank, 0u);
    EXPECT_EQ(last().kind, FirmwareUpdate::Kind::Rollback);
    EXPECT_EQ(last().state, FirmwareUpdate::State::Committed);
    EXPECT_EQ(firmware->activate(0, false).error().code, Errc::NotFound) << "nothing staged";
}

TEST_F(FirmwareServiceTest, APowerCutAtAnyInstantNeverBricksAndTheRecordMatchesWhatRuns) {
    // At least 200 cuts (AISMI_POWER_CUTS for more: bench/firmware-power-cuts runs 1000).
    unsigned cuts = 200;
    if (const char* n = std::getenv("AISMI_POWER_CUTS")) cuts = static_cast<unsigned>(std::max(1L, std::strtol(n, nullptr, 10)));
    std::mt19937 random(20261204);
    std::uniform_int_distribution<int> instant(0, 260);  // ms: the whole flow takes about 200
    std::map<std::string, unsigned> outcomes;
    for (unsigned k = 0; k < cuts; ++k) {
        const FirmwareState before = fw();
        const std::string version = "3.0." + std::to_string(k);
        auto job = firmware->update({0, image(version), FirmwareUpdate::Activation::Now, true, false});
        ASSERT_TRUE(job.ok()) << job.error().message;
        const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(instant(random));
        runUntil([&] { return std::chrono::steady_clock::now() >= until || jobs->find(*job)->finished(); });
        injectNow(0, sim::Fault::PowerCut);
        down();  // aismid dies with the power
        cardMutate(0, [](sim::SimCardModel& m, int64_t now) { m.powerCycle(now); });
        up();
        const FirmwareState after = fw();
        ASSERT_TRUE(after.banks[after.activeBank].integrityOk) << "cut " << k;
        ASSERT_FALSE(after.activeVersion().empty()) << "cut " << k;
        ASSERT_EQ(after.activeBank, after.bootBank) << "cut " << k;
        const FirmwareUpdate u = last();
        ASSERT_FALSE(u.open() && u.state != FirmwareUpdate::State::Staged) << "cut " << k << ": " << firmwareStateName(u.state) << " " << u.reason;
        if (u.state == FirmwareUpdate::State::Committed) {
            ASSERT_EQ(after.activeVersion(), version) << "cut " << k << ": recorded committed, runs " << after.activeVersion();
        } else {
            ASSERT_EQ(after.activeVersion(), before.activeVersion())
                << "cut " << k << ": recorded " << firmwareStateName(u.state) << " (" << u.reason << "), runs " << after.activeVersion();
        }
        ASSERT_TRUE(journal->open()->empty()) << "cut " << k;
        outcomes[std::string(firmwareStateName(u.state))]++;
    }
    // The cuts fell across the flow: some updates ended before the cut, some were cut short.
    EXPECT_GT(outcomes["committed"], 0u) << ::testing::PrintToString(outcomes);
    EXPECT_GT(outcomes["failed"] + outcomes["rolled-back"] + outcomes["staged"], 0u) << ::testing::PrintToString(outcomes);
    RecordProperty("outcomes", ::testing::PrintToString(outcomes));
    std::cout << "power cuts: " << cuts << ", outcomes " << ::testing::PrintToString(outcomes) << "\n";
}
