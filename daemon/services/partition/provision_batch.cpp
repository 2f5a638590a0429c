// ProvisionService::provisionBatch: many VFs of one card as one change (what a layout does),
// and the recovery of a batch a crash interrupted.
#include "provision_service.hpp"
#include "provisioning_payload.hpp"

#include "admission.hpp"
#include "card_changes.hpp"
#include "database.hpp"
#include "device_executor.hpp"
#include "event_bus.hpp"
#include "event_repository.hpp"
#include "events.hpp"
#include "handover.hpp"
#include "inventory.hpp"
#include "journal_repository.hpp"
#include "policy_service.hpp"
#include "poller.hpp"
#include "snapshot.hpp"
#include "vf_in_use.hpp"

#include <aismi/card.hpp>
#include <aismi/pci_address.hpp>
#include <aismi/text.hpp>

#include <map>
#include <set>

namespace aismi {
namespace {

using Provisioned = DesiredStateRepository::Provisioned;
using provisioning_payload::decodeOne;
using provisioning_payload::encodeOne;
using provisioning_payload::kBatchKind;

constexpr const char* kStepWrite = "write-vf-resources";

struct Write {
    unsigned vf;
    Resources to;
};

// The device writes that take each VF from `from` to `to` without the card ever holding more
// than both ends do: VFs that shrink first (they free what the others need), then the ones
// that grow, emptied and then given their shapes.
std::vector<Write> orderWrites(const std::vector<std::pair<unsigned, std::pair<Resources, Resources>>>& changes) {
    std::vector<Write> out;
    std::vector<const std::pair<unsigned, std::pair<Resources, Resources>>*> growing;
    for (const auto& c : changes) {
        const auto& [from, to] = c.second;
        if (from == to) continue;
        if (to.computeUnits <= from.computeUnits && to.memoryMib <= from.memoryMib) out.push_back({c.first, to});
        else growing.push_back(&c);
    }
    for (const auto* c : growing)
        if (!(c->second.first == Resources{})) out.push_back({c->first, Resources{}});
    for (const auto* c : growing)
        if (!(c->second.second == Resources{})) out.push_back({c->first, c->second.second});
    return out;
}

std::set<unsigned> keysOf(const std::map<unsigned, handover::Mark>& marks) {
    std::set<unsigned> out;
    for (const auto& [vf, mark] : marks) out.insert(vf);
    return out;
}

// Runs `writes` on `device`; on a failure puts every VF written so far back to `before` (in the
// same safe order) and returns the first error, with the rollback's if that failed too.
Result<void> writeAll(Card& device, const std::vector<Write>& writes, const std::map<unsigned, Resources>& before) {
    std::map<unsigned, Resources> now;
    for (const auto& w : writes) {
        auto r = device.setVfResources(w.vf, w.to);
        if (r) {
            now[w.vf] = w.to;
            continue;
        }
        std::vector<std::pair<unsigned, std::pair<Resources, Resources>>> back;
        for (const auto& [vf, held] : now) back.push_back({vf, {held, before.at(vf)}});
        for (const auto& undo : orderWrites(back))
            if (auto u = device.setVfResources(undo.vf, undo.to); !u)
                return std::move(r).error().context("and putting VF " + std::to_string(undo.vf) + " back failed too: " + u.error().message);
        return r;
    }
    return {};
}

}  // namespace

std::string ProvisionService::BatchPayload::encode() const {
    PayloadWriter w;
    w.add("vfs", vfs.size());
    for (size_t i = 0; i < vfs.size(); ++i) {
        const std::string p = "vf" + std::to_string(i) + "_";
        w.add(p + "index", vfs[i].vf);
        encodeOne(w, p + "next_", vfs[i].next);
        encodeOne(w, p + "previous_", vfs[i].previous);
        encodeOne(w, p + "before_", Provisioned{"-", "", vfs[i].before});
    }
    return w.str();
}

Result<ProvisionService::BatchPayload> ProvisionService::BatchPayload::decode(const std::string& text) {
    constexpr const char* what = "provision-vfs journal payload";
    auto kv = text::parseKeyValues(text, what);
    if (!kv) return std::move(kv).error();
    auto count = text::requireUnsigned(*kv, "vfs", what);
    if (!count || *count > 65536) return makeError(Errc::MalformedData, std::string(what) + ": bad vfs");
    BatchPayload out;
    for (uint64_t i = 0; i < *count; ++i) {
        const std::string p = "vf" + std::to_string(i) + "_";
        auto index = text::requireUnsigned(*kv, p + "index", what);
        auto next = decodeOne(*kv, p + "next_", what);
        auto previous = decodeOne(*kv, p + "previous_", what);
        auto before = decodeOne(*kv, p + "before_", what);
        if (!index || *index > 65535 || !next || !*next || !previous || !before || !*before)
            return makeError(Errc::MalformedData, std::string(what) + ": bad VF " + std::to_string(i));
        out.vfs.push_back(Vf{static_cast<unsigned>(*index), **next, *previous, (*before)->resources});
    }
    return out;
}

void ProvisionService::provisionBatch(unsigned cardIndex, const std::vector<std::pair<unsigned, std::string>>& profiles, Done done) {
    if (cardIndex >= d_.inventory.size()) return done(makeError(Errc::NotFound, "no card " + std::to_string(cardIndex)));
    const CardSnapshot& card = d_.inventory.snapshot(cardIndex);
    const CardInfo info = card.info;
    const std::string what = info.label() + ": provision " + text::counted(profiles.size(), "VF");
    if (auto ok = requireProvisionable(card, what); !ok) return done(std::move(ok).error());
    // Each VF's next shape, checked as provision() checks one; then all of them admitted together.
    BatchPayload payload;
    std::map<unsigned, size_t> inBatch;
    Usage held, asked;
    for (const auto& [vf, name] : profiles) {
        const std::string vfWhat = info.label() + " VF " + std::to_string(vf);
        if (vf >= card.vfs.size() || inBatch.count(vf))
            return done(makeError(Errc::NotFound, vfWhat + ": not enabled, or named twice (" + std::to_string(card.vfs.size()) + " enabled)"));
        const VfSnapshot& s = card.vfs[vf];
        if (vfTakenByConsumer(s)) return done(makeError(Errc::InvalidState, vfWhat + ": " + vfioBindingText(s) + "; release it first"));
        if (!name.empty() && s.quarantined())
            return done(makeError(Errc::InvalidState, vfWhat + ": the VF is quarantined (" + s.quarantineReason() + "); aismi vf unquarantine releases it"));
        if (s.state() == VfState::Running) return done(makeError(Errc::Busy, vfWhat + ": a workload runs on the VF; its resources cannot move under it"));
        Provisioned next;
        if (!name.empty()) {
            const Profile* profile = findProfile(profiles_, name);
            if (!profile) return done(makeError(Errc::NotFound, vfWhat + ": no profile '" + name.substr(0, 40) + "'"));
            std::string never;
            auto shape = profile->on(*card.capacity, &never);
            if (!shape) return done(makeError(Errc::NoSpace, vfWhat + ": profile " + name + " never fits this card: " + never));
            next = Provisioned{profile->name, "", *shape};
        }
        inBatch[vf] = payload.vfs.size();
        payload.vfs.push_back(BatchPayload::Vf{vf, next, std::nullopt, s.resources.value_or(Resources{})});
        asked.add(next.resources);
    }
    for (const auto& vf : card.vfs)
        if (!inBatch.count(vf.index) && vf.resources) held.add(*vf.resources);
    const Oversubscription policy = d_.policies.of(info.key);
    if (auto refusal = exceeds(Limits::of(*card.capacity, policy), policy, held, asked))
        return done(makeError(Errc::NoSpace, what + ": " + *refusal));
    if (auto claimed = d_.changes.begin(info.key, what); !claimed) return done(std::move(claimed).error());
    int64_t operation = 0;
    std::map<unsigned, handover::Mark> marks;
    auto planned = d_.db.transaction([&]() -> Result<void> {
        for (auto& vf : payload.vfs) {
            auto previous = d_.desired.provisioned(info.key, vf.vf);
            if (!previous) return std::move(previous).error();
            if (*previous && !(*previous)->tenant.empty())
                return makeError(Errc::InvalidState, info.label() + " VF " + std::to_string(vf.vf) + " is provisioned for tenant " +
                                                         (*previous)->tenant + " (unprovision it first)");
            vf.previous = *previous;
            // A VF given another profile or emptied changes hands: scrubbed after the writes.
            auto handed = handover::markIfHandedOn(d_.scrubMarks, info.key, vf.vf, *previous, vf.next);
            if (!handed) return std::move(handed).error();
            if (*handed != handover::Mark::None) marks[vf.vf] = *handed;
            if (auto w = d_.desired.setProvisioned(info.key, vf.vf, vf.next); !w) return w;
        }
        auto op = d_.journal.begin(kBatchKind, info.key, payload.encode(), kStepWrite);
        if (!op) return std::move(op).error();
        operation = *op;
        return {};
    });
    if (!planned) {
        d_.changes.end(info.key);
        return done(std::move(planned).error().context(what));
    }
    d_.poller.reannotate(cardIndex);  // the new profiles show from the commit on
    std::vector<std::pair<unsigned, std::pair<Resources, Resources>>> changes;
    std::map<unsigned, Resources> before;
    for (const auto& vf : payload.vfs) {
        changes.push_back({vf.vf, {vf.before, vf.next.resources}});
        before[vf.vf] = vf.before;
    }
    auto scrubs = std::make_shared<std::map<unsigned, Result<std::string>>>();  // filled on the strand, read after
    d_.executor.runOnCard<void>(
        info.key,
        [device = d_.inventory.device(cardIndex), fs = &d_.inventory.fs(), targets = scrubTargets(cardIndex, keysOf(marks)), scrubs,
         writes = orderWrites(changes), before]() -> Result<void> {
            // The writes first (all or nothing), then the resets and scrubs of those that changed hands.
            if (auto w = writeAll(*device, writes, before); !w) return w;
            for (const auto& [vf, address] : targets) scrubs->emplace(vf, handover::resetAndScrub(device, *fs, vf, address, false));
            return {};
        },
        [this, info, cardIndex, payload, operation, what, marks, scrubs, done = std::move(done)](Result<void> outcome) mutable {
            // A failed scrub does not undo the batch (it is done; the VF stays out of use, shown so):
            // the layout that asked says so when it ends.
            (void)scrubbed(info, *scrubs);
            if (!outcome) outcome = std::move(outcome).error().context(what);
            // As for one VF: an end the store refuses keeps the card claimed until it takes it.
            auto finished = d_.db.recordEnd(
                what,
                [this, key = info.key, payload, marks, operation, outcome]() -> Result<void> {
                    if (!outcome)
                        for (const auto& vf : payload.vfs) {
                            auto r = vf.previous ? d_.desired.setProvisioned(key, vf.vf, *vf.previous) : d_.desired.clearProvisioned(key, vf.vf);
                            if (!r) return r;
                            if (auto m = marks.find(vf.vf); m != marks.end())
                                if (auto c = handover::clearIfAdded(d_.scrubMarks, key, vf.vf, m->second); !c) return c;
                        }
                    return d_.journal.finish(operation, outcome ? "ok" : "failed: " + outcome.error().message);
                },
                [this, key = info.key] { d_.changes.end(key); });
            if (!finished) d_.changes.waitForRecord(info.key, finished.error());
            if (!outcome) d_.poller.reannotate(cardIndex);  // put back: show it put back
            d_.events.publish(Notice{EventType::Provision, outcome ? Severity::Info : Severity::Warning, info.label(),
                                     outcome ? text::counted(payload.vfs.size(), "VF") + " provisioned" : outcome.error().message + "; every VF put back",
                                     info.index});
            d_.poller.refresh(cardIndex, [this, key = info.key, outcome, recorded = bool(finished), done = std::move(done)] {
                if (recorded) d_.changes.end(key);
                done(outcome);
            });
        });
}

Result<std::string> ProvisionService::recoverBatch(const JournalRow& entry) {
    const std::string what = "provisioning VFs of " + entry.target;
    auto payload = BatchPayload::decode(entry.payload);
    std::shared_ptr<Card> device = d_.inventory.deviceByKey(entry.target);
    if (!payload || !device) return abandon(d_.journal, entry, what, !payload ? payload.error().message : kCardGoneAfterRestart);
    // All or nothing: if the device has every VF's new shape the batch is done; otherwise each
    // VF goes back to what the device held before and desired state to what it was.
    std::vector<std::pair<unsigned, std::pair<Resources, Resources>>> back;
    bool complete = true;
    for (const auto& vf : payload->vfs) {
        auto actual = device->vfResources(vf.vf);
        if (actual && *actual == vf.next.resources) {
            back.push_back({vf.vf, {*actual, vf.before}});
            continue;
        }
        complete = false;
        back.push_back({vf.vf, {actual ? *actual : vf.next.resources, vf.before}});
    }
    if (complete) {
        if (auto r = d_.journal.finish(entry.id, "ok (confirmed after restart)"); !r) return std::move(r).error();
        return what + ": " + kFoundUnfinished + "; the device has every VF";
    }
    std::string problems;
    for (const auto& w : orderWrites(back))
        if (auto r = device->setVfResources(w.vf, w.to); !r) problems += "; VF " + std::to_string(w.vf) + ": " + r.error().message;
    auto r = d_.db.transaction([&]() -> Result<void> {
        for (const auto& vf : payload->vfs) {
            auto w = vf.previous ? d_.desired.setProvisioned(entry.target, vf.vf, *vf.previous) : d_.desired.clearProvisioned(entry.target, vf.vf);
            if (!w) return w;
        }
        return d_.journal.finish(entry.id, "rolled back after restart" + problems);
    });
    if (!r) return std::move(r).error();
    return what + ": " + kFoundUnfinished + "; not every VF had it, so every VF is put back as it was" + problems;
}

}  // namespace aismi
