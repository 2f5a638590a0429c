#include "assignment_internal.hpp"

#include "card_changes.hpp"
#include "crash_point.hpp"
#include "database.hpp"
#include "desired_state_repository.hpp"
#include "device_executor.hpp"
#include "domain_xml.hpp"
#include "event_bus.hpp"
#include "events.hpp"
#include "handover.hpp"
#include "inventory.hpp"
#include "journal_repository.hpp"
#include "poller.hpp"
#include "quota_repository.hpp"
#include "quota_service.hpp"
#include "snapshot.hpp"
#include "vf_in_use.hpp"
#include "vfio_binding.hpp"

#include <aismi/card.hpp>
#include <aismi/fs.hpp>
#include <aismi/pci_function.hpp>
#include <aismi/text.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>

namespace aismi {

using namespace assignment_detail;

namespace assignment_detail {

std::string domainList(const std::vector<std::string>& names) {
    std::string s;
    for (size_t i = 0; i < names.size(); ++i) s += (i ? (i + 1 == names.size() ? " and " : ", ") : "") + ("'" + names[i] + "'");
    return s;
}

}  // namespace assignment_detail

AssignmentService::AssignmentService(Deps deps, Hypervisor* hypervisor)
    : d_(deps), hypervisor_(hypervisor), timer_(std::make_unique<ReconnectTimer>(deps.loop)) {
    reload();
}

AssignmentService::~AssignmentService() { *alive_ = false; }

std::optional<AssignmentService::DriverChoice> AssignmentService::parseDriverChoice(const std::string& name) {
    if (name == vfio::kVfioDriver) return DriverChoice::Vfio;
    if (name == "host") return DriverChoice::Host;
    return std::nullopt;
}

void AssignmentService::reload() {
    rows_.clear();
    dirty_.clear();
    if (auto all = d_.assignments.all())
        for (auto& a : *all) rows_[{a.cardKey, a.vf}] = a;
    if (auto dirty = d_.assignments.dirty())
        for (auto& p : *dirty) dirty_[{p.cardKey, p.vf}] = p.reason;
    held_.clear();
    if (auto holders = d_.assignments.holders())
        for (auto& h : *holders) held_[{h.cardKey, h.vf}] = h.holder;
}

void AssignmentService::publish(unsigned card, unsigned vf, EventType type, Severity severity, const std::string& message) {
    d_.events.publish(Notice{type, severity, d_.inventory.info(card).vfLabel(vf), message, card, vf});
}

void AssignmentService::afterRefresh(unsigned card, std::function<void()> then) {
    std::weak_ptr<bool> alive = alive_;
    d_.poller.refresh(card, [alive, then = std::move(then)] {
        if (auto a = alive.lock(); a && *a) then();
    });
}

void AssignmentService::refreshCardOf(const std::string& cardKey) {
    if (auto c = cardOf(cardKey)) d_.poller.refresh(*c, nullptr);
}

std::optional<std::pair<unsigned, unsigned>> AssignmentService::ownerOf(const PciAddress& address) const {
    const std::string text = address.str();
    for (unsigned c = 0; c < d_.inventory.size(); ++c) {
        const CardSnapshot& s = d_.inventory.snapshot(c);
        for (const auto& vf : s.vfs)
            if (vf.pciAddress == text) return std::pair{c, vf.index};
    }
    return std::nullopt;
}

// ---- binding ---------------------------------------------------------------------------

void AssignmentService::bind(const VfRef& ref, DriverChoice choice, Done done) {
    const std::string target = choice == DriverChoice::Vfio ? vfio::kVfioDriver : "its host driver";
    if (ref.card >= d_.inventory.size()) return done(makeError(Errc::NotFound, "no card " + std::to_string(ref.card)));
    const CardSnapshot& card = d_.inventory.snapshot(ref.card);
    const CardInfo info = card.info;
    const std::string what = "bind " + info.vfLabel(ref.vf) + " to " + target;
    if (card.lost) return done(makeError(Errc::DeviceLost, what + ": the device does not answer"));
    if (ref.vf >= card.vfs.size())
        return done(makeError(Errc::NotFound, what + ": the card has no VF " + std::to_string(ref.vf) + " (" + std::to_string(card.vfs.size()) + " enabled)"));
    if (auto row = rows_.find({info.key, ref.vf}); row != rows_.end())
        return done(makeError(Errc::InvalidState, what + ": the VF is assigned to domain '" + row->second.domain + "'; aismi vf release takes it back first"));
    if (auto h = held_.find({info.key, ref.vf}); h != held_.end())
        return done(makeError(Errc::InvalidState, what + ": the VF is held by " + h->second + "; aismi vf release takes it back first"));
    // vfio-pci hands the VF to whoever opens it: never with the last one's memory in it.
    if (auto d = dirty_.find({info.key, ref.vf}); d != dirty_.end() && choice == DriverChoice::Vfio)
        return done(makeError(Errc::InvalidState, what + ": the VF waits for its memory to be scrubbed (" + d->second + "); aismi vf release retries the scrub"));
    auto address = PciAddress::parse(card.vfs[ref.vf].pciAddress);
    if (!address) return done(std::move(address).error().context(what));
    const std::string from = card.vfs[ref.vf].driver;
    if (auto claimed = d_.changes.begin(info.key, ref.vf, what); !claimed) return done(std::move(claimed).error());
    const std::string to = choice == DriverChoice::Vfio ? vfio::kVfioDriver : "host";
    auto op = d_.journal.begin(kBindKind, info.key,
                               PayloadWriter().add("vf", ref.vf).add("address", address->str()).add("from", from.empty() ? "-" : from).add("to", to).str(),
                               "bind");
    if (!op) {
        d_.changes.end(info.key, ref.vf);
        return done(std::move(op).error().context(what));
    }
    Fs* fs = &d_.inventory.fs();
    onDevice<std::string>(
        info.key,
        [fs, a = *address, choice]() -> Result<std::string> {
            if (choice == DriverChoice::Host) return vfio::bindToHost(*fs, a);
            auto group = vfio::bindToVfio(*fs, a);
            if (!group) return std::move(group).error();
            return std::string(vfio::kVfioDriver);
        },
        [this, info, ref, what, operation = *op, done = std::move(done)](Result<std::string> bound) {
            auto recorded = d_.journal.recordEnd(operation, bound ? "ok: " + (bound->empty() ? std::string("no driver") : *bound) : "failed: " + bound.error().message,
                                                 what, [this, key = info.key, vf = ref.vf] { d_.changes.end(key, vf); });
            if (!recorded) d_.changes.waitForRecord(info.key, ref.vf, recorded.error());
            if (bound)
                publish(ref.card, ref.vf, EventType::Driver, Severity::Info, "bound to " + (bound->empty() ? std::string("no driver") : *bound));
            Result<void> outcome = bound ? Result<void>() : Result<void>(std::move(bound).error().context(what));
            afterRefresh(ref.card, [this, key = info.key, ref, outcome, recorded = bool(recorded), done] {
                if (recorded) d_.changes.end(key, ref.vf);
                done(outcome);
            });
        });
}

// ---- assignment ------------------------------------------------------------------------

void AssignmentService::assign(const VfRef& ref, const std::string& domain, const std::string& tenantArg, Done done) {
    if (ref.card >= d_.inventory.size()) return done(makeError(Errc::NotFound, "no card " + std::to_string(ref.card)));
    const CardSnapshot& card = d_.inventory.snapshot(ref.card);
    const CardInfo info = card.info;
    const std::string what = "assign " + info.vfLabel(ref.vf) + " to domain '" + domain + "'";
    if (!hypervisor_) return done(makeError(Errc::NotSupported, what + ": libvirt is disabled (libvirt-uri none)"));
    if (!vfio::validDomainName(domain))
        return done(makeError(Errc::InvalidArgument, "'" + domain + "' is not a libvirt domain name (1 to 200 characters, no '/', not only digits)"));
    if (!tenantArg.empty() && !validTenantName(tenantArg))
        return done(makeError(Errc::InvalidArgument, "'" + tenantArg + "' is not a tenant name (1 to 64 letters, digits, '-', '_', '.')"));
    if (card.lost) return done(makeError(Errc::DeviceLost, what + ": the device does not answer"));
    if (ref.vf >= card.vfs.size())
        return done(makeError(Errc::NotFound, what + ": the card has no VF " + std::to_string(ref.vf) + " (" + std::to_string(card.vfs.size()) + " enabled)"));
    const VfSnapshot& vf = card.vfs[ref.vf];
    if (!connected_) return done(makeError(Errc::ServiceUnavailable, what + ": libvirt at " + hypervisor_->uri() + " is not reachable"));
    if (auto row = rows_.find({info.key, ref.vf}); row != rows_.end())
        return done(makeError(Errc::InvalidState, what + ": the VF is " +
                                                      (row->second.state == Assignment::State::Assigned ? "already assigned to domain '"
                                                                                                        : "being assigned to or released from domain '") +
                                                      row->second.domain + "'"));
    if (auto h = held_.find({info.key, ref.vf}); h != held_.end())
        return done(makeError(Errc::InvalidState, what + ": the VF is held by " + h->second + "; aismi vf release takes it back first"));
    if (dirty_.count({info.key, ref.vf}))
        return done(makeError(Errc::InvalidState, what + ": the VF waits for its memory to be scrubbed (" + dirty_[{info.key, ref.vf}] +
                                                      "); aismi vf release retries the scrub"));
    if (vf.quarantined()) return done(makeError(Errc::InvalidState, what + ": the VF is quarantined (" + vf.quarantineReason() + "); aismi vf unquarantine releases it"));
    auto provisioned = d_.desired.provisioned(info.key, ref.vf);
    if (!provisioned) return done(std::move(provisioned).error().context(what));
    if (!info.genericMode && (!*provisioned || (*provisioned)->holdsNothing()))
        return done(makeError(Errc::InvalidState, what + ": the VF is not provisioned; aismi vf provision gives it a profile first"));
    auto address = PciAddress::parse(vf.pciAddress);
    if (!address) return done(std::move(address).error().context(what));
    if (auto claimed = d_.changes.begin(info.key, ref.vf, what); !claimed) return done(std::move(claimed).error());
    auto p = std::make_shared<Pending>();
    p->ref = ref;
    p->info = info;
    p->address = *address;
    p->domain = domain;
    p->tenant = tenantArg;
    p->provisioned = *provisioned;
    p->driverBefore = vf.driver;
    p->what = what;
    p->done = std::move(done);
    viaLibvirt<Domain>([h = hypervisor_, domain] { return h->domain(domain); },
        [this, p](Result<Domain> found) {
            if (!found) {
                d_.changes.end(p->info.key, p->ref.vf);
                return p->done(std::move(found).error().context(p->what));
            }
            assignInDomain(p, std::move(*found));
        });
}

void AssignmentService::assignInDomain(std::shared_ptr<Pending> p, Domain domain) {
    const auto refuse = [&](Error e) {
        d_.changes.end(p->info.key, p->ref.vf);
        p->done(std::move(e));
    };
    if (has(domain.hostdevs(), p->address))
        return refuse(makeError(Errc::InvalidState, p->what + ": the domain already has " + p->address.str() + " (aismid adopts it)"));
    const std::string meta = domain.tenant();
    const std::string provTenant = p->provisioned ? p->provisioned->tenant : "";
    if (!p->tenant.empty() && !meta.empty() && p->tenant != meta)
        return refuse(makeError(Errc::InvalidArgument, p->what + ": the domain's metadata names tenant '" + meta + "', not '" + p->tenant + "'"));
    if (p->tenant.empty()) p->tenant = meta.empty() ? provTenant : meta;
    if (!provTenant.empty() && p->tenant != provTenant)
        return refuse(makeError(Errc::InvalidArgument, p->what + ": the VF is provisioned for tenant '" + provTenant + "', not '" + p->tenant + "'"));
    p->tenantGiven = provTenant.empty() && !p->tenant.empty() && p->provisioned.has_value();
    const bool live = domain.active, config = domain.persistent;
    p->running = domain.active;
    auto planned = d_.db.transaction([&]() -> Result<void> {
        if (p->tenantGiven) {
            Provisioned withTenant = *p->provisioned;
            withTenant.tenant = p->tenant;
            if (auto q = checkQuota(d_.quotas, p->tenant, p->info.key, p->ref.vf, withTenant.resources); !q) return q;
            if (auto w = d_.desired.setProvisioned(p->info.key, p->ref.vf, withTenant); !w) return w;
        }
        Assignment row{p->info.key, p->ref.vf, p->domain, p->tenant, p->tenantGiven, Assignment::State::Assigning, false, Database::now()};
        if (auto w = d_.assignments.put(row); !w) return w;
        auto op = d_.journal.begin(kAssignKind, p->info.key,
                                   PayloadWriter()
                                       .add("vf", p->ref.vf)
                                       .add("address", p->address.str())
                                       .add("domain", p->domain)
                                       .add("tenant", p->tenant.empty() ? "-" : p->tenant)
                                       .add("live", live ? 1 : 0)
                                       .add("config", config ? 1 : 0)
                                       .str(),
                                   "bind-vfio");
        if (!op) return std::move(op).error();
        p->operation = *op;
        return {};
    });
    reload();
    if (!planned) return refuse(std::move(planned).error().context(p->what));
    d_.poller.reannotate(p->ref.card);  // the tenant (and the assignment) show from the commit on
    crashPoint("assign:planned");
    Fs* fs = &d_.inventory.fs();
    onDevice<std::string>(
        p->info.key,
        [fs, a = p->address]() -> Result<std::string> {
            auto group = vfio::bindToVfio(*fs, a);
            if (!group) return std::move(group).error();
            return std::string(vfio::kVfioDriver);
        },
        [this, p, live, config](Result<std::string> bound) {
            if (!bound) return finishAssign(p, std::move(bound).error(), false);
            crashPoint("assign:bound");
            (void)d_.journal.advance(p->operation, "attach");
            viaLibvirt<void>([h = hypervisor_, name = p->domain, a = p->address, live, config]() -> Result<void> {
                    if (live)
                        if (auto r = h->attach(name, a, Scope::Live); !r) return r;
                    if (config)
                        if (auto r = h->attach(name, a, Scope::Config); !r) {
                            if (live) (void)h->detach(name, a, Scope::Live);  // every step already taken goes back
                            return r;
                        }
                    return {};
                },
                [this, p](Result<void> attached) { finishAssign(p, std::move(attached), true); });
        });
}

void AssignmentService::finishAssign(std::shared_ptr<Pending> p, Result<void> outcome, bool bound) {
    const auto finish = [this, p](Result<void> result) {
        afterRefresh(p->ref.card, [this, p, result] {
            d_.changes.end(p->info.key, p->ref.vf);
            p->done(result);
        });
    };
    if (outcome) {
        crashPoint("assign:attached");
        auto recorded = d_.db.transaction([&]() -> Result<void> {
            Assignment row{p->info.key, p->ref.vf, p->domain, p->tenant, p->tenantGiven, Assignment::State::Assigned, false, Database::now()};
            if (auto w = d_.assignments.put(row); !w) return w;
            if (p->running)
                if (auto w = d_.assignments.markDirty(p->info.key, p->ref.vf, "domain '" + p->domain + "' runs with it"); !w) return w;
            return d_.journal.finish(p->operation, "ok");
        });
        reload();
        if (recorded) {
            publish(p->ref.card, p->ref.vf, EventType::Assignment, Severity::Info,
                    "assigned to domain '" + p->domain + "'" + (p->tenant.empty() ? "" : " for tenant " + p->tenant));
            return finish({});
        }
        outcome = std::move(recorded).error();  // the row stays 'assigning': reconciliation rolls it back
        return finish(std::move(outcome).error().context(p->what));
    }
    Error error = std::move(outcome).error().context(p->what);
    const auto rollBackStore = [this, p, error, finish](const std::string& driverNote) {
        auto back = d_.db.transaction([&]() -> Result<void> {
            if (auto r = d_.assignments.remove(p->info.key, p->ref.vf); !r) return r;
            if (p->tenantGiven)
                if (auto r = d_.desired.setProvisioned(p->info.key, p->ref.vf, *p->provisioned); !r) return r;
            return p->operation ? d_.journal.finish(p->operation, "failed, rolled back: " + error.message + driverNote) : Result<void>();
        });
        reload();
        publish(p->ref.card, p->ref.vf, EventType::Assignment, Severity::Warning, error.message + "; rolled back" + driverNote);
        finish(back ? Result<void>(error) : Result<void>(std::move(back).error()));
    };
    if (!bound || p->driverBefore == vfio::kVfioDriver) return rollBackStore("");
    Fs* fs = &d_.inventory.fs();
    onDevice<std::string>(
        p->info.key, [fs, a = p->address] { return vfio::bindToHost(*fs, a); },
        [rollBackStore](Result<std::string> back) {
            rollBackStore(back ? "" : " (the VF stays bound to vfio-pci: " + back.error().message + ")");
        });
}

// ---- release ---------------------------------------------------------------------------

void AssignmentService::release(const VfRef& ref, Done done) {
    if (ref.card >= d_.inventory.size()) return done(makeError(Errc::NotFound, "no card " + std::to_string(ref.card)));
    const CardSnapshot& card = d_.inventory.snapshot(ref.card);
    const CardInfo info = card.info;
    const std::string what = "release " + info.vfLabel(ref.vf);
    if (card.lost) return done(makeError(Errc::DeviceLost, what + ": the device does not answer"));
    if (ref.vf >= card.vfs.size())
        return done(makeError(Errc::NotFound, what + ": the card has no VF " + std::to_string(ref.vf) + " (" + std::to_string(card.vfs.size()) + " enabled)"));
    auto address = PciAddress::parse(card.vfs[ref.vf].pciAddress);
    if (!address) return done(std::move(address).error().context(what));
    if (auto h = held_.find({info.key, ref.vf}); h != held_.end()) return releaseHeld(ref, h->second, std::move(done));
    auto row = rows_.find({info.key, ref.vf});
    if (row == rows_.end()) {
        if (!dirty_.count({info.key, ref.vf})) return done(makeError(Errc::InvalidState, what + ": the VF is not assigned to any domain or held"));
        // Free but not yet scrubbed: try the scrub again, and back to its host driver.
        return scrubNow(ref, dirty_[{info.key, ref.vf}], true, what, std::move(done));
    }
    if (row->second.state != Assignment::State::Assigned)
        return done(makeError(Errc::Busy, what + ": the VF is being assigned to or released from domain '" + row->second.domain + "'"));
    if (!hypervisor_ || !connected_)
        return done(makeError(Errc::ServiceUnavailable, what + ": libvirt at " + libvirtUri() + " is not reachable, so domain '" +
                                                            row->second.domain + "' cannot give it back"));
    if (auto claimed = d_.changes.begin(info.key, ref.vf, what); !claimed) return done(std::move(claimed).error());
    auto p = std::make_shared<Pending>();
    p->ref = ref;
    p->info = info;
    p->address = *address;
    p->domain = row->second.domain;
    p->tenant = row->second.tenant;
    p->tenantGiven = row->second.tenantGiven;
    p->what = what;
    p->done = std::move(done);
    Assignment releasing = row->second;
    releasing.state = Assignment::State::Releasing;
    auto planned = d_.db.transaction([&]() -> Result<void> {
        if (auto w = d_.assignments.put(releasing); !w) return w;
        auto op = d_.journal.begin(kReleaseKind, info.key,
                                   PayloadWriter().add("vf", ref.vf).add("address", address->str()).add("domain", p->domain).str(), "detach");
        if (!op) return std::move(op).error();
        p->operation = *op;
        return {};
    });
    reload();
    if (!planned) {
        d_.changes.end(info.key, ref.vf);
        return p->done(std::move(planned).error().context(what));
    }
    crashPoint("release:planned");
    releaseWith(p);
}

// Detach from the domain (if it still has the VF), free the row and mark the VF for a scrub
// in one transaction, then reset, scrub and return it to its host driver. The caller holds
// the VF's change claim and has marked the row 'releasing'.
void AssignmentService::releaseWith(std::shared_ptr<Pending> p) {
    viaLibvirt<void>([h = hypervisor_, name = p->domain, a = p->address]() -> Result<void> {
            auto dom = h->domain(name);
            if (!dom && dom.error().code == Errc::NotFound) return {};  // gone: nothing to take back
            if (!dom) return std::move(dom).error();
            if (dom->active && has(dom->live.pciHostdevs, a)) {
                if (auto r = h->detach(name, a, Scope::Live); !r) return r;
                // libvirt may answer before the guest has let go of the device (it finishes the
                // unplug later): nothing is reset or scrubbed under a guest that still has it.
                auto after = h->domain(name);
                if (after && after->active && has(after->live.pciHostdevs, a))
                    return makeError(Errc::Busy, "domain '" + name + "' has not released " + a.str() + " yet (its guest must let go of it); try again");
            }
            if (dom->config && has(dom->config->pciHostdevs, a))
                if (auto r = h->detach(name, a, Scope::Config); !r) return r;
            return {};
        },
        [this, p](Result<void> detached) {
            if (!detached) {
                // The domain keeps it: the VF stays assigned, as it was.
                Error e = std::move(detached).error().context(p->what);
                auto back = d_.db.transaction([&]() -> Result<void> {
                    auto row = d_.assignments.get(p->info.key, p->ref.vf);
                    if (!row) return std::move(row).error();
                    if (*row) {
                        Assignment a = **row;
                        a.state = Assignment::State::Assigned;
                        if (auto w = d_.assignments.put(a); !w) return w;
                    }
                    return p->operation ? d_.journal.finish(p->operation, "failed: " + e.message) : Result<void>();
                });
                reload();
                d_.changes.end(p->info.key, p->ref.vf);
                return p->done(back ? Result<void>(e) : Result<void>(std::move(back).error()));
            }
            auto freed = d_.db.transaction([&]() -> Result<void> {
                if (auto r = d_.assignments.remove(p->info.key, p->ref.vf); !r) return r;
                if (p->tenantGiven) {
                    auto prov = d_.desired.provisioned(p->info.key, p->ref.vf);
                    if (!prov) return std::move(prov).error();
                    if (*prov) {
                        Provisioned back = **prov;
                        back.tenant.clear();
                        if (auto r = d_.desired.setProvisioned(p->info.key, p->ref.vf, back); !r) return r;
                    }
                }
                if (auto r = d_.assignments.markDirty(p->info.key, p->ref.vf, "released from domain '" + p->domain + "'"); !r) return r;
                return p->operation ? d_.journal.advance(p->operation, "scrub") : Result<void>();
            });
            reload();
            if (!freed) {
                d_.changes.end(p->info.key, p->ref.vf);
                return p->done(std::move(freed).error().context(p->what));
            }
            crashPoint("release:freed");
            publish(p->ref.card, p->ref.vf, EventType::Assignment, Severity::Info,
                    "taken back from domain '" + p->domain + "'" + (p->why.empty() ? "" : " (" + p->why + ")"));
            auto device = d_.inventory.device(p->ref.card);
            Fs* fs = &d_.inventory.fs();
            onDevice<std::string>(
                p->info.key, [device, fs, vf = p->ref.vf, a = p->address] { return handover::resetAndScrub(device, *fs, vf, a, true); },
                [this, p](Result<std::string> scrubbed) {
                    crashPoint("release:scrubbed");
                    auto closed = d_.db.transaction([&]() -> Result<void> {
                        if (scrubbed)
                            if (auto r = d_.assignments.markClean(p->info.key, p->ref.vf); !r) return r;
                        return p->operation ? d_.journal.finish(p->operation, scrubbed ? "ok" : "failed: " + scrubbed.error().message)
                                            : Result<void>();
                    });
                    reload();
                    publish(p->ref.card, p->ref.vf, EventType::Scrub, scrubbed ? Severity::Info : Severity::Warning,
                            scrubbed ? *scrubbed : "scrub failed: " + scrubbed.error().message + "; the VF stays out of use (aismi vf release retries)");
                    Result<void> outcome = !scrubbed ? Result<void>(handover::madeButNotScrubbed(p->what, "released from domain '" + p->domain + "'", scrubbed.error()))
                                           : closed  ? Result<void>()
                                                     : Result<void>(std::move(closed).error());
                    afterRefresh(p->ref.card, [this, p, outcome] {
                        d_.changes.end(p->info.key, p->ref.vf);
                        p->done(outcome);
                    });
                });
        });
}

void AssignmentService::freeVf(const Assignment& row, const std::string& why, Done done) {
    if (auto c = cardOf(row.cardKey); c && !d_.inventory.snapshot(*c).lost && row.vf < d_.inventory.snapshot(*c).vfs.size()) {
        const CardSnapshot& card = d_.inventory.snapshot(*c);
        auto address = PciAddress::parse(card.vfs[row.vf].pciAddress);
        if (!address) return done(std::move(address).error());
        const std::string what = "free " + card.info.vfLabel(row.vf) + " (" + why + ")";
        if (auto claimed = d_.changes.begin(row.cardKey, row.vf, what); !claimed) return done(std::move(claimed).error());
        auto p = std::make_shared<Pending>();
        p->ref = VfRef{*c, row.vf};
        p->info = card.info;
        p->address = *address;
        p->domain = row.domain;
        p->tenant = row.tenant;
        p->tenantGiven = row.tenantGiven;
        p->what = what;
        p->why = why;
        p->done = std::move(done);
        return releaseWith(p);
    }
    done(makeError(Errc::NotFound, row.cardKey + " VF " + std::to_string(row.vf) + " is not present"));
}

void AssignmentService::scrubInPlace(const std::string& cardKey, unsigned vf, const std::string& why) {
    if (auto c = cardOf(cardKey); c && !d_.inventory.snapshot(*c).lost && vf < d_.inventory.snapshot(*c).vfs.size())
        return scrubNow(VfRef{*c, vf}, why, false, "scrub " + d_.inventory.snapshot(*c).info.vfLabel(vf), leftWorkIfFailed());
    reconcileLeftWork_ = true;  // the card does not answer: the next reconciliation tries again
}

void AssignmentService::watch(unsigned card, const CardSnapshot& now) {
    if (reconcileLeftWork_ && connected_ && reconcileRetries_.attempt("libvirt")) reconcileAll();
    if (now.lost) return;
    struct Again {
        unsigned vf;
        std::string why, what;
    };
    std::vector<Again> again;  // decided first: scrubNow reloads dirty_
    for (const auto& vf : now.vfs) {
        const Key key{now.info.key, vf.index};
        const std::string retry = key.first + "/" + std::to_string(vf.index);
        const auto d = dirty_.find(key);
        if (d == dirty_.end()) {
            scrubRetries_.settled(retry);
            continue;
        }
        if (rows_.count(key) || d_.changes.busy(key.first, key.second) || vf.state() == VfState::Running) continue;
        if (scrubRetries_.attempt(retry)) again.push_back({vf.index, d->second, "scrub " + now.info.vfLabel(vf.index) + " again"});
    }
    for (const auto& a : again) scrubNow(VfRef{card, a.vf}, a.why, false, a.what, [](Result<void>) {});
    rebindConsumed(card, now);
}

// A VF aismid gave to a domain or a holder belongs on vfio-pci: aismid bound it there. A power
// cycle or a driver reload re-creates it on its host driver (and someone may unbind it by
// hand): it is bound to vfio-pci again, for the same consumer, checked at every poll. A VF a
// change is under way on, or a workload runs on (the host driver's), is left until that is
// over. An adopted VF is not: aismid never bound it, and one off vfio-pci is a conflict to
// report (problemsOf), not to fix by taking it from its host driver.
void AssignmentService::rebindConsumed(unsigned card, const CardSnapshot& now) {
    for (const auto& vf : now.vfs) {
        const Key key{now.info.key, vf.index};
        const std::string retry = key.first + "/" + std::to_string(vf.index);
        const auto row = rows_.find(key);
        const auto h = held_.find(key);
        const bool consumed = (row != rows_.end() && row->second.state == Assignment::State::Assigned && !row->second.adopted) || h != held_.end();
        if (!consumed || vf.driver == vfio::kVfioDriver) {
            rebindRetries_.settled(retry);
            continue;
        }
        if (d_.changes.busy(key.first, key.second) || vf.state() == VfState::Running || !rebindRetries_.attempt(retry)) continue;
        auto address = PciAddress::parse(vf.pciAddress);
        if (!address) continue;
        const std::string consumer = row != rows_.end() ? "domain '" + row->second.domain + "'" : h->second;
        const std::string what = "bind " + now.info.vfLabel(vf.index) + " back to vfio-pci for " + consumer;
        if (!d_.changes.begin(key.first, key.second, what)) continue;
        Fs* fs = &d_.inventory.fs();
        onDevice<unsigned>(
            key.first, [fs, a = *address]() { return vfio::bindToVfio(*fs, a); },
            [this, card, key, what, consumer, from = vf.driver](Result<unsigned> bound) {
                publish(card, key.second, EventType::Driver, bound ? Severity::Info : Severity::Warning,
                        bound ? "bound back to vfio-pci for " + consumer + " (it was on " + (from.empty() ? std::string("no driver") : "'" + from + "'") +
                                    "; IOMMU group " + std::to_string(*bound) + ")"
                              : what + ": " + bound.error().message + "; tried again later");
                afterRefresh(card, [this, key] { d_.changes.end(key.first, key.second); });
            });
    }
}

void AssignmentService::scrub(const VfRef& ref, Done done) {
    if (ref.card >= d_.inventory.size()) return done(makeError(Errc::NotFound, "no card " + std::to_string(ref.card)));
    const CardSnapshot& card = d_.inventory.snapshot(ref.card);
    const std::string what = "scrub " + card.info.vfLabel(ref.vf);
    if (card.lost) return done(makeError(Errc::DeviceLost, what + ": the device does not answer"));
    if (ref.vf >= card.vfs.size())
        return done(makeError(Errc::NotFound, what + ": the card has no VF " + std::to_string(ref.vf) + " (" + std::to_string(card.vfs.size()) + " enabled)"));
    if (auto row = rows_.find({card.info.key, ref.vf}); row != rows_.end())
        return done(makeError(Errc::InvalidState, what + ": the VF is assigned to domain '" + row->second.domain +
                                                      "'; it is scrubbed when the domain stops or gives it back (aismi vf release)"));
    const VfSnapshot& vf = card.vfs[ref.vf];
    if (vf.state() == VfState::Running) return done(makeError(Errc::Busy, what + ": a workload runs on the VF"));
    auto h = held_.find({card.info.key, ref.vf});
    if (h == held_.end()) {
        // Not held: only a VF nobody uses. Someone else's VF on vfio-pci, or a tenant's, is not
        // wiped under them (unprovisioning a tenant's VF scrubs it).
        if (vf.driver == vfio::kVfioDriver) return done(makeError(Errc::InvalidState, what + ": " + vfioBindingText(vf)));
        if (!vf.tenant.empty())
            return done(makeError(Errc::InvalidState, what + ": the VF is provisioned for tenant " + vf.tenant + " (aismi vf unprovision scrubs it)"));
    }
    scrubNow(ref, h != held_.end() ? "between two consumers of " + h->second : "asked for", false, what, std::move(done));
}

// By value: `why` may be a reference into dirty_, which reload() below replaces.
void AssignmentService::scrubNow(VfRef ref, std::string why, bool toHost, std::string what, Done done) {
    const CardSnapshot& card = d_.inventory.snapshot(ref.card);
    const std::string key = card.info.key;
    auto address = PciAddress::parse(card.vfs[ref.vf].pciAddress);
    if (!address) return done(std::move(address).error().context(what));
    if (auto claimed = d_.changes.begin(key, ref.vf, what); !claimed) return done(std::move(claimed).error());
    // Marked first: a crash before the scrub ends leaves the mark, and the next start scrubs it.
    // A mark already there keeps its reason (why the VF changed hands), not this attempt's.
    if (auto marked = dirty_.count({key, ref.vf}) ? Result<void>() : d_.assignments.markDirty(key, ref.vf, why); !marked) {
        d_.changes.end(key, ref.vf);
        return done(std::move(marked).error().context(what));
    }
    reload();
    auto device = d_.inventory.device(ref.card);
    Fs* fs = &d_.inventory.fs();
    onDevice<std::string>(
        key, [device, fs, vf = ref.vf, a = *address, toHost] { return handover::resetAndScrub(device, *fs, vf, a, toHost); },
        [this, key, ref, why, what, done = std::move(done)](Result<std::string> scrubbed) {
            if (scrubbed) (void)d_.assignments.markClean(key, ref.vf);
            if (scrubbed) scrubFailed_.erase({key, ref.vf});
            else scrubFailed_.insert({key, ref.vf});
            reload();
            publish(ref.card, ref.vf, EventType::Scrub, scrubbed ? Severity::Info : Severity::Warning,
                    (scrubbed ? *scrubbed : "scrub failed: " + scrubbed.error().message + "; the VF stays out of use until a scrub succeeds") + " (" +
                        why + ")");
            Result<void> outcome = scrubbed ? Result<void>() : Result<void>(std::move(scrubbed).error().context(what));
            afterRefresh(ref.card, [this, key, ref, outcome, done] {
                d_.changes.end(key, ref.vf);
                done(outcome);
            });
        });
}

}  // namespace aismi
