#include "event_history.hpp"

#include "event_bus.hpp"
#include "event_repository.hpp"
#include "events.hpp"
#include "log.hpp"
#include "snapshot.hpp"

namespace aismi {
namespace {

constexpr unsigned kPruneEvery = 100;  // appends between two prunes

}  // namespace

EventHistory::EventHistory(EventBus& events, EventRepository& repository, Limits limits) : repository_(repository), limits_(limits) {
    events.subscribe<HealthChanged>([this](const HealthChanged& e) {
        std::string reasons;
        for (const auto& r : e.reasons) reasons += (reasons.empty() ? "" : "; ") + r;
        const Severity s = e.now == Health::Ok ? Severity::Info : e.now == Health::Warning ? Severity::Warning : Severity::Critical;
        record(s, e.card.label(), "health " + std::string(healthName(e.now)) + (reasons.empty() ? "" : ": " + reasons));
    });
    events.subscribe<Notice>([this](const Notice& n) { record(n.severity, n.device, n.message); });
}

void EventHistory::record(Severity s, const std::string& device, const std::string& message) {
    const std::string line = device + ": " + message;
    if (s == Severity::Info) log::info(line);
    else log::warning(line);
    if (auto r = repository_.append(s, device, message); !r) log::error(r.error().message);
    if (++sincePrune_ >= kPruneEvery) prune();
}

void EventHistory::prune() {
    sincePrune_ = 0;
    if (auto r = repository_.prune(limits_.keep, limits_.maxAgeSeconds); !r) log::error(r.error().message);
}

}  // namespace aismi
