#include "database.hpp"

#include <sqlite3.h>

#include <cerrno>
#include <cstring>
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
    // 2 -> 3: jobs (numbers stay unique across restarts; finished ones stay queryable), and
    // event retention by age.
    R"(CREATE TABLE jobs (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         kind TEXT NOT NULL,
         target TEXT NOT NULL,
         state TEXT NOT NULL CHECK (state IN ('queued','running','done','failed','cancelled')),
         progress INTEGER NOT NULL CHECK (progress BETWEEN 0 AND 100),
         error TEXT NOT NULL,
         started_at INTEGER NOT NULL,
         finished_at INTEGER);
       CREATE INDEX events_at ON events (at);)",
    // 3 -> 4: the cards aismid has seen, so each keeps its index across restarts even when
    // it is missing or unreadable at start-up.
    R"(CREATE TABLE known_cards (
         idx INTEGER PRIMARY KEY CHECK (idx >= 0),
         card_key TEXT NOT NULL UNIQUE,
         serial TEXT NOT NULL,
         address TEXT NOT NULL,
         name TEXT NOT NULL,
         vendor_id INTEGER NOT NULL CHECK (vendor_id BETWEEN 0 AND 65535),
         device_id INTEGER NOT NULL CHECK (device_id BETWEEN 0 AND 65535),
         generic INTEGER NOT NULL CHECK (generic IN (0, 1)));)",
    // 4 -> 5: what aismid provisioned on each VF: a profile for a tenant, or explicitly
    // nothing (profile '', no resources). vf_resources (never written) is folded in.
    R"(CREATE TABLE vf_provisioning (
         serial TEXT NOT NULL,
         vf INTEGER NOT NULL CHECK (vf >= 0),
         profile TEXT NOT NULL,
         tenant TEXT NOT NULL,
         compute_units INTEGER NOT NULL CHECK (compute_units >= 0),
         memory_mib INTEGER NOT NULL CHECK (memory_mib >= 0),
         engines INTEGER NOT NULL CHECK (engines >= 0),
         CHECK ((profile = '') = (compute_units = 0 AND memory_mib = 0 AND engines = 0)),
         CHECK (profile = '' OR (compute_units > 0 AND memory_mib > 0)),
         PRIMARY KEY (serial, vf));
       INSERT INTO vf_provisioning SELECT serial, vf, 'custom', '', compute_units, memory_mib, engines FROM vf_resources;
       DROP TABLE vf_resources;
       CREATE INDEX vf_provisioning_tenant ON vf_provisioning (tenant) WHERE profile != '';)",
    // 5 -> 6: tenant quotas (NULL: no limit on that resource).
    R"(CREATE TABLE quotas (
         tenant TEXT PRIMARY KEY,
         max_vfs INTEGER NOT NULL CHECK (max_vfs >= 0),
         max_compute_units INTEGER CHECK (max_compute_units >= 0),
         max_memory_mib INTEGER CHECK (max_memory_mib >= 0));)",
    // 6 -> 7: burst caps and scheduling weights of provisioned VFs (rows so far have no
    // burst: their cap is their guarantee), and each card's oversubscription policy in
    // hundredths (100: none).
    R"(ALTER TABLE vf_provisioning ADD COLUMN burst_units INTEGER NOT NULL DEFAULT 0 CHECK (burst_units >= 0);
       ALTER TABLE vf_provisioning ADD COLUMN weight INTEGER NOT NULL DEFAULT 1 CHECK (weight BETWEEN 1 AND 1000);
       UPDATE vf_provisioning SET burst_units = compute_units;
       CREATE TABLE card_policy (
         card_key TEXT PRIMARY KEY,
         compute_ratio INTEGER NOT NULL CHECK (compute_ratio BETWEEN 100 AND 1600),
         memory_ratio INTEGER NOT NULL CHECK (memory_ratio BETWEEN 100 AND 400));)",
    // 7 -> 8: the recovery service's memory: automatic resets (for the guard's window) and
    // quarantined VFs.
    R"(CREATE TABLE auto_resets (
         card_key TEXT NOT NULL,
         vf INTEGER NOT NULL CHECK (vf >= 0),
         at INTEGER NOT NULL);
       CREATE INDEX auto_resets_vf ON auto_resets (card_key, vf, at);
       CREATE TABLE quarantined_vfs (
         card_key TEXT NOT NULL,
         vf INTEGER NOT NULL CHECK (vf >= 0),
         since INTEGER NOT NULL,
         reason TEXT NOT NULL,
         PRIMARY KEY (card_key, vf));)",
    // 8 -> 9: typed events: the kind (core/event_type.hpp), and the card, VF and PCI address
    // they are about, so that they can be filtered (rows so far are plain notices).
    R"(ALTER TABLE events ADD COLUMN type TEXT NOT NULL DEFAULT 'daemon';
       ALTER TABLE events ADD COLUMN card INTEGER CHECK (card >= 0);
       ALTER TABLE events ADD COLUMN vf INTEGER CHECK (vf >= 0);
       ALTER TABLE events ADD COLUMN address TEXT NOT NULL DEFAULT '';
       CREATE INDEX events_card ON events (card, id);)",
    // 9 -> 10: whole-card resets the recovery policy escalated to (its budget's window).
    R"(CREATE TABLE auto_card_resets (
         card_key TEXT NOT NULL,
         at INTEGER NOT NULL);
       CREATE INDEX auto_card_resets_card ON auto_card_resets (card_key, at);)",
    // 10 -> 11: the recovery policy set at run time (aismi policy set), which then wins over
    // aismid.conf's (one row, or none).
    R"(CREATE TABLE recovery_policy (
         id INTEGER PRIMARY KEY CHECK (id = 1),
         auto_reset INTEGER NOT NULL CHECK (auto_reset IN (0, 1)),
         guard_resets INTEGER NOT NULL CHECK (guard_resets BETWEEN 1 AND 100),
         guard_window_s INTEGER NOT NULL CHECK (guard_window_s BETWEEN 1 AND 604800),
         auto_card_reset INTEGER NOT NULL CHECK (auto_card_reset IN (0, 1)),
         card_reset_budget INTEGER NOT NULL CHECK (card_reset_budget BETWEEN 1 AND 100),
         card_reset_window_s INTEGER NOT NULL CHECK (card_reset_window_s BETWEEN 1 AND 604800));)",
    // 11 -> 12: VFs given to libvirt domains (one domain per VF), and VFs whose memory a
    // tenant may have left something in: nobody gets them before they are scrubbed.
    R"(CREATE TABLE vf_assignments (
         card_key TEXT NOT NULL,
         vf INTEGER NOT NULL CHECK (vf >= 0),
         domain TEXT NOT NULL CHECK (domain != ''),
         tenant TEXT NOT NULL,
         tenant_given INTEGER NOT NULL CHECK (tenant_given IN (0, 1)),
         state TEXT NOT NULL CHECK (state IN ('assigning', 'assigned', 'releasing')),
         adopted INTEGER NOT NULL CHECK (adopted IN (0, 1)),
         since INTEGER NOT NULL,
         PRIMARY KEY (card_key, vf));
       CREATE INDEX vf_assignments_domain ON vf_assignments (domain);
       CREATE TABLE vf_scrub_pending (
         card_key TEXT NOT NULL,
         vf INTEGER NOT NULL CHECK (vf >= 0),
         since INTEGER NOT NULL,
         reason TEXT NOT NULL,
         PRIMARY KEY (card_key, vf));)",
    // 12 -> 13: firmware updates, activations and rollbacks, and how each ended: what
    // `aismi firmware jobs` shows, kept after the jobs themselves are forgotten.
    R"(CREATE TABLE firmware_updates (
         id INTEGER PRIMARY KEY,
         job INTEGER NOT NULL,
         card_key TEXT NOT NULL,
         kind TEXT NOT NULL CHECK (kind IN ('update', 'activate', 'rollback')),
         from_version TEXT NOT NULL,
         from_bank INTEGER NOT NULL CHECK (from_bank IN (0, 1)),
         to_version TEXT NOT NULL,
         to_bank INTEGER NOT NULL CHECK (to_bank IN (0, 1)),
         sha256 TEXT NOT NULL,
         activate TEXT NOT NULL CHECK (activate IN ('now', 'idle', 'never')),
         state TEXT NOT NULL CHECK (state IN ('writing', 'staged', 'activating', 'committed', 'rolled-back', 'failed')),
         reason TEXT NOT NULL,
         started INTEGER NOT NULL,
         finished INTEGER NOT NULL);
       CREATE INDEX firmware_updates_card ON firmware_updates (card_key, id);)",
    // 13 -> 14: VFs held by a consumer other than a libvirt domain (kubelet, through
    // aismi-device-plugin): nobody else gets them until they are released.
    R"(CREATE TABLE vf_holders (
         card_key TEXT NOT NULL,
         vf INTEGER NOT NULL CHECK (vf >= 0),
         holder TEXT NOT NULL CHECK (holder != ''),
         since INTEGER NOT NULL,
         PRIMARY KEY (card_key, vf));)",
};
static_assert(std::size(kMigrations) == Database::kSchemaVersion);

