// Card and VF health from what polls read: the rules operators see as Health/HealthReasons.
// Runs on the loop thread and remembers earlier polls of each card, so rules can be about
// change over time (a hang is progress that stopped moving).
#pragma once

#include "snapshot.hpp"

#include <map>
#include <string>
#include <vector>

namespace aismi {

struct HealthThresholds {
    double temperatureWarningBelowCritC = 10;  // warn this close to temp1_crit
    double temperatureWarningC = 85;           // used when the card reports no critical limit
    unsigned stalledPolls = 3;                 // polls without progress before a running VF is suspect
};

class HealthAssessor {
public:
    explicit HealthAssessor(HealthThresholds t = {}) : t_(t) {}

    /// Sets card.health and card.healthReasons (and each VF's health) from the snapshot and
    /// the card's earlier polls. Rules: a lost device is Lost; uncorrectable ECC, fatal AER,
    /// reaching the critical temperature or a corrupt active firmware bank are Critical;
    /// nearing the critical temperature, a degraded link, non-fatal AER, a corrupt inactive
    /// firmware bank, a VF that is hung, in error, or running without progress, a VF count
    /// other than the desired one, and anything that could not be read are Warning.
    void assess(CardSnapshot& card);
    /// Forgets a card's history (it was reset or replaced).
    void forget(const std::string& cardKey) { history_.erase(cardKey); }

private:
    struct VfHistory {
        std::string pciAddress;  // which VF this was: a different one at the index starts afresh
        bool seen = false;  // a poll with status saw it
        uint64_t progress = 0;
        unsigned stalledPolls = 0;
    };
    HealthThresholds t_;
    std::map<std::string, std::vector<VfHistory>> history_;  // card key -> by VF index
};

/// A link reading that describes a real PCIe link (speeds known, widths that are lane counts).
bool linkIsReadable(const LinkState& link);

}  // namespace aismi
