// aismi-chaos: a model-based tester of interleaved clients, hardware faults and crashes.
//
// It starts its own world (a private bus, a real polkitd and a real libvirtd with the test
// driver when run as root, aismid on simulated cards) and, for a bounded time, drives it at
// once with
//   - client threads calling aismid over D-Bus with valid and invalid requests: VF counts,
//     layouts (and their dry runs), job cancels, provisioning, quarantines, resets, kubelet's
//     holds, assignments to libvirt domains and driver binding, quotas, oversubscription and
//     recovery policies, and reads of everything; and running `aismi firmware
//     update|activate|rollback` with good, untrusted and damaged images;
//   - a conductor playing the world outside through aismi-sim (faults, power cycles, a card
//     lost and back) and virsh (domains started, stopped, undefined, edited by hand; libvirtd
//     killed and started again: libvirt_world.hpp), declaring layouts in layouts.d with SIGHUP,
//     SIGKILLing and SIGSTOPping aismid, and running aismi as uid 65534;
// and checks every answer against a reference model (register.hpp): each acknowledged change
// is in what aismid and its store say afterwards, no refused one is, and at quiescent points
// (faults cleared, aismid up) desired equals actual, aismid and libvirt agree on who has each
// VF, no VF has two consumers, no tenant is over its quota, no user's memory is left in a VF
// that changed hands, nothing is left open in the store.
//
// Usage: aismi-chaos [--seed N] [--seconds N] [--steps N] [--clients N] [--check-every N]
// It ends with "chaos: STEPS steps, CHECKS checks, FAULTS faults, CRASHES crashes,
// VIOLATIONS violations (seed SEED)" and fails on any violation. docs/reliability.md has the
// model, the invariants and how to replay a seed.
#include "bus_client.hpp"
#include "http_client.hpp"
#include "libvirt_world.hpp"
#include "register.hpp"
#include "stack.hpp"
#include "store_query.hpp"

#include <gtest/gtest.h>
#include <systemd/sd-bus.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <iterator>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <unistd.h>

using namespace aismi::test;
using namespace aismi::chaos;
using namespace std::chrono_literals;

namespace {

constexpr const char* kVf1 = "org.aismi.VirtualFunction1";
constexpr const char* kCard1 = "org.aismi.Card1";
constexpr const char* kManager1 = "org.aismi.Manager1";
constexpr const char* kManagerPath = "/org/aismi/Manager1";
constexpr unsigned kUnprivileged = 65534;
const std::vector<std::string> kTenants{"t0", "t1", "t2", ""};
const std::vector<std::string> kProfiles{"eighth", "quarter"};

struct Options {
    uint64_t seed = 0;
    unsigned seconds = 0;  // 0: AISMI_CHAOS_SECONDS, or 120 (20 in brief builds)
    uint64_t steps = 0;    // 0: no limit but time
    unsigned clients = 4;
    unsigned checkEvery = 15;
    std::string history;  // where to write every step as it happens ("": nowhere)
    unsigned cards = 3;
    unsigned vfs = 8;
};
Options gOptions;

struct Provisioning {
    std::string profile, tenant;
    bool operator==(const Provisioning&) const = default;
};
std::string text(const Provisioning& p) { return p.profile.empty() ? "nothing" : p.profile + (p.tenant.empty() ? "" : " for " + p.tenant); }

// One step of the history, as a command a developer can paste into a shell or a test.
struct Step {
    double at = 0;
    std::string who, command, outcome;
    std::set<std::string> touches;  // "card1", "vf1:3", "tenant t0", "world"
};

// The reference model: one register per object the clients change.
struct Model {
    struct Card {
        Register<unsigned> count;
        std::vector<Register<Provisioning>> vfs;
        std::vector<Register<bool>> quarantined;
        std::vector<Register<std::string>> holders;  // kubelet's holds ("" none)
        std::vector<Register<std::string>> domains;  // the libvirt domain it is assigned to ("" none)
        // An assignment that gave the VF its tenant (its release, or libvirt freeing it, takes
        // the tenant back): the store's tenant_given, or an acknowledged assign with a tenant.
        std::vector<bool> tenantGiven;
        Register<std::string> oversubscription;      // the compute ratio, "1.50"
        Register<std::string> firmware;              // the version the card runs
    };
    std::vector<Card> cards;
    // The recovery policy's keys the clients set (SetRecoveryPolicy sets some, the rest stay).
    Register<bool> autoReset;
    Register<unsigned> guardResets;
    // A tenant's VFs may exceed its quota only as far as a quota in effect since the last
    // check allowed (a quota may be lowered under the VFs a tenant holds).
    struct Tenant {
        uint64_t allowance = UINT64_MAX;  // UINT64_MAX: no limit
    };
    std::map<std::string, Tenant> tenants;
};

// The firmware images the clients send: made at the start with a key aismid trusts, one it
// does not, and a damaged copy (the last two must be refused and change nothing).
struct FirmwareImage {
    std::string path, version;
    bool acceptable = true;
};

class Chaos {
public:
    Chaos(Stack& stack, uint64_t seed, std::vector<FirmwareImage> images, LibvirtWorld* libvirt)
        : stack_(stack), seed_(seed), world_(seed), images_(std::move(images)), libvirt_(libvirt) {
        if (!gOptions.history.empty()) historyFile_.open(gOptions.history, std::ios::trunc);
        model_.cards.resize(gOptions.cards);
        for (auto& c : model_.cards) {
            c.vfs.resize(gOptions.vfs);
            c.quarantined.resize(gOptions.vfs);
            c.holders.resize(gOptions.vfs);
            c.domains.resize(gOptions.vfs);
            c.tenantGiven.resize(gOptions.vfs);
        }
    }

    void run(double seconds) {
        setUp();
        check(true);
        const double end = now() + seconds;
        std::vector<std::thread> clients;
        for (unsigned i = 0; i < gOptions.clients; ++i) clients.emplace_back([this, i, end] { client(i, end); });
        double nextCheck = now() + gOptions.checkEvery;
        while (now() < end && !stepLimitReached()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(300 + world_() % 1200));
            if (now() >= nextCheck) {
                quiesce([&] { check(false); });
                nextCheck = now() + gOptions.checkEvery;
                continue;
            }
            worldStep();
        }
        stop_ = true;
        resumeClients();
        for (auto& t : clients) t.join();
        quiesce([&] { check(false); });
        summary();
    }

    size_t violations() const { return violations_.size(); }

private:
    // ---- the world ---------------------------------------------------------------------

    void setUp() {
        BusClient bus(stack_.busAddress());
        for (unsigned c = 0; c < gOptions.cards; ++c) {
            auto r = bus.call(cardPath(c), kCard1, "SetVfCount", [](sd_bus_message* m) { sd_bus_message_append(m, "u", 4u); });
            if (!r.ok()) violation("setup: card " + std::to_string(c) + " takes no VFs: " + r.error + ": " + r.message, {});
        }
        for (const auto& [tenant, max] : std::vector<std::pair<std::string, uint64_t>>{{"t0", 3}, {"t1", 5}}) {
            auto r = bus.call(kManagerPath, kManager1, "SetQuota",
                              [&](sd_bus_message* m) { sd_bus_message_append(m, "sttt", tenant.c_str(), max, UINT64_MAX, UINT64_MAX); });
            if (!r.ok()) violation("setup: quota of " + tenant + ": " + r.error, {});
        }
    }

    bool stepLimitReached() const { return gOptions.steps && steps_ >= gOptions.steps; }

    // The conductor's steps: the world outside, crashes, and an unprivileged user.
    void worldStep() {
        watchDaemon();  // a death of its own is found at once, and aismid started again
        const unsigned card = world_() % gOptions.cards;
        const unsigned pick = world_() % 115;
        ++steps_;
        if (pick >= 110) return stall();
        if (pick >= 100) return libvirtStep();
        if (pick < 22) {
            static const char* kVfFaults[] = {"flr-fail", "flr-timeout", "ecc-correctable", "ecc-uncorrectable", "vf-hang"};
            const std::string fault = kVfFaults[world_() % 5];
            const unsigned vf = world_() % gOptions.vfs;
            const std::string target = std::to_string(card) + ":" + std::to_string(vf);
            const auto before = lastEventId();
            if (stack_.sim({"inject", target, fault}).exitCode == 0) {
                ++faults_;
                record("world", "aismi-sim inject " + target + " " + fault, "injected", {"card" + std::to_string(card), "vf" + target});
                {
                    // aismid may quarantine a VF that keeps failing: its own decision, not modelled.
                    std::lock_guard lock(modelLock_);
                    model_.cards[card].quarantined[vf].forget();
                }
                // A VF that stops is noticed: an event about it (a hang, its reset) within a bound.
                if (before && (fault == "vf-hang" || fault == "ecc-uncorrectable")) faultShown(card, vf, fault, *before);
            }
        } else if (pick < 32) {
            // Flash faults hit the next firmware update (or the bank a rollback would boot).
            static const char* kCardFaults[] = {"thermal",     "link-degrade", "ecc-correctable", "flr-fail",    "fw-write-error",
                                                "flash-wearout", "fw-no-boot",   "fw-unhealthy",    "fw-corrupt"};
            const std::string fault = kCardFaults[world_() % 9];
            if (stack_.sim({"inject", std::to_string(card), fault}).exitCode == 0) {
                ++faults_;
                record("world", "aismi-sim inject " + std::to_string(card) + " " + fault, "injected", {"card" + std::to_string(card)});
            }
        } else if (pick < 40) {
            lostAndBack(card);
        } else if (pick < 50) {
            // From now to the next check, no client changes the card's VF count or layout: the
            // VFs must come back because aismid restores them, not because a client asked.
            restoring_[card] = true;
            const std::string c = std::to_string(card);
            if (world_() % 3 == 0 && stack_.sim({"inject", c, "power-cut"}).exitCode == 0) {
                // A power loss: the card is gone (a flash write stops where it is) until power
                // comes back.
                const auto ms = 100 + world_() % 1500;
                record("world", "aismi-sim inject " + c + " power-cut; sleep " + std::to_string(ms / 1000.0), "cut", {"card" + c});
                std::this_thread::sleep_for(std::chrono::milliseconds(ms));
            }
            if (stack_.sim({"power-cycle", c}).exitCode == 0) {
                ++faults_;
                record("world", "aismi-sim power-cycle " + c, "done", {"card" + c});
                std::lock_guard lock(modelLock_);
                for (auto& q : model_.cards[card].quarantined) q.forget();  // a power-on VF is not the one quarantined
                model_.cards[card].firmware.forget();                       // it boots its boot bank
            }
        } else if (pick < 66) {
            const std::string target = world_() % 2 ? std::to_string(card) : std::to_string(card) + ":" + std::to_string(world_() % gOptions.vfs);
            (void)stack_.sim({"clear", target});
            record("world", "aismi-sim clear " + target, "cleared", {"card" + std::to_string(card)});
        } else if (pick < 73) {
            crash();
        } else if (pick < 80) {
            pause();
        } else if (pick < 85) {
            declareLayout(card);
        } else if (stack_.polkitRunning()) {
            unprivileged(card);
        }
    }

