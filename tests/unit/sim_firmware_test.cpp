// The simulated card's flash as libmgmt drives it: the firmware-upload class with the kernel's
// semantics (status phases, remaining_size, error only once idle, cancel refused while
// programming), two banks with hashes, the one-shot try and commit, the device faults, and a
// power cut at every instant of an update leaving a card that boots.
#include <aismi/card.hpp>
#include <aismi/firmware_image.hpp>
#include <aismi/firmware_upload.hpp>
#include <aismi/text.hpp>

#include "sim_fixture.hpp"
#include "test_keys.hpp"

using namespace aismi;

namespace {

class SimFirmware : public aismi::test::SimFixture {
protected:
    void SetUp() override {
        sim::SimConfig c = defaultConfig();
        c.flashKibPerS = 1024;  // 1 MiB/s: 100 KiB take about 100 ms
        c.flashProgramMs = 200;
        build(c);
        key = aismi::test::keyPair().first;
    }
    Card card() {
        const DeviceMatch matches[] = {kAismiCardMatch};
        return discoverCards(*fs, matches).value().at(0);
    }
    std::vector<uint8_t> image(const std::string& version, size_t size = 100 * 1024, uint16_t device = 0x0100) {
        return firmware::pack(aismi::test::payload(size), 0xa15e, device, version, key).value();
    }
    static std::string sha(const std::vector<uint8_t>& img) { return text::hex(firmware::parse(img).value().sha256); }
    FirmwareUpload upload() { return FirmwareUpload::find(*fs, PciAddress::parse("0000:3b:00.0").value()).value(); }
    // Waits as aismid does, the manual clock moving 10 ms per poll.
    Result<void> finish(FirmwareUpload& u, std::vector<FirmwareUpload::Status>* seen = nullptr) {
        FirmwareUpload::Wait how;
        how.pollEvery = std::chrono::milliseconds(0);
        how.progress = [&](const FirmwareUpload::Status& s) {
            if (seen) seen->push_back(s);
            clock.advanceMs(10);
        };
        return u.wait(how);
    }
    Result<void> resetCard() { return card().resetCard(); }

    std::string key;
};

}  // namespace

TEST_F(SimFirmware, AnUploadMovesThroughTheKernelsPhasesIntoTheInactiveBank) {
    auto u = upload();
    EXPECT_EQ(u.name(), "aismi-0000:3b:00.0");
    const auto img = image("2.0.0");
    ASSERT_TRUE(u.start(img).ok());
    EXPECT_EQ(u.start(img).error().code, Errc::Busy) << "one upload at a time";
    EXPECT_EQ(fs->read("class/firmware/aismi-0000:3b:00.0/error").error().code, Errc::Busy) << "error answers EBUSY until idle";
    std::vector<FirmwareUpload::Status> seen;
    ASSERT_TRUE(finish(u, &seen).ok());
    std::vector<std::string> phases;
    for (const auto& s : seen)
        if (phases.empty() || phases.back() != s.phase) phases.push_back(s.phase);
    EXPECT_EQ(phases, (std::vector<std::string>{"preparing", "transferring", "programming"}));
    for (size_t k = 1; k < seen.size(); ++k) EXPECT_LE(seen[k].remaining, seen[k - 1].remaining) << "remaining_size only counts down";
    auto fw = card().firmware().value();
    EXPECT_TRUE(fw.updatable);
    EXPECT_EQ(fw.banks[1].version, "2.0.0");
    EXPECT_EQ(fw.banks[1].sha256, sha(img));
    EXPECT_TRUE(fw.banks[1].integrityOk);
    EXPECT_EQ(fw.activeBank, 0u) << "written, not running";
    EXPECT_EQ(fw.bootBank, 0u);
    EXPECT_EQ(fw.banks[0].version, "1.4.2") << "the running bank is never written";
}

