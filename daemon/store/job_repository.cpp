#include "job_repository.hpp"

#include "database.hpp"

namespace aismi {

Result<int64_t> JobRepository::create(const std::string& kind, const std::string& target) {
    Statement st(db_, "INSERT INTO jobs (kind, target, state, progress, error, started_at) VALUES (?1, ?2, 'queued', 0, '', ?3)");
    if (auto r = st.bind(1, kind).bind(2, target).bind(3, Database::now()).run("record job " + kind); !r) return std::move(r).error();
    return db_.lastInsertId();
}

Result<void> JobRepository::update(const JobRow& job) {
    Statement st(db_, "UPDATE jobs SET state = ?2, progress = ?3, error = ?4, finished_at = ?5 WHERE id = ?1");
    st.bind(1, job.id).bind(2, job.state).bind(3, static_cast<int64_t>(job.progress)).bind(4, job.error);
    if (job.finishedAt) st.bind(5, job.finishedAt);
    return st.run("update job " + std::to_string(job.id));
}

Result<std::vector<JobRow>> JobRepository::failUnfinished(const std::string& why) {
    std::vector<JobRow> out;
    {
        Statement st(db_, "SELECT id, kind, target, progress, started_at FROM jobs WHERE state IN ('queued','running') ORDER BY id");
        Statement::Step rc;
        while ((rc = st.step()) == Statement::Step::Row)
            out.push_back(JobRow{st.integer(0), st.text(1), st.text(2), "failed", static_cast<unsigned>(st.integer(3)), why,
                                 st.integer(4), Database::now()});
        if (rc != Statement::Step::Done) return db_.error("read unfinished jobs");
    }
    for (const auto& j : out)
        if (auto r = update(j); !r) return std::move(r).error();
    return out;
}

Result<void> JobRepository::prune(int64_t maxAgeSeconds, size_t keep) {
    Statement st(db_,
                 "DELETE FROM jobs WHERE finished_at IS NOT NULL AND (finished_at < ?1 OR id NOT IN "
                 "(SELECT id FROM jobs WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT ?2))");
    return st.bind(1, Database::now() - maxAgeSeconds).bind(2, static_cast<int64_t>(keep)).run("prune jobs");
}

}  // namespace aismi
