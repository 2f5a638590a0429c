// Isolation between tenants, the one rule (docs/architecture.md, "A VF changes hands only reset
// and scrubbed"): whenever a VF's tenant or consumer changes, or it is emptied, it is reset
// (FLR) and its memory scrubbed before anyone can use it again. The mark that it waits for that
// (vf_scrub_pending) is written in the transaction that changes its hands, cleared once the
// scrub is done, and while it stands nobody holds, assigns or binds the VF to vfio-pci (a failed
// scrub keeps it out of use, a health warning; aismid tries again by itself, at once and then
// after 1, 2, 4 ... 60 s: AssignmentService::watch; so do `aismi vf release` and every start).
//
// Where hands change, and who applies this rule there:
//  - a libvirt domain or a holder lets the VF go, or its domain stops: AssignmentService;
//  - its provisioning changes (another tenant or profile, emptied; a layout too): ProvisionService;
//  - kubelet starts a container on it (PreStartContainer) or no pod uses it any more
//    (PodResources): aismi-device-plugin, through Hold with "scrub" and through Release.
#pragma once

#include "desired_state_repository.hpp"

#include <aismi/error.hpp>

#include <memory>
#include <optional>
#include <string>

namespace aismi {

class AssignmentRepository;
class Card;
class Fs;
struct PciAddress;

namespace handover {

using Provisioned = DesiredStateRepository::Provisioned;

/// Whether going from `before` to `after` hands the VF on: it held something, and now holds
/// nothing or holds it for another tenant or with another profile. Why, for the scrub mark
/// and the event ("" when it does not).
std::string changeOfHands(const std::optional<Provisioned>& before, const std::optional<Provisioned>& after);

/// Whether a VF must be scrubbed before it is used: no; yes, marked by this change; yes, still
/// marked from before (a scrub that failed, or a crash before it).
enum class Mark { None, Added, Pending };
/// In the caller's transaction: marks `vf` for a scrub when `before` -> `after` changes its
/// hands. A change that is then rolled back takes an Added mark back (clearIfAdded).
Result<Mark> markIfHandedOn(AssignmentRepository& marks, const std::string& cardKey, unsigned vf, const std::optional<Provisioned>& before,
                            const std::optional<Provisioned>& after);

/// In the caller's transaction, for a change that did not happen after all: the mark it added goes.
Result<void> clearIfAdded(AssignmentRepository& marks, const std::string& cardKey, unsigned vf, Mark mark);

/// The answer to a change that stands although the scrub after it failed ("provisioned",
/// "released"): the caller hears both — the change was made, and the VF is out of use.
Error madeButNotScrubbed(const std::string& what, const std::string& made, const Error& cause);

/// FLR, the vendor scrub, then (`toHost`) back to the host driver. Blocking: the card's strand.
/// Returns what was done, for the event. In place (not `toHost`: a VF that stays with its
/// holder, its stopped domain, its new provisioning), a VF the device says runs a workload is
/// not reset: Busy, and its mark stays.
Result<std::string> resetAndScrub(const std::shared_ptr<Card>& card, Fs& fs, unsigned vf, const PciAddress& address, bool toHost);

}  // namespace handover
}  // namespace aismi
