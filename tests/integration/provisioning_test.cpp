// Provisioning VFs with profiles through aismi and aismid: what a user types, what the device
// then holds, what is refused (and that nothing changed), and provisioning that comes back by
// itself after a power cycle.
#include "stack.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>
#include <sys/wait.h>

using namespace aismi::test;

namespace {

class Provisioning : public ::testing::Test {
protected:
    void SetUp() override {
        stack.startDaemon();
        ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "0", "--count", "4"}).exitCode, 0);
    }
    std::string vfs() { return stack.aismi({"--query-vf=vf,profile,tenant,compute_units", "--format=csv,noheader", "-i", "0"}).out; }
    // What a VF's (simulated) memory holds: "clean" after a scrub, else what a tenant left.
    std::string memory(const std::string& vf) {
        std::string m = stack.sim({"vf-memory", "read", vf}).out;
        while (!m.empty() && m.back() == '\n') m.pop_back();
        return m;
    }
    Stack stack;
};

}  // namespace

TEST_F(Provisioning, LaysOutACardWithTwoSizesFromTheCli) {
    auto refused = stack.aismi({"vf", "provision", "0:0", "--profile", "half"});
    EXPECT_EQ(refused.exitCode, 19) << refused.err;
    EXPECT_NE(refused.err.find("needs 64 compute units, 32 of 128 are free"), std::string::npos) << refused.err;
    for (const char* vf : {"0:1", "0:2", "0:3"}) ASSERT_EQ(stack.aismi({"vf", "unprovision", vf}).exitCode, 0);
    auto half = stack.aismi({"--tenant", "acme", "vf", "provision", "0:0", "--profile", "half"});  // options anywhere
    ASSERT_EQ(half.exitCode, 0) << half.err;
    EXPECT_EQ(half.out, "VF 0:0 (0000:3b:00.4): profile half for tenant acme, 64 compute units, 32512 MiB, 4 engines\n");
    ASSERT_EQ(stack.aismi({"vf", "provision", "0000:3b:00.5", "--profile", "quarter"}).exitCode, 0) << "by PCI address";
    EXPECT_EQ(vfs(), "0, half, acme, 64\n1, quarter, [N/A], 32\n2, [N/A], [N/A], 0\n3, [N/A], [N/A], 0\n");
    auto list = stack.aismi({"profile", "list", "-i", "0"});
    ASSERT_EQ(list.exitCode, 0) << list.err;
    EXPECT_NE(list.out.find("  quarter                      32        32       1   16256 MiB        2         1\n"), std::string::npos) << list.out;
    auto disable = stack.aismi({"vf", "disable", "-i", "0"});
    EXPECT_EQ(disable.exitCode, 13);
    EXPECT_NE(disable.err.find("VFs in use (0:0 is provisioned for tenant acme); unprovision or release them first, or force it"), std::string::npos)
        << disable.err;
    // A VF in use for two reasons is named once, with the one that matters most.
    ASSERT_EQ(stack.client(BUSCTL_PATH, {"--system", "call", "org.aismi.Manager1", "/org/aismi/Manager1/card0/vf0", "org.aismi.VirtualFunction1", "Hold",
                                         "s", "kubelet"}).exitCode, 0);
    disable = stack.aismi({"vf", "disable", "-i", "0"});
    EXPECT_NE(disable.err.find("VFs in use (0:0 is held by kubelet); unprovision"), std::string::npos) << disable.err;
    ASSERT_EQ(stack.aismi({"vf", "release", "0:0"}).exitCode, 0);
    auto forced = stack.aismi({"vf", "disable", "-i", "0", "--force"});
    EXPECT_EQ(forced.exitCode, 0) << forced.err;
    EXPECT_EQ(stack.aismi({"-i", "0", "--query-card=vf.enabled", "--format=csv,noheader"}).out, "0\n");
    EXPECT_EQ(stack.aismi({"partition", "show", "-i", "0", "-j"}).out, "[]\n") << "the provisioning went with the VFs";
}

