// Every change is authorized: by polkit when it runs, else root only. Reads are open.
#include "stack.hpp"

#include <gtest/gtest.h>

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
