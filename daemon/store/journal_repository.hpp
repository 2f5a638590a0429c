// The operation journal's rows: begin an entry before touching a device, advance it before
// each step, finish it with an outcome. What the payload and steps mean belongs to the
// operation kind (daemon/journal/); here they are opaque text.
#pragma once

#include <aismi/error.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace aismi {

class Database;

struct JournalRow {
    int64_t id = 0;
    std::string kind;     // "set-vf-count", ...
    std::string target;   // the card's serial, or "serial:vf"
    std::string payload;  // the kind's encoded payload
    std::string step;     // the last step recorded before acting on it
    int64_t startedAt = 0;  // unix seconds
};

class JournalRepository {
public:
    explicit JournalRepository(Database& db) : db_(db) {}

    Result<int64_t> begin(const std::string& kind, const std::string& target, const std::string& payload, const std::string& step);
    Result<void> advance(int64_t id, const std::string& step);
    /// Replaces the payload of an open entry (a step learned something recovery needs).
    Result<void> updatePayload(int64_t id, const std::string& payload);
    Result<void> finish(int64_t id, const std::string& outcome);
    /// finish() through Database::recordEnd: when the store refuses it, it is written again at
    /// every poll and `recorded` runs once it lands (`what` names the change for the log).
    Result<void> recordEnd(int64_t id, std::string outcome, std::string what, std::function<void()> recorded);
    Result<std::vector<JournalRow>> open();

private:
    Database& db_;
};

}  // namespace aismi