TEST_F(Provisioning, RefusesBadInputClearlyAndChangesNothing) {
    const std::string before = vfs();
    const std::pair<std::vector<std::string>, std::string> bad[] = {
        {{"vf", "provision", "0:1", "--profile", "tenth"}, "no such profile"},
        {{"vf", "provision", "0", "--profile", "half"}, "names a card"},
        {{"vf", "provision", "0:1"}, "needs --profile"},
        {{"vf", "provision", "0:9", "--profile", "eighth"}, "has no VF 9"},
        {{"vf", "provision", "0:1", "--profile", "eighth", "--tenant", "a b"}, "is not a tenant name"},
        {{"vf", "provision", "0:1", "0:2", "--profile", "eighth"}, "takes one VF, not 2 words ('0:1 0:2')"},
        {{"vf", "unprovision", "0:x"}, "0:x"},
        {{"vf", "provision", "0:1", "--profile", "eighth", "--count", "3"}, "--count does not go with 'vf provision'"},
        {{"profile", "lst"}, "unknown command 'profile lst'"},
    };
    for (const auto& [args, why] : bad) {
        auto r = stack.aismi(args);
        EXPECT_NE(r.exitCode, 0) << args[1];
        EXPECT_NE(r.err.find(why), std::string::npos) << r.err;
    }
    EXPECT_EQ(vfs(), before);
}

TEST_F(Provisioning, IsRefusedToAnUnprivilegedUser) {
    ASSERT_EQ(stack.aismi({"vf", "unprovision", "0:3"}).exitCode, 0);
    auto r = stack.aismi({"vf", "provision", "0:3", "--profile", "eighth"}, 65534);
    EXPECT_EQ(r.exitCode, 7) << r.err;
    EXPECT_EQ(stack.aismi({"vf", "unprovision", "0:2"}, 65534).exitCode, 7);
    EXPECT_EQ(vfs(), "0, [N/A], [N/A], 32\n1, [N/A], [N/A], 32\n2, [N/A], [N/A], 32\n3, [N/A], [N/A], 0\n") << "nothing changed";
    EXPECT_EQ(stack.aismi({"profile", "list"}, 65534).exitCode, 0) << "reading stays open";
    // Authorization comes first, as for every change: a layout that would not fit is still
    // "not authorized" to someone who may not change it (issue 26 #20).
    r = stack.aismi({"partition", "apply", "-i", "0", "9xhalf"}, 65534);
    EXPECT_EQ(r.exitCode, 7) << r.err;
    r = stack.aismi({"partition", "apply", "-i", "0", "9xhalf", "--dry-run"}, 65534);
    EXPECT_NE(r.exitCode, 7) << "planning alone is open: " << r.err;
    EXPECT_NE(r.err.find("9xhalf"), std::string::npos) << "the plan's own refusal: " << r.err;
}

