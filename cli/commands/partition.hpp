// aismi partition apply|show|export: a card's whole layout in one step, what each VF holds
// against its profile, and the layout as a layouts.d section.
#pragma once

#include "command.hpp"

#include <string>

namespace aismi::cli {

struct PartitionApplyRequest {
    std::string card;
    std::string layout;      // COUNTxPROFILE items
    std::string layoutFile;  // --file: read when the command runs
    bool dryRun = false;
};
struct PartitionShowRequest {
    std::string card;
    bool json = false;
};
struct PartitionExportRequest {
    std::string card;
};

CommandSet partitionCommands();

}  // namespace aismi::cli
