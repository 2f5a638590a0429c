#include "handover.hpp"

#include "assignment_repository.hpp"
#include "vfio_binding.hpp"

#include <aismi/card.hpp>
#include <aismi/fs.hpp>
#include <aismi/pci_function.hpp>

#include <algorithm>

namespace aismi::handover {

std::string changeOfHands(const std::optional<Provisioned>& before, const std::optional<Provisioned>& after) {
    if (!before || before->holdsNothing()) return "";
    const std::string whose = before->tenant.empty() ? "profile " + before->profile : "tenant " + before->tenant + "'s " + before->profile;
    if (!after || after->holdsNothing()) return whose + " unprovisioned";
    if (after->tenant != before->tenant)
        return whose + " provisioned for " + (after->tenant.empty() ? std::string("no tenant") : "tenant " + after->tenant);
    if (after->profile != before->profile) return whose + " reprovisioned as " + after->profile;
    return "";
}

Result<Mark> markIfHandedOn(AssignmentRepository& marks, const std::string& cardKey, unsigned vf, const std::optional<Provisioned>& before,
                            const std::optional<Provisioned>& after) {
    auto pending = marks.dirty();
    if (!pending) return std::move(pending).error();
    if (std::any_of(pending->begin(), pending->end(), [&](const auto& p) { return p.cardKey == cardKey && p.vf == vf; })) return Mark::Pending;
    const std::string why = changeOfHands(before, after);
    if (why.empty()) return Mark::None;
    if (auto r = marks.markDirty(cardKey, vf, why); !r) return std::move(r).error();
    return Mark::Added;
}

Error madeButNotScrubbed(const std::string& what, const std::string& made, const Error& cause) {
    return makeError(cause.code, what + ": " + made + ", but its reset and scrub failed (" + cause.message +
                                     "): it stays out of use until a scrub succeeds (aismid tries again by itself; aismi vf release tries now)");
}

Result<void> clearIfAdded(AssignmentRepository& marks, const std::string& cardKey, unsigned vf, Mark mark) {
    return mark == Mark::Added ? marks.markClean(cardKey, vf) : Result<void>();
}

Result<std::string> resetAndScrub(const std::shared_ptr<Card>& card, Fs& fs, unsigned vf, const PciAddress& address, bool toHost) {
    // In place, the device is asked first: a workload that started since the last poll is not
    // wiped under whoever runs it.
    if (!toHost && card->hasVendorAbi())
        if (auto status = card->vfStatus(vf); status && status->state == VfState::Running)
            return makeError(Errc::Busy, "a workload runs on the VF; it is not reset under it");
    PciFunction fn(fs, address);
    if (auto r = fn.functionLevelReset(); !r) return std::move(r).error();
    std::string done = "reset (FLR)";
    if (card->hasVendorAbi()) {
        if (auto r = card->scrubVf(vf); !r) return std::move(r).error();
        done += " and scrubbed";
    } else {
        done += "; a generic device has no vendor scrub, so its memory is only as clean as its FLR leaves it";
    }
    if (toHost) {
        auto driver = vfio::bindToHost(fs, address);
        if (!driver) return std::move(driver).error();
        done += ", back to " + (driver->empty() ? std::string("no driver") : *driver);
    }
    return done;
}

}  // namespace aismi::handover
