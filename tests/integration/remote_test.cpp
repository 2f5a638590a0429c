// aismi -H: two "hosts" (each a private bus with its own aismid), each behind a real sshd on a
// loopback port whose sessions run systemd-stdio-bridge to that bus, as sd-bus' remote
// transport expects. aismi finds no local bus at all: every answer came over SSH.
#include "http_client.hpp"
#include "stack.hpp"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

using namespace aismi::test;

namespace {

std::string sh(const std::string& command) { return run({"/bin/sh", "-c", command}).out; }

// An sshd on 127.0.0.1:port whose every session is a bridge to `busAddress`.
class SshHost {
public:
    SshHost(const std::string& dir, const std::string& busAddress, const std::string& clientKey) : port_(freeLoopbackPort()) {
        sh("ssh-keygen -q -t ed25519 -N '' -f '" + dir + "/host_key'");
        std::filesystem::copy_file(clientKey + ".pub", dir + "/authorized_keys");
        std::ofstream(dir + "/sshd_config") << "ListenAddress 127.0.0.1\nPort " << port_ << "\nHostKey " << dir << "/host_key\nPidFile none\n"
                                            << "AuthorizedKeysFile " << dir << "/authorized_keys\nPasswordAuthentication no\n"
                                            << "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\n"
                                            << "ForceCommand " << STDIO_BRIDGE_PATH << " --bus-path=" << busAddress << "\n";
        sshd_ = Process::spawn({SSHD_PATH, "-D", "-e", "-f", dir + "/sshd_config"}, {{}, std::nullopt, "", dir + "/sshd.log"});
        log_ = dir + "/sshd.log";
    }
    bool ready() { return waitForText(log_, "Server listening", 10000); }
    std::string host() const { return "root@127.0.0.1:" + std::to_string(port_); }
    std::string log() const { return fileText(log_); }

private:
    int port_;
    Process sshd_;
    std::string log_;
};

class RemoteTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "sshd needs root to serve a session";
        // sshd wants its privilege separation directory. It stays (empty, as the ssh service
        // leaves it at boot): these tests run in parallel, and one removing it at its end made
        // another's sshd refuse to start ("Missing privilege separation directory").
        ::mkdir("/run/sshd", 0755);
        sh("ssh-keygen -q -t ed25519 -N '' -f '" + a.path("client_key") + "'");
        // What the user's ~/.ssh/config would say, without touching it: ssh is found on PATH.
        std::filesystem::create_directories(a.path("bin"));
        std::ofstream(a.path("bin/ssh")) << "#!/bin/sh\nexec /usr/bin/ssh -i '" << a.path("client_key") << "' -o UserKnownHostsFile='"
                                          << a.path("known_hosts") << "' -o StrictHostKeyChecking=no -o BatchMode=yes -o LogLevel=ERROR \"$@\"\n";
        ::chmod(a.path("bin/ssh").c_str(), 0755);
        a.startDaemon();
        b.startDaemon();
        std::filesystem::create_directories(a.path("ssh"));
        std::filesystem::create_directories(b.path("ssh"));
        hostA = std::make_unique<SshHost>(a.path("ssh"), a.busAddress(), a.path("client_key"));
        hostB = std::make_unique<SshHost>(b.path("ssh"), b.busAddress(), a.path("client_key"));
        ASSERT_TRUE(hostA->ready()) << hostA->log();
        ASSERT_TRUE(hostB->ready()) << hostB->log();
    }
    void TearDown() override {
        hostA.reset();
        hostB.reset();
    }
    /// aismi with no local bus to find: only what comes over SSH.
    RunResult remote(std::vector<std::string> args) {
        args.insert(args.begin(), AISMI_PATH);
        SpawnOptions o;
        o.env = {{"PATH", a.path("bin") + ":/usr/bin:/bin"}, {"DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/bus"}};
        return run(args, o);
    }
    static Stack::Options cards(unsigned n) {
        Stack::Options o;
        o.cards = n;
        return o;
    }
    Stack a{cards(1)};
    Stack b{cards(2)};
    std::unique_ptr<SshHost> hostA, hostB;
};

}  // namespace

TEST_F(RemoteTest, QueriesSeveralHostsOverSshAndPrefixesEachRowWithItsHost) {
    auto one = remote({"-H", hostA->host(), "-L"});
    ASSERT_EQ(one.exitCode, 0) << one.err << hostA->log();
    EXPECT_NE(one.out.find("card 0: "), std::string::npos) << one.out;
    EXPECT_EQ(one.out.find("card 1: "), std::string::npos) << "host A has one card";

    auto both = remote({"--query-card=index,pci.bus_id", "-H", hostA->host(), "--format=csv", "-H", hostB->host()});
    ASSERT_EQ(both.exitCode, 0) << both.err;
    EXPECT_EQ(both.out, "host, index, pci.bus_id\n" + hostA->host() + ", 0, 0000:3b:00.0\n" + hostB->host() + ", 0, 0000:3b:00.0\n" +
                            hostB->host() + ", 1, 0000:3d:00.0\n");

    // A change goes to the one host named, authorized by that host (root here), and shows there.
    auto enable = remote({"vf", "enable", "-i", "0", "--count", "2", "-H", hostB->host()});
    ASSERT_EQ(enable.exitCode, 0) << enable.err;
    EXPECT_EQ(b.aismi({"-i", "0", "--query-card=vf.enabled", "--format=csv,noheader"}).out, "2\n");
    EXPECT_EQ(a.aismi({"-i", "0", "--query-card=vf.enabled", "--format=csv,noheader"}).out, "0\n");

    // JSON from several hosts: one object by host.
    auto json = remote({"-H", hostA->host(), "-H", hostB->host(), "health", "-j"});
    ASSERT_EQ(json.exitCode, 0) << json.err;
    EXPECT_EQ(json.out.rfind("{\n \"" + hostA->host() + "\": [", 0), 0u) << json.out;
    EXPECT_NE(json.out.find(",\n \"" + hostB->host() + "\": ["), std::string::npos) << json.out;
}

TEST_F(RemoteTest, AHostThatCannotBeReachedIsNamedAndTheOthersStillAnswer) {
    const std::string nowhere = "root@127.0.0.1:" + std::to_string(freeLoopbackPort());
    auto r = remote({"-H", nowhere, "-H", hostA->host(), "--query-card=index", "--format=csv,noheader"});
    EXPECT_EQ(r.exitCode, 24) << "a host that cannot be reached, not 'aismid is not running' (18): " << r.err;
    EXPECT_NE(r.err.find("aismi: " + nowhere + ": "), std::string::npos) << r.err;
    EXPECT_EQ(r.out, hostA->host() + ", 0\n");
    auto one = remote({"-H", nowhere, "-L"});
    EXPECT_EQ(one.exitCode, 24);
    EXPECT_NE(one.err.find("aismi: " + nowhere + ": cannot reach"), std::string::npos) << one.err;

    for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
             {"-H", "-oProxyCommand=touch /tmp/x", "-L"}, {"-H", "a b", "-L"}, {"-H", "host:0", "-L"}, {"-H", "host:99999", "-L"},
             {"-H", "@host", "-L"}, {"-H", hostA->host(), "-H", hostB->host(), "vf", "enable", "-i", "0", "--count", "1"},
             {"-H", hostA->host(), "-H", hostB->host(), "dmon"}, {"-H", hostA->host(), "-H", hostB->host(), "-l", "1"}}) {
        auto refused = remote(bad);
        EXPECT_EQ(refused.exitCode, 2) << bad[1] << ": " << refused.err;
        EXPECT_EQ(refused.out, "");
    }
}
