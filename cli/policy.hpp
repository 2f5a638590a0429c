// aismi policy set|show: a card's oversubscription policy, and what its VFs hold against it.
#pragma once

#include "options.hpp"

#include <aismi/error.hpp>

#include <string>

namespace aismi::client {
class DaemonClient;
}  // namespace aismi::client

namespace aismi::cli {

using client::DaemonClient;

Result<std::string> runPolicy(DaemonClient& client, const CliRequest& r);

}  // namespace aismi::cli
