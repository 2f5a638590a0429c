// Tenant quotas, host-wide: how many VFs (and optionally compute units and memory) a tenant's
// provisioned VFs may hold together. Usage is counted from the provisioning rows, in the
// same transaction as a change, so two requests can never both take the last unit.
#pragma once

#include <aismi/error.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace aismi {

class Database;

struct Quota {
    std::string tenant;
    uint64_t maxVfs = 0;
    std::optional<uint64_t> maxComputeUnits;  // nullopt: no limit
    std::optional<uint64_t> maxMemoryMib;
    bool operator==(const Quota&) const = default;
};

struct QuotaUsage {
    uint64_t vfs = 0;
    uint64_t computeUnits = 0;
    uint64_t memoryMib = 0;
};

class QuotaRepository {
public:
    explicit QuotaRepository(Database& db) : db_(db) {}

    Result<void> set(const Quota& q);
    /// NotFound when the tenant has no quota.
    Result<void> remove(const std::string& tenant);
    Result<std::optional<Quota>> get(const std::string& tenant);
    Result<std::vector<Quota>> all();
    /// How many tenants have a quota.
    Result<size_t> count();
    /// What the tenant's provisioned VFs hold, on every card; `exceptSerial`/`exceptVf` leave
    /// out one VF (the one being re-provisioned).
    Result<QuotaUsage> usage(const std::string& tenant, const std::string& exceptSerial = "", int64_t exceptVf = -1);

private:
    Database& db_;
};

}  // namespace aismi
