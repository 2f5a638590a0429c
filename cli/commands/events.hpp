// aismi events: the event history, and new events as aismid signals them (--follow); and how
// one event is printed (aismi health shows recent resets the same way).
#pragma once

#include "client_api.hpp"
#include "command.hpp"

#include <aismi/error.hpp>

#include <optional>
#include <string>
#include <vector>

namespace aismi::cli {

/// "2026-11-24 18:04:03  warning   auto-reset     card 0 (0000:3b:00.0) VF 2: hung: ...".
std::string eventLine(const DaemonClient::EventRow& e);
/// One JSON object, on one line.
std::string eventJson(const DaemonClient::EventRow& e);
/// Local time as "2026-11-24 18:04:03".
std::string localTime(int64_t unixSeconds);

struct EventsRequest {
    std::vector<std::string> ids;  // cards
    bool json = false;
    std::optional<int64_t> since;         // unix seconds
    bool follow = false;                  // then new events as they happen
    std::vector<std::string> types;       // aismid checks the names
    unsigned lines = 0;                   // the newest N (0: the default)
};

CommandSet eventsCommands();

}  // namespace aismi::cli
