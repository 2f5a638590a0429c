#include "transitions.hpp"

#include "snapshot.hpp"

#include <aismi/text.hpp>

namespace aismi {
namespace {

Severity severityOf(Health h) {
    switch (h) {
    case Health::Ok: return Severity::Info;
    case Health::Unknown:
    case Health::Warning: return Severity::Warning;
    case Health::Critical:
    case Health::Lost: return Severity::Critical;
    }
    return Severity::Warning;
}

Severity severityOf(VfState s) { return s == VfState::Hung || s == VfState::Error ? Severity::Warning : Severity::Info; }

uint64_t newErrors(std::optional<uint64_t> before, std::optional<uint64_t> now) {
    return before && now && *now > *before ? *now - *before : 0;
}

}  // namespace

std::vector<Notice> transitions(const CardSnapshot& before, const CardSnapshot& now) {
    std::vector<Notice> out;
    const CardInfo& info = now.info;
    // A card that was lost or stale then says nothing reliable about what changed.
    const bool comparable = !before.lost && !now.lost && before.health != Health::Unknown && now.health != Health::Unknown &&
                            before.info.key == now.info.key;
    if (!comparable) return out;
    if (const uint64_t n = newErrors(before.telemetry.eccUncorrected, now.telemetry.eccUncorrected))
        out.push_back(Notice{EventType::Ecc, Severity::Critical, info.label(),
                             text::counted(n, "new uncorrectable ECC error") + " (" + std::to_string(*now.telemetry.eccUncorrected) +
                                 " in all): the card is degraded",
                             info.index});
    if (now.thermal != before.thermal)
        out.push_back(Notice{EventType::Thermal, now.thermal == Thermal::Normal ? Severity::Info : now.thermal == Thermal::Warning ? Severity::Warning : Severity::Critical,
                             info.label(), "temperature " + std::string(thermalName(now.thermal)) + " (was " + std::string(thermalName(before.thermal)) + ")",
                             info.index});
    const size_t common = std::min(before.vfs.size(), now.vfs.size());
    for (size_t k = 0; k < common; ++k) {
        const VfSnapshot &a = before.vfs[k], &b = now.vfs[k];
        if (a.pciAddress != b.pciAddress) continue;  // another VF at this index (the count changed)
        if (a == b) continue;  // most VFs at most polls
        const auto label = info.vfLabel(b.index);
        if (a.state() && b.state() && *a.state() != *b.state())
            out.push_back(Notice{EventType::VfState, severityOf(*b.state()), label,
                                 "state " + std::string(vfStateName(*b.state())) + " (was " + std::string(vfStateName(*a.state())) + ")", info.index,
                                 b.index});
        if (a.health != b.health)
            out.push_back(Notice{EventType::VfHealth, severityOf(b.health), label,
                                 "health " + std::string(healthName(b.health)) + (b.healthReasons.empty() ? "" : ": " + text::join(b.healthReasons, "; ")),
                                 info.index, b.index});
        if (a.status && b.status)
            if (const uint64_t n = newErrors(a.status->eccUncorrected, b.status->eccUncorrected))
                out.push_back(Notice{EventType::Ecc, Severity::Critical, label,
                                     text::counted(n, "new uncorrectable ECC error") + ": the VF is degraded", info.index, b.index});
    }
    return out;
}

}  // namespace aismi
