// aismi policy set|show: a card's oversubscription policy and what its VFs hold against it,
// and the host's recovery policy for hung VFs.
#pragma once

#include "command.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace aismi::cli {

/// policy show, or policy set with the changes given (nullopt keeps what aismid has).
struct PolicyRequest {
    std::vector<std::string> ids;  // cards (set: exactly one when a ratio changes)
    bool json = false;
    std::optional<uint32_t> computeRatio, memoryRatio;  // in hundredths (150: 1.5)
    std::optional<bool> autoReset, autoCardReset;
    std::optional<std::pair<unsigned, unsigned>> resetGuard, cardResetBudget;  // N within SECONDS
};

CommandSet policyCommands();

}  // namespace aismi::cli
