// Resetting one VF through aismi and aismid while workloads run on its neighbours: only that
// VF is reset, the others keep working, and every refusal is clear and changes nothing.
#include "stack.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <thread>

using namespace aismi::test;

TEST(VfReset, ResetsAHungVfWhileItsNeighboursKeepWorking) {
    Stack::Options options;
    options.extraArgs = {"--auto-reset=no"};  // the operator resets it here, not aismid
    Stack stack(options);
    stack.startDaemon();
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "0", "--count", "4"}).exitCode, 0);
    for (const char* vf : {"0:0", "0:2", "0:3"}) ASSERT_EQ(stack.sim({"load", vf, "on"}).exitCode, 0);
    ASSERT_EQ(stack.sim({"inject", "0:2", "vf-hang"}).exitCode, 0);
    ASSERT_TRUE(stack.waitForVf("0:2", "state", "hung")) << stack.vfField("0:2", "state");
    const uint64_t before0 = std::stoull(stack.vfField("0:0", "progress")), before3 = std::stoull(stack.vfField("0:3", "progress"));
    EXPECT_EQ(stack.aismi({"vf", "reset", "0:2"}, 65534).exitCode, 7) << "resetting needs authorization";
    auto reset = stack.aismi({"vf", "reset", "0:2"});
    ASSERT_EQ(reset.exitCode, 0) << reset.err;
    EXPECT_NE(reset.out.find("VF 0:2 (0000:3b:00.6): "), std::string::npos) << reset.out;
    EXPECT_NE(reset.out.find("function-level reset in "), std::string::npos) << reset.out;
    EXPECT_EQ(stack.vfField("0:2", "state,reset_count"), "idle, 1");
    ASSERT_TRUE(stack.waitForVf("0:0", "state,reset_count", "running, 0"));
    EXPECT_EQ(stack.vfField("0:3", "state,reset_count"), "running, 0");
    EXPECT_GT(std::stoull(stack.vfField("0:0", "progress")), before0) << "the neighbours kept working";
    EXPECT_GT(std::stoull(stack.vfField("0:3", "progress")), before3);
    EXPECT_EQ(stack.aismi({"-i", "0", "--query-card=vf.enabled", "--format=csv,noheader"}).out, "4\n") << "no VF went away";
    // A VF with a running workload needs --force; bad input is one sentence and changes nothing.
    const std::pair<std::vector<std::string>, std::string> bad[] = {
        {{"vf", "reset", "0:0"}, "a workload runs on the VF and would be lost; --force resets it anyway"},
        {{"vf", "reset", "0"}, "names a card"},
        {{"vf", "reset", "0:9"}, "has no VF 9"},
        {{"vf", "reset"}, "vf reset needs one VF"},
        {{"vf", "reset", "0:1", "--profile", "x"}, "--profile does not go with 'vf reset'"},
    };
    for (const auto& [args, why] : bad) {
        auto r = stack.aismi(args);
        EXPECT_NE(r.exitCode, 0) << why;
        EXPECT_NE(r.err.find(why), std::string::npos) << r.err;
    }
    EXPECT_EQ(stack.vfField("0:0", "reset_count"), "0");
    auto forced = stack.aismi({"vf", "reset", "--force", "0:0"});
    EXPECT_EQ(forced.exitCode, 0) << forced.err;
    EXPECT_EQ(stack.vfField("0:0", "reset_count"), "1");
}

