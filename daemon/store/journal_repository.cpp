#include "journal_repository.hpp"

#include "database.hpp"
#include "limits.hpp"

namespace aismi {
namespace {

Result<void> requireOneChange(Database& db, int64_t id) {
    if (db.changes() != 1) return makeError(Errc::InvalidState, "state store: operation " + std::to_string(id) + " is not open");
    return {};
}

}  // namespace

Result<int64_t> JournalRepository::begin(const std::string& kind, const std::string& target, const std::string& payload,
                                         const std::string& step) {
    Statement st(db_, "INSERT INTO operations (kind, target, payload, step, started_at) VALUES (?1, ?2, ?3, ?4, ?5)");
    st.bind(1, kind).bind(2, target).bind(3, payload).bind(4, step).bind(5, Database::now());
    if (auto r = st.run("journal " + kind + " on " + target); !r) return std::move(r).error();
    return db_.lastInsertId();
}

Result<void> JournalRepository::advance(int64_t id, const std::string& step) {
    Statement st(db_, "UPDATE operations SET step = ?2 WHERE id = ?1 AND finished_at IS NULL");
    if (auto r = st.bind(1, id).bind(2, step).run("journal step " + step); !r) return r;
    return requireOneChange(db_, id);
}

Result<void> JournalRepository::updatePayload(int64_t id, const std::string& payload) {
    Statement st(db_, "UPDATE operations SET payload = ?2 WHERE id = ?1 AND finished_at IS NULL");
    if (auto r = st.bind(1, id).bind(2, payload).run("journal payload"); !r) return r;
    return requireOneChange(db_, id);
}

Result<void> JournalRepository::finish(int64_t id, const std::string& outcome) {
    Statement st(db_, "UPDATE operations SET finished_at = ?2, outcome = ?3 WHERE id = ?1 AND finished_at IS NULL");
    if (auto r = st.bind(1, id).bind(2, Database::now()).bind(3, outcome).run("journal outcome"); !r) return r;
    if (auto one = requireOneChange(db_, id); !one) return one;
    // Finished entries are history (the event log tells it to people): only the newest are kept,
    // so the store does not grow with every operation.
    Statement prune(db_,
                    "DELETE FROM operations WHERE finished_at IS NOT NULL AND id <= "
                    "(SELECT id FROM operations WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1 OFFSET ?1)");
    return prune.bind(1, static_cast<int64_t>(limits::kMaxFinishedOperations)).run("prune the journal");
}

Result<void> JournalRepository::recordEnd(int64_t id, std::string outcome, std::string what, std::function<void()> recorded) {
    return db_.recordEnd(std::move(what), [this, id, outcome = std::move(outcome)] { return finish(id, outcome); }, std::move(recorded));
}

Result<std::vector<JournalRow>> JournalRepository::open() {
    Statement st(db_, "SELECT id, kind, target, payload, step, started_at FROM operations WHERE finished_at IS NULL ORDER BY id");
    std::vector<JournalRow> out;
    Statement::Step rc;
    while ((rc = st.step()) == Statement::Step::Row)
        out.push_back(JournalRow{st.integer(0), st.text(1), st.text(2), st.text(3), st.text(4), st.integer(5)});
    if (rc != Statement::Step::Done) return db_.error("read unfinished operations");
    return out;
}

}  // namespace aismi
