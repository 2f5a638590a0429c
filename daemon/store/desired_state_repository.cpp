#include "desired_state_repository.hpp"

#include "database.hpp"

namespace aismi {

Result<void> DesiredStateRepository::setVfCount(const std::string& serial, unsigned count) {
    vfCounts_.erase(serial);
    Statement st(db_,
                 "INSERT INTO cards (serial, desired_vf_count) VALUES (?1, ?2) "
                 "ON CONFLICT (serial) DO UPDATE SET desired_vf_count = excluded.desired_vf_count");
    return st.bind(1, serial).bind(2, static_cast<int64_t>(count)).run("set desired VF count of " + serial);
}

Result<void> DesiredStateRepository::clearVfCount(const std::string& serial) {
    vfCounts_.erase(serial);
    Statement st(db_, "DELETE FROM cards WHERE serial = ?1");
    return st.bind(1, serial).run("clear desired VF count of " + serial);
}

Result<std::optional<unsigned>> DesiredStateRepository::vfCount(const std::string& serial) {
    if (auto it = vfCounts_.find(serial); it != vfCounts_.end()) return it->second;
    Statement st(db_, "SELECT desired_vf_count FROM cards WHERE serial = ?1");
    st.bind(1, serial);
    std::optional<unsigned> count;
    switch (st.step()) {
    case Statement::Step::Done: break;
    case Statement::Step::Row: count = static_cast<unsigned>(st.integer(0)); break;
    default: return db_.error("read desired VF count of " + serial);
    }
    if (!db_.inTransaction()) vfCounts_[serial] = count;
    return count;
}

Result<void> DesiredStateRepository::setProvisioned(const std::string& serial, unsigned vf, const Provisioned& p) {
    provisionedVfs_.erase(serial);
    Statement st(db_,
                 "INSERT INTO vf_provisioning (serial, vf, compute_units, memory_mib, engines, profile, tenant, burst_units, weight) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (serial, vf) DO UPDATE SET compute_units = excluded.compute_units, "
                 "memory_mib = excluded.memory_mib, engines = excluded.engines, profile = excluded.profile, tenant = excluded.tenant, "
                 "burst_units = excluded.burst_units, weight = excluded.weight");
    return st.bind(1, serial)
        .bind(2, static_cast<int64_t>(vf))
        .bind(3, static_cast<int64_t>(p.resources.computeUnits))
        .bind(4, static_cast<int64_t>(p.resources.memoryMib))
        .bind(5, static_cast<int64_t>(p.resources.engines))
        .bind(6, p.profile)
        .bind(7, p.tenant)
        .bind(8, static_cast<int64_t>(p.resources.burstCap()))
        .bind(9, static_cast<int64_t>(p.resources.weight))
        .run("set the provisioning of " + serial + " VF " + std::to_string(vf));
}

namespace {

DesiredStateRepository::Provisioned rowOf(Statement& st) {
    return DesiredStateRepository::Provisioned{
        st.text(4), st.text(5),
        Resources{static_cast<uint32_t>(st.integer(1)), static_cast<uint64_t>(st.integer(2)), static_cast<uint32_t>(st.integer(3)),
                  static_cast<uint32_t>(st.integer(6)), static_cast<uint32_t>(st.integer(7))}};
}

}  // namespace

Result<std::optional<DesiredStateRepository::Provisioned>> DesiredStateRepository::provisioned(const std::string& serial, unsigned vf) {
    Statement st(db_, "SELECT vf, compute_units, memory_mib, engines, profile, tenant, burst_units, weight FROM vf_provisioning WHERE serial = ?1 AND vf = ?2");
    st.bind(1, serial).bind(2, static_cast<int64_t>(vf));
    switch (st.step()) {
    case Statement::Step::Done: return std::optional<Provisioned>();
    case Statement::Step::Row: return std::optional<Provisioned>(rowOf(st));
    default: return db_.error("read the provisioning of " + serial + " VF " + std::to_string(vf));
    }
}

Result<std::map<unsigned, DesiredStateRepository::Provisioned>> DesiredStateRepository::provisionedVfs(const std::string& serial) {
    if (auto it = provisionedVfs_.find(serial); it != provisionedVfs_.end()) return it->second;
    Statement st(db_, "SELECT vf, compute_units, memory_mib, engines, profile, tenant, burst_units, weight FROM vf_provisioning WHERE serial = ?1 ORDER BY vf");
    st.bind(1, serial);
    std::map<unsigned, Provisioned> out;
    Statement::Step rc;
    while ((rc = st.step()) == Statement::Step::Row) out[static_cast<unsigned>(st.integer(0))] = rowOf(st);
    if (rc != Statement::Step::Done) return db_.error("read the provisioned VFs of " + serial);
    if (!db_.inTransaction()) provisionedVfs_[serial] = out;
    return out;
}

Result<void> DesiredStateRepository::clearProvisioned(const std::string& serial, unsigned vf) {
    provisionedVfs_.erase(serial);
    Statement st(db_, "DELETE FROM vf_provisioning WHERE serial = ?1 AND vf = ?2");
    return st.bind(1, serial).bind(2, static_cast<int64_t>(vf)).run("clear the provisioning of " + serial + " VF " + std::to_string(vf));
}

Result<void> DesiredStateRepository::clearProvisionedCard(const std::string& serial) {
    provisionedVfs_.erase(serial);
    Statement st(db_, "DELETE FROM vf_provisioning WHERE serial = ?1");
    return st.bind(1, serial).run("clear the provisioning of " + serial);
}

}  // namespace aismi
