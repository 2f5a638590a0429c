// aismi health: each card's and VF's health with reasons and the age of the data, quarantined
// VFs and their reset guards, and the card's recent resets from the event history.
#pragma once

#include "options.hpp"

#include <aismi/error.hpp>

#include <string>

namespace aismi::client {
class DaemonClient;
}  // namespace aismi::client

namespace aismi::cli {

using client::DaemonClient;

Result<std::string> runHealth(DaemonClient& client, const CliRequest& r);

}  // namespace aismi::cli
