// The state store's database: opening (integrity check, migrations), transactions and
// prepared statements. Repositories (one per capability) build on it; together they are the
// only code that speaks SQLite, and only database.cpp includes sqlite3.h.
#pragma once

#include <aismi/error.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace aismi {

class Database;

/// A prepared statement with typed binds; finalizes itself.
class Statement {
public:
    Statement(Database& db, const char* sql);
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int i, const std::string& s);
    Statement& bind(int i, int64_t v);
    /// A number, or NULL when absent.
    Statement& bind(int i, std::optional<uint64_t> v);
    enum class Step { Row, Done, Failed };
    Step step();
    /// Runs a statement that returns no rows.
    Result<void> run(const std::string& what);
    int64_t integer(int col);
    std::optional<uint64_t> optionalInteger(int col);  // nullopt for NULL
    std::string text(int col);

private:
    Database& db_;
    sqlite3_stmt* stmt_ = nullptr;
};

class Database {
public:
    static constexpr int kSchemaVersion = 14;

    /// Opens (creating if needed) `<stateDir>/aismid.db`, checks its integrity and migrates it
    /// to `targetVersion` (older versions only for tests of the migrations). A damaged file
    /// gives StoreCorrupt and is left as it is.
    static Result<std::unique_ptr<Database>> open(const std::string& stateDir, int targetVersion = kSchemaVersion);
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    const std::string& path() const { return path_; }
    Result<int> schemaVersion();

    struct Settings {
        std::string journalMode;  // "wal"
        int synchronous = 0;      // 2 = FULL
    };
    /// What SQLite reports it is doing, read back rather than assumed.
    Result<Settings> settings();
    /// The bytes the store's content takes (its pages in use, wherever they are now: the file or
    /// its write-ahead log), as opposed to the files' sizes, which SQLite grows and reuses.
    Result<uint64_t> usedBytes();

    /// Runs `body` in one transaction: every write in it lands, or none does (also on a crash).
    /// Nested calls join the outer transaction. Refused (StoreFailed) once the file is found
    /// deleted, replaced or truncated under aismid (checkFile).
    Result<void> transaction(const std::function<Result<void>()>& body);
    /// Records the end of a change whose outcome is already decided (the device took it, or
    /// did not and desired state goes back): runs `body` in one transaction now and, when the
    /// store refuses it (a full disk), keeps it and runs it again at every retryEnds() until
    /// the store takes it; then `recorded` runs (never when the first attempt lands). The error
    /// is the first attempt's: the caller keeps its card claimed until `recorded`, so nothing
    /// is planned against a store that still shows the change under way.
    Result<void> recordEnd(std::string what, std::function<Result<void>()> body, std::function<void()> recorded);
    /// Runs the kept ends again, oldest first, stopping at the first the store still refuses.
    /// Once a poll.
    void retryEnds();
    /// The ends the store has yet to take, oldest first.
    std::vector<std::string> unrecordedEnds() const;
    /// Told when the store refuses an end, and when it takes one it refused (log and events).
    std::function<void(const std::string& what, const Error& why)> onEndRefused;
    std::function<void(const std::string& what)> onEndRecorded;

    /// Inside transaction(): what is read may still be rolled back.
    bool inTransaction() const { return depth_ > 0; }

    /// Whether the file aismid opened is still the one at path(): not deleted, not replaced by
    /// another (a restore, a `mv`), not truncated. A write to a deleted or replaced file would be
    /// acknowledged and lost at the next start, so once this fails every transaction is refused
    /// with the same StoreFailed until aismid restarts (reads go on). Checked before each
    /// transaction and at housekeeping.
    Result<void> checkFile();

    /// An error naming the file, the operation and SQLite's own words.
    Error error(const std::string& what) const;
    int64_t lastInsertId() const;
    int changes() const;
    /// Seconds since the epoch, the timestamps of every table.
    static int64_t now();

private:
    friend class Statement;
    Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
    Result<void> exec(const std::string& sql);
    Result<void> migrate(int targetVersion);
    Result<void> checkIntegrity();

    sqlite3* db_;
    std::string path_;
    int depth_ = 0;
    uint64_t device_ = 0, inode_ = 0;  // of the file opened
    bool sawHeader_ = false;           // the file had SQLite's header once: shorter now is truncated
    std::optional<Error> lostFile_;    // set once checkFile() failed: for good
    struct KeptEnd {
        std::string what;
        std::function<Result<void>()> body;
        std::function<void()> recorded;
    };
    std::deque<KeptEnd> keptEnds_;  // refused by the store, written again by retryEnds()

};

}  // namespace aismi
