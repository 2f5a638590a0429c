// aismi dmon: nvidia-smi's dmon habit. One aligned line per card (and per VF with --vf) per
// interval, the header again every screenful, groups of columns chosen with -s; the values
// come from aismid's PropertiesChanged signals, not from polling it.
#pragma once

#include "client_api.hpp"
#include "command.hpp"

#include <aismi/error.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace aismi::cli {

/// The column groups aismi dmon -s takes, in the order their columns appear.
inline constexpr std::string_view kDmonGroups = "pumev";

struct DmonRequest {
    std::vector<std::string> ids;  // cards
    bool json = false;
    std::string groups{kDmonGroups};  // -s: letters of kDmonGroups
    bool vfs = false;                 // --vf: a line per VF too
    unsigned count = 0;               // -c: intervals to print (0: until interrupted)
    unsigned delaySeconds = 1;        // -d: seconds between lines
};

/// The two header lines (names, units).
std::string dmonHeader(const DmonRequest& r);
/// One interval: a line per selected card (and its VFs with --vf), or with -j one JSON object
/// per line carrying `unixSeconds`. An -i naming no card is an error.
Result<std::string> dmonLines(const Inventory& inv, const DmonRequest& r, int64_t unixSeconds);

CommandSet dmonCommands();

}  // namespace aismi::cli
