// aismi reset -i ID [--force]: a whole card's reset (Card1.Reset).
#pragma once

#include "options.hpp"

#include <aismi/error.hpp>

#include <string>

namespace aismi::client {
class DaemonClient;
}  // namespace aismi::client

namespace aismi::cli {

using client::DaemonClient;

Result<std::string> runCardReset(DaemonClient& client, const CliRequest& r);

}  // namespace aismi::cli
