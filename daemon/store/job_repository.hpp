// Jobs as rows in the store (core/job_records.hpp says what Jobs needs of them).
#pragma once

#include "job_records.hpp"

namespace aismi {

class Database;

class JobRepository : public JobRecords {
public:
    explicit JobRepository(Database& db) : db_(db) {}

    Result<int64_t> create(const std::string& kind, const std::string& target) override;
    Result<void> update(const JobRow& job) override;
    Result<std::vector<JobRow>> failUnfinished(const std::string& why) override;
    Result<void> prune(int64_t maxAgeSeconds, size_t keep) override;

private:
    Database& db_;
};

}  // namespace aismi
