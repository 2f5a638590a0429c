// aismi vf provision|unprovision, aismi profile list and aismi quota set|show|remove: what
// they ask aismid, and what they print (the VF as the device reports it afterwards; each
// profile's shape and fit per card; each quota with what the tenant holds).
#pragma once

#include "options.hpp"

#include <aismi/error.hpp>

#include <ostream>
#include <string>

namespace aismi::client {
class DaemonClient;
}  // namespace aismi::client

namespace aismi::cli {

using client::DaemonClient;

/// `err` gets a progress line on a terminal (partition apply).
Result<std::string> runProvisioning(DaemonClient& client, const CliRequest& r, std::ostream& err);

}  // namespace aismi::cli