TEST_F(Provisioning, ComesBackByItselfAfterAPowerCycle) {
    for (const char* vf : {"0:1", "0:2", "0:3"}) ASSERT_EQ(stack.aismi({"vf", "unprovision", vf}).exitCode, 0);
    ASSERT_EQ(stack.aismi({"vf", "provision", "0:0", "--profile", "half", "--tenant", "acme"}).exitCode, 0);
    // A pod's VF (held by kubelet, on vfio-pci) is re-created on its host driver: it goes back.
    ASSERT_EQ(stack.client(BUSCTL_PATH, {"--system", "call", "org.aismi.Manager1", "/org/aismi/Manager1/card0/vf0", "org.aismi.VirtualFunction1",
                                         "Hold", "s", "kubelet"}).exitCode, 0);
    ASSERT_EQ(stack.vfField("0:0", "driver"), "vfio-pci");
    const std::string layout = vfs();
    ASSERT_EQ(stack.sim({"power-cycle", "0"}).exitCode, 0);
    for (int i = 0; i < 200 && stack.daemonLog().find("lost its VFs") == std::string::npos; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_NE(stack.daemonLog().find("lost its VFs"), std::string::npos) << "a poll saw it: " << stack.daemonLog();
    std::string now;
    for (int i = 0; i < 200 && (now = vfs()) != layout; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(now, layout) << "the VFs and their provisioning came back: " << stack.daemonLog();
    EXPECT_NE(stack.daemonLog().find("provisioning restored"), std::string::npos) << stack.daemonLog();
    EXPECT_TRUE(stack.waitForVf("0:0", "driver", "vfio-pci")) << stack.daemonLog();
    EXPECT_NE(stack.daemonLog().find("bound back to vfio-pci for kubelet (it was on 'aismi'"), std::string::npos) << stack.daemonLog();
}

// Issue 26 (11b): unprovisioning a VF, or giving it to another tenant or profile, resets and
// scrubs it before anyone else gets it; the neighbour keeps its memory; an unchanged
// provisioning keeps the owner's; a failed scrub keeps the VF out of use until one succeeds.
TEST_F(Provisioning, AVfChangesTenantsOnlyResetAndScrubbed) {
    ASSERT_EQ(stack.aismi({"vf", "provision", "0:0", "--profile", "quarter", "--tenant", "a"}).exitCode, 0);
    ASSERT_EQ(stack.sim({"vf-memory", "write", "0:0", "tenant-a-secret"}).exitCode, 0);
    ASSERT_EQ(stack.sim({"vf-memory", "write", "0:1", "neighbour"}).exitCode, 0);
    auto same = stack.aismi({"vf", "provision", "0:0", "--profile", "quarter", "--tenant", "a"});
    ASSERT_EQ(same.exitCode, 0) << same.err;
    EXPECT_EQ(memory("0:0"), "tenant-a-secret") << "the same tenant and profile: nothing changed hands";
    auto unprovision = stack.aismi({"vf", "unprovision", "0:0"});
    ASSERT_EQ(unprovision.exitCode, 0) << unprovision.err;
    EXPECT_EQ(memory("0:0"), "clean") << "scrubbed before the command returned";
    EXPECT_EQ(memory("0:1"), "neighbour") << "the neighbour is not touched";
    EXPECT_NE(stack.aismi({"events", "-n", "100"}).out.find("reset (FLR) and scrubbed before the VF changes hands"), std::string::npos);
    ASSERT_EQ(stack.aismi({"vf", "provision", "0:0", "--profile", "quarter", "--tenant", "b"}).exitCode, 0);
    EXPECT_EQ(memory("0:0"), "clean");
    // Straight from tenant b to tenant c, and from one profile to another.
    ASSERT_EQ(stack.sim({"vf-memory", "write", "0:0", "tenant-b-secret"}).exitCode, 0);
    ASSERT_EQ(stack.aismi({"vf", "provision", "0:0", "--profile", "quarter", "--tenant", "c"}).exitCode, 0);
    EXPECT_EQ(memory("0:0"), "clean");
    ASSERT_EQ(stack.sim({"vf-memory", "write", "0:0", "tenant-c-secret"}).exitCode, 0);
    ASSERT_EQ(stack.aismi({"vf", "provision", "0:0", "--profile", "eighth", "--tenant", "c"}).exitCode, 0);
    EXPECT_EQ(memory("0:0"), "clean");
    // A scrub that fails (the reset fails): the change stands, the VF stays out of use, shown so.
    ASSERT_EQ(stack.sim({"vf-memory", "write", "0:0", "tenant-c-secret"}).exitCode, 0);
    ASSERT_EQ(stack.sim({"inject", "0:0", "flr-fail"}).exitCode, 0);
    auto unscrubbed = stack.aismi({"vf", "unprovision", "0:0"});
    EXPECT_NE(unscrubbed.exitCode, 0) << "the caller hears that the VF is out of use";
    EXPECT_NE(unscrubbed.err.find("provisioned, but its reset and scrub failed"), std::string::npos) << unscrubbed.err;
    EXPECT_EQ(stack.vfField("0:0", "profile"), "[N/A]") << "the change stands";
    EXPECT_EQ(memory("0:0"), "tenant-c-secret");
    auto bound = stack.aismi({"vf", "bind", "0:0", "--driver", "vfio-pci"});
    EXPECT_NE(bound.exitCode, 0) << "vfio-pci would hand the old memory to whoever opens it";
    EXPECT_NE(bound.err.find("waits for its memory to be scrubbed"), std::string::npos) << bound.err;
    EXPECT_TRUE(stack.waitForVf("0:0", "health", "warning")) << "a health warning from the next poll on";
    EXPECT_NE(stack.aismi({"health", "-i", "0"}).out.find("waits for its memory to be scrubbed"), std::string::npos);
    const std::string pending = stack.aismi({"--query-vf=vf,scrub_pending", "--format=csv,noheader", "-i", "0"}).out;
    EXPECT_EQ(pending.rfind("0, true\n1, false\n", 0), 0u) << pending;
    EXPECT_NE(stack.aismi({"events", "-n", "100"}).out.find("the VF stays out of use until a scrub succeeds"), std::string::npos);
    auto hold = stack.client(BUSCTL_PATH, {"--system", "call", "org.aismi.Manager1", "/org/aismi/Manager1/card0/vf0", "org.aismi.VirtualFunction1", "Hold",
                                           "s", "kubelet"});
    EXPECT_NE(hold.exitCode, 0);
    EXPECT_NE(hold.err.find("waits for its memory to be scrubbed"), std::string::npos) << hold.out << hold.err;
    // Scrub, by hand: not a tenant's VF (unprovisioning scrubs it), not one on vfio-pci outside
    // aismid; a free VF, yes.
    const auto scrub = [&](const std::string& vf) {
        return stack.client(BUSCTL_PATH, {"--system", "call", "org.aismi.Manager1", "/org/aismi/Manager1/card0/vf" + vf, "org.aismi.VirtualFunction1", "Scrub"});
    };
    ASSERT_EQ(stack.aismi({"vf", "provision", "0:1", "--profile", "eighth", "--tenant", "x"}).exitCode, 0);
    EXPECT_EQ(memory("0:1"), "neighbour") << "a VF that held nothing changes no hands";
    auto tenants = scrub("1");
    EXPECT_NE(tenants.exitCode, 0);
    EXPECT_NE(tenants.err.find("provisioned for tenant x"), std::string::npos) << tenants.err;
    EXPECT_EQ(memory("0:1"), "neighbour");
    ASSERT_EQ(stack.sim({"vf-memory", "write", "0:2", "left-behind"}).exitCode, 0);
    auto free = scrub("2");
    EXPECT_EQ(free.exitCode, 0) << free.err;
    EXPECT_EQ(memory("0:2"), "clean");
    // aismid tries the scrub again by itself (level-triggered, with backoff): once the reset
    // works the VF is clean and usable, without anyone asking.
    ASSERT_EQ(stack.sim({"clear", "0:0"}).exitCode, 0);
    EXPECT_TRUE(stack.waitForVf("0:0", "scrub_pending", "false")) << stack.daemonLog();
    EXPECT_EQ(memory("0:0"), "clean");
    ASSERT_EQ(stack.aismi({"vf", "provision", "0:0", "--profile", "quarter", "--tenant", "d"}).exitCode, 0);
    const std::string clean = stack.aismi({"--query-vf=vf,scrub_pending", "--format=csv,noheader", "-i", "0"}).out;
    EXPECT_EQ(clean.rfind("0, false\n1, false\n", 0), 0u) << clean;
}

TEST_F(Provisioning, TheVfCountTheCardHasChangesNothingNotEvenForced) {
    // It used to forget every VF's provisioning while the device, already at that count, kept
    // the VFs: a tenant's VF came back free with the tenant's memory in it (found by aismi-chaos).
    ASSERT_EQ(stack.aismi({"vf", "provision", "0:1", "--profile", "quarter", "--tenant", "a"}).exitCode, 0);
    ASSERT_EQ(stack.sim({"vf-memory", "write", "0:1", "tenant-a-secret"}).exitCode, 0);
    auto again = stack.aismi({"vf", "enable", "-i", "0", "--count", "4", "--force"});
    ASSERT_EQ(again.exitCode, 0) << again.err;
    EXPECT_EQ(stack.vfField("0:1", "profile,tenant"), "quarter, a");
    EXPECT_EQ(stack.vfField("0:0", "profile"), "[N/A]");
    EXPECT_EQ(memory("0:1"), "tenant-a-secret") << "nothing changed hands";
    // Forced, the VFs are destroyed with the tenant's; the new ones hold nothing of theirs.
    ASSERT_EQ(stack.aismi({"vf", "disable", "-i", "0", "--force"}).exitCode, 0);
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "0", "--count", "4"}).exitCode, 0);
    EXPECT_EQ(stack.vfField("0:1", "profile,tenant"), "[N/A], [N/A]");
    EXPECT_NE(memory("0:1"), "tenant-a-secret");
}