TEST_F(SimFirmware, ATryBootsTheBankOnceAndOnlyACommitMakesItStay) {
    auto u = upload();
    ASSERT_TRUE(u.start(image("2.0.0")).ok());
    ASSERT_TRUE(finish(u).ok());
    Card c = card();
    ASSERT_TRUE(c.armFirmwareTry(1).ok());
    ASSERT_TRUE(resetCard().ok());
    auto fw = c.firmware().value();
    EXPECT_EQ(fw.activeBank, 1u);
    EXPECT_EQ(fw.activeVersion(), "2.0.0");
    EXPECT_EQ(fw.lastTry, FirmwareTry::Booted);
    EXPECT_FALSE(fw.tryBank.has_value()) << "one-shot";
    EXPECT_EQ(fw.bootBank, 0u);
    EXPECT_EQ(u.start(image("2.1.0")).ok(), true);
    EXPECT_NE(finish(u).error().message.find("preparing:device-busy"), std::string::npos) << "no inactive bank during a try";
    ASSERT_TRUE(resetCard().ok());
    EXPECT_EQ(c.firmware()->activeVersion(), "1.4.2") << "without a commit the next reset boots the boot bank";
    ASSERT_TRUE(c.armFirmwareTry(1).ok());
    ASSERT_TRUE(resetCard().ok());
    ASSERT_TRUE(c.commitFirmware().ok());
    ASSERT_TRUE(resetCard().ok());
    fw = c.firmware().value();
    EXPECT_EQ(fw.activeVersion(), "2.0.0");
    EXPECT_EQ(fw.bootBank, 1u);
    EXPECT_EQ(c.armFirmwareTry(2).error().code, Errc::InvalidArgument);
}

TEST_F(SimFirmware, AnImageThatDoesNotBootFallsBackAndOneThatFailsItsSelfTestSaysSo) {
    auto u = upload();
    inject(0, std::nullopt, sim::Fault::FirmwareNoBoot);
    ASSERT_TRUE(u.start(image("2.0.0")).ok());
    ASSERT_TRUE(finish(u).ok());
    Card c = card();
    ASSERT_TRUE(c.armFirmwareTry(1).ok());
    ASSERT_TRUE(resetCard().ok());
    auto fw = c.firmware().value();
    EXPECT_EQ(fw.activeBank, 0u) << "the card fell back by itself";
    EXPECT_EQ(fw.lastTry, FirmwareTry::FellBack);
    EXPECT_EQ(fw.selftestOk, true);

    inject(0, std::nullopt, sim::Fault::FirmwareUnhealthy);
    ASSERT_TRUE(u.start(image("2.0.1")).ok());
    ASSERT_TRUE(finish(u).ok());
    ASSERT_TRUE(c.armFirmwareTry(1).ok());
    ASSERT_TRUE(resetCard().ok());
    fw = c.firmware().value();
    EXPECT_EQ(fw.activeVersion(), "2.0.1");
    EXPECT_EQ(fw.selftestOk, false);
    ASSERT_TRUE(resetCard().ok());
    EXPECT_EQ(c.firmware()->selftestOk, true) << "back on the boot bank";
}

