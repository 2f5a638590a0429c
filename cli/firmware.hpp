// aismi firmware show|update|activate|rollback|jobs (Card1's firmware methods). Images are
// made by aismi-firmware-pack (firmware_pack.hpp).
#pragma once

#include "options.hpp"

#include <aismi/error.hpp>

#include <string>

namespace aismi::client {
class DaemonClient;
}  // namespace aismi::client

namespace aismi::cli {

using client::DaemonClient;

Result<std::string> runFirmware(DaemonClient& client, const CliRequest& r);

}  // namespace aismi::cli