TEST(ProvisioningProfiles, ReadsProfilesDAndRefusesToStartOnAMalformedOne) {
    Stack stack;
    std::filesystem::create_directories(stack.profilesDir());
    std::ofstream(stack.profilesDir() + "/small.conf") << "[profile small]\ncompute_units = 8\nmemory = 2G\nengines = 1\n"
                                                       << "[profile giant]\ncompute_units = 1000\nmemory = 1G\n";
    stack.startDaemon();
    auto list = stack.aismi({"profile", "list", "-i", "0"});
    EXPECT_NE(list.out.find("  small                         8         8       1    2048 MiB        1        16\n"), std::string::npos) << list.out;
    EXPECT_NE(list.out.find("  giant             never fits: needs 1000 compute units, the card has 128\n"), std::string::npos) << list.out;
    stack.stopDaemon();
    std::ofstream(stack.profilesDir() + "/small.conf", std::ios::app) << "[profile bad]\ncompute_units = 8\nmemory = 1.5G\n";
    auto start = run({AISMID_PATH, "--backend=sim", "--state-dir=" + stack.stateDir(), "--profiles-dir=" + stack.profilesDir(), "--config=/dev/null",
                      "--metrics-address=none", "--libvirt-uri=none"},
                     {{{"DBUS_SYSTEM_BUS_ADDRESS", stack.busAddress()}}, std::nullopt, "", ""});
    EXPECT_NE(start.exitCode, 0);
    EXPECT_NE(start.err.find("small.conf line 10: memory: '1.5G' is not a size"), std::string::npos) << start.err;
}

