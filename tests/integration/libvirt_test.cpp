// VFs for libvirt domains with a real libvirtd (libvirtd.hpp: the test driver, unprivileged).
// The test driver has no live attach, so domains here are defined and stopped (the live path
// is covered by the unit tests' fake). A kill at every step of assign and release is in the
// crash matrix (crash_matrix_test.cpp).
#include "libvirtd.hpp"
#include "stack.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

using namespace aismi::test;

namespace {

class LibvirtTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "libvirtd runs as another uid: needs root";
        lv = std::make_unique<Libvirtd>();
        if (HasFatalFailure()) return;
        Stack::Options o;
        o.cards = 2;
        o.vfs = 4;
        o.extraArgs = {"--libvirt-uri=" + lv->uri()};
        stack = std::make_unique<Stack>(o);
        stack->startDaemon();
        ASSERT_TRUE(waitForEvent("connected to libvirt"));
        ASSERT_EQ(stack->aismi({"vf", "enable", "-i", "0", "--count", "4"}).exitCode, 0);
        for (const char* vf : {"0:1", "0:2", "0:3"}) ASSERT_EQ(stack->aismi({"vf", "provision", vf, "--profile", "eighth"}).exitCode, 0);
    }
    void TearDown() override {
        stack.reset();
        lv.reset();
    }
    bool waitForEvent(const std::string& text, int timeoutMs = 15000) {
        for (int waited = 0; waited < timeoutMs; waited += 100) {
            if (stack->aismi({"events", "-n", "1000"}).out.find(text) != std::string::npos) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return false;
    }
    std::string address(const std::string& vf) { return stack->vfField(vf, "pci.bus_id"); }
    std::string memory(const std::string& vf) {
        std::string m = stack->sim({"vf-memory", "read", vf}).out;
        while (!m.empty() && m.back() == '\n') m.pop_back();
        return m;
    }
    RunResult hook(const std::string& domain, const std::string& xml, const std::string& busAddress) {
        const std::string file = stack->path("hook-input.xml");
        std::ofstream(file) << xml;
        return run({"/bin/sh", "-c", std::string(AISMI_HOOK_PATH) + " '" + domain + "' prepare begin - < '" + file + "'"},
                   {{{"DBUS_SYSTEM_BUS_ADDRESS", busAddress}, {"AISMI_STATE_DIR", stack->stateDir()}}, std::nullopt, "", ""}, 30000);
    }

    std::unique_ptr<Libvirtd> lv;
    std::unique_ptr<Stack> stack;
};

}  // namespace

TEST_F(LibvirtTest, AssignShowsInTheDomainReleaseScrubsAndAnUndefinedDomainFreesItsVfs) {
    ASSERT_EQ(stack->aismi({"quota", "set", "acme", "--max-vfs", "2"}).exitCode, 0);
    lv->define("vm1");
    auto assigned = stack->aismi({"vf", "assign", "0:1", "--domain", "vm1", "--tenant", "acme"});
    ASSERT_EQ(assigned.exitCode, 0) << assigned.err;
    EXPECT_NE(assigned.out.find("assigned to domain 'vm1' for tenant acme, bound to vfio-pci"), std::string::npos) << assigned.out;
    const std::string a1 = address("0:1");
    EXPECT_TRUE(lv->has("vm1", a1)) << lv->dumpxml("vm1");
    EXPECT_NE(lv->dumpxml("vm1").find("managed='no'"), std::string::npos);
    EXPECT_EQ(stack->vfField("0:1", "domain,tenant,driver,assignment,used_by"), "vm1, acme, vfio-pci, assigned, domain:vm1");
    auto listed = stack->aismi({"vf", "list", "--domain", "vm1"});
    EXPECT_NE(listed.out.find("vm1"), std::string::npos);
    EXPECT_NE(listed.out.find("acme"), std::string::npos);
    EXPECT_EQ(listed.out.find("0:2 "), std::string::npos) << "only the domain's VFs";

    // The tenant leaves something behind; release must not pass it on, nor touch the neighbour.
    ASSERT_EQ(stack->sim({"vf-memory", "write", "0:1", "tenant-secret"}).exitCode, 0);
    ASSERT_EQ(stack->sim({"vf-memory", "write", "0:2", "neighbour"}).exitCode, 0);
    auto released = stack->aismi({"vf", "release", "0:1"});
    ASSERT_EQ(released.exitCode, 0) << released.err;
    EXPECT_FALSE(lv->has("vm1", a1)) << lv->dumpxml("vm1");
    EXPECT_EQ(memory("0:1"), "clean");
    EXPECT_EQ(memory("0:2"), "neighbour");
    EXPECT_EQ(stack->vfField("0:1", "domain,tenant,driver,scrub_pending,used_by"), "[N/A], [N/A], aismi, false, None");

    // Undefining a domain frees its VFs, scrubbed.
    ASSERT_EQ(stack->aismi({"vf", "assign", "0:2", "--domain", "vm1"}).exitCode, 0);
    ASSERT_EQ(stack->sim({"vf-memory", "write", "0:2", "second-tenant"}).exitCode, 0);
    ASSERT_EQ(lv->virsh({"undefine", "vm1"}).exitCode, 0);
    EXPECT_TRUE(stack->waitForVf("0:2", "domain,driver,scrub_pending", "[N/A], aismi, false"));
    EXPECT_EQ(memory("0:2"), "clean");
    EXPECT_TRUE(waitForEvent("no longer exists"));
}

