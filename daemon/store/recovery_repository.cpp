#include "recovery_repository.hpp"

#include "database.hpp"

namespace aismi {

Result<void> RecoveryRepository::recordAutoReset(const std::string& cardKey, unsigned vf, int64_t at) {
    Statement st(db_, "INSERT INTO auto_resets (card_key, vf, at) VALUES (?1, ?2, ?3)");
    return st.bind(1, cardKey).bind(2, static_cast<int64_t>(vf)).bind(3, at).run("record an automatic reset of " + cardKey + " VF " + std::to_string(vf));
}

Result<std::vector<int64_t>> RecoveryRepository::autoResets(const std::string& cardKey, unsigned vf, int64_t since) {
    // Every VF's resets before the window go, not only this one's: a VF that never hangs again
    // (or is quarantined) would otherwise keep its rows for good.
    Statement prune(db_, "DELETE FROM auto_resets WHERE at < ?1");
    if (auto r = prune.bind(1, since).run("forget old automatic resets"); !r) return std::move(r).error();
    Statement st(db_, "SELECT at FROM auto_resets WHERE card_key = ?1 AND vf = ?2 ORDER BY at");
    st.bind(1, cardKey).bind(2, static_cast<int64_t>(vf));
    std::vector<int64_t> out;
    Statement::Step rc;
    while ((rc = st.step()) == Statement::Step::Row) out.push_back(st.integer(0));
    if (rc != Statement::Step::Done) return db_.error("read the automatic resets of " + cardKey + " VF " + std::to_string(vf));
    return out;
}

Result<std::map<std::pair<std::string, unsigned>, std::vector<int64_t>>> RecoveryRepository::allAutoResets(int64_t since) {
    Statement st(db_, "SELECT card_key, vf, at FROM auto_resets WHERE at >= ?1 ORDER BY at");
    st.bind(1, since);
    std::map<std::pair<std::string, unsigned>, std::vector<int64_t>> out;
    Statement::Step rc;
    while ((rc = st.step()) == Statement::Step::Row) out[{st.text(0), static_cast<unsigned>(st.integer(1))}].push_back(st.integer(2));
    if (rc != Statement::Step::Done) return db_.error("read the automatic resets");
    return out;
}

Result<void> RecoveryRepository::recordCardReset(const std::string& cardKey, int64_t at) {
    Statement st(db_, "INSERT INTO auto_card_resets (card_key, at) VALUES (?1, ?2)");
    return st.bind(1, cardKey).bind(2, at).run("record an escalated reset of " + cardKey);
}

Result<unsigned> RecoveryRepository::cardResets(const std::string& cardKey, int64_t since) {
    Statement prune(db_, "DELETE FROM auto_card_resets WHERE card_key = ?1 AND at < ?2");
    if (auto r = prune.bind(1, cardKey).bind(2, since).run("forget old escalated resets"); !r) return std::move(r).error();
    Statement st(db_, "SELECT COUNT(*) FROM auto_card_resets WHERE card_key = ?1");
    st.bind(1, cardKey);
    if (st.step() != Statement::Step::Row) return db_.error("count the escalated resets of " + cardKey);
    return static_cast<unsigned>(st.integer(0));
}

Result<void> RecoveryRepository::storePolicy(const StoredPolicy& p) {
    Statement st(db_,
                 "INSERT OR REPLACE INTO recovery_policy (id, auto_reset, guard_resets, guard_window_s, auto_card_reset, card_reset_budget, "
                 "card_reset_window_s) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)");
    st.bind(1, int64_t{p.autoReset}).bind(2, int64_t{p.guardResets}).bind(3, int64_t{p.guardWindowS});
    st.bind(4, int64_t{p.autoCardReset}).bind(5, int64_t{p.cardResetBudget}).bind(6, int64_t{p.cardResetWindowS});
    return st.run("store the recovery policy");
}

Result<std::optional<RecoveryRepository::StoredPolicy>> RecoveryRepository::storedPolicy() {
    Statement st(db_, "SELECT auto_reset, guard_resets, guard_window_s, auto_card_reset, card_reset_budget, card_reset_window_s FROM recovery_policy");
    switch (st.step()) {
    case Statement::Step::Done: return std::optional<StoredPolicy>();
    case Statement::Step::Row: {
        const auto u = [&](int col) { return static_cast<unsigned>(st.integer(col)); };
        return std::optional<StoredPolicy>(StoredPolicy{st.integer(0) != 0, u(1), u(2), st.integer(3) != 0, u(4), u(5)});
    }
    default: return db_.error("read the recovery policy");
    }
}

Result<void> RecoveryRepository::quarantine(const std::string& cardKey, unsigned vf, const Quarantine& q) {
    Statement st(db_,
                 "INSERT INTO quarantined_vfs (card_key, vf, since, reason) VALUES (?1, ?2, ?3, ?4) "
                 "ON CONFLICT (card_key, vf) DO UPDATE SET since = excluded.since, reason = excluded.reason");
    return st.bind(1, cardKey).bind(2, static_cast<int64_t>(vf)).bind(3, q.since).bind(4, q.reason).run("quarantine " + cardKey + " VF " + std::to_string(vf));
}

Result<void> RecoveryRepository::release(const std::string& cardKey, unsigned vf) {
    Statement st(db_, "DELETE FROM quarantined_vfs WHERE card_key = ?1 AND vf = ?2");
    if (auto r = st.bind(1, cardKey).bind(2, static_cast<int64_t>(vf)).run("release " + cardKey + " VF " + std::to_string(vf)); !r) return r;
    if (db_.changes() == 0) return makeError(Errc::NotFound, "VF " + std::to_string(vf) + " of " + cardKey + " is not quarantined");
    Statement forget(db_, "DELETE FROM auto_resets WHERE card_key = ?1 AND vf = ?2");
    return forget.bind(1, cardKey).bind(2, static_cast<int64_t>(vf)).run("forget the automatic resets of " + cardKey + " VF " + std::to_string(vf));
}

Result<std::map<std::pair<std::string, unsigned>, RecoveryRepository::Quarantine>> RecoveryRepository::quarantined() {
    Statement st(db_, "SELECT card_key, vf, since, reason FROM quarantined_vfs");
    std::map<std::pair<std::string, unsigned>, Quarantine> out;
    Statement::Step rc;
    while ((rc = st.step()) == Statement::Step::Row) out[{st.text(0), static_cast<unsigned>(st.integer(1))}] = Quarantine{st.integer(2), st.text(3)};
    if (rc != Statement::Step::Done) return db_.error("read the quarantined VFs");
    return out;
}

}  // namespace aismi
