// How a user names a card or a VF, everywhere (aismi -i, D-Bus FindCard/FindVirtualFunction,
// aismi-sim targets): a card by index ("0"), PCI address or serial; a VF as CARD:VF ("0:3")
// or by its PCI address. One parser classifies the text; each consumer resolves it against
// its own inventory.
#pragma once

#include <aismi/error.hpp>
#include <aismi/pci_address.hpp>

#include <compare>
#include <string>
#include <string_view>

namespace aismi {

/// One VF of one card, by the daemon's card index and the VF's index on that card.
struct VfRef {
    unsigned card = 0;
    unsigned vf = 0;
    std::string str() const { return std::to_string(card) + ":" + std::to_string(vf); }
    auto operator<=>(const VfRef&) const = default;
};

/// A card named without saying which: an index, a PCI address or a serial.
struct CardName {
    enum class Kind { Index, Address, Serial };
    Kind kind = Kind::Index;
    unsigned index = 0;
    PciAddress address;
    std::string serial;
    bool operator==(const CardName&) const = default;
};

/// What a user wrote, classified.
struct DeviceRef {
    enum class Kind { Card, Vf, Address };  // Address: a PF or a VF, only the inventory knows
    Kind kind = Kind::Card;
    CardName card;  // Card, and the card part of Vf
    unsigned vf = 0;  // Vf
    PciAddress address;  // Address

    /// Accepts "0"; "0000:3b:00.4", "3b:00.4" (lspci's short form) and nvidia-smi's
    /// "00000000:3B:00.4", in either case; "0:3" / "SERIAL:3" / "3b:00.0:3" for a VF; any other
    /// printable word of up to 64 characters as a serial. Text that looks like a PCI address
    /// but is not one, or an index out of range, is InvalidArgument / OutOfRange.
    static Result<DeviceRef> parse(std::string_view text);
};

/// Parses a PCI address the way users write it: full, short (bus:dev.fn, domain 0) or with
/// nvidia-smi's 8-digit domain; hex in either case.
Result<PciAddress> parseUserPciAddress(std::string_view text);

/// Text from a user, cut to a length fit to echo in an error message.
std::string quoteInput(std::string_view text);

}  // namespace aismi
