// The events services publish on the EventBus. Each is a fact about something that already
// happened, named in the past tense; references are valid only during the publish call.
#pragma once

#include <string>
#include <vector>

namespace aismi {

struct CardSnapshot;
struct CardInfo;
enum class Health;
enum class Severity;

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
    Severity severity;
    std::string device;   // "card 0 (0000:3b:00.0)", "aismid"
    std::string message;
};

}  // namespace aismi
