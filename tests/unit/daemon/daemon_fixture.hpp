// The daemon's services on simulated cards, without a bus: the store, the loop, the device
// executor, the inventory, the poller, jobs and the partition service, composed as aismid does.
#pragma once

#include "assignment_repository.hpp"
#include "database.hpp"
#include "desired_state_repository.hpp"
#include "device_executor.hpp"
#include "event_bus.hpp"
#include "event_repository.hpp"
#include "health_assessor.hpp"
#include "inventory.hpp"
#include "job_repository.hpp"
#include "jobs.hpp"
#include "journal_repository.hpp"
#include "known_card_repository.hpp"
#include "quota_repository.hpp"
#include "poller.hpp"
#include "reconciler.hpp"
#include "card_changes.hpp"
#include "layout_service.hpp"
#include "policy_repository.hpp"
#include "policy_service.hpp"
#include "provision_service.hpp"
#include "vf_count_service.hpp"

#include "sim_fixture.hpp"

#include <aismi/card.hpp>

#include <boost/asio/io_context.hpp>

#include <chrono>

namespace aismi::test {

class DaemonFixture : public SimFixture {
protected:
    void SetUp() override {
        SimFixture::SetUp();
        compose();
    }
    void TearDown() override { teardown(); }

    void compose() {
        auto d = Database::open(tmp / "state");
        ASSERT_TRUE(d.ok()) << d.error().message;
        db = std::move(*d);
        desired = std::make_unique<DesiredStateRepository>(*db);
        journal = std::make_unique<JournalRepository>(*db);
        jobRows = std::make_unique<JobRepository>(*db);
        io = std::make_unique<boost::asio::io_context>();
        events = std::make_unique<EventBus>();
        executor = std::make_unique<DeviceExecutor>(*io, 2);
        knownCards = std::make_unique<KnownCardRepository>(*db);
        quotas = std::make_unique<QuotaRepository>(*db);
        scrubMarks = std::make_unique<AssignmentRepository>(*db);
        policyRows = std::make_unique<PolicyRepository>(*db);
        inventory = std::make_unique<Inventory>(*fs, std::vector<DeviceMatch>{kAismiCardMatch}, knownCards.get());
        auto found = inventory->scan();
        ASSERT_TRUE(found.ok());
        auto adopted = inventory->adopt(std::move(*found));
        ASSERT_TRUE(adopted.ok()) << adopted.error().message;
        poller = std::make_unique<Poller>(*io, *inventory, *executor, health, *events);
        jobs = std::make_unique<Jobs>(*events, *jobRows);
        service = std::make_unique<VfCountService>(
            VfCountService::Deps{*db, *desired, *journal, *inventory, *executor, *poller, *jobs, *events, changes});
        policies = std::make_unique<PolicyService>(PolicyService::Deps{*policyRows, *inventory, *poller, *events, changes});
        ASSERT_TRUE(policies->load().ok());
        auto profiles = loadProfiles(tmp / "profiles.d");
        ASSERT_TRUE(profiles.ok()) << profiles.error().message;
        provisioning = std::make_unique<ProvisionService>(
            ProvisionService::Deps{*db, *desired, *journal, *inventory, *executor, *poller, *events, changes, *quotas, *policies, *scrubMarks},
            std::move(*profiles));
        poller->annotators.push_back([this](CardSnapshot& s) { provisioning->annotate(s); });
        poller->annotators.push_back([this](CardSnapshot& s) { policies->annotate(s); });
        layouts = std::make_unique<LayoutService>(LayoutService::Deps{*inventory, *service, *provisioning, *jobs, *events});
        poller->readAllNow();
    }

    void teardown() {
        layouts.reset();
        provisioning.reset();
        policies.reset();
        service.reset();
        jobs.reset();
        poller.reset();
        executor.reset();  // joins the workers before what they use goes away
        inventory.reset();
        events.reset();
        io.reset();
        knownCards.reset();
        quotas.reset();
        scrubMarks.reset();
        policyRows.reset();
        jobRows.reset();
        journal.reset();
        desired.reset();
        db.reset();
    }

    /// Runs the loop until `done` holds (at most 10 s of wall time).
    bool runUntil(const std::function<bool()>& done) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!done() && std::chrono::steady_clock::now() < deadline) {
            io->restart();
            io->run_for(std::chrono::milliseconds(5));
        }
        return done();
    }

    /// setVfCount, run to its end; the job's outcome.
    Result<void> setVfCount(unsigned card, unsigned count) {
        std::optional<Result<void>> outcome;
        auto job = service->setVfCount(card, count, [&](Result<void> r) { outcome = r; });
        if (!job) return job.error();
        EXPECT_TRUE(runUntil([&] { return outcome.has_value(); }));
        return outcome.value_or(makeError(Errc::Timeout, "no outcome"));
    }

    /// Provisions (or, with an empty profile, unprovisions) and waits for the outcome.
    Result<void> provision(unsigned card, unsigned vf, const std::string& profile, const std::string& tenant = "") {
        std::optional<Result<void>> outcome;
        auto done = [&](Result<void> r) { outcome = std::move(r); };
        if (profile.empty()) provisioning->unprovision(VfRef{card, vf}, done);
        else provisioning->provision(VfRef{card, vf}, profile, tenant, done);
        if (!runUntil([&] { return outcome.has_value(); })) return makeError(Errc::Timeout, "no outcome");
        return *outcome;
    }

    static constexpr const char* kSerial0 = "AIS24110000";

    std::unique_ptr<Database> db;
    std::unique_ptr<DesiredStateRepository> desired;
    std::unique_ptr<JournalRepository> journal;
    std::unique_ptr<JobRepository> jobRows;
    std::unique_ptr<KnownCardRepository> knownCards;
    std::unique_ptr<QuotaRepository> quotas;
    std::unique_ptr<AssignmentRepository> scrubMarks;
    std::unique_ptr<PolicyRepository> policyRows;
    std::unique_ptr<boost::asio::io_context> io;
    std::unique_ptr<EventBus> events;
    std::unique_ptr<DeviceExecutor> executor;
    std::unique_ptr<Inventory> inventory;
    HealthAssessor health;
    std::unique_ptr<Poller> poller;
    std::unique_ptr<Jobs> jobs;
    std::unique_ptr<VfCountService> service;
    std::unique_ptr<PolicyService> policies;
    std::unique_ptr<ProvisionService> provisioning;
    std::unique_ptr<LayoutService> layouts;
    CardChanges changes;
};

}  // namespace aismi::test
