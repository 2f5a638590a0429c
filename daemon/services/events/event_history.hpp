// The event history: every Notice (and every health change, and what transitions() finds in a
// new poll) is stored in the events table (kept within its count and age limits), written to
// the log — under systemd as a structured journal entry with a MESSAGE_ID per type — and
// announced as EventRecorded (which the bus turns into a signal). Identical warnings repeated
// within the repeat window are counted instead of recorded again: the first is recorded,
// the count follows once the window has passed (sweep()).
#pragma once

#include "service.hpp"

#include <aismi/error.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace aismi {

class EventBus;
class EventRepository;
struct Notice;
struct StoredEvent;
struct EventFilter;

class EventHistory : public Service {
public:
    struct Limits {
        unsigned keep = 10000;
        int64_t maxAgeSeconds = 90 * 86400;
        int64_t repeatWindowSeconds = 300;
    };
    EventHistory(EventBus& events, EventRepository& repository, Limits limits);
    /// Applies the count and age limits now (start-up, and every so often).
    void prune();
    /// Records how often each suppressed repeat happened, once its window has passed.
    void sweep();
    /// Service: sweeps.
    void housekeeping() override { sweep(); }
    /// The PCI address of a card (or of one of its VFs) for an event's address field.
    std::function<std::string(unsigned card, std::optional<unsigned> vf)> addressOf;
    /// The wall clock, in unix seconds (tests move it).
    std::function<int64_t()> now;
    /// The stored events `filter` selects, oldest first.
    Result<std::vector<StoredEvent>> list(const EventFilter& filter);
    /// Identical warnings counted rather than recorded, since start.
    uint64_t suppressed() const { return suppressedTotal_; }

private:
    void record(const Notice& n);
    void store(const Notice& n, const std::string& message);
    struct Repeat {
        int64_t recordedAt = 0;
        uint64_t suppressed = 0;
        std::optional<unsigned> card, vf;
        int severity = 0;
    };
    using RepeatKey = std::tuple<int, std::string, std::string>;  // type, device, message
    EventBus& bus_;
    EventRepository& repository_;
    Limits limits_;
    std::map<RepeatKey, Repeat> repeats_;
    uint64_t suppressedTotal_ = 0;
    unsigned sincePrune_ = 0;
};

/// The journal fields of an event ("MESSAGE=...", "PRIORITY=4", "MESSAGE_ID=...",
/// "AISMI_EVENT=...", "AISMI_CARD=0", "AISMI_VF=2", "AISMI_PCI_ADDRESS=...", "AISMI_EVENT_ID=...").
std::vector<std::string> journalFields(const StoredEvent& e);

}  // namespace aismi