TEST(Recovery, ResetsAHungVfByItselfAndQuarantinesItPastTheGuard) {
    Stack::Options options;
    options.extraArgs = {"--reset-guard=2/600"};
    Stack stack(options);
    stack.startDaemon();
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "0", "--count", "4"}).exitCode, 0);
    for (const char* vf : {"0:0", "0:1", "0:3"}) ASSERT_EQ(stack.sim({"load", vf, "on"}).exitCode, 0);
    const uint64_t before0 = std::stoull(stack.vfField("0:0", "progress"));
    // Hangs twice: reset by aismid each time (the workload is started again after each reset).
    for (int k = 1; k <= 2; ++k) {
        ASSERT_EQ(stack.sim({"inject", "0:1", "vf-hang"}).exitCode, 0);
        ASSERT_TRUE(stack.waitForVf("0:1", "reset_count", std::to_string(k))) << "reset " << k << ": " << stack.daemonLog();
        ASSERT_EQ(stack.sim({"load", "0:1", "on"}).exitCode, 0);
    }
    // The third hang is past the guard: quarantined, not reset.
    ASSERT_EQ(stack.sim({"inject", "0:1", "vf-hang"}).exitCode, 0);
    ASSERT_TRUE(stack.waitForVf("0:1", "quarantined", "true")) << stack.daemonLog();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // a few more polls: no further reset
    EXPECT_EQ(stack.vfField("0:1", "state,reset_count,quarantined,used_by"), "hung, 2, true, quarantine");
    EXPECT_NE(stack.daemonLog().find("quarantined: hung again after 2 automatic resets in 600 s"), std::string::npos) << stack.daemonLog();
    for (const char* vf : {"0:0", "0:3"}) EXPECT_EQ(stack.vfField(vf, "state,reset_count"), "running, 0") << vf << ": the neighbours never noticed";
    EXPECT_GT(std::stoull(stack.vfField("0:0", "progress")), before0);
    // Out of use: not provisioned; kept across a restart; released only by an operator.
    auto provision = stack.aismi({"vf", "provision", "0:1", "--profile", "eighth"});
    EXPECT_NE(provision.exitCode, 0);
    EXPECT_NE(provision.err.find("the VF is quarantined (hung again after 2 automatic resets in 600 s)"), std::string::npos) << provision.err;
    EXPECT_EQ(stack.vfField("0:1", "quarantine_reason"), "hung again after 2 automatic resets in 600 s");
    auto table = stack.aismi({"vf", "list", "-i", "0"});
    EXPECT_NE(table.out.find("  quarantined  "), std::string::npos) << "the VF table marks it: " << table.out;
    stack.stopDaemon();
    stack.startDaemon();
    EXPECT_TRUE(stack.waitForVf("0:1", "quarantined", "true")) << "kept across a restart";
    EXPECT_EQ(stack.aismi({"vf", "unquarantine", "0:1"}, 65534).exitCode, 7);
    auto release = stack.aismi({"vf", "unquarantine", "0:1"});
    ASSERT_EQ(release.exitCode, 0) << release.err;
    EXPECT_NE(release.out.find("released from quarantine"), std::string::npos) << release.out;
    // Still hung: with the guard afresh, aismid resets it again.
    EXPECT_TRUE(stack.waitForVf("0:1", "reset_count,quarantined", "3, false")) << stack.daemonLog();
    auto again = stack.aismi({"vf", "unquarantine", "0:1"});
    EXPECT_NE(again.err.find("is not quarantined"), std::string::npos) << again.err;
    // An operator quarantines a VF by hand, the same way; only once.
    EXPECT_EQ(stack.aismi({"vf", "quarantine", "0:3"}, 65534).exitCode, 7);
    auto byHand = stack.aismi({"vf", "quarantine", "0:3", "--reason", "tenant reports corrupt results"});
    ASSERT_EQ(byHand.exitCode, 0) << byHand.err;
    EXPECT_NE(byHand.out.find("quarantined: not reset automatically nor provisioned until 'aismi vf unquarantine 0:3'"), std::string::npos)
        << byHand.out;
    EXPECT_EQ(stack.vfField("0:3", "quarantined"), "true");
    EXPECT_NE(stack.aismi({"vf", "quarantine", "0:3"}).err.find("is quarantined already"), std::string::npos);
    EXPECT_NE(stack.aismi({"vf", "quarantine", "0:3", "--reason", ""}).err.find("--reason takes one line of 1 to 200 characters"), std::string::npos);
    auto events = stack.aismi({"events", "--type", "quarantine"});
    EXPECT_NE(events.out.find("quarantined by an operator (tenant reports corrupt results)"), std::string::npos) << events.out;
    // Shown and refused with the operator's reason, never as a hang.
    EXPECT_EQ(stack.vfField("0:3", "quarantine_reason"), "tenant reports corrupt results");
    auto refused = stack.aismi({"vf", "provision", "0:3", "--profile", "eighth"});
    EXPECT_NE(refused.err.find("the VF is quarantined (tenant reports corrupt results)"), std::string::npos) << refused.err;
    auto health = stack.aismi({"health", "-i", "0"});
    EXPECT_NE(health.out.find("recommended: quarantined (tenant reports corrupt results): once that is dealt with, 'aismi vf unquarantine 0:3'"),
              std::string::npos)
        << health.out;
}

