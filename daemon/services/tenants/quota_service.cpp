#include "quota_service.hpp"

#include "event_bus.hpp"
#include "event_repository.hpp"
#include "events.hpp"

#include <aismi/text.hpp>
#include <algorithm>
#include <cctype>

namespace aismi {
namespace {

constexpr uint64_t kMaxVfsPerTenant = 1'000'000;

std::string describe(const Quota& q) {
    std::string s = text::counted(q.maxVfs, "VF");
    if (q.maxComputeUnits) s += ", " + std::to_string(*q.maxComputeUnits) + " compute units";
    if (q.maxMemoryMib) s += ", " + std::to_string(*q.maxMemoryMib) + " MiB";
    return s;
}

}  // namespace

bool validTenantName(const std::string& t) {
    if (t.empty() || t.size() > limits::kMaxTenantLength) return false;
    return std::all_of(t.begin(), t.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'; });
}

Result<void> QuotaService::set(const Quota& q) {
    if (!validTenantName(q.tenant))
        return makeError(Errc::InvalidArgument, "'" + q.tenant.substr(0, 64) + "' is not a tenant name (letters, digits, '-', '_' and '.', 1 to 64)");
    if (q.maxVfs > kMaxVfsPerTenant)
        return makeError(Errc::OutOfRange, "quota of " + q.tenant + ": at most " + std::to_string(kMaxVfsPerTenant) + " VFs, not " + std::to_string(q.maxVfs));
    auto existing = quotas_.get(q.tenant);
    if (!existing) return std::move(existing).error();
    if (!*existing) {
        auto tenants = quotas_.count();
        if (!tenants) return std::move(tenants).error();
        if (*tenants >= maxTenants_)
            return makeError(Errc::NoSpace, "quota of " + q.tenant + ": " + std::to_string(*tenants) + " tenants have a quota, the most aismid keeps; remove one first");
    }
    if (*existing && **existing == q) return {};  // the same again: nothing changes, nothing to tell
    if (auto r = quotas_.set(q); !r) return r;
    events_.publish(Notice{EventType::Quota, Severity::Info, "tenant " + q.tenant, "quota set: " + describe(q)});
    return {};
}

Result<void> QuotaService::update(const std::string& tenant, const Change& change) {
    if (!validTenantName(tenant))
        return makeError(Errc::InvalidArgument, "'" + tenant.substr(0, 64) + "' is not a tenant name (letters, digits, '-', '_' and '.', 1 to 64)");
    auto existing = quotas_.get(tenant);
    if (!existing) return std::move(existing).error();
    if (!*existing && !change.maxVfs)
        return makeError(Errc::InvalidArgument, "tenant " + tenant + " has no quota yet: give its VF limit too (--max-vfs)");
    // Read and written on the loop thread, between no other change: nothing lands in between.
    Quota q = existing->value_or(Quota{tenant, 0, std::nullopt, std::nullopt});
    if (change.maxVfs) q.maxVfs = *change.maxVfs;
    if (change.maxComputeUnits) q.maxComputeUnits = *change.maxComputeUnits;
    if (change.maxMemoryMib) q.maxMemoryMib = *change.maxMemoryMib;
    return set(q);
}

Result<void> QuotaService::remove(const std::string& tenant) {
    if (!validTenantName(tenant)) return makeError(Errc::InvalidArgument, "'" + tenant.substr(0, 64) + "' is not a tenant name");
    if (auto r = quotas_.remove(tenant); !r) return r;
    events_.publish(Notice{EventType::Quota, Severity::Info, "tenant " + tenant, "quota removed"});
    return {};
}

Result<std::vector<QuotaService::Row>> QuotaService::list() {
    auto all = quotas_.all();
    if (!all) return std::move(all).error();
    std::vector<Row> out;
    for (auto& q : *all) {
        auto used = quotas_.usage(q.tenant);
        if (!used) return std::move(used).error();
        out.push_back(Row{std::move(q), *used});
    }
    return out;
}

Result<void> checkQuota(QuotaRepository& quotas, const std::string& tenant, const std::string& cardKey, unsigned vf, const Resources& resources) {
    if (tenant.empty()) return {};
    auto quota = quotas.get(tenant);
    if (!quota) return std::move(quota).error();
    if (!*quota) return {};
    auto used = quotas.usage(tenant, cardKey, vf);
    if (!used) return std::move(used).error();
    const Quota& q = **quota;
    const auto over = [&](const std::string& resource, uint64_t max, uint64_t inUse, uint64_t asked) {
        const std::string allowed = resource == "VFs" ? text::counted(max, "VF") : std::to_string(max) + " " + resource;
        return makeError(Errc::NoSpace, "tenant " + tenant + "'s quota allows " + allowed + "; " +
                                            std::to_string(inUse) + " in use, " + std::to_string(asked) + " asked");
    };
    if (used->vfs + 1 > q.maxVfs) return over("VFs", q.maxVfs, used->vfs, 1);
    if (q.maxComputeUnits && used->computeUnits + resources.computeUnits > *q.maxComputeUnits)
        return over("compute units", *q.maxComputeUnits, used->computeUnits, resources.computeUnits);
    if (q.maxMemoryMib && used->memoryMib + resources.memoryMib > *q.maxMemoryMib)
        return over("MiB of memory", *q.maxMemoryMib, used->memoryMib, resources.memoryMib);
    return {};
}

}  // namespace aismi
