#include "provision_service.hpp"
#include "provisioning_payload.hpp"

#include "admission.hpp"
#include "assignment_repository.hpp"
#include "card_changes.hpp"
#include "daemon_config.hpp"
#include "database.hpp"
#include "device_executor.hpp"
#include "event_bus.hpp"
#include "event_repository.hpp"
#include "events.hpp"
#include "handover.hpp"
#include "inventory.hpp"
#include "journal_repository.hpp"
#include "log.hpp"
#include "policy_service.hpp"
#include "poller.hpp"
#include "quota_repository.hpp"
#include "quota_service.hpp"
#include "snapshot.hpp"
#include "vf_in_use.hpp"

#include <aismi/card.hpp>
#include <aismi/pci_address.hpp>
#include <aismi/text.hpp>

#include <algorithm>

namespace aismi {
namespace {
bool holdsSomething(const Resources& r) { return r.computeUnits || r.memoryMib || r.engines; }

// Gives `vf` its shape back. When the card has no room, what the VFs without a profile hold is
// taken back first, once (`spare`: a card that re-creates its VFs gives each the driver's even
// share of the whole card, which leaves no room for a provisioned shape larger than that).
Result<void> restoreShape(Card& device, unsigned vf, const Resources& r, std::vector<unsigned>& spare) {
    auto w = device.setVfResources(vf, r);
    if (w || w.error().code != Errc::NoSpace || spare.empty()) return w;
    for (unsigned s : spare) (void)device.setVfResources(s, Resources{});
    spare.clear();
    return device.setVfResources(vf, r);
}

constexpr const char* kKind = "provision-vf";
constexpr const char* kStepWrite = "write-vf-resources";

using Provisioned = DesiredStateRepository::Provisioned;
using provisioning_payload::decodeOne;
using provisioning_payload::kBatchKind;
using provisioning_payload::encodeOne;


}  // namespace

std::string ProvisionService::Payload::encode() const {
    PayloadWriter w;
    w.add("vf", vf);
    encodeOne(w, "next_", next ? next : std::optional<Provisioned>(Provisioned{}));
    encodeOne(w, "previous_", previous);
    return w.str();
}

Result<ProvisionService::Payload> ProvisionService::Payload::decode(const std::string& text) {
    constexpr const char* what = "provision-vf journal payload";
    auto kv = text::parseKeyValues(text, what);
    if (!kv) return std::move(kv).error();
    Payload p;
    auto vf = text::requireUnsigned(*kv, "vf", what);
    if (!vf || *vf > 65535) return makeError(Errc::MalformedData, std::string(what) + ": bad vf");
    p.vf = static_cast<unsigned>(*vf);
    auto next = decodeOne(*kv, "next_", what);
    if (!next) return std::move(next).error();
    // Always written (an unprovisioning as the empty provisioning): missing means damaged.
    if (!*next) return makeError(Errc::MalformedData, std::string(what) + ": no next_ provisioning");
    p.next = *next;
    auto previous = decodeOne(*kv, "previous_", what);
    if (!previous) return std::move(previous).error();
    p.previous = *previous;
    return p;
}

std::vector<std::string> ProvisionService::kinds() const { return {kKind, kBatchKind}; }

Oversubscription ProvisionService::policy(const std::string& cardKey) const { return d_.policies.of(cardKey); }

Result<void> ProvisionService::admit(const CardSnapshot& card, unsigned vf, const Resources& want, const std::string& what) const {
    if (auto ok = requireProvisionable(card, what); !ok) return ok;
    Usage held, asked;
    std::string holders;
    for (const auto& other : card.vfs) {
        if (other.index == vf || !other.resources) continue;
        held.add(*other.resources);
        if (other.resources->computeUnits) holders += (holders.empty() ? "" : ", ") + std::to_string(other.index);
    }
    asked.add(want);
    const Oversubscription policy = d_.policies.of(card.info.key);
    if (auto refusal = exceeds(Limits::of(*card.capacity, policy), policy, held, asked))
        return makeError(Errc::NoSpace, what + ": " + *refusal + (holders.empty() ? "" : " (VFs " + holders + " hold the rest; unprovision some first)"));
    if (want.engines > card.capacity->engines)
        return makeError(Errc::NoSpace, what + ": needs " + std::to_string(want.engines) + " engines, the card has " + std::to_string(card.capacity->engines));
    return {};
}

Result<void> ProvisionService::withinQuota(const std::string& cardKey, unsigned vf, const Provisioned& next) {
    return checkQuota(d_.quotas, next.tenant, cardKey, vf, next.resources);
}

ProvisionService::Fit ProvisionService::fit(const CardSnapshot& card, const Profile& profile) const {
    Fit f;
    if (!card.capacity) {
        f.never = "the card reports no capacity (generic mode)";
        return f;
    }
    f.shape = profile.on(*card.capacity, &f.never);
    if (!f.shape) return f;
    Usage held;
    for (const auto& vf : card.vfs)
        if (vf.resources) held.add(*vf.resources);
    const uint64_t more = howManyMore(Limits::of(*card.capacity, d_.policies.of(card.info.key)), held, *f.shape);
    f.more = static_cast<unsigned>(std::min<uint64_t>(more, UINT32_MAX));
    return f;
}

void ProvisionService::provision(const VfRef& ref, const std::string& profileName, const std::string& tenant, Done done) {
    if (ref.card >= d_.inventory.size()) return done(makeError(Errc::NotFound, "no card " + std::to_string(ref.card)));
    const CardSnapshot& card = d_.inventory.snapshot(ref.card);
    const std::string what = card.info.vfLabel(ref.vf) + ": provision with profile '" + profileName.substr(0, 40) + "'";
    const Profile* profile = findProfile(profiles_, profileName);
    if (!profile) {
        std::string names;
        for (const auto& p : profiles_) names += (names.empty() ? "" : ", ") + p.name;
        return done(makeError(Errc::NotFound, what + ": no such profile (there are: " + names + ")"));
    }
    if (!tenant.empty() && !validTenantName(tenant))
        return done(makeError(Errc::InvalidArgument, what + ": '" + tenant.substr(0, 64) + "' is not a tenant name (letters, digits, '-', '_' and '.', at most 64)"));
    if (auto ok = requireProvisionable(card, what); !ok) return done(std::move(ok).error());
    std::string never;
    auto resources = profile->on(*card.capacity, &never);
    if (!resources) return done(makeError(Errc::NoSpace, what + ": the profile never fits this card: " + never));
    change(ref, Provisioned{profile->name, tenant, *resources}, what, std::move(done));
}

void ProvisionService::unprovision(const VfRef& ref, Done done) {
    if (ref.card >= d_.inventory.size()) return done(makeError(Errc::NotFound, "no card " + std::to_string(ref.card)));
    change(ref, std::nullopt, d_.inventory.info(ref.card).vfLabel(ref.vf) + ": unprovision", std::move(done));
}

void ProvisionService::change(const VfRef& ref, std::optional<Provisioned> next, const std::string& what, Done done) {
    const CardSnapshot& card = d_.inventory.snapshot(ref.card);
    const CardInfo info = card.info;
    if (card.lost) return done(makeError(Errc::DeviceLost, what + ": the device does not answer"));
    if (ref.vf >= card.vfs.size())
        return done(makeError(Errc::NotFound, what + ": the card has no VF " + std::to_string(ref.vf) + " (" + std::to_string(card.vfs.size()) + " enabled)"));
    const VfSnapshot& vf = card.vfs[ref.vf];
    if (vfTakenByConsumer(vf)) return done(makeError(Errc::InvalidState, what + ": " + vfioBindingText(vf) + "; release it first"));
    if (next && vf.quarantined())
        return done(makeError(Errc::InvalidState, what + ": the VF is quarantined (" + vf.quarantineReason() + "); aismi vf unquarantine releases it"));
    if (vf.state() == VfState::Running)
        return done(makeError(Errc::Busy, what + ": a workload runs on the VF; its resources cannot move under it"));
    const Resources want = next ? next->resources : Resources{};
    if (next)
        if (auto ok = admit(card, ref.vf, want, what); !ok) return done(std::move(ok).error());
    if (auto claimed = d_.changes.begin(info.key, ref.vf, what); !claimed) return done(std::move(claimed).error());
    // Desired state and the journal entry first, in one transaction.
    Payload payload{ref.vf, next, std::nullopt};
    int64_t operation = 0;
    handover::Mark mark = handover::Mark::None;
    auto planned = d_.db.transaction([&]() -> Result<void> {
        // The quota is counted and the row written in this one transaction (on the loop): two
        // requests can never both take a tenant's last unit.
        if (next)
            if (auto q = withinQuota(info.key, ref.vf, *next); !q) return q;
        auto previous = d_.desired.provisioned(info.key, ref.vf);
        if (!previous) return std::move(previous).error();
        payload.previous = *previous;
        // Its hands change (another tenant or profile, or emptied): marked for a scrub here,
        // scrubbed right after the write, so nobody gets what the last one left (handover.hpp).
        auto handed = handover::markIfHandedOn(d_.scrubMarks, info.key, ref.vf, *previous, next);
        if (!handed) return std::move(handed).error();
        mark = *handed;
        if (auto w = d_.desired.setProvisioned(info.key, ref.vf, next ? *next : Provisioned{}); !w) return w;
        auto op = d_.journal.begin(kKind, info.key, payload.encode(), kStepWrite);
        if (!op) return std::move(op).error();
        operation = *op;
        return {};
    });
    if (!planned) {
        d_.changes.end(info.key, ref.vf);
        return done(std::move(planned).error().context(what));
    }
    d_.poller.reannotate(ref.card);  // the new profile and tenant show from the commit on
    auto device = d_.inventory.device(ref.card);
    const unsigned index = ref.vf, cardIndex = ref.card;
    // Filled on the strand before the write, read on the loop after it.
    auto scrubs = std::make_shared<std::map<unsigned, Result<std::string>>>();
    d_.executor.runOnCard<void>(
        info.key,
        [device, fs = &d_.inventory.fs(), index, want,
         targets = mark != handover::Mark::None ? scrubTargets(ref.card, {ref.vf}) : std::map<unsigned, PciAddress>{}, scrubs]() -> Result<void> {
            // The write first: a device that refuses it (a workload started since the last
            // poll) keeps its VF as it was, and its workload; then the reset and scrub.
            if (auto w = device->setVfResources(index, want); !w) return w;
            for (const auto& [vf, address] : targets) scrubs->emplace(vf, handover::resetAndScrub(device, *fs, vf, address, false));
            return {};
        },
        [this, info, cardIndex, index, payload, operation, what, mark, scrubs, done = std::move(done)](Result<void> outcome) mutable {
            Result<void> scrub = scrubbed(info, *scrubs);
            if (!outcome) outcome = std::move(outcome).error().context(what);
            // The device has the outcome and desired state says it (or goes back): an end the
            // store refuses keeps the VF claimed until it takes it, and changes neither.
            auto finished = d_.db.recordEnd(
                what,
                [this, key = info.key, index, payload, mark, operation, outcome]() -> Result<void> {
                    if (!outcome) {
                        auto r = payload.previous ? d_.desired.setProvisioned(key, index, *payload.previous) : d_.desired.clearProvisioned(key, index);
                        if (!r) return r;
                        if (auto m = handover::clearIfAdded(d_.scrubMarks, key, index, mark); !m) return m;
                    }
                    return d_.journal.finish(operation, outcome ? "ok" : "failed: " + outcome.error().message);
                },
                [this, key = info.key, index] { d_.changes.end(key, index); });
            if (!finished) d_.changes.waitForRecord(info.key, index, finished.error());
            if (!outcome) d_.poller.reannotate(cardIndex);  // put back: show it put back
            d_.events.publish(Notice{EventType::Provision, outcome ? Severity::Info : Severity::Warning, info.vfLabel(index),
                                     outcome ? (payload.next ? "provisioned with profile " + payload.next->profile +
                                                                   (payload.next->tenant.empty() ? "" : " for tenant " + payload.next->tenant) + " (" +
                                                                   shapeText(payload.next->resources) + ")"
                                                             : "unprovisioned")
                                             : outcome.error().message,
                                     cardIndex, index});
            if (outcome && !scrub) outcome = std::move(scrub).error();  // done, but the VF is out of use: the caller hears it
            d_.poller.refresh(cardIndex, [this, key = info.key, index, outcome, recorded = bool(finished), done = std::move(done)] {
                if (recorded) d_.changes.end(key, index);
                done(outcome);
            });
        });
}

std::map<unsigned, PciAddress> ProvisionService::scrubTargets(unsigned card, const std::set<unsigned>& vfs) const {
    std::map<unsigned, PciAddress> out;
    const CardSnapshot& snapshot = d_.inventory.snapshot(card);
    for (unsigned vf : vfs)
        if (vf < snapshot.vfs.size())
            if (auto address = PciAddress::parse(snapshot.vfs[vf].pciAddress)) out.emplace(vf, *address);
    return out;
}

Result<void> ProvisionService::scrubbed(const CardInfo& info, const std::map<unsigned, Result<std::string>>& outcomes) {
    Result<void> first;
    for (const auto& [vf, outcome] : outcomes) {
        Result<void> cleared = outcome ? d_.scrubMarks.markClean(info.key, vf) : Result<void>();
        const bool clean = outcome && cleared;
        d_.events.publish(Notice{EventType::Scrub, clean ? Severity::Info : Severity::Warning, info.vfLabel(vf),
                                 clean ? *outcome + " before the VF changes hands (its provisioning changed)"
                                       : "scrub failed: " + (outcome ? cleared.error().message : outcome.error().message) +
                                             "; the VF stays out of use until a scrub succeeds (aismid tries again by itself; aismi vf release tries now)",
                                 info.index, vf});
        if (!clean && first) first = handover::madeButNotScrubbed(info.vfLabel(vf), "provisioned", outcome ? cleared.error() : outcome.error());
    }
    return first;
}

std::map<unsigned, DesiredStateRepository::Provisioned> ProvisionService::provisionedVfs(const std::string& cardKey) {
    auto rows = d_.desired.provisionedVfs(cardKey);
    return rows ? *rows : std::map<unsigned, Provisioned>{};
}

Result<std::string> ProvisionService::recover(const JournalRow& entry) {
    if (entry.kind == kBatchKind) return recoverBatch(entry);
    const std::string what = "provision a VF of " + entry.target;
    auto payload = Payload::decode(entry.payload);
    std::shared_ptr<Card> device = d_.inventory.deviceByKey(entry.target);
    if (!payload || !device) return abandon(d_.journal, entry, what, !payload ? payload.error().message : kCardGoneAfterRestart);
    const Resources want = payload->next ? payload->next->resources : Resources{};
    auto actual = device->vfResources(payload->vf);
    const std::string vfWhat = "VF " + std::to_string(payload->vf) + " of " + entry.target;
    if (actual && *actual == want) {
        if (auto r = d_.journal.finish(entry.id, "ok (confirmed after restart)"); !r) return std::move(r).error();
        return vfWhat + ": provisioning " + kFoundUnfinished + "; the device has it";
    }
    // The device did not take it (one sysfs write: it has the old resources or the new ones):
    // desired state goes back to what the device has.
    auto r = d_.db.transaction([&]() -> Result<void> {
        auto back = payload->previous ? d_.desired.setProvisioned(entry.target, payload->vf, *payload->previous)
                                      : d_.desired.clearProvisioned(entry.target, payload->vf);
        if (!back) return back;
        return d_.journal.finish(entry.id, "rolled back after restart: the device did not take it");
    });
    if (!r) return std::move(r).error();
    return vfWhat + ": provisioning " + kFoundUnfinished + "; the device did not take it, so it is rolled back";
}

std::vector<std::string> ProvisionService::applyDesired(unsigned card) {
    std::vector<std::string> log;
    const CardInfo& info = d_.inventory.info(card);
    auto rows = d_.desired.provisionedVfs(info.key);
    if (!rows || rows->empty()) return log;
    auto device = d_.inventory.device(card);
    auto sr = device->sriov();
    if (!sr) return log;
    // Every VF that differs is emptied first (the driver's even split of re-created VFs holds
    // the whole card), then the provisioned ones get their shapes.
    std::vector<std::pair<unsigned, Provisioned>> differing;
    std::vector<unsigned> spare;  // VFs without a profile that hold something (restoreShape)
    for (unsigned vf = 0; vf < sr->numVfs; ++vf)
        if (!rows->count(vf))
            if (auto held = device->vfResources(vf); held && holdsSomething(*held)) spare.push_back(vf);
    for (const auto& [vf, p] : *rows) {
        if (vf >= sr->numVfs) {
            log.push_back(info.vfLabel(vf) + ": provisioned (" + (p.profile.empty() ? "empty" : p.profile) + "), but the card has " +
                          std::to_string(sr->numVfs) + " VFs; left as it is");
            continue;
        }
        auto actual = device->vfResources(vf);
        if (!actual || *actual != p.resources) differing.emplace_back(vf, p);
    }
    for (const auto& [vf, p] : differing)
        if (auto w = device->setVfResources(vf, Resources{}); !w) log.push_back(info.vfLabel(vf) + ": emptying failed: " + w.error().message);
        else if (p.holdsNothing()) log.push_back(info.vfLabel(vf) + ": emptied again");
    for (const auto& [vf, p] : differing) {
        if (p.holdsNothing()) continue;
        auto w = restoreShape(*device, vf, p.resources, spare);
        log.push_back(info.vfLabel(vf) + ": profile " + p.profile + " restored" + (w ? "" : " failed: " + w.error().message));
    }
    return log;
}

std::vector<std::string> ProvisionService::converge() {
    std::vector<std::string> log;
    for (unsigned i = 0; i < d_.inventory.size(); ++i) {
        auto lines = applyDesired(i);
        log.insert(log.end(), lines.begin(), lines.end());
    }
    return log;
}

void ProvisionService::annotate(CardSnapshot& card) {
    auto rows = d_.desired.provisionedVfs(card.info.key);
    if (!rows) return;
    for (const auto& [vf, p] : *rows)
        if (vf < card.vfs.size()) card.vfs[vf].profile = p.profile, card.vfs[vf].tenant = p.tenant;
}

void ProvisionService::watch(unsigned card, const CardSnapshot& now) {
    // A level, checked at every poll (convergeLive compares desired with what the VFs hold).
    if (now.lost || now.vfs.empty() || d_.changes.busy(now.info.key)) return;
    convergeLive(card);
}

namespace {
// The VFs of `s` whose resources differ from their provisioning `rows`.
std::vector<unsigned> differingVfs(const CardSnapshot& s, const std::map<unsigned, DesiredStateRepository::Provisioned>& rows) {
    std::vector<unsigned> out;
    for (const auto& [vf, p] : rows)
        if (vf < s.vfs.size() && s.vfs[vf].resources != std::optional<Resources>(p.resources)) out.push_back(vf);
    return out;
}
}  // namespace

std::vector<unsigned> ProvisionService::unrestoredVfs(unsigned card) {
    const CardSnapshot& s = d_.inventory.snapshot(card);
    auto rows = d_.desired.provisionedVfs(s.info.key);
    return rows ? differingVfs(s, *rows) : std::vector<unsigned>{};
}

void ProvisionService::convergeLive(unsigned card) {
    const CardSnapshot& s = d_.inventory.snapshot(card);
    if (s.lost || s.vfs.empty() || d_.changes.busy(s.info.key)) return;
    auto rows = d_.desired.provisionedVfs(s.info.key);  // one read of the store per poll
    if (!rows) return;
    const std::vector<unsigned> differing = differingVfs(s, *rows);
    if (differing.empty()) return restores_.settled(s.info.key);
    if (!restores_.attempt(s.info.key) || !d_.changes.begin(s.info.key, s.info.label() + ": restore provisioning")) return;
    // The plan is read here, on the loop; the writes run on the card's strand.
    struct Write {
        unsigned vf;
        Resources r;
        bool emptying;
    };
    std::vector<Write> writes;
    // Every VF that differs is emptied first (re-created VFs hold the driver's even split of
    // the whole card), then the provisioned ones get their shapes.
    for (unsigned vf : differing) writes.push_back({vf, Resources{}, true});
    const size_t emptied = writes.size();
    for (unsigned vf : differing)
        if (const Provisioned& p = rows->at(vf); !p.holdsNothing()) writes.push_back({vf, p.resources, false});
    // VFs without a profile that hold something (the driver's share), should room be needed.
    std::vector<unsigned> spare;
    for (const auto& vf : s.vfs)
        if (!rows->count(vf.index) && vf.resources && holdsSomething(*vf.resources)) spare.push_back(vf.index);
    const CardInfo info = s.info;
    d_.events.publish(Notice{EventType::Provision, Severity::Warning, info.label(), "the VFs lost their provisioning; restoring " + text::counted(emptied, "VF"), card});
    d_.executor.runOnCard<std::vector<std::string>>(
        info.key,
        [device = d_.inventory.device(card), writes, spare, info]() mutable -> Result<std::vector<std::string>> {
            std::vector<std::string> failed;
            for (const auto& w : writes) {
                auto r = w.emptying ? device->setVfResources(w.vf, w.r) : restoreShape(*device, w.vf, w.r, spare);
                if (!r) failed.push_back(info.vfLabel(w.vf) + ": " + r.error().message);
            }
            return failed;
        },
        [this, card, info](Result<std::vector<std::string>> failed) {
            if (!failed) failed = std::vector<std::string>{failed.error().message};
            for (const auto& f : *failed) d_.events.publish(Notice{EventType::Provision, Severity::Warning, info.label(), "restoring provisioning failed: " + f, card});
            if (failed->empty()) {
                d_.events.publish(Notice{EventType::Provision, Severity::Info, info.label(), "provisioning restored", card});
                restores_.settled(info.key);  // only failures space out the next attempt
            }
            d_.poller.refresh(card, [this, key = info.key] { d_.changes.end(key); });
        });
}

void ProvisionService::reload(const DaemonConfig& config) {
    auto profiles = loadProfiles(config.profilesDir);
    if (!profiles) return log::error("reload: " + profiles.error().message + "; keeping the profiles loaded before");
    log::info("reload: " + std::to_string(profiles->size()) + " VF profiles");
    setProfiles(std::move(*profiles));
}

}  // namespace aismi
