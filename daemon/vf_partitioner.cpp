#include "vf_partitioner.hpp"

#include "snapshot.hpp"
#include "state_store.hpp"
#include "../libmgmt/text.hpp"

#include <aismi/card.hpp>

#include <algorithm>

namespace aismi {

namespace {
constexpr const char* kKind = "set-vf-count";
}

Result<VfPartitioner::Plan> VfPartitioner::plan(const CardSnapshot& card, unsigned count) {
    const std::string where = "card " + std::to_string(card.index) + " (" + card.pciAddress + "): set VF count to " + std::to_string(count);
    if (card.health == Health::Lost) return makeError(Errc::DeviceLost, where + ": the device does not answer");
    if (card.vfTotal == 0) return makeError(Errc::NotSupported, where + ": the device has no SR-IOV capability");
    if (count > card.vfTotal)
        return makeError(Errc::OutOfRange, where + ": the card supports at most " + std::to_string(card.vfTotal) + " VFs");
    if (card.vfEnabled() != 0 && count != 0 && count != card.vfEnabled())
        return makeError(Errc::InvalidState, where + ": " + std::to_string(card.vfEnabled()) +
                                                 " VFs are enabled and the kernel changes the count only from 0; disable VFs first");
    Plan p{0, card.serial, count, std::nullopt};
    auto r = store_.transaction([&]() -> Result<void> {
        auto previous = store_.desiredVfCount(card.serial);
        if (!previous) return std::move(previous).error();
        p.previousDesired = *previous;
        if (auto w = store_.setDesiredVfCount(card.serial, count); !w) return w;
        auto op = store_.beginOperation(kKind, card.serial, std::to_string(count));
        if (!op) return std::move(op).error();
        p.operation = *op;
        return store_.advanceOperation(p.operation, "write-sriov-numvfs");
    });
    if (!r) return std::move(r).error().context(where);
    return p;
}

Result<void> VfPartitioner::apply(Card& card, unsigned count) { return card.setVfCount(count); }

Result<void> VfPartitioner::finish(const Plan& plan, const Result<void>& outcome) {
    return store_.transaction([&]() -> Result<void> {
        if (!outcome) {
            // The device did not take the change: the desired state goes back to what it was.
            if (plan.previousDesired) {
                if (auto r = store_.setDesiredVfCount(plan.serial, *plan.previousDesired); !r) return r;
            }
        }
        return store_.finishOperation(plan.operation, outcome ? "ok" : "failed: " + outcome.error().message);
    });
}

std::vector<std::string> VfPartitioner::reconcile(std::vector<Card>& cards, const std::vector<CardSnapshot>& identities) {
    std::vector<std::string> log;
    const auto cardBySerial = [&](const std::string& serial) -> Card* {
        for (size_t i = 0; i < identities.size(); ++i)
            if (identities[i].serial == serial) return &cards[i];
        return nullptr;
    };
    // 1. Operations a crash interrupted: the device is the truth about what happened.
    std::vector<std::string> interrupted;
    auto open = store_.unfinishedOperations();
    if (!open) return {"cannot read the operation journal: " + open.error().message};
    for (const auto& op : *open) {
        if (op.kind != kKind) {
            (void)store_.finishOperation(op.id, "abandoned: unknown operation after restart");
            continue;
        }
        Card* card = cardBySerial(op.target);
        const auto wanted = text::parseUnsigned(op.payload, "journal");
        if (!card || !wanted) {
            (void)store_.finishOperation(op.id, "abandoned: card " + op.target + " is not present after restart");
            log.push_back("set VF count on " + op.target + ": interrupted by a restart; the card is gone, abandoned");
            continue;
        }
        auto actual = card->sriov();
        if (actual && actual->numVfs == *wanted) {
            (void)store_.finishOperation(op.id, "ok (confirmed after restart)");
            log.push_back("set VF count on " + op.target + " to " + op.payload + ": interrupted by a restart, the device has it");
        } else {
            (void)store_.finishOperation(op.id, "interrupted by a restart; reconciled from desired state");
            interrupted.push_back(op.target);
            log.push_back("set VF count on " + op.target + " to " + op.payload + ": interrupted by a restart, reapplying");
        }
    }
    // 2. Desired counts the devices do not have (VFs do not survive a host reboot).
    for (size_t i = 0; i < cards.size(); ++i) {
        const std::string& serial = identities[i].serial;
        auto desired = store_.desiredVfCount(serial);
        auto actual = cards[i].sriov();
        if (!desired || !*desired || !actual || actual->numVfs == **desired) continue;
        const std::string what = "card " + std::to_string(i) + " (" + serial + "): desired " + std::to_string(**desired) +
                                 " VFs, the device has " + std::to_string(actual->numVfs);
        const bool wasInterrupted = std::find(interrupted.begin(), interrupted.end(), serial) != interrupted.end();
        if (actual->numVfs != 0 && !wasInterrupted) {
            // VFs someone else created may be assigned to VMs: replacing them is an operator's call.
            log.push_back(what + "; left as it is (set outside aismid; 'aismi vf disable' first to change it)");
            continue;
        }
        if (actual->numVfs != 0 && **desired != 0) {
            if (auto off = cards[i].setVfCount(0); !off) {
                log.push_back(what + "; restoring failed: " + off.error().message);
                continue;
            }
        }
        auto r = cards[i].setVfCount(**desired);
        log.push_back(what + (r ? "; restored" : "; restoring failed: " + r.error().message));
    }
    return log;
}

}  // namespace aismi