TEST_F(SimFirmware, DeviceFaultsAndBadImagesAreReportedOnlyThroughError) {
    auto u = upload();
    inject(0, std::nullopt, sim::Fault::FirmwareWriteError);
    ASSERT_TRUE(u.start(image("2.0.0")).ok());
    auto r = finish(u);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::IoError);
    EXPECT_NE(r.error().message.find("programming:read-write-error"), std::string::npos) << r.error().message;
    auto fw = card().firmware().value();
    EXPECT_FALSE(fw.banks[1].integrityOk) << "a failed write leaves the bank unusable";
    EXPECT_EQ(card().armFirmwareTry(1).error().code, Errc::InvalidArgument) << "an unusable bank cannot be tried";

    inject(0, std::nullopt, sim::Fault::FlashWearout);
    ASSERT_TRUE(u.start(image("2.0.0")).ok());
    EXPECT_NE(finish(u).error().message.find("programming:flash-wearout"), std::string::npos);

    auto truncated = image("2.0.0");
    truncated.resize(truncated.size() - 1);
    ASSERT_TRUE(u.start(truncated).ok());
    r = finish(u);
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    EXPECT_NE(r.error().message.find("preparing:invalid-file-size"), std::string::npos);
    ASSERT_TRUE(u.start(image("2.0.0", 1000, 0x0200)).ok());
    EXPECT_NE(finish(u).error().message.find("preparing:hw-error"), std::string::npos) << "another device's image";

    ASSERT_TRUE(u.start(image("2.0.0")).ok());
    ASSERT_TRUE(finish(u).ok()) << "faults are spent";
    EXPECT_EQ(card().firmware()->banks[1].version, "2.0.0");
}

TEST_F(SimFirmware, CancelStopsAnUploadBeforeProgrammingOnly) {
    auto u = upload();
    EXPECT_EQ(u.cancel().error().code, Errc::NotFound) << "nothing to cancel";
    ASSERT_TRUE(u.start(image("2.0.0")).ok());
    clock.advanceMs(80);  // transferring
    EXPECT_EQ(u.status()->phase, "transferring");
    ASSERT_TRUE(u.cancel().ok());
    auto r = finish(u);
    EXPECT_EQ(r.error().code, Errc::Cancelled);
    EXPECT_EQ(card().firmware()->banks[1].version, "1.3.7") << "the bank was not touched";
    ASSERT_TRUE(u.start(image("2.0.0")).ok());
    clock.advanceMs(200);
    EXPECT_EQ(u.status()->phase, "programming");
    EXPECT_EQ(u.cancel().error().code, Errc::Busy);
    ASSERT_TRUE(finish(u).ok());
}

TEST_F(SimFirmware, APowerCutAtAnyInstantOfAnUpdateLeavesACardThatBoots) {
    // The timeline: upload (prepare, transfer, program), try + reset, commit. Power goes at
    // each 5 ms step; the card must come back running a bank with an image, its boot bank
    // (the try does not survive a power loss) unless that bank cannot boot.
    unsigned cuts = 0;
    for (int64_t at = 0; at <= 540; at += 5, ++cuts) {
        build([] {
            sim::SimConfig c = defaultConfig();
            c.flashKibPerS = 1024;
            c.flashProgramMs = 200;
            return c;
        }());
        auto u = upload();
        ASSERT_TRUE(u.start(image("2.0.0")).ok());
        const int64_t start = clock.now;
        const auto before = [&](int64_t ms) { return clock.now - start < ms * 1000000; };
        // Run the update up to the cut.
        while (before(at) && u.status()->phase != "idle") clock.advanceMs(5);
        if (before(at) && u.status()->phase == "idle") {
            ASSERT_TRUE(finish(u).ok());
            if (before(at)) {
                ASSERT_TRUE(card().armFirmwareTry(1).ok());
            }
            if (before(at)) {
                ASSERT_TRUE(resetCard().ok());
            }
            if (before(at)) {
                ASSERT_TRUE(card().commitFirmware().ok());
            }
        }
        inject(0, std::nullopt, sim::Fault::PowerCut);
        mutate(0, [&](sim::SimCardModel& m) { return m.powerCycle(clock.now), Result<void>(); });
        auto fw = card().firmware();
        ASSERT_TRUE(fw.ok()) << "bricked by a cut at " << at << " ms: " << fw.error().message;
        EXPECT_TRUE(fw->banks[fw->activeBank].integrityOk) << at;
        EXPECT_FALSE(fw->activeVersion().empty()) << at;
        EXPECT_EQ(fw->activeBank, fw->bootBank) << at;
        EXPECT_FALSE(fw->tryBank.has_value()) << at;
    }
    EXPECT_GE(cuts, 100u);
}
