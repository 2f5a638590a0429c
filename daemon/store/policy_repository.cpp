#include "policy_repository.hpp"

#include "database.hpp"

namespace aismi {

Result<void> PolicyRepository::set(const std::string& cardKey, const Oversubscription& policy) {
    if (policy == Oversubscription{}) {
        Statement st(db_, "DELETE FROM card_policy WHERE card_key = ?1");
        return st.bind(1, cardKey).run("clear the oversubscription policy of " + cardKey);
    }
    Statement st(db_,
                 "INSERT INTO card_policy (card_key, compute_ratio, memory_ratio) VALUES (?1, ?2, ?3) "
                 "ON CONFLICT (card_key) DO UPDATE SET compute_ratio = excluded.compute_ratio, memory_ratio = excluded.memory_ratio");
    return st.bind(1, cardKey)
        .bind(2, static_cast<int64_t>(policy.compute))
        .bind(3, static_cast<int64_t>(policy.memory))
        .run("set the oversubscription policy of " + cardKey);
}

Result<std::map<std::string, Oversubscription>> PolicyRepository::all() {
    Statement st(db_, "SELECT card_key, compute_ratio, memory_ratio FROM card_policy");
    std::map<std::string, Oversubscription> out;
    Statement::Step rc;
    while ((rc = st.step()) == Statement::Step::Row)
        out[st.text(0)] = Oversubscription{static_cast<uint32_t>(st.integer(1)), static_cast<uint32_t>(st.integer(2))};
    if (rc != Statement::Step::Done) return db_.error("read the oversubscription policies");
    return out;
}

}  // namespace aismi
