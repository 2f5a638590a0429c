// Jobs as rows: a job's number comes from here, so job paths stay unique across restarts,
// and every state change is recorded, so a job a crash interrupted is known afterwards.
#pragma once

#include <aismi/error.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace aismi {

class Database;

struct JobRow {
    int64_t id = 0;
    std::string kind;
    std::string target;
    std::string state;  // queued, running, done, failed, cancelled
    unsigned progress = 0;
    std::string error;
    int64_t startedAt = 0;
    int64_t finishedAt = 0;  // 0 while not finished
};

class JobRepository {
public:
    explicit JobRepository(Database& db) : db_(db) {}

    Result<int64_t> create(const std::string& kind, const std::string& target);
    Result<void> update(const JobRow& job);
    /// Marks jobs that were queued or running when the daemon stopped as failed; returns them.
    Result<std::vector<JobRow>> failUnfinished(const std::string& why);
    /// Deletes finished jobs older than `maxAgeSeconds`, and all but the newest `keep` finished.
    Result<void> prune(int64_t maxAgeSeconds, size_t keep);

private:
    Database& db_;
};

}  // namespace aismi
