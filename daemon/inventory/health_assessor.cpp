#include "health_assessor.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

namespace aismi {
namespace {

std::string celsius(double c) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f C", c);
    return buf;
}

bool isLinkWidth(unsigned w) {
    static constexpr std::array<unsigned, 7> kWidths{1, 2, 4, 8, 12, 16, 32};  // PCIe Base 6.0, 7.5.3.6
    return std::find(kWidths.begin(), kWidths.end(), w) != kWidths.end();
}

bool isLinkSpeed(const std::string& s) { return !s.empty() && s.find("Unknown") == std::string::npos && s[0] >= '0' && s[0] <= '9'; }

}  // namespace

bool linkIsReadable(const LinkState& link) {
    // The kernel prints "Unknown" speeds and widths such as 0 or 255 for functions whose link
    // registers say nothing (emulated devices, VFs): that is no link reading, not a degraded one.
    return isLinkSpeed(link.speed) && isLinkSpeed(link.maxSpeed) && isLinkWidth(link.width) && isLinkWidth(link.maxWidth);
}

void HealthAssessor::assess(CardSnapshot& card) {
    auto& vfHistory = history_[card.info.key];
    if (card.lost) {
        card.health = Health::Lost;
        card.healthReasons = {card.lostReason.empty() ? "the device does not answer (config space reads all ones)" : card.lostReason};
        for (auto& vf : card.vfs) vf.health = Health::Lost;
        vfHistory.clear();
        return;
    }
    Health worst = Health::Ok;
    std::vector<std::string> reasons;
    const auto raise = [&](Health h, std::string why) {
        worst = std::max(worst, h);
        reasons.push_back(std::move(why));
    };
    const CardTelemetry& t = card.telemetry;
    if (t.temperatureC) {
        const double temp = *t.temperatureC;
        const double warnAt = t.temperatureCritC ? *t.temperatureCritC - t_.temperatureWarningBelowCritC : t_.temperatureWarningC;
        if (t.temperatureCritC && temp >= *t.temperatureCritC)
            raise(Health::Critical, "temperature " + celsius(temp) + " at or above the critical " + celsius(*t.temperatureCritC));
        else if (temp >= warnAt)
            raise(Health::Warning, "temperature " + celsius(temp) + " is near the limit (warning at " + celsius(warnAt) + ")");
    }
    if (t.eccUncorrected && *t.eccUncorrected > 0) raise(Health::Critical, std::to_string(*t.eccUncorrected) + " uncorrectable ECC error(s)");
    if (t.aer && t.aer->fatal > 0) raise(Health::Critical, std::to_string(t.aer->fatal) + " fatal PCIe error(s)");
    if (t.aer && t.aer->nonfatal > 0) raise(Health::Warning, std::to_string(t.aer->nonfatal) + " non-fatal PCIe error(s)");
    if (t.link && linkIsReadable(*t.link) && t.link->degraded())
        raise(Health::Warning, "PCIe link degraded to " + t.link->speed + " x" + std::to_string(t.link->width) + " (capable of " +
                                   t.link->maxSpeed + " x" + std::to_string(t.link->maxWidth) + ")");
    if (card.firmware)
        for (unsigned b = 0; b < 2; ++b)
            if (!card.firmware->banks[b].integrityOk) {
                const bool active = b == card.firmware->activeBank;
                raise(active ? Health::Critical : Health::Warning,
                      "firmware bank " + std::to_string(b) + (active ? " (active)" : "") + " fails its integrity check");
            }
    unsigned hung = 0, errored = 0, stalled = 0;
    vfHistory.resize(card.vfs.size());  // VFs past the count are gone: their history with them
    for (size_t k = 0; k < card.vfs.size(); ++k) {
        VfSnapshot& vf = card.vfs[k];
        VfHistory& h = vfHistory[k];
        vf.health = Health::Ok;
        if (!vf.status) {
            h = VfHistory{};
            continue;
        }
        const VfStatus& st = *vf.status;
        if (st.state == VfState::Hung) vf.health = Health::Warning, ++hung;
        if (st.state == VfState::Error) vf.health = Health::Critical, ++errored;
        if (st.eccUncorrected > 0) vf.health = Health::Critical;
        const bool sameVf = h.seen && h.pciAddress == vf.pciAddress;
        h.stalledPolls = sameVf && st.state == VfState::Running && st.progress == h.progress ? h.stalledPolls + 1 : 0;
        if (!sameVf) h.pciAddress = vf.pciAddress;
        h.seen = true;
        h.progress = st.progress;
        vf.stalled = h.stalledPolls >= t_.stalledPolls;
        if (vf.stalled) {
            vf.health = std::max(vf.health, Health::Warning);
            ++stalled;
        }
    }
    if (hung) raise(Health::Warning, std::to_string(hung) + " VF(s) hung");
    if (errored) raise(Health::Warning, std::to_string(errored) + " VF(s) stopped by an error");
    if (stalled) raise(Health::Warning, std::to_string(stalled) + " VF(s) running without progress for " + std::to_string(t_.stalledPolls) + " polls");
    if (card.desiredVfs && *card.desiredVfs != card.vfEnabled())
        raise(Health::Warning, "desired " + std::to_string(*card.desiredVfs) + " VFs, the device has " + std::to_string(card.vfEnabled()) +
                                   " (changed outside aismid, or lost in a reset)");
    for (const auto& p : card.readProblems) raise(Health::Warning, "cannot read: " + p);
    for (const auto& p : card.configProblems) raise(Health::Warning, p);
    card.health = worst;
    card.healthReasons = std::move(reasons);
}

}  // namespace aismi
