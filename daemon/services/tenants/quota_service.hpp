// Tenant quotas, host-wide: set, remove and list them with what each tenant holds. The check
// itself runs where VFs are provisioned (ProvisionService), in the same transaction as the
// change. Loop thread.
#pragma once

#include "limits.hpp"
#include "quota_repository.hpp"

#include <aismi/error.hpp>
#include <aismi/types.hpp>

#include <string>
#include <vector>

namespace aismi {

class EventBus;

inline constexpr const char* kActionManageQuotas = "org.aismi.manage-quotas";

/// Letters, digits, '-', '_' and '.', 1 to 64 of them.
bool validTenantName(const std::string& name);

/// Whether `tenant` ("" for none: always) may hold one more VF with `resources` on top of
/// what it holds without VF `vf` of `cardKey`: NoSpace naming the limit if not. Call inside
/// the transaction that records the change, so two requests can never both take the last unit.
Result<void> checkQuota(QuotaRepository& quotas, const std::string& tenant, const std::string& cardKey, unsigned vf, const Resources& resources);

class QuotaService {
public:
    /// At most `maxTenants` tenants have a quota (limits::kMaxTenants; smaller in tests).
    QuotaService(QuotaRepository& quotas, EventBus& events, size_t maxTenants = limits::kMaxTenants)
        : quotas_(quotas), events_(events), maxTenants_(maxTenants) {}

    /// Sets (or replaces) a tenant's quota. A quota below what the tenant holds is accepted:
    /// nothing is taken away, but no more is admitted until usage falls below it. A new tenant
    /// past the limit of tenants is refused (NoSpace).
    Result<void> set(const Quota& q);
    /// Changes only the limits given (a nullopt inside means: remove that limit); the others
    /// stay as they are. A tenant without a quota must be given maxVfs (InvalidArgument).
    struct Change {
        std::optional<uint64_t> maxVfs;
        std::optional<std::optional<uint64_t>> maxComputeUnits, maxMemoryMib;
    };
    Result<void> update(const std::string& tenant, const Change& change);
    Result<void> remove(const std::string& tenant);

    struct Row {
        Quota quota;
        QuotaUsage used;
    };
    Result<std::vector<Row>> list();

private:
    QuotaRepository& quotas_;
    EventBus& events_;
    size_t maxTenants_;
};

}  // namespace aismi
