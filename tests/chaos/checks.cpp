// aismi-chaos: the quiescent points (chaos.hpp).
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

void Chaos::quiesce(const std::function<void()>& body) {
    {
        std::unique_lock lock(pauseLock_);
        paused_ = true;
        idle_.wait(lock, [this] { return active_ == 0; });
    }
    body();
    resumeClients();
}

void Chaos::resumeClients() {
    {
        std::lock_guard lock(pauseLock_);
        paused_ = false;
    }
    resume_.notify_all();
}

Chaos::Seen Chaos::observe(BusClient& bus) {
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
    auto vfs = bus.query(kVf1, {"CardIndex", "Index", "Profile", "Tenant", "Quarantined", "ScrubPending", "Holder", "Domain", "PciAddress"});
    for (size_t i = 0; i < vfs["Index"].size(); ++i) {
        const std::pair<unsigned, unsigned> key{static_cast<unsigned>(std::stoul(vfs["CardIndex"][i])), static_cast<unsigned>(std::stoul(vfs["Index"][i]))};
        s.vfs[key] = Provisioning{vfs["Profile"].at(i), vfs["Tenant"].at(i)};
        s.quarantined[key] = vfs["Quarantined"].at(i) == "true";
        s.scrubPending[key] = vfs["ScrubPending"].at(i) == "true";
        s.holder[key] = vfs["Holder"].at(i);
        s.domain[key] = vfs["Domain"].at(i);
        s.address[key] = vfs["PciAddress"].at(i);
    }
    return s;
}

// Faults cleared, aismid up: within a bound every card is as desired, and the model holds.
void Chaos::check(bool first) {
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
    for (const auto& [key, address] : seen.address) vfAt_[address] = key;
    // A VF in a domain's XML that aismid has not adopted (a conflict: held by kubelet, in two
    // domains) is adopted by aismid itself once the conflict ends: its own decision.
    if (libvirt_)
        for (const auto& [domain, addresses] : libvirt_->hostdevs())
            for (const auto& [key, address] : seen.address)
                if (key.second < gOptions.vfs && seen.domain.at(key) != domain &&
                    std::find(addresses.begin(), addresses.end(), address) != addresses.end())
                    model_.cards[key.first].domains[key.second].forget();
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

std::string Chaos::unsettled(const std::string& db) {
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
std::string Chaos::disagreementWithLibvirt(BusClient& bus) {
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

void Chaos::compare(const Seen& seen, const std::string& db) {
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
            if (!mc.vfs[v].allows(bus))
                violation(vf + " holds " + text(bus) + "; the acknowledged changes allow " + list(mc.vfs[v].candidates()) + eventsAbout(c, v), {vf, card});
            const bool q = seen.quarantined.count({c, v}) && seen.quarantined.at({c, v});
            ++checks_;
            if (!mc.quarantined[v].allows(q)) violation(vf + std::string(q ? " is" : " is not") + " quarantined, against the acknowledged changes", {vf, card});
            const std::string holder = seen.holder.count({c, v}) ? seen.holder.at({c, v}) : "";
            ++checks_;
            if (!mc.holders[v].allows(holder))
                violation(vf + " is held by '" + holder + "'; the acknowledged changes allow " + list(mc.holders[v].candidates()) + eventsAbout(c, v), {vf, card});
            const std::string domain = seen.domain.count({c, v}) ? seen.domain.at({c, v}) : "";
            ++checks_;
            if (!mc.domains[v].allows(domain))
                violation(vf + " is assigned to domain '" + domain + "'; the acknowledged changes allow " + list(mc.domains[v].candidates()) + eventsAbout(c, v),
                          {vf, card, "libvirt"});
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
                violation(vf + " went from " + mark->second.text() + " to " + now.text() + " with the memory of " + mark->second.text() + " still in it" +
                              eventsAbout(c, v),
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

// Where aismid serves /metrics (a new port after each start). Conductor only.
std::string Chaos::metricsAddress() {
    std::lock_guard lock(metricsLock_);
    if (metrics_.empty() || metricsPid_ != stack_.daemonPid()) metrics_ = stack_.metricsAddress(), metricsPid_ = stack_.daemonPid();
    return metrics_;
}

// aismid's last events about VF `vf` of card `card` (its own account of what it did), for a
// violation's report.
std::string Chaos::eventsAbout(unsigned card, unsigned vf) {
    std::vector<std::string> lines;
    try {
        BusClient bus(stack_.busAddress());
        auto r = bus.call(kManagerPath, kManager1, "ListEvents", [&](sd_bus_message* m) { sd_bus_message_append(m, "a{sv}", 2, "card", "u", card, "limit", "u", 1000u); });
        if (!r.ok() || sd_bus_message_enter_container(r.body.get(), 'a', "(txssuusss)") < 0) return "";
        while (sd_bus_message_enter_container(r.body.get(), 'r', "txssuusss") > 0) {
            uint64_t id = 0;
            int64_t at = 0;
            const char *type = nullptr, *severity = nullptr, *address = nullptr, *device = nullptr, *message = nullptr;
            uint32_t c = 0, v = 0;
            if (sd_bus_message_read(r.body.get(), "txssuusss", &id, &at, &type, &severity, &c, &v, &address, &device, &message) >= 0 && v == vf)
                lines.push_back("    event " + std::to_string(id) + " (" + type + "): " + message);
            sd_bus_message_exit_container(r.body.get());
        }
    } catch (const std::exception&) {
    }
    std::sort(lines.begin(), lines.end(), [](const std::string& a, const std::string& b) { return std::stoull(a.substr(10)) < std::stoull(b.substr(10)); });
    std::string out = "\n  aismid's last events about it:\n";
    for (size_t i = lines.size() > 15 ? lines.size() - 15 : 0; i < lines.size(); ++i) out += lines[i] + "\n";
    return lines.empty() ? "" : out;
}

std::string Chaos::healthReasons(BusClient& bus, const std::string& path) {
    auto r = bus.call(path, "org.freedesktop.DBus.Properties", "Get", [](sd_bus_message* m) { sd_bus_message_append(m, "ss", kVf1, "HealthReasons"); });
    std::string out;
    if (!r.ok() || sd_bus_message_enter_container(r.body.get(), 'v', "as") < 0 || sd_bus_message_enter_container(r.body.get(), 'a', "s") < 0) return out;
    for (const char* reason = nullptr; sd_bus_message_read(r.body.get(), "s", &reason) > 0;) out += (out.empty() ? "" : "; ") + std::string(reason);
    return out;
}

uintmax_t Chaos::storeSize(const std::string& db) {
    uintmax_t total = 0;
    for (const auto& file : {db, db + "-wal"}) {
        std::error_code ec;
        const auto size = std::filesystem::file_size(file, ec);
        if (!ec) total += size;
    }
    return total;
}

}  // namespace aismi::chaos
