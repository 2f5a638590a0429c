// aismid under a hostile D-Bus client (aismi-dbus-fuzz, tests/dbus_fuzz/): every method and
// property of every interface, then random and hostile calls, against the real aismid with a
// real polkitd. As uid 65534 nothing may change; as root anything may, but aismid never crashes
// or stalls, every error is a named one, and its file descriptors and memory stay flat.
// AISMI_DBUS_FUZZ_CALLS sets the calls per run (5,000 by default; bench/dbus-fuzz runs more).
#include "stack.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

using namespace aismi::test;

namespace {

unsigned fuzzCalls() { return static_cast<unsigned>(testSize("AISMI_DBUS_FUZZ_CALLS", 5000, 1000, 100)); }

// The fuzzer's arguments for `calls` calls; AISMI_DBUS_FUZZ_SEED replays a run whose seed a
// failure printed.
std::vector<std::string> fuzzArgs(unsigned calls) {
    std::vector<std::string> args{"--calls", std::to_string(calls), "--timeout-ms", "60000"};
    if (const char* seed = std::getenv("AISMI_DBUS_FUZZ_SEED"); seed && *seed) args.insert(args.end(), {"--seed", seed});
    return args;
}

Stack::Options options() {
    Stack::Options o;
    o.withPolkit = true;
    o.pollMs = 100;
    return o;
}

// What a change would show: every VF's and card's state, the quotas, the recovery policy, the
// firmware records (telemetry such as temperatures moves by itself and is left out).
std::string stateOf(Stack& stack) {
    std::string s;
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--query-vf=card,vf,state,driver,compute_units,memory.total,engines,compute_units.burst,weight,profile,tenant,quarantined,domain,assignment,holder,reset_count",
              "--format=csv"},
             {"--query-card=index,vf.enabled,firmware.version,firmware.active_bank,oversubscription.compute,oversubscription.memory", "--format=csv"},
             {"quota", "show"},
             {"policy", "show"},
             {"firmware", "jobs"}}) {
        auto r = stack.aismi(args);
        EXPECT_EQ(r.exitCode, 0) << r.err;
        s += r.out;
    }
    return s;
}

// The state the fuzzer starts from: VFs enabled and provisioned, a quota, so that calls reach
// deep into the services.
void prepare(Stack& stack) {
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "0", "--count", "4"}).exitCode, 0);
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "1", "--count", "2"}).exitCode, 0);
    ASSERT_EQ(stack.aismi({"quota", "set", "acme", "--max-vfs", "3"}).exitCode, 0);
    ASSERT_EQ(stack.aismi({"vf", "provision", "0:0", "--profile", "quarter", "--tenant", "acme"}).exitCode, 0);
    ASSERT_EQ(stack.aismi({"vf", "provision", "0:1", "--profile", "quarter"}).exitCode, 0);
}

}  // namespace

TEST(DbusFuzz, AnUnprivilegedClientGetsNamedErrorsAndChangesNothing) {
    Stack stack(options());
    if (!stack.polkitRunning()) GTEST_SKIP() << "polkitd is not installed, or the test does not run as root";
    stack.startDaemon();
    prepare(stack);
    const std::string before = stateOf(stack);
    const pid_t pid = stack.daemonPid();
    auto r = stack.client(AISMI_DBUS_FUZZ_PATH, fuzzArgs(fuzzCalls()), 65534);
    EXPECT_EQ(r.exitCode, 0) << r.out << r.err << stack.daemonReport();
    EXPECT_NE(r.out.find("as uid 65534"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("org.aismi.Error.PermissionDenied"), std::string::npos) << "changes were refused by polkit\n" << r.out;
    EXPECT_EQ(stack.daemonPid(), pid);
    EXPECT_EQ(stateOf(stack), before) << "uid 65534 changed something\n" << r.out;
    EXPECT_EQ(stack.aismi({"-L"}).exitCode, 0) << "aismid still serves";
    std::cout << r.out;
}

TEST(DbusFuzz, RootsHostileCallsNeverCrashOrStallAismidAndLeaveItsResourcesFlat) {
    Stack stack(options());
    if (!stack.polkitRunning()) GTEST_SKIP() << "polkitd is not installed, or the test does not run as root";
    stack.startDaemon();
    prepare(stack);
    const pid_t pid = stack.daemonPid();
    // A warm-up run: the objects, caches and statements a run brings into being exist after it.
    auto warm = stack.client(AISMI_DBUS_FUZZ_PATH, fuzzArgs(fuzzCalls() / 4));
    ASSERT_EQ(warm.exitCode, 0) << warm.out << warm.err << stack.daemonReport();
    const long fds0 = openFds(pid), rss0 = rssKib(pid);
    auto r = stack.client(AISMI_DBUS_FUZZ_PATH, fuzzArgs(fuzzCalls()));
    EXPECT_EQ(r.exitCode, 0) << r.out << r.err << stack.daemonReport();
    EXPECT_NE(r.out.find("0 failures"), std::string::npos) << r.out;
    const long fds1 = openFds(pid), rss1 = rssKib(pid);
    EXPECT_EQ(stack.daemonPid(), pid);
    EXPECT_EQ(stack.aismi({"-L"}).exitCode, 0) << "aismid still serves";
    EXPECT_LE(fds1, fds0 + 2) << "file descriptors " << fds0 << " -> " << fds1;
#if !defined(__SANITIZE_ADDRESS__)
    EXPECT_LE(rss1, rss0 + 8 * 1024) << "RSS " << rss0 << " -> " << rss1 << " KiB";
#endif
    std::cout << r.out << "aismid: " << fds0 << " -> " << fds1 << " descriptors, " << rss0 / 1024.0 << " -> " << rss1 / 1024.0 << " MiB\n";
}
