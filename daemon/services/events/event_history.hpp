// The log and the event history as subscribers: health changes and notices go to the log
// (once per change) and to the events table, which is kept within its count and age limits.
#pragma once

#include <cstdint>
#include <string>

namespace aismi {

class EventBus;
class EventRepository;
enum class Severity;

class EventHistory {
public:
    struct Limits {
        unsigned keep = 10000;
        int64_t maxAgeSeconds = 90 * 86400;
    };
    EventHistory(EventBus& events, EventRepository& repository, Limits limits);
    /// Applies the limits now (start-up, and every so often).
    void prune();

private:
    void record(Severity severity, const std::string& device, const std::string& message);
    EventRepository& repository_;
    Limits limits_;
    unsigned sincePrune_ = 0;
};

}  // namespace aismi
