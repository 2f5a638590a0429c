#include "health_assessor.hpp"

#include <aismi/text.hpp>

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

namespace {

constexpr int64_t kRateWindowS = 3600;
constexpr int64_t kSampleEveryS = 60;

// How far each counter rose within the last hour: against the oldest sample of that hour.
// A counter that went down (the device was reset) counts from zero.
uint64_t rise(uint64_t now, uint64_t base) { return now >= base ? now - base : now; }

}  // namespace

void HealthAssessor::assess(CardSnapshot& card, int64_t nowS) {
    CardHistory& history = history_[card.info.key];
    auto& vfHistory = history.vfs;
    if (card.lost) {
        card.health = Health::Lost;
        card.healthReasons = {card.lostReason.empty() ? "the device does not answer (config space reads all ones)" : card.lostReason};
        for (auto& vf : card.vfs) vf.health = Health::Lost, vf.healthReasons.clear(), vf.stalled = false;
        history = CardHistory{};
        return;
    }
    if (!card.staleReason.empty()) {
        // Old data proves nothing either way: not ok, and not a hang (progress was not read).
        card.health = Health::Unknown;
        card.healthReasons = {card.staleReason};
        card.thermal = Thermal::Normal;
        for (auto& vf : card.vfs) vf.health = Health::Unknown, vf.healthReasons = {"the card's reading is stale"}, vf.stalled = false;
        return;
    }
    Health worst = Health::Ok;
    std::vector<std::string> reasons;
    const auto raise = [&](Health h, std::string why) {
        worst = std::max(worst, h);
        reasons.push_back(std::move(why));
    };
    if (!daemonProblem_.empty()) raise(Health::Warning, daemonProblem_);
    const CardTelemetry& t = card.telemetry;
    card.thermal = Thermal::Normal;
    if (t.temperatureC) {
        const double temp = *t.temperatureC;
        const double warnAt = t.temperatureCritC ? *t.temperatureCritC - t_.temperatureWarningBelowCritC : t_.temperatureWarningC;
        if (t.temperatureCritC && temp >= *t.temperatureCritC) {
            card.thermal = Thermal::Critical;
            raise(Health::Critical, "temperature " + celsius(temp) + " at or above the critical " + celsius(*t.temperatureCritC));
        } else if (temp >= warnAt) {
            card.thermal = Thermal::Warning;
            raise(Health::Warning, "temperature " + celsius(temp) + " is near the limit (warning at " + celsius(warnAt) + ")");
        }
    }
    if (t.eccUncorrected && *t.eccUncorrected > 0)
        raise(Health::Critical, "degraded: " + text::counted(*t.eccUncorrected, "uncorrectable ECC error"));
    if (t.aer && t.aer->fatal > 0) raise(Health::Critical, text::counted(t.aer->fatal, "fatal PCIe error"));
    // Rates: what the counters gained within the last hour, against the thresholds.
    const Counters current{nowS, t.eccCorrected.value_or(0), t.aer ? t.aer->nonfatal : 0, t.aer ? t.aer->correctable : 0};
    auto& samples = history.samples;
    while (samples.size() > 1 && samples[1].at <= nowS - kRateWindowS) samples.erase(samples.begin());
    if (samples.empty() || nowS - samples.back().at >= kSampleEveryS) samples.push_back(current);
    const Counters& base = samples.front();
    const auto rate = [&](uint64_t now, uint64_t then, uint64_t limit, const char* what) {
        if (const uint64_t n = rise(now, then); n > limit)
            raise(Health::Warning, std::to_string(n) + " " + what + " within the last hour (more than " + std::to_string(limit) + ")");
    };
    if (t.eccCorrected) rate(current.eccCorrected, base.eccCorrected, t_.eccCorrectablePerHour, "correctable ECC errors");
    if (t.aer) {
        rate(current.aerNonfatal, base.aerNonfatal, t_.aerNonfatalPerHour, "non-fatal PCIe errors");
        rate(current.aerCorrectable, base.aerCorrectable, t_.aerCorrectablePerHour, "correctable PCIe errors");
    }
    if (t_.warnDegradedLink && t.link && linkIsReadable(*t.link) && t.link->degraded())
        raise(Health::Warning, "PCIe link degraded to " + t.link->speed + " x" + std::to_string(t.link->width) + " (capable of " +
                                   t.link->maxSpeed + " x" + std::to_string(t.link->maxWidth) + ")");
    if (card.firmware) {
        for (unsigned b = 0; b < 2; ++b)
            if (!card.firmware->banks[b].integrityOk) {
                const bool active = b == card.firmware->activeBank;
                raise(active ? Health::Critical : Health::Warning,
                      "firmware bank " + std::to_string(b) + (active ? " (active)" : "") +
                          (card.firmware->banks[b].version.empty() ? " is empty (erased; nothing to fall back to)" : " fails its integrity check"));
            }
        if (card.firmware->selftestOk == false)
            raise(Health::Critical, "the running firmware (bank " + std::to_string(card.firmware->activeBank) + ", " +
                                        card.firmware->activeVersion() + ") fails its self-test");
    }
    unsigned hung = 0, errored = 0, stalled = 0, degraded = 0;
    vfHistory.resize(card.vfs.size());  // VFs past the count are gone: their history with them
    for (size_t k = 0; k < card.vfs.size(); ++k) {
        VfSnapshot& vf = card.vfs[k];
        VfHistory& h = vfHistory[k];
        vf.health = Health::Ok;
        vf.healthReasons.clear();
        const auto vfRaise = [&vf](Health level, std::string why) {
            vf.health = std::max(vf.health, level);
            vf.healthReasons.push_back(std::move(why));
        };
        for (const auto& problem : vf.assignmentProblems) vfRaise(Health::Warning, problem);
        if (!vf.status) {
            h = VfHistory{};
            vf.stalled = false;
            if (!card.info.genericMode) vfRaise(Health::Unknown, "its status cannot be read");
            continue;
        }
        const VfStatus& st = *vf.status;
        if (st.state == VfState::Hung) vfRaise(Health::Warning, "hung (the device says so)"), ++hung;
        if (st.state == VfState::Error) vfRaise(Health::Critical, "stopped by an error"), ++errored;
        if (st.eccUncorrected > 0) vfRaise(Health::Critical, "degraded: " + text::counted(st.eccUncorrected, "uncorrectable ECC error")), ++degraded;
        const bool sameVf = h.seen && h.pciAddress == vf.pciAddress;
        h.stalledPolls = sameVf && st.state == VfState::Running && st.progress == h.progress ? h.stalledPolls + 1 : 0;
        if (!sameVf) h.pciAddress = vf.pciAddress;
        h.seen = true;
        h.progress = st.progress;
        vf.stalled = h.stalledPolls >= t_.stalledPolls;
        if (vf.stalled) {
            vfRaise(Health::Warning, "running without progress for " + std::to_string(h.stalledPolls) + " polls");
            ++stalled;
        }
        if (vf.quarantined()) vfRaise(Health::Warning, "quarantined (aismi vf unquarantine releases it)");
    }
    if (hung) raise(Health::Warning, text::counted(hung, "VF") + " hung");
    if (errored) raise(Health::Warning, text::counted(errored, "VF") + " stopped by an error");
    if (degraded) raise(Health::Warning, text::counted(degraded, "VF") + " degraded by uncorrectable ECC errors");
    if (stalled) raise(Health::Warning, text::counted(stalled, "VF") + " running without progress for " + std::to_string(t_.stalledPolls) + " polls");
    if (card.desiredVfs && *card.desiredVfs != card.vfEnabled())
        raise(Health::Warning, "desired " + std::to_string(*card.desiredVfs) + " VFs, the device has " + std::to_string(card.vfEnabled()) +
                                   " (changed outside aismid, or lost in a reset)");
    for (const auto& p : card.readProblems) raise(Health::Unknown, "cannot read: " + p);
    for (const auto& p : card.configProblems) raise(Health::Warning, p);
    card.health = worst;
    card.healthReasons = std::move(reasons);
}

}  // namespace aismi
