// The event history: what happened to which device, bounded by count and age.
#pragma once

#include <aismi/error.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace aismi {

class Database;

enum class Severity { Info, Warning, Critical };
std::string_view severityName(Severity s);

struct StoredEvent {
    int64_t id = 0;
    int64_t at = 0;  // unix seconds
    Severity severity = Severity::Info;
    std::string device;
    std::string message;
};

class EventRepository {
public:
    explicit EventRepository(Database& db) : db_(db) {}

    Result<void> append(Severity severity, const std::string& device, const std::string& message);
    Result<std::vector<StoredEvent>> recent(unsigned limit);
    /// Deletes all but the newest `keepCount` events and any older than `maxAgeSeconds`.
    Result<void> prune(unsigned keepCount, int64_t maxAgeSeconds);

private:
    Database& db_;
};

}  // namespace aismi
