#include "admission.hpp"

#include "snapshot.hpp"

#include <aismi/text.hpp>

#include <algorithm>

namespace aismi {

Result<void> requireProvisionable(const CardSnapshot& card, const std::string& what) {
    if (card.lost) return makeError(Errc::DeviceLost, what + ": the device does not answer");
    if (card.info.genericMode) return makeError(Errc::NotSupported, what + ": a generic device (no vendor ABI) has no provisioning");
    if (!card.capacity)
        return makeError(Errc::DeviceLost, what + ": the card does not answer its capacity" +
                                               (card.staleReason.empty() ? std::string() : " (" + card.staleReason + ")"));
    return {};
}

Limits Limits::of(const Resources& capacity, const Oversubscription& policy) {
    return Limits{capacity.computeUnits, uint64_t{capacity.computeUnits} * policy.compute / 100, capacity.memoryMib * policy.memory / 100};
}

std::optional<std::string> exceeds(const Limits& limits, const Oversubscription& policy, const Usage& held, const Usage& asked) {
    const auto check = [](const std::string& resource, uint64_t want, uint64_t taken, uint64_t total, const std::string& note)
        -> std::optional<std::string> {
        if (taken + want <= total) return std::nullopt;
        const uint64_t left = total > taken ? total - taken : 0;
        return "needs " + std::to_string(want) + " " + resource + ", " + std::to_string(left) + " of " + std::to_string(total) + " are free" + note;
    };
    if (auto r = check("compute units", asked.guaranteed, held.guaranteed, limits.guaranteed, "")) return r;
    const std::string computeNote = policy.compute == 100 ? " (the card's compute is not oversubscribed; aismi policy set --compute-oversubscription allows more)"
                                                          : " (compute oversubscription " + text::ratioText(policy.compute) + ")";
    if (auto r = check("compute units of burst cap", asked.burst, held.burst, limits.burst, computeNote)) return r;
    const std::string memoryNote = policy.memory == 100 ? "" : " (memory oversubscription " + text::ratioText(policy.memory) + ")";
    return check("MiB of memory", asked.memoryMib, held.memoryMib, limits.memoryMib, memoryNote);
}

uint64_t howManyMore(const Limits& limits, const Usage& held, const Resources& shape) {
    const auto room = [](uint64_t total, uint64_t taken, uint64_t each) -> uint64_t {
        if (each == 0) return UINT32_MAX;
        return total > taken ? (total - taken) / each : 0;
    };
    return std::min({room(limits.guaranteed, held.guaranteed, shape.computeUnits), room(limits.burst, held.burst, shape.burstCap()),
                     room(limits.memoryMib, held.memoryMib, shape.memoryMib)});
}

}  // namespace aismi