TEST(TenantQuotas, ManyParallelClientsNeverBothTakeTheLastUnit) {
    Stack stack;
    stack.startDaemon();
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "0", "--count", "8"}).exitCode, 0);
    for (int vf = 0; vf < 8; ++vf) ASSERT_EQ(stack.aismi({"vf", "unprovision", "0:" + std::to_string(vf)}).exitCode, 0);
    auto set = stack.aismi({"quota", "set", "acme", "--max-vfs", "3"});
    ASSERT_EQ(set.exitCode, 0) << set.err;
    EXPECT_EQ(set.out, "Tenant            VFs (used/max)   Compute units (used/max)   Memory MiB (used/max)\n"
                       "acme              0/3              0/-                        0/-\n");
    std::vector<Process> clients;
    for (int vf = 0; vf < 8; ++vf)
        clients.push_back(stack.spawnAismi({"vf", "provision", "0:" + std::to_string(vf), "--profile", "eighth", "--tenant", "acme"},
                                           std::nullopt, "client" + std::to_string(vf)));
    int succeeded = 0, refused = 0;
    for (auto& c : clients) {
        while (c.running()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        const int status = c.stop();
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) ++succeeded;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 19) ++refused;
    }
    EXPECT_EQ(succeeded, 3);
    EXPECT_EQ(refused, 5) << "the others are refused by the quota (or the one change per card), never half-done";
    auto show = stack.aismi({"quota", "show", "acme", "-j"});
    EXPECT_NE(show.out.find("\"vfs\": 3, \"compute_units\": 48"), std::string::npos) << show.out;
}

TEST(TenantQuotas, AreSetShownAndRemovedFromTheCliAndRefusedToOthers) {
    Stack stack;
    stack.startDaemon();
    EXPECT_EQ(stack.aismi({"quota", "show"}).out, "No quotas set\n");
    EXPECT_EQ(stack.aismi({"quota", "set", "acme", "--max-vfs", "2"}, 65534).exitCode, 7) << "changing needs authorization";
    ASSERT_EQ(stack.aismi({"quota", "set", "acme", "--max-vfs", "2", "--max-compute", "64", "--max-memory", "16G"}).exitCode, 0);
    EXPECT_EQ(stack.aismi({"quota", "show", "-j"}, 65534).out,
              "[\n {\"tenant\": \"acme\", \"max_vfs\": 2, \"max_compute_units\": 64, \"max_memory_mib\": 16384, \"vfs\": 0, "
              "\"compute_units\": 0, \"memory_mib\": 0}\n]\n")
        << "reading is open";
    const std::pair<std::vector<std::string>, std::string> bad[] = {
        {{"quota", "set", "acme"}, "needs at least one of --max-vfs, --max-compute, --max-memory"},
        {{"quota", "set", "newcomer", "--max-memory", "8G"}, "tenant newcomer has no quota yet: give its VF limit too (--max-vfs)"},
        {{"quota", "set", "acme", "--max-vfs", "none"}, "--max-vfs takes a whole number"},
        {{"quota", "set", "acme", "--max-vfs", "-1"}, "--max-vfs takes a whole number"},
        {{"quota", "set", "acme", "--max-vfs", "2", "--max-memory", "1.5G"}, "'1.5G' is not a size"},
        {{"quota", "set", "a b", "--max-vfs", "2"}, "is not a tenant name"},
        {{"quota", "remove", "nobody"}, "tenant 'nobody' has no quota"},
        {{"quota", "show", "a", "b"}, "takes one tenant name, not 2 words ('a b')"},
    };
    for (const auto& [args, why] : bad) {
        auto r = stack.aismi(args);
        EXPECT_NE(r.exitCode, 0);
        EXPECT_NE(r.err.find(why), std::string::npos) << r.err;
    }
    // Issue 26 #14: a limit not repeated stays; memory alone can be set; none removes one limit.
    ASSERT_EQ(stack.aismi({"quota", "set", "acme", "--max-vfs", "3"}).exitCode, 0);
    ASSERT_EQ(stack.aismi({"quota", "set", "acme", "--max-memory", "32G"}).exitCode, 0);
    ASSERT_EQ(stack.aismi({"quota", "set", "acme", "--max-compute", "none"}).exitCode, 0);
    EXPECT_EQ(stack.aismi({"quota", "show", "acme", "-j"}).out,
              "[\n {\"tenant\": \"acme\", \"max_vfs\": 3, \"max_compute_units\": null, \"max_memory_mib\": 32768, \"vfs\": 0, "
              "\"compute_units\": 0, \"memory_mib\": 0}\n]\n");
    EXPECT_EQ(stack.aismi({"quota", "remove", "acme"}, 65534).exitCode, 7);
    EXPECT_EQ(stack.aismi({"quota", "remove", "acme"}).out, "tenant acme: quota removed\n");
    EXPECT_EQ(stack.aismi({"quota", "show"}).out, "No quotas set\n");
}

