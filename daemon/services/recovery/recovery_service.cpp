#include "recovery_service.hpp"

#include "card_changes.hpp"
#include "event_bus.hpp"
#include "event_repository.hpp"
#include "events.hpp"
#include "inventory.hpp"
#include "recovery_repository.hpp"
#include "reset_service.hpp"
#include "snapshot.hpp"

#include <ctime>

namespace aismi {
namespace {

std::string vfLabel(const CardInfo& card, unsigned vf) { return card.label() + " VF " + std::to_string(vf); }

}  // namespace

Result<void> RecoveryService::load() {
    if (!now) now = [] { return static_cast<int64_t>(std::time(nullptr)); };
    auto rows = d_.repository.quarantined();
    if (!rows) return std::move(rows).error();
    quarantined_.clear();
    for (const auto& [vf, q] : *rows) quarantined_[vf] = q.reason;
    return {};
}

void RecoveryService::annotate(CardSnapshot& card) const {
    for (auto& vf : card.vfs) vf.quarantined = quarantined_.count({card.info.key, vf.index}) > 0;
}

void RecoveryService::watch(const CardSnapshot& s) {
    if (s.lost || !policy_.autoReset) return;
    for (const auto& vf : s.vfs)
        if (vf.hung() && !vf.quarantined && !resetting_.count({s.info.key, vf.index})) act(s, vf.index);
}

void RecoveryService::act(const CardSnapshot& card, unsigned vf) {
    const std::string key = card.info.key, label = vfLabel(card.info, vf);
    const int64_t t = now();
    auto earlier = d_.repository.autoResets(key, vf, t - policy_.guardWindow.count());
    if (!earlier) {
        d_.events.publish(Notice{Severity::Warning, label, "hung, but its automatic resets cannot be read: " + earlier.error().message});
        return;
    }
    const std::string guard = std::to_string(policy_.guardResets) + " automatic resets in " + std::to_string(policy_.guardWindow.count()) + " s";
    if (earlier->size() >= policy_.guardResets) {
        // Past the guard: out of use until an operator looks at it.
        const std::string reason = "hung again after " + guard;
        if (auto r = d_.repository.quarantine(key, vf, {t, reason}); !r) {
            d_.events.publish(Notice{Severity::Critical, label, "hung past its reset guard, and quarantining it failed: " + r.error().message});
            return;
        }
        quarantined_[{key, vf}] = reason;
        d_.events.publish(Notice{Severity::Critical, label,
                                 "quarantined: " + reason + "; it is not reset automatically again, nor provisioned, until "
                                 "'aismi vf unquarantine " + std::to_string(card.info.index) + ":" + std::to_string(vf) + "'"});
        return;
    }
    // The attempt is recorded before it is made: a crash during it still counts against the guard.
    if (auto r = d_.repository.recordAutoReset(key, vf, t); !r) {
        d_.events.publish(Notice{Severity::Warning, label, "hung, but recording an automatic reset failed: " + r.error().message});
        return;
    }
    resetting_.insert({key, vf});
    d_.events.publish(Notice{Severity::Warning, label,
                             "hung: resetting it automatically (" + std::to_string(earlier->size() + 1) + " of " + guard + ")"});
    // force: a hung workload is lost anyway; the reset is what gives the VF back.
    d_.resets.resetVf(VfRef{card.info.index, vf}, true, [this, key, vf, label](Result<ResetService::Outcome> r) {
        resetting_.erase({key, vf});
        if (!r) d_.events.publish(Notice{Severity::Warning, label, "the automatic reset failed: " + r.error().message});
    });
}

Result<void> RecoveryService::unquarantine(const VfRef& ref) {
    if (ref.card >= d_.inventory.size()) return makeError(Errc::NotFound, "no card " + std::to_string(ref.card));
    const CardInfo& info = d_.inventory.info(ref.card);
    const std::string label = vfLabel(info, ref.vf);
    if (!quarantined_.count({info.key, ref.vf})) return makeError(Errc::InvalidState, label + " is not quarantined");
    if (auto r = d_.repository.release(info.key, ref.vf); !r) return std::move(r).error().context(label + ": unquarantine");
    quarantined_.erase({info.key, ref.vf});
    d_.events.publish(Notice{Severity::Info, label, "released from quarantine by an operator; its automatic resets start afresh"});
    return {};
}

}  // namespace aismi
