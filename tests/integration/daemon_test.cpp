// aismid's life cycle: readiness, status, shutdown, crashes and what survives them.
#include "stack.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <thread>
#include <sys/wait.h>
#include <unistd.h>

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
    auto r = run({AISMID_PATH, "--backend=sim", "--state-dir=" + stack.stateDir() + "2", "--config=/dev/null", "--metrics-address=none",
                  "--libvirt-uri=none"},
                 {{{"DBUS_SYSTEM_BUS_ADDRESS", stack.busAddress()}}, std::nullopt, "", ""});
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.err.find("another aismid"), std::string::npos) << r.err;
}

namespace {

RunResult call(const Stack& stack, const std::string& path, const std::string& method, const std::vector<std::string>& args) {
    // dbus-send --address= never registers on the bus (no reply comes back); --system does,
    // and honours DBUS_SYSTEM_BUS_ADDRESS.
    std::vector<std::string> argv{DBUS_SEND_PATH, "--system", "--print-reply", "--dest=org.aismi.Manager1", path, method};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, {{{"DBUS_SYSTEM_BUS_ADDRESS", stack.busAddress()}}, std::nullopt, "", ""});
}

}  // namespace

TEST(ManagerApi, FindsCardsAndVfsByEveryName) {
    Stack stack;
    stack.startDaemon();
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "1", "--count", "2"}).exitCode, 0);
    for (const char* id : {"1", "0000:3d:00.0", "3d:00.0", "AIS24110001"}) {
        auto r = call(stack, "/org/aismi/Manager1", "org.aismi.Manager1.FindCard", {std::string("string:") + id});
        EXPECT_NE(r.out.find("object path \"/org/aismi/Manager1/card1\""), std::string::npos) << id << ": " << r.out << r.err;
    }
    for (const char* id : {"1:1", "AIS24110001:1", "0000:3d:00.5"}) {
        auto r = call(stack, "/org/aismi/Manager1", "org.aismi.Manager1.FindVirtualFunction", {std::string("string:") + id});
        EXPECT_NE(r.out.find("/org/aismi/Manager1/card1/vf1"), std::string::npos) << id << ": " << r.out << r.err;
    }
}

TEST(ManagerApi, AnswersWithStableErrorNames) {
    Stack stack;
    stack.startDaemon();
    auto r = call(stack, "/org/aismi/Manager1", "org.aismi.Manager1.FindCard", {"string:9"});
    EXPECT_NE(r.err.find("org.aismi.Error.NotFound"), std::string::npos) << r.err;
    r = call(stack, "/org/aismi/Manager1", "org.aismi.Manager1.FindVirtualFunction", {"string:zero"});
    EXPECT_NE(r.err.find("org.aismi.Error.InvalidArgument"), std::string::npos) << r.err;
    r = call(stack, "/org/aismi/Manager1/card0", "org.aismi.Card1.SetVfCount", {"uint32:99"});
    EXPECT_NE(r.err.find("org.aismi.Error.OutOfRange"), std::string::npos) << r.err;
}

TEST(Aismid, ExitsInAnOrderlyWayWhenTheBusGoesAway) {
    Stack stack;
    stack.startDaemon();
    stack.killBus();
    const int status = stack.waitForDaemonExit(10000);
    ASSERT_TRUE(WIFEXITED(status)) << "not killed by a signal (no abort, no core): " << status << "\n" << stack.daemonLog();
    EXPECT_EQ(WEXITSTATUS(status), 1);
    EXPECT_NE(stack.daemonLog().find("lost the system bus"), std::string::npos) << stack.daemonLog();
    EXPECT_EQ(stack.daemonLog().find("terminate called"), std::string::npos);
}

TEST(Aismid, WritesNothingBeforeFindingAnotherAismidOnTheBus) {
    Stack stack;
    stack.startDaemon();
    const std::string other = stack.stateDir() + "-other";
    auto r = run({AISMID_PATH, "--backend=sim", "--state-dir=" + other, "--config=/dev/null", "--metrics-address=none", "--libvirt-uri=none"},
                 {{{"DBUS_SYSTEM_BUS_ADDRESS", stack.busAddress()}}, std::nullopt, "", ""});
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.err.find("another aismid"), std::string::npos) << r.err;
    EXPECT_NE(::access(other.c_str(), F_OK), 0) << "no state directory, no simulated cards, no database";
}

TEST(Aismid, ReportsVfsLostOutsideItAndRestoresThemWhileRunning) {
    Stack stack;
    stack.startDaemon();
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "1", "--count", "4"}).exitCode, 0);
    EXPECT_TRUE(stack.waitForCardField("health", "ok", 1));
    ASSERT_EQ(stack.sim({"power-cycle", "1"}).exitCode, 0);  // behind aismid's back
    for (int i = 0; i < 200 && stack.daemonLog().find("restoring them") == std::string::npos; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_NE(stack.daemonLog().find("card 1 (0000:3d:00.0): the card lost its VFs (4 before"), std::string::npos)
        << "logged (and recorded as an event): " << stack.daemonLog();
    EXPECT_TRUE(stack.waitForCardField("vf.enabled", "4", 1)) << "restored within a poll or two, without a restart";
    EXPECT_TRUE(stack.waitForCardField("health", "ok", 1));
}

TEST(Aismid, KeepsADamagedCardInItsPlaceSoNoIndexNamesAnotherCard) {
    // Issue 7 #5: after `truncate -s 100 card0.state`, card 1 was served as card 0.
    Stack stack;
    stack.startDaemon();
    const std::string serials = stack.aismi({"--query-card=index,serial", "--format=csv,noheader"}).out;
    stack.stopDaemon();
    ASSERT_EQ(::truncate((stack.simDir() + "/card0.state").c_str(), 100), 0);
    stack.startDaemon();
    EXPECT_EQ(stack.aismi({"--query-card=index,serial", "--format=csv,noheader"}).out, serials) << "the same indexes and serials";
    auto health = stack.aismi({"-i", "0", "--query-card=health,health.reasons", "--format=csv,noheader"});
    EXPECT_NE(health.out.find("lost"), std::string::npos) << health.out;
    EXPECT_NE(health.out.find("card0.state"), std::string::npos) << "the reason names the file: " << health.out;
    auto change = stack.aismi({"vf", "enable", "-i", "0", "--count", "2"});
    EXPECT_NE(change.exitCode, 0) << "nothing acts on card 1 in card 0's name";
    EXPECT_EQ(stack.aismi({"-i", "1", "--query-card=vf.enabled", "--format=csv,noheader"}).out, "0\n");
}
