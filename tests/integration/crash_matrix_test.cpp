// The crash matrix: every multi-step operation aismid makes on a card, killed (SIGKILL) at
// every step — before and just after each write it makes to the hardware, and at each named
// libvirt step — then restarted, and held to one set of invariants: the store, the device,
// libvirt and quota usage agree; no VF is half-bound, assigned twice, left unscrubbed or
// half-provisioned; no journal entry or firmware update is left open.
//
// The kill lands at the step deterministically: `aismi-sim freeze before|after N` stalls the
// Nth write aismid makes to the simulated cards, and the test kills aismid while it waits. For
// each operation N counts up from 1 until the operation ends without reaching write N, so a
// step added to an operation is covered without touching this test. The named libvirt steps
// (attach, detach) are no device writes: AISMI_CRASH_AT (daemon/core/crash_point.hpp) kills
// aismid there.
//
// The test reads the store (aismid.db) read-only, as an auditor would, next to aismi-sim's
// view of the hardware and virsh's of the domains.
#include "json_parse.hpp"
#include "libvirtd.hpp"
#include "stack.hpp"
#include "store_query.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace aismi::test;

namespace {

// "  driver         aismi" -> {"driver": "aismi"}; "firmware 0  1.4.2 (...)" -> {"firmware 0": "1.4.2 (...)"}.
std::map<std::string, std::string> fields(const std::string& shown) {
    std::map<std::string, std::string> out;
    std::istringstream in(shown);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("  ", 0) != 0) continue;
        line = line.substr(2);
        size_t gap = line.find("  ");
        if (line.rfind("firmware ", 0) == 0) gap = line.find("  ", 9);
        if (gap == std::string::npos) continue;
        const size_t value = line.find_first_not_of(' ', gap);
        out[line.substr(0, gap)] = value == std::string::npos ? "" : line.substr(value);
    }
    return out;
}

struct Operation {
    std::string name;
    /// Brings the system to where the operation starts (aismid running).
    std::function<void()> prepare;
    /// The aismi command (chosen after prepare: a firmware image depends on what runs).
    std::function<std::vector<std::string>()> command;
    /// Steps with no device write, where AISMI_CRASH_AT kills aismid.
    std::vector<std::string> namedPoints;
};

constexpr unsigned kCards = 2;
constexpr unsigned kVfs = 4;
constexpr const char* kTenant = "acme";
constexpr unsigned kTenantMaxVfs = 3;