TEST_F(LibvirtTest, BadInputIsRefusedWithWhatWasWrongAndChangesNothing) {
    lv->define("vm1");
    const auto refused = [&](std::vector<std::string> args, int code, const std::string& says) {
        auto r = stack->aismi(args);
        EXPECT_EQ(r.exitCode, code) << r.err;
        EXPECT_NE(r.err.find(says), std::string::npos) << r.err;
    };
    refused({"vf", "assign", "0:1", "--domain", "nosuch"}, 3, "libvirt has no domain 'nosuch'");
    refused({"vf", "assign", "0:9", "--domain", "vm1"}, 3, "VF 9");
    refused({"vf", "assign", "0:0", "--domain", "vm1"}, 13, "not provisioned");
    refused({"vf", "assign", "0:1", "--domain", "a/b"}, 2, "not a libvirt domain name");
    refused({"vf", "assign", "0:1", "--domain", "vm1", "--tenant", "no spaces"}, 2, "not a tenant name");
    refused({"vf", "assign", "0:1"}, 2, "needs --domain");
    refused({"vf", "assign", "0", "--domain", "vm1"}, 2, "names a card");
    refused({"vf", "bind", "0:1", "--driver", "nouveau"}, 2, "vfio-pci or host");
    refused({"vf", "release", "0:1"}, 13, "not assigned");
    refused({"vf", "release", "0:1", "extra"}, 2, "");
    // Reads are open; every change needs org.aismi.assign-vfs (without polkit: root only).
    for (std::vector<std::string> change : {std::vector<std::string>{"vf", "assign", "0:1", "--domain", "vm1"},
                                            {"vf", "bind", "0:1", "--driver", "vfio-pci"}, {"vf", "release", "0:1"}}) {
        auto r = stack->aismi(change, 65534u);
        EXPECT_EQ(r.exitCode, 7) << r.err;
        EXPECT_NE(r.err.find("polkit is not running"), std::string::npos) << r.err;
    }
    EXPECT_EQ(stack->aismi({"vf", "list", "--domain", "vm1"}, 65534u).exitCode, 0);
    // A VF given to a domain is never destroyed under it, not even with --force.
    ASSERT_EQ(stack->aismi({"vf", "assign", "0:3", "--domain", "vm1"}).exitCode, 0);
    refused({"vf", "disable", "-i", "0", "--force"}, 13, "assigned to libvirt domains");
    EXPECT_EQ(stack->vfField("0:3", "domain"), "vm1");
    ASSERT_EQ(stack->aismi({"vf", "release", "0:3"}).exitCode, 0);
    EXPECT_EQ(stack->vfField("0:1", "domain,driver"), "[N/A], aismi");
    EXPECT_EQ(lv->dumpxml("vm1").find("hostdev"), std::string::npos);
    // A domain that vanishes midway: assigning to it after it is gone is refused cleanly.
    ASSERT_EQ(lv->virsh({"undefine", "vm1"}).exitCode, 0);
    refused({"vf", "assign", "0:1", "--domain", "vm1"}, 3, "libvirt has no domain 'vm1'");
    EXPECT_EQ(stack->vfField("0:1", "domain,driver"), "[N/A], aismi");
}