TEST(CardReset, ResetsAWholeCardOnlyWhenFreeOrForcedAndPutsItsVfsBack) {
    Stack stack;
    stack.startDaemon();
    ASSERT_EQ(stack.aismi({"partition", "apply", "-i", "0", "2xquarter,2xeighth"}).exitCode, 0);
    ASSERT_EQ(stack.aismi({"vf", "provision", "0:3", "--profile", "eighth", "--tenant", "acme"}).exitCode, 0);
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "1", "--count", "2"}).exitCode, 0);
    for (const char* vf : {"0:0", "1:0"}) ASSERT_EQ(stack.sim({"load", vf, "on"}).exitCode, 0);
    ASSERT_TRUE(stack.waitForVf("0:0", "state", "running"));
    EXPECT_EQ(stack.aismi({"reset", "-i", "0", "--force"}, 65534).exitCode, 7) << "a reset needs authorization";
    auto refused = stack.aismi({"reset", "-i", "0"});
    EXPECT_EQ(refused.exitCode, 5) << refused.err;
    EXPECT_NE(refused.err.find("VFs in use (0:0 runs a workload, 0:3 is provisioned for tenant acme)"), std::string::npos) << refused.err;
    EXPECT_EQ(stack.vfField("0:0", "state,reset_count"), "running, 0") << "a refusal changes nothing";
    const uint64_t other = std::stoull(stack.vfField("1:0", "progress"));
    // 0:3 was reset once already: given to tenant acme, it changed hands (reset and scrubbed).
    std::map<std::string, uint64_t> resets;
    for (const char* vf : {"0:0", "0:1", "0:2", "0:3"}) resets[vf] = std::stoull(stack.vfField(vf, "reset_count"));
    EXPECT_EQ(resets["0:3"], 1u);

    auto reset = stack.aismi({"reset", "-i", "0", "--force"});
    ASSERT_EQ(reset.exitCode, 0) << reset.err;
    EXPECT_NE(reset.out.find("card 0 (0000:3b:00.0): reset in "), std::string::npos) << reset.out;
    for (const auto& [vf, before] : resets) EXPECT_TRUE(stack.waitForVf(vf, "reset_count", std::to_string(before + 1))) << vf;
    EXPECT_EQ(stack.vfField("0:0", "state"), "idle") << "the workload went with the card";
    // aismid puts the provisioning back: every VF holds its profile again.
    for (int i = 0; i < 200; ++i) {
        auto shown = stack.aismi({"partition", "show", "-i", "0"});
        size_t desired = 0;
        for (size_t at = 0; (at = shown.out.find("as desired", at)) != std::string::npos; ++at) ++desired;
        if (desired == 4) break;
        ASSERT_LT(i, 199) << shown.out << stack.daemonLog();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(stack.vfField("0:3", "profile,tenant"), "eighth, acme");
    // The other card never noticed.
    EXPECT_EQ(stack.vfField("1:0", "state,reset_count"), "running, 0");
    for (int i = 0; i < 100 && std::stoull(stack.vfField("1:0", "progress")) <= other; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a poll or two
    EXPECT_GT(std::stoull(stack.vfField("1:0", "progress")), other);
    // Clients were told before the reset, and after it.
    auto events = stack.aismi({"events", "--type", "card-reset", "-i", "0"});
    const size_t before = events.out.find("warning   card-reset     card 0 (0000:3b:00.0): resetting the whole card (4 VFs");
    const size_t after = events.out.find("info      card-reset     card 0 (0000:3b:00.0): reset in ");
    EXPECT_NE(before, std::string::npos) << events.out;
    EXPECT_NE(after, std::string::npos) << events.out;
    EXPECT_LT(before, after);
    for (const auto& [args, why] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"reset"}, "reset needs exactly one card: -i ID"},
             {{"reset", "-i", "0:1"}, "reset -i takes a card, not '0:1'"},
             {{"reset", "-i", "0,1"}, "reset needs exactly one card"},
             {{"reset", "-i", "9"}, "no card '9'"},
             {{"reset", "-i", "0", "--count", "2"}, "--count does not go with 'reset'"}}) {
        auto r = stack.aismi(args);
        EXPECT_NE(r.exitCode, 0) << why;
        EXPECT_NE(r.err.find(why), std::string::npos) << r.err;
    }
}

