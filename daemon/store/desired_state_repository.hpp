// Desired state of the cards: what operators asked for, keyed by card serial (stable across
// re-enumeration and slot moves). Every poll of every card reads a card's desired VF count and
// provisioned VFs: those reads are kept in memory, dropped at each write of that card, and
// never kept from inside a transaction (it may still roll back).
#pragma once

#include <aismi/error.hpp>
#include <aismi/types.hpp>

#include <map>
#include <optional>
#include <string>

namespace aismi {

class Database;

class DesiredStateRepository {
public:
    explicit DesiredStateRepository(Database& db) : db_(db) {}

    Result<void> setVfCount(const std::string& serial, unsigned count);
    /// Forgets the desired count (the card then has none: nothing is restored for it).
    Result<void> clearVfCount(const std::string& serial);
    Result<std::optional<unsigned>> vfCount(const std::string& serial);

    /// What aismid provisioned on a VF: the profile it got, for whom, and what the device
    /// holds; profile "" (and no resources) is a VF aismid unprovisioned. A VF without a row
    /// keeps whatever the driver gave it.
    struct Provisioned {
        std::string profile;
        std::string tenant;  // "" for none
        Resources resources;
        bool operator==(const Provisioned&) const = default;
        bool holdsNothing() const { return profile.empty(); }
    };
    Result<void> setProvisioned(const std::string& serial, unsigned vf, const Provisioned& p);
    Result<std::optional<Provisioned>> provisioned(const std::string& serial, unsigned vf);
    /// Every provisioned VF of a card, by VF index.
    Result<std::map<unsigned, Provisioned>> provisionedVfs(const std::string& serial);
    Result<void> clearProvisioned(const std::string& serial, unsigned vf);
    /// Forgets every VF of a card (its VFs are being replaced).
    Result<void> clearProvisionedCard(const std::string& serial);

private:
    Database& db_;
    std::map<std::string, std::optional<unsigned>, std::less<>> vfCounts_;
    std::map<std::string, std::map<unsigned, Provisioned>, std::less<>> provisionedVfs_;
};

}  // namespace aismi
