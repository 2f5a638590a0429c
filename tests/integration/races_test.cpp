// Calls that interleave with the hardware changing under them (issue 26): a VF's bus object
// removed while a call on it still waits for polkit, with a real polkitd answering.
#include "stack.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <mutex>
#include <random>
#include <thread>

using namespace aismi::test;
using namespace std::chrono_literals;

namespace {

Stack::Options sixteenVfsWithPolkit() {
    Stack::Options o;
    o.withPolkit = true;
    o.cards = 1;
    o.vfs = 16;
    return o;
}

bool waitUntil(const std::function<bool()>& done, std::chrono::milliseconds limit = 20s) {
    for (auto end = std::chrono::steady_clock::now() + limit; std::chrono::steady_clock::now() < end;) {
        if (done()) return true;
        std::this_thread::sleep_for(50ms);
    }
    return done();
}

}  // namespace

TEST(Races, AVfRemovedWhileItsCallWaitsForPolkitAnswersInsteadOfCrashing) {
    // The call's continuation used to hold the VF's bus object, freed when the card lost its VFs.
    Stack stack(sixteenVfsWithPolkit());
    if (!stack.polkitRunning()) GTEST_SKIP() << "polkitd is not installed, or the test does not run as root";
    stack.startDaemon();
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "0", "--count", "4"}).exitCode, 0);
    ASSERT_EQ(::kill(stack.polkitPid(), SIGSTOP), 0);
    Process pending = stack.spawnAismi({"vf", "quarantine", "0:3", "--reason", "pending"}, std::nullopt, "pending");
    std::this_thread::sleep_for(300ms);  // the request reaches polkit and waits there
    // The card loses its VFs (and aismid puts them back): VF 3's object goes away meanwhile.
    ASSERT_EQ(stack.sim({"power-cycle", "0"}).exitCode, 0);
    EXPECT_TRUE(waitUntil([&] { return stack.aismi({"events", "-i", "0"}).out.find("restor") != std::string::npos; }))
        << stack.aismi({"events"}).out;
    ::kill(stack.polkitPid(), SIGCONT);
    EXPECT_TRUE(waitUntil([&] { return !pending.running(); })) << "every call gets an answer";
    pending.stop();
    EXPECT_EQ(stack.daemonState(), "running") << stack.daemonReport();
    EXPECT_EQ(stack.aismi({"-L"}).exitCode, 0) << "aismid still serves";
}

