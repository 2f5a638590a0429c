// Every change is authorized: by polkit when it runs, else root only. Reads are open.
#include "stack.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <iterator>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace aismi::test;

namespace {

Stack::Options withPolkit() {
    Stack::Options o;
    o.withPolkit = true;
    return o;
}

}  // namespace

TEST(Authorization, AsksPolkitWhichLetsRootChangeVfs) {
    Stack stack(withPolkit());
    if (!stack.polkitRunning()) GTEST_SKIP() << "polkitd is not installed, or the test does not run as root";
    stack.startDaemon();
    auto r = stack.aismi({"vf", "enable", "-i", "0", "--count", "2"});
    EXPECT_EQ(r.exitCode, 0) << r.err;
}

TEST(Authorization, AsksPolkitWhichRefusesAnUnprivilegedUser) {
    Stack stack(withPolkit());
    if (!stack.polkitRunning()) GTEST_SKIP() << "polkitd is not installed, or the test does not run as root";
    stack.startDaemon();
    auto r = stack.aismi({"vf", "enable", "-i", "0", "--count", "2"}, 65534);
    EXPECT_EQ(r.exitCode, 7) << r.err;
    EXPECT_NE(r.err.find("polkit refused"), std::string::npos) << r.err;
    EXPECT_EQ(stack.aismi({"-i", "0", "--query-card=vf.enabled", "--format=csv,noheader"}, 65534).out, "0\n")
        << "nothing changed, and reading stays open";
}

TEST(Authorization, FallsBackToRootOnlyWithoutPolkit) {
    Stack stack;
    stack.startDaemon();
    auto refused = stack.aismi({"vf", "enable", "-i", "1", "--count", "1"}, 65534);
    EXPECT_EQ(refused.exitCode, 7);
    EXPECT_NE(refused.err.find("polkit is not running"), std::string::npos) << refused.err;
    EXPECT_EQ(stack.aismi({"vf", "enable", "-i", "1", "--count", "1"}).exitCode, 0);
}

TEST(Authorization, AStalledPolkitRefusesTheChangeInTimeAndNeverHoldsUpReads) {
    // Issue 7 #11: with polkitd stopped, CheckAuthorization blocked the loop; a GetSummary took 49 s.
    Stack stack(withPolkit());
    if (!stack.polkitRunning()) GTEST_SKIP() << "polkitd is not installed, or the test does not run as root";
    stack.startDaemon();
    ASSERT_EQ(::kill(stack.polkitPid(), SIGSTOP), 0);
    Process change = stack.spawnAismi({"vf", "enable", "-i", "0", "--count", "2"}, 65534, "stalled");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let the request reach polkit
    // Reads answer while the change still waits for polkit (an order, not a time limit).
    for (int i = 0; i < 5; ++i) {
        auto r = stack.aismi({"-i", "0", "--query-card=vf.enabled", "--format=csv,noheader"}, 65534);
        EXPECT_EQ(r.out, "0\n") << r.err;
        EXPECT_EQ(stack.aismi({}).exitCode, 0);
    }
    EXPECT_TRUE(change.running()) << "the change is still waiting for polkit";
    while (change.running()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const int status = change.stop();
    ::kill(stack.polkitPid(), SIGCONT);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 7) << status;
    std::ifstream err(stack.dir() + "/stalled.err");
    const std::string message((std::istreambuf_iterator<char>(err)), std::istreambuf_iterator<char>());
    EXPECT_NE(message.find("polkit did not answer"), std::string::npos) << message;
    EXPECT_EQ(stack.aismi({"-i", "0", "--query-card=vf.enabled", "--format=csv,noheader"}).out, "0\n") << "nothing changed";
}