TEST(Partition, ShowsThePlanThenLaysTheCardOutAndBringsItBackAfterAPowerCycle) {
    Stack stack;
    stack.startDaemon();
    auto dry = stack.aismi({"partition", "apply", "-i", "0", "2xquarter,4xeighth", "--dry-run"});
    ASSERT_EQ(dry.exitCode, 0) << dry.err;
    EXPECT_EQ(dry.out.rfind("would enable 6 VFs on card 0\nVF 0:0: provision quarter (32 compute units, 16256 MiB, 2 engines)\n", 0), 0u) << dry.out;
    EXPECT_EQ(stack.aismi({"-i", "0", "--query-card=vf.enabled", "--format=csv,noheader"}).out, "0\n") << "a dry run changes nothing";
    EXPECT_EQ(stack.aismi({"partition", "apply", "-i", "0", "2xquarter,4xeighth"}, 65534).exitCode, 7);
    auto apply = stack.aismi({"partition", "apply", "-i", "0", "2xquarter,4xeighth"});
    ASSERT_EQ(apply.exitCode, 0) << apply.err;
    EXPECT_NE(apply.out.find("  0:5    eighth            -                16 CUs, 8128 MiB, 1 engine            as desired\n"), std::string::npos)
        << apply.out;
    const std::string layout = stack.aismi({"partition", "show", "-i", "0", "-j"}).out;
    for (const char* bad : {"4x", "x8", "-1xhalf", "1e9xhalf", "1.5xhalf", "3xhalf", "2xtenth"}) {
        auto r = stack.aismi({"partition", "apply", "-i", "0", bad});
        EXPECT_NE(r.exitCode, 0) << bad;
        EXPECT_FALSE(r.err.empty()) << bad;
    }
    EXPECT_EQ(stack.aismi({"partition", "show", "-i", "0", "-j"}).out, layout) << "nothing changed";
    // Issue 26 (11c): a new layout that gives a VF another profile resets and scrubs it.
    ASSERT_EQ(stack.sim({"vf-memory", "write", "0:0", "first-layout"}).exitCode, 0);
    ASSERT_EQ(stack.aismi({"partition", "apply", "-i", "0", "1xeighth,1xquarter,4xeighth"}).exitCode, 0);
    EXPECT_EQ(stack.sim({"vf-memory", "read", "0:0"}).out, "clean\n") << "VF 0 went from quarter to eighth";
    ASSERT_EQ(stack.aismi({"partition", "apply", "-i", "0", "2xquarter,4xeighth"}).exitCode, 0);
    ASSERT_EQ(stack.sim({"power-cycle", "0"}).exitCode, 0);
    std::string now;
    for (int i = 0; i < 200 && (stack.daemonLog().find("provisioning restored") == std::string::npos ||
                                (now = stack.aismi({"partition", "show", "-i", "0", "-j"}).out) != layout);
         ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(now, layout) << "the layout came back by itself: " << stack.daemonLog();
}

TEST(Partition, ReadsTheLayoutFromAFile) {
    Stack stack;
    stack.startDaemon();
    std::ofstream(stack.path("layout.txt")) << "# an inference host\n1xhalf\n2xquarter   # the rest\n";
    auto dry = stack.aismi({"partition", "apply", "--dry-run", "-i", "0", "--file", stack.path("layout.txt")});
    ASSERT_EQ(dry.exitCode, 0) << dry.err;
    EXPECT_EQ(dry.out.rfind("would enable 3 VFs on card 0\nVF 0:0: provision half", 0), 0u) << dry.out;
    ASSERT_EQ(stack.aismi({"partition", "apply", "-i", "0", "--file", stack.path("layout.txt")}).exitCode, 0);
    EXPECT_EQ(stack.aismi({"--query-vf=profile", "--format=csv,noheader", "-i", "0"}).out, "half\nquarter\nquarter\n");
    std::ofstream(stack.path("empty.txt")) << "# nothing\n";
    const std::pair<std::vector<std::string>, std::string> bad[] = {
        {{"partition", "apply", "-i", "0", "--file", stack.path("missing.txt")}, "cannot read"},
        {{"partition", "apply", "-i", "0", "--file", stack.path("empty.txt")}, "holds no layout"},
        {{"partition", "apply", "-i", "0", "1xhalf", "--file", stack.path("layout.txt")}, "a LAYOUT or --file FILE, not both"},
        {{"partition", "show", "-i", "0", "--file", stack.path("layout.txt")}, "--file does not go with 'partition show'"},
    };
    for (const auto& [args, why] : bad) {
        auto r = stack.aismi(args);
        EXPECT_NE(r.exitCode, 0) << why;
        EXPECT_NE(r.err.find(why), std::string::npos) << r.err;
    }
}

TEST(Partition, ExportsALayoutThatLayoutsDAppliesOnReloadAndReportsConflicts) {
    Stack stack;
    stack.startDaemon();
    ASSERT_EQ(stack.aismi({"partition", "apply", "-i", "0", "1xhalf,2xquarter"}).exitCode, 0);
    auto exported = stack.aismi({"partition", "export", "-i", "0"});
    ASSERT_EQ(exported.exitCode, 0) << exported.err;
    EXPECT_NE(exported.out.find("[layout card-AIS24110000]\ncards = serial:AIS24110000\nlayout = 1xhalf,2xquarter\n"), std::string::npos)
        << exported.out;
    // The same layout for card 1, pushed as a file, applied on reload.
    std::filesystem::create_directories(stack.layoutsDir());
    std::ofstream(stack.layoutsDir() + "/fleet.conf") << "[layout fleet]\ncards = serial:AIS24110001\nlayout = 1xhalf,2xquarter\n";
    ::kill(stack.daemonPid(), SIGHUP);
    std::string card1;
    for (int i = 0; i < 200 && (card1 = stack.aismi({"partition", "export", "-i", "1"}).out).find("1xhalf,2xquarter") == std::string::npos; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_NE(card1.find("layout = 1xhalf,2xquarter"), std::string::npos) << stack.daemonLog();
    // Two sections claiming one card: neither applies, and the card says why.
    std::ofstream(stack.layoutsDir() + "/other.conf") << "[layout other]\ncards = address:3d:00.0\nlayout = 2xhalf\n";
    ::kill(stack.daemonPid(), SIGHUP);
    EXPECT_TRUE(stack.waitForCardField("health", "warning", 1));
    auto reasons = stack.aismi({"-i", "1", "--query-card=health.reasons", "--format=csv,noheader"});
    EXPECT_NE(reasons.out.find("declared layouts fleet"), std::string::npos) << reasons.out;
    EXPECT_NE(reasons.out.find("both claim the card; neither is applied"), std::string::npos) << reasons.out;
    EXPECT_EQ(stack.aismi({"partition", "export", "-i", "1"}).out, card1) << "nothing changed";
    // A malformed file: the reload keeps what it had, and says so.
    std::ofstream(stack.layoutsDir() + "/bad.conf") << "[layout bad]\ncards = slot:1\nlayout = 1xhalf\n";
    ::kill(stack.daemonPid(), SIGHUP);
    for (int i = 0; i < 100 && stack.daemonLog().find("bad.conf line 2") == std::string::npos; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_NE(stack.daemonLog().find("bad.conf line 2: 'slot:1' does not name cards"), std::string::npos) << stack.daemonLog();
}

TEST(Partition, Kill9AtManyPointsOfALayoutLeavesStoreAndDeviceAgreeing) {
    // kill -9 while a layout is applied (VF count jobs, empties, provisions, each journaled),
    // at a later point each round; after a restart no VF holds anything but what the store says.
    Stack stack;
    stack.startDaemon();
    const char* layouts[] = {"2xquarter,4xeighth", "1xhalf,2xquarter"};
    for (int round = 0; round < 12; ++round) {
        const std::string layout = layouts[round % 2];
        Process apply = stack.spawnAismi({"partition", "apply", "-i", "0", layout}, std::nullopt, "apply" + std::to_string(round));
        std::this_thread::sleep_for(std::chrono::milliseconds(5 * round));
        stack.stopDaemon(SIGKILL);
        apply.stop(SIGKILL);
        stack.startDaemon();
        const std::string show = stack.aismi({"partition", "show", "-i", "0", "-j"}).out;
        EXPECT_EQ(show.find("differs from the profile"), std::string::npos) << "round " << round << ": " << show << stack.daemonLog();
        // Whatever was left, the layout can be applied now and is then exactly there.
        auto again = stack.aismi({"partition", "apply", "-i", "0", layout});
        ASSERT_EQ(again.exitCode, 0) << "round " << round << ": " << again.err << stack.daemonLog();
        const std::string after = stack.aismi({"partition", "show", "-i", "0", "-j"}).out;
        EXPECT_EQ(after.find("differs"), std::string::npos) << after;
        EXPECT_EQ(after.find("\"profile\": \"\""), std::string::npos) << "every VF has its profile: " << after;
    }
}

TEST(TenantQuotas, Kill9DuringProvisioningLeavesUsageAndDevicesAgreeing) {
    Stack stack;
    stack.startDaemon();
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "0", "--count", "8"}).exitCode, 0);
    for (int vf = 0; vf < 8; ++vf) ASSERT_EQ(stack.aismi({"vf", "unprovision", "0:" + std::to_string(vf)}).exitCode, 0);
    ASSERT_EQ(stack.aismi({"quota", "set", "acme", "--max-vfs", "8"}).exitCode, 0);
    for (int round = 0; round < 10; ++round) {
        const std::string vf = "0:" + std::to_string(round % 8);
        const bool provision = (round / 8) % 2 == 0;
        std::vector<std::string> args = provision ? std::vector<std::string>{"vf", "provision", vf, "--profile", "eighth", "--tenant", "acme"}
                                                  : std::vector<std::string>{"vf", "unprovision", vf};
        Process client = stack.spawnAismi(args, std::nullopt, "client" + std::to_string(round));
        std::this_thread::sleep_for(std::chrono::milliseconds(2 * round));
        stack.stopDaemon(SIGKILL);
        client.stop(SIGKILL);
        stack.startDaemon();
        const std::string show = stack.aismi({"partition", "show", "-i", "0", "-j"}).out;
        EXPECT_EQ(show.find("differs"), std::string::npos) << "round " << round << ": " << show;
        // The quota counts exactly the VFs that hold something for acme.
        size_t held = 0;
        for (size_t at = 0; (at = show.find("\"tenant\": \"acme\"", at)) != std::string::npos; ++at) ++held;
        const std::string quota = stack.aismi({"quota", "show", "acme", "-j"}).out;
        EXPECT_NE(quota.find("\"vfs\": " + std::to_string(held) + ","), std::string::npos) << "round " << round << ": " << quota << show;
    }
}

