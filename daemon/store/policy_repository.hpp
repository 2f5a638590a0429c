// Each card's oversubscription policy, by card key; a card without a row has none (1.0, 1.0).
#pragma once

#include <aismi/error.hpp>
#include <aismi/types.hpp>

#include <map>
#include <string>

namespace aismi {

class Database;

class PolicyRepository {
public:
    explicit PolicyRepository(Database& db) : db_(db) {}

    /// Stores `policy` for the card (no policy at all is stored as no row).
    Result<void> set(const std::string& cardKey, const Oversubscription& policy);
    Result<std::map<std::string, Oversubscription>> all();

private:
    Database& db_;
};

}  // namespace aismi
