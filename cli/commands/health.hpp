// aismi health: each card's and VF's health with reasons and the age of the data, quarantined
// VFs and their reset guards, and the card's recent resets from the event history.
#pragma once

#include "command.hpp"

#include <string>
#include <vector>

namespace aismi::cli {

struct HealthRequest {
    std::vector<std::string> ids;  // cards
    bool json = false;
};

CommandSet healthCommands();

}  // namespace aismi::cli
