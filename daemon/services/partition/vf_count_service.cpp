#include "vf_count_service.hpp"

#include "card_changes.hpp"
#include "database.hpp"
#include "desired_state_repository.hpp"
#include "device_executor.hpp"
#include "event_bus.hpp"
#include "event_repository.hpp"
#include "events.hpp"
#include "inventory.hpp"
#include "jobs.hpp"
#include "journal_repository.hpp"
#include "poller.hpp"
#include "snapshot.hpp"
#include "vf_in_use.hpp"

#include <aismi/text.hpp>
#include <aismi/card.hpp>

#include <algorithm>
#include <atomic>
#include <sstream>

namespace aismi {
namespace {

constexpr const char* kKind = "set-vf-count";
constexpr const char* kStepWrite = "write-sriov-numvfs";

std::string describe(const CardInfo& card, unsigned count) { return card.label() + ": set VF count to " + std::to_string(count); }

}  // namespace

std::string VfCountService::Payload::encode() const {
    PayloadWriter w;
    w.add("count", count);
    if (previousDesired) w.add("previous_desired", *previousDesired);
    // One line per VF being replaced: "cleared_K PROFILE TENANT CU MIB ENGINES BURST WEIGHT" ("-" for none).
    for (const auto& [vf, p] : cleared)
        w.add("cleared_" + std::to_string(vf), (p.profile.empty() ? "-" : p.profile) + " " + (p.tenant.empty() ? "-" : p.tenant) + " " +
                                                   std::to_string(p.resources.computeUnits) + " " + std::to_string(p.resources.memoryMib) + " " +
                                                   std::to_string(p.resources.engines) + " " + std::to_string(p.resources.burstCap()) + " " +
                                                   std::to_string(p.resources.weight));
    return w.str();
}

Result<VfCountService::Payload> VfCountService::Payload::decode(const std::string& text) {
    auto kv = text::parseKeyValues(text, "set-vf-count journal payload");
    if (!kv) return std::move(kv).error();
    Payload p;
    auto count = text::requireUnsigned(*kv, "count", "set-vf-count journal payload");
    if (!count || *count > 65535) return makeError(Errc::MalformedData, "set-vf-count journal payload: bad count");
    p.count = static_cast<unsigned>(*count);
    if (kv->count("previous_desired")) {
        auto prev = text::requireUnsigned(*kv, "previous_desired", "set-vf-count journal payload");
        if (!prev || *prev > 65535) return makeError(Errc::MalformedData, "set-vf-count journal payload: bad previous_desired");
        p.previousDesired = static_cast<unsigned>(*prev);
    }
    for (const auto& [key, value] : *kv) {
        if (!key.starts_with("cleared_")) continue;
        auto vf = text::parseUnsigned(std::string_view(key).substr(8), "cleared VF");
        std::istringstream words(value);
        std::string profile, tenant;
        uint64_t cu = 0, mem = 0, eng = 0;
        uint64_t burst = 0, weight = 1;  // absent in entries journaled before burst caps existed
        if (!vf || *vf > 65535 || !(words >> profile >> tenant >> cu >> mem >> eng) || cu > UINT32_MAX || eng > UINT32_MAX)
            return makeError(Errc::MalformedData, "set-vf-count journal payload: bad " + key);
        if (words >> burst && !(words >> weight)) return makeError(Errc::MalformedData, "set-vf-count journal payload: bad " + key);
        if (burst > UINT32_MAX || weight > UINT32_MAX) return makeError(Errc::MalformedData, "set-vf-count journal payload: bad " + key);
        p.cleared.emplace_back(static_cast<unsigned>(*vf),
                               DesiredStateRepository::Provisioned{profile == "-" ? "" : profile, tenant == "-" ? "" : tenant,
                                                                   Resources{static_cast<uint32_t>(cu), mem, static_cast<uint32_t>(eng),
                                                                             static_cast<uint32_t>(burst), static_cast<uint32_t>(weight)}});
    }
    return p;
}

Result<void> VfCountService::check(const CardSnapshot& card, unsigned count) {
    const std::string where = describe(card.info, count);
    if (card.lost) return makeError(Errc::DeviceLost, where + ": the device does not answer");
    if (card.vfTotal == 0) return makeError(Errc::NotSupported, where + ": the device has no SR-IOV capability");
    if (count > card.vfTotal)
        return makeError(Errc::OutOfRange, where + ": the card supports at most " + text::counted(card.vfTotal, "VF"));
    if (card.vfEnabled() != 0 && count != 0 && count != card.vfEnabled())
        return makeError(Errc::InvalidState, where + ": " + std::to_string(card.vfEnabled()) +
                                                 " VFs are enabled and the kernel changes the count only from 0; disable VFs first");
    return {};
}

Result<VfCountService::Plan> VfCountService::plan(const CardSnapshot& card, unsigned count, bool force) {
    if (auto ok = check(card, count); !ok) return std::move(ok).error();
    Plan p{0, card.info.key, Payload{count, std::nullopt}};
    auto r = d_.db.transaction([&]() -> Result<void> {
        // Replacing the VFs the device has destroys them all (the kernel's rule). With none on
        // the device (a power cycle), the provisioning waits for the VFs to come back and is
        // re-applied. The count the card already has replaces nothing (the device is not
        // written): the VFs, their provisioning and their tenants stay as they are.
        if (card.vfEnabled() != 0 && count != card.vfEnabled()) {
            auto provisioned = d_.desired.provisionedVfs(card.info.key);
            if (!provisioned) return std::move(provisioned).error();
            // VFs in use stop it: provisioned for a tenant, running a workload, bound to vfio-pci
            // (held, or assigned to a VM). --force destroys them with the others.
            if (const auto inUse = vfsInUse(card, true); !inUse.empty() && !force)
                return makeError(Errc::InvalidState, "VFs in use (" + text::join(inUse, ", ") + "); unprovision or release them first, or force it");
            // A VF given to a libvirt domain is never destroyed under it, not even by force: the
            // domain's definition would keep a device that no longer exists.
            std::string assigned;
            for (const auto& vf : card.vfs)
                if (!vf.domain().empty())
                    assigned += (assigned.empty() ? "" : ", ") + std::to_string(card.info.index) + ":" + std::to_string(vf.index) + " (domain " + vf.domain() + ")";
            if (!assigned.empty())
                return makeError(Errc::InvalidState, "VFs " + assigned + " are assigned to libvirt domains; aismi vf release takes them back first");
            // The VFs' provisioning goes with them (put back if the change fails).
            p.payload.cleared.assign(provisioned->begin(), provisioned->end());
            if (auto c = d_.desired.clearProvisionedCard(card.info.key); !c) return c;
        }
        auto previous = d_.desired.vfCount(card.info.key);
        if (!previous) return std::move(previous).error();
        p.payload.previousDesired = *previous;
        if (auto w = d_.desired.setVfCount(card.info.key, count); !w) return w;
        auto op = d_.journal.begin(kKind, card.info.key, p.payload.encode(), kStepWrite);
        if (!op) return std::move(op).error();
        p.operation = *op;
        return {};
    });
    if (!r) return std::move(r).error().context(describe(card.info, count));
    return p;
}

bool VfCountService::finish(const Plan& plan, const Result<void>& outcome) {
    const std::string what = "set VF count on " + plan.key + " to " + std::to_string(plan.payload.count);
    auto write = [this, plan, outcome]() -> Result<void> {
        if (!outcome) {
            // The device did not take the change: desired state goes back exactly as it was,
            // including "none" when there was none.
            auto r = plan.payload.previousDesired ? d_.desired.setVfCount(plan.key, *plan.payload.previousDesired)
                                                  : d_.desired.clearVfCount(plan.key);
            if (!r) return r;
            for (const auto& [vf, prov] : plan.payload.cleared)
                if (auto e = d_.desired.setProvisioned(plan.key, vf, prov); !e) return e;
        }
        return d_.journal.finish(plan.operation, outcome ? "ok" : "failed: " + outcome.error().message);
    };
    auto recorded = d_.db.recordEnd(what, write, [this, key = plan.key] { d_.changes.end(key); });
    if (!recorded) d_.changes.waitForRecord(plan.key, recorded.error());
    return bool(recorded);
}

Result<int64_t> VfCountService::setVfCount(unsigned card, unsigned count, std::function<void(Result<void>)> done, bool force) {
    if (card >= d_.inventory.size()) return makeError(Errc::NotFound, "no card " + std::to_string(card));
    const CardInfo info = d_.inventory.info(card);
    // One change per card at a time: a second one would be planned against a snapshot the
    // first is about to change, and a failure would restore the other's desired state.
    if (auto claimed = d_.changes.begin(info.key, describe(info, count)); !claimed) return std::move(claimed).error();
    auto p = plan(d_.inventory.snapshot(card), count, force);
    if (!p) {
        d_.changes.end(info.key);
        return std::move(p).error();
    }
    // Cancelling is possible until the worker starts writing: the kernel cannot interrupt a
    // sriov_numvfs write.
    auto cancelled = std::make_shared<std::atomic<bool>>(false);
    auto started = std::make_shared<std::atomic<bool>>(false);
    auto job = d_.jobs.create(kKind, info.label(), kActionManageVfs, [cancelled, started, info]() -> Result<void> {
        if (started->load()) return makeError(Errc::InvalidState, info.label() + ": the VF count is being written; it cannot be cancelled now");
        cancelled->store(true);
        return {};
    });
    if (!job) {
        if (finish(*p, makeError(Errc::StoreFailed, "no job"))) d_.changes.end(info.key);
        return std::move(job).error();
    }
    const int64_t jobId = *job;
    auto device = d_.inventory.device(card);
    d_.executor.runOnCard<void>(
        info.key,
        [device, count, cancelled, started, info]() -> Result<void> {
            if (cancelled->load()) return makeError(Errc::Cancelled, describe(info, count) + ": cancelled before it started");
            started->store(true);
            return device->setVfCount(count);
        },
        [this, card, jobId, plan = *p, info, count, done = std::move(done)](Result<void> outcome) mutable {
            if (!outcome) outcome = std::move(outcome).error().context(describe(info, count));
            // The device has the outcome and desired state says it: an end the store has yet to
            // record changes neither (the card stays claimed until it lands).
            const bool recorded = finish(plan, outcome);
            d_.events.publish(Notice{EventType::VfCount, outcome ? Severity::Info : Severity::Warning, info.label(),
                                     outcome ? "VF count set to " + std::to_string(count) : outcome.error().message, info.index});
            // The job ends once the snapshot shows the outcome, so a reader right after sees it.
            d_.poller.refresh(card, [this, jobId, key = info.key, recorded, outcome, done = std::move(done)] {
                if (recorded) d_.changes.end(key);
                d_.jobs.finish(jobId, outcome);
                if (done) done(outcome);
            });
        });
    d_.jobs.start(jobId);
    d_.jobs.progress(jobId, 10);  // journaled; the device write is next
    return jobId;
}

Phase VfCountService::phase() const { return Phase::Partition; }
std::vector<std::string> VfCountService::kinds() const { return {kKind}; }

Result<std::string> VfCountService::recover(const JournalRow& entry) {
    const std::string what = "set VF count on " + entry.target;
    auto payload = Payload::decode(entry.payload);
    std::shared_ptr<Card> device = d_.inventory.deviceByKey(entry.target);
    if (!payload || !device) return abandon(d_.journal, entry, what, !payload ? payload.error().message : kCardGoneAfterRestart);
    auto actual = device->sriov();
    const std::string head = what + " to " + std::to_string(payload->count) + ": " + kFoundUnfinished;
    if (actual && actual->numVfs == payload->count) {
        if (auto r = d_.journal.finish(entry.id, "ok (confirmed after restart)"); !r) return std::move(r).error();
        return head + "; the device has it";
    }
    // The device did not take it (the change never reached it, or it failed and the store did
    // not take the rollback): desired state goes back to what it was, provisioning included.
    auto r = d_.db.transaction([&]() -> Result<void> {
        auto back = payload->previousDesired ? d_.desired.setVfCount(entry.target, *payload->previousDesired) : d_.desired.clearVfCount(entry.target);
        if (!back) return back;
        for (const auto& [vf, prov] : payload->cleared)
            if (auto e = d_.desired.setProvisioned(entry.target, vf, prov); !e) return e;
        return d_.journal.finish(entry.id, "rolled back after restart: the device did not take it");
    });
    if (!r) return std::move(r).error();
    interrupted_.push_back(entry.target);
    return head + "; the device did not take it, so desired state is back to " +
           (payload->previousDesired ? text::counted(*payload->previousDesired, "VF") : std::string("none")) +
           (payload->cleared.empty() ? std::string() : " and the provisioning of " + text::counted(payload->cleared.size(), "VF"));
}

std::vector<std::string> VfCountService::converge() {
    std::vector<std::string> log;
    for (unsigned i = 0; i < d_.inventory.size(); ++i) {
        const CardInfo& info = d_.inventory.info(i);
        auto desired = d_.desired.vfCount(info.key);
        auto device = d_.inventory.device(i);
        auto actual = device->sriov();
        if (!desired || !*desired || !actual || actual->numVfs == **desired) continue;
        const std::string what = "card " + std::to_string(i) + " (" + info.key + "): desired " + std::to_string(**desired) +
                                 " VFs, the device has " + std::to_string(actual->numVfs);
        const bool wasInterrupted = std::find(interrupted_.begin(), interrupted_.end(), info.key) != interrupted_.end();
        if (actual->numVfs != 0 && !wasInterrupted) {
            // VFs someone else created may be assigned to VMs: replacing them is an operator's call.
            log.push_back(what + "; left as it is (set outside aismid; 'aismi vf disable' first to change it)");
            continue;
        }
        if (actual->numVfs != 0 && **desired != 0) {
            if (auto off = device->setVfCount(0); !off) {
                log.push_back(what + "; restoring failed: " + off.error().message);
                continue;
            }
        }
        auto r = device->setVfCount(**desired);
        log.push_back(what + (r ? "; restored" : "; restoring failed: " + r.error().message));
    }
    interrupted_.clear();
    return log;
}

std::optional<unsigned> VfCountService::expectedVfCount(const std::string& cardKey) {
    if (d_.changes.busy(cardKey)) return std::nullopt;
    auto desired = d_.desired.vfCount(cardKey);
    return desired ? *desired : std::nullopt;
}

void VfCountService::watch(unsigned card, const CardSnapshot& before, const CardSnapshot& now) {
    // A level, checked at every poll, not the one poll that saw the VFs go: a command that
    // lands before that poll (and holds the card) must not cost the restore.
    if (now.lost || d_.changes.busy(now.info.key)) return;
    auto desired = d_.desired.vfCount(now.info.key);
    if (!desired || !*desired || now.vfEnabled() == **desired) {
        restores_.settled(now.info.key);
        noted_.erase(now.info.key);
        return;
    }
    if (!now.vfs.empty()) return convergeLive(card);  // says once that it is left as it is
    if (!before.lost && !before.vfs.empty())
        d_.events.publish(Notice{EventType::VfCount, Severity::Warning, now.info.label(),
                                 "the card lost its VFs (" + std::to_string(before.vfEnabled()) + " before; a reset, power cycle or driver reload?)", card});
    convergeLive(card);
}

void VfCountService::convergeLive(unsigned card) {
    const CardSnapshot& s = d_.inventory.snapshot(card);
    auto desired = d_.desired.vfCount(s.info.key);
    if (!desired || !*desired || s.lost || s.vfEnabled() == **desired || d_.changes.busy(s.info.key)) return;
    if (s.vfEnabled() != 0) {
        // Said once per state, not at every poll.
        if (auto [it, fresh] = noted_.emplace(s.info.key, s.vfEnabled()); !fresh && it->second == s.vfEnabled()) return;
        noted_[s.info.key] = s.vfEnabled();
        d_.events.publish(Notice{EventType::VfCount, Severity::Warning, s.info.label(),
                                 "desired " + std::to_string(**desired) + " VFs, the device has " + std::to_string(s.vfEnabled()) +
                                     "; left as it is (set outside aismid)",
                                 card});
        return;
    }
    if (!restores_.attempt(s.info.key)) return;
    const unsigned want = **desired;
    d_.events.publish(Notice{EventType::VfCount, Severity::Warning, s.info.label(),
                             "the card came back with 0 of " + std::to_string(want) + " desired VFs; restoring them", card});
    // A restore that works is forgotten at once: only failures space out the next attempt.
    if (auto job = setVfCount(card, want, [this, key = s.info.key](Result<void> r) { if (r) restores_.settled(key); }); !job)
        d_.events.publish(Notice{EventType::VfCount, Severity::Warning, s.info.label(), "restoring " + std::to_string(want) + " VFs failed: " + job.error().message, card});
}

}  // namespace aismi
