// Where Jobs keeps its rows (the store's JobRepository implements it): a job's number comes
// from here, so job paths stay unique across restarts, and every state change is recorded,
// so a job a crash interrupted is known afterwards. Core names what it needs; the store
// provides it — core depends on nothing of the daemon.
#pragma once

#include <aismi/error.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace aismi {

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

class JobRecords {
public:
    virtual ~JobRecords() = default;
    virtual Result<int64_t> create(const std::string& kind, const std::string& target) = 0;
    virtual Result<void> update(const JobRow& job) = 0;
    /// Marks jobs that were queued or running when the daemon stopped as failed; returns them.
    virtual Result<std::vector<JobRow>> failUnfinished(const std::string& why) = 0;
    /// Deletes finished jobs older than `maxAgeSeconds`, and all but the newest `keep` finished.
    virtual Result<void> prune(int64_t maxAgeSeconds, size_t keep) = 0;
};

}  // namespace aismi
