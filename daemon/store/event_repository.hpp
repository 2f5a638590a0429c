// The event history: what happened to which device, bounded by count and age.
#pragma once

#include "event_type.hpp"

#include <aismi/error.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace aismi {

class Database;

struct StoredEvent {
    int64_t id = 0;  // increasing: a later event has a larger id
    int64_t at = 0;  // unix seconds
    EventType type = EventType::Daemon;
    Severity severity = Severity::Info;
    std::optional<unsigned> card;  // the card's index, when the event is about a card
    std::optional<unsigned> vf;    // and the VF's, when about a VF
    std::string address;           // the PCI address of the card or VF ("" for none)
    std::string device;            // how messages name it: "card 0 (0000:3b:00.0) VF 2", "tenant acme", "aismid"
    std::string message;
};

/// Which events to list; every part that is set must match.
struct EventFilter {
    std::optional<int64_t> since = std::nullopt;  // at or after (unix seconds)
    std::optional<unsigned> card = std::nullopt;
    std::vector<EventType> types = {};  // empty: every type
    int64_t afterId = 0;           // only ids above this one
    unsigned limit = 1000;         // the newest this many of those that match
};

class EventRepository {
public:
    explicit EventRepository(Database& db) : db_(db) {}

    /// Stores `e` (its id and, when 0, its time are filled in) and returns its id.
    Result<int64_t> append(StoredEvent& e);
    /// The events `filter` selects, oldest first.
    Result<std::vector<StoredEvent>> list(const EventFilter& filter);
    /// Runs `body` (appends) in one transaction: one disk sync for a poll's many events, not
    /// one each.
    Result<void> inOneTransaction(const std::function<void()>& body);
    /// Deletes all but the newest `keepCount` events and any older than `maxAgeSeconds`.
    Result<void> prune(unsigned keepCount, int64_t maxAgeSeconds);

private:
    Database& db_;
};

}  // namespace aismi
