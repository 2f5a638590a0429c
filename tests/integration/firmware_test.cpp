// Firmware updates as a user meets them: aismi-firmware-pack makes images signed with a key
// made by openssl here; aismi firmware update writes, checks and commits them through the
// real aismid, rolls back by itself what fails its health check, refuses every damaged or
// untrusted image without touching the card, one update per card, as root only; and after a
// crash with a power cut at any moment the card boots and the record says what it runs.
#include "json_parse.hpp"
#include "stack.hpp"
#include "store_query.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <thread>

using namespace aismi::test;

namespace {

std::vector<uint8_t> bytesOf(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write(const std::string& path, const std::vector<uint8_t>& bytes) {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

Stack::Options withKeys(const std::string& keysDir) {
    Stack::Options o;
    o.extraArgs = {"--firmware-check-seconds=1", "--firmware-keys=" + keysDir};
    return o;
}

// A directory of trusted keys any test can make before its stack: the stack's own directory
// does not exist yet when its options are chosen.
struct Keys {
    TempDir dir;
    Keys() {
        EXPECT_EQ(run({OPENSSL_PATH, "genpkey", "-algorithm", "ed25519", "-out", dir / "key.pem"}).exitCode, 0);
        std::filesystem::create_directories(dir / "trusted");
        EXPECT_EQ(run({OPENSSL_PATH, "pkey", "-in", dir / "key.pem", "-pubout", "-out", dir / "trusted/test.pem"}).exitCode, 0);
        EXPECT_EQ(run({OPENSSL_PATH, "genpkey", "-algorithm", "ed25519", "-out", dir / "other.pem"}).exitCode, 0);
        std::ofstream payload(dir / "payload.bin", std::ios::binary);
        for (int i = 0; i < 256 * 1024; ++i) payload.put(static_cast<char>(i * 7 + 3));
    }
};

class Firmware : public ::testing::Test {
protected:
    Firmware() : stack(withKeys(keys.dir / "trusted")) {}
    void SetUp() override { stack.startDaemon(); }
    std::string pack(const std::string& version, const std::string& key = "key.pem", const std::string& device = "a15e:0100") {
        const std::string out = keys.dir / ("fw-" + version + "-" + key + "-" + device.substr(5) + ".img");
        auto r = run({AISMI_FIRMWARE_PACK_PATH, "--key", keys.dir / key, "--version", version, "--device", device, keys.dir / "payload.bin", "-o", out});
        EXPECT_EQ(r.exitCode, 0) << r.err;
        EXPECT_NE(r.out.find("wrote " + out + ": firmware " + version), std::string::npos) << r.out;
        return out;
    }
    Json show(unsigned card = 0) {
        auto r = stack.aismi({"firmware", "show", "-i", std::to_string(card), "-j"});
        EXPECT_EQ(r.exitCode, 0) << r.err;
        std::string error;
        auto j = parseJson(r.out, &error);
        EXPECT_TRUE(j.has_value()) << error << "\n" << r.out;
        return j ? (*j)[0] : Json{};
    }
    std::string running(unsigned card = 0) { return show(card)["version"].str(); }
    unsigned updates(unsigned card = 0) {
        auto r = stack.aismi({"firmware", "jobs", "-i", std::to_string(card), "-j"});
        EXPECT_EQ(r.exitCode, 0) << r.err;
        auto j = parseJson(r.out);
        return j ? static_cast<unsigned>(j->array().size()) : 0;
    }
    Keys keys;
    Stack stack;
};

}  // namespace

TEST_F(Firmware, ANewUserUpdatesCommitsAndWatchesABadImageRollBack) {
    const std::string good = pack("2.0.0");
    auto r = stack.aismi({"firmware", "update", "-i", "0", good, "--activate=now"});
    ASSERT_EQ(r.exitCode, 0) << r.err << stack.daemonLog();
    EXPECT_NE(r.out.find("card 0 (0000:3b:00.0): update 1 committed: running 2.0.0 (bank 1), committed after a health check of"), std::string::npos) << r.out;
    Json fw = show();
    EXPECT_EQ(fw["version"].str(), "2.0.0");
    EXPECT_EQ(fw["active_bank"].num(), 1);
    EXPECT_EQ(fw["boot_bank"].num(), 1);
    EXPECT_EQ(fw["banks"][0]["version"].str(), "1.4.2") << "the previous firmware stays in the other bank";
    EXPECT_EQ(fw["last"]["state"].str(), "committed");
    EXPECT_TRUE(fw["pending"].isNull());
    EXPECT_EQ(running(1), "1.4.2") << "the other card was not touched";


    // An image that boots but fails its self-test: rolled back by aismid, exit code 23.
    ASSERT_EQ(stack.sim({"inject", "0", "fw-unhealthy"}).exitCode, 0);
    const std::string bad = pack("2.1.0");
    r = stack.aismi({"firmware", "update", "-i", "0", bad, "--activate=now"});
    EXPECT_EQ(r.exitCode, 23) << r.out << r.err;
    EXPECT_NE(r.err.find("firmware 2.1.0 was rolled back: the new firmware failed its health check: it fails its self-test; the card runs 2.0.0 (bank 1)"),
              std::string::npos)
        << r.err;
    fw = show();
    EXPECT_EQ(fw["version"].str(), "2.0.0");
    EXPECT_EQ(fw["boot_bank"].num(), 1);
    EXPECT_EQ(fw["last"]["state"].str(), "rolled-back");
    auto events = stack.aismi({"events", "--type", "firmware"});
    EXPECT_NE(events.out.find("rolling back to 2.0.0 (bank 1)"), std::string::npos) << events.out;
    EXPECT_NE(events.out.find("update 2 rolled-back"), std::string::npos) << events.out;

    // Staged now, activated later; a rollback goes back to the other bank the same checked way.
    r = stack.aismi({"firmware", "update", "-i", "0", pack("2.2.0"), "--activate=never"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.out.find("staged"), std::string::npos) << r.out;
    EXPECT_EQ(running(), "2.0.0");
    EXPECT_EQ(show()["pending"]["state"].str(), "staged");
    r = stack.aismi({"firmware", "activate", "-i", "0"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(running(), "2.2.0");
    r = stack.aismi({"firmware", "rollback", "-i", "0", "--quiet"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out, "") << "--quiet";
    EXPECT_EQ(running(), "2.0.0");
    EXPECT_EQ(updates(), 4u);
    auto jobs = stack.aismi({"firmware", "jobs"});
    EXPECT_NE(jobs.out.find("rollback"), std::string::npos) << jobs.out;

    // The version that runs already is not installed again by accident (fwupd's --allow-reinstall).
    r = stack.aismi({"firmware", "update", "-i", "0", good, "--activate=never"});
    EXPECT_EQ(r.exitCode, 2) << r.out << r.err;
    EXPECT_NE(r.err.find("the card runs version 2.0.0 already (--allow-reinstall installs it again)"), std::string::npos) << r.err;
    EXPECT_EQ(updates(), 4u) << "nothing recorded";
    r = stack.aismi({"firmware", "update", "-i", "0", good, "--activate=never", "--allow-reinstall"});
    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(updates(), 5u);
}

TEST_F(Firmware, EveryUntrustedImageIsRefusedAndChangesNothing) {
    const std::string good = pack("2.0.0");
    const auto image = bytesOf(good);
    const Json before = show();
    const size_t header = 96, signature = 64, payload = image.size() - header - signature;
    std::vector<std::pair<std::string, std::vector<uint8_t>>> bad;
    for (size_t at : {size_t{0}, size_t{9}, size_t{12}, size_t{20}, size_t{50}, size_t{90}, header + 1, header + payload / 2, header + payload - 1,
                      header + payload, image.size() - 1}) {
        auto flipped = image;
        flipped[at] ^= 0x10;
        bad.emplace_back("bit flipped at " + std::to_string(at), flipped);
    }
    for (size_t size : {size_t{0}, header - 1, header, header + payload, image.size() - 1}) bad.emplace_back("truncated to " + std::to_string(size), std::vector<uint8_t>(image.begin(), image.begin() + size));
    bad.emplace_back("another device's", bytesOf(pack("2.0.0", "key.pem", "a15e:0200")));
    bad.emplace_back("signed by an untrusted key", bytesOf(pack("2.0.0", "other.pem")));
    bad.emplace_back("older than what runs", bytesOf(pack("1.0.0")));
    for (const auto& [why, bytes] : bad) {
        write(keys.dir / "bad.img", bytes);
        auto r = stack.aismi({"firmware", "update", "-i", "0", keys.dir / "bad.img", "--activate=now"});
        EXPECT_NE(r.exitCode, 0) << why;
        EXPECT_NE(r.err.find("card 0 (0000:3b:00.0): firmware update: "), std::string::npos) << why << ": " << r.err;
    }
    const Json after = show();
    for (unsigned b = 0; b < 2; ++b) {
        EXPECT_EQ(after["banks"][b]["version"].str(), before["banks"][b]["version"].str());
        EXPECT_EQ(after["banks"][b]["sha256"].str(), before["banks"][b]["sha256"].str());
    }
    EXPECT_EQ(updates(), 0u) << "nothing was even recorded";
    EXPECT_EQ(stack.sim({"show", "0"}).out.find("flash upload"), std::string::npos);
    // --allow-older takes the older image.
    auto r = stack.aismi({"firmware", "update", "-i", "0", pack("1.0.0"), "--activate=never", "--allow-older"});
    EXPECT_EQ(r.exitCode, 0) << r.err;

    // Changes need authorization; reading does not. The image must be one the caller can open.
    TempDir shared;
    ::chmod(shared.path().c_str(), 0755);
    const std::string open = shared / "fw.img";
    write(open, image);
    ::chmod(open.c_str(), 0644);
    auto denied = stack.aismi({"firmware", "update", "-i", "0", open}, 65534);
    EXPECT_EQ(denied.exitCode, 7) << denied.err;
    EXPECT_EQ(stack.aismi({"firmware", "rollback", "-i", "0"}, 65534).exitCode, 7);
    EXPECT_EQ(stack.aismi({"firmware", "show"}, 65534).exitCode, 0);
    auto unreadable = stack.aismi({"firmware", "update", "-i", "0", good}, 65534);
    EXPECT_EQ(unreadable.exitCode, 25) << "a file the caller cannot read (FileUnreadable), not a refused change";
    EXPECT_NE(unreadable.err.find("cannot open the image"), std::string::npos) << "aismid never reads what the caller cannot: " << unreadable.err;
    // An image that is missing, a directory or a FIFO (which must not block aismi): 25, never
    // "no such card" (3), and nothing reaches aismid.
    const std::string fifo = keys.dir / "fifo.img";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    for (const std::string& file : {std::string(keys.dir / "missing.img"), keys.dir.path(), fifo}) {
        auto r = stack.aismi({"firmware", "update", "-i", "0", file});
        EXPECT_EQ(r.exitCode, 25) << file << ": " << r.err;
        EXPECT_NE(r.err.find(file), std::string::npos) << r.err;
    }
    for (const std::string& file : {std::string(keys.dir / "missing.layout"), fifo}) {
        auto r = stack.aismi({"partition", "apply", "-i", "0", "--file", file});
        EXPECT_EQ(r.exitCode, 25) << file << ": " << r.err;
    }
    EXPECT_EQ(running(), "1.4.2");
}

TEST_F(Firmware, OneUpdatePerCardWhileAnotherCardsVfsKeepWorking) {
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "0", "--count", "2"}).exitCode, 0);
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "1", "--count", "2"}).exitCode, 0);
    ASSERT_EQ(stack.sim({"load", "0:0", "on"}).exitCode, 0);
    ASSERT_EQ(stack.sim({"load", "1:0", "on"}).exitCode, 0);
    ASSERT_TRUE(stack.waitForVf("0:0", "state", "running"));
    ASSERT_TRUE(stack.waitForVf("1:0", "state", "running"));
    // --activate=now is refused while a VF works; idle waits for it.
    auto now = stack.aismi({"firmware", "update", "-i", "0", pack("2.0.0"), "--activate=now"});
    EXPECT_EQ(now.exitCode, 5) << now.err;
    EXPECT_NE(now.err.find("0:0 runs a workload"), std::string::npos) << now.err;
    Process waiting = stack.spawnAismi({"firmware", "update", "-i", "0", pack("2.0.0")}, std::nullopt, "idle-update");
    for (int i = 0; i < 100 && show()["pending"].isNull(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_FALSE(show()["pending"].isNull());
    for (int i = 0; i < 100 && show()["pending"]["state"].str() != "staged"; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto second = stack.aismi({"firmware", "update", "-i", "0", pack("2.0.1"), "--activate=never"});
    EXPECT_EQ(second.exitCode, 5) << second.err;
    EXPECT_NE(second.err.find("is under way on this card"), std::string::npos) << second.err;
    // Card 1 is updated meanwhile (forced: its VF 0 works and is reset with it) ...
    const uint64_t before = std::stoull(stack.vfField("0:0", "progress"));
    auto other = stack.aismi({"firmware", "update", "-i", "1", pack("2.1.0"), "--activate=now", "--force"});
    EXPECT_EQ(other.exitCode, 0) << other.err;
    EXPECT_EQ(running(1), "2.1.0");
    // ... and card 0's VFs never noticed; it still runs the old firmware, waiting.
    EXPECT_EQ(stack.vfField("0:0", "state,reset_count"), "running, 0");
    EXPECT_GT(std::stoull(stack.vfField("0:0", "progress")), before);
    EXPECT_EQ(running(0), "1.4.2");
    // The workload ends: the waiting update activates by itself.
    ASSERT_EQ(stack.sim({"load", "0:0", "off"}).exitCode, 0);
    for (int i = 0; i < 200 && running(0) != "2.0.0"; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(running(0), "2.0.0");
    EXPECT_EQ(waiting.stop(0, 20000) >> 8, 0) << "the idle update's aismi ended with success";
}

TEST_F(Firmware, ACrashWithAPowerCutAtAnyMomentLeavesABootingCardAndATrueRecord) {
    // A handful of real crashes through the whole product; FirmwareServiceTest cuts power at
    // 200 instants in-process and bench/firmware-power-cuts at 1000.
    const std::string image = pack("3.0.0");
    unsigned k = 0;
    for (int delayMs : {0, 3, 10, 30, 100, 600, 1050}) {
        SCOPED_TRACE("cut after " + std::to_string(delayMs) + " ms");
        const std::string before = running();
        Process update = stack.spawnAismi({"firmware", "update", "-i", "0", image, "--activate=now", "--allow-older"}, std::nullopt, "cut-" + std::to_string(k++));
        std::this_thread::sleep_for(std::chrono::milliseconds(delayMs));
        ASSERT_EQ(stack.sim({"inject", "0", "power-cut"}).exitCode, 0);
        stack.stopDaemon(9);
        update.stop(9);
        ASSERT_EQ(stack.sim({"power-cycle", "0"}).exitCode, 0);
        stack.startDaemon();
        const Json fw = show();
        const std::string now = fw["version"].str();
        ASSERT_FALSE(now.empty());
        EXPECT_EQ(fw["active_bank"].num(), fw["boot_bank"].num());
        EXPECT_TRUE(fw["pending"].isNull() || fw["pending"]["state"].str() == "staged") << "nothing left half-done";
        auto jobs = stack.aismi({"firmware", "jobs", "-i", "0", "-j"});
        auto rows = parseJson(jobs.out);
        ASSERT_TRUE(rows) << jobs.out;
        if (rows->array().empty()) {
            EXPECT_EQ(now, before) << "cut before aismid heard of the update";
            continue;
        }
        const Json& last = (*rows)[0]["update"];
        if (last["state"].str() == "committed") EXPECT_EQ(now, "3.0.0") << last["reason"].str();
        else EXPECT_EQ(now, before) << last["state"].str() << ": " << last["reason"].str();
    }
}

TEST_F(Firmware, AnActivationTheStartCouldNotSettleIsSettledOnceTheCardLetsIt) {
    // aismi-chaos finding: aismid killed during an activation's health check, and the card's
    // reset failing at the next start, left the activation's journal entry open until another
    // restart, while new updates went ahead on the card. Level-triggered now: tried again at
    // every poll; no firmware change starts on the card until it is settled.
    const std::string db = stack.stateDir() + "/aismid.db";
    Process updating = stack.spawnAismi({"firmware", "update", "-i", "0", pack("2.0.0"), "--activate=now", "--quiet"}, std::nullopt, "update");
    bool checking = false;
    for (int i = 0; i < 1000 && !checking; ++i) {
        checking = !queryStore(db, "SELECT id FROM operations WHERE finished_at IS NULL AND kind = 'firmware-activate' AND step = 'check'").empty();
        if (!checking) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(checking) << "the activation reaches its health check: " << stack.daemonLog();
    stack.stopDaemon(SIGKILL);
    updating.stop();
    ASSERT_EQ(stack.sim({"inject", "0", "flr-fail"}).exitCode, 0);  // its reset back to the committed bank fails
    stack.startDaemon();
    const auto open = [&] { return queryStore(db, "SELECT id FROM operations WHERE finished_at IS NULL AND kind = 'firmware-activate'").size(); };
    EXPECT_EQ(open(), 1u) << "not settled while the card cannot be reset: " << stack.daemonLog();
    auto refused = stack.aismi({"firmware", "update", "-i", "0", pack("2.1.0"), "--activate=never"});
    EXPECT_EQ(refused.exitCode, 5) << refused.out << refused.err;
    EXPECT_NE(refused.err.find("found unfinished at start"), std::string::npos) << refused.err;
    EXPECT_NE(refused.err.find("aismid tries again at every poll"), std::string::npos) << refused.err;
    ASSERT_EQ(stack.sim({"clear", "0"}).exitCode, 0);
    for (int i = 0; i < 200 && open() != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(open(), 0u) << "settled at a poll once the card could be reset: " << stack.daemonLog();
    EXPECT_EQ(running(), "1.4.2") << "back on its committed firmware";
    EXPECT_EQ(show()["last"]["state"].str(), "rolled-back");
    auto events = stack.aismi({"events", "--type", "firmware"});
    EXPECT_NE(events.out.find("found unfinished at start"), std::string::npos) << events.out;
    auto later = stack.aismi({"firmware", "update", "-i", "0", pack("2.1.0"), "--activate=never"});
    EXPECT_EQ(later.exitCode, 0) << later.err;
}