TEST(ProvisioningRestore, AVfLargerThanTheDriversShareComesBackAfterACardReset) {
    // aismi-chaos finding: a card reset re-creates the VFs, each with the driver's even share of
    // the whole card; VFs without a profile kept that share, so a provisioned VF larger than it
    // had no room to come back ("No space left on device") at any later poll either.
    Stack stack;
    stack.startDaemon();
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "0", "--count", "8"}).exitCode, 0);
    for (const char* vf : {"0:0", "0:1"}) ASSERT_EQ(stack.aismi({"vf", "unprovision", vf}).exitCode, 0);
    // The same count again: the VFs stay (nothing to re-create), their provisioning is forgotten.
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "0", "--count", "8", "--force"}).exitCode, 0);
    auto provisioned = stack.aismi({"vf", "provision", "0:2", "--profile", "quarter", "--tenant", "acme"});
    ASSERT_EQ(provisioned.exitCode, 0) << provisioned.err;
    auto reset = stack.aismi({"reset", "-i", "0", "--force"});
    EXPECT_EQ(reset.exitCode, 0) << reset.out << reset.err << stack.daemonLog();
    std::string shown;
    for (int i = 0; i < 100; ++i) {
        shown = stack.aismi({"partition", "show", "-i", "0"}).out;
        if (shown.find("differs") == std::string::npos) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(shown.find("differs"), std::string::npos) << shown << stack.daemonLog();
    EXPECT_EQ(stack.aismi({"--query-vf=profile,tenant,compute_units", "--format=csv,noheader,nounits", "-i", "0:2"}).out, "quarter, acme, 32\n");
}