TEST(Races, VfCountsChangingUnderManyClientsWithARealPolkitNeverCrashAismid) {
    // Outside testing's recipe: one client disables and re-enables card 0's VFs in a loop while
    // three others call every VF method on random VFs. Long: full length in the ASan build.
    Stack stack(sixteenVfsWithPolkit());
    if (!stack.polkitRunning()) GTEST_SKIP() << "polkitd is not installed, or the test does not run as root";
    stack.startDaemon();
    const auto seconds = std::chrono::seconds(testSize("AISMI_RACE_SECONDS", 30, 5, 1));
    const auto end = std::chrono::steady_clock::now() + seconds;
    std::atomic<bool> stop{false};
    std::atomic<unsigned> calls{0}, unanswered{0};
    std::mutex failuresLock;
    std::vector<std::string> failures;
    const auto call = [&](const std::vector<std::string>& args) {
        // Hold has no aismi command (the device plugin calls it): busctl, as a client would.
        const bool hold = args[1] == "hold";
        auto r = hold ? run({BUSCTL_PATH, "--address=" + stack.busAddress(), "call", "org.aismi.Manager1",
                             "/org/aismi/Manager1/card0/vf" + args[2].substr(2), "org.aismi.VirtualFunction1", "Hold", "s", "kubelet"})
                      : stack.aismi(args);
        // busctl's only failure without an answer: the bus or aismid gone (exit 1, "Connection").
        if (hold && r.exitCode == 1 && r.err.find("Connection") != std::string::npos) r.exitCode = 18;
        ++calls;
        // Any answer will do (refusals included); no answer, or "aismid is not running", will not.
        if (r.exitCode < 0 || r.exitCode == 18) {
            ++unanswered;
            std::lock_guard lock(failuresLock);
            if (failures.size() < 5) failures.push_back("aismi " + args[0] + " " + args[1] + " -> " + std::to_string(r.exitCode) + ": " + r.err);
        }
    };
    std::thread counts([&] {
        std::mt19937 rng(1);
        while (!stop && std::chrono::steady_clock::now() < end) {
            call({"vf", "disable", "-i", "0", "--force"});
            call({"vf", "enable", "-i", "0", "--count", std::to_string(1 + rng() % 16)});
        }
    });
    std::vector<std::thread> clients;
    for (unsigned seed = 0; seed < 3; ++seed)
        clients.emplace_back([&, seed] {
            std::mt19937 rng(100 + seed);
            while (!stop && std::chrono::steady_clock::now() < end) {
                const std::string vf = "0:" + std::to_string(rng() % 16);
                switch (rng() % 7) {
                case 0: call({"vf", "provision", vf, "--profile", "eighth", "--tenant", "t" + std::to_string(seed)}); break;
                case 1: call({"vf", "unprovision", vf}); break;
                case 2: call({"vf", "reset", vf, "--force"}); break;
                case 3: call({"vf", "quarantine", vf, "--reason", "race"}); break;
                case 4: call({"vf", "unquarantine", vf}); break;
                case 5: call({"vf", "hold", vf}); break;
                default: call({"vf", "release", vf}); break;
                }
            }
        });
    counts.join();
    for (auto& t : clients) t.join();
    EXPECT_EQ(stack.daemonState(), "running") << stack.daemonReport();
    EXPECT_EQ(unanswered.load(), 0u) << (failures.empty() ? "" : failures.front());
    EXPECT_GT(calls.load(), 20u);
    EXPECT_EQ(stack.aismi({"-L"}).exitCode, 0) << "aismid still serves";
}

TEST(Races, APowerCycleIsRestoredEvenWhenACommandRacesThePollThatSawIt) {
    // Issue 26 #2: the restore was started only by the poll that saw the VFs go; a command
    // that read the card first (and held it) took that poll's place, and the card stayed at
    // "desired 4 VFs, the device has 0" for good. A slow poll makes the command win every time.
    Stack::Options o;
    o.cards = 1;
    o.pollMs = 2000;
    Stack stack(o);
    stack.startDaemon();
    ASSERT_EQ(stack.aismi({"partition", "apply", "-i", "0", "4xquarter"}).exitCode, 0);
    ASSERT_EQ(stack.sim({"power-cycle", "0"}).exitCode, 0);
    auto raced = stack.aismi({"vf", "unprovision", "0:3"});
    EXPECT_NE(raced.exitCode, 0) << "the card has no VF 3 at this moment: " << raced.out;
    EXPECT_TRUE(waitUntil([&] { return stack.aismi({"-i", "0", "--query-card=vf.enabled", "--format=csv,noheader"}).out == "4\n"; }))
        << "desired is 4 VFs: " << stack.daemonLog();
    EXPECT_TRUE(waitUntil([&] { return stack.aismi({"partition", "show", "-i", "0"}).out.find("differs") == std::string::npos; }))
        << stack.aismi({"partition", "show", "-i", "0"}).out;
}

TEST(Races, ACardResetReturnsOnceItsLayoutIsBack) {
    // Issue 26 #3: `aismi reset` said it put the provisioning back, while `partition show` right
    // after showed VFs that "differ from the profile" for a second.
    Stack::Options o;
    o.cards = 1;
    Stack stack(o);
    stack.startDaemon();
    ASSERT_EQ(stack.aismi({"partition", "apply", "-i", "0", "2xquarter,4xeighth"}).exitCode, 0);
    const std::string before = stack.aismi({"partition", "show", "-i", "0"}).out;
    ASSERT_EQ(before.find("differs"), std::string::npos) << before;
    for (int round = 0; round < 3; ++round) {
        auto reset = stack.aismi({"reset", "-i", "0", "--force"});
        ASSERT_EQ(reset.exitCode, 0) << reset.err;
        const std::string after = stack.aismi({"partition", "show", "-i", "0"}).out;
        EXPECT_EQ(after, before) << "right after the reset returned (round " << round << ")";
        EXPECT_EQ(stack.aismi({"-i", "0", "--query-card=vf.enabled", "--format=csv,noheader"}).out, "6\n");
    }
}

