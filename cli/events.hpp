// aismi events: the event history, and new events as aismid signals them (--follow); and how
// one event is printed (aismi health shows recent resets the same way).
#pragma once

#include "client_api.hpp"
#include "options.hpp"

#include <aismi/error.hpp>

#include <ostream>
#include <string>

namespace aismi::cli {

/// "2026-11-24 18:04:03  warning   auto-reset     card 0 (0000:3b:00.0) VF 2: hung: ...".
std::string eventLine(const DaemonClient::EventRow& e);
/// One JSON object, on one line.
std::string eventJson(const DaemonClient::EventRow& e);
/// Local time as "2026-11-24 18:04:03".
std::string localTime(int64_t unixSeconds);

/// Writes as it goes (--follow runs until aismid leaves or the user interrupts).
Result<void> runEvents(DaemonClient& client, const CliRequest& r, std::ostream& out);

}  // namespace aismi::cli
