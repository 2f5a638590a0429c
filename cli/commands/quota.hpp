// aismi quota set|show|remove: what a tenant may hold, and what it holds.
#pragma once

#include "command.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace aismi::cli {

struct QuotaSetRequest {
    std::string tenant;
    // Only the limits given change; kNoLimit (`none`) removes a compute or memory limit.
    std::optional<uint64_t> maxVfs, maxComputeUnits, maxMemoryMib;
    static constexpr uint64_t kNoLimit = ~uint64_t{0};
};
struct QuotaShowRequest {
    std::string tenant;  // empty: every tenant
    bool json = false;
};
struct QuotaRemoveRequest {
    std::string tenant;
};

CommandSet quotaCommands();

}  // namespace aismi::cli
