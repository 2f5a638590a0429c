// Recovery policy for hung VFs: a VF that says it is hung, or runs a workload that stopped
// making progress, is reset automatically (function-level, through ResetService) — at most
// `guardResets` times within `guardWindow`; past that guard it is quarantined instead: never
// reset automatically again, refused for provisioning, an event raised, until an operator
// releases it (`aismi vf unquarantine`). When a hung VF's own reset fails, the whole card is
// reset only if the policy allows escalation (off by default), and at most its budget of card
// resets in a window; past it an event says an operator must act. Automatic resets, card
// resets and quarantines are kept in the store, so a restart neither forgets the guard nor the
// budget, nor releases a VF. Loop thread.
#pragma once

#include "service.hpp"
#include <aismi/device_ref.hpp>
#include <aismi/error.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

namespace aismi {

class CardChanges;
class EventBus;
class Inventory;
class RecoveryRepository;
class ResetService;
struct CardSnapshot;

struct RecoveryPolicy {
    bool autoReset = true;                   // reset hung VFs automatically
    unsigned guardResets = 3;                // at most this many automatic resets of one VF
    std::chrono::seconds guardWindow{600};   // within this window; then it is quarantined
    bool autoCardReset = false;              // when a hung VF's own reset fails: reset the whole card
    unsigned cardResetBudget = 1;            // at most this many such card resets of one card
    std::chrono::seconds cardResetWindow{3600};  // within this window
    bool operator==(const RecoveryPolicy&) const = default;
};

/// Some of the policy's keys (Manager1.SetRecoveryPolicy): the rest keep the value they have
/// when the change is applied — not a copy taken when it was asked for (authorization takes a
/// while, and another change may land meanwhile).
struct RecoveryPolicyChange {
    std::optional<bool> autoReset, autoCardReset;
    std::optional<unsigned> guardResets, cardResetBudget;
    std::optional<std::chrono::seconds> guardWindow, cardResetWindow;
    RecoveryPolicy appliedTo(RecoveryPolicy p) const;
};

class RecoveryService : public Service {
public:
    struct Deps {
        RecoveryRepository& repository;
        Inventory& inventory;
        ResetService& resets;
        EventBus& events;
        CardChanges& changes;
    };
    RecoveryService(Deps d, RecoveryPolicy policy);

    /// Reads the quarantined VFs from the store (at start).
    Result<void> load();
    const RecoveryPolicy& policy() const { return policy_; }
    /// aismid.conf's policy (start, SIGHUP): applied unless one was set at run time.
    void setPolicy(const RecoveryPolicy& p) {
        if (!setAtRunTime_) policy_ = p;
    }
    /// `aismi policy set` (Manager1.SetRecoveryPolicy) changes the policy in effect: the result
    /// is range-checked, kept in the store, and from then on it wins over aismid.conf's, across
    /// restarts.
    Result<void> setAtRunTime(const RecoveryPolicyChange& change);
    bool policySetAtRunTime() const { return setAtRunTime_; }
    /// Marks quarantined VFs, and each VF's automatic resets left in its guard, in a fresh
    /// snapshot (a Poller annotator).
    void annotate(CardSnapshot& card) override;
    /// Looks at a card's new poll: hung VFs are reset or quarantined as the policy says.
    void watch(const CardSnapshot& now);
    /// aismid.conf's recovery policy.
    static RecoveryPolicy policyIn(const DaemonConfig& config);

    // Service
    void cardUpdated(const CardUpdated& poll) override { watch(poll.now); }
    /// aismid.conf's policy, unless one set at run time wins.
    void reload(const DaemonConfig& config) override;
    /// An operator takes a VF out of use (Busy while it is being changed; InvalidState when it
    /// is quarantined already).
    Result<void> quarantine(const VfRef& vf, const std::string& reason);
    /// Takes the VF out of quarantine (its automatic resets are forgotten too).
    Result<void> unquarantine(const VfRef& vf);
    /// The wall clock, in unix seconds (tests move it).
    std::function<int64_t()> now;

private:
    void act(const CardSnapshot& card, unsigned vf);
    /// The hung VF's own reset failed: a whole-card reset, if the policy allows it and its
    /// budget is not spent; otherwise it is said why not.
    void escalate(unsigned card, const std::string& vfLabel, unsigned vf, const std::string& why);
    Deps d_;
    RecoveryPolicy policy_;
    bool setAtRunTime_ = false;
    std::map<std::pair<std::string, unsigned>, std::string> quarantined_;  // (card key, VF) -> reason
    std::set<std::pair<std::string, unsigned>> resetting_;                // automatic resets under way
    std::map<std::pair<std::string, unsigned>, std::vector<int64_t>> recent_;  // automatic resets, as last read
};

}  // namespace aismi
