#pragma once
// aismi's view of the client library (client/, shared with aismi-device-plugin): its types,
// named in aismi's code without a prefix.
#include "daemon_client.hpp"
#include "bus_inventory.hpp"

#include <aismi/bus_names.hpp>

namespace aismi::cli {
using namespace aismi::client;
}  // namespace aismi::cli
