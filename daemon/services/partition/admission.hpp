// Admission of VF shapes to a card under its oversubscription policy: the guarantees never
// exceed the card's compute; the burst caps together stay within the compute ratio times it;
// the memory the VFs are given stays within the memory ratio times the card's memory
// (docs/oversubscription.md). Pure functions: ProvisionService, LayoutService and `aismi
// profile list` ask the same questions.
#pragma once

#include "policy_repository.hpp"

#include <aismi/error.hpp>
#include <aismi/types.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace aismi {

struct CardSnapshot;

/// Whether `card` can be provisioned at all, as last read: a card that does not answer, or
/// whose capacity could not be read, is DeviceLost (exit 8) saying so; a generic device (no
/// vendor ABI) is NotSupported. `what` begins the message.
Result<void> requireProvisionable(const CardSnapshot& card, const std::string& what);

/// What VFs hold together.
struct Usage {
    uint64_t guaranteed = 0;  // compute units
    uint64_t burst = 0;       // burst caps, compute units
    uint64_t memoryMib = 0;
    void add(const Resources& r) {
        guaranteed += r.computeUnits;
        burst += r.burstCap();
        memoryMib += r.memoryMib;
    }
};

/// How much a card may hand out under a policy.
struct Limits {
    uint64_t guaranteed = 0;
    uint64_t burst = 0;
    uint64_t memoryMib = 0;
    static Limits of(const Resources& capacity, const Oversubscription& policy);
};

/// Nullopt when `held` plus `asked` stays within `limits`; otherwise the refusal: which
/// resource, how much was asked, how much is left ("needs 64 compute units, 32 of 128 are free").
std::optional<std::string> exceeds(const Limits& limits, const Oversubscription& policy, const Usage& held, const Usage& asked);

/// How many more VFs of `shape` fit beside `held`.
uint64_t howManyMore(const Limits& limits, const Usage& held, const Resources& shape);

}  // namespace aismi