    // libvirt's world: VMs started and stopped, undefined, edited by hand, libvirtd restarted.
    void libvirtStep() {
        if (!libvirt_) return;
        std::map<std::string, std::pair<unsigned, unsigned>> vfAt;  // PCI address -> card, VF
        std::vector<std::string> addresses;
        try {
            BusClient bus(stack_.busAddress());
            auto vfs = bus.query(kVf1, {"CardIndex", "Index", "PciAddress"});
            for (size_t i = 0; i < vfs["PciAddress"].size(); ++i)
                vfAt[vfs["PciAddress"][i]] = {static_cast<unsigned>(std::stoul(vfs["CardIndex"].at(i))), static_cast<unsigned>(std::stoul(vfs["Index"].at(i)))};
        } catch (const std::exception&) {
        }
        for (const auto& [address, vf] : vfAt) addresses.push_back(address);
        const auto change = libvirt_->step(world_, addresses);
        if (change.command.empty()) return;
        if (change.restarted) ++crashes_;
        record("world", change.command, change.outcome, {"world", "libvirt"});
        std::lock_guard lock(modelLock_);
        // aismid frees (or adopts) what libvirt no longer (or newly) has: its own decision.
        const auto letGo = [&](unsigned card, unsigned vf) {
            model_.cards[card].domains[vf].forget();
            if (model_.cards[card].tenantGiven[vf]) model_.cards[card].vfs[vf].forget();
        };
        for (const auto& address : {change.removed, change.added})
            if (auto at = vfAt.find(address); !address.empty() && at != vfAt.end() && at->second.second < gOptions.vfs) letGo(at->second.first, at->second.second);
        for (unsigned c = 0; c < gOptions.cards; ++c)
            for (unsigned v = 0; v < gOptions.vfs; ++v)
                for (const auto& d : model_.cards[c].domains[v].candidates())
                    if (change.freed.count(d)) letGo(c, v);
    }

    // The newest event's id (0: none yet); nothing when aismid does not answer.
    std::optional<uint64_t> lastEventId() {
        try {
            BusClient bus(stack_.busAddress());
            auto r = bus.call(kManagerPath, kManager1, "ListEvents", [](sd_bus_message* m) { sd_bus_message_append(m, "a{sv}", 1, "limit", "u", 1u); });
            if (!r.ok() || sd_bus_message_enter_container(r.body.get(), 'a', "(txssuusss)") < 0) return std::nullopt;
            uint64_t id = 0;
            for (uint64_t row = 0; sd_bus_message_enter_container(r.body.get(), 'r', "txssuusss") > 0; sd_bus_message_exit_container(r.body.get()))
                if (sd_bus_message_read(r.body.get(), "t", &row) >= 0) id = std::max(id, row), sd_bus_message_skip(r.body.get(), "xssuusss");
            return id;
        } catch (const std::exception&) {
            return std::nullopt;
        }
    }

    // Within 10 s of a fault that stops VF `vf`, an event names it (or the VF is gone: a
    // client took the card's VFs away meanwhile).
    void faultShown(unsigned card, unsigned vf, const std::string& fault, uint64_t after) {
        const std::string target = std::to_string(card) + ":" + std::to_string(vf);
        bool shown = false, judged = true;
        try {
            BusClient bus(stack_.busAddress());
            for (double until = now() + 10; now() < until && !shown;) {
                auto r = bus.call(kManagerPath, kManager1, "ListEvents", [&](sd_bus_message* m) {
                    sd_bus_message_append(m, "a{sv}", 2, "card", "u", card, "after_id", "t", after);
                });
                if (!r.ok() || sd_bus_message_enter_container(r.body.get(), 'a', "(txssuusss)") < 0) {
                    judged = false;  // aismid killed or stopped meanwhile: nothing to judge
                    break;
                }
                while (sd_bus_message_enter_container(r.body.get(), 'r', "txssuusss") > 0) {
                    uint32_t eventVf = 0;
                    if (sd_bus_message_skip(r.body.get(), "txssu") >= 0 && sd_bus_message_read(r.body.get(), "u", &eventVf) >= 0) shown |= eventVf == vf;
                    sd_bus_message_skip(r.body.get(), "sss");
                    sd_bus_message_exit_container(r.body.get());
                }
                if (!shown) std::this_thread::sleep_for(100ms);
            }
            if (!shown) {
                auto present = bus.call(vfPath(card, vf), "org.freedesktop.DBus.Properties", "Get",
                                        [](sd_bus_message* m) { sd_bus_message_append(m, "ss", kVf1, "Health"); });
                judged &= present.ok();
            }
        } catch (const std::exception&) {
            judged = false;
        }
        ++checks_;
        if (judged && !shown && daemonUp())
            violation("VF " + target + " got " + fault + ", but 10 s later no event names it", {"card" + std::to_string(card), "vf" + target});
    }

    // A write to the hardware hangs (the Nth from now, whichever card it goes to): that card's
    // strand waits, its readings age, and its health must stop saying "ok" once they are older
    // than health-stale-polls intervals (3 x 200 ms here).
    void stall() {
        const std::string n = std::to_string(1 + world_() % 10);
        (void)stack_.sim({"freeze", "before", n});
        std::string status;
        for (double until = now() + 3; now() < until && status.find("frozen") == std::string::npos; std::this_thread::sleep_for(20ms))
            status = stack_.sim({"freeze", "status"}).out;
        const bool frozen = status.find("frozen") != std::string::npos;
        record("world", "aismi-sim freeze before " + n + "  (" + status.substr(0, status.find('\n')) + ")", frozen ? "a write hangs" : "not reached", {"world"});
        if (frozen) {
            ++faults_;
            const double until = now() + 4 + static_cast<double>(world_() % 4000) / 1000;
            try {
                BusClient bus(stack_.busAddress());
                for (; now() < until; std::this_thread::sleep_for(200ms))
                    for (unsigned c = 0; c < gOptions.cards; ++c) healthHonest(bus, c);
            } catch (const std::exception&) {
            }
        }
        (void)stack_.sim({"thaw"});
        record("world", "aismi-sim thaw", "the write goes on", {"world"});
    }

    // Health is never "ok" on a reading older than the staleness limit (plus 2 s of slack: the
    // loop judges it every poll interval, and is never blocked that long).
    void healthHonest(BusClient& bus, unsigned card) {
        const auto get = [&](const char* name) {
            return bus.call(cardPath(card), "org.freedesktop.DBus.Properties", "Get", [&](sd_bus_message* m) { sd_bus_message_append(m, "ss", kCard1, name); });
        };
        auto health = get("Health");
        auto readAt = get("ReadTimestamp");
        const int64_t nowUs = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
        const char* h = nullptr;
        uint64_t at = 0;
        if (!health.ok() || !readAt.ok() || sd_bus_message_read(health.body.get(), "v", "s", &h) < 0 || !h || sd_bus_message_read(readAt.body.get(), "v", "t", &at) < 0 ||
            at == 0)
            return;
        const double ageS = static_cast<double>(nowUs - static_cast<int64_t>(at)) / 1e6;
        ++checks_;
        if (std::string(h) == "ok" && ageS > 0.6 + 2)
            violation("card " + std::to_string(card) + "'s health is 'ok' on a reading " + std::to_string(ageS) + " s old", {"card" + std::to_string(card)});
    }

    // A card that stops answering is shown so within a bound, and comes back.
    void lostAndBack(unsigned card) {
        if (stack_.sim({"inject", std::to_string(card), "device-lost"}).exitCode != 0) return;
        ++faults_;
        record("world", "aismi-sim inject " + std::to_string(card) + " device-lost", "injected", {"card" + std::to_string(card)});
        BusClient bus(stack_.busAddress());
        std::string health;
        bool shown = false, up = true;
        for (double until = now() + 10; now() < until;) {
            auto r = bus.call(cardPath(card), "org.freedesktop.DBus.Properties", "Get",
                              [](sd_bus_message* m) { sd_bus_message_append(m, "ss", kCard1, "Health"); });
            if (!r.ok()) {
                up = false;  // aismid killed or stopped meanwhile: nothing to judge
                break;
            }
            const char* s = nullptr;
            if (sd_bus_message_read(r.body.get(), "v", "s", &s) >= 0 && s) health = s;
            if (health == "lost") {
                shown = true;
                break;
            }
            std::this_thread::sleep_for(100ms);
        }
        ++checks_;
        if (up && !shown && daemonUp())
            violation("card " + std::to_string(card) + " stopped answering, but 10 s later its health is '" + health + "', not 'lost'", {"card" + std::to_string(card)});
        std::this_thread::sleep_for(std::chrono::milliseconds(200 + world_() % 1500));
        (void)stack_.sim({"clear", std::to_string(card)});
        record("world", "aismi-sim clear " + std::to_string(card), "cleared", {"card" + std::to_string(card)});
    }

    // Fleet tooling declares a layout for the card in layouts.d and reloads aismid (SIGHUP), then
    // takes it back (so no later restart applies it again). aismid applies it by itself, when
    // the card's VFs are not in use: the card is not modelled until the next check.
    void declareLayout(unsigned card) {
        if (restoring_[card]) return;  // only aismid's restore may bring its VFs back (see worldStep)
        static const char* kDeclared[] = {"4xquarter", "8xeighth", "2xquarter,4xeighth"};
        const std::string layout = kDeclared[world_() % 3];
        std::string serial;
        try {
            BusClient bus(stack_.busAddress());
            auto cards = bus.query(kCard1, {"Index", "Serial"});
            for (size_t i = 0; i < cards["Index"].size(); ++i)
                if (cards["Index"][i] == std::to_string(card)) serial = cards["Serial"].at(i);
        } catch (const std::exception&) {
        }
        if (serial.empty()) return;
        forgetCard(card);
        std::filesystem::create_directories(stack_.layoutsDir());
        const std::string file = stack_.layoutsDir() + "/chaos.conf";
        std::ofstream(file) << "[layout chaos]\ncards = serial:" << serial << "\nlayout = " << layout << "\n";
        std::lock_guard lock(daemonLock_);
        ::kill(stack_.daemonPid(), SIGHUP);
        record("world", "printf '[layout chaos]\\ncards = serial:" + serial + "\\nlayout = " + layout + "\\n' > layouts.d/chaos.conf; kill -HUP $(pidof aismid)",
               "declared", {"card" + std::to_string(card)});
        std::this_thread::sleep_for(std::chrono::milliseconds(200 + world_() % 1300));
        std::filesystem::remove(file);
        ::kill(stack_.daemonPid(), SIGHUP);
        record("world", "rm layouts.d/chaos.conf; kill -HUP $(pidof aismid)", "withdrawn", {"card" + std::to_string(card)});
    }

    void crash() {
        std::lock_guard lock(daemonLock_);
        if (stopped_) {
            ::kill(stack_.daemonPid(), SIGCONT);
            stopped_ = false;
        }
        if (world_() % 3 == 0) {
            // At an exact step of whatever it writes next: a write to the hardware stalls, and
            // aismid dies there.
            const std::string n = std::to_string(1 + world_() % 20);
            const std::string when = world_() % 2 ? "before" : "after";
            (void)stack_.sim({"freeze", when, n});
            std::string status;
            for (double until = now() + 3; now() < until && status.find("frozen") == std::string::npos; std::this_thread::sleep_for(20ms))
                status = stack_.sim({"freeze", "status"}).out;
            record("world", "aismi-sim freeze " + when + " " + n + "  (" + status.substr(0, status.find('\n')) + ")", "armed", {"world"});
        }
        ++crashes_;
        stack_.stopDaemon(SIGKILL);
        (void)stack_.sim({"thaw"});  // a freeze that did not come ends here
        record("world", "kill -9 $(pidof aismid); aismi-sim thaw", "killed", {"world"});
        if (world_() % 3 == 0) {
            // Again while it recovers from the first: before it is ready.
            stack_.spawnDaemon();
            const auto ms = world_() % 400;
            std::this_thread::sleep_for(std::chrono::milliseconds(ms));
            ++crashes_;
            stack_.stopDaemon(SIGKILL);
            record("world", "aismid & sleep " + std::to_string(ms / 1000.0) + "; kill -9 $(pidof aismid)", "killed while starting", {"world"});
        }
        restart();
    }

