// aismi vf provision|unprovision and aismi profile list: one VF's profile and tenant, and each
// profile's shape and what fits per card.
#pragma once

#include "command.hpp"

#include <string>
#include <vector>

namespace aismi::cli {

struct ProvisionRequest {
    std::string vf;
    std::string profile;  // empty: unprovision
    std::string tenant;
};
struct ProfileListRequest {
    std::vector<std::string> ids;  // cards
    bool json = false;
};

CommandSet provisioningCommands();

}  // namespace aismi::cli