TEST_F(LibvirtTest, TheHookRefusesWhatBreaksAQuotaAndAllowsWhatIsAssigned) {
    ASSERT_EQ(stack->aismi({"quota", "set", "acme", "--max-vfs", "1"}).exitCode, 0);
    lv->define("vm1");
    ASSERT_EQ(stack->aismi({"vf", "assign", "0:1", "--domain", "vm1", "--tenant", "acme"}).exitCode, 0);
    // A platform defines vm2 with another VF for acme by itself: adopted, but over quota.
    lv->define("vm2", {address("0:2")}, "acme");
    ASSERT_TRUE(stack->waitForVf("0:2", "domain", "vm2"));
    ASSERT_TRUE(waitForEvent("quota does not cover it"));
    const std::string bus = stack->busAddress();
    auto ok = hook("vm1", lv->dumpxml("vm1"), bus);
    EXPECT_EQ(ok.exitCode, 0) << ok.err;
    auto over = hook("vm2", lv->dumpxml("vm2"), bus);
    EXPECT_EQ(over.exitCode, 1);
    EXPECT_NE(over.err.find("may not start"), std::string::npos) << over.err;
    EXPECT_NE(over.err.find("quota"), std::string::npos) << over.err;
    auto bad = hook("x", "<domain><name>x</name", bus);
    EXPECT_EQ(bad.exitCode, 1);
    EXPECT_NE(bad.err.find("domain XML"), std::string::npos) << bad.err;
    auto other = hook("vm9", "<domain><name>vm9</name><devices>" + Libvirtd::hostdev("0000:5e:00.1") + "</devices></domain>", bus);
    EXPECT_EQ(other.exitCode, 0) << "hostdevs that are not aismid's: libvirt decides";
    // Other operations pass without asking.
    EXPECT_EQ(run({AISMI_HOOK_PATH, "vm2", "stopped", "end", "-"}).exitCode, 0);
    // aismid down: a domain with its VFs may not start; one without may.
    stack->stopDaemon();
    auto down = hook("vm1", lv->dumpxml("vm1"), bus);
    EXPECT_EQ(down.exitCode, 1);
    EXPECT_NE(down.err.find("aismid is not running"), std::string::npos) << down.err;
    EXPECT_EQ(hook("vm9", "<domain><name>vm9</name></domain>", bus).exitCode, 0);
}

TEST_F(LibvirtTest, LibvirtdKilledAndRestartedIsReconnectedAndReconciled) {
    lv->define("vm1");
    ASSERT_EQ(stack->aismi({"vf", "assign", "0:1", "--domain", "vm1"}).exitCode, 0);
    ASSERT_EQ(stack->sim({"vf-memory", "write", "0:1", "before-restart"}).exitCode, 0);
    lv->kill();
    ASSERT_TRUE(waitForEvent("lost libvirt"));
    EXPECT_EQ(stack->aismi({"vf", "list"}).exitCode, 0) << "aismid keeps serving";
    auto refused = stack->aismi({"vf", "assign", "0:2", "--domain", "vm1"});
    EXPECT_EQ(refused.exitCode, 18) << refused.err;
    EXPECT_NE(refused.err.find("not reachable"), std::string::npos) << refused.err;
    lv->start();
    // The test driver starts empty: vm1 is gone, so its VF comes back scrubbed and free; a
    // domain defined with a VF by someone else is adopted.
    EXPECT_TRUE(stack->waitForVf("0:1", "domain,driver,scrub_pending", "[N/A], aismi, false"));
    EXPECT_EQ(memory("0:1"), "clean");
    lv->define("vm2", {address("0:3")});
    EXPECT_TRUE(stack->waitForVf("0:3", "domain,assignment", "vm2, assigned"));
    EXPECT_TRUE(waitForEvent("adopted: domain 'vm2' has it"));
}

