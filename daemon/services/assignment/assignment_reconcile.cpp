// AssignmentService's side facing libvirt: the connection and its events, reconciliation with
// every domain (adoption, freeing, roll-back, scrubbing, conflicts), the hook's question, the
// read model, and crash recovery at start.
#include "assignment_internal.hpp"
#include "handover.hpp"

#include "card_changes.hpp"
#include "crash_point.hpp"
#include "database.hpp"
#include "desired_state_repository.hpp"
#include "device_executor.hpp"
#include "domain_xml.hpp"
#include "event_bus.hpp"
#include "events.hpp"
#include "inventory.hpp"
#include "journal_repository.hpp"
#include "poller.hpp"
#include "private_file.hpp"
#include "quota_repository.hpp"
#include "quota_service.hpp"
#include "snapshot.hpp"
#include "vfio_binding.hpp"

#include <aismi/card.hpp>
#include <aismi/fs.hpp>
#include <aismi/pci_function.hpp>
#include <aismi/text.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <cstdio>

namespace aismi {

using namespace assignment_detail;

// ---- libvirt: connection, events, reconciliation -----------------------------------------

void AssignmentService::start() {
    if (!hypervisor_ || connecting_ || connected_) return;
    connecting_ = true;
    viaLibvirt<void>([h = hypervisor_] { return h->connect(); }, [this](Result<void> r) {
        connecting_ = false;
        if (r) return;  // the Connected event follows
        if (reconnectDelayS_ == 1)
            d_.events.publish(Notice{EventType::Libvirt, Severity::Warning, "aismid", r.error().message + "; retrying"});
        scheduleReconnect();
    });
}

void AssignmentService::scheduleReconnect() {
    timer_->timer.expires_after(std::chrono::seconds(reconnectDelayS_));
    reconnectDelayS_ = std::min(reconnectDelayS_ * 2, kMaxReconnectDelayS);
    std::weak_ptr<bool> alive = alive_;
    timer_->timer.async_wait([this, alive](const boost::system::error_code& ec) {
        if (auto a = alive.lock(); !ec && a && *a) start();
    });
}

void AssignmentService::onHypervisorEvent(const HypervisorEvent& e) {
    using K = HypervisorEvent::Kind;
    switch (e.kind) {
    case K::Connected:
        connected_ = true;
        reconnectDelayS_ = 1;
        d_.events.publish(Notice{EventType::Libvirt, Severity::Info, "aismid", "connected to libvirt at " + hypervisor_->uri()});
        reconcileAll();
        return;
    case K::Disconnected:
        connected_ = false;
        d_.events.publish(Notice{EventType::Libvirt, Severity::Warning, "aismid",
                                 "lost libvirt at " + hypervisor_->uri() + ": " + e.detail + "; reconnecting"});
        scheduleReconnect();
        return;
    default:
        // One domain changed, but a VF may be in two domains: conflicts are judged on the
        // whole picture (one listing, as `virsh list --all` makes).
        reconcileAll();
        return;
    }
}

void AssignmentService::reconcileAll() {
    if (!hypervisor_ || !connected_) return;
    // Events come in bursts (aismid's own changes cause some): one listing at a time, and one
    // more after it if anything asked meanwhile.
    if (reconciling_) {
        reconcileAgain_ = true;
        return;
    }
    reconciling_ = true;
    viaLibvirt<std::vector<Domain>>([h = hypervisor_] { return h->domains(); },
                                                   [this](Result<std::vector<Domain>> domains) {
                                                       reconciling_ = false;
                                                       if (!domains) {
                                                           d_.events.publish(Notice{EventType::Libvirt, Severity::Warning, "aismid",
                                                                                    "reconcile with libvirt: " + domains.error().message});
                                                           reconcileLeftWork_ = true;
                                                       } else {
                                                           reconcileWith(std::move(*domains));
                                                       }
                                                       if (reconcileAgain_) {
                                                           reconcileAgain_ = false;
                                                           reconcileAll();
                                                       }
                                                   });
}

std::optional<unsigned> AssignmentService::cardOf(const std::string& cardKey) const {
    for (unsigned c = 0; c < d_.inventory.size(); ++c)
        if (d_.inventory.info(c).key == cardKey) return c;
    return std::nullopt;
}

// What is wrong with an assignment as libvirt and the device show it: health reasons.
std::vector<std::string> AssignmentService::problemsOf(const Assignment& row, const Domain& dom, const std::vector<std::string>& holders) {
    std::vector<std::string> out;
    if (holders.size() > 1) out.push_back("in domains " + domainList(holders) + ": a VF belongs to one domain");
    auto card = cardOf(row.cardKey);
    if (!card) return out;
    const CardSnapshot& snap = d_.inventory.snapshot(*card);
    if (row.vf < snap.vfs.size() && snap.vfs[row.vf].driver != vfio::kVfioDriver)
        out.push_back("domain '" + dom.name + "' has it, but it is bound to '" + (snap.vfs[row.vf].driver.empty() ? "no driver" : snap.vfs[row.vf].driver) +
                      "', not vfio-pci");
    auto prov = d_.desired.provisioned(row.cardKey, row.vf);
    const bool provisioned = prov && *prov && !(*prov)->holdsNothing();
    if (!snap.info.genericMode && !provisioned) out.push_back("domain '" + dom.name + "' has it, but it is not provisioned");
    const std::string provTenant = provisioned ? (*prov)->tenant : "";
    if (!row.tenant.empty() && provTenant != row.tenant)
        out.push_back(provTenant.empty() ? "domain '" + dom.name + "' names tenant " + row.tenant + ", whose quota does not cover it"
                                         : "domain '" + dom.name + "' names tenant " + row.tenant + ", but the VF is provisioned for " + provTenant);
    return out;
}

AssignmentService::Done AssignmentService::leftWorkIfFailed() {
    std::weak_ptr<bool> alive = alive_;
    return [this, alive](Result<void> r) {
        if (auto a = alive.lock(); a && *a && !r) reconcileLeftWork_ = true;
    };
}

void AssignmentService::reconcileWith(std::vector<Domain> domains) {
    reconcileLeftWork_ = false;
    const auto byName = [&](const std::string& n) -> const Domain* {
        for (const auto& d : domains)
            if (d.name == n) return &d;
        return nullptr;
    };
    // Which of our VFs each domain holds.
    std::map<Key, std::vector<std::string>> holders;
    for (const auto& d : domains)
        for (const auto& a : d.hostdevs())
            if (auto owner = ownerOf(a)) holders[{d_.inventory.info(owner->first).key, owner->second}].push_back(d.name);
    std::map<Key, std::vector<std::string>> problems;

    // Hostdevs aismid has no record of: adopt them (a platform may assign VFs itself), unless
    // two domains claim one.
    for (const auto& holder : holders) {
        const Key& key = holder.first;  // named, not bound: lambdas below capture them
        const std::vector<std::string>& names = holder.second;
        if (rows_.count(key) || d_.changes.busy(key.first, key.second)) continue;
        auto card = cardOf(key.first);
        if (!card) continue;
        if (auto h = held_.find(key); h != held_.end()) {
            problems[key].push_back("in domain " + domainList(names) + ", but held by " + h->second + "; not adopted");
            continue;
        }
        if (names.size() > 1) {
            problems[key].push_back("in domains " + domainList(names) + ": a VF belongs to one domain; not adopted");
            continue;
        }
        const Domain* dom = byName(names[0]);
        auto prov = d_.desired.provisioned(key.first, key.second);
        const bool provisioned = prov && *prov && !(*prov)->holdsNothing();
        const std::string provTenant = provisioned ? (*prov)->tenant : "";
        const std::string tenant = dom->tenant().empty() ? provTenant : dom->tenant();
        bool tenantGiven = false;
        auto adopted = d_.db.transaction([&]() -> Result<void> {
            if (provisioned && provTenant.empty() && !tenant.empty() &&
                checkQuota(d_.quotas, tenant, key.first, key.second, (*prov)->resources)) {
                Provisioned withTenant = **prov;
                withTenant.tenant = tenant;
                if (auto w = d_.desired.setProvisioned(key.first, key.second, withTenant); !w) return w;
                tenantGiven = true;
            }
            return d_.assignments.put(Assignment{key.first, key.second, names[0], tenant, tenantGiven, Assignment::State::Assigned, true, Database::now()});
        });
        reload();
        if (adopted)
            publish(*card, key.second, EventType::Assignment, Severity::Info,
                    "adopted: domain '" + names[0] + "' has it" + (tenant.empty() ? "" : " (tenant " + tenant + ")"));
        else
            d_.events.publish(Notice{EventType::Assignment, Severity::Warning, d_.inventory.info(*card).vfLabel(key.second),
                                     "adopt from domain '" + names[0] + "': " + adopted.error().message, *card, key.second});
    }

    for (const auto& [key, row] : std::map<Key, Assignment>(rows_)) {
        if (d_.changes.busy(key.first, key.second)) {  // an operation under way decides; looked at again after it
            reconcileLeftWork_ = true;
            continue;
        }
        const Domain* dom = byName(row.domain);
        const auto it = holders.find(key);
        const bool held = dom && it != holders.end() && std::count(it->second.begin(), it->second.end(), row.domain);
        if (row.state == Assignment::State::Assigning) {
            rollBackInterrupted(row);
            continue;
        }
        if (row.state == Assignment::State::Releasing) {
            freeVf(row, "finishing a release a restart interrupted", leftWorkIfFailed());
            continue;
        }
        if (!dom) {
            freeVf(row, "domain '" + row.domain + "' no longer exists", leftWorkIfFailed());
            continue;
        }
        if (!held) {
            freeVf(row, "domain '" + row.domain + "' no longer has it", leftWorkIfFailed());
            continue;
        }
        problems[key] = problemsOf(row, *dom, it->second);
        // A VF is dirty from the moment a tenant may touch it (its domain runs) until it is
        // scrubbed, which happens once the domain is not running: nothing passes on, even
        // when a Stopped event was missed while libvirt was away.
        if (dom->active && !dirty_.count(key)) {
            (void)d_.assignments.markDirty(key.first, key.second, "domain '" + row.domain + "' runs with it");
            reload();
            refreshCardOf(key.first);
        } else if (!dom->active && dirty_.count(key)) {
            scrubInPlace(key.first, key.second, "domain '" + row.domain + "' is not running");
        }
    }

    // Conflicts: new ones are events; every one is a health reason until it is gone.
    std::map<Key, std::vector<std::string>> before = problems_;
    problems_.clear();
    for (auto& [key, list] : problems)
        if (!list.empty()) problems_[key] = list;
    std::set<std::string> touched;
    for (const auto& [key, list] : problems_) {
        if (before[key] == list) continue;
        touched.insert(key.first);
        if (auto card = cardOf(key.first))
            for (const auto& problem : list)
                if (std::find(before[key].begin(), before[key].end(), problem) == before[key].end())
                    publish(*card, key.second, EventType::Conflict, Severity::Warning, problem);
    }
    for (const auto& [key, list] : before)
        if (!problems_.count(key) && !list.empty()) touched.insert(key.first);
    for (const auto& cardKey : touched) refreshCardOf(cardKey);
    if (!reconcileLeftWork_) reconcileRetries_.settled("libvirt");
}

// An assignment a restart interrupted before it was recorded as done: every step goes back,
// unless its domain runs with the VF by now (completeInterrupted).
void AssignmentService::rollBackInterrupted(const Assignment& row) {
    auto card = cardOf(row.cardKey);
    if (!card) return;
    const CardSnapshot& snap = d_.inventory.snapshot(*card);
    reconcileLeftWork_ = true;  // until it is rolled back
    if (snap.lost || row.vf >= snap.vfs.size()) return;
    auto address = PciAddress::parse(snap.vfs[row.vf].pciAddress);
    if (!address || !d_.changes.begin(row.cardKey, row.vf, "roll back an interrupted assignment")) return;
    auto p = std::make_shared<Pending>();
    p->ref = VfRef{*card, row.vf};
    p->info = snap.info;
    p->address = *address;
    p->domain = row.domain;
    p->tenant = row.tenant;
    if (row.tenantGiven) {
        auto prov = d_.desired.provisioned(row.cardKey, row.vf);
        if (prov && *prov) {
            Provisioned back = **prov;
            back.tenant.clear();
            p->provisioned = back;
            p->tenantGiven = true;
        }
    }
    p->what = "the assignment of " + snap.info.vfLabel(row.vf) + " to domain '" + row.domain + "' a restart interrupted";
    p->done = [](Result<void>) {};
    // true: the domain runs with the VF (it started since, from a definition the assignment
    // had already written). Taking a device out of a running VM is not a roll-back: the
    // assignment is completed instead.
    viaLibvirt<bool>([h = hypervisor_, name = row.domain, a = *address]() -> Result<bool> {
            // Asked again here: the listing that led here may be older than the domain.
            auto dom = h->domain(name);
            if (!dom) return dom.error().code == Errc::NotFound ? Result<bool>(false) : Result<bool>(std::move(dom).error());
            if (dom->active && has(dom->live.pciHostdevs, a)) return true;
            if (dom->config && has(dom->config->pciHostdevs, a))
                if (auto r = h->detach(name, a, Scope::Config); !r) return std::move(r).error();
            return false;
        },
        [this, p, row](Result<bool> runsWithIt) {
            if (!runsWithIt) {
                d_.changes.end(p->info.key, p->ref.vf);
                return publish(p->ref.card, p->ref.vf, EventType::Assignment, Severity::Warning,
                               "roll back " + p->what + ": " + runsWithIt.error().message + "; tried again at the next reconciliation");
            }
            if (*runsWithIt) return completeInterrupted(p, row);
            finishAssign(p, makeError(Errc::Cancelled, "interrupted by a restart"), true);
        });
}

void AssignmentService::completeInterrupted(std::shared_ptr<Pending> p, Assignment row) {
    row.state = Assignment::State::Assigned;
    auto recorded = d_.db.transaction([&]() -> Result<void> {
        if (auto w = d_.assignments.put(row); !w) return w;
        return d_.assignments.markDirty(row.cardKey, row.vf, "domain '" + row.domain + "' runs with it");
    });
    reload();
    publish(p->ref.card, p->ref.vf, EventType::Assignment, recorded ? Severity::Info : Severity::Warning,
            recorded ? "domain '" + row.domain + "' runs with it: " + p->what + " is completed, not rolled back"
                     : "complete " + p->what + ": " + recorded.error().message + "; tried again at the next reconciliation");
    if (!recorded) reconcileLeftWork_ = true;
    afterRefresh(p->ref.card, [this, p] { d_.changes.end(p->info.key, p->ref.vf); });
}

// ---- the hook's question -----------------------------------------------------------------

Result<std::string> AssignmentService::checkStart(const std::string& xml) const {
    auto domain = vfio::parseDomainXml(xml);
    if (!domain) return std::move(domain).error();
    for (const auto& address : domain->pciHostdevs) {
        auto owner = ownerOf(address);
        if (!owner) continue;  // not ours: libvirt decides
        const CardSnapshot& card = d_.inventory.snapshot(owner->first);
        const VfSnapshot& vf = card.vfs[owner->second];
        const std::string who = card.info.vfLabel(owner->second) + " (" + address.str() + ")";
        auto row = rows_.find({card.info.key, owner->second});
        if (row == rows_.end() || row->second.domain != domain->name)
            return who + " is not assigned to domain '" + domain->name + "'" +
                   (row == rows_.end() ? "; aismi vf assign gives it" : " but to '" + row->second.domain + "'");
        if (row->second.state != Assignment::State::Assigned) return who + " is still being assigned or released";
        if (auto p = problems_.find({card.info.key, owner->second}); p != problems_.end() && !p->second.empty()) {
            std::string all;
            for (const auto& problem : p->second) all += (all.empty() ? "" : "; ") + problem;
            return who + ": " + all;
        }
        if (dirty_.count({card.info.key, owner->second})) return who + " waits for its memory to be scrubbed";
        if (vf.quarantined()) return who + " is quarantined (" + vf.quarantineReason() + ")";
        if (card.lost || vf.health == Health::Critical || vf.health == Health::Lost)
            return who + " is not healthy: " + (vf.healthReasons.empty() ? std::string(healthName(vf.health)) : vf.healthReasons.front());
        if (vf.driver != vfio::kVfioDriver) return who + " is bound to '" + vf.driver + "', not vfio-pci";
        if (!row->second.tenant.empty()) {
            auto quota = d_.quotas.get(row->second.tenant);
            auto used = d_.quotas.usage(row->second.tenant);
            if (quota && *quota && used && used->vfs > (*quota)->maxVfs)
                return "tenant " + row->second.tenant + " holds " + std::to_string(used->vfs) + " VFs, over its quota of " +
                       std::to_string((*quota)->maxVfs);
        }
    }
    return std::string();
}

// ---- the read model --------------------------------------------------------------------

void AssignmentService::annotate(CardSnapshot& card) {
    // Scrub marks are written by provisioning too (its hands change: handover.hpp), in its own
    // transactions: read again here, so what hold() and assign() check is what the store says
    // (ProvisionService re-annotates the card after each change).
    if (auto dirty = d_.assignments.dirty()) {
        dirty_.clear();
        for (auto& p : *dirty) dirty_[{p.cardKey, p.vf}] = p.reason;
    }
    for (auto& vf : card.vfs) {
        const Key key{card.info.key, vf.index};
        auto row = rows_.find(key);
        if (row != rows_.end()) vf.setConsumer({ConsumerKind::Domain, row->second.domain, std::string(assignmentStateName(row->second.state))});
        else vf.clearConsumer(ConsumerKind::Domain);
        vf.scrubPending = dirty_.count(key) > 0;
        if (auto h = held_.find(key); h != held_.end()) vf.setConsumer({ConsumerKind::Holder, h->second, ""});
        else vf.clearConsumer(ConsumerKind::Holder);
        auto p = problems_.find(key);
        vf.assignmentProblems = p != problems_.end() ? p->second : std::vector<std::string>{};
        // Out of use because a scrub failed (or has yet to run after a restart): a warning until
        // one succeeds, also while aismid retries it. Not while the first scrub of a change is
        // under way, nor with its domain running.
        if (vf.scrubPending && vf.domain().empty() && (scrubFailed_.count(key) || !d_.changes.busy(card.info.key, vf.index)))
            vf.assignmentProblems.push_back("waits for its memory to be scrubbed (" + dirty_[key] +
                                            "), out of use until a scrub succeeds (aismid tries again by itself; aismi vf release tries now)");
    }
    writeManagedList(card);
}

// Only when a card's VFs change (rarely): annotate() runs at every poll of every card.
void AssignmentService::writeManagedList(const CardSnapshot& fresh) {
    if (d_.managedVfsFile.empty()) return;
    std::vector<std::string>& known = managedVfs_[fresh.info.key];
    const bool same = known.size() == fresh.vfs.size() &&
                      std::equal(known.begin(), known.end(), fresh.vfs.begin(), [](const std::string& a, const VfSnapshot& v) { return a == v.pciAddress; });
    if (same) return;
    known.clear();
    for (const auto& vf : fresh.vfs) known.push_back(vf.pciAddress);
    std::string text = "# The VFs aismid manages, for aismi-libvirt-hook when aismid is not running.\n";
    for (const auto& [card, addresses] : managedVfs_)
        for (const auto& a : addresses) text += a + "\n";
    if (!replaceFilePrivately(d_.managedVfsFile, text)) known.clear();  // tried again at the next poll
}

// ---- crash recovery ----------------------------------------------------------------------

std::vector<std::string> AssignmentService::kinds() const { return {kBindKind, kAssignKind, kReleaseKind}; }

Result<std::string> AssignmentService::recover(const JournalRow& entry) {
    if (entry.kind != kBindKind) {
        // The assignment row carries the state ('assigning' is rolled back, 'releasing'
        // finished) once libvirt answers; the entry itself is done.
        if (auto r = d_.journal.finish(entry.id, "interrupted at step " + entry.step + "; the assignment row is reconciled with libvirt"); !r)
            return std::move(r).error();
        return entry.kind + " of " + entry.target + ": " + kFoundUnfinished + " at step " + entry.step + "; reconciled with libvirt once it answers";
    }
    const std::string what = "bind a VF of " + entry.target;
    auto kv = text::parseKeyValues(entry.payload, "bind-vf-driver payload");
    std::shared_ptr<Card> device = d_.inventory.deviceByKey(entry.target);
    if (!kv || !device) return abandon(d_.journal, entry, what, !kv ? kv.error().message : kCardGoneAfterRestart);
    auto address = PciAddress::parse((*kv)["address"]);
    if (!address) return abandon(d_.journal, entry, what, address.error().message);
    const std::string to = (*kv)["to"], from = (*kv)["from"];
    PciFunction fn(d_.inventory.fs(), *address);
    auto now = fn.driver();
    if (now && ((to == "host" && !now->empty() && *now != vfio::kVfioDriver) || *now == to)) {
        if (auto r = d_.journal.finish(entry.id, "ok (confirmed after restart)"); !r) return std::move(r).error();
        return what + ": " + kFoundUnfinished + "; the binding is in place (" + *now + ")";
    }
    // Half-way (unbound, an override left): back to where it was.
    Result<void> back;
    if (from == vfio::kVfioDriver) {
        if (auto r = vfio::bindToVfio(d_.inventory.fs(), *address); !r) back = std::move(r).error();
    } else if (auto r = vfio::bindToHost(d_.inventory.fs(), *address); !r) {
        back = std::move(r).error();
    }
    if (auto r = d_.journal.finish(entry.id, back ? "rolled back after restart" : "failed after restart: " + back.error().message); !r)
        return std::move(r).error();
    return what + ": " + kFoundUnfinished + "; the binding was " + (back ? "rolled back" : "left as it is: " + back.error().message);
}

std::vector<std::string> AssignmentService::converge() {
    std::vector<std::string> said;
    for (const auto& [key, why] : std::map<Key, std::string>(dirty_)) {
        if (rows_.count(key)) continue;  // still with its domain: reconciliation scrubs it when the domain is not running
        for (unsigned c = 0; c < d_.inventory.size(); ++c) {
            if (d_.inventory.info(c).key != key.first) continue;
            // Before the first read: the device, not a snapshot, says where the VF is.
            auto address = d_.inventory.device(c)->vfAddress(key.second);
            if (!address) continue;
            auto done = handover::resetAndScrub(d_.inventory.device(c), d_.inventory.fs(), key.second, *address, true);
            if (done) (void)d_.assignments.markClean(key.first, key.second);
            said.push_back(d_.inventory.info(c).vfLabel(key.second) + " waited for a scrub (" + why + "): " + (done ? *done : "failed: " + done.error().message));
        }
    }
    reload();
    return said;
}

}  // namespace aismi
