#include "state_store.hpp"

#include <sqlite3.h>

#include <cerrno>
#include <ctime>
#include <sys/stat.h>

namespace aismi {
namespace {

// Each entry takes the schema from version i to i+1. Never edit a shipped entry: append.
const char* const kMigrations[] = {
    // 0 -> 1: desired VF count per card, and the event history.
    R"(CREATE TABLE cards (
         serial TEXT PRIMARY KEY,
         desired_vf_count INTEGER NOT NULL CHECK (desired_vf_count >= 0));
       CREATE TABLE events (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         at INTEGER NOT NULL,
         severity TEXT NOT NULL CHECK (severity IN ('info','warning','critical')),
         device TEXT NOT NULL,
         message TEXT NOT NULL);)",
    // 1 -> 2: per-VF provisioning, and the journal of multi-step operations.
    R"(CREATE TABLE vf_resources (
         serial TEXT NOT NULL,
         vf INTEGER NOT NULL CHECK (vf >= 0),
         compute_units INTEGER NOT NULL CHECK (compute_units > 0),
         memory_mib INTEGER NOT NULL CHECK (memory_mib > 0),
         engines INTEGER NOT NULL CHECK (engines >= 0),
         PRIMARY KEY (serial, vf));
       CREATE TABLE operations (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         kind TEXT NOT NULL,
         target TEXT NOT NULL,
         payload TEXT NOT NULL,
         step TEXT NOT NULL,
         started_at INTEGER NOT NULL,
         finished_at INTEGER,
         outcome TEXT);
       CREATE INDEX operations_open ON operations (finished_at) WHERE finished_at IS NULL;)",
};
static_assert(std::size(kMigrations) == StateStore::kSchemaVersion);

int64_t unixNow() { return static_cast<int64_t>(std::time(nullptr)); }

}  // namespace

