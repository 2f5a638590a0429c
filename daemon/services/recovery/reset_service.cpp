#include "reset_service.hpp"

#include "card_changes.hpp"
#include "device_executor.hpp"
#include "event_bus.hpp"
#include "event_repository.hpp"
#include "events.hpp"
#include "inventory.hpp"
#include "journal_repository.hpp"
#include "poller.hpp"
#include "snapshot.hpp"

#include <aismi/card.hpp>
#include <aismi/pci_function.hpp>

#include <optional>

namespace aismi {
namespace {

constexpr const char* kKind = "reset-vf";
constexpr const char* kStepReset = "function-level-reset";


std::string ms(std::chrono::microseconds us) {
    const auto tenths = (us.count() + 50) / 100;
    return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " ms";
}

}  // namespace

std::vector<std::string> ResetService::kinds() const { return {kKind}; }

void ResetService::resetVf(const VfRef& ref, bool force, Done done) {
    if (ref.card >= d_.inventory.size()) return done(makeError(Errc::NotFound, "no card " + std::to_string(ref.card)));
    const CardSnapshot& card = d_.inventory.snapshot(ref.card);
    const CardInfo info = card.info;
    const std::string what = info.vfLabel(ref.vf) + ": reset";
    if (card.lost) return done(makeError(Errc::DeviceLost, what + ": the device does not answer"));
    if (ref.vf >= card.vfs.size())
        return done(makeError(Errc::NotFound, what + ": the card has no VF " + std::to_string(ref.vf) + " (" + std::to_string(card.vfs.size()) + " enabled)"));
    const VfSnapshot& vf = card.vfs[ref.vf];
    if (!force && vf.state() == VfState::Running)
        return done(makeError(Errc::Busy, what + ": a workload runs on the VF and would be lost; --force resets it anyway"));
    if (!force && vf.driver == "vfio-pci")
        return done(makeError(Errc::InvalidState, what + ": the VF is bound to vfio-pci (assigned to a VM?); --force resets it anyway"));
    // Mid-operation (provisioning, another reset, a VF count change): refused, not queued.
    if (auto claimed = d_.changes.begin(info.key, ref.vf, what); !claimed) return done(std::move(claimed).error());
    PayloadWriter payload;
    payload.add("vf", ref.vf).add("address", vf.pciAddress);
    auto operation = d_.journal.begin(kKind, info.key, payload.str(), kStepReset);
    if (!operation) {
        d_.changes.end(info.key, ref.vf);
        return done(std::move(operation).error().context(what));
    }
    struct Work {
        std::chrono::microseconds took{0};
        std::string provisioning = "kept";
    };
    const unsigned index = ref.vf, cardIndex = ref.card;
    d_.executor.runOnCard<Work>(
        info.key,
        [device = d_.inventory.device(ref.card), index, vendor = card.capacity.has_value()]() -> Result<Work> {
            Work w;
            std::optional<Resources> before;
            if (vendor)
                if (auto r = device->vfResources(index)) before = *r;
            const auto start = std::chrono::steady_clock::now();
            if (auto r = device->resetVf(index); !r) return std::move(r).error();  // FLR; identity checked after it
            w.took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
            if (!before) return w;
            // Provisioning is held by the PF and survives an FLR; should a device lose it, the
            // VF gets it back before it is handed on.
            auto after = device->vfResources(index);
            if (after && *after == *before) return w;
            if (auto r = device->setVfResources(index, *before); !r)
                return std::move(r).error().context("the VF lost its provisioning in the reset, and putting it back failed");
            w.provisioning = "lost in the reset and put back";
            return w;
        },
        [this, info, cardIndex, index, id = *operation, what, done = std::move(done)](Result<Work> work) mutable {
            Result<Outcome> outcome = work ? Result<Outcome>(Outcome{work->took, work->provisioning})
                                           : Result<Outcome>(std::move(work).error().context(what));
            if (auto r = d_.journal.finish(id, outcome ? "ok in " + ms(outcome->took) : "failed: " + outcome.error().message); !r && outcome)
                outcome = std::move(r).error();
            d_.events.publish(Notice{EventType::Reset, outcome ? Severity::Info : Severity::Warning, info.vfLabel(index),
                                     outcome ? "function-level reset in " + ms(outcome->took) + "; provisioning " + outcome->provisioning
                                             : outcome.error().message,
                                     cardIndex, index});
            d_.poller.refresh(cardIndex, [this, key = info.key, index, outcome, done = std::move(done)] {
                d_.changes.end(key, index);
                done(outcome);
            });
        });
}

Result<std::string> ResetService::recover(const JournalRow& entry) {
    // An FLR completes in the hardware whether or not aismid saw it: what is left to do is to
    // see whether the VF answers as itself again, and say so.
    auto kv = text::parseKeyValues(entry.payload, "reset-vf journal payload");
    auto vf = kv ? text::requireUnsigned(*kv, "vf", "reset-vf journal payload") : Result<uint64_t>(kv.error());
    const auto card = d_.inventory.findByKey(entry.target);
    std::string outcome;
    if (!vf || *vf > 65535) outcome = "abandoned: the entry is damaged";
    else if (!card) outcome = "abandoned: the card is not present after restart";
    else {
        auto address = d_.inventory.device(*card)->vfAddress(static_cast<unsigned>(*vf));
        auto config = address ? PciFunction(d_.inventory.fs(), *address).config() : Result<ConfigSpace>(address.error());
        outcome = config ? "finished: the VF answers after the restart" : "the VF does not answer after the restart: " + config.error().message;
    }
    if (auto r = d_.journal.finish(entry.id, outcome); !r) return std::move(r).error();
    return "a reset of VF " + (vf ? std::to_string(*vf) : std::string("?")) + " of " + entry.target + " was interrupted by a restart; " + outcome;
}

}  // namespace aismi