    void pause() {
        std::lock_guard lock(daemonLock_);
        const auto ms = 200 + world_() % 1800;
        ::kill(stack_.daemonPid(), SIGSTOP);
        stopped_ = true;
        record("world", "kill -STOP $(pidof aismid); sleep " + std::to_string(ms / 1000.0), "stopped", {"world"});
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        ::kill(stack_.daemonPid(), SIGCONT);
        stopped_ = false;
    }

    void restart() {
        stack_.startDaemon();
        if (::testing::Test::HasFatalFailure()) violation("aismid did not start again after a crash: " + stack_.daemonLog().substr(0, 4000), {"world"});
    }

    bool daemonUp() { return stack_.daemonState() == "running"; }

    // Whether aismid died on its own: never.
    void watchDaemon() {
        std::lock_guard lock(daemonLock_);
        if (daemonUp()) return;
        char at[32];
        std::snprintf(at, sizeof at, "%.3f", now());
        violation("aismid died by itself (found at " + std::string(at) + " s): " + stack_.daemonState() + "\n" + tail(stack_.daemonLog()), {"world"});
        restart();
    }

    // Every change an unprivileged user asks for is refused, and nothing changes.
    void unprivileged(unsigned card) {
        const std::string vf = std::to_string(card) + ":" + std::to_string(world_() % gOptions.vfs);
        const std::vector<std::vector<std::string>> asks{
            {"vf", "provision", vf, "--profile", "eighth", "--tenant", "t0"}, {"vf", "unprovision", vf},
            {"vf", "quarantine", vf, "--reason", "chaos"},                      {"vf", "enable", "-i", std::to_string(card), "--count", "2"},
            {"partition", "apply", "-i", std::to_string(card), "8xeighth"},      {"quota", "set", "t2", "--max-vfs", "1"},
            {"reset", "-i", std::to_string(card), "--force"},                   {"firmware", "rollback", "-i", std::to_string(card)},
            {"firmware", "update", "-i", std::to_string(card), images_.front().path, "--activate=now"}};
        const auto& args = asks[world_() % asks.size()];
        auto r = stack_.aismi(args, kUnprivileged);
        std::string command = "aismi";
        for (const auto& a : args) command += " " + a;
        record("uid 65534", command, "exit " + std::to_string(r.exitCode), {"card" + std::to_string(card), "vf" + vf});
        ++checks_;
        if (r.exitCode == 0) violation("uid 65534 changed something: " + command + " exited 0", {"vf" + vf, "card" + std::to_string(card)});
        if (r.exitCode < 0) violation("uid 65534's " + command + " got no answer", {"world"});
    }

    // ---- clients ------------------------------------------------------------------------

    void client(unsigned id, double end) {
        std::mt19937_64 rng(seed_ * 7919 + id + 1);
        std::optional<BusClient> bus;
        const std::string who = "client " + std::to_string(id);
        while (!stop_ && now() < end && !stepLimitReached()) {
            {
                std::unique_lock lock(pauseLock_);
                resume_.wait(lock, [this] { return !paused_ || stop_; });
                if (stop_) break;
                ++active_;
            }
            try {
                if (!bus) bus.emplace(stack_.busAddress());
                clientStep(*bus, rng, who);
            } catch (const std::exception&) {
                bus.reset();  // the connection broke (the bus or aismid went): a new one next time
            }
            std::lock_guard lock(pauseLock_);
            --active_;
            idle_.notify_all();
        }
    }

    void clientStep(BusClient& bus, std::mt19937_64& rng, const std::string& who) {
        ++steps_;
        const unsigned card = rng() % gOptions.cards, vf = rng() % gOptions.vfs;
        const std::string target = std::to_string(card) + ":" + std::to_string(vf);
        const std::set<std::string> touches{"card" + std::to_string(card), "vf" + target};
        unsigned pick = rng() % (libvirt_ ? 116 : 108);
        if (restoring_[card] && pick >= 58 && pick < 69) pick = 99;  // a read instead (see worldStep)
        if (pick >= 108) return libvirtCall(bus, rng, who, card, vf);
        if (pick >= 106) return cancelAnyJob(bus, rng, who);
        if (pick >= 100) return pick < 104 ? firmware(rng, who, card) : recoveryPolicy(bus, rng, who);
        if (pick < 28) {
            // Provision: mostly valid; now and then a profile that does not exist or a tenant
            // with a control character, which must be refused.
            const bool bad = rng() % 10 == 0;
            const std::string profile = bad && rng() % 2 ? "no-such-profile" : kProfiles[rng() % kProfiles.size()];
            const std::string tenant = bad && profile != "no-such-profile" ? "t\x1b[31m" : kTenants[rng() % kTenants.size()];
            auto r = bus.call(vfPath(card, vf), kVf1, "Provision", [&](sd_bus_message* m) { sd_bus_message_append(m, "ss", profile.c_str(), tenant.c_str()); });
            answered(r, who, busctl(vfPath(card, vf), kVf1, "Provision", "ss " + quoted(profile) + " " + quoted(tenant)), touches);
            if (bad) return refusedBadInput(r, "Provision(" + quoted(profile) + ", " + quoted(tenant) + ")", touches);
            // "provisioned, but its reset and scrub failed": the change stands, the VF is out of use.
            const bool stands = !r.ok() && r.message.find("provisioned, but its reset and scrub failed") != std::string::npos;
            writeVf(card, vf, Provisioning{profile, tenant}, r, stands);
        } else if (pick < 40) {
            auto r = bus.call(vfPath(card, vf), kVf1, "Unprovision");
            answered(r, who, busctl(vfPath(card, vf), kVf1, "Unprovision", ""), touches);
            const bool stands = !r.ok() && r.message.find("provisioned, but its reset and scrub failed") != std::string::npos;
            writeVf(card, vf, Provisioning{}, r, stands);
        } else if (pick < 47) {
            auto r = bus.call(vfPath(card, vf), kVf1, "Quarantine", [](sd_bus_message* m) { sd_bus_message_append(m, "s", "chaos"); });
            answered(r, who, busctl(vfPath(card, vf), kVf1, "Quarantine", "s chaos"), touches);
            writeQuarantine(card, vf, true, r);
        } else if (pick < 54) {
            auto r = bus.call(vfPath(card, vf), kVf1, "Unquarantine");
            answered(r, who, busctl(vfPath(card, vf), kVf1, "Unquarantine", ""), touches);
            writeQuarantine(card, vf, false, r);
        } else if (pick < 58) {
            auto r = bus.call(vfPath(card, vf), kVf1, "Reset", [](sd_bus_message* m) { sd_bus_message_append(m, "a{sv}", 1, "force", "b", 1); });
            answered(r, who, busctl(vfPath(card, vf), kVf1, "Reset", "a{sv} 1 force b true"), touches);
        } else if (pick < 63) {
            // A VF count: 0, or some VFs when the card has none; now and then more than it has.
            static const unsigned kCounts[] = {0, 2, 4, 8, 0, 4, 99};
            const unsigned count = kCounts[rng() % 7];
            auto r = bus.call(cardPath(card), kCard1, "SetVfCountWithOptions",
                              [&](sd_bus_message* m) { sd_bus_message_append(m, "ua{sv}", count, 1, "force", "b", 1); });
            answered(r, who, busctl(cardPath(card), kCard1, "SetVfCountWithOptions", "ua{sv} " + std::to_string(count) + " 1 force b true"),
                     {"card" + std::to_string(card)});
            if (count > 16) return refusedBadInput(r, "SetVfCount(" + std::to_string(count) + ")", touches);
            // It answers with a job: the job's end says whether the count changed.
            Reply ended = r;
            if (r.ok()) {
                const char* job = nullptr;
                if (sd_bus_message_read(r.body.get(), "o", &job) < 0 || !job) return;
                if (rng() % 4 == 0) cancelJob(bus, job, who, {"card" + std::to_string(card)});
                const auto [state, completed] = followJob(bus, job, who, {"card" + std::to_string(card)});
                ended.completed = completed;
                if (state == "failed" || state == "cancelled") ended.error = "job " + state;
                else if (state != "done") ended.error = "(connection lost)";  // no end seen: perhaps
            }
            writeCount(card, count, ended);
        } else if (pick < 67) {
            static const char* kLayouts[] = {"2xquarter,4xeighth", "8xeighth", "4xquarter", "1xhalf,2xquarter", "3xbogus", "20xeighth"};
            const std::string layout = kLayouts[rng() % 6];
            applyLayout(bus, card, layout, who, rng() % 4 == 0);
        } else if (pick < 69) {
            auto r = bus.call(cardPath(card), kCard1, "Reset", [](sd_bus_message* m) { sd_bus_message_append(m, "a{sv}", 1, "force", "b", 1); }, 120'000'000);
            answered(r, who, busctl(cardPath(card), kCard1, "Reset", "a{sv} 1 force b true"), {"card" + std::to_string(card)});
        } else if (pick < 74) {
            const std::string tenant = kTenants[rng() % 3];
            const uint64_t max = 1 + rng() % 6;
            auto r = bus.call(kManagerPath, kManager1, "SetQuota",
                              [&](sd_bus_message* m) { sd_bus_message_append(m, "sttt", tenant.c_str(), max, UINT64_MAX, UINT64_MAX); });
            answered(r, who, busctl(kManagerPath, kManager1, "SetQuota", "sttt " + tenant + " " + std::to_string(max) + " 18446744073709551615 18446744073709551615"),
                     {"tenant " + tenant});
            if (r.ok() || r.lost()) {
                std::lock_guard lock(modelLock_);
                auto& t = model_.tenants[tenant];
                if (t.allowance != UINT64_MAX) t.allowance = std::max(t.allowance, max);
            }
        } else if (pick < 76) {
            const std::string tenant = kTenants[rng() % 3];
            auto r = bus.call(kManagerPath, kManager1, "RemoveQuota", [&](sd_bus_message* m) { sd_bus_message_append(m, "s", tenant.c_str()); });
            answered(r, who, busctl(kManagerPath, kManager1, "RemoveQuota", "s " + tenant), {"tenant " + tenant});
            if (r.ok() || r.lost()) {
                std::lock_guard lock(modelLock_);
                model_.tenants[tenant].allowance = UINT64_MAX;
            }
        } else if (pick < 79) {
            auto r = bus.call(vfPath(card, vf), kVf1, "Hold", [](sd_bus_message* m) { sd_bus_message_append(m, "s", "kubelet"); });
            answered(r, who, busctl(vfPath(card, vf), kVf1, "Hold", "s kubelet"), touches);
            writeHolder(card, vf, "kubelet", r);
            if (r.ok()) leaveTrace(card, vf, who);
        } else if (pick < 82) {
            auto r = bus.call(vfPath(card, vf), kVf1, "Release");
            answered(r, who, busctl(vfPath(card, vf), kVf1, "Release", ""), touches);
            writeHolder(card, vf, "", r);
            writeDomain(card, vf, "", r);
            if (r.ok()) traceGone(card, vf, r, who, touches);
        } else if (pick < 84) {
            // The card's oversubscription policy; now and then a ratio out of range.
            static const double kRatios[] = {1.0, 1.5, 2.0, 99.0};
            const double ratio = kRatios[rng() % 4];
            char shown[16];
            std::snprintf(shown, sizeof shown, "%.2f", ratio);
            auto r = bus.call(cardPath(card), kCard1, "SetOversubscription",
                              [&](sd_bus_message* m) { sd_bus_message_append(m, "a{sv}", 1, "compute", "d", ratio); });
            answered(r, who, busctl(cardPath(card), kCard1, "SetOversubscription", std::string("a{sv} 1 compute d ") + shown), {"card" + std::to_string(card)});
            if (ratio > 16) return refusedBadInput(r, std::string("SetOversubscription(compute ") + shown + ")", touches);
            if (!r.ok() && !r.lost()) return;
            std::lock_guard lock(modelLock_);
            model_.cards[card].oversubscription.write(shown, r.invoked, r.lost() ? Register<std::string>::kNever : r.completed, !r.lost());
        } else {
            read(bus, rng, who, card, vf);
        }
    }

