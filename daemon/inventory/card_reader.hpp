// Reads one card into a snapshot. Blocking (sysfs I/O): runs on the device executor, never on
// the loop thread. Health is not judged here (see health_assessor.hpp).
#pragma once

#include "snapshot.hpp"

#include <string>
#include <utility>
#include <vector>

namespace aismi {

class Card;

/// Who the card is, read at discovery.
CardInfo readCardInfo(const Card& card, unsigned index);

/// What a routine poll may take from the one before: each VF's IOMMU group by its PCI
/// address (a function's group is fixed while the function exists). Every tenth poll, and
/// every read after a change, reads everything.
struct CarryOver {
    std::vector<std::pair<std::string, uint32_t>> iommuGroups;  // by VF index: address, group
    std::vector<std::pair<std::string, std::string>> drivers;   // by VF index: address, driver (empty: read them)
};

/// A fresh snapshot. What cannot be read stays std::nullopt and is listed in readProblems;
/// a device that does not answer sets `lost`.
CardSnapshot readCardSnapshot(const Card& card, const CardInfo& info, const CarryOver* carry = nullptr);

}  // namespace aismi
