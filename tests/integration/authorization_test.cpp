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

namespace {

// A polkit rules file for the test's life (polkitd reads rules.d when it starts).
class RulesFile {
public:
    explicit RulesFile(const std::string& js) : path_("/etc/polkit-1/rules.d/aismi-test-" + std::to_string(::getpid()) + ".rules") {
        std::ofstream(path_) << js;
    }
    ~RulesFile() { ::unlink(path_.c_str()); }
    RulesFile(const RulesFile&) = delete;
    RulesFile& operator=(const RulesFile&) = delete;

private:
    std::string path_;
};

}  // namespace

TEST(Authorization, EachChangeIsAskedUnderItsOwnActionAndOnlyThatActionAllowsIt) {
    if (::geteuid() != 0 || ::access("/etc/polkit-1/rules.d", W_OK) != 0) GTEST_SKIP() << "needs root and polkit's rules.d";
    // Six system users, each granted exactly one of aismi's actions by a rule; each tries one
    // change of every action. Only its own is let through (an activation with nothing staged
    // then fails for that reason, after the check); every other is refused by polkit.
    struct Grant {
        const char* user;
        uid_t uid;
        const char* action;
        std::vector<std::string> change;
    };
    const std::vector<Grant> grants{
        {"daemon", 1, "org.aismi.manage-vfs", {"vf", "enable", "-i", "1", "--count", "1"}},
        {"bin", 2, "org.aismi.manage-quotas", {"quota", "set", "t1", "--max-vfs", "1"}},
        {"sys", 3, "org.aismi.assign-vfs", {"vf", "bind", "0:0", "--driver", "vfio-pci"}},
        {"sync", 4, "org.aismi.update-firmware", {"firmware", "activate", "-i", "0", "--quiet"}},
        {"games", 5, "org.aismi.reset", {"vf", "reset", "0:1"}},
        {"man", 6, "org.aismi.manage-policy", {"policy", "set", "-i", "0", "--compute-oversubscription", "2"}},
    };
    // Every action the policy declares is here, each with auth_admin_keep for everyone else.
    std::ifstream in(AISMI_POLKIT_POLICY);
    const std::string policy((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t declared = 0;
    for (size_t at = policy.find("<action id="); at != std::string::npos; at = policy.find("<action id=", at + 1)) ++declared;
    EXPECT_EQ(declared, grants.size()) << "an action without a test here";
    size_t keep = 0;
    for (size_t at = policy.find("<allow_active>auth_admin_keep</allow_active>"); at != std::string::npos;
         at = policy.find("<allow_active>auth_admin_keep</allow_active>", at + 1))
        ++keep;
    EXPECT_EQ(keep, grants.size()) << "every action: an administrator's password, kept for a while";
    std::string js = "polkit.addRule(function(action, subject) {\n  var grants = {";
    for (const auto& g : grants) {
        EXPECT_NE(policy.find(std::string("<action id=\"") + g.action + "\">"), std::string::npos) << g.action;
        js += std::string("\"") + g.user + "\": \"" + g.action + "\", ";
    }
    js += "};\n  if (grants[subject.user] === action.id) return polkit.Result.YES;\n});\n";
    RulesFile rules(js);
    Stack stack(withPolkit());
    if (!stack.polkitRunning()) GTEST_SKIP() << "polkitd is not installed";
    stack.startDaemon();
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "0", "--count", "2"}).exitCode, 0);
    for (const auto& who : grants)
        for (const auto& what : grants) {
            auto r = stack.aismi(what.change, who.uid);
            if (who.action == what.action) {
                EXPECT_NE(r.exitCode, 7) << who.user << " may " << what.action << ": " << r.err;
                EXPECT_EQ(r.err.find("polkit refused"), std::string::npos) << who.user << ": " << r.err;
            } else {
                EXPECT_EQ(r.exitCode, 7) << who.user << " may not " << what.action << ": " << r.out << r.err;
                EXPECT_NE(r.err.find("polkit refused"), std::string::npos) << who.user << ": " << r.err;
            }
        }
}
