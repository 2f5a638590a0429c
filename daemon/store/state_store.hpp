// The daemon's state store: desired state (what operators asked for), the journal of
// multi-step operations (so reconciliation can finish or roll back what a crash interrupted)
// and the event history. The only module that speaks SQLite.
#pragma once

#include <aismi/card.hpp>
#include <aismi/error.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace aismi {

struct JournalEntry {
    int64_t id = 0;
    std::string kind;     // "set-vf-count", ...
    std::string target;   // the card's serial, or "serial:vf"
    std::string payload;  // what was asked, in the operation's own words
    std::string step;     // the last step recorded before acting on it
    int64_t startedAt = 0;  // unix seconds
};

struct StoredEvent {
    int64_t id = 0;
    int64_t at = 0;  // unix seconds
    std::string severity;  // "info", "warning", "critical"
    std::string device;
    std::string message;
};

class StateStore {
public:
    static constexpr int kSchemaVersion = 2;

    /// Opens (creating if needed) `<stateDir>/aismid.db`, checks its integrity and migrates it
    /// to `targetVersion` (older versions only for tests of the migrations). A damaged file
    /// gives StoreCorrupt and is left as it is.
    static Result<std::unique_ptr<StateStore>> open(const std::string& stateDir, int targetVersion = kSchemaVersion);
    ~StateStore();
    StateStore(const StateStore&) = delete;
    StateStore& operator=(const StateStore&) = delete;

    const std::string& path() const { return path_; }
    Result<int> schemaVersion();

    struct Settings {
        std::string journalMode;  // "wal"
        int synchronous = 0;      // 2 = FULL
    };
    /// What SQLite reports it is doing, read back rather than assumed.
    Result<Settings> settings();

    /// Runs `body` in one transaction: every write in it lands, or none does (also on a crash).
    Result<void> transaction(const std::function<Result<void>()>& body);

    // Desired state, keyed by card serial (stable across re-enumeration and slot moves).
    Result<void> setDesiredVfCount(const std::string& serial, unsigned count);
    Result<std::optional<unsigned>> desiredVfCount(const std::string& serial);
    Result<void> setDesiredVfResources(const std::string& serial, unsigned vf, const Resources& r);
    Result<std::map<unsigned, Resources>> desiredVfResources(const std::string& serial);
    Result<void> clearDesiredVfResources(const std::string& serial);

    // The operation journal: begin before touching a device, advance before each step.
    Result<int64_t> beginOperation(const std::string& kind, const std::string& target, const std::string& payload);
    Result<void> advanceOperation(int64_t id, const std::string& step);
    Result<void> finishOperation(int64_t id, const std::string& outcome);
    Result<std::vector<JournalEntry>> unfinishedOperations();

    Result<void> appendEvent(const std::string& severity, const std::string& device, const std::string& message);
    Result<std::vector<StoredEvent>> recentEvents(unsigned limit);

private:
    StateStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
    Result<void> exec(const std::string& sql);
    Result<void> migrate(int targetVersion);
    Result<void> checkIntegrity();
    Error sqlError(const std::string& what) const;
    class Statement;

    sqlite3* db_;
    std::string path_;
    int depth_ = 0;
};

}  // namespace aismi
