// Reads one card into a snapshot. Blocking (sysfs I/O): runs on the worker pool, never on
// the event loop thread.
#pragma once

#include "snapshot.hpp"

namespace aismi {

class Card;

/// Identity read once at discovery (it does not change while the card is present).
CardSnapshot readCardIdentity(const Card& card);

/// A fresh snapshot: `previous` supplies the identity. What cannot be read is left "not
/// reported" and explained in healthReasons; a lost device gives Health::Lost.
CardSnapshot readCardSnapshot(const Card& card, const CardSnapshot& identity);

}  // namespace aismi