    // A VF for a VM: assigned to a libvirt domain (for a tenant now and then, which gives the
    // VF that tenant), bound to vfio-pci or back to its host driver; now and then a domain
    // name libvirt does not allow, one it does not have, or a driver that is not offered.
    void libvirtCall(BusClient& bus, std::mt19937_64& rng, const std::string& who, unsigned card, unsigned vf) {
        const std::string target = std::to_string(card) + ":" + std::to_string(vf);
        const std::set<std::string> touches{"card" + std::to_string(card), "vf" + target, "libvirt"};
        if (rng() % 4 == 0) {
            static const char* kDrivers[] = {"vfio-pci", "host", "vfio-pci", "host", "nouveau"};
            const std::string driver = kDrivers[rng() % 5];
            auto r = bus.call(vfPath(card, vf), kVf1, "BindDriver", [&](sd_bus_message* m) { sd_bus_message_append(m, "s", driver.c_str()); });
            answered(r, who, busctl(vfPath(card, vf), kVf1, "BindDriver", "s " + driver), touches);
            if (driver == "nouveau") refusedBadInput(r, "BindDriver(nouveau)", touches);
            return;
        }
        const unsigned kind = rng() % 12;
        const std::string domain = kind == 0 ? "a/b" : kind == 1 ? "nosuch" : LibvirtWorld::domains()[rng() % LibvirtWorld::domains().size()];
        const std::string tenant = rng() % 4 == 0 ? kTenants[rng() % 3] : "";
        auto r = bus.call(vfPath(card, vf), kVf1, "Assign", [&](sd_bus_message* m) { sd_bus_message_append(m, "ss", domain.c_str(), tenant.c_str()); });
        answered(r, who, busctl(vfPath(card, vf), kVf1, "Assign", "ss " + quoted(domain) + " " + quoted(tenant)), touches);
        if (kind < 2) return refusedBadInput(r, "Assign(" + quoted(domain) + ")", touches);
        writeDomain(card, vf, domain, r);
        if (r.ok()) leaveTrace(card, vf, who);
        if (tenant.empty() || (!r.ok() && !r.lost())) return;
        // The VF may have been given the tenant (when it had none): not followed to the value.
        std::lock_guard lock(modelLock_);
        model_.cards[card].vfs[vf].forget();
        model_.cards[card].tenantGiven[vf] = true;
    }

    // Isolation, call by call: the VM or pod given a VF leaves a trace in its memory (unique to
    // this use); once a Release is answered, no trace left before it was asked for is there.
    void leaveTrace(unsigned card, unsigned vf, const std::string& who) {
        const std::string target = std::to_string(card) + ":" + std::to_string(vf);
        const std::string trace = "use-" + std::to_string(++traces_);
        if (stack_.sim({"vf-memory", "write", target, trace}).exitCode != 0) return;
        record(who, "aismi-sim vf-memory write " + target + " " + trace, "written (its user's data)", {"vf" + target});
        std::lock_guard lock(tracesLock_);
        traceLog_[{card, vf}].push_back({trace, now()});
    }

    void traceGone(unsigned card, unsigned vf, const Reply& release, const std::string& who, const std::set<std::string>& touches) {
        std::vector<std::string> before;
        {
            std::lock_guard lock(tracesLock_);
            auto& all = traceLog_[{card, vf}];
            for (auto it = all.begin(); it != all.end();)
                if (it->second < release.invoked) before.push_back(it->first), it = all.erase(it);
                else ++it;
        }
        if (before.empty()) return;
        const std::string target = std::to_string(card) + ":" + std::to_string(vf);
        const std::string memory = stack_.sim({"vf-memory", "read", target}).out;
        ++checks_;
        for (const auto& trace : before)
            if (memory.find(trace) != std::string::npos)
                violation(who + ": VF " + target + " was released (answered at " + std::to_string(release.completed) + " s) with its user's " + trace +
                              " still in its memory",
                          touches, release.invoked);
    }

    // Firmware, as an operator runs it: `aismi firmware ...` processes (they follow the update's
    // job to its end). An update that is answered with success and activated now runs its
    // version; one that fails is rolled back (the card runs what it ran); an image aismid must
    // not take is refused. Activate and rollback switch banks: not modelled to the version.
    void firmware(std::mt19937_64& rng, const std::string& who, unsigned card) {
        const std::string c = std::to_string(card);
        const std::set<std::string> touches{"card" + c};
        const unsigned kind = rng() % 6;
        std::vector<std::string> args;
        const FirmwareImage* image = nullptr;
        bool now = false;
        if (kind < 4) {
            image = &images_[rng() % images_.size()];
            now = rng() % 3 != 0;
            // Any version may follow any (the clients reinstall and go back too).
            args = {"firmware", "update", "-i", c, image->path, now ? "--activate=now" : "--activate=never", "--allow-older", "--allow-reinstall"};
        } else {
            args = {"firmware", kind == 4 ? "activate" : "rollback", "-i", c};
        }
        if (rng() % 2) args.push_back("--force");  // reset the card even with VFs in use
        const Reply r = runAismi(args, who, touches);
        if (image && !image->acceptable) return refusedBadInput(r, "firmware update with " + image->path, touches);
        std::lock_guard lock(modelLock_);
        auto& fw = model_.cards[card].firmware;
        if (!image) {
            if (r.ok() || r.lost()) fw.forget();
        } else if (now && (r.ok() || r.lost())) {
            fw.write(image->version, r.invoked, r.lost() ? Register<std::string>::kNever : r.completed, !r.lost());
        }
    }

    // The recovery policy: two of its keys, now and then out of range or unknown (refused).
    void recoveryPolicy(BusClient& bus, std::mt19937_64& rng, const std::string& who) {
        const unsigned kind = rng() % 5;
        const bool on = rng() % 2;
        const unsigned resets = kind == 3 ? 0 : 1 + static_cast<unsigned>(rng() % 100);
        Reply r;
        std::string args;
        if (kind < 2) {
            r = bus.call(kManagerPath, kManager1, "SetRecoveryPolicy", [&](sd_bus_message* m) { sd_bus_message_append(m, "a{sv}", 1, "auto_reset", "b", on); });
            args = std::string("a{sv} 1 auto_reset b ") + (on ? "true" : "false");
        } else if (kind < 4) {
            r = bus.call(kManagerPath, kManager1, "SetRecoveryPolicy", [&](sd_bus_message* m) { sd_bus_message_append(m, "a{sv}", 1, "reset_guard_resets", "u", resets); });
            args = "a{sv} 1 reset_guard_resets u " + std::to_string(resets);
        } else {
            r = bus.call(kManagerPath, kManager1, "SetRecoveryPolicy", [&](sd_bus_message* m) { sd_bus_message_append(m, "a{sv}", 1, "auto_rest", "b", on); });
            args = std::string("a{sv} 1 auto_rest b ") + (on ? "true" : "false");
        }
        answered(r, who, busctl(kManagerPath, kManager1, "SetRecoveryPolicy", args), {"policy"});
        if (kind >= 3) return refusedBadInput(r, "SetRecoveryPolicy(" + args + ")", {"policy"});
        if (!r.ok() && !r.lost()) return;
        std::lock_guard lock(modelLock_);
        const double completed = r.lost() ? Register<bool>::kNever : r.completed;
        if (kind < 2) model_.autoReset.write(on, r.invoked, completed, !r.lost());
        else model_.guardResets.write(resets, r.invoked, completed, !r.lost());
    }

    // Cancels a job the caller follows: refused once it cannot stop (a layout that runs, a VF
    // count being written); its end then says what happened.
    void cancelJob(BusClient& bus, const std::string& job, const std::string& who, const std::set<std::string>& touches) {
        auto r = bus.call(job, "org.aismi.Job1", "Cancel");
        answered(r, who, busctl(job, "org.aismi.Job1", "Cancel", ""), touches);
    }

    // Cancels a job someone else follows (a firmware update being written can stop): the one
    // who follows it sees its end, and the model follows that.
    void cancelAnyJob(BusClient& bus, std::mt19937_64& rng, const std::string& who) {
        auto list = bus.call(kManagerPath, kManager1, "ListJobs");
        answered(list, who, busctl(kManagerPath, kManager1, "ListJobs", ""), {"jobs"});
        if (!list.ok()) return;
        std::vector<std::string> running;
        if (sd_bus_message_enter_container(list.body.get(), 'a', "o") < 0) return;
        for (const char* path = nullptr; sd_bus_message_read(list.body.get(), "o", &path) > 0;) {
            auto s = bus.call(path, "org.freedesktop.DBus.Properties", "Get", [](sd_bus_message* m) { sd_bus_message_append(m, "ss", "org.aismi.Job1", "State"); });
            const char* state = nullptr;
            if (s.ok() && sd_bus_message_read(s.body.get(), "v", "s", &state) >= 0 && state && (std::string(state) == "running" || std::string(state) == "queued"))
                running.push_back(path);
        }
        if (running.empty()) return;
        cancelJob(bus, running[rng() % running.size()], who, {"jobs"});
    }

    // Runs `aismi ARGS` as root: its answer as a Reply (exit 0: ok; aismid gone under it: lost;
    // killed by the runner's timeout: no answer; else a refusal named by its exit code).
    Reply runAismi(const std::vector<std::string>& args, const std::string& who, const std::set<std::string>& touches) {
        Reply r;
        r.invoked = now();
        const RunResult run = stack_.aismi(args);
        r.completed = now();
        std::string command = "aismi";
        for (const auto& a : args) command += " " + a;
        if (run.exitCode < 0) r.timedOut = true;
        else if (run.exitCode == 18 || run.exitCode == 9) r.error = "(connection lost)";
        else if (run.exitCode == 20) r.error = "org.aismi.Error.Internal";
        else if (run.exitCode != 0) r.error = "org.aismi.Error.Exit" + std::to_string(run.exitCode);
        r.message = run.err.substr(0, run.err.find('\n'));
        answered(r, who, command, touches);
        return r;
    }