// SQLite result codes that say the file cannot be used as it is, not that it is damaged.
std::string accessProblem(int primary) {
    switch (primary) {
    case SQLITE_READONLY: return "the file or its directory is read-only (a read-only mount?)";
    case SQLITE_CANTOPEN: return "the file cannot be opened (permissions, a read-only mount, or a missing directory)";
    case SQLITE_PERM: return "permission denied";
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return "another process holds it locked (is another aismid running?)";
    case SQLITE_FULL: return "the disk is full";
    case SQLITE_IOERR: return "an I/O error";
    default: return {};
    }
}

}  // namespace

Statement::Statement(Database& db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db.db_, sql, -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
}
Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int i, const std::string& s) {
    if (stmt_) sqlite3_bind_text(stmt_, i, s.c_str(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
}
Statement& Statement::bind(int i, int64_t v) {
    if (stmt_) sqlite3_bind_int64(stmt_, i, v);
    return *this;
}
Statement::Step Statement::step() {
    if (!stmt_) return Step::Failed;
    switch (sqlite3_step(stmt_)) {
    case SQLITE_ROW: return Step::Row;
    case SQLITE_DONE: return Step::Done;
    default: return Step::Failed;
    }
}
Result<void> Statement::run(const std::string& what) {
    // A write outside transaction() (one statement, autocommit) is checked the same way.
    if (stmt_ && !db_.inTransaction() && !sqlite3_stmt_readonly(stmt_))
        if (auto file = db_.checkFile(); !file) return file;
    if (step() != Step::Done) return db_.error(what);
    return {};
}
int64_t Statement::integer(int col) { return sqlite3_column_int64(stmt_, col); }
std::optional<uint64_t> Statement::optionalInteger(int col) {
    if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
    return static_cast<uint64_t>(sqlite3_column_int64(stmt_, col));
}
Statement& Statement::bind(int i, std::optional<uint64_t> v) {
    if (!stmt_) return *this;
    if (v) sqlite3_bind_int64(stmt_, i, static_cast<int64_t>(*v));
    else sqlite3_bind_null(stmt_, i);
    return *this;
}
std::string Statement::text(int col) {
    const auto* p = sqlite3_column_text(stmt_, col);
    return p ? reinterpret_cast<const char*>(p) : "";
}

Error Database::error(const std::string& what) const {
    const int primary = sqlite3_extended_errcode(db_) & 0xff;
    const Errc errc = (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) ? Errc::StoreCorrupt : Errc::StoreFailed;
    std::string message = "state store " + path_ + ": " + what + ": " + sqlite3_errmsg(db_);
    if (auto why = accessProblem(primary); !why.empty()) message += " (" + why + ")";
    return makeError(errc, message);
}

int64_t Database::lastInsertId() const { return static_cast<int64_t>(sqlite3_last_insert_rowid(db_)); }
int Database::changes() const { return sqlite3_changes(db_); }
int64_t Database::now() { return static_cast<int64_t>(std::time(nullptr)); }

Result<void> Database::exec(const std::string& sql) {
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) return error("execute");
    return {};
}

Result<std::unique_ptr<Database>> Database::open(const std::string& stateDir, int targetVersion) {
    if (targetVersion < 1 || targetVersion > kSchemaVersion)
        return makeError(Errc::InvalidArgument, "state store: no schema version " + std::to_string(targetVersion));
    if (::mkdir(stateDir.c_str(), 0700) != 0 && errno != EEXIST) return Error::fromErrno(errno, "create state directory " + stateDir);
    const std::string path = stateDir + "/aismid.db";
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        std::string m = db ? sqlite3_errmsg(db) : "out of memory";
        if (auto why = accessProblem(rc & 0xff); !why.empty()) m += " (" + why + ")";
        sqlite3_close(db);
        return makeError(Errc::StoreFailed, "state store " + path + ": open: " + m);
    }
    std::unique_ptr<Database> store(new Database(db, path));
    // Which file was opened: checkFile() compares with it.
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return Error::fromErrno(errno, "state store " + path + ": stat");
    store->device_ = st.st_dev;
    store->inode_ = st.st_ino;
    sqlite3_busy_timeout(db, 5000);
    if (auto r = store->checkIntegrity(); !r) return std::move(r).error();
    // Control-plane state must survive power loss once a change is acknowledged: WAL for
    // readers that never block the writer, synchronous=FULL so a commit is on disk.
    if (auto r = store->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"); !r)
        return std::move(r).error();
    if (auto r = store->migrate(targetVersion); !r) return std::move(r).error();
    return store;
}

Database::~Database() { sqlite3_close(db_); }

Result<void> Database::checkIntegrity() {
    Statement st(*this, "PRAGMA integrity_check");
    std::string problems;
    Statement::Step rc;
    while ((rc = st.step()) == Statement::Step::Row) {
        const std::string line = st.text(0);
        if (line != "ok") problems += (problems.empty() ? "" : "; ") + line;
    }
    const int primary = sqlite3_extended_errcode(db_) & 0xff;
    // A file we may not read or write is not a damaged file: say what is wrong instead.
    if (rc != Statement::Step::Done && !accessProblem(primary).empty()) return error("check integrity");
    if (rc != Statement::Step::Done || !problems.empty())
        return makeError(Errc::StoreCorrupt, "state store " + path_ + " is damaged (" +
                                                 (problems.empty() ? std::string(sqlite3_errmsg(db_)) : problems) +
                                                 "); move the file aside and restart aismid, which rebuilds state from the devices");
    return {};
}

Result<int> Database::schemaVersion() {
    Statement st(*this, "PRAGMA user_version");
    if (st.step() != Statement::Step::Row) return error("read schema version");
    const int64_t v = st.integer(0);
    // user_version is any 32-bit integer in the file: a flipped byte must not index outside
    // the migration table.
    if (v < 0 || v > kSchemaVersion)
        return makeError(v < 0 ? Errc::StoreCorrupt : Errc::StoreFailed,
                         "state store " + path_ + " has schema version " + std::to_string(v) + "; this aismid understands 0 to " +
                             std::to_string(kSchemaVersion) +
                             (v < 0 ? " (the file is damaged: move it aside and restart aismid)"
                                    : " (run the newer aismid, or move the file aside)"));
    return static_cast<int>(v);
}

Result<uint64_t> Database::usedBytes() {
    Statement pages(*this, "PRAGMA page_count"), free(*this, "PRAGMA freelist_count"), size(*this, "PRAGMA page_size");
    if (pages.step() != Statement::Step::Row || free.step() != Statement::Step::Row || size.step() != Statement::Step::Row)
        return error("read the store's size");
    return static_cast<uint64_t>(pages.integer(0) - free.integer(0)) * static_cast<uint64_t>(size.integer(0));
}

Result<Database::Settings> Database::settings() {
    Settings s;
    Statement mode(*this, "PRAGMA journal_mode");
    if (mode.step() != Statement::Step::Row) return error("read journal mode");
    s.journalMode = mode.text(0);
    Statement sync(*this, "PRAGMA synchronous");
    if (sync.step() != Statement::Step::Row) return error("read synchronous");
    s.synchronous = static_cast<int>(sync.integer(0));
    return s;
}

Result<void> Database::migrate(int targetVersion) {
    auto version = schemaVersion();
    if (!version) return std::move(version).error();
    for (int v = *version; v < targetVersion; ++v) {
        auto r = transaction([&]() -> Result<void> {
            if (auto e = exec(kMigrations[v]); !e) return e;
            return exec("PRAGMA user_version=" + std::to_string(v + 1));
        });
        if (!r) return std::move(r).error().context("migrate schema " + std::to_string(v) + " -> " + std::to_string(v + 1));
    }
    return {};
}

Result<void> Database::checkFile() {
    if (lostFile_) return *lostFile_;
    struct stat st {};
    std::string what;
    if (::stat(path_.c_str(), &st) != 0) what = errno == ENOENT ? "was deleted" : std::string("cannot be checked: ") + std::strerror(errno);
    else if (st.st_dev != device_ || st.st_ino != inode_) what = "was replaced by another file";
    else if (st.st_nlink == 0) what = "was deleted";
    else if (st.st_size >= 100) sawHeader_ = true;
    else if (sawHeader_) what = "was truncated (" + std::to_string(st.st_size) + " bytes; SQLite's header alone is 100)";
    if (what.empty()) return {};
    // Sticky: the file aismid writes to is no longer the one the next start reads.
    lostFile_ = makeError(Errc::StoreFailed, "state store " + path_ + " " + what +
                                                 " while aismid ran; changes are refused until aismid restarts");
    return *lostFile_;
}

Result<void> Database::recordEnd(std::string what, std::function<Result<void>()> body, std::function<void()> recorded) {
    // In order: a later end never lands before an earlier one the store refused.
    retryEnds();
    Result<void> now = keptEnds_.empty() ? transaction(body)
                                         : makeError(Errc::StoreFailed, "an earlier change's end waits to be recorded (" + keptEnds_.front().what + ")");
    if (now) return now;
    Error why = std::move(now).error().context(what + ": the store did not record its end; aismid writes it again at every poll");
    keptEnds_.push_back(KeptEnd{what, std::move(body), std::move(recorded)});
    if (onEndRefused) onEndRefused(what, why);
    return why;
}

void Database::retryEnds() {
    while (!keptEnds_.empty()) {
        if (!transaction(keptEnds_.front().body)) return;
        KeptEnd end = std::move(keptEnds_.front());
        keptEnds_.pop_front();
        if (onEndRecorded) onEndRecorded(end.what);
        if (end.recorded) end.recorded();
    }
}

std::vector<std::string> Database::unrecordedEnds() const {
    std::vector<std::string> out;
    for (const auto& e : keptEnds_) out.push_back(e.what);
    return out;
}

Result<void> Database::transaction(const std::function<Result<void>()>& body) {
    if (depth_ > 0) return body();
    if (auto r = checkFile(); !r) return r;
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

}  // namespace aismi
