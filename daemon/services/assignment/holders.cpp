// VFs held by a consumer that is not a libvirt domain: kubelet, through aismi-device-plugin's
// Allocate. The record is written before the VF is bound to vfio-pci (binding again is
// harmless, so a crash in between leaves nothing to roll back: the next hold, or a release,
// finishes it). A held VF is neither assigned, bound elsewhere, adopted from a domain nor held
// by another holder; releasing it resets and scrubs it and returns it to its host driver.
#include "assignment_internal.hpp"
#include "handover.hpp"

#include "assignment_repository.hpp"
#include "card_changes.hpp"
#include "database.hpp"
#include "events.hpp"
#include "inventory.hpp"
#include "vfio_binding.hpp"

namespace aismi {

using namespace assignment_detail;

bool AssignmentService::validHolderName(const std::string& name) {
    if (name.empty() || name.size() > 64) return false;
    return std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'; });
}

void AssignmentService::hold(const VfRef& ref, const std::string& holder, Done done) {
    if (!validHolderName(holder))
        return done(makeError(Errc::InvalidArgument, "'" + holder.substr(0, 80) + "' is not a holder name (1 to 64 letters, digits, '-', '_', '.')"));
    if (ref.card >= d_.inventory.size()) return done(makeError(Errc::NotFound, "no card " + std::to_string(ref.card)));
    const CardSnapshot& card = d_.inventory.snapshot(ref.card);
    const CardInfo info = card.info;
    const std::string what = "hold " + info.vfLabel(ref.vf) + " for " + holder;
    if (card.lost) return done(makeError(Errc::DeviceLost, what + ": the device does not answer"));
    if (ref.vf >= card.vfs.size())
        return done(makeError(Errc::NotFound, what + ": the card has no VF " + std::to_string(ref.vf) + " (" + std::to_string(card.vfs.size()) + " enabled)"));
    const VfSnapshot& vf = card.vfs[ref.vf];
    const Key key{info.key, ref.vf};
    if (auto row = rows_.find(key); row != rows_.end())
        return done(makeError(Errc::InvalidState, what + ": the VF is assigned to domain '" + row->second.domain + "'"));
    const auto h = held_.find(key);
    if (h != held_.end() && h->second != holder) return done(makeError(Errc::InvalidState, what + ": the VF is held by " + h->second));
    const bool again = h != held_.end();
    if (!again) {
        if (dirty_.count(key)) return done(makeError(Errc::InvalidState, what + ": the VF waits for its memory to be scrubbed (" + dirty_[key] + ")"));
        if (vf.quarantined()) return done(makeError(Errc::InvalidState, what + ": the VF is quarantined (" + vf.quarantineReason() + ")"));
        if (vf.health == Health::Critical || vf.health == Health::Lost)
            return done(makeError(Errc::InvalidState, what + ": the VF is " + std::string(healthName(vf.health))));
        auto provisioned = d_.desired.provisioned(info.key, ref.vf);
        if (!provisioned) return done(std::move(provisioned).error().context(what));
        if (!info.genericMode && (!*provisioned || (*provisioned)->holdsNothing()))
            return done(makeError(Errc::InvalidState, what + ": the VF is not provisioned"));
    }
    auto address = PciAddress::parse(vf.pciAddress);
    if (!address) return done(std::move(address).error().context(what));
    if (again && vf.driver == vfio::kVfioDriver) return done({});
    if (auto claimed = d_.changes.begin(info.key, ref.vf, what); !claimed) return done(std::move(claimed).error());
    if (!again) {
        if (auto w = d_.assignments.hold(info.key, ref.vf, holder); !w) {
            d_.changes.end(info.key, ref.vf);
            return done(std::move(w).error().context(what));
        }
        reload();
    }
    Fs* fs = &d_.inventory.fs();
    onDevice<unsigned>(
        info.key, [fs, a = *address]() { return vfio::bindToVfio(*fs, a); },
        [this, info, ref, holder, what, again, done = std::move(done)](Result<unsigned> bound) {
            if (!bound && !again) {
                (void)d_.assignments.unhold(info.key, ref.vf);  // as it was: nobody holds it
                reload();
            }
            if (bound)
                publish(ref.card, ref.vf, EventType::Assignment, Severity::Info, "held by " + holder + ", bound to vfio-pci (IOMMU group " + std::to_string(*bound) + ")");
            Result<void> outcome = bound ? Result<void>() : Result<void>(std::move(bound).error().context(what));
            afterRefresh(ref.card, [this, key = info.key, ref, outcome, done] {
                d_.changes.end(key, ref.vf);
                done(outcome);
            });
        });
}

void AssignmentService::releaseHeld(const VfRef& ref, std::string holder, Done done) {
    const CardSnapshot& card = d_.inventory.snapshot(ref.card);
    const CardInfo info = card.info;
    const std::string what = "release " + info.vfLabel(ref.vf) + " from " + holder;
    auto address = PciAddress::parse(card.vfs[ref.vf].pciAddress);
    if (!address) return done(std::move(address).error().context(what));
    if (auto claimed = d_.changes.begin(info.key, ref.vf, what); !claimed) return done(std::move(claimed).error());
    // Whatever the holder left in the VF's memory goes before anyone else gets it: marked dirty
    // in the same transaction that frees it, clean once the scrub is done.
    if (auto freed = d_.db.transaction([&]() -> Result<void> {
            if (auto u = d_.assignments.unhold(info.key, ref.vf); !u) return u;
            return d_.assignments.markDirty(info.key, ref.vf, "released by " + holder);
        });
        !freed) {
        d_.changes.end(info.key, ref.vf);
        return done(std::move(freed).error().context(what));
    }
    reload();
    auto device = d_.inventory.device(ref.card);
    Fs* fs = &d_.inventory.fs();
    onDevice<std::string>(
        info.key, [device, fs, vf = ref.vf, a = *address] { return handover::resetAndScrub(device, *fs, vf, a, true); },
        [this, info, ref, holder, what, done = std::move(done)](Result<std::string> scrubbed) {
            if (scrubbed) (void)d_.assignments.markClean(info.key, ref.vf);
            reload();
            publish(ref.card, ref.vf, EventType::Assignment, scrubbed ? Severity::Info : Severity::Warning,
                    "released by " + holder + (scrubbed ? ": " + *scrubbed : "; scrub failed: " + scrubbed.error().message + "; the VF stays out of use"));
            Result<void> outcome = scrubbed ? Result<void>() : Result<void>(handover::madeButNotScrubbed(what, "released by " + holder, scrubbed.error()));
            afterRefresh(ref.card, [this, key = info.key, ref, outcome, done] {
                d_.changes.end(key, ref.vf);
                done(outcome);
            });
        });
}

}  // namespace aismi
