// The cards: who each is (CardInfo), its device handle and its latest snapshot, numbered by
// the daemon's index; lookup by index, PCI address or serial; and rediscovery of cards that
// vanished and came back (a reset, a rescan, a power cycle) or appeared. Loop thread only,
// except scan(), which is blocking and runs on the device executor.
#pragma once

#include "snapshot.hpp"

#include <aismi/device_ref.hpp>
#include <aismi/error.hpp>

#include <memory>
#include <vector>

namespace aismi {

class Card;
class Fs;

class Inventory {
public:
    Inventory(Fs& fs, std::vector<DeviceMatch> matches);
    ~Inventory();

    /// A card as a scan found it, before it is merged.
    struct Found {
        std::shared_ptr<Card> device;
        CardInfo info;  // index not yet assigned
    };
    /// Lists the matching devices and reads who they are. Blocking.
    Result<std::vector<Found>> scan() const;

    /// Takes the cards of a first scan, numbered in address order. Start-up.
    void adopt(std::vector<Found> found);

    struct Merged {
        std::vector<unsigned> added;   // new cards, numbered after the existing ones
        std::vector<unsigned> moved;   // known cards (by serial) at a new PCI address
    };
    /// Merges a later scan: a card keeps its index when it comes back, at any address; cards
    /// a scan does not find stay (their polls say they are lost).
    Merged merge(std::vector<Found> found);

    size_t size() const { return cards_.size(); }
    const CardInfo& info(unsigned card) const { return cards_.at(card).info; }
    std::shared_ptr<Card> device(unsigned card) const { return cards_.at(card).device; }
    const CardSnapshot& snapshot(unsigned card) const { return cards_.at(card).snapshot; }
    /// Installs a fresh snapshot and returns the one it replaces.
    CardSnapshot replaceSnapshot(unsigned card, CardSnapshot fresh);

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
    Fs& fs_;
    std::vector<DeviceMatch> matches_;
    std::vector<Entry> cards_;
};

}  // namespace aismi
