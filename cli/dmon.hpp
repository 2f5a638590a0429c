// aismi dmon: nvidia-smi's dmon habit. One aligned line per card (and per VF with --vf) per
// interval, the header again every screenful, groups of columns chosen with -s; the values
// come from aismid's PropertiesChanged signals, not from polling it.
#pragma once

#include "client_api.hpp"
#include "options.hpp"

#include <aismi/error.hpp>

#include <string>

namespace aismi::cli {

/// The two header lines (names, units).
std::string dmonHeader(const CliRequest& r);
/// One interval: a line per selected card (and its VFs with --vf), or with -j one JSON object
/// per line carrying `unixSeconds`. An -i naming no card is an error.
Result<std::string> dmonLines(const Inventory& inv, const CliRequest& r, int64_t unixSeconds);

}  // namespace aismi::cli
