// The cards: who each is (CardInfo), its device handle and its latest snapshot, numbered by
// the daemon's index; lookup by index, PCI address or serial; and rediscovery of cards that
// vanished and came back (a reset, a rescan, a power cycle) or appeared. Indexes are
// remembered (KnownCardRepository): a card keeps its index across restarts, and a card that is
// missing or unreadable keeps its place as a lost card, so the others never shift. Loop
// thread only, except scan(), which is blocking and runs on the device executor.
#pragma once

#include "snapshot.hpp"

#include <aismi/device_ref.hpp>
#include <aismi/error.hpp>

#include <memory>
#include <optional>
#include <vector>

namespace aismi {

class Card;
class Fs;
class KnownCardRepository;

class Inventory {
public:
    /// `memory` (optional) remembers each card's index across restarts.
    Inventory(Fs& fs, std::vector<DeviceMatch> matches, KnownCardRepository* memory = nullptr);
    ~Inventory();

    /// A card as a scan found it, before it is merged.
    struct Found {
        std::shared_ptr<Card> device;
        CardInfo info;            // index not yet assigned
        bool identified = false;  // its serial could be read (else the key is its address)
    };
    /// Lists the matching devices and reads who they are. Blocking.
    Result<std::vector<Found>> scan() const;

    struct Merged {
        std::vector<unsigned> added;     // new cards, numbered after the known ones
        std::vector<unsigned> moved;     // known cards (by serial) at a new PCI address
        std::vector<unsigned> replaced;  // another card (by serial) where a known one was
        std::vector<std::string> problems;  // what could not be remembered
    };
    /// Start-up: the remembered cards take their indexes (lost until a scan finds them),
    /// then the first scan is merged; cards never seen before are numbered in address order.
    Result<Merged> adopt(std::vector<Found> found);
    /// Merges a scan. A card is matched by serial first (it keeps its index at any address),
    /// then by address (a card whose serial cannot be read keeps the identity it had; a
    /// different serial is a replacement, which takes over the index). Cards a scan does not
    /// find stay: their polls say they are lost.
    Merged merge(std::vector<Found> found);

    size_t size() const { return cards_.size(); }
    /// The sysfs the cards are read through (for a single function's attributes).
    Fs& fs() const { return fs_; }
    const CardInfo& info(unsigned card) const { return cards_.at(card).info; }
    std::shared_ptr<Card> device(unsigned card) const { return cards_.at(card).device; }
    /// The device of the card with this stable key; null when the inventory has no such card.
    std::shared_ptr<Card> deviceByKey(const std::string& key) const {
        const auto card = findByKey(key);
        return card ? device(*card) : nullptr;
    }
    const CardSnapshot& snapshot(unsigned card) const { return cards_.at(card).snapshot; }
    /// Installs a fresh snapshot and returns the one it replaces.
    CardSnapshot replaceSnapshot(unsigned card, CardSnapshot fresh);

    /// The card with this stable key (serial, else PCI address), if the inventory has it.
    std::optional<unsigned> findByKey(const std::string& key) const;
    /// A card by index ("0"), PCI address (any form DeviceRef accepts) or serial.
    Result<unsigned> findCard(std::string_view id) const;
    /// A VF as CARD:VF (card by index, address or serial) or by its PCI address.
    Result<VfRef> findVf(std::string_view id) const;
    const VfSnapshot* vf(const VfRef& ref) const;

private:
    Result<unsigned> resolve(const CardName& name, std::string_view asWritten) const;
    struct Entry {
        CardInfo info;
        std::shared_ptr<Card> device;
        CardSnapshot snapshot;
    };
    std::shared_ptr<Card> handle(const CardInfo& info) const;
    void remember(const CardInfo& info, Merged& out);
    Fs& fs_;
    std::vector<DeviceMatch> matches_;
    KnownCardRepository* memory_;
    std::vector<Entry> cards_;
};

}  // namespace aismi
