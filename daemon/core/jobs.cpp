#include "jobs.hpp"

#include "event_bus.hpp"

#include <algorithm>
#include <ctime>

namespace aismi {
namespace {

int64_t unixNow() { return static_cast<int64_t>(std::time(nullptr)); }

}  // namespace

std::string_view jobStateName(JobState s) {
    switch (s) {
    case JobState::Queued: return "queued";
    case JobState::Running: return "running";
    case JobState::Done: return "done";
    case JobState::Failed: return "failed";
    case JobState::Cancelled: return "cancelled";
    }
    return "failed";
}

Jobs::Jobs(EventBus& events, JobRecords& repository, Limits limits) : events_(events), repository_(repository), limits_(limits) {}

Result<std::vector<std::string>> Jobs::recover() {
    auto failed = repository_.failUnfinished("unfinished at start: aismid stopped while the job ran, or the store did not take its end");
    if (!failed) return std::move(failed).error();
    std::vector<std::string> log;
    for (const auto& j : *failed)
        log.push_back("job " + std::to_string(j.id) + " (" + j.kind + " on " + j.target + ") was still running at start (aismid stopped during it, or the store did not take its end); marked failed");
    if (auto r = repository_.prune(limits_.keepFinishedSeconds, limits_.keepFinished); !r) return std::move(r).error();
    return log;
}

Result<int64_t> Jobs::create(const std::string& kind, const std::string& target, const std::string& action,
                             std::function<Result<void>()> cancel) {
    const size_t active = static_cast<size_t>(std::count_if(jobs_.begin(), jobs_.end(), [](const auto& j) { return !j.second.job.finished(); }));
    if (active >= limits_.maxActive)
        return makeError(Errc::Busy, kind + " on " + target + ": " + std::to_string(active) + " jobs are queued or running, the most aismid takes at once; try again when some have finished");
    auto id = repository_.create(kind, target);
    if (!id) return std::move(id).error();
    Entry& e = jobs_[*id];
    e.job = Job{*id, kind, target, action, JobState::Queued, 0, "", "", unixNow(), std::nullopt};
    e.cancel = std::move(cancel);
    events_.publish(JobChanged{JobChanged::What::Added, e.job, {}});
    return *id;
}

void Jobs::changed(Entry& e, std::vector<std::string> properties) {
    JobRow row{e.job.id, e.job.kind, e.job.target, std::string(jobStateName(e.job.state)), e.job.progress,
               e.job.error, e.job.startedAt, e.job.finishedAt.value_or(0)};
    // A row the store refuses is kept and written again (resync), never dropped: otherwise the
    // store says "running" for good while the bus says "failed".
    if (auto w = repository_.update(row); w) unsynced_.erase(e.job.id);
    else unsynced_[e.job.id] = std::move(row);
    events_.publish(JobChanged{JobChanged::What::Changed, e.job, std::move(properties)});
}

void Jobs::resync() {
    for (auto it = unsynced_.begin(); it != unsynced_.end();) {
        if (!repository_.update(it->second)) return;  // still refused: the next poll tries again
        it = unsynced_.erase(it);
    }
}

void Jobs::start(int64_t id) {
    auto it = jobs_.find(id);
    if (it == jobs_.end() || it->second.job.state != JobState::Queued) return;
    it->second.job.state = JobState::Running;
    changed(it->second, {"State"});
}

void Jobs::progress(int64_t id, unsigned percent) {
    auto it = jobs_.find(id);
    if (it == jobs_.end() || it->second.job.finished()) return;
    percent = std::min(percent, 100u);
    if (percent == it->second.job.progress) return;
    it->second.job.progress = percent;
    // Progress is shown, not recovered: it is published but not written to the store.
    events_.publish(JobChanged{JobChanged::What::Changed, it->second.job, {"Progress"}});
}

void Jobs::finish(int64_t id, const Result<void>& outcome) {
    auto it = jobs_.find(id);
    if (it == jobs_.end() || it->second.job.finished()) return;
    Job& j = it->second.job;
    std::vector<std::string> props{"State", "FinishedAt"};
    if (outcome) {
        j.state = JobState::Done;
        if (j.progress != 100) j.progress = 100, props.push_back("Progress");
    } else {
        j.state = outcome.error().code == Errc::Cancelled ? JobState::Cancelled : JobState::Failed;
        j.error = outcome.error().message;
        j.errorName = std::string(errcInfo(outcome.error().code).dbusName);
        props.push_back("Error");
        props.push_back("ErrorName");
    }
    j.finishedAt = unixNow();
    it->second.cancel = nullptr;
    changed(it->second, std::move(props));
    // The count of finished jobs kept holds at every moment, not only at the next housekeeping
    // (a minute of changes could keep hundreds more); their age is left to the housekeeping.
    const size_t finished = static_cast<size_t>(std::count_if(jobs_.begin(), jobs_.end(), [](const auto& e) { return e.second.job.finished(); }));
    if (finished > limits_.keepFinished) prune(*j.finishedAt);
}

Result<void> Jobs::cancel(int64_t id) {
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return makeError(Errc::NotFound, "no job " + std::to_string(id));
    const Job& j = it->second.job;
    if (j.finished())
        return makeError(Errc::InvalidState, "job " + std::to_string(id) + " (" + j.kind + " on " + j.target + ") has already " +
                                                 (j.state == JobState::Done ? "finished" : std::string(jobStateName(j.state))));
    if (!it->second.cancel) return makeError(Errc::NotSupported, "job " + std::to_string(id) + " cannot be cancelled");
    return it->second.cancel();
}

const Job* Jobs::find(int64_t id) const {
    auto it = jobs_.find(id);
    return it == jobs_.end() ? nullptr : &it->second.job;
}

std::vector<const Job*> Jobs::all() const {
    std::vector<const Job*> out;
    for (const auto& [id, e] : jobs_) out.push_back(&e.job);
    return out;
}

void Jobs::housekeeping() { prune(static_cast<int64_t>(std::time(nullptr))); }

void Jobs::prune(int64_t now) {
    size_t finished = 0;
    for (const auto& [id, e] : jobs_) finished += e.job.finished();
    for (auto it = jobs_.begin(); it != jobs_.end();) {
        const Job& j = it->second.job;
        const bool old = j.finished() && (*j.finishedAt + limits_.keepFinishedSeconds <= now || finished > limits_.keepFinished);
        if (!old) {
            ++it;
            continue;
        }
        --finished;
        events_.publish(JobChanged{JobChanged::What::Removed, j, {}});
        it = jobs_.erase(it);
    }
    (void)repository_.prune(limits_.keepFinishedSeconds, limits_.keepFinished);
}

}  // namespace aismi
