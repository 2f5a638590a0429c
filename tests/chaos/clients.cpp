// aismi-chaos: the client threads, the model's updates and the checks of every answer (chaos.hpp).
#include "chaos.hpp"

#include "http_client.hpp"
#include "store_query.hpp"

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

void Chaos::client(unsigned id, double end) {
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

void Chaos::clientStep(BusClient& bus, std::mt19937_64& rng, const std::string& who) {
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
        const bool stands = madeButNotScrubbed(r);
        writeVf(card, vf, Provisioning{profile, tenant}, r, stands);
    } else if (pick < 40) {
        auto r = bus.call(vfPath(card, vf), kVf1, "Unprovision");
        answered(r, who, busctl(vfPath(card, vf), kVf1, "Unprovision", ""), touches);
        const bool stands = madeButNotScrubbed(r);
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
        // Released, but its scrub failed: released all the same (out of use until a scrub).
        Reply made = r;
        if (madeButNotScrubbed(r)) made.error.clear();
        writeHolder(card, vf, "", made);
        writeDomain(card, vf, "", made);
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
void Chaos::libvirtCall(BusClient& bus, std::mt19937_64& rng, const std::string& who, unsigned card, unsigned vf) {
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
void Chaos::leaveTrace(unsigned card, unsigned vf, const std::string& who) {
    const std::string target = std::to_string(card) + ":" + std::to_string(vf);
    const std::string trace = "use-" + std::to_string(++traces_);
    if (stack_.sim({"vf-memory", "write", target, trace}).exitCode != 0) return;
    record(who, "aismi-sim vf-memory write " + target + " " + trace, "written (its user's data)", {"vf" + target});
    std::lock_guard lock(tracesLock_);
    traceLog_[{card, vf}].push_back({trace, now()});
}

void Chaos::traceGone(unsigned card, unsigned vf, const Reply& release, const std::string& who, const std::set<std::string>& touches) {
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
void Chaos::firmware(std::mt19937_64& rng, const std::string& who, unsigned card) {
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
void Chaos::recoveryPolicy(BusClient& bus, std::mt19937_64& rng, const std::string& who) {
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
void Chaos::cancelJob(BusClient& bus, const std::string& job, const std::string& who, const std::set<std::string>& touches) {
    auto r = bus.call(job, "org.aismi.Job1", "Cancel");
    answered(r, who, busctl(job, "org.aismi.Job1", "Cancel", ""), touches);
}

// Cancels a job someone else follows (a firmware update being written can stop): the one
// who follows it sees its end, and the model follows that.
void Chaos::cancelAnyJob(BusClient& bus, std::mt19937_64& rng, const std::string& who) {
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
Reply Chaos::runAismi(const std::vector<std::string>& args, const std::string& who, const std::set<std::string>& touches) {
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

void Chaos::read(BusClient& bus, std::mt19937_64& rng, const std::string& who, unsigned card, unsigned vf) {
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

void Chaos::applyLayout(BusClient& bus, unsigned card, const std::string& layout, const std::string& who, bool cancel) {
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
std::pair<std::string, double> Chaos::followJob(BusClient& bus, const std::string& path, const std::string& who, const std::set<std::string>& touches) {
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

void Chaos::writeVf(unsigned card, unsigned vf, const Provisioning& p, const Reply& r, bool stands) {
    if (!r.ok() && !r.lost() && !stands) return;  // refused: nothing changed
    std::lock_guard lock(modelLock_);
    model_.cards[card].vfs[vf].write(p, r.invoked, r.lost() ? Register<Provisioning>::kNever : r.completed, !r.lost());
}

void Chaos::writeHolder(unsigned card, unsigned vf, const std::string& holder, const Reply& r) {
    if (!r.ok() && !r.lost()) return;
    std::lock_guard lock(modelLock_);
    model_.cards[card].holders[vf].write(holder, r.invoked, r.lost() ? Register<std::string>::kNever : r.completed, !r.lost());
}

// A VF given to a domain, or taken back (`domain` ""): taking it back also takes back a
// tenant the assignment gave it.
void Chaos::writeDomain(unsigned card, unsigned vf, const std::string& domain, const Reply& r) {
    if (!r.ok() && !r.lost()) return;
    std::lock_guard lock(modelLock_);
    auto& c = model_.cards[card];
    if (domain.empty() && c.tenantGiven[vf]) c.vfs[vf].forget();
    c.domains[vf].write(domain, r.invoked, r.lost() ? Register<std::string>::kNever : r.completed, !r.lost());
}

void Chaos::writeQuarantine(unsigned card, unsigned vf, bool on, const Reply& r) {
    if (!r.ok() && !r.lost()) return;
    std::lock_guard lock(modelLock_);
    model_.cards[card].quarantined[vf].write(on, r.invoked, r.lost() ? Register<bool>::kNever : r.completed, !r.lost());
}

void Chaos::writeCount(unsigned card, unsigned count, const Reply& r) {
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
void Chaos::forgetCard(unsigned card, bool lock) {
    std::unique_lock guard(modelLock_, std::defer_lock);
    if (lock) guard.lock();
    auto& c = model_.cards[card];
    c.count.forget();
    for (auto& v : c.vfs) v.forget();
    for (auto& q : c.quarantined) q.forget();
    for (auto& h : c.holders) h.forget();
    for (auto& d : c.domains) d.forget();
}

// Every call is answered in time, with a named error when it is refused.
void Chaos::answered(const Reply& r, const std::string& who, const std::string& command, const std::set<std::string>& touches) {
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

void Chaos::refusedBadInput(const Reply& r, const std::string& what, const std::set<std::string>& touches) {
    ++checks_;
    if (r.ok()) violation(what + " was accepted: bad input must be refused and change nothing", touches);
}

}  // namespace aismi::chaos
