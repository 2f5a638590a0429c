// aismi firmware show|update|activate|rollback|jobs (Card1's firmware methods) and
// aismi firmware pack (no aismid: makes a signed image).
#pragma once

#include "options.hpp"

#include <aismi/error.hpp>

#include <string>

namespace aismi::cli {

class DaemonClient;

Result<std::string> runFirmware(DaemonClient& client, const CliRequest& r);
Result<std::string> runFirmwarePack(const CliRequest& r);

}  // namespace aismi::cli
