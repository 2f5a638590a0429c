#include "assignment_repository.hpp"

#include "database.hpp"

namespace aismi {
namespace {

Assignment::State stateFrom(const std::string& s) {
    if (s == "assigned") return Assignment::State::Assigned;
    if (s == "releasing") return Assignment::State::Releasing;
    return Assignment::State::Assigning;
}

std::string vfName(const std::string& cardKey, unsigned vf) { return cardKey + " VF " + std::to_string(vf); }

}  // namespace

std::string_view assignmentStateName(Assignment::State s) {
    switch (s) {
    case Assignment::State::Assigning: return "assigning";
    case Assignment::State::Assigned: return "assigned";
    case Assignment::State::Releasing: return "releasing";
    }
    return "assigning";
}

Result<void> AssignmentRepository::put(const Assignment& a) {
    Statement st(db_,
                 "INSERT OR REPLACE INTO vf_assignments (card_key, vf, domain, tenant, tenant_given, state, adopted, since) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    st.bind(1, a.cardKey).bind(2, static_cast<int64_t>(a.vf)).bind(3, a.domain).bind(4, a.tenant);
    st.bind(5, int64_t{a.tenantGiven}).bind(6, std::string(assignmentStateName(a.state))).bind(7, int64_t{a.adopted}).bind(8, a.since);
    return st.run("record the assignment of " + vfName(a.cardKey, a.vf) + " to domain " + a.domain);
}

Result<void> AssignmentRepository::remove(const std::string& cardKey, unsigned vf) {
    Statement st(db_, "DELETE FROM vf_assignments WHERE card_key = ?1 AND vf = ?2");
    return st.bind(1, cardKey).bind(2, static_cast<int64_t>(vf)).run("forget the assignment of " + vfName(cardKey, vf));
}

Result<std::optional<Assignment>> AssignmentRepository::get(const std::string& cardKey, unsigned vf) {
    Statement st(db_, "SELECT domain, tenant, tenant_given, state, adopted, since FROM vf_assignments WHERE card_key = ?1 AND vf = ?2");
    st.bind(1, cardKey).bind(2, static_cast<int64_t>(vf));
    switch (st.step()) {
    case Statement::Step::Done: return std::optional<Assignment>();
    case Statement::Step::Row:
        return std::optional<Assignment>(
            Assignment{cardKey, vf, st.text(0), st.text(1), st.integer(2) != 0, stateFrom(st.text(3)), st.integer(4) != 0, st.integer(5)});
    default: return db_.error("read the assignment of " + vfName(cardKey, vf));
    }
}

Result<std::vector<Assignment>> AssignmentRepository::all() {
    Statement st(db_, "SELECT card_key, vf, domain, tenant, tenant_given, state, adopted, since FROM vf_assignments ORDER BY card_key, vf");
    std::vector<Assignment> out;
    Statement::Step rc;
    while ((rc = st.step()) == Statement::Step::Row)
        out.push_back(Assignment{st.text(0), static_cast<unsigned>(st.integer(1)), st.text(2), st.text(3), st.integer(4) != 0,
                                 stateFrom(st.text(5)), st.integer(6) != 0, st.integer(7)});
    if (rc != Statement::Step::Done) return db_.error("read the VF assignments");
    return out;
}

Result<void> AssignmentRepository::markDirty(const std::string& cardKey, unsigned vf, const std::string& reason) {
    Statement st(db_,
                 "INSERT INTO vf_scrub_pending (card_key, vf, since, reason) VALUES (?1, ?2, ?3, ?4) "
                 "ON CONFLICT (card_key, vf) DO UPDATE SET reason = excluded.reason");
    return st.bind(1, cardKey).bind(2, static_cast<int64_t>(vf)).bind(3, Database::now()).bind(4, reason).run("mark " + vfName(cardKey, vf) + " for scrubbing");
}

Result<void> AssignmentRepository::markClean(const std::string& cardKey, unsigned vf) {
    Statement st(db_, "DELETE FROM vf_scrub_pending WHERE card_key = ?1 AND vf = ?2");
    return st.bind(1, cardKey).bind(2, static_cast<int64_t>(vf)).run("mark " + vfName(cardKey, vf) + " scrubbed");
}

Result<std::vector<ScrubPending>> AssignmentRepository::dirty() {
    Statement st(db_, "SELECT card_key, vf, since, reason FROM vf_scrub_pending ORDER BY card_key, vf");
    std::vector<ScrubPending> out;
    Statement::Step rc;
    while ((rc = st.step()) == Statement::Step::Row)
        out.push_back(ScrubPending{st.text(0), static_cast<unsigned>(st.integer(1)), st.integer(2), st.text(3)});
    if (rc != Statement::Step::Done) return db_.error("read the VFs waiting for a scrub");
    return out;
}

Result<void> AssignmentRepository::hold(const std::string& cardKey, unsigned vf, const std::string& holder) {
    Statement st(db_, "INSERT OR REPLACE INTO vf_holders (card_key, vf, holder, since) VALUES (?1, ?2, ?3, ?4)");
    return st.bind(1, cardKey).bind(2, static_cast<int64_t>(vf)).bind(3, holder).bind(4, Database::now()).run("record " + vfName(cardKey, vf) + " as held by " + holder);
}

Result<void> AssignmentRepository::unhold(const std::string& cardKey, unsigned vf) {
    Statement st(db_, "DELETE FROM vf_holders WHERE card_key = ?1 AND vf = ?2");
    return st.bind(1, cardKey).bind(2, static_cast<int64_t>(vf)).run("forget the holder of " + vfName(cardKey, vf));
}

Result<std::vector<Holder>> AssignmentRepository::holders() {
    Statement st(db_, "SELECT card_key, vf, holder, since FROM vf_holders ORDER BY card_key, vf");
    std::vector<Holder> out;
    Statement::Step rc;
    while ((rc = st.step()) == Statement::Step::Row) out.push_back(Holder{st.text(0), static_cast<unsigned>(st.integer(1)), st.text(2), st.integer(3)});
    if (rc != Statement::Step::Done) return db_.error("read the VF holders");
    return out;
}

}  // namespace aismi
