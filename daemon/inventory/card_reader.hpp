// Reads one card into a snapshot. Blocking (sysfs I/O): runs on the device executor, never on
// the loop thread. Health is not judged here (see health_assessor.hpp).
#pragma once

#include "snapshot.hpp"

namespace aismi {

class Card;

/// Who the card is, read at discovery.
CardInfo readCardInfo(const Card& card, unsigned index);

/// A fresh snapshot. What cannot be read stays std::nullopt and is listed in readProblems;
/// a device that does not answer sets `lost`.
CardSnapshot readCardSnapshot(const Card& card, const CardInfo& info);

}  // namespace aismi