    void read(BusClient& bus, std::mt19937_64& rng, const std::string& who, unsigned card, unsigned vf) {
        Reply r;
        std::string command;
        switch (rng() % 8) {
        case 0: r = bus.call(kManagerPath, kManager1, "GetSummary"), command = busctl(kManagerPath, kManager1, "GetSummary", ""); break;
        case 7: {
            // The dry run (aismi partition apply --dry-run): a plan, or a named refusal; no change.
            static const char* kPlans[] = {"4xquarter", "2xquarter,4xeighth", "3xbogus", "20xeighth"};
            const std::string layout = kPlans[rng() % 4];
            r = bus.call(cardPath(card), kCard1, "PlanLayout", [&](sd_bus_message* m) { sd_bus_message_append(m, "s", layout.c_str()); });
            answered(r, who, busctl(cardPath(card), kCard1, "PlanLayout", "s " + quoted(layout)), {"card" + std::to_string(card)});
            if (layout.find("bogus") != std::string::npos || layout.rfind("20x", 0) == 0)
                refusedBadInput(r, "PlanLayout(" + layout + ")", {"card" + std::to_string(card)});
            return;
        }
        case 1:
            (void)bus.query(kVf1, {"CardIndex", "Index", "Profile", "Tenant", "Health", "State"}, &r);
            command = "aismi vf list";
            break;
        case 2:
            r = bus.call(kManagerPath, kManager1, "ListEvents", [](sd_bus_message* m) { sd_bus_message_append(m, "a{sv}", 1, "limit", "u", 50u); });
            command = busctl(kManagerPath, kManager1, "ListEvents", "a{sv} 1 limit u 50");
            break;
        case 3: r = bus.call(kManagerPath, kManager1, "ListJobs"), command = busctl(kManagerPath, kManager1, "ListJobs", ""); break;
        case 4:
            r = bus.call(cardPath(card), "org.freedesktop.DBus.Properties", "GetAll", [](sd_bus_message* m) { sd_bus_message_append(m, "s", kCard1); });
            command = "busctl get-property ... " + cardPath(card);
            break;
        case 5:
            r = bus.call(vfPath(card, vf), "org.freedesktop.DBus.Properties", "GetAll", [](sd_bus_message* m) { sd_bus_message_append(m, "s", kVf1); });
            command = "busctl introspect ... " + vfPath(card, vf);
            break;
        default: {
            // A scrape: judged at quiescent points (aismid may be killed under this one).
            std::string address;
            {
                std::lock_guard lock(metricsLock_);
                address = metrics_;
            }
            if (!address.empty()) (void)httpGet(address, "/metrics", {}, 30000);
            record(who, "curl http://" + address + "/metrics", "scraped", {"world-read"});
            return;
        }
        }
        answered(r, who, command, {"card" + std::to_string(card)});
    }

    void applyLayout(BusClient& bus, unsigned card, const std::string& layout, const std::string& who, bool cancel) {
        const std::set<std::string> touches{"card" + std::to_string(card)};
        auto r = bus.call(cardPath(card), kCard1, "ApplyLayout", [&](sd_bus_message* m) { sd_bus_message_append(m, "s", layout.c_str()); });
        answered(r, who, "aismi partition apply -i " + std::to_string(card) + " " + layout, touches);
        if (layout.find("bogus") != std::string::npos || layout.rfind("20x", 0) == 0) return refusedBadInput(r, "ApplyLayout(" + layout + ")", touches);
        if (!r.ok()) {
            if (r.lost()) forgetCard(card);
            return;
        }
        const char* job = nullptr;
        if (sd_bus_message_read(r.body.get(), "o", &job) < 0 || !job) return;
        if (cancel) cancelJob(bus, job, who, touches);  // refused once the layout runs
        // The layout runs as a job: its end says what happened.
        const auto [state, completed] = followJob(bus, job, who, touches);
        std::lock_guard lock(modelLock_);
        auto& c = model_.cards[card];
        if (state != "done") {
            // Failed midway (its rollback may have failed too), or no answer: not modelled.
            forgetCard(card, false);
            return;
        }
        // Applied: the count, and each VF's profile with no tenant — except a VF the layout
        // left as it was (it keeps its tenant).
        std::vector<std::string> profiles;
        std::stringstream items(layout);
        for (std::string item; std::getline(items, item, ',');) {
            const auto x = item.find('x');
            for (unsigned k = 0, n = static_cast<unsigned>(std::stoul(item.substr(0, x))); k < n; ++k) profiles.push_back(item.substr(x + 1));
        }
        c.count.write(static_cast<unsigned>(profiles.size()), r.invoked, completed, true);
        for (auto& h : c.holders) h.forget();
        for (auto& d : c.domains) d.forget();
        for (unsigned i = 0; i < gOptions.vfs; ++i) {
            if (i >= profiles.size()) {
                c.vfs[i].write(Provisioning{}, r.invoked, completed, false);
                continue;
            }
            bool keptTenant = false;
            for (const auto& p : c.vfs[i].candidates()) keptTenant |= p.profile == profiles[i] && !p.tenant.empty();
            if (keptTenant || c.vfs[i].unknown()) c.vfs[i].forget();
            else c.vfs[i].write(Provisioning{profiles[i], ""}, r.invoked, completed, true);
        }
    }

    // Follows a job to its end: its final state ("done", "failed", "cancelled"; "" when aismid
    // went away first) and when the tester saw it (kNever then).
    std::pair<std::string, double> followJob(BusClient& bus, const std::string& path, const std::string& who, const std::set<std::string>& touches) {
        std::string state;
        double completed = Register<unsigned>::kNever;
        for (double until = now() + 120; now() < until;) {
            auto s = bus.call(path, "org.freedesktop.DBus.Properties", "Get", [](sd_bus_message* m) { sd_bus_message_append(m, "ss", "org.aismi.Job1", "State"); });
            if (!s.ok()) break;  // aismid went away, or the job with it
            const char* v = nullptr;
            if (sd_bus_message_read(s.body.get(), "v", "s", &v) >= 0 && v) state = v;
            if (state == "done" || state == "failed" || state == "cancelled") {
                completed = now();
                break;
            }
            std::this_thread::sleep_for(20ms);
        }
        if (completed == Register<unsigned>::kNever) state.clear();
        record(who, "  (job " + path + ")", state.empty() ? "no end seen" : state, touches);
        return {state, completed};
    }

    // ---- the model's updates ----------------------------------------------------------

    void writeVf(unsigned card, unsigned vf, const Provisioning& p, const Reply& r, bool stands) {
        if (!r.ok() && !r.lost() && !stands) return;  // refused: nothing changed
        std::lock_guard lock(modelLock_);
        model_.cards[card].vfs[vf].write(p, r.invoked, r.lost() ? Register<Provisioning>::kNever : r.completed, !r.lost());
    }

    void writeHolder(unsigned card, unsigned vf, const std::string& holder, const Reply& r) {
        if (!r.ok() && !r.lost()) return;
        std::lock_guard lock(modelLock_);
        model_.cards[card].holders[vf].write(holder, r.invoked, r.lost() ? Register<std::string>::kNever : r.completed, !r.lost());
    }

    // A VF given to a domain, or taken back (`domain` ""): taking it back also takes back a
    // tenant the assignment gave it.
    void writeDomain(unsigned card, unsigned vf, const std::string& domain, const Reply& r) {
        if (!r.ok() && !r.lost()) return;
        std::lock_guard lock(modelLock_);
        auto& c = model_.cards[card];
        if (domain.empty() && c.tenantGiven[vf]) c.vfs[vf].forget();
        c.domains[vf].write(domain, r.invoked, r.lost() ? Register<std::string>::kNever : r.completed, !r.lost());
    }

    void writeQuarantine(unsigned card, unsigned vf, bool on, const Reply& r) {
        if (!r.ok() && !r.lost()) return;
        std::lock_guard lock(modelLock_);
        model_.cards[card].quarantined[vf].write(on, r.invoked, r.lost() ? Register<bool>::kNever : r.completed, !r.lost());
    }

    void writeCount(unsigned card, unsigned count, const Reply& r) {
        if (!r.ok() && !r.lost()) return;
        std::lock_guard lock(modelLock_);
        auto& c = model_.cards[card];
        const double completed = r.lost() ? Register<unsigned>::kNever : r.completed;
        c.count.write(count, r.invoked, completed, !r.lost());
        // Replacing the VFs takes their provisioning and quarantines with them; on a card with
        // none (a power cycle not yet restored) the provisioning waits for them: either.
        for (auto& v : c.vfs) v.write(Provisioning{}, r.invoked, completed, false);
        for (auto& q : c.quarantined) q.forget();
        for (auto& h : c.holders) h.forget();
        for (auto& d : c.domains) d.forget();
    }

    // `lock`: take modelLock_ (false: the caller holds it).
    void forgetCard(unsigned card, bool lock = true) {
        std::unique_lock guard(modelLock_, std::defer_lock);
        if (lock) guard.lock();
        auto& c = model_.cards[card];
        c.count.forget();
        for (auto& v : c.vfs) v.forget();
        for (auto& q : c.quarantined) q.forget();
        for (auto& h : c.holders) h.forget();
        for (auto& d : c.domains) d.forget();
    }

    // ---- per-call checks ----------------------------------------------------------------

    // Every call is answered in time, with a named error when it is refused.
    void answered(const Reply& r, const std::string& who, const std::string& command, const std::set<std::string>& touches) {
        record(who, command, r.ok() ? "ok" : r.error + (r.message.empty() ? "" : ": " + r.message.substr(0, 200)), touches);
        {
            // What kind of call it was: busctl's member, or the aismi command's words.
            std::istringstream words(command);
            std::vector<std::string> w{std::istream_iterator<std::string>(words), {}};
            const std::string kind = w.size() > 6 && w[0] == "busctl" && w[2] == "call" ? w[6] : w.size() > 2 ? w[1] + " " + w[2] : command;
            std::lock_guard lock(tallyLock_);
            auto& t = tally_[kind];
            ++t[r.ok() ? 0 : r.lost() || r.absent() ? 2 : 1];
        }
        ++checks_;
        if (r.timedOut) {
            char when[64];
            std::snprintf(when, sizeof when, " (sent at %.3f s, given up at %.3f s)", r.invoked, r.completed);
            violation(who + ": no answer within the call's timeout: " + command + when + "\n  aismid's log ends:\n" + tail(stack_.daemonLog()), touches, r.invoked);
            return;
        }
        if (r.ok() || r.lost() || r.absent()) return;
        static const std::set<std::string> kBusErrors{"org.freedesktop.DBus.Error.UnknownObject", "org.freedesktop.DBus.Error.UnknownMethod",
                                                      "org.freedesktop.DBus.Error.InvalidArgs", "org.freedesktop.DBus.Error.AccessDenied",
                                                      "org.freedesktop.DBus.Error.UnknownInterface"};
        const bool named = (r.error.rfind("org.aismi.Error.", 0) == 0 && r.error != "org.aismi.Error.Internal") || kBusErrors.count(r.error);
        if (!named) violation(who + ": " + command + " answered " + r.error + ": " + r.message, touches);
    }

    void refusedBadInput(const Reply& r, const std::string& what, const std::set<std::string>& touches) {
        ++checks_;
        if (r.ok()) violation(what + " was accepted: bad input must be refused and change nothing", touches);
    }

    // ---- quiescent checks ---------------------------------------------------------------

    void quiesce(const std::function<void()>& body) {
        {
            std::unique_lock lock(pauseLock_);
            paused_ = true;
            idle_.wait(lock, [this] { return active_ == 0; });
        }
        body();
        resumeClients();
    }

    void resumeClients() {
        {
            std::lock_guard lock(pauseLock_);
            paused_ = false;
        }
        resume_.notify_all();
    }

    struct Seen {
        std::map<unsigned, std::string> serial;
        std::map<unsigned, unsigned> enabled;
        std::map<std::pair<unsigned, unsigned>, Provisioning> vfs;
        std::map<std::pair<unsigned, unsigned>, bool> quarantined, scrubPending;
        std::map<std::pair<unsigned, unsigned>, std::string> holder, domain;
        std::map<unsigned, std::string> oversubscription;
        std::map<unsigned, std::string> firmware;
        bool autoReset = false;
        unsigned guardResets = 0;
    };