TEST_F(LibvirtTest, AVfWhoseDomainWentWhileItsCardWasLostIsFreedOnceTheCardAnswers) {
    // The reconciliation that saw the domain go could not free the VF (its card did not
    // answer), and no later libvirt event came to try again: the VF stayed the domain's for
    // good (found by aismi-chaos). Now the poll tries again until it is done.
    lv->define("vm1");
    ASSERT_EQ(stack->aismi({"vf", "assign", "0:1", "--domain", "vm1"}).exitCode, 0);
    ASSERT_EQ(stack->sim({"vf-memory", "write", "0:1", "vm1-data"}).exitCode, 0);
    ASSERT_EQ(stack->sim({"inject", "0", "device-lost"}).exitCode, 0);
    ASSERT_TRUE(stack->waitForCardField("health", "lost", 0));
    ASSERT_EQ(lv->virsh({"undefine", "vm1"}).exitCode, 0);
    std::this_thread::sleep_for(std::chrono::seconds(2));  // the reconciliation runs while the card is lost
    EXPECT_EQ(stack->vfField("0:1", "domain"), "vm1") << "nothing is freed on a card that does not answer";
    ASSERT_EQ(stack->sim({"clear", "0"}).exitCode, 0);
    EXPECT_TRUE(stack->waitForVf("0:1", "domain,driver,scrub_pending", "[N/A], aismi, false")) << stack->aismi({"events", "-n", "30"}).out;
    EXPECT_EQ(memory("0:1"), "clean");
}

TEST_F(LibvirtTest, AnAssignmentAKillInterruptedIsCompletedWhenItsDomainRunsWithTheVf) {
    // The roll-back took the hostdev out of the running domain (live detach); libvirt's test
    // driver cannot, so the row stayed 'assigning' for good (found by aismi-chaos). A device
    // is not pulled out of a running VM: the assignment is completed.
    lv->define("vm1");
    const std::string a1 = address("0:1");
    stack->stopDaemon();
    stack->daemonEnv()["AISMI_CRASH_AT"] = "assign:attached";
    stack->startDaemon();
    ASSERT_TRUE(waitForEvent("connected to libvirt"));
    Process client = stack->spawnAismi({"vf", "assign", "0:1", "--domain", "vm1"}, std::nullopt, "client");
    const int status = stack->waitForDaemonExit(15000);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    client.stop(SIGTERM, 30000);
    stack->daemonEnv().erase("AISMI_CRASH_AT");
    ASSERT_TRUE(lv->has("vm1", a1)) << "attached to the definition before the kill";
    ASSERT_EQ(lv->virsh({"start", "vm1"}).exitCode, 0);
    stack->startDaemon();
    EXPECT_TRUE(stack->waitForVf("0:1", "domain,assignment,scrub_pending", "vm1, assigned, true")) << stack->aismi({"events", "-n", "30"}).out;
    EXPECT_TRUE(lv->has("vm1", a1));
    EXPECT_NE(stack->aismi({"events", "-n", "50"}).out.find("is completed, not rolled back"), std::string::npos);
}

TEST_F(LibvirtTest, ACardResetOrAPowerCycleGivesAnAssignedVfBackToVfioAndNobodyChangesItUnderItsDomain) {
    lv->define("vm1");
    ASSERT_EQ(stack->aismi({"vf", "assign", "0:1", "--domain", "vm1"}).exitCode, 0);
    auto reset = stack->aismi({"reset", "-i", "0", "--force"});
    ASSERT_EQ(reset.exitCode, 0) << reset.err;
    EXPECT_TRUE(stack->waitForVf("0:1", "domain,driver", "vm1, vfio-pci")) << stack->vfField("0:1", "domain,driver");
    // The power cycle re-creates the VFs on their host driver; aismid binds the domain's back.
    ASSERT_EQ(stack->sim({"power-cycle", "0"}).exitCode, 0);
    EXPECT_TRUE(waitForEvent("bound back to vfio-pci for domain 'vm1' (it was on 'aismi'")) << stack->aismi({"events", "-n", "30"}).out;
    EXPECT_TRUE(stack->waitForVf("0:1", "domain,driver,profile", "vm1, vfio-pci, eighth")) << stack->vfField("0:1", "domain,driver,profile");
    auto unprovision = stack->aismi({"vf", "unprovision", "0:1"});
    EXPECT_NE(unprovision.exitCode, 0) << "the VF is its domain's";
    EXPECT_NE(unprovision.err.find("assigned to domain vm1"), std::string::npos) << unprovision.err;
    EXPECT_EQ(stack->vfField("0:1", "domain,profile"), "vm1, eighth");
}

