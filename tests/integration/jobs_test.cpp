// Jobs and typed queries on the real bus: SetVfCountAsync returns a job that finishes and
// stays listed; Manager1.Query answers typed columns; the CLI's command words are strict.
#include "stack.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

using namespace aismi::test;

namespace {

RunResult busctl(Stack& stack, std::vector<std::string> args) {
    args.insert(args.begin(), {BUSCTL_PATH, "--address=" + stack.busAddress()});
    return run(args);
}

std::string jobProperty(Stack& stack, const std::string& path, const std::string& name) {
    return busctl(stack, {"get-property", "org.aismi.Manager1", path, "org.aismi.Job1", name}).out;
}

}  // namespace

TEST(Jobs, SetVfCountAsyncReturnsAJobThatFinishesAndStaysListed) {
    Stack stack;
    stack.startDaemon();
    auto r = busctl(stack, {"call", "org.aismi.Manager1", "/org/aismi/Manager1/card0", "org.aismi.Card1", "SetVfCountAsync", "u", "4"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    ASSERT_EQ(r.out.rfind("o \"/org/aismi/Manager1/job", 0), 0u) << r.out;
    const std::string path = r.out.substr(3, r.out.find('"', 3) - 3);
    for (int i = 0; i < 200 && jobProperty(stack, path, "State") != "s \"done\"\n"; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    EXPECT_EQ(jobProperty(stack, path, "State"), "s \"done\"\n");
    EXPECT_EQ(jobProperty(stack, path, "Progress"), "u 100\n");
    EXPECT_EQ(jobProperty(stack, path, "Kind"), "s \"set-vf-count\"\n");
    EXPECT_NE(jobProperty(stack, path, "FinishedAt"), "t 0\n");
    auto list = busctl(stack, {"call", "org.aismi.Manager1", "/org/aismi/Manager1", "org.aismi.Manager1", "ListJobs"});
    EXPECT_NE(list.out.find(path), std::string::npos) << list.out;
    EXPECT_EQ(stack.aismi({"-i", "0", "--query-card=vf.enabled", "--format=csv,noheader"}).out, "4\n");
    auto cancel = busctl(stack, {"call", "org.aismi.Manager1", path, "org.aismi.Job1", "Cancel"});
    EXPECT_NE(cancel.exitCode, 0);
    EXPECT_NE(cancel.err.find("already finished"), std::string::npos) << cancel.err;
}

TEST(Jobs, AFailedChangeIsAFailedJobWithItsErrorName) {
    Stack stack;
    stack.startDaemon();
    ASSERT_EQ(stack.sim({"inject", "0", "device-lost"}).exitCode, 0);
    auto r = stack.aismi({"vf", "enable", "-i", "0", "--count", "4"});
    EXPECT_GE(r.exitCode, 3) << "the job's error keeps its class: " << r.err;
    EXPECT_NE(r.err.find("card 0 (0000:3b:00.0): set VF count to 4"), std::string::npos) << r.err;
}

TEST(Query, AnswersTypedColumnsAndNamesAnUnknownProperty) {
    Stack stack;
    stack.startDaemon();
    auto r = busctl(stack, {"call", "org.aismi.Manager1", "/org/aismi/Manager1", "org.aismi.Manager1", "Query", "sas", "org.aismi.Card1", "2",
                            "Index", "TemperatureC"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.out.find("\"Index\" au 2 0 1"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"TemperatureC\" ad 2"), std::string::npos) << r.out;
    r = busctl(stack, {"call", "org.aismi.Manager1", "/org/aismi/Manager1", "org.aismi.Manager1", "Query", "sas", "org.aismi.Card1", "1", "Colour"});
    EXPECT_NE(r.exitCode, 0);
    EXPECT_NE(r.err.find("no property 'Colour'"), std::string::npos) << r.err;
}

TEST(AismiCommands, TakeOptionsFirstAndRefuseUnknownWords) {
    Stack stack;
    stack.startDaemon();
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "1", "--count", "2"}).exitCode, 0);
    auto r = stack.aismi({"-i", "1", "vf", "disable"});
    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(stack.aismi({"-i", "1", "--query-card=vf.enabled", "--format=csv,noheader"}).out, "0\n");
    for (std::vector<std::string> bad : {std::vector<std::string>{"vff", "list"}, {"topo"}, {"pmon"}, {"foo"}, {"vf", "list", "foo"}}) {
        r = stack.aismi(bad);
        EXPECT_EQ(r.exitCode, 2) << bad[0];
        EXPECT_TRUE(r.out.empty()) << "nothing else is printed instead";
    }
}

TEST(AismiCommands, FailWhenStdoutCannotBeWritten) {
    Stack stack;
    stack.startDaemon();
    // Also what streams: --follow used to keep running, writing nowhere, until killed.
    for (const char* command : {" -L", " events --follow", " events --follow -j", " dmon -c 100"}) {
        auto r = run({"/bin/sh", "-c", "timeout 20 " + std::string(AISMI_PATH) + command + " > /dev/full"},
                     {{{"DBUS_SYSTEM_BUS_ADDRESS", stack.busAddress()}}, std::nullopt, "", ""});
        EXPECT_EQ(r.exitCode, 10) << command;
        EXPECT_NE(r.err.find("cannot write to standard output"), std::string::npos) << command << ": " << r.err;
    }
}
