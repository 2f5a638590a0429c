#include "event_repository.hpp"

#include "database.hpp"

namespace aismi {

std::string_view severityName(Severity s) {
    switch (s) {
    case Severity::Info: return "info";
    case Severity::Warning: return "warning";
    case Severity::Critical: return "critical";
    }
    return "info";
}

Result<void> EventRepository::append(Severity severity, const std::string& device, const std::string& message) {
    Statement st(db_, "INSERT INTO events (at, severity, device, message) VALUES (?1, ?2, ?3, ?4)");
    return st.bind(1, Database::now()).bind(2, std::string(severityName(severity))).bind(3, device).bind(4, message).run("record event");
}

Result<std::vector<StoredEvent>> EventRepository::recent(unsigned limit) {
    Statement st(db_, "SELECT id, at, severity, device, message FROM events ORDER BY id DESC LIMIT ?1");
    st.bind(1, static_cast<int64_t>(limit));
    std::vector<StoredEvent> out;
    Statement::Step rc;
    while ((rc = st.step()) == Statement::Step::Row) {
        const std::string sev = st.text(2);
        const Severity s = sev == "critical" ? Severity::Critical : sev == "warning" ? Severity::Warning : Severity::Info;
        out.push_back(StoredEvent{st.integer(0), st.integer(1), s, st.text(3), st.text(4)});
    }
    if (rc != Statement::Step::Done) return db_.error("read events");
    return out;
}

Result<void> EventRepository::prune(unsigned keepCount, int64_t maxAgeSeconds) {
    Statement byCount(db_, "DELETE FROM events WHERE id <= (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?1)");
    if (auto r = byCount.bind(1, static_cast<int64_t>(keepCount)).run("prune events by count"); !r) return r;
    Statement byAge(db_, "DELETE FROM events WHERE at < ?1");
    return byAge.bind(1, Database::now() - maxAgeSeconds).run("prune events by age");
}

}  // namespace aismi