TEST_F(LibvirtTest, AReleaseWhoseScrubFailsSaysTheVfWasReleased) {
    // It answered only the scrub's error, so the caller took the release for refused while the
    // domain no longer had the VF (found by aismi-chaos).
    lv->define("vm1");
    ASSERT_EQ(stack->aismi({"vf", "assign", "0:1", "--domain", "vm1"}).exitCode, 0);
    ASSERT_EQ(stack->sim({"inject", "0:1", "flr-fail"}).exitCode, 0);
    auto released = stack->aismi({"vf", "release", "0:1"});
    EXPECT_NE(released.exitCode, 0) << "the VF is out of use";
    EXPECT_NE(released.err.find("released from domain 'vm1', but its reset and scrub failed"), std::string::npos) << released.err;
    EXPECT_EQ(stack->vfField("0:1", "domain,scrub_pending"), "[N/A], true");
    EXPECT_FALSE(lv->has("vm1", address("0:1")));
}

TEST_F(LibvirtTest, AnAdoptedVfOnItsHostDriverIsNotReprovisionedUnderItsDomain) {
    // Provisioning looked only at the driver: a VF a domain had (adopted, in conflict: not on
    // vfio-pci) changed tenant under the domain, unscrubbed (found by aismi-chaos).
    lv->define("vm2", {address("0:2")});
    ASSERT_TRUE(stack->waitForVf("0:2", "domain,driver", "vm2, aismi"));
    auto unprovision = stack->aismi({"vf", "unprovision", "0:2"});
    EXPECT_NE(unprovision.exitCode, 0);
    EXPECT_NE(unprovision.err.find("the VF is assigned to domain vm2; release it first"), std::string::npos) << unprovision.err;
    auto provision = stack->aismi({"vf", "provision", "0:2", "--profile", "quarter", "--tenant", "acme"});
    EXPECT_NE(provision.exitCode, 0);
    EXPECT_EQ(stack->vfField("0:2", "profile,tenant"), "eighth, [N/A]");
}

TEST_F(LibvirtTest, ManyClientsAssigningAndReleasingAtOnceNeverDoubleAssign) {
    lv->define("vm1");
    lv->define("vm2");
    std::vector<Process> clients;
    for (int round = 0; round < 3; ++round) {
        for (const char* vf : {"0:1", "0:2", "0:3"})
            for (const char* dom : {"vm1", "vm2"})
                clients.push_back(stack->spawnAismi({"vf", "assign", vf, "--domain", dom}, std::nullopt,
                                                    "assign-" + std::to_string(round) + vf + dom));
        for (auto& c : clients) c.stop(0, 30000);
        clients.clear();
        for (const char* vf : {"0:1", "0:2", "0:3"}) {
            const std::string a = address(vf);
            const std::string dom = stack->vfField(vf, "domain");
            ASSERT_FALSE(dom.empty()) << vf << ": one of the two assigns wins";
            EXPECT_EQ(lv->has("vm1", a), dom == "vm1") << vf;
            EXPECT_EQ(lv->has("vm2", a), dom == "vm2") << vf << ": never in two domains";
        }
        for (const char* vf : {"0:1", "0:2", "0:3"})
            for (int twice = 0; twice < 2; ++twice) clients.push_back(stack->spawnAismi({"vf", "release", vf}, std::nullopt, "release" + std::to_string(twice) + vf));
        for (auto& c : clients) c.stop(0, 30000);
        clients.clear();
        for (const char* vf : {"0:1", "0:2", "0:3"}) EXPECT_TRUE(stack->waitForVf(vf, "domain,driver", "[N/A], aismi")) << vf;
        EXPECT_EQ(lv->dumpxml("vm1").find("hostdev"), std::string::npos);
        EXPECT_EQ(lv->dumpxml("vm2").find("hostdev"), std::string::npos);
    }
}
