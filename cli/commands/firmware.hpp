// aismi firmware show|update|activate|rollback|jobs (Card1's firmware methods). Images are
// made by aismi-firmware-pack.
#pragma once

#include "command.hpp"

#include <string>
#include <vector>

namespace aismi::cli {

/// firmware show and firmware jobs.
struct FirmwareListRequest {
    std::vector<std::string> ids;  // cards
    bool json = false;
};
struct FirmwareUpdateRequest {
    std::string card;
    std::string image;     // the image file
    std::string activate;  // now, idle or never; "" for aismid's default (idle)
    bool allowOlder = false;
    bool allowReinstall = false;  // the version that runs already
    bool force = false;
    bool quiet = false;  // no progress bar, no result line
};
/// firmware activate, and firmware rollback (the other bank).
struct FirmwareActivateRequest {
    std::string card;
    bool rollback = false;
    bool force = false;
    bool quiet = false;
};

CommandSet firmwareCommands();

}  // namespace aismi::cli
