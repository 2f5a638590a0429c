#include "event_repository.hpp"

#include "database.hpp"

#include <algorithm>

namespace aismi {
namespace {

Severity severityOf(const std::string& s) { return s == "critical" ? Severity::Critical : s == "warning" ? Severity::Warning : Severity::Info; }

std::optional<unsigned> optionalIndex(Statement& st, int col) {
    const auto v = st.optionalInteger(col);
    return v ? std::optional(static_cast<unsigned>(*v)) : std::nullopt;
}

std::optional<uint64_t> widen(std::optional<unsigned> v) { return v ? std::optional<uint64_t>(*v) : std::nullopt; }

}  // namespace

Result<int64_t> EventRepository::append(StoredEvent& e) {
    if (e.at == 0) e.at = Database::now();
    Statement st(db_,
                 "INSERT INTO events (at, severity, device, message, type, card, vf, address) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    st.bind(1, e.at).bind(2, std::string(severityName(e.severity))).bind(3, e.device).bind(4, e.message);
    st.bind(5, std::string(eventTypeName(e.type))).bind(6, widen(e.card)).bind(7, widen(e.vf)).bind(8, e.address);
    if (auto r = st.run("record event"); !r) return std::move(r).error();
    e.id = db_.lastInsertId();
    return e.id;
}

Result<std::vector<StoredEvent>> EventRepository::list(const EventFilter& f) {
    // Types are matched here rather than in SQL: there are few, and the statement stays fixed.
    Statement st(db_,
                 "SELECT id, at, severity, device, message, type, card, vf, address FROM events "
                 "WHERE id > ?1 AND at >= ?2 AND (?3 < 0 OR card = ?3) ORDER BY id DESC");
    st.bind(1, f.afterId).bind(2, f.since.value_or(INT64_MIN)).bind(3, f.card ? int64_t{*f.card} : int64_t{-1});
    std::vector<StoredEvent> out;
    Statement::Step rc;
    while (out.size() < f.limit && (rc = st.step()) == Statement::Step::Row) {
        const auto type = parseEventType(st.text(5));
        if (!type) continue;  // written by a newer aismid: not one this one can name
        if (!f.types.empty() && std::find(f.types.begin(), f.types.end(), *type) == f.types.end()) continue;
        out.push_back(StoredEvent{st.integer(0), st.integer(1), *type, severityOf(st.text(2)), optionalIndex(st, 6), optionalIndex(st, 7),
                                  st.text(8), st.text(3), st.text(4)});
    }
    if (out.size() < f.limit && rc != Statement::Step::Done) return db_.error("read events");
    std::reverse(out.begin(), out.end());
    return out;
}

Result<void> EventRepository::inOneTransaction(const std::function<void()>& body) {
    return db_.transaction([&]() -> Result<void> {
        body();
        return {};
    });
}

Result<void> EventRepository::prune(unsigned keepCount, int64_t maxAgeSeconds) {
    Statement byCount(db_, "DELETE FROM events WHERE id <= (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?1)");
    if (auto r = byCount.bind(1, static_cast<int64_t>(keepCount)).run("prune events by count"); !r) return r;
    Statement byAge(db_, "DELETE FROM events WHERE at < ?1");
    return byAge.bind(1, Database::now() - maxAgeSeconds).run("prune events by age");
}

}  // namespace aismi
