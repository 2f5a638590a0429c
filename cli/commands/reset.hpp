// aismi reset -i ID [--force]: a whole card's reset (Card1.Reset).
#pragma once

#include "command.hpp"

#include <string>

namespace aismi::cli {

struct CardResetRequest {
    std::string card;
    bool force = false;
};

CommandSet resetCommands();

}  // namespace aismi::cli