    // Who uses a VF: its tenant, and the VM (libvirt domain) or pod (kubelet) it is in.
    struct Owner {
        std::string tenant, consumer;
        std::string pattern() const { return "mem-" + tenant + "." + consumer; }  // aismi-sim takes letters, digits, "-_."
        std::string text() const {
            const std::string t = tenant.empty() ? "no tenant" : "tenant " + tenant;
            return consumer.empty() ? t : t + " in " + consumer;
        }
    };
    static std::string consumerOf(const Seen& seen, const std::pair<unsigned, unsigned>& key) {
        if (auto d = seen.domain.find(key); d != seen.domain.end() && !d->second.empty()) return "domain-" + d->second;
        if (auto h = seen.holder.find(key); h != seen.holder.end() && !h->second.empty()) return "holder-" + h->second;
        return "";
    }

    Seen observe(BusClient& bus) {
        Seen s;
        auto cards = bus.query(kCard1, {"Index", "Serial", "VfEnabled", "ComputeOversubscription", "FirmwareVersion"});
        for (size_t i = 0; i < cards["Index"].size(); ++i) {
            const unsigned c = static_cast<unsigned>(std::stoul(cards["Index"][i]));
            s.serial[c] = cards["Serial"].at(i);
            s.enabled[c] = static_cast<unsigned>(std::stoul(cards["VfEnabled"].at(i)));
            char ratio[16];
            std::snprintf(ratio, sizeof ratio, "%.2f", std::stod(cards["ComputeOversubscription"].at(i)));
            s.oversubscription[c] = ratio;
            s.firmware[c] = cards["FirmwareVersion"].at(i);
        }
        const auto property = [&](const char* name, const char* type) {
            auto r = bus.call(kManagerPath, "org.freedesktop.DBus.Properties", "Get", [&](sd_bus_message* m) { sd_bus_message_append(m, "ss", kManager1, name); });
            if (!r.ok()) throw std::runtime_error(std::string("Manager1.") + name + ": " + r.error);
            uint32_t value = 0;  // b and u are both 32 bits on the wire
            if (sd_bus_message_read(r.body.get(), "v", type, &value) < 0) throw std::runtime_error(std::string("Manager1.") + name + " does not read as " + type);
            return value;
        };
        s.autoReset = property("AutoReset", "b") != 0;
        s.guardResets = property("ResetGuardResets", "u");
        auto vfs = bus.query(kVf1, {"CardIndex", "Index", "Profile", "Tenant", "Quarantined", "ScrubPending", "Holder", "Domain"});
        for (size_t i = 0; i < vfs["Index"].size(); ++i) {
            const std::pair<unsigned, unsigned> key{static_cast<unsigned>(std::stoul(vfs["CardIndex"][i])), static_cast<unsigned>(std::stoul(vfs["Index"][i]))};
            s.vfs[key] = Provisioning{vfs["Profile"].at(i), vfs["Tenant"].at(i)};
            s.quarantined[key] = vfs["Quarantined"].at(i) == "true";
            s.scrubPending[key] = vfs["ScrubPending"].at(i) == "true";
            s.holder[key] = vfs["Holder"].at(i);
            s.domain[key] = vfs["Domain"].at(i);
        }
        return s;
    }

    // Faults cleared, aismid up: within a bound every card is as desired, and the model holds.
    void check(bool first) {
        {
            std::lock_guard lock(daemonLock_);
            if (stopped_) ::kill(stack_.daemonPid(), SIGCONT), stopped_ = false;
        }
        watchDaemon();
        for (unsigned c = 0; c < gOptions.cards; ++c) {
            (void)stack_.sim({"clear", std::to_string(c)});
            for (unsigned v = 0; v < gOptions.vfs; ++v) (void)stack_.sim({"clear", std::to_string(c) + ":" + std::to_string(v)});
        }
        const std::string db = stack_.stateDir() + "/aismid.db";
        // Desired equals actual, nothing open, nothing running: within a bound.
        std::string why;
        for (double until = now() + 45; now() < until;) {
            try {
                why = unsettled(db);
            } catch (const std::exception& e) {
                why = std::string("cannot read aismid's answers: ") + e.what();
            }
            if (why.empty()) break;
            std::this_thread::sleep_for(250ms);
        }
        ++checks_;
        if (!why.empty()) violation("45 s after the faults stopped: " + why, {"world"});
        watchDaemon();
        Seen seen;
        try {
            BusClient bus(stack_.busAddress());
            seen = observe(bus);
        } catch (const std::exception& e) {
            violation(std::string("cannot read aismid's answers at a quiescent point: ") + e.what(), {"world"});
        }
        std::lock_guard lock(modelLock_);
        if (!first) compare(seen, db);
        // The history starts again from what is there now.
        for (unsigned c = 0; c < gOptions.cards; ++c) {
            auto& mc = model_.cards[c];
            mc.count.seen(seen.enabled.count(c) ? seen.enabled.at(c) : 0);
            mc.oversubscription.seen(seen.oversubscription.count(c) ? seen.oversubscription.at(c) : "");
            mc.firmware.seen(seen.firmware.count(c) ? seen.firmware.at(c) : "");
            for (unsigned v = 0; v < gOptions.vfs; ++v) {
                auto p = seen.vfs.find({c, v});
                mc.vfs[v].seen(p != seen.vfs.end() ? p->second : Provisioning{});
                auto q = seen.quarantined.find({c, v});
                mc.quarantined[v].seen(q != seen.quarantined.end() && q->second);
                auto h = seen.holder.find({c, v});
                mc.holders[v].seen(h != seen.holder.end() ? h->second : "");
                auto d = seen.domain.find({c, v});
                mc.domains[v].seen(d != seen.domain.end() ? d->second : "");
                mc.tenantGiven[v] = false;
            }
        }
        // (A card's key is its serial.)
        for (const auto& row : queryStore(db, "SELECT card_key, vf FROM vf_assignments WHERE tenant_given = 1"))
            for (unsigned c = 0; c < gOptions.cards; ++c)
                if (seen.serial.count(c) && seen.serial.at(c) == row[0] && std::stoul(row[1]) < gOptions.vfs) model_.cards[c].tenantGiven[std::stoul(row[1])] = true;
        model_.autoReset.seen(seen.autoReset);
        model_.guardResets.seen(seen.guardResets);
        std::map<std::string, uint64_t> usage;
        for (const auto& [key, p] : seen.vfs)
            if (!p.tenant.empty()) ++usage[p.tenant];
        model_.tenants.clear();
        for (const auto& row : queryStore(db, "SELECT tenant, max_vfs FROM quotas"))
            model_.tenants[row[0]].allowance = std::max<uint64_t>(std::stoull(row[1]), usage[row[0]]);
        for (const auto& t : kTenants)
            if (!t.empty() && !model_.tenants.count(t)) model_.tenants[t].allowance = UINT64_MAX;
        // Each user (a tenant, the VM or pod it runs in) leaves its mark in its VFs' memory; a VF
        // that changes hands must lose it.
        marks_.clear();
        for (const auto& [key, p] : seen.vfs) {
            const Owner owner{p.tenant, consumerOf(seen, key)};
            if ((owner.tenant.empty() && owner.consumer.empty()) || seen.scrubPending.at(key)) continue;
            const std::string vf = std::to_string(key.first) + ":" + std::to_string(key.second);
            if (stack_.sim({"vf-memory", "write", vf, owner.pattern()}).exitCode == 0) marks_[key] = owner;
        }
        if (first) {
            baselineFds_ = openFds(stack_.daemonPid());
            baselineRss_ = rssKib(stack_.daemonPid());
            baselineStore_ = storeSize(db);
        }
        lastCheck_ = now();
        ++quiescentPoints_;
        for (auto& r : restoring_) r = false;
    }

    std::string unsettled(const std::string& db) {
        if (!daemonUp()) return "aismid is not running";
        const auto open = queryStore(db, "SELECT id, kind, target, step FROM operations WHERE finished_at IS NULL");
        if (!open.empty()) return "journal entry " + open[0][0] + " (" + open[0][1] + " on " + open[0][2] + ") is still open";
        const auto running = queryStore(db, "SELECT id, kind, target FROM jobs WHERE state IN ('queued','running')");
        if (!running.empty()) return "job " + running[0][0] + " (" + running[0][1] + " on " + running[0][2] + ") is still running in the store";
        const auto flashing = queryStore(db, "SELECT id, kind, card_key, state FROM firmware_updates WHERE state IN ('writing','activating')");
        if (!flashing.empty())
            return "firmware " + flashing[0][1] + " " + flashing[0][0] + " on " + flashing[0][2] + " is still " + flashing[0][3] + " in the store";
        const auto moving = queryStore(db, "SELECT card_key, vf, domain, state FROM vf_assignments WHERE state != 'assigned'");
        if (!moving.empty()) return "VF " + moving[0][1] + " of card " + moving[0][0] + " is still " + moving[0][3] + " domain '" + moving[0][2] + "' in the store";
        for (unsigned c = 0; c < gOptions.cards; ++c) {
            auto shown = stack_.aismi({"partition", "show", "-i", std::to_string(c)});
            if (shown.exitCode != 0) return "aismi partition show -i " + std::to_string(c) + " failed: " + shown.err;
            if (shown.out.find("differs") != std::string::npos)
                return "card " + std::to_string(c) + " is not as desired:\n" + shown.out + "  its health: " + stack_.aismi({"health", "-i", std::to_string(c)}).out +
                       "  aismid's log about it ends:\n" + logAbout("card " + std::to_string(c));
        }
        // Every card has the VF count it should.
        std::map<std::string, std::string> desired;
        for (const auto& row : queryStore(db, "SELECT serial, desired_vf_count FROM cards")) desired[row[0]] = row[1];
        BusClient bus(stack_.busAddress());
        auto cards = bus.query(kCard1, {"Index", "Serial", "VfEnabled"});
        if (cards["Index"].size() != gOptions.cards) return "aismid lists " + std::to_string(cards["Index"].size()) + " cards";
        for (size_t i = 0; i < cards["Index"].size(); ++i) {
            auto want = desired.find(cards["Serial"].at(i));
            if (want != desired.end() && want->second != cards["VfEnabled"].at(i))
                return "card " + cards["Index"][i] + ": desired " + want->second + " VFs, it has " + cards["VfEnabled"].at(i);
        }
        return libvirt_ ? disagreementWithLibvirt(bus) : "";
    }

    // aismid and libvirt agree: every VF aismid says a domain has is in that domain's XML, and
    // every one of aismid's VFs in a domain's XML is that domain's in aismid (adopted), or
    // aismid reports the conflict in the VF's health reasons (in two domains, held by kubelet).
    std::string disagreementWithLibvirt(BusClient& bus) {
        if (!libvirt_->up()) return "libvirtd does not answer";
        const auto domains = libvirt_->hostdevs();
        auto vfs = bus.query(kVf1, {"CardIndex", "Index", "PciAddress", "Domain"});
        std::map<std::string, size_t> byAddress;
        for (size_t i = 0; i < vfs["PciAddress"].size(); ++i) {
            byAddress[vfs["PciAddress"][i]] = i;
            const std::string& domain = vfs["Domain"].at(i);
            if (domain.empty()) continue;
            const auto in = domains.find(domain);
            if (in == domains.end() || std::find(in->second.begin(), in->second.end(), vfs["PciAddress"][i]) == in->second.end())
                return "VF " + vfs["CardIndex"].at(i) + ":" + vfs["Index"].at(i) + " (" + vfs["PciAddress"][i] + "): aismid says domain '" + domain +
                       "' has it; libvirt's XML of '" + domain + "' does not";
        }
        for (const auto& [domain, addresses] : domains)
            for (const auto& address : addresses) {
                const auto at = byAddress.find(address);
                if (at == byAddress.end() || vfs["Domain"].at(at->second) == domain) continue;
                const std::string vf = vfs["CardIndex"].at(at->second) + ":" + vfs["Index"].at(at->second);
                const auto reasons = healthReasons(bus, vfPath(std::stoul(vfs["CardIndex"].at(at->second)), std::stoul(vfs["Index"].at(at->second))));
                if (reasons.find("'" + domain + "'") == std::string::npos)
                    return "VF " + vf + " (" + address + ") is in domain '" + domain + "''s XML; aismid says its domain is '" + vfs["Domain"].at(at->second) +
                           "' and reports no conflict (health reasons: " + reasons + ")";
            }
        return "";
    }

