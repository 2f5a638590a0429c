// Resetting one VF through aismi and aismid while workloads run on its neighbours: only that
// VF is reset, the others keep working, and every refusal is clear and changes nothing.
#include "stack.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

using namespace aismi::test;

namespace {

std::string vfField(Stack& stack, const std::string& vf, const std::string& field) {
    auto r = stack.aismi({"--query-vf=" + field, "--format=csv,noheader,nounits", "-i", vf});
    return r.out.empty() ? "" : r.out.substr(0, r.out.size() - 1);
}

bool waitForVf(Stack& stack, const std::string& vf, const std::string& field, const std::string& value) {
    for (int i = 0; i < 200; ++i) {
        if (vfField(stack, vf, field) == value) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

}  // namespace

TEST(VfReset, ResetsAHungVfWhileItsNeighboursKeepWorking) {
    Stack stack;
    stack.startDaemon();
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "0", "--count", "4"}).exitCode, 0);
    for (const char* vf : {"0:0", "0:2", "0:3"}) ASSERT_EQ(stack.sim({"load", vf, "on"}).exitCode, 0);
    ASSERT_EQ(stack.sim({"inject", "0:2", "vf-hang"}).exitCode, 0);
    ASSERT_TRUE(waitForVf(stack, "0:2", "state", "hung")) << vfField(stack, "0:2", "state");
    const uint64_t before0 = std::stoull(vfField(stack, "0:0", "progress")), before3 = std::stoull(vfField(stack, "0:3", "progress"));
    EXPECT_EQ(stack.aismi({"vf", "reset", "0:2"}, 65534).exitCode, 7) << "resetting needs authorization";
    auto reset = stack.aismi({"vf", "reset", "0:2"});
    ASSERT_EQ(reset.exitCode, 0) << reset.err;
    EXPECT_NE(reset.out.find("VF 0:2 (0000:3b:00.6): "), std::string::npos) << reset.out;
    EXPECT_NE(reset.out.find("function-level reset in "), std::string::npos) << reset.out;
    EXPECT_EQ(vfField(stack, "0:2", "state,reset_count"), "idle, 1");
    ASSERT_TRUE(waitForVf(stack, "0:0", "state,reset_count", "running, 0"));
    EXPECT_EQ(vfField(stack, "0:3", "state,reset_count"), "running, 0");
    EXPECT_GT(std::stoull(vfField(stack, "0:0", "progress")), before0) << "the neighbours kept working";
    EXPECT_GT(std::stoull(vfField(stack, "0:3", "progress")), before3);
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
    EXPECT_EQ(vfField(stack, "0:0", "reset_count"), "0");
    auto forced = stack.aismi({"vf", "reset", "--force", "0:0"});
    EXPECT_EQ(forced.exitCode, 0) << forced.err;
    EXPECT_EQ(vfField(stack, "0:0", "reset_count"), "1");
}