class CrashMatrix : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "libvirtd runs as another uid: needs root";
        makeKeys();
        lv = std::make_unique<Libvirtd>();
        if (HasFatalFailure()) return;
        Stack::Options o;
        o.cards = kCards;
        o.vfs = kVfs;
        o.extraArgs = {"--libvirt-uri=" + lv->uri(), "--firmware-check-seconds=1", "--firmware-keys=" + keys.path() + "/trusted"};
        stack = std::make_unique<Stack>(o);
        stack->startDaemon();
        lv->define("vm1");
        lv->define("vm2");
        ASSERT_EQ(stack->aismi({"quota", "set", kTenant, "--max-vfs", std::to_string(kTenantMaxVfs)}).exitCode, 0);
        ASSERT_EQ(stack->aismi({"vf", "enable", "-i", "0", "--count", std::to_string(kVfs)}).exitCode, 0);
        for (const char* vf : {"0:1", "0:2"}) ASSERT_EQ(stack->aismi({"vf", "provision", vf, "--profile", "eighth", "--tenant", kTenant}).exitCode, 0);
        holds();
    }
    void TearDown() override {
        stack.reset();
        lv.reset();
    }

    void makeKeys() {
        ASSERT_EQ(run({OPENSSL_PATH, "genpkey", "-algorithm", "ed25519", "-out", keys / "key.pem"}).exitCode, 0);
        std::filesystem::create_directories(keys / "trusted");
        ASSERT_EQ(run({OPENSSL_PATH, "pkey", "-in", keys / "key.pem", "-pubout", "-out", keys / "trusted/test.pem"}).exitCode, 0);
        std::ofstream(keys / "payload.bin", std::ios::binary) << std::string(64 * 1024, 'f');
        for (const char* version : {"2.0.0", "3.0.0"}) {
            auto r = run({AISMI_FIRMWARE_PACK_PATH, "--key", keys / "key.pem", "--version", version, "--device", "a15e:0100", keys / "payload.bin", "-o",
                          keys / (std::string(version) + ".img")});
            ASSERT_EQ(r.exitCode, 0) << r.err;
        }
    }

    // --- what the test does ------------------------------------------------------------

    int aismi(const std::vector<std::string>& args) { return stack->aismi(args).exitCode; }
    std::string address(const std::string& vf) { return stack->vfField(vf, "pci.bus_id"); }
    std::string device(const std::string& target) { return stack->sim({"show", target}).out; }
    std::string memory(const std::string& vf) {
        std::string m = stack->sim({"vf-memory", "read", vf}).out;
        while (!m.empty() && m.back() == '\n') m.pop_back();
        return m;
    }
    unsigned enabledVfs(unsigned card) {
        const std::string s = fields(device(std::to_string(card)))["sr-iov"];
        return s.empty() ? 0 : static_cast<unsigned>(std::stoul(s));
    }
    std::string runningFirmware(unsigned card) {
        for (const auto& [k, v] : fields(device(std::to_string(card))))
            if (k.rfind("firmware ", 0) == 0 && v.find("running") != std::string::npos) return v.substr(0, v.find(' '));
        return "";
    }
    std::string db() const { return stack->stateDir() + "/aismid.db"; }

    // Card 1 with `count` VFs (0: SR-IOV off).
    void cardOneWith(unsigned count) {
        if (enabledVfs(1) == count) return;
        aismi({"vf", "disable", "-i", "1", "--force"});
        if (count) {
            ASSERT_EQ(aismi({"vf", "enable", "-i", "1", "--count", std::to_string(count)}), 0);
        }
        ASSERT_EQ(enabledVfs(1), count);
    }
    void provisioned(const std::string& vf, bool yes) {
        const bool is = stack->vfField(vf, "profile") != "[N/A]";
        if (is == yes) return;
        const auto args = yes ? std::vector<std::string>{"vf", "provision", vf, "--profile", "eighth", "--tenant", kTenant}
                              : std::vector<std::string>{"vf", "unprovision", vf};
        ASSERT_EQ(aismi(args), 0);
    }
    void onDriver(const std::string& vf, const std::string& driver) {
        if (fields(device(vf))["driver"] == (driver == "host" ? "aismi" : driver)) return;
        auto r = stack->aismi({"vf", "bind", vf, "--driver", driver});
        ASSERT_EQ(r.exitCode, 0) << r.err;
    }
    void assigned(const std::string& vf, bool yes) {
        const bool is = lv->has("vm1", address(vf));
        if (is == yes) return;
        auto r = stack->aismi(yes ? std::vector<std::string>{"vf", "assign", vf, "--domain", "vm1"} : std::vector<std::string>{"vf", "release", vf});
        ASSERT_EQ(r.exitCode, 0) << r.err;
        if (yes) {
            ASSERT_EQ(stack->sim({"vf-memory", "write", vf, "tenant-secret"}).exitCode, 0);
        }
    }

    std::vector<Operation> operations() {
        const auto fixed = [](std::vector<std::string> c) { return [c] { return c; }; };
        return {
            {"enable", [&] { cardOneWith(0); }, fixed({"vf", "enable", "-i", "1", "--count", "4"}), {}},
            {"disable", [&] { cardOneWith(4); }, fixed({"vf", "disable", "-i", "1"}), {}},
            {"layout apply", [&] { cardOneWith(0); }, fixed({"partition", "apply", "-i", "1", "1xhalf,2xquarter"}), {}},
            {"provision", [&] { provisioned("0:3", false); }, fixed({"vf", "provision", "0:3", "--profile", "eighth", "--tenant", kTenant}), {}},
            {"unprovision", [&] { provisioned("0:3", true); }, fixed({"vf", "unprovision", "0:3"}), {}},
            {"bind to vfio-pci", [&] { onDriver("0:0", "host"); }, fixed({"vf", "bind", "0:0", "--driver", "vfio-pci"}), {}},
            {"bind to the host driver", [&] { onDriver("0:0", "vfio-pci"); }, fixed({"vf", "bind", "0:0", "--driver", "host"}), {}},
            {"VF reset", [] {}, fixed({"vf", "reset", "0:2"}), {}},
            {"assign", [&] { assigned("0:1", false); }, fixed({"vf", "assign", "0:1", "--domain", "vm1"}),
             {"assign:planned", "assign:bound", "assign:attached"}},
            {"release", [&] { assigned("0:1", true); }, fixed({"vf", "release", "0:1"}), {"release:planned", "release:freed", "release:scrubbed"}},
            {"card reset", [&] { cardOneWith(2); }, fixed({"reset", "-i", "1", "--force"}), {}},
            {"firmware update (write, activate, commit)", [&] { cardOneWith(0); },
             [&] {
                 const std::string next = runningFirmware(1) == "2.0.0" ? "3.0.0" : "2.0.0";
                 return std::vector<std::string>{"firmware", "update", "-i", "1", keys / (next + ".img"), "--activate=now", "--allow-older", "--quiet"};
             },
             {}},
        };
    }

    // --- the invariants ----------------------------------------------------------------

    std::vector<std::string> violations() {
        std::vector<std::string> v;
        const auto bad = [&](const std::string& what) { v.push_back(what); };
        for (const auto& r : queryStore(db(), "SELECT kind, target, step FROM operations WHERE finished_at IS NULL"))
            bad("journal entry left open: " + r[0] + " on " + r[1] + " at step " + r[2]);
        for (const auto& r : queryStore(db(), "SELECT card_key, vf, state FROM vf_assignments WHERE state != 'assigned'"))
            bad("assignment of VF " + r[1] + " left " + r[2]);
        for (const auto& r : queryStore(db(), "SELECT card_key, vf FROM vf_scrub_pending")) bad("VF " + r[1] + " still waits for its scrub");
        for (const auto& r : queryStore(db(), "SELECT card_key, kind, state FROM firmware_updates WHERE state IN ('writing', 'activating')"))
            bad("firmware " + r[1] + " on " + r[0] + " left " + r[2]);

        const Rows known = queryStore(db(), "SELECT idx, card_key FROM known_cards ORDER BY idx");
        const auto keyOf = [&](unsigned card) {
            for (const auto& r : known)
                if (r[0] == std::to_string(card)) return r[1];
            return std::string();
        };
        std::string domains;  // every domain's XML
        for (const char* name : {"vm1", "vm2"}) domains += lv->dumpxml(name);
        unsigned tenantVfs = 0;
        for (unsigned card = 0; card < kCards; ++card) {
            const std::string key = keyOf(card);
            const std::string c = std::to_string(card);
            const unsigned enabled = enabledVfs(card);
            for (const auto& r : queryStore(db(), "SELECT desired_vf_count FROM cards WHERE serial = '" + key + "'"))
                if (r[0] != std::to_string(enabled)) bad("card " + c + ": the store wants " + r[0] + " VFs, the device has " + std::to_string(enabled));
            // The card boots and runs an intact bank, the one the record says.
            auto cardFields = fields(device(c));
            std::string running;
            for (const auto& [k, val] : cardFields)
                if (k.rfind("firmware ", 0) == 0 && val.find("running") != std::string::npos) {
                    running = val.substr(0, val.find(' '));
                    if (val.find("intact") == std::string::npos) bad("card " + c + " runs a damaged bank: " + val);
                }
            if (running.empty()) bad("card " + c + " runs no firmware");
            if (cardFields["reset methods"].rfind("flr bus", 0) != 0) bad("card " + c + "'s reset_method is left '" + cardFields["reset methods"] + "'");
            for (const auto& r : queryStore(db(), "SELECT state, from_version, to_version FROM firmware_updates WHERE card_key = '" + key +
                                                 "' AND kind = 'update' ORDER BY id DESC LIMIT 1")) {
                const std::string expected = r[0] == "committed" ? r[2] : r[0] == "staged" ? running : r[1];
                if (expected != running) bad("card " + c + ": the last update is " + r[0] + " (" + r[1] + " -> " + r[2] + ") but it runs " + running);
            }
            for (unsigned vf = 0; vf < enabled; ++vf) {
                const std::string ref = c + ":" + std::to_string(vf);
                auto f = fields(device(ref));
                const std::string driver = f["driver"], override = f["override"];
                if (!((driver == "aismi" && override == "-") || (driver == "vfio-pci" && override == "vfio-pci")))
                    bad(ref + " is half-bound: driver " + driver + ", override " + override);
                const Rows assignment = queryStore(db(), "SELECT domain FROM vf_assignments WHERE card_key = '" + key + "' AND vf = " + std::to_string(vf));
                const std::string pci = f["pci"];
                const std::string source = "bus='0x" + pci.substr(5, 2) + "' slot='0x" + pci.substr(8, 2) + "' function='0x" + pci.substr(11, 1) + "'";
                unsigned holders = 0;
                for (size_t at = domains.find(source); at != std::string::npos; at = domains.find(source, at + 1)) ++holders;
                if (holders > 1) bad(ref + " is in " + std::to_string(holders) + " domains");
                if (!assignment.empty() != (holders == 1))
                    bad(ref + (assignment.empty() ? " is in a domain but not assigned in the store" : " is assigned in the store but in no domain"));
                if (!assignment.empty() && driver != "vfio-pci") bad(ref + " is assigned but on " + driver);
                if (assignment.empty() && f["memory"] != "clean") bad(ref + " is free but holds '" + f["memory"] + "' (unscrubbed)");
                for (const auto& r : queryStore(db(), "SELECT profile, tenant, compute_units, memory_mib, engines, burst_units, weight FROM vf_provisioning "
                                                 "WHERE serial = '" + key + "' AND vf = " + std::to_string(vf))) {
                    const std::string want = r[0].empty() ? "0 compute units (burst to 0, weight 1), 0 MiB, 0 engines"
                                                          : r[2] + " compute units (burst to " + r[5] + ", weight " + r[6] + "), " + r[3] + " MiB, " +
                                                                r[4] + " engines";
                    if (f["resources"] != want)
                        bad(ref + " is half-provisioned: the store has " + (r[0].empty() ? "nothing" : r[0]) + " (" + want + "), the device " + f["resources"]);
                    tenantVfs += !r[0].empty() && r[1] == kTenant;
                }
            }
        }
        // Quota usage: what aismid counts is what the store's provisioning holds, within the quota.
        auto q = parseJson(stack->aismi({"quota", "show", kTenant, "-j"}).out);
        if (!q || !std::holds_alternative<Json::Array>(q->v) || q->array().empty()) {
            bad("no quota for " + std::string(kTenant));
        } else {
            const auto used = static_cast<unsigned>((*q)[0]["vfs"].num());
            if (used != tenantVfs) bad(std::string(kTenant) + " uses " + std::to_string(used) + " VFs by aismid's count, " + std::to_string(tenantVfs) + " by the store's");
            if (used > kTenantMaxVfs) bad(std::string(kTenant) + " holds more VFs than its quota");
        }
        return v;
    }

    // Waits until every invariant holds (aismid reconciles what the crash interrupted at start
    // and libvirt's side once it reconnects); reports what still does not after 20 s.
    void holds(const std::string& point = "setup") {
        std::vector<std::string> v;
        for (int i = 0; i < 100; ++i) {
            v = violations();
            if (v.empty()) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
        std::string all;
        for (const auto& s : v) all += "\n  " + s;
        ADD_FAILURE() << point << ": invariants broken:" << all << "\n" << stack->aismi({"events", "-n", "30"}).out << "\n" << stack->daemonLog();
    }

    // --- the matrix --------------------------------------------------------------------

    // Kills aismid at write `n` of `op` (`when` it takes effect). Returns the path written, or
    // "" when the operation ended without reaching write n.
    std::string killAtWrite(const Operation& op, const std::string& when, unsigned n) {
        op.prepare();
        if (HasFatalFailure()) return "";
        EXPECT_EQ(stack->sim({"freeze", when, std::to_string(n)}).exitCode, 0);
        Process client = stack->spawnAismi(op.command(), std::nullopt, "client");
        std::string frozen;
        // Until the write stalls, or the operation ended a while ago (anything it leaves to do
        // after its reply also counts).
        const auto start = std::chrono::steady_clock::now();
        for (int afterEnd = 0; afterEnd < 10;) {
            if (std::chrono::steady_clock::now() - start > std::chrono::seconds(60)) {
                ADD_FAILURE() << op.name << " neither ends nor reaches " << when << " write " << n;
                break;
            }
            const std::string s = stack->sim({"freeze", "status"}).out;
            if (s.rfind("frozen", 0) == 0) {
                frozen = s.substr(s.find(": ") + 2);
                frozen.pop_back();
                break;
            }
            if (!client.running()) ++afterEnd;
            std::this_thread::sleep_for(std::chrono::milliseconds(30));
        }
        if (!frozen.empty()) stack->stopDaemon(SIGKILL);
        client.stop(SIGTERM, 30000);
        EXPECT_EQ(stack->sim({"thaw"}).exitCode, 0);
        if (!frozen.empty()) stack->startDaemon();
        return frozen;
    }

    // Kills aismid at the named step of `op` (AISMI_CRASH_AT), which it must reach.
    void killAtNamedPoint(const Operation& op, const std::string& point) {
        op.prepare();
        if (HasFatalFailure()) return;
        stack->stopDaemon();
        stack->daemonEnv()["AISMI_CRASH_AT"] = point;
        stack->startDaemon();
        Process client = stack->spawnAismi(op.command(), std::nullopt, "client");
        const int status = stack->waitForDaemonExit(15000);
        EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << point;
        client.stop(SIGTERM, 30000);
        stack->daemonEnv().erase("AISMI_CRASH_AT");
        stack->startDaemon();
    }

    TempDir keys;
    std::unique_ptr<Libvirtd> lv;
    std::unique_ptr<Stack> stack;
};

}  // namespace

