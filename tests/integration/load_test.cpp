// aismid under many clients at once (aismi-bus-load, tests/load/): 100 readers query while 10
// writers change the VFs of a card each and compete for one tenant's quota. Every request is
// answered with a reply or a named error, no update is lost, and the tenant never holds more
// than its quota. AISMI_LOAD_SECONDS sets the time (10 s by default; bench/load runs longer).
#include "stack.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>

using namespace aismi::test;

TEST(Load, AHundredReadersAndTenWritersAreAllAnsweredAndLoseNothing) {
    const int seconds = testSize("AISMI_LOAD_SECONDS", 10, 3, 1);
    Stack::Options options;
    options.cards = 10;
    options.vfs = 4;
    Stack stack(options);
    stack.startDaemon();
    for (int card = 0; card < 10; ++card) ASSERT_EQ(stack.aismi({"vf", "enable", "-i", std::to_string(card), "--count", "4"}).exitCode, 0);
    const pid_t pid = stack.daemonPid();
    auto r = stack.client(AISMI_BUS_LOAD_PATH, {"--readers", "100", "--writers", "10", "--vfs", "4", "--quota", "3", "--seconds", std::to_string(seconds)});
    EXPECT_EQ(r.exitCode, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("0 violations"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("VirtualFunction1.Provision"), std::string::npos) << r.out;
    EXPECT_EQ(stack.daemonPid(), pid);
    EXPECT_EQ(stack.aismi({"-L"}).exitCode, 0) << "aismid still serves";
    std::cout << r.out;
}
