// Oversubscription through aismi and aismid: a card's policy set and shown, admission under it,
// the simulated card sharing its compute by weight among VFs that burst, bad input refused,
// and policy and quota changes that survive kill -9 whole or not at all.
#include "stack.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

using namespace aismi::test;

TEST(Oversubscription, AdmitsBurstingVfsAsThePolicyAllowsAndSharesTheCardByWeight) {
    Stack stack;
    std::filesystem::create_directories(stack.profilesDir());
    std::ofstream(stack.profilesDir() + "/burst.conf") << "[profile burst]\ncompute_units = 16\nburst_units = 64\nmemory = 8G\nweight = 2\n";
    stack.startDaemon();
    auto refused = stack.aismi({"partition", "apply", "-i", "0", "4xburst"});
    EXPECT_EQ(refused.exitCode, 19) << refused.err;
    EXPECT_NE(refused.err.find("needs 256 compute units of burst cap, 128 of 128 are free (the card's compute is not oversubscribed"),
              std::string::npos)
        << refused.err;
    EXPECT_EQ(stack.aismi({"policy", "set", "-i", "0", "--compute-oversubscription", "2"}, 65534).exitCode, 7) << "changing needs authorization";
    auto set = stack.aismi({"policy", "set", "--compute-oversubscription", "2", "-i", "0"});  // options in any order
    ASSERT_EQ(set.exitCode, 0) << set.err;
    EXPECT_NE(set.out.find("0     2.0      0/128             0/256          1.0     0/65536\n"), std::string::npos) << set.out;
    EXPECT_NE(set.out.find("Recovery: a hung VF is reset automatically, at most 3 times in 600 s, then quarantined\n"),
              std::string::npos)
        << set.out;
    ASSERT_EQ(stack.aismi({"partition", "apply", "-i", "0", "4xburst"}).exitCode, 0);
    const std::string shown = stack.aismi({"policy", "show", "-i", "0", "-j"}, 65534).out;
    EXPECT_NE(shown.find("\"compute_oversubscription\": 2.0, \"memory_oversubscription\": 1.0, \"compute_units\": 128, \"guaranteed_units\": 64, "
                         "\"burst_units\": 256, \"burst_units_allowed\": 256"),
              std::string::npos)
        << "reading is open: " << shown;

    // Bad input: one clear sentence each, a non-zero exit, nothing changed.
    const std::pair<std::vector<std::string>, std::string> bad[] = {
        {{"policy", "set", "-i", "0", "--compute-oversubscription", "0"}, "'0' is out of range"},
        {{"policy", "set", "-i", "0", "--compute-oversubscription", "-1"}, "'-1' is not a number"},
        {{"policy", "set", "-i", "0", "--compute-oversubscription", "nan"}, "'nan' is not a number"},
        {{"policy", "set", "-i", "0", "--compute-oversubscription", "1000"}, "'1000' is out of range"},
        {{"policy", "set", "-i", "0", "--memory-oversubscription", "1.333"}, "has more than two decimals"},
        {{"policy", "set", "-i", "0", "--memory-oversubscription", ""}, "is empty"},
        {{"policy", "set", "-i", "0"}, "needs --compute-oversubscription R, --memory-oversubscription R (with -i), or a recovery option"},
        {{"policy", "set", "--compute-oversubscription", "2"}, "needs exactly one card"},
        {{"policy", "set", "-i", "7", "--compute-oversubscription", "2"}, "no card"},
        {{"policy", "show", "-i", "0:1"}, "takes cards"},
        {{"policy", "show", "--dry-run"}, "--dry-run does not go with 'policy show'"},
        {{"policy", "set", "-i", "0", "--compute-oversubscription", "1.5"}, "the VFs hold burst caps of 256 compute units; compute ratio 1.5 allows 192"},
    };
    for (const auto& [args, why] : bad) {
        auto r = stack.aismi(args);
        EXPECT_NE(r.exitCode, 0) << why;
        EXPECT_NE(r.err.find(why), std::string::npos) << r.err;
    }
    EXPECT_EQ(stack.aismi({"policy", "show", "-i", "0", "-j"}).out, shown) << "nothing changed";

    // Three busy VFs want 192 units of 128: each keeps its 16, the other 80 go round by weight.
    for (const char* vf : {"0:0", "0:1", "0:2"}) ASSERT_EQ(stack.sim({"load", vf, "on"}).exitCode, 0);
    EXPECT_TRUE(stack.waitForVf("0:0", "compute_share,throttled", "42.7, true")) << stack.vfField("0:0", "compute_share,throttled");
    EXPECT_EQ(stack.vfField("0:3", "compute_share,throttled"), "0.0, false") << "idle";
    EXPECT_NE(stack.aismi({"-q", "-d", "sriov", "-i", "0"}).out.find("getting 42.7 compute units (throttled)"), std::string::npos);
    // The free VF is unprovisioned and provisioned again while its neighbours keep working.
    const std::string progress = stack.vfField("0:0", "progress");
    ASSERT_EQ(stack.aismi({"vf", "unprovision", "0:3"}).exitCode, 0);
    ASSERT_EQ(stack.aismi({"vf", "provision", "0:3", "--profile", "burst"}).exitCode, 0);
    EXPECT_TRUE(stack.waitForVf("0:0", "state", "running"));
    EXPECT_GT(std::stoull(stack.vfField("0:0", "progress")), std::stoull(progress)) << "the neighbour kept working";
    // The policy is kept across restarts.
    stack.stopDaemon();
    stack.startDaemon();
    EXPECT_EQ(stack.aismi({"policy", "show", "-i", "0", "-j"}).out, shown);
}

TEST(Oversubscription, PolicyAndQuotaChangesSurviveKill9WholeOrNotAtAll) {
    Stack stack;
    stack.startDaemon();
    ASSERT_EQ(stack.aismi({"quota", "set", "acme", "--max-vfs", "1"}).exitCode, 0);
    for (int round = 0; round < 8; ++round) {
        const std::string vfs = std::to_string(2 + round), ratio = std::to_string(2 + round % 3);
        Process quota = stack.spawnAismi({"quota", "set", "acme", "--max-vfs", vfs, "--max-compute", vfs}, std::nullopt, "quota" + std::to_string(round));
        Process policy = stack.spawnAismi({"policy", "set", "-i", "0", "--compute-oversubscription", ratio, "--memory-oversubscription", ratio},
                                          std::nullopt, "policy" + std::to_string(round));
        std::this_thread::sleep_for(std::chrono::milliseconds(3 * round));
        stack.stopDaemon(SIGKILL);
        quota.stop(SIGKILL);
        policy.stop(SIGKILL);
        stack.startDaemon();
        // A quota is whole: its limits were written together or not at all.
        const std::string q = stack.aismi({"quota", "show", "acme", "-j"}).out;
        const size_t at = q.find("\"max_vfs\": ");
        ASSERT_NE(at, std::string::npos) << q;
        const std::string maxVfs = q.substr(at + 11, q.find(',', at) - at - 11);
        if (maxVfs != "1") {
            EXPECT_NE(q.find("\"max_compute_units\": " + maxVfs + ","), std::string::npos) << "round " << round << ": " << q;
        }
        const std::string p = stack.aismi({"policy", "show", "-i", "0", "-j"}).out;
        const size_t c = p.find("\"compute_oversubscription\": "), m = p.find("\"memory_oversubscription\": ");
        ASSERT_NE(c, std::string::npos) << p;
        EXPECT_EQ(p.substr(c + 28, 3), p.substr(m + 27, 3)) << "round " << round << ": both ratios or neither: " << p;
    }
}
