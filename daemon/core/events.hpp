// The events services publish on the EventBus. Each is a fact about something that already
// happened, named in the past tense; references are valid only during the publish call.
#pragma once

#include "event_type.hpp"

#include <optional>
#include <string>
#include <vector>

namespace aismi {

struct CardSnapshot;
struct CardInfo;
struct StoredEvent;
enum class Health;

/// A poll (or a change) replaced a card's snapshot.
struct CardUpdated {
    unsigned card;
    const CardSnapshot& before;
    const CardSnapshot& now;
};

/// Rediscovery found a card that was not there before.
struct CardAdded {
    unsigned card;
};

/// A card that did not answer answers again, or came back at another address.
struct CardReturned {
    unsigned card;
};

/// A card's health or its reasons changed.
struct HealthChanged {
    const CardInfo& card;
    Health before;
    Health now;
    const std::vector<std::string>& reasons;
};

/// Something an operator should find in the log and the event history.
struct Notice {
    EventType type;
    Severity severity;
    std::string device;   // "card 0 (0000:3b:00.0)", "card 0 (0000:3b:00.0) VF 2", "aismid"
    std::string message;
    std::optional<unsigned> card = std::nullopt;  // what it is about, for filters and the journal's fields
    std::optional<unsigned> vf = std::nullopt;
};

/// The event history stored a notice (after rate limiting): what the bus signals.
struct EventRecorded {
    const StoredEvent& event;
};

}  // namespace aismi
