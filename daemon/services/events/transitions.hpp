// What changed between two polls of a card that is an event of its own: a VF's state or
// health, uncorrectable ECC errors appearing, the temperature crossing a threshold. (The
// card's health is HealthChanged, published by the poller.) A pure function of the two
// snapshots; a lost or unreadable card yields only its card-level events.
#pragma once

#include "events.hpp"

#include <vector>

namespace aismi {

struct CardSnapshot;

std::vector<Notice> transitions(const CardSnapshot& before, const CardSnapshot& now);

}  // namespace aismi
