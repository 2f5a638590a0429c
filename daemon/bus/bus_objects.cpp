#include "bus_objects.hpp"

#include "bus_pump.hpp"
#include "event_bus.hpp"
#include "events.hpp"
#include "inventory.hpp"
#include "jobs.hpp"
#include "objects.hpp"
#include "recovery_service.hpp"

namespace aismi::bus {

BusObjects::BusObjects(BusContext context, EventBus& events) : ctx_(std::move(context)) {
    for (unsigned i = 0; i < ctx_.inventory.size(); ++i) ctx_.manager.cards.emplace_back(cardPath(i));
    manager_ = std::make_unique<ManagerObject>(ctx_);
    for (unsigned i = 0; i < ctx_.inventory.size(); ++i) cards_.push_back(std::make_unique<CardObject>(ctx_, i));

    events.subscribe<CardUpdated>([this](const CardUpdated& e) {
        if (e.card >= cards_.size()) return;
        cards_[e.card]->updated(e.before, e.now);
        ctx_.pump.kick();
    });
    events.subscribe<CardAdded>([this](const CardAdded& e) {
        while (cards_.size() <= e.card) {
            const unsigned index = static_cast<unsigned>(cards_.size());
            cards_.push_back(std::make_unique<CardObject>(ctx_, index));
            cards_.back()->announce();
            ctx_.manager.cards.emplace_back(cardPath(index));
        }
        manager_->changed({"Cards"});
        ctx_.pump.kick();
    });
    events.subscribe<EventRecorded>([this](const EventRecorded& e) {
        manager_->event(e.event);
        ctx_.pump.kick();
    });
    events.subscribe<JobChanged>([this](const JobChanged& e) {
        switch (e.what) {
        case JobChanged::What::Added: {
            auto& object = jobs_[e.job.id];
            object = std::make_unique<JobObject>(ctx_, e.job.id);
            object->announce();
            break;
        }
        case JobChanged::What::Changed:
            if (auto it = jobs_.find(e.job.id); it != jobs_.end()) it->second->changed(e.properties);
            break;
        case JobChanged::What::Removed: jobs_.erase(e.job.id); break;
        }
        ctx_.pump.kick();
    });
}

BusObjects::~BusObjects() = default;

void BusObjects::setRecoveryPolicy(const RecoveryPolicy& p) {
    ctx_.manager.autoReset = p.autoReset;
    ctx_.manager.resetGuardResets = p.guardResets;
    ctx_.manager.resetGuardWindowSeconds = static_cast<uint32_t>(p.guardWindow.count());
    ctx_.manager.autoCardReset = p.autoCardReset;
    ctx_.manager.cardResetBudget = p.cardResetBudget;
    ctx_.manager.cardResetWindowSeconds = static_cast<uint32_t>(p.cardResetWindow.count());
    manager_->changed({"AutoReset", "ResetGuardResets", "ResetGuardWindowSeconds", "AutoCardReset", "CardResetBudget", "CardResetWindowSeconds"});
    ctx_.pump.kick();
}

void BusObjects::setPollInterval(unsigned ms) {
    ctx_.manager.pollIntervalMs = ms;
    manager_->changed({"PollIntervalMs"});
    ctx_.pump.kick();
}

}  // namespace aismi::bus