TEST(Races, ACallWhoseVfWentAwayBeforeItsAnswerStillGetsIt) {
    // aismi-chaos finding: Quarantine succeeded, then its answer waited for the next poll, which
    // found the card without VFs and removed VF 3's bus object. sd-bus checks a reply against
    // the method table of the object that took the call; that table went with the object, so
    // the reply was refused (and read freed memory) and the caller waited for its timeout.
    // A slow poll puts the power cycle between the call and the poll that answers it. The
    // allocator fills what aismid frees (glibc's, or ASan's), so a table read after its object
    // went never matches by luck.
    Stack::Options o;
    o.cards = 1;
    o.pollMs = 2000;
    o.env["MALLOC_PERTURB_"] = "165";
    o.env["GLIBC_TUNABLES"] = "glibc.malloc.tcache_count=0";
    const char* asan = std::getenv("ASAN_OPTIONS");
    o.env["ASAN_OPTIONS"] = std::string(asan ? asan : "") + ":max_free_fill_size=4096:free_fill_byte=165";
    Stack stack(o);
    stack.startDaemon();
    ASSERT_EQ(stack.aismi({"partition", "apply", "-i", "0", "4xquarter"}).exitCode, 0);
    ASSERT_EQ(stack.sim({"power-cycle", "0"}).exitCode, 0);
    auto quarantined = stack.aismi({"vf", "quarantine", "0:3", "--reason", "answered"});
    EXPECT_EQ(quarantined.exitCode, 0) << quarantined.out << quarantined.err;
    // The card comes back with its VFs (and VF 3's object, at the same path), still quarantined.
    EXPECT_TRUE(waitUntil([&] { return stack.aismi({"partition", "show", "-i", "0"}).out.find("differs") == std::string::npos; }))
        << stack.aismi({"partition", "show", "-i", "0"}).out;
    auto released = stack.aismi({"vf", "unquarantine", "0:3"});
    EXPECT_EQ(released.exitCode, 0) << released.out << released.err;
    EXPECT_EQ(stack.aismi({"vf", "quarantine", "0:3"}).exitCode, 0) << "VF 3's object takes calls again";
    EXPECT_EQ(stack.daemonState(), "running") << stack.daemonReport();
}

TEST(Races, TwoPolicyChangesWaitingForPolkitAtOnceBothLand) {
    // Each used to be applied to a copy of the whole policy taken before polkit answered: the
    // second to be answered put back the key the first had changed (found by aismi-chaos).
    Stack stack(sixteenVfsWithPolkit());
    if (!stack.polkitRunning()) GTEST_SKIP() << "polkitd is not installed, or the test does not run as root";
    stack.startDaemon();
    ASSERT_EQ(::kill(stack.polkitPid(), SIGSTOP), 0);
    Process resets = stack.spawnAismi({"policy", "set", "--auto-reset", "no"}, std::nullopt, "auto-reset");
    Process budget = stack.spawnAismi({"policy", "set", "--card-reset-budget", "4/120"}, std::nullopt, "budget");
    std::this_thread::sleep_for(300ms);  // both requests reach polkit and wait there
    ::kill(stack.polkitPid(), SIGCONT);
    EXPECT_EQ(resets.stop(0, 30000), 0);
    EXPECT_EQ(budget.stop(0, 30000), 0);
    const std::string shown = stack.aismi({"policy", "show", "-j"}).out;
    EXPECT_NE(shown.find("\"auto_reset\": false"), std::string::npos) << shown;
    EXPECT_NE(shown.find("\"card_reset_budget\": 4, \"card_reset_window_s\": 120"), std::string::npos) << shown;
}
