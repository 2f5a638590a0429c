// aismi-chaos: the conductor — the world outside aismid (chaos.hpp).
#include "chaos.hpp"

#include "http_client.hpp"
#include "store_query.hpp"

#include <gtest/gtest.h>
#include <systemd/sd-bus.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <sstream>
#include <thread>

#include <unistd.h>

using namespace aismi::test;
using namespace std::chrono_literals;

namespace aismi::chaos {

void Chaos::setUp() {
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

// The conductor's steps: the world outside, crashes, and an unprivileged user.
void Chaos::worldStep() {
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
void Chaos::libvirtStep() {
    if (!libvirt_) return;
    std::vector<std::string> addresses;  // the VFs there are now
    try {
        BusClient bus(stack_.busAddress());
        auto vfs = bus.query(kVf1, {"CardIndex", "Index", "PciAddress"});
        for (size_t i = 0; i < vfs["PciAddress"].size(); ++i) {
            vfAt_[vfs["PciAddress"][i]] = {static_cast<unsigned>(std::stoul(vfs["CardIndex"].at(i))), static_cast<unsigned>(std::stoul(vfs["Index"].at(i)))};
            addresses.push_back(vfs["PciAddress"][i]);
        }
    } catch (const std::exception&) {
    }
    if (addresses.empty())  // aismid is away: the VFs it had
        for (const auto& [address, vf] : vfAt_) addresses.push_back(address);
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
        if (auto at = vfAt_.find(address); !address.empty() && at != vfAt_.end() && at->second.second < gOptions.vfs) letGo(at->second.first, at->second.second);
    for (unsigned c = 0; c < gOptions.cards; ++c)
        for (unsigned v = 0; v < gOptions.vfs; ++v)
            for (const auto& d : model_.cards[c].domains[v].candidates())
                if (change.touched.count(d)) letGo(c, v);
}

// The newest event's id (0: none yet); nothing when aismid does not answer.
std::optional<uint64_t> Chaos::lastEventId() {
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
void Chaos::faultShown(unsigned card, unsigned vf, const std::string& fault, uint64_t after) {
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
void Chaos::stall() {
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
void Chaos::healthHonest(BusClient& bus, unsigned card) {
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
void Chaos::lostAndBack(unsigned card) {
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
void Chaos::declareLayout(unsigned card) {
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

void Chaos::crash() {
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

void Chaos::pause() {
    std::lock_guard lock(daemonLock_);
    const auto ms = 200 + world_() % 1800;
    ::kill(stack_.daemonPid(), SIGSTOP);
    stopped_ = true;
    record("world", "kill -STOP $(pidof aismid); sleep " + std::to_string(ms / 1000.0), "stopped", {"world"});
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    ::kill(stack_.daemonPid(), SIGCONT);
    stopped_ = false;
}

void Chaos::restart() {
    stack_.startDaemon();
    if (::testing::Test::HasFatalFailure()) violation("aismid did not start again after a crash: " + stack_.daemonLog().substr(0, 4000), {"world"});
}

// Whether aismid died on its own: never.
void Chaos::watchDaemon() {
    std::lock_guard lock(daemonLock_);
    if (daemonUp()) return;
    char at[32];
    std::snprintf(at, sizeof at, "%.3f", now());
    violation("aismid died by itself (found at " + std::string(at) + " s): " + stack_.daemonState() + "\n" + tail(stack_.daemonLog()), {"world"});
    restart();
}

// Every change an unprivileged user asks for is refused, and nothing changes.
void Chaos::unprivileged(unsigned card) {
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

}  // namespace aismi::chaos
