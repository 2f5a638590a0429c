// Card and VF health from what a poll read: the rules operators see as Health/HealthReasons.
#pragma once

#include "snapshot.hpp"

namespace aismi {

struct HealthThresholds {
    double temperatureWarningBelowCritC = 10;  // warn this close to temp1_crit
    double temperatureWarningC = 85;           // used when the card reports no critical limit
};

/// Sets card.health and card.healthReasons (and each VF's health) from the rest of the
/// snapshot. Rules: a lost device is Lost; uncorrectable ECC, fatal AER, reaching the
/// critical temperature or a corrupt active firmware bank are Critical; nearing the critical
/// temperature, a degraded link, non-fatal AER, a corrupt inactive firmware bank or a VF that
/// is hung or in error are Warning.
void assessHealth(CardSnapshot& card, const HealthThresholds& t = {});

}  // namespace aismi
