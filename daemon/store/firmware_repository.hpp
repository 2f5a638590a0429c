// Firmware updates as rows: what was written where, how the activation went and how it ended
// (committed, rolled back with the reason, failed). The journal holds how to recover an
// update a crash interrupted; this is the record operators and `aismi firmware jobs` read.
#pragma once

#include <aismi/error.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace aismi {

class Database;

struct FirmwareUpdate {
    enum class Kind { Update, Activate, Rollback };
    enum class Activation { Now, Idle, Never };
    enum class State { Writing, Staged, Activating, Committed, RolledBack, Failed };
    int64_t id = 0;
    int64_t job = 0;  // the job that ran it (0: none, as after a restart)
    std::string cardKey;
    Kind kind = Kind::Update;
    std::string fromVersion;
    unsigned fromBank = 0;
    std::string toVersion;
    unsigned toBank = 0;
    std::string sha256;  // of the image payload written ("" for activations and rollbacks)
    Activation activate = Activation::Idle;
    State state = State::Writing;
    std::string reason;  // why it ended so, or where it stands
    int64_t started = 0;
    int64_t finished = 0;  // 0 while under way
    bool open() const { return finished == 0; }
};

std::string_view firmwareKindName(FirmwareUpdate::Kind k);
std::string_view activationName(FirmwareUpdate::Activation a);
std::optional<FirmwareUpdate::Activation> activationFromName(std::string_view s);
std::string_view firmwareStateName(FirmwareUpdate::State s);

class FirmwareRepository {
public:
    explicit FirmwareRepository(Database& db) : db_(db) {}

    /// Records a new update; returns its number.
    Result<int64_t> add(const FirmwareUpdate& u);
    /// Moves an update to `state` with `reason` (finished when the state is final).
    Result<void> set(int64_t id, FirmwareUpdate::State state, const std::string& reason);
    Result<void> setJob(int64_t id, int64_t job);
    Result<std::optional<FirmwareUpdate>> get(int64_t id);
    /// Newest first; `cardKey` "" for every card; at most `limit`.
    Result<std::vector<FirmwareUpdate>> recent(const std::string& cardKey, unsigned limit);
    /// Ends the card's staged updates other than `keep` as failed with `reason` (a new image
    /// is being written over them).
    Result<void> supersede(const std::string& cardKey, int64_t keep, const std::string& reason);
    /// The card's update that is staged or under way, if any.
    Result<std::optional<FirmwareUpdate>> openFor(const std::string& cardKey);

private:
    Database& db_;
};

}  // namespace aismi