// A prepared statement with typed binds; finalizes itself.
class StateStore::Statement {
public:
    Statement(StateStore& store, const char* sql) : store_(store) {
        if (sqlite3_prepare_v2(store.db_, sql, -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
    }
    ~Statement() { sqlite3_finalize(stmt_); }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    bool ok() const { return stmt_ != nullptr; }
    Statement& bind(int i, const std::string& s) {
        if (stmt_) sqlite3_bind_text(stmt_, i, s.c_str(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
        return *this;
    }
    Statement& bind(int i, int64_t v) {
        if (stmt_) sqlite3_bind_int64(stmt_, i, v);
        return *this;
    }
    /// SQLITE_ROW, SQLITE_DONE or an error code.
    int step() { return stmt_ ? sqlite3_step(stmt_) : SQLITE_ERROR; }
    Result<void> run(const std::string& what) {
        if (step() != SQLITE_DONE) return store_.sqlError(what);
        return {};
    }
    int64_t integer(int col) { return sqlite3_column_int64(stmt_, col); }
    std::string text(int col) {
        const auto* p = sqlite3_column_text(stmt_, col);
        return p ? reinterpret_cast<const char*>(p) : "";
    }

private:
    StateStore& store_;
    sqlite3_stmt* stmt_ = nullptr;
};

Error StateStore::sqlError(const std::string& what) const {
    const int code = sqlite3_extended_errcode(db_);
    const int primary = code & 0xff;
    const Errc errc = (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) ? Errc::StoreCorrupt : Errc::StoreFailed;
    return makeError(errc, "state store " + path_ + ": " + what + ": " + sqlite3_errmsg(db_));
}

Result<void> StateStore::exec(const std::string& sql) {
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) return sqlError("execute");
    return {};
}

Result<std::unique_ptr<StateStore>> StateStore::open(const std::string& stateDir, int targetVersion) {
    if (targetVersion < 1 || targetVersion > kSchemaVersion)
        return makeError(Errc::InvalidArgument, "state store: no schema version " + std::to_string(targetVersion));
    if (::mkdir(stateDir.c_str(), 0700) != 0 && errno != EEXIST) return Error::fromErrno(errno, "create state directory " + stateDir);
    const std::string path = stateDir + "/aismid.db";
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr) != SQLITE_OK) {
        std::string m = db ? sqlite3_errmsg(db) : "out of memory";
        sqlite3_close(db);
        return makeError(Errc::StoreFailed, "state store " + path + ": open: " + m);
    }
    std::unique_ptr<StateStore> store(new StateStore(db, path));
    sqlite3_busy_timeout(db, 5000);
    // Control-plane state must survive power loss once a change is acknowledged: WAL for
    // readers that never block the writer, synchronous=FULL so a commit is on disk.
    if (auto r = store->checkIntegrity(); !r) return std::move(r).error();
    if (auto r = store->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"); !r)
        return std::move(r).error();
    if (auto r = store->migrate(targetVersion); !r) return std::move(r).error();
    return store;
}

StateStore::~StateStore() { sqlite3_close(db_); }

Result<void> StateStore::checkIntegrity() {
    const auto corrupt = [&](std::string what) {
        return makeError(Errc::StoreCorrupt, "state store " + path_ + " is damaged (" + what +
                                                 "); move the file aside and restart aismid, which rebuilds state from the devices");
    };
    Statement st(*this, "PRAGMA integrity_check");
    std::string problems;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) {
        const std::string line = st.text(0);
        if (line != "ok") problems += (problems.empty() ? "" : "; ") + line;
    }
    if (rc != SQLITE_DONE) return corrupt(sqlite3_errmsg(db_));
    if (!problems.empty()) return corrupt(problems);
    return {};
}

Result<int> StateStore::schemaVersion() {
    Statement st(*this, "PRAGMA user_version");
    if (st.step() != SQLITE_ROW) return sqlError("read schema version");
    return static_cast<int>(st.integer(0));
}

Result<StateStore::Settings> StateStore::settings() {
    Settings s;
    Statement mode(*this, "PRAGMA journal_mode");
    if (mode.step() != SQLITE_ROW) return sqlError("read journal mode");
    s.journalMode = mode.text(0);
    Statement sync(*this, "PRAGMA synchronous");
    if (sync.step() != SQLITE_ROW) return sqlError("read synchronous");
    s.synchronous = static_cast<int>(sync.integer(0));
    return s;
}

Result<void> StateStore::migrate(int targetVersion) {
    auto version = schemaVersion();
    if (!version) return std::move(version).error();
    if (*version > kSchemaVersion)
        return makeError(Errc::StoreFailed, "state store " + path_ + " has schema version " + std::to_string(*version) +
                                                ", newer than this aismid understands (" + std::to_string(kSchemaVersion) +
                                                "); run the newer aismid or move the file aside");
    for (int v = *version; v < targetVersion; ++v) {
        auto r = transaction([&]() -> Result<void> {
            if (auto e = exec(kMigrations[v]); !e) return e;
            return exec("PRAGMA user_version=" + std::to_string(v + 1));
        });
        if (!r) return std::move(r).error().context("migrate schema " + std::to_string(v) + " -> " + std::to_string(v + 1));
    }
    return {};
}

Result<void> StateStore::transaction(const std::function<Result<void>()>& body) {
    // Nested calls join the outer transaction, so helpers can be composed.
    if (depth_ > 0) return body();
    if (auto r = exec("BEGIN IMMEDIATE"); !r) return r;
    ++depth_;
    auto result = body();
    --depth_;
    if (!result) {
        (void)exec("ROLLBACK");
        return result;
    }
    if (auto r = exec("COMMIT"); !r) {
        (void)exec("ROLLBACK");
        return r;
    }
    return {};
}

Result<void> StateStore::setDesiredVfCount(const std::string& serial, unsigned count) {
    Statement st(*this,
                 "INSERT INTO cards (serial, desired_vf_count) VALUES (?1, ?2) "
                 "ON CONFLICT (serial) DO UPDATE SET desired_vf_count = excluded.desired_vf_count");
    return st.bind(1, serial).bind(2, static_cast<int64_t>(count)).run("set desired VF count of " + serial);
}

Result<std::optional<unsigned>> StateStore::desiredVfCount(const std::string& serial) {
    Statement st(*this, "SELECT desired_vf_count FROM cards WHERE serial = ?1");
    st.bind(1, serial);
    const int rc = st.step();
    if (rc == SQLITE_DONE) return std::optional<unsigned>();
    if (rc != SQLITE_ROW) return sqlError("read desired VF count of " + serial);
    return std::optional<unsigned>(static_cast<unsigned>(st.integer(0)));
}

Result<void> StateStore::setDesiredVfResources(const std::string& serial, unsigned vf, const Resources& r) {
    Statement st(*this,
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

Result<std::map<unsigned, Resources>> StateStore::desiredVfResources(const std::string& serial) {
    Statement st(*this, "SELECT vf, compute_units, memory_mib, engines FROM vf_resources WHERE serial = ?1 ORDER BY vf");
    st.bind(1, serial);
    std::map<unsigned, Resources> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW)
        out[static_cast<unsigned>(st.integer(0))] = Resources{static_cast<uint32_t>(st.integer(1)), static_cast<uint64_t>(st.integer(2)),
                                                              static_cast<uint32_t>(st.integer(3))};
    if (rc != SQLITE_DONE) return sqlError("read desired resources of " + serial);
    return out;
}

Result<void> StateStore::clearDesiredVfResources(const std::string& serial) {
    Statement st(*this, "DELETE FROM vf_resources WHERE serial = ?1");
    return st.bind(1, serial).run("clear desired resources of " + serial);
}

Result<int64_t> StateStore::beginOperation(const std::string& kind, const std::string& target, const std::string& payload) {
    Statement st(*this, "INSERT INTO operations (kind, target, payload, step, started_at) VALUES (?1, ?2, ?3, 'begin', ?4)");
    st.bind(1, kind).bind(2, target).bind(3, payload).bind(4, unixNow());
    if (auto r = st.run("journal " + kind + " on " + target); !r) return std::move(r).error();
    return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
}

Result<void> StateStore::advanceOperation(int64_t id, const std::string& step) {
    Statement st(*this, "UPDATE operations SET step = ?2 WHERE id = ?1 AND finished_at IS NULL");
    if (auto r = st.bind(1, id).bind(2, step).run("journal step " + step); !r) return r;
    if (sqlite3_changes(db_) != 1)
        return makeError(Errc::InvalidState, "state store: operation " + std::to_string(id) + " is not open");
    return {};
}

Result<void> StateStore::finishOperation(int64_t id, const std::string& outcome) {
    Statement st(*this, "UPDATE operations SET finished_at = ?2, outcome = ?3 WHERE id = ?1 AND finished_at IS NULL");
    if (auto r = st.bind(1, id).bind(2, unixNow()).bind(3, outcome).run("journal outcome"); !r) return r;
    if (sqlite3_changes(db_) != 1)
        return makeError(Errc::InvalidState, "state store: operation " + std::to_string(id) + " is not open");
    return {};
}

Result<std::vector<JournalEntry>> StateStore::unfinishedOperations() {
    Statement st(*this, "SELECT id, kind, target, payload, step, started_at FROM operations WHERE finished_at IS NULL ORDER BY id");
    std::vector<JournalEntry> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW)
        out.push_back(JournalEntry{st.integer(0), st.text(1), st.text(2), st.text(3), st.text(4), st.integer(5)});
    if (rc != SQLITE_DONE) return sqlError("read unfinished operations");
    return out;
}

Result<void> StateStore::appendEvent(const std::string& severity, const std::string& device, const std::string& message) {
    if (severity != "info" && severity != "warning" && severity != "critical")
        return makeError(Errc::InvalidArgument, "event severity '" + severity + "' is not info, warning or critical");
    Statement st(*this, "INSERT INTO events (at, severity, device, message) VALUES (?1, ?2, ?3, ?4)");
    return st.bind(1, unixNow()).bind(2, severity).bind(3, device).bind(4, message).run("record event");
}

Result<std::vector<StoredEvent>> StateStore::recentEvents(unsigned limit) {
    Statement st(*this, "SELECT id, at, severity, device, message FROM events ORDER BY id DESC LIMIT ?1");
    st.bind(1, static_cast<int64_t>(limit));
    std::vector<StoredEvent> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW)
        out.push_back(StoredEvent{st.integer(0), st.integer(1), st.text(2), st.text(3), st.text(4)});
    if (rc != SQLITE_DONE) return sqlError("read events");
    return out;
}

}  // namespace aismi