TEST_F(CrashMatrix, AKillAtEveryStepOfEveryOperationLeavesStoreDeviceLibvirtAndQuotasAgreeing) {
    unsigned points = 0;
    std::ostringstream report;
    // Brief (every build but the ASan one, which runs the whole matrix): kills before each write only.
    const bool brief = longTestsBrief();
    const std::vector<const char*> moments = brief ? std::vector<const char*>{"before"} : std::vector<const char*>{"before", "after"};
    for (const Operation& op : operations()) {
        std::map<std::string, unsigned> writes;  // when -> how many
        for (const char* when : moments) {
            for (unsigned n = 1;; ++n) {
                ASSERT_LT(n, 50u) << op.name << ": never ends";
                const std::string path = killAtWrite(op, when, n);
                ASSERT_FALSE(HasFatalFailure()) << op.name;
                if (path.empty()) break;
                const std::string point = op.name + ", " + when + " write " + std::to_string(n) + " (" + path + ")";
                holds(point);
                ASSERT_FALSE(HasFailure()) << point;
                report << "  " << point << "\n";
                ++points;
                writes[when] = n;
            }
        }
        EXPECT_GT(writes["before"], 0u) << op.name << " made no write the matrix could stop";
        // Every run of an operation makes the same writes: one that makes fewer found something
        // an earlier crash left behind.
        if (!brief) {
            EXPECT_EQ(writes["before"], writes["after"]) << op.name;
        }
        for (const auto& named : op.namedPoints) {
            killAtNamedPoint(op, named);
            holds(op.name + ", at " + named);
            ASSERT_FALSE(HasFailure()) << named;
            report << "  " << op.name << ", at " << named << "\n";
            ++points;
        }
    }
    std::cout << "crash matrix: " << points << " points, every invariant held after each\n" << report.str();
    EXPECT_GE(points, brief ? 30u : 50u);
}
