// Jobs: their life, what they publish, what survives a restart, and their retention.
#include "database.hpp"
#include "event_bus.hpp"
#include "job_repository.hpp"
#include "jobs.hpp"

#include "temp_dir.hpp"

#include <gtest/gtest.h>

using namespace aismi;

namespace {

struct JobsTest : ::testing::Test {
    void SetUp() override {
        auto d = Database::open(tmp.path());
        ASSERT_TRUE(d.ok());
        db = std::move(*d);
        rows = std::make_unique<JobRepository>(*db);
        events.subscribe<JobChanged>([this](const JobChanged& e) {
            seen.push_back(std::string(e.what == JobChanged::What::Added ? "added" : e.what == JobChanged::What::Removed ? "removed" : "changed") +
                           " " + std::to_string(e.job.id));
        });
    }
    aismi::test::TempDir tmp;
    std::unique_ptr<Database> db;
    std::unique_ptr<JobRepository> rows;
    EventBus events;
    std::vector<std::string> seen;
};

}  // namespace

TEST_F(JobsTest, MoveFromQueuedToDoneAndSayEachStep) {
    Jobs jobs(events, *rows);
    auto id = jobs.create("set-vf-count", "card 0", "org.aismi.manage-vfs", nullptr);
    ASSERT_TRUE(id.ok());
    EXPECT_EQ(jobs.find(*id)->state, JobState::Queued);
    jobs.start(*id);
    jobs.progress(*id, 40);
    jobs.finish(*id, {});
    const Job* j = jobs.find(*id);
    EXPECT_EQ(j->state, JobState::Done);
    EXPECT_EQ(j->progress, 100u);
    EXPECT_TRUE(j->finished());
    EXPECT_EQ(seen, (std::vector<std::string>{"added 1", "changed 1", "changed 1", "changed 1"}));
    EXPECT_EQ(jobs.cancel(*id).error().code, Errc::InvalidState);
}

TEST_F(JobsTest, RecordFailuresAndNumberJobsUniquelyAcrossRestarts) {
    int64_t first = 0;
    {
        Jobs jobs(events, *rows);
        first = *jobs.create("set-vf-count", "card 0", "a", nullptr);
        jobs.start(first);  // and the daemon dies here
    }
    Jobs jobs(events, *rows);
    auto recovered = jobs.recover();
    ASSERT_TRUE(recovered.ok());
    ASSERT_EQ(recovered->size(), 1u);
    EXPECT_NE(recovered->at(0).find("still running at start"), std::string::npos);
    auto next = jobs.create("set-vf-count", "card 0", "a", nullptr);
    EXPECT_GT(*next, first);
    jobs.finish(*next, makeError(Errc::Busy, "device busy"));
    EXPECT_EQ(jobs.find(*next)->state, JobState::Failed);
    EXPECT_EQ(jobs.find(*next)->error, "device busy");
}

TEST_F(JobsTest, AskTheJobWhetherItCanBeCancelled) {
    Jobs jobs(events, *rows);
    bool asked = false;
    auto id = jobs.create("k", "t", "a", [&]() -> Result<void> {
        asked = true;
        return makeError(Errc::InvalidState, "writing");
    });
    EXPECT_EQ(jobs.cancel(*id).error().code, Errc::InvalidState);
    EXPECT_TRUE(asked);
    EXPECT_EQ(jobs.cancel(*id + 100).error().code, Errc::NotFound);
}

TEST_F(JobsTest, ForgetFinishedJobsPastTheirRetention) {
    Jobs jobs(events, *rows, Jobs::Limits{600, 2});
    std::vector<int64_t> ids;
    for (int i = 0; i < 4; ++i) {
        ids.push_back(*jobs.create("k", "t", "a", nullptr));
        jobs.finish(ids.back(), {});
        EXPECT_LE(jobs.all().size(), 2u) << "never more finished jobs than kept, not even until the next housekeeping";
    }
    auto running = jobs.create("k", "t", "a", nullptr);
    jobs.prune(std::time(nullptr));
    EXPECT_EQ(jobs.all().size(), 3u) << "two finished (the newest) and the running one";
    EXPECT_EQ(jobs.find(ids[0]), nullptr);
    Statement stored(*db, "SELECT COUNT(*) FROM jobs WHERE finished_at IS NOT NULL");
    ASSERT_EQ(stored.step(), Statement::Step::Row);
    EXPECT_EQ(stored.integer(0), 2) << "the store keeps no more finished jobs than memory: it does not grow with them";
    jobs.prune(std::time(nullptr) + 601);
    ASSERT_EQ(jobs.all().size(), 1u);
    EXPECT_EQ(jobs.all()[0]->id, *running) << "a running job is never forgotten";
}

TEST_F(JobsTest, RefuseMoreJobsUnderWayThanTheLimit) {
    EXPECT_EQ(Jobs::Limits{}.maxActive, limits::kMaxActiveJobs) << "the limit docs/security.md names";
    Jobs jobs(events, *rows, Jobs::Limits{600, 100, 3});
    std::vector<int64_t> ids;
    for (int i = 0; i < 3; ++i) ids.push_back(jobs.create("k", "t" + std::to_string(i), "a", nullptr).value());
    jobs.start(ids[0]);
    auto refused = jobs.create("set-vf-count", "card 9", "a", nullptr);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, Errc::Busy);
    EXPECT_NE(refused.error().message.find("set-vf-count on card 9: 3 jobs are queued or running"), std::string::npos) << refused.error().message;
    EXPECT_EQ(jobs.all().size(), 3u) << "nothing recorded for it";
    jobs.finish(ids[0], {});
    EXPECT_TRUE(jobs.create("k", "t", "a", nullptr).ok()) << "a finished job makes room";
}

// Issue 26 (4): a job whose row the store refuses (a full disk) is not left "running" in the
// store while the bus says "failed": the row is written again as soon as the store takes it.
TEST_F(JobsTest, WriteARowTheStoreRefusedAgainOnceItTakesWrites) {
    Jobs jobs(events, *rows);
    auto id = jobs.create("apply-layout", "card 1", "a", nullptr);
    ASSERT_TRUE(id.ok());
    jobs.start(*id);
    // The store stops taking writes (what a full disk does to SQLite's writes).
    ASSERT_TRUE(Statement(*db, "PRAGMA query_only = 1").run("refuse writes").ok());
    jobs.finish(*id, makeError(Errc::StoreFailed, "database or disk is full"));
    EXPECT_EQ(jobs.find(*id)->state, JobState::Failed) << "the bus says it at once";
    EXPECT_EQ(jobs.unsynced(), 1u);
    jobs.resync();
    EXPECT_EQ(jobs.unsynced(), 1u) << "still refused: kept for the next try";
    ASSERT_TRUE(Statement(*db, "PRAGMA query_only = 0").run("take writes").ok());
    jobs.resync();
    EXPECT_EQ(jobs.unsynced(), 0u);
    // What a restart would find: the job failed, not interrupted.
    Jobs again(events, *rows);
    auto recovered = again.recover();
    ASSERT_TRUE(recovered.ok());
    EXPECT_TRUE(recovered->empty()) << "nothing was left running in the store";
}
