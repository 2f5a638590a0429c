// Long operations as jobs: a number, a kind and target, a state that moves queued -> running
// -> done | failed | cancelled, progress 0-100, an error, start and finish times. Each change
// is recorded in the store and published (JobChanged) so the bus can show it; finished jobs
// stay queryable for a bounded time. Loop thread only.
#pragma once

#include "job_records.hpp"
#include "limits.hpp"
#include "service.hpp"

#include <aismi/error.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace aismi {

class EventBus;

enum class JobState { Queued, Running, Done, Failed, Cancelled };
std::string_view jobStateName(JobState s);

struct Job {
    int64_t id = 0;
    std::string kind;    // "set-vf-count"
    std::string target;  // "card 0 (0000:3b:00.0)"
    std::string action;  // the polkit action that authorizes cancelling it
    JobState state = JobState::Queued;
    unsigned progress = 0;
    std::string error;
    std::string errorName;  // the D-Bus error name of `error` (org.aismi.Error.<Name>)
    int64_t startedAt = 0;
    std::optional<int64_t> finishedAt;
    bool finished() const { return finishedAt.has_value(); }
};

/// Published whenever a job appears, changes or is forgotten.
struct JobChanged {
    enum class What { Added, Changed, Removed };
    What what;
    const Job& job;
    std::vector<std::string> properties;  // the org.aismi.Job1 properties that changed
};

class Jobs : public Service {
public:
    struct Limits {
        int64_t keepFinishedSeconds = limits::kFinishedJobSeconds;
        size_t keepFinished = limits::kMaxFinishedJobs;
        size_t maxActive = limits::kMaxActiveJobs;  // queued or running; create() refuses more (Busy)
    };
    Jobs(EventBus& events, JobRecords& repository, Limits limits);
    Jobs(EventBus& events, JobRecords& repository) : Jobs(events, repository, Limits{}) {}

    /// At start: jobs a crash interrupted are failed (their operations are the journal's).
    Result<std::vector<std::string>> recover();

    /// A new queued job. `cancel` is asked to stop it; it refuses when it cannot. Busy when
    /// `maxActive` jobs are already queued or running.
    Result<int64_t> create(const std::string& kind, const std::string& target, const std::string& action,
                           std::function<Result<void>()> cancel);
    void start(int64_t id);
    void progress(int64_t id, unsigned percent);
    /// Done, or failed/cancelled with the error's message.
    void finish(int64_t id, const Result<void>& outcome);
    Result<void> cancel(int64_t id);

    const Job* find(int64_t id) const;
    std::vector<const Job*> all() const;
    /// Forgets finished jobs past the limits.
    void prune(int64_t now);
    /// Service: prunes (by the wall clock).
    void housekeeping() override;
    /// Writes again the job rows the store refused (a full disk): the store says what the bus
    /// says as soon as it takes writes again. Every poll; nothing to do when none is behind.
    void resync();
    /// Jobs whose row in the store is behind (tests, metrics).
    size_t unsynced() const { return unsynced_.size(); }

private:
    struct Entry {
        Job job;
        std::function<Result<void>()> cancel;
    };
    void changed(Entry& e, std::vector<std::string> properties);

    EventBus& events_;
    JobRecords& repository_;
    Limits limits_;
    std::map<int64_t, Entry> jobs_;
    std::map<int64_t, JobRow> unsynced_;  // rows the store refused, newest state of each
};

}  // namespace aismi