TEST(Recovery, ThePolicySetAtRunTimeIsAuthorizedCheckedAndKeptAcrossRestarts) {
    Stack stack;
    stack.startDaemon();
    const std::vector<std::string> set{"policy", "set", "--auto-reset", "no", "--reset-guard", "5/300", "--auto-card-reset", "yes",
                                       "--card-reset-budget", "2/7200"};
    EXPECT_EQ(stack.aismi(set, 65534).exitCode, 7) << "changing it needs org.aismi.manage-policy";
    auto done = stack.aismi(set);
    ASSERT_EQ(done.exitCode, 0) << done.err;
    EXPECT_NE(done.out.find("Recovery: hung VFs are not reset automatically"), std::string::npos) << done.out;
    EXPECT_NE(done.out.find("Escalation: when a hung VF's own reset fails, its whole card is reset, at most 2 time(s) in 7200 s"),
              std::string::npos)
        << done.out;
    const std::pair<std::vector<std::string>, std::string> bad[] = {
        {{"policy", "set", "--reset-guard", "0/5"}, "--reset-guard takes N/SECONDS"},
        {{"policy", "set", "--card-reset-budget", "3/604801"}, "--card-reset-budget takes N/SECONDS"},
        {{"policy", "set", "--auto-reset", "maybe"}, "--auto-reset takes yes or no (or true or false), not 'maybe'"},
        {{"policy", "set", "-i", "0", "--auto-reset", "yes"}, "the recovery policy is host-wide"},
        {{"policy", "set"}, "policy set needs"},
    };
    for (const auto& [args, why] : bad) {
        auto r = stack.aismi(args);
        EXPECT_NE(r.exitCode, 0) << why;
        EXPECT_NE(r.err.find(why), std::string::npos) << r.err;
    }
    // Kept, and it wins over aismid.conf's after a restart.
    stack.stopDaemon();
    stack.startDaemon();
    auto shown = stack.aismi({"policy", "show", "-j"});
    EXPECT_NE(shown.out.find("\"auto_reset\": false, \"reset_guard_resets\": 5, \"reset_guard_window_s\": 300, \"auto_card_reset\": true, "
                             "\"card_reset_budget\": 2, \"card_reset_window_s\": 7200"),
              std::string::npos)
        << shown.out;
    auto events = stack.aismi({"events", "--type", "policy"});
    EXPECT_NE(events.out.find("recovery policy: automatic resets off, guard 5/300 s, card resets on, 2/7200 s"), std::string::npos) << events.out;
}

// Issue 26 (18): the advice for an uncorrectable ECC error is what clears it. A VF reset
// restarts the VF but its errors stay counted (the advice does not send the operator back to
// it); a card reset starts the card's and its VFs' ECC counts again, and health is ok.
TEST(HealthAdvice, AnUncorrectableEccErrorIsClearedByACardResetAndTheAdviceSaysSo) {
    Stack stack;
    stack.startDaemon();
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "0", "--count", "2"}).exitCode, 0);
    ASSERT_EQ(stack.sim({"load", "0:1", "on"}).exitCode, 0);
    ASSERT_EQ(stack.sim({"inject", "0:1", "ecc-uncorrectable"}).exitCode, 0);
    ASSERT_TRUE(stack.waitForVf("0:1", "health", "critical"));
    const auto advice = [&] {
        return stack.aismi({"health", "-i", "0", "-j"}).out;
    };
    std::string said = advice();
    EXPECT_NE(said.find("its uncorrectable ECC errors stay counted until a card reset ('aismi reset -i 0', every VF with it)"), std::string::npos) << said;
    ASSERT_EQ(stack.aismi({"vf", "reset", "0:1", "--force"}).exitCode, 0);
    ASSERT_TRUE(stack.waitForVf("0:1", "state", "idle"));
    EXPECT_EQ(stack.vfField("0:1", "ecc.uncorrected,health"), "1, critical") << "a VF reset does not clear the count";
    said = advice();
    EXPECT_EQ(said.find("aismi vf reset 0:1"), std::string::npos) << "the VF reset is not recommended again: " << said;
    EXPECT_NE(said.find("'aismi reset -i 0'"), std::string::npos) << said;
    ASSERT_EQ(stack.aismi({"reset", "-i", "0", "--force"}).exitCode, 0);
    EXPECT_TRUE(stack.waitForVf("0:1", "ecc.uncorrected,health", "0, ok")) << stack.vfField("0:1", "ecc.uncorrected,health,health.reasons");
    EXPECT_EQ(stack.aismi({"--query-card=ecc.uncorrected", "--format=csv,noheader", "-i", "0"}).out, "0\n");
}
