// Resetting one VF without touching its neighbours: a function-level reset of that VF only
// (libmgmt narrows the kernel's reset_method to function-local methods for the write, so the
// kernel cannot fall through to a bus reset), refused while the VF is mid-operation, and with
// a workload or a vfio-pci binding only when forced. Journaled before the device is touched;
// afterwards the VF must answer as itself again (config space readable, identity unchanged)
// and hold the provisioning it had (put back and said so if not). Loop thread.
//
// The escalation ladder, and why aismid climbs none of it on its own:
//   1. FLR (PCIe Base Spec 6.6.2, Function Level Reset): resets one function's state and
//      nothing else; a VF's FLR leaves the PF and the sibling VFs running. The only rung used.
//   2. PM reset (D3hot -> D0, PCI PM 1.2 5.4.1, No_Soft_Reset clear): also function-local;
//      libmgmt allows it when the kernel lists it, as the kernel's own fallback for one function.
//   3. Secondary bus reset (PCI-to-PCI Bridge Spec 3.2.5.17): resets every function below the
//      bridge: the PF and all its VFs, every tenant of the card. Never for one VF.
//   4. PF reset / card reset: destroys every VF (SR-IOV 1.1 3.3.3.1: VF Enable cleared). Only
//      `aismi reset` on a whole card, asked for explicitly (resetCard), or the recovery policy
//      when aismid.conf allows escalation (auto-card-reset) and within its budget.
#pragma once

#include "operation_kind.hpp"
#include "service.hpp"

#include <aismi/device_ref.hpp>
#include <aismi/error.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace aismi {

class CardChanges;
struct CardInfo;
class Database;
class DeviceExecutor;
class EventBus;
class Inventory;
class JournalRepository;
class Poller;

inline constexpr const char* kActionReset = "org.aismi.reset";

class ResetService : public ReconcileParticipant, public Service {
public:
    struct Deps {
        JournalRepository& journal;
        Inventory& inventory;
        DeviceExecutor& executor;
        Poller& poller;
        EventBus& events;
        CardChanges& changes;
    };
    explicit ResetService(Deps d) : d_(d) {}

    struct Outcome {
        std::chrono::microseconds took{0};  // the reset, from the write to the VF answering again
        std::string provisioning;           // "kept", or what was put back
    };
    using Done = std::function<void(Result<Outcome>)>;
    /// Resets `vf` (function-level only). `force`: also with a workload on it, or bound to
    /// vfio-pci. `done` runs on the loop once the snapshot shows the VF after the reset.
    void resetVf(const VfRef& vf, bool force, Done done);

    struct CardOutcome {
        std::chrono::microseconds took{0};  // the PF's reset, from the write to the card answering again
        unsigned vfs = 0;                   // VFs enabled after it
    };
    using CardDone = std::function<void(Result<CardOutcome>)>;
    /// Resets the whole card (the PF's function-level reset; every VF with it): only when no VF
    /// is in use (a workload, a tenant, vfio-pci), or with `force`. An event of type
    /// card-reset tells clients before the device is touched; afterwards the card is read
    /// again and `CardReturned` lets the services put its VF count and provisioning back.
    /// With `unrestored` set, `done` runs once they are back (watchRestore), or after
    /// kRestoreWait with a Timeout that names what is still missing.
    void resetCard(unsigned card, bool force, CardDone done);

    /// What of `card` is not yet back as desired after a reset ("2 of 4 VFs", "the provisioning
    /// of VF 1, 3"); "" when nothing. Set by the composition root, which knows the services that
    /// put things back.
    std::function<std::string(unsigned card)> unrestored;
    static constexpr std::chrono::seconds kRestoreWait{20};  // within sd-bus's 25 s call timeout
    /// Called at every poll of `card`: finishes the card resets that waited for it to be restored.
    void watchRestore(unsigned card);

    // Service
    ReconcileParticipant* reconcileParticipant() override { return this; }
    void cardUpdated(const CardUpdated& poll) override { watchRestore(poll.card); }

    // ReconcileParticipant
    Phase phase() const override { return Phase::Quarantine; }
    std::vector<std::string> kinds() const override;
    Result<std::string> recover(const JournalRow& entry) override;
    std::vector<std::string> converge() override { return {}; }

private:
    void startCardReset(unsigned card, const CardInfo& info, unsigned vfs, const std::string& resetMethods, CardDone done);
    /// Puts back the PF reset_method a reset-card entry recorded, if it differs now; what was
    /// done, for the entry's outcome ("" when nothing was).
    std::string restoreResetMethods(unsigned card, const std::string& payload);

    struct AwaitingRestore {
        unsigned card;
        std::chrono::steady_clock::time_point deadline;
        CardOutcome outcome;
        std::string what;
        CardDone done;
    };

    Deps d_;
    std::vector<AwaitingRestore> awaiting_;
};

}  // namespace aismi
