// aismid's life cycle: readiness, status, shutdown, crashes and what survives them.
#include "stack.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <sys/wait.h>

using namespace aismi::test;

TEST(Aismid, ReportsReadyWithAStatusLine) {
    Stack stack;
    stack.startDaemon();
    bool status = false;
    for (const auto& m : stack.notifications()) status = status || m.find("STATUS=2 cards, 0 VFs") != std::string::npos;
    EXPECT_TRUE(status);
}

TEST(Aismid, StopsCleanlyOnSigterm) {
    Stack stack;
    stack.startDaemon();
    const int status = stack.stopDaemon(SIGTERM);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << stack.daemonLog();
    EXPECT_TRUE(stack.waitForNotification("STOPPING=1", 1000));
}

TEST(Aismid, TellsTheCliWhenItIsNotRunning) {
    Stack stack;
    auto r = stack.aismi({});
    EXPECT_EQ(r.exitCode, 18);
    EXPECT_NE(r.err.find("aismid is not running"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("systemctl start aismid"), std::string::npos);
}

TEST(Aismid, FindsTheCardsAsItLeftThemAfterKill9) {
    Stack stack;
    stack.startDaemon();
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "0", "--count", "4"}).exitCode, 0);
    ASSERT_EQ(stack.sim({"load", "0:2", "on"}).exitCode, 0);
    stack.stopDaemon(SIGKILL);
    stack.startDaemon();
    auto r = stack.aismi({"--query-vf=vf,state", "--format=csv,noheader", "-i", "0"});
    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out, "0, idle\n1, idle\n2, running\n3, idle\n") << "the VFs and their workload survived the daemon";
}

TEST(Aismid, RestoresDesiredVfsThatAHostRebootCleared) {
    Stack stack;
    stack.startDaemon();
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "1", "--count", "5"}).exitCode, 0);
    stack.stopDaemon();
    ASSERT_EQ(stack.sim({"power-cycle", "1"}).exitCode, 0);  // what a host reboot does to SR-IOV
    EXPECT_NE(stack.sim({"show", "1"}).out.find("0 of 8 VFs"), std::string::npos);
    stack.startDaemon();
    EXPECT_EQ(stack.aismi({"-i", "1", "--query-card=vf.enabled", "--format=csv,noheader"}).out, "5\n");
    EXPECT_NE(stack.daemonLog().find("restored"), std::string::npos) << stack.daemonLog();
}

TEST(Aismid, RefusesABadConfigurationClearly) {
    Stack stack;
    auto r = run({AISMID_PATH, "--backend=quantum", "--config=/dev/null"});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_NE(r.err.find("--backend must be 'linux' or 'sim'"), std::string::npos) << r.err;
    r = run({AISMID_PATH, "--poll-interval=5", "--config=/dev/null"});
    EXPECT_NE(r.err.find("--poll-interval must be"), std::string::npos) << r.err;
    r = run({AISMID_PATH, "--match=nonsense", "--config=/dev/null"});
    EXPECT_NE(r.err.find("VENDOR:DEVICE"), std::string::npos) << r.err;
    r = run({AISMID_PATH, "--config=/nonexistent/aismid.conf"});
    EXPECT_NE(r.err.find("cannot be read"), std::string::npos) << r.err;
}

TEST(Aismid, RefusesToStartTwiceOnOneBus) {
    Stack stack;
    stack.startDaemon();
    auto r = run({AISMID_PATH, "--backend=sim", "--state-dir=" + stack.stateDir() + "2", "--config=/dev/null"},
                 {{{"DBUS_SYSTEM_BUS_ADDRESS", stack.busAddress()}}, std::nullopt, "", ""});
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.err.find("another aismid"), std::string::npos) << r.err;
}
