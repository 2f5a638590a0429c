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
    uint64_t eccCorrectablePerHour = 1000;     // warn above this many correctable ECC errors in the last hour
    uint64_t aerNonfatalPerHour = 0;           // warn above this many non-fatal PCIe errors in the last hour
    uint64_t aerCorrectablePerHour = 100;      // and above this many correctable ones
    bool warnDegradedLink = true;
    unsigned stalledPolls = 3;                 // polls without progress before a running VF is hung
};

class HealthAssessor {
public:
    explicit HealthAssessor(HealthThresholds t = {}) : t_(t) {}
    void setThresholds(const HealthThresholds& t) { t_ = t; }

    /// Sets card.health and card.healthReasons (and each VF's health and reasons) from the
    /// snapshot and the card's earlier polls. Rules: a lost device is Lost; a stale reading
    /// (card.staleReason) is Unknown and says nothing else; uncorrectable ECC, fatal AER,
    /// reaching the critical temperature or a corrupt active firmware bank are Critical;
    /// nearing the critical temperature, a degraded link, error counters rising faster than
    /// their thresholds (within the last hour), a corrupt inactive firmware bank, a VF that is
    /// hung, in error, or running without progress, and a VF count other than the desired one
    /// are Warning; anything that could not be read is Unknown (unless something known is worse).
    /// `nowS` (a monotonic clock, seconds) dates the error counters.
    void assess(CardSnapshot& card, int64_t nowS = 0);
    /// A problem of aismid's own that every card shows as a Warning reason until it is cleared
    /// ("" clears it): the store replaced under aismid, so no change to any card can be made.
    void setDaemonProblem(std::string why) { daemonProblem_ = std::move(why); }
    /// Forgets a card's history (it was reset or replaced).
    void forget(const std::string& cardKey) { history_.erase(cardKey); }

private:
    std::string daemonProblem_;
    struct VfHistory {
        std::string pciAddress;  // which VF this was: a different one at the index starts afresh
        bool seen = false;  // a poll with status saw it
        uint64_t progress = 0;
        unsigned stalledPolls = 0;
    };
    /// Error counters as they stood at one time: the oldest sample within the hour is the base.
    struct Counters {
        int64_t at = 0;
        uint64_t eccCorrected = 0, aerNonfatal = 0, aerCorrectable = 0;
    };
    struct CardHistory {
        std::vector<VfHistory> vfs;  // by VF index
        std::vector<Counters> samples;  // a sample a minute at most, the last hour's
    };
    HealthThresholds t_;
    std::map<std::string, CardHistory> history_;  // by card key
};

/// A link reading that describes a real PCIe link (speeds known, widths that are lane counts).
bool linkIsReadable(const LinkState& link);

}  // namespace aismi