    static std::string healthReasons(BusClient& bus, const std::string& path) {
        auto r = bus.call(path, "org.freedesktop.DBus.Properties", "Get", [](sd_bus_message* m) { sd_bus_message_append(m, "ss", kVf1, "HealthReasons"); });
        std::string out;
        if (!r.ok() || sd_bus_message_enter_container(r.body.get(), 'v', "as") < 0 || sd_bus_message_enter_container(r.body.get(), 'a', "s") < 0) return out;
        for (const char* reason = nullptr; sd_bus_message_read(r.body.get(), "s", &reason) > 0;) out += (out.empty() ? "" : "; ") + std::string(reason);
        return out;
    }

    void compare(const Seen& seen, const std::string& db) {
        std::map<std::string, unsigned> desiredCount;
        for (const auto& row : queryStore(db, "SELECT serial, desired_vf_count FROM cards")) desiredCount[row[0]] = static_cast<unsigned>(std::stoul(row[1]));
        std::map<std::pair<std::string, unsigned>, Provisioning> rows;
        for (const auto& row : queryStore(db, "SELECT serial, vf, profile, tenant FROM vf_provisioning"))
            rows[{row[0], static_cast<unsigned>(std::stoul(row[1]))}] = Provisioning{row[2], row[3]};
        for (unsigned c = 0; c < gOptions.cards; ++c) {
            const std::string card = "card" + std::to_string(c);
            auto& mc = model_.cards[c];
            const unsigned enabled = seen.enabled.count(c) ? seen.enabled.at(c) : 0;
            const auto serial = seen.serial.count(c) ? seen.serial.at(c) : std::string();
            ++checks_;
            if (!mc.count.allows(enabled)) violation(card + " has " + std::to_string(enabled) + " VFs; the acknowledged changes allow " + list(mc.count.candidates()), {card});
            ++checks_;
            const std::string ratio = seen.oversubscription.count(c) ? seen.oversubscription.at(c) : "";
            if (!mc.oversubscription.allows(ratio))
                violation(card + "'s compute oversubscription is " + ratio + "; the acknowledged changes allow " + list(mc.oversubscription.candidates()), {card});
            ++checks_;
            const std::string firmware = seen.firmware.count(c) ? seen.firmware.at(c) : "";
            if (!mc.firmware.allows(firmware))
                violation(card + " runs firmware " + firmware + "; the acknowledged updates allow " + list(mc.firmware.candidates()), {card});
            ++checks_;
            if (desiredCount.count(serial) && desiredCount[serial] != enabled)
                violation(card + ": the store's desired count is " + std::to_string(desiredCount[serial]) + ", the card has " + std::to_string(enabled), {card});
            for (unsigned v = 0; v < enabled && v < gOptions.vfs; ++v) {
                const std::string vf = "vf" + std::to_string(c) + ":" + std::to_string(v);
                const auto it = seen.vfs.find({c, v});
                const Provisioning bus = it != seen.vfs.end() ? it->second : Provisioning{};
                const auto row = rows.find({serial, v});
                const Provisioning store = row != rows.end() ? row->second : Provisioning{};
                ++checks_;
                if (!(bus == store)) violation(vf + ": the bus says " + text(bus) + ", the store " + text(store), {vf, card});
                ++checks_;
                if (!mc.vfs[v].allows(bus)) violation(vf + " holds " + text(bus) + "; the acknowledged changes allow " + list(mc.vfs[v].candidates()), {vf, card});
                const bool q = seen.quarantined.count({c, v}) && seen.quarantined.at({c, v});
                ++checks_;
                if (!mc.quarantined[v].allows(q)) violation(vf + std::string(q ? " is" : " is not") + " quarantined, against the acknowledged changes", {vf, card});
                const std::string holder = seen.holder.count({c, v}) ? seen.holder.at({c, v}) : "";
                ++checks_;
                if (!mc.holders[v].allows(holder))
                    violation(vf + " is held by '" + holder + "'; the acknowledged changes allow " + list(mc.holders[v].candidates()), {vf, card});
                const std::string domain = seen.domain.count({c, v}) ? seen.domain.at({c, v}) : "";
                ++checks_;
                if (!mc.domains[v].allows(domain))
                    violation(vf + " is assigned to domain '" + domain + "'; the acknowledged changes allow " + list(mc.domains[v].candidates()), {vf, card, "libvirt"});
                ++checks_;
                if (!domain.empty() && !holder.empty()) violation(vf + " has two consumers: domain '" + domain + "' and " + holder, {vf, card, "libvirt"});
                // Isolation: a VF that changed hands since the last check (another tenant, or
                // out of the VM or pod that had it) lost what its user left in it.
                auto mark = marks_.find({c, v});
                if (mark == marks_.end() || seen.scrubPending.at({c, v})) continue;
                const Owner now{bus.tenant, consumerOf(seen, {c, v})};
                if (now.tenant == mark->second.tenant && (mark->second.consumer.empty() || now.consumer == mark->second.consumer)) continue;
                ++checks_;
                const std::string memory = stack_.sim({"vf-memory", "read", std::to_string(c) + ":" + std::to_string(v)}).out;
                if (memory.find(mark->second.pattern()) != std::string::npos)
                    violation(vf + " went from " + mark->second.text() + " to " + now.text() + " with the memory of " + mark->second.text() + " still in it",
                              {vf, card, "libvirt"});
            }
        }
        checks_ += 2;
        if (!model_.autoReset.allows(seen.autoReset))
            violation(std::string("the recovery policy's auto_reset is ") + (seen.autoReset ? "on" : "off") + " against the acknowledged changes", {"policy"});
        if (!model_.guardResets.allows(seen.guardResets))
            violation("the recovery policy's reset_guard_resets is " + std::to_string(seen.guardResets) + "; the acknowledged changes allow " +
                          list(model_.guardResets.candidates()),
                      {"policy"});
        std::map<std::string, uint64_t> usage;
        for (const auto& [key, p] : seen.vfs)
            if (!p.tenant.empty()) ++usage[p.tenant];
        for (const auto& [tenant, t] : model_.tenants) {
            ++checks_;
            if (t.allowance != UINT64_MAX && usage[tenant] > t.allowance)
                violation("tenant " + tenant + " holds " + std::to_string(usage[tenant]) + " VFs; its quotas since the last check allowed " + std::to_string(t.allowance),
                          {"tenant " + tenant});
        }
        const long fds = openFds(stack_.daemonPid());
        ++checks_;
        if (baselineFds_ > 0 && fds > baselineFds_ + 32) violation("aismid holds " + std::to_string(fds) + " descriptors, " + std::to_string(baselineFds_) + " at the start", {"world"});
        // Bounded: its memory (ASan keeps up to 256 MiB of freed memory in quarantine) and its
        // store (events, jobs and finished journal entries are trimmed to their limits).
        const long rss = rssKib(stack_.daemonPid());
        ++checks_;
        if (rss > kRssBoundKib) violation("aismid's RSS is " + std::to_string(rss / 1024) + " MiB, over the bound of " + std::to_string(kRssBoundKib / 1024) + " MiB", {"world"});
        storeBytes_ = storeSize(db);
        ++checks_;
        if (storeBytes_ > kStoreBoundBytes)
            violation("aismid's store is " + std::to_string(storeBytes_ >> 20) + " MiB with its WAL, over the bound of " + std::to_string(kStoreBoundBytes >> 20) + " MiB", {"world"});
        const std::string address = metricsAddress();
        if (!address.empty()) {
            auto page = httpGet(address, "/metrics", {}, 30000);
            ++checks_;
            if (page.status != 200 || page.body.find("aismi_") == std::string::npos)
                violation("GET /metrics at a quiescent point: " + std::to_string(page.status) + " " + page.error, {"world"});
        }
    }

    static uintmax_t storeSize(const std::string& db) {
        uintmax_t total = 0;
        for (const auto& file : {db, db + "-wal"}) {
            std::error_code ec;
            const auto size = std::filesystem::file_size(file, ec);
            if (!ec) total += size;
        }
        return total;
    }
#if defined(__SANITIZE_ADDRESS__)
    static constexpr long kRssBoundKib = 768 * 1024;
#else
    static constexpr long kRssBoundKib = 160 * 1024;
#endif
    static constexpr uintmax_t kStoreBoundBytes = uintmax_t{64} << 20;

    // Where aismid serves /metrics (a new port after each start). Conductor only.
    std::string metricsAddress() {
        std::lock_guard lock(metricsLock_);
        if (metrics_.empty() || metricsPid_ != stack_.daemonPid()) metrics_ = stack_.metricsAddress(), metricsPid_ = stack_.daemonPid();
        return metrics_;
    }

    // ---- the report ---------------------------------------------------------------------

    void record(const std::string& who, const std::string& command, const std::string& outcome, const std::set<std::string>& touches) {
        std::lock_guard lock(historyLock_);
        history_.push_back(Step{now(), who, command, outcome, touches});
        if (historyFile_) {
            char at[32];
            std::snprintf(at, sizeof at, "%9.3f", history_.back().at);
            historyFile_ << at << "  " << who << ": " << command << "  -> " << outcome << "\n";
        }
        if (history_.size() > 200000) history_.erase(history_.begin(), history_.begin() + 100000);
    }

    // A violation, with the steps since the last good check that touched what it is about (and
    // the world's): the shortest history that explains it, as commands to paste.
    void violation(const std::string& what, const std::set<std::string>& about, std::optional<double> around = std::nullopt) {
        std::ostringstream out;
        const double since = around ? *around - 2 : lastCheck_.load();
        out << "VIOLATION: " << what << "\n  the steps since the last check (t=" << since << " s) that touched it:\n";
        {
            std::lock_guard lock(historyLock_);
            std::vector<const Step*> slice;
            for (const auto& s : history_) {
                if (s.at < since || (around && s.at > *around + 2)) continue;
                bool relevant = s.touches.count("world") > 0;
                for (const auto& a : about) relevant |= s.touches.count(a) > 0;
                if (relevant) slice.push_back(&s);
            }
            // The last steps are the ones that led to it.
            constexpr size_t kShown = 80;
            if (slice.size() > kShown) out << "    ... " << slice.size() - kShown << " earlier steps\n";
            for (size_t i = slice.size() > kShown ? slice.size() - kShown : 0; i < slice.size(); ++i) {
                char at[32];
                std::snprintf(at, sizeof at, "%8.3f", slice[i]->at);
                out << "    " << at << "  " << slice[i]->who << ": " << slice[i]->command << "  -> " << slice[i]->outcome << "\n";
            }
        }
        out << "  replay: aismi-chaos --seed " << seed_ << " --seconds " << gOptions.seconds << " --clients " << gOptions.clients << "\n";
        std::lock_guard lock(violationsLock_);
        violations_.push_back(out.str());
        std::cerr << out.str() << std::flush;
    }

