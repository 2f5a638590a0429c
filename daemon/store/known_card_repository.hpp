// The cards aismid has seen, by index: who each was and where, so that a card keeps its
// index across restarts — also when it is missing or unreadable when aismid starts.
#pragma once

#include <aismi/error.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace aismi {

class Database;

struct KnownCard {
    unsigned index = 0;
    std::string key;  // the card's stable key (serial, else PCI address)
    std::string serial;
    std::string pciAddress;
    std::string name;
    uint16_t vendorId = 0;
    uint16_t deviceId = 0;
    bool generic = false;
};

class KnownCardRepository {
public:
    explicit KnownCardRepository(Database& db) : db_(db) {}

    /// Every card seen so far, by index.
    Result<std::vector<KnownCard>> load();
    /// Records (or updates) the card at `card.index`; its key leaves any other index.
    Result<void> remember(const KnownCard& card);

private:
    Database& db_;
};

}  // namespace aismi
