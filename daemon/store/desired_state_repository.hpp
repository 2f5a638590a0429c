// Desired state of the cards: what operators asked for, keyed by card serial (stable across
// re-enumeration and slot moves).
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

    Result<void> setVfResources(const std::string& serial, unsigned vf, const Resources& r);
    Result<std::map<unsigned, Resources>> vfResources(const std::string& serial);
    Result<void> clearVfResources(const std::string& serial);

private:
    Database& db_;
};

}  // namespace aismi