    void summary() {
        const long rss = rssKib(stack_.daemonPid());
        std::printf("chaos: %llu quiescent points; aismid RSS %ld -> %ld KiB, descriptors %ld -> %ld, store %ju -> %ju KiB\n",
                    static_cast<unsigned long long>(quiescentPoints_), baselineRss_, rss, baselineFds_, openFds(stack_.daemonPid()), baselineStore_ >> 10,
                    storeBytes_ >> 10);
        std::printf("chaos: %-28s %9s %9s %9s\n", "call", "ok", "refused", "no answer");
        for (const auto& [kind, t] : tally_)
            std::printf("chaos: %-28s %9llu %9llu %9llu\n", kind.c_str(), static_cast<unsigned long long>(t[0]), static_cast<unsigned long long>(t[1]),
                        static_cast<unsigned long long>(t[2]));
        std::printf("chaos: %llu steps, %llu checks, %llu faults, %llu crashes, %zu violations (seed %llu)\n", static_cast<unsigned long long>(steps_.load()),
                    static_cast<unsigned long long>(checks_.load()), static_cast<unsigned long long>(faults_.load()),
                    static_cast<unsigned long long>(crashes_.load()), violations_.size(), static_cast<unsigned long long>(seed_));
        std::fflush(stdout);
    }

    template <class V>
    static std::string list(const std::vector<V>& values) {
        std::string out;
        for (const auto& v : values) {
            if (!out.empty()) out += " or ";
            if constexpr (std::is_same_v<V, Provisioning>) out += text(v);
            else if constexpr (std::is_same_v<V, std::string>) out += "'" + v + "'";
            else out += std::to_string(v);
        }
        return out.empty() ? "nothing" : out;
    }
    static std::string quoted(const std::string& s) {
        std::string out = "'";
        for (char ch : s) {
            if (static_cast<unsigned char>(ch) < 0x20) {
                char hex[8];
                std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(ch));
                out += "'$'" + std::string(hex) + "''";
            } else {
                out += ch;
            }
        }
        return out + "'";
    }
    static std::string busctl(const std::string& path, const char* interface, const char* member, const std::string& args) {
        return std::string("busctl --system call org.aismi.Manager1 ") + path + " " + interface + " " + member + (args.empty() ? "" : " " + args);
    }
    static std::string tail(const std::string& log) { return log.size() > 6000 ? log.substr(log.size() - 6000) : log; }
    // The last lines of aismid's log (since the test began) that mention `what`.
    std::string logAbout(const std::string& what, size_t lines = 40) {
        std::vector<std::string> found;
        std::istringstream in(stack_.daemonLog());
        for (std::string line; std::getline(in, line);)
            if (line.find(what) != std::string::npos) found.push_back(line);
        std::string out;
        for (size_t i = found.size() > lines ? found.size() - lines : 0; i < found.size(); ++i) out += "    " + found[i] + "\n";
        return out;
    }

    Stack& stack_;
    const uint64_t seed_;
    std::mt19937_64 world_;
    const std::vector<FirmwareImage> images_;
    LibvirtWorld* const libvirt_;  // null: no libvirt (not root)
    std::ofstream historyFile_;
    std::mutex modelLock_, historyLock_, violationsLock_, daemonLock_, metricsLock_, tallyLock_;
    std::map<std::string, std::array<uint64_t, 3>> tally_;  // per kind of call: ok, refused, no answer (aismid away)
    Model model_;
    std::map<std::pair<unsigned, unsigned>, Owner> marks_;  // VF -> the user whose memory it holds
    std::mutex tracesLock_;
    std::map<std::pair<unsigned, unsigned>, std::vector<std::pair<std::string, double>>> traceLog_;  // VF -> traces, when left
    std::atomic<uint64_t> traces_{0};
    std::vector<Step> history_;
    std::vector<std::string> violations_;
    std::atomic<uint64_t> steps_{0}, checks_{0}, faults_{0}, crashes_{0};
    uint64_t quiescentPoints_ = 0;
    std::atomic<double> lastCheck_{0};
    long baselineFds_ = 0, baselineRss_ = 0;
    uintmax_t baselineStore_ = 0, storeBytes_ = 0;
    bool stopped_ = false;
    std::string metrics_;
    pid_t metricsPid_ = -1;
    // Pausing the clients for a quiescent point.
    std::mutex pauseLock_;
    std::condition_variable resume_, idle_;
    bool paused_ = false;
    std::atomic<bool> stop_{false};
    std::array<std::atomic<bool>, 16> restoring_{};  // per card: power-cycled since the last check
    std::atomic<int> active_{0};
};

}  // namespace

// Firmware images for the clients: signed with a key aismid trusts (two versions), with one it
// does not, and a damaged copy.
std::vector<FirmwareImage> makeImages(const TempDir& dir) {
    const auto sh = [](const std::vector<std::string>& argv) {
        auto r = run(argv);
        EXPECT_EQ(r.exitCode, 0) << argv[0] << ": " << r.err;
    };
    sh({OPENSSL_PATH, "genpkey", "-algorithm", "ed25519", "-out", dir / "key.pem"});
    sh({OPENSSL_PATH, "genpkey", "-algorithm", "ed25519", "-out", dir / "untrusted.pem"});
    std::filesystem::create_directories(dir / "trusted");
    sh({OPENSSL_PATH, "pkey", "-in", dir / "key.pem", "-pubout", "-out", dir / "trusted/chaos.pem"});
    {
        std::ofstream payload(dir / "payload.bin", std::ios::binary);
        for (int i = 0; i < 128 * 1024; ++i) payload.put(static_cast<char>(i * 13 + 5));
    }
    std::vector<FirmwareImage> images;
    for (const auto& [version, key] : std::vector<std::pair<std::string, std::string>>{{"2.0.0", "key.pem"}, {"2.1.0", "key.pem"}, {"6.6.6", "untrusted.pem"}}) {
        const std::string out = dir / ("fw-" + version + ".img");
        sh({AISMI_FIRMWARE_PACK_PATH, "--key", dir / key, "--version", version, "--device", "a15e:0100", dir / "payload.bin", "-o", out});
        images.push_back({out, version, key == "key.pem"});
    }
    // A damaged copy of 2.0.0: one byte of its payload changed.
    const std::string damaged = dir / "fw-2.0.0-damaged.img";
    std::filesystem::copy_file(images.front().path, damaged);
    {
        std::fstream f(damaged, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(damaged) / 2));
        f.put('\x5a');
    }
    images.push_back({damaged, "2.0.0", false});
    return images;
}

TEST(Chaos, InterleavedClientsFaultsAndCrashesKeepEveryInvariant) {
    TempDir firmwareDir;
    auto images = makeImages(firmwareDir);
    ASSERT_FALSE(HasFailure());
    Stack::Options o;
    o.cards = gOptions.cards;
    o.vfs = gOptions.vfs;
    o.withPolkit = true;
    o.extraArgs = {"--firmware-check-seconds=1", "--firmware-keys=" + (firmwareDir / "trusted")};
    // libvirtd runs as another uid (libvirtd.hpp): as root only.
    std::unique_ptr<LibvirtWorld> libvirt;
    if (::geteuid() == 0) {
        libvirt = std::make_unique<LibvirtWorld>();
        ASSERT_FALSE(HasFatalFailure()) << "libvirtd did not start";
        o.extraArgs.push_back("--libvirt-uri=" + libvirt->uri());
    }
    Stack stack(o);
    stack.startDaemon();
    ASSERT_FALSE(HasFatalFailure());
    const unsigned seconds = gOptions.seconds ? gOptions.seconds : static_cast<unsigned>(testSize("AISMI_CHAOS_SECONDS", 120, 20, 1));
    gOptions.seconds = seconds;
    std::printf("chaos: seed %llu, %u s, %u clients, %u cards%s%s\n", static_cast<unsigned long long>(gOptions.seed), seconds, gOptions.clients, gOptions.cards,
                stack.polkitRunning() ? ", a real polkitd" : " (no polkitd: not root, or not installed)", libvirt ? ", a real libvirtd" : " (no libvirtd: not root)");
    std::fflush(stdout);
    Chaos chaos(stack, gOptions.seed, std::move(images), libvirt.get());
    chaos.run(seconds);
    EXPECT_EQ(chaos.violations(), 0u) << "every violation is printed above with the steps that led to it";
}

namespace {

uint64_t number(const std::string& option, const char* text, uint64_t min, uint64_t max) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(text, &end, 10);
    if (!*text || *end || errno || text[0] == '-' || v < min || v > max)
        throw std::invalid_argument(option + " takes " + std::to_string(min) + " to " + std::to_string(max) + ", not '" + text + "'");
    return v;
}

const char* kUsage =
    "Usage: aismi-chaos [--seed N] [--seconds N] [--steps N] [--clients N] [--check-every N] [gtest options]\n"
    "\n"
    "Starts a private bus, a real polkitd and libvirtd (as root), aismid on 3 simulated cards, and\n"
    "drives them at once with client threads, faults, crashes, libvirt's changes and an\n"
    "unprivileged user, checking every answer against a reference model. Ends with one line:\n"
    "  chaos: STEPS steps, CHECKS checks, FAULTS faults, CRASHES crashes, VIOLATIONS violations (seed SEED)\n"
    "\n"
    "  --seed N         the run's seed (default: a fresh one, printed); the same seed makes the\n"
    "                   same decisions (real time still interleaves them)\n"
    "  --seconds N      how long (1-86400; default $AISMI_CHAOS_SECONDS, else 120, 20 when\n"
    "                   AISMI_LONG_TESTS=brief)\n"
    "  --steps N        stop after N steps (1-10000000)\n"
    "  --clients N      concurrent D-Bus clients (1-32; default 4)\n"
    "  --check-every N  seconds between quiescent checks (5-3600; default 15)\n"
    "  --history FILE   write every step to FILE as it happens (who, the command to paste,\n"
    "                   what came back)\n";

}  // namespace

int main(int argc, char** argv) {
    gOptions.seed = std::random_device{}() ^ (static_cast<uint64_t>(std::random_device{}()) << 32);
    std::vector<char*> rest{argv[0]};
    try {
        for (int i = 1; i < argc; ++i) {
            const std::string a = argv[i];
            if (a == "-h" || a == "--help") {
                std::fputs(kUsage, stdout);
                return 0;
            }
            if (a.rfind("--gtest", 0) == 0) {
                rest.push_back(argv[i]);
                continue;
            }
            if (i + 1 >= argc) throw std::invalid_argument("unknown argument or missing value: '" + a + "' (aismi-chaos --help)");
            const char* v = argv[++i];
            if (a == "--seed") gOptions.seed = number(a, v, 0, UINT64_MAX);
            else if (a == "--seconds") gOptions.seconds = static_cast<unsigned>(number(a, v, 1, 86400));
            else if (a == "--steps") gOptions.steps = number(a, v, 1, 10'000'000);
            else if (a == "--clients") gOptions.clients = static_cast<unsigned>(number(a, v, 1, 32));
            else if (a == "--check-every") gOptions.checkEvery = static_cast<unsigned>(number(a, v, 5, 3600));
            else if (a == "--history") gOptions.history = v;
            else throw std::invalid_argument("unknown argument '" + a + "' (aismi-chaos --help)");
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "aismi-chaos: %s\n", e.what());
        return 2;
    }
    int n = static_cast<int>(rest.size());
    ::testing::InitGoogleTest(&n, rest.data());
    return RUN_ALL_TESTS();
}
