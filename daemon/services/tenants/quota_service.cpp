#include "quota_service.hpp"

#include "event_bus.hpp"
#include "event_repository.hpp"
#include "events.hpp"

#include <algorithm>
#include <cctype>

namespace aismi {
namespace {

constexpr size_t kMaxTenantLength = 64;
constexpr uint64_t kMaxVfsPerTenant = 1'000'000;

std::string limits(const Quota& q) {
    std::string s = std::to_string(q.maxVfs) + " VFs";
    if (q.maxComputeUnits) s += ", " + std::to_string(*q.maxComputeUnits) + " compute units";
    if (q.maxMemoryMib) s += ", " + std::to_string(*q.maxMemoryMib) + " MiB";
    return s;
}

}  // namespace

bool validTenantName(const std::string& t) {
    if (t.empty() || t.size() > kMaxTenantLength) return false;
    return std::all_of(t.begin(), t.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'; });
}

Result<void> QuotaService::set(const Quota& q) {
    if (!validTenantName(q.tenant))
        return makeError(Errc::InvalidArgument, "'" + q.tenant.substr(0, 64) + "' is not a tenant name (letters, digits, '-', '_' and '.', 1 to 64)");
    if (q.maxVfs > kMaxVfsPerTenant)
        return makeError(Errc::OutOfRange, "quota of " + q.tenant + ": at most " + std::to_string(kMaxVfsPerTenant) + " VFs, not " + std::to_string(q.maxVfs));
    if (auto r = quotas_.set(q); !r) return r;
    events_.publish(Notice{EventType::Quota, Severity::Info, "tenant " + q.tenant, "quota set: " + limits(q)});
    return {};
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

}  // namespace aismi
