#include "desired_state_repository.hpp"

#include "database.hpp"

namespace aismi {

Result<void> DesiredStateRepository::setVfCount(const std::string& serial, unsigned count) {
    Statement st(db_,
                 "INSERT INTO cards (serial, desired_vf_count) VALUES (?1, ?2) "
                 "ON CONFLICT (serial) DO UPDATE SET desired_vf_count = excluded.desired_vf_count");
    return st.bind(1, serial).bind(2, static_cast<int64_t>(count)).run("set desired VF count of " + serial);
}

Result<void> DesiredStateRepository::clearVfCount(const std::string& serial) {
    Statement st(db_, "DELETE FROM cards WHERE serial = ?1");
    return st.bind(1, serial).run("clear desired VF count of " + serial);
}

Result<std::optional<unsigned>> DesiredStateRepository::vfCount(const std::string& serial) {
    Statement st(db_, "SELECT desired_vf_count FROM cards WHERE serial = ?1");
    st.bind(1, serial);
    switch (st.step()) {
    case Statement::Step::Done: return std::optional<unsigned>();
    case Statement::Step::Row: return std::optional<unsigned>(static_cast<unsigned>(st.integer(0)));
    default: return db_.error("read desired VF count of " + serial);
    }
}

Result<void> DesiredStateRepository::setVfResources(const std::string& serial, unsigned vf, const Resources& r) {
    Statement st(db_,
                 "INSERT INTO vf_resources (serial, vf, compute_units, memory_mib, engines) VALUES (?1, ?2, ?3, ?4, ?5) "
                 "ON CONFLICT (serial, vf) DO UPDATE SET compute_units = excluded.compute_units, "
                 "memory_mib = excluded.memory_mib, engines = excluded.engines");
    return st.bind(1, serial)
        .bind(2, static_cast<int64_t>(vf))
        .bind(3, static_cast<int64_t>(r.computeUnits))
        .bind(4, static_cast<int64_t>(r.memoryMib))
        .bind(5, static_cast<int64_t>(r.engines))
        .run("set desired resources of " + serial + " VF " + std::to_string(vf));
}

Result<std::map<unsigned, Resources>> DesiredStateRepository::vfResources(const std::string& serial) {
    Statement st(db_, "SELECT vf, compute_units, memory_mib, engines FROM vf_resources WHERE serial = ?1 ORDER BY vf");
    st.bind(1, serial);
    std::map<unsigned, Resources> out;
    Statement::Step rc;
    while ((rc = st.step()) == Statement::Step::Row)
        out[static_cast<unsigned>(st.integer(0))] = Resources{static_cast<uint32_t>(st.integer(1)), static_cast<uint64_t>(st.integer(2)),
                                                              static_cast<uint32_t>(st.integer(3))};
    if (rc != Statement::Step::Done) return db_.error("read desired resources of " + serial);
    return out;
}

Result<void> DesiredStateRepository::clearVfResources(const std::string& serial) {
    Statement st(db_, "DELETE FROM vf_resources WHERE serial = ?1");
    return st.bind(1, serial).run("clear desired resources of " + serial);
}

}  // namespace aismi
