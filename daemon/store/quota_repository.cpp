#include "quota_repository.hpp"

#include "database.hpp"

namespace aismi {

Result<void> QuotaRepository::set(const Quota& q) {
    Statement st(db_,
                 "INSERT INTO quotas (tenant, max_vfs, max_compute_units, max_memory_mib) VALUES (?1, ?2, ?3, ?4) "
                 "ON CONFLICT (tenant) DO UPDATE SET max_vfs = excluded.max_vfs, max_compute_units = excluded.max_compute_units, "
                 "max_memory_mib = excluded.max_memory_mib");
    return st.bind(1, q.tenant)
        .bind(2, static_cast<int64_t>(q.maxVfs))
        .bind(3, q.maxComputeUnits)
        .bind(4, q.maxMemoryMib)
        .run("set the quota of " + q.tenant);
}

Result<void> QuotaRepository::remove(const std::string& tenant) {
    Statement st(db_, "DELETE FROM quotas WHERE tenant = ?1");
    if (auto r = st.bind(1, tenant).run("remove the quota of " + tenant); !r) return r;
    if (db_.changes() == 0) return makeError(Errc::NotFound, "tenant '" + tenant + "' has no quota");
    return {};
}

namespace {

Quota rowOf(Statement& st) { return Quota{st.text(0), static_cast<uint64_t>(st.integer(1)), st.optionalInteger(2), st.optionalInteger(3)}; }

}  // namespace

Result<std::optional<Quota>> QuotaRepository::get(const std::string& tenant) {
    Statement st(db_, "SELECT tenant, max_vfs, max_compute_units, max_memory_mib FROM quotas WHERE tenant = ?1");
    st.bind(1, tenant);
    switch (st.step()) {
    case Statement::Step::Done: return std::optional<Quota>();
    case Statement::Step::Row: return std::optional<Quota>(rowOf(st));
    default: return db_.error("read the quota of " + tenant);
    }
}

Result<std::vector<Quota>> QuotaRepository::all() {
    Statement st(db_, "SELECT tenant, max_vfs, max_compute_units, max_memory_mib FROM quotas ORDER BY tenant");
    std::vector<Quota> out;
    Statement::Step rc;
    while ((rc = st.step()) == Statement::Step::Row) out.push_back(rowOf(st));
    if (rc != Statement::Step::Done) return db_.error("read the quotas");
    return out;
}

Result<size_t> QuotaRepository::count() {
    Statement st(db_, "SELECT COUNT(*) FROM quotas");
    if (st.step() != Statement::Step::Row) return db_.error("count the quotas");
    return static_cast<size_t>(st.integer(0));
}

Result<QuotaUsage> QuotaRepository::usage(const std::string& tenant, const std::string& exceptSerial, int64_t exceptVf) {
    Statement st(db_,
                 "SELECT COUNT(*), COALESCE(SUM(compute_units), 0), COALESCE(SUM(memory_mib), 0) FROM vf_provisioning "
                 "WHERE tenant = ?1 AND profile != '' AND NOT (serial = ?2 AND vf = ?3)");
    st.bind(1, tenant).bind(2, exceptSerial).bind(3, exceptVf);
    if (st.step() != Statement::Step::Row) return db_.error("count what tenant " + tenant + " holds");
    return QuotaUsage{static_cast<uint64_t>(st.integer(0)), static_cast<uint64_t>(st.integer(1)), static_cast<uint64_t>(st.integer(2))};
}

}  // namespace aismi
