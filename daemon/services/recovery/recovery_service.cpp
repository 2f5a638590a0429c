#include "recovery_service.hpp"

#include "card_changes.hpp"
#include "daemon_config.hpp"
#include "event_bus.hpp"
#include "event_repository.hpp"
#include "events.hpp"
#include "inventory.hpp"
#include "log.hpp"
#include "recovery_repository.hpp"
#include "reset_service.hpp"
#include "snapshot.hpp"

#include <aismi/text.hpp>

#include <ctime>

namespace aismi {
RecoveryService::RecoveryService(Deps d, RecoveryPolicy policy) : d_(d), policy_(policy) {
    now = [] { return static_cast<int64_t>(std::time(nullptr)); };
}

Result<void> RecoveryService::load() {
    auto rows = d_.repository.quarantined();
    if (!rows) return std::move(rows).error();
    quarantined_.clear();
    for (const auto& [vf, q] : *rows) quarantined_[vf] = q.reason;
    auto stored = d_.repository.storedPolicy();
    if (!stored) return std::move(stored).error();
    if (*stored) {
        const auto& s = **stored;
        policy_ = RecoveryPolicy{s.autoReset,     s.guardResets,     std::chrono::seconds(s.guardWindowS),
                                 s.autoCardReset, s.cardResetBudget, std::chrono::seconds(s.cardResetWindowS)};
        setAtRunTime_ = true;
    }
    auto recent = d_.repository.allAutoResets(now() - policy_.guardWindow.count());
    if (!recent) return std::move(recent).error();
    recent_ = std::move(*recent);
    return {};
}

void RecoveryService::annotate(CardSnapshot& card) {
    const int64_t windowStart = now() - policy_.guardWindow.count();
    for (auto& vf : card.vfs) {
        const auto q = quarantined_.find({card.info.key, vf.index});
        if (q != quarantined_.end()) vf.setConsumer({ConsumerKind::Quarantine, "quarantine", q->second});
        else vf.clearConsumer(ConsumerKind::Quarantine);
        unsigned used = 0;
        if (auto it = recent_.find({card.info.key, vf.index}); it != recent_.end())
            for (int64_t at : it->second) used += at >= windowStart;
        vf.guardResetsLeft = vf.quarantined() || used >= policy_.guardResets ? 0 : policy_.guardResets - used;
    }
}

void RecoveryService::watch(const CardSnapshot& s) {
    if (s.lost || !s.staleReason.empty() || !policy_.autoReset) return;  // old data is no proof of a hang
    for (const auto& vf : s.vfs)
        if (vf.hung() && !vf.quarantined() && !resetting_.count({s.info.key, vf.index})) act(s, vf.index);
}

void RecoveryService::act(const CardSnapshot& card, unsigned vf) {
    const std::string key = card.info.key, label = card.info.vfLabel(vf);
    const int64_t t = now();
    auto earlier = d_.repository.autoResets(key, vf, t - policy_.guardWindow.count());
    if (!earlier) {
        d_.events.publish(Notice{EventType::AutoReset, Severity::Warning, label, "hung, but its automatic resets cannot be read: " + earlier.error().message, card.info.index, vf});
        return;
    }
    const std::string guard = std::to_string(policy_.guardResets) + " automatic resets in " + std::to_string(policy_.guardWindow.count()) + " s";
    recent_[{key, vf}] = *earlier;
    if (earlier->size() >= policy_.guardResets) {
        // Past the guard: out of use until an operator looks at it.
        const std::string reason = "hung again after " + guard;
        if (auto r = d_.repository.quarantine(key, vf, {t, reason}); !r) {
            d_.events.publish(Notice{EventType::Quarantine, Severity::Critical, label, "hung past its reset guard, and quarantining it failed: " + r.error().message, card.info.index, vf});
            return;
        }
        quarantined_[{key, vf}] = reason;
        d_.events.publish(Notice{EventType::Quarantine, Severity::Critical, label,
                                 "quarantined: " + reason + "; it is not reset automatically again, nor provisioned, until "
                                 "'aismi vf unquarantine " + std::to_string(card.info.index) + ":" + std::to_string(vf) + "'",
                                 card.info.index, vf});
        return;
    }
    // The attempt is recorded before it is made: a crash during it still counts against the guard.
    if (auto r = d_.repository.recordAutoReset(key, vf, t); !r) {
        d_.events.publish(Notice{EventType::AutoReset, Severity::Warning, label, "hung, but recording an automatic reset failed: " + r.error().message, card.info.index, vf});
        return;
    }
    recent_[{key, vf}].push_back(t);
    resetting_.insert({key, vf});
    d_.events.publish(Notice{EventType::AutoReset, Severity::Warning, label,
                             "hung: resetting it automatically (" + std::to_string(earlier->size() + 1) + " of " + guard + ")", card.info.index, vf});
    // force: a hung workload is lost anyway; the reset is what gives the VF back.
    d_.resets.resetVf(VfRef{card.info.index, vf}, true, [this, key, vf, label, cardIndex = card.info.index](Result<ResetService::Outcome> r) {
        resetting_.erase({key, vf});
        if (!r) escalate(cardIndex, label, vf, r.error().message);
    });
}

void RecoveryService::escalate(unsigned cardIndex, const std::string& label, unsigned vf, const std::string& why) {
    if (!policy_.autoCardReset) {
        d_.events.publish(Notice{EventType::AutoReset, Severity::Warning, label,
                                 "the automatic reset failed: " + why + "; aismid does not reset the whole card (aismid.conf auto-card-reset = no)",
                                 cardIndex, vf});
        return;
    }
    if (cardIndex >= d_.inventory.size()) return;
    const CardInfo& info = d_.inventory.info(cardIndex);
    const int64_t t = now();
    auto spent = d_.repository.cardResets(info.key, t - policy_.cardResetWindow.count());
    const std::string budget = std::to_string(policy_.cardResetBudget) + " card reset(s) in " + std::to_string(policy_.cardResetWindow.count()) + " s";
    if (!spent || *spent >= policy_.cardResetBudget) {
        d_.events.publish(Notice{EventType::AutoReset, Severity::Critical, label,
                                 "the automatic reset failed: " + why + "; the card's reset budget (" + budget + ") is " +
                                     (spent ? "spent" : "unreadable (" + spent.error().message + ")") + ": an operator must act ('aismi reset -i " +
                                     std::to_string(cardIndex) + "')",
                                 cardIndex, vf});
        return;
    }
    // Recorded before it is made: a crash during it still counts against the budget.
    if (auto r = d_.repository.recordCardReset(info.key, t); !r) {
        d_.events.publish(Notice{EventType::AutoReset, Severity::Critical, label, "escalating, but recording it failed: " + r.error().message, cardIndex, vf});
        return;
    }
    d_.events.publish(Notice{EventType::AutoReset, Severity::Critical, info.label(),
                             "VF " + std::to_string(vf) + " is hung and its own reset failed (" + why + "): resetting the whole card (" +
                                 std::to_string(*spent + 1) + " of " + budget + ")",
                             cardIndex});
    d_.resets.resetCard(cardIndex, true, [this, cardIndex, label = info.label()](Result<ResetService::CardOutcome> r) {
        if (!r) d_.events.publish(Notice{EventType::AutoReset, Severity::Critical, label, "the escalated card reset failed: " + r.error().message, cardIndex});
    });
}

RecoveryPolicy RecoveryPolicyChange::appliedTo(RecoveryPolicy p) const {
    p.autoReset = autoReset.value_or(p.autoReset);
    p.guardResets = guardResets.value_or(p.guardResets);
    p.guardWindow = guardWindow.value_or(p.guardWindow);
    p.autoCardReset = autoCardReset.value_or(p.autoCardReset);
    p.cardResetBudget = cardResetBudget.value_or(p.cardResetBudget);
    p.cardResetWindow = cardResetWindow.value_or(p.cardResetWindow);
    return p;
}

Result<void> RecoveryService::setAtRunTime(const RecoveryPolicyChange& change) {
    const RecoveryPolicy p = change.appliedTo(policy_);
    const auto out = [](const char* what, long long v, long long min, long long max) -> Result<void> {
        if (v < min || v > max)
            return makeError(Errc::InvalidArgument, std::string(what) + " must be " + std::to_string(min) + " to " + std::to_string(max) + ", not " + std::to_string(v));
        return {};
    };
    for (auto r : {out("the reset guard's count", p.guardResets, 1, 100), out("the reset guard's window", p.guardWindow.count(), 1, 604800),
                   out("the card reset budget", p.cardResetBudget, 1, 100), out("the card reset budget's window", p.cardResetWindow.count(), 1, 604800)})
        if (!r) return r;
    if (setAtRunTime_ && p == policy_) return {};  // the same again: nothing changes, nothing to tell
    const RecoveryRepository::StoredPolicy row{p.autoReset,     p.guardResets,     static_cast<unsigned>(p.guardWindow.count()),
                                               p.autoCardReset, p.cardResetBudget, static_cast<unsigned>(p.cardResetWindow.count())};
    if (auto r = d_.repository.storePolicy(row); !r) return r;
    policy_ = p;
    setAtRunTime_ = true;
    d_.events.publish(Notice{EventType::Policy, Severity::Info, "aismid",
                             std::string("recovery policy: automatic resets ") + (p.autoReset ? "on" : "off") + ", guard " +
                                 std::to_string(p.guardResets) + "/" + std::to_string(p.guardWindow.count()) + " s, card resets " +
                                 (p.autoCardReset ? "on, " + std::to_string(p.cardResetBudget) + "/" + std::to_string(p.cardResetWindow.count()) + " s"
                                                  : "off")});
    return {};
}

Result<void> RecoveryService::quarantine(const VfRef& ref, const std::string& reason) {
    if (ref.card >= d_.inventory.size()) return makeError(Errc::NotFound, "no card " + std::to_string(ref.card));
    const CardSnapshot& card = d_.inventory.snapshot(ref.card);
    const std::string label = card.info.vfLabel(ref.vf);
    if (ref.vf >= card.vfs.size()) return makeError(Errc::NotFound, label + ": the card has " + std::to_string(card.vfs.size()) + " VFs enabled");
    if (quarantined_.count({card.info.key, ref.vf})) return makeError(Errc::InvalidState, label + " is quarantined already");
    if (reason.size() > 200 || reason.find_first_of("\n\r") != std::string::npos || (!reason.empty() && text::trim(reason).empty()))
        return makeError(Errc::InvalidArgument, label + ": a quarantine reason is one line of 1 to 200 bytes, not only spaces");
    const std::string why = reason.empty() ? "quarantined by an operator" : reason;
    if (auto r = d_.repository.quarantine(card.info.key, ref.vf, {now(), why}); !r) return std::move(r).error().context(label + ": quarantine");
    quarantined_[{card.info.key, ref.vf}] = why;
    d_.events.publish(Notice{EventType::Quarantine, Severity::Warning, label,
                             "quarantined by an operator" + (reason.empty() ? std::string() : " (" + reason + ")") +
                                 "; it is not reset automatically, nor provisioned, until 'aismi vf unquarantine " +
                                 std::to_string(ref.card) + ":" + std::to_string(ref.vf) + "'",
                             ref.card, ref.vf});
    return {};
}

Result<void> RecoveryService::unquarantine(const VfRef& ref) {
    if (ref.card >= d_.inventory.size()) return makeError(Errc::NotFound, "no card " + std::to_string(ref.card));
    const CardInfo& info = d_.inventory.info(ref.card);
    const std::string label = info.vfLabel(ref.vf);
    if (!quarantined_.count({info.key, ref.vf})) return makeError(Errc::InvalidState, label + " is not quarantined");
    if (auto r = d_.repository.release(info.key, ref.vf); !r) return std::move(r).error().context(label + ": unquarantine");
    quarantined_.erase({info.key, ref.vf});
    recent_.erase({info.key, ref.vf});
    d_.events.publish(Notice{EventType::Unquarantine, Severity::Info, label, "released from quarantine by an operator; its automatic resets start afresh", ref.card, ref.vf});
    return {};
}

RecoveryPolicy RecoveryService::policyIn(const DaemonConfig& c) {
    return RecoveryPolicy{c.autoReset,     c.resetGuardResets, std::chrono::seconds(c.resetGuardWindowS),
                          c.autoCardReset, c.cardResetBudget,  std::chrono::seconds(c.cardResetWindowS)};
}

void RecoveryService::reload(const DaemonConfig& config) {
    const RecoveryPolicy p = policyIn(config);
    if (p == policy_) return;
    if (setAtRunTime_) return log::info("reload: aismid.conf's recovery policy is not applied: the one set with 'aismi policy set' stays");
    setPolicy(p);
    log::info("reload: automatic resets " + std::string(p.autoReset ? "on" : "off") + ", guard " + std::to_string(p.guardResets) + "/" +
              std::to_string(p.guardWindow.count()) + " s, card resets " +
              (p.autoCardReset ? "on, " + std::to_string(p.cardResetBudget) + "/" + std::to_string(p.cardResetWindow.count()) + " s" : "off"));
}

}  // namespace aismi
