// What the recovery service remembers across restarts: when it reset each VF automatically
// (the guard counts them in a window), and which VFs it quarantined.
#pragma once

#include <aismi/error.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace aismi {

class Database;

class RecoveryRepository {
public:
    explicit RecoveryRepository(Database& db) : db_(db) {}

    Result<void> recordAutoReset(const std::string& cardKey, unsigned vf, int64_t at);
    /// The automatic resets of the VF at or after `since` (unix seconds), oldest first; older
    /// ones, of every VF, are forgotten.
    Result<std::vector<int64_t>> autoResets(const std::string& cardKey, unsigned vf, int64_t since);

    /// Every VF's automatic resets at or after `since`, oldest first (start-up).
    Result<std::map<std::pair<std::string, unsigned>, std::vector<int64_t>>> allAutoResets(int64_t since);

    Result<void> recordCardReset(const std::string& cardKey, int64_t at);
    /// The card's escalated resets at or after `since`; older ones are forgotten.
    Result<unsigned> cardResets(const std::string& cardKey, int64_t since);

    /// The recovery policy as set at run time.
    struct StoredPolicy {
        bool autoReset = true;
        unsigned guardResets = 3, guardWindowS = 600;
        bool autoCardReset = false;
        unsigned cardResetBudget = 1, cardResetWindowS = 3600;
    };
    Result<void> storePolicy(const StoredPolicy& p);
    Result<std::optional<StoredPolicy>> storedPolicy();

    struct Quarantine {
        int64_t since = 0;
        std::string reason;
    };
    Result<void> quarantine(const std::string& cardKey, unsigned vf, const Quarantine& q);
    /// NotFound when the VF is not quarantined.
    Result<void> release(const std::string& cardKey, unsigned vf);
    Result<std::map<std::pair<std::string, unsigned>, Quarantine>> quarantined();

private:
    Database& db_;
};

}  // namespace aismi
