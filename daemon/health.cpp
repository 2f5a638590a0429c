#include "health.hpp"

#include <algorithm>
#include <cstdio>

namespace aismi {
namespace {

std::string celsius(double c) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f C", c);
    return buf;
}

}  // namespace

std::string_view healthName(Health h) {
    switch (h) {
    case Health::Ok: return "ok";
    case Health::Warning: return "warning";
    case Health::Critical: return "critical";
    case Health::Lost: return "lost";
    }
    return "unknown";
}

void assessHealth(CardSnapshot& card, const HealthThresholds& t) {
    if (card.health == Health::Lost) {
        for (auto& vf : card.vfs) vf.health = Health::Lost;
        return;  // the poll already said why
    }
    Health worst = Health::Ok;
    std::vector<std::string> reasons;
    const auto raise = [&](Health h, std::string why) {
        worst = std::max(worst, h);
        reasons.push_back(std::move(why));
    };
    if (!std::isnan(card.temperatureC)) {
        const bool haveCrit = !std::isnan(card.temperatureCritC);
        const double warnAt = haveCrit ? card.temperatureCritC - t.temperatureWarningBelowCritC : t.temperatureWarningC;
        if (haveCrit && card.temperatureC >= card.temperatureCritC)
            raise(Health::Critical, "temperature " + celsius(card.temperatureC) + " at or above the critical " + celsius(card.temperatureCritC));
        else if (card.temperatureC >= warnAt)
            raise(Health::Warning, "temperature " + celsius(card.temperatureC) + " is near the limit (warning at " + celsius(warnAt) + ")");
    }
    if (card.eccUncorrected != kNoU64 && card.eccUncorrected > 0)
        raise(Health::Critical, std::to_string(card.eccUncorrected) + " uncorrectable ECC error(s)");
    if (card.aerFatal != kNoU64 && card.aerFatal > 0) raise(Health::Critical, std::to_string(card.aerFatal) + " fatal PCIe error(s)");
    if (card.aerNonFatal != kNoU64 && card.aerNonFatal > 0)
        raise(Health::Warning, std::to_string(card.aerNonFatal) + " non-fatal PCIe error(s)");
    if (card.linkWidth != kNoU32 && card.linkMaxWidth != kNoU32 &&
        (card.linkWidth < card.linkMaxWidth || card.linkSpeed != card.linkMaxSpeed))
        raise(Health::Warning, "PCIe link degraded to " + card.linkSpeed + " x" + std::to_string(card.linkWidth) + " (capable of " +
                                   card.linkMaxSpeed + " x" + std::to_string(card.linkMaxWidth) + ")");
    for (size_t b = 0; b < card.firmwareBankIntegrity.size(); ++b)
        if (card.firmwareBankIntegrity[b] != "ok")
            raise(b == card.firmwareActiveBank ? Health::Critical : Health::Warning,
                  "firmware bank " + std::to_string(b) + (b == card.firmwareActiveBank ? " (active)" : "") + " fails its integrity check");
    unsigned hung = 0, errored = 0;
    for (auto& vf : card.vfs) {
        vf.health = Health::Ok;
        if (vf.state == "hung") vf.health = Health::Warning, ++hung;
        if (vf.state == "error") vf.health = Health::Critical, ++errored;
        if (vf.eccUncorrected != kNoU64 && vf.eccUncorrected > 0) vf.health = Health::Critical;
    }
    if (hung) raise(Health::Warning, std::to_string(hung) + " VF(s) hung");
    if (errored) raise(Health::Warning, std::to_string(errored) + " VF(s) stopped by an error");
    card.health = worst;
    card.healthReasons = std::move(reasons);
}

}  // namespace aismi
