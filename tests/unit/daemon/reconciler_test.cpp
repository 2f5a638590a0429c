// Reconciliation dispatches open journal entries to the kinds that own them, in phase order,
// and never closes an entry no code claims.
#include "database.hpp"
#include "journal_repository.hpp"
#include "reconciler.hpp"

#include "temp_dir.hpp"

#include <gtest/gtest.h>

using namespace aismi;

namespace {

// A kind with two steps that records what it was asked to recover, and closes the entry.
class FakeKind : public ReconcileParticipant {
public:
    FakeKind(JournalRepository& j, std::string kind, Phase phase, std::vector<std::string>& calls)
        : journal_(j), kind_(std::move(kind)), phase_(phase), calls_(calls) {}
    Phase phase() const override { return phase_; }
    std::vector<std::string> kinds() const override { return {kind_}; }
    Result<std::string> recover(const JournalRow& entry) override {
        calls_.push_back(kind_ + "@" + entry.step + ":" + entry.payload);
        // Each step has its own way out: before "apply", roll back; after it, finish.
        const std::string outcome = entry.step == "prepare" ? "rolled back" : "finished";
        if (auto r = journal_.finish(entry.id, outcome); !r) return std::move(r).error();
        return kind_ + " " + outcome;
    }
    std::vector<std::string> converge() override {
        calls_.push_back(kind_ + " converge");
        return {};
    }

private:
    JournalRepository& journal_;
    std::string kind_;
    Phase phase_;
    std::vector<std::string>& calls_;
};

}  // namespace

TEST(Reconciler, RecoversEachKindAtEachStepInPhaseOrderAndKeepsUnclaimedEntriesOpen) {
    aismi::test::TempDir tmp;
    auto db = Database::open(tmp.path());
    ASSERT_TRUE(db.ok());
    JournalRepository journal(**db);
    // A crash in each step of each kind; the later phase's entries are older.
    ASSERT_TRUE(journal.begin("assign-vf", "AIS1:0", "domain vm1\n", "prepare").ok());
    ASSERT_TRUE(journal.begin("assign-vf", "AIS1:1", "domain vm2\n", "apply").ok());
    ASSERT_TRUE(journal.begin("set-vf-count", "AIS1", "count 4\n", "prepare").ok());
    ASSERT_TRUE(journal.begin("set-vf-count", "AIS2", "count 2\n", "apply").ok());
    ASSERT_TRUE(journal.begin("flash-firmware", "AIS1", "bank 1\n", "write").ok());  // nobody claims it

    std::vector<std::string> calls;
    FakeKind assign(journal, "assign-vf", Phase::Assignments, calls);
    FakeKind partition(journal, "set-vf-count", Phase::Partition, calls);
    Reconciler reconciler(journal);
    reconciler.add(assign);  // registered first, runs second
    reconciler.add(partition);
    auto report = reconciler.run();

    EXPECT_EQ(calls, (std::vector<std::string>{"set-vf-count@prepare:count 4\n", "set-vf-count@apply:count 2\n", "set-vf-count converge",
                                               "assign-vf@prepare:domain vm1\n", "assign-vf@apply:domain vm2\n", "assign-vf converge"}));
    EXPECT_EQ(report.actions.size(), 4u);
    ASSERT_EQ(report.unclaimed.size(), 1u);
    EXPECT_NE(report.unclaimed[0].find("flash-firmware"), std::string::npos);
    auto open = journal.open();
    ASSERT_EQ(open->size(), 1u) << "the unclaimed entry stays open, for a later aismid that knows it";
    EXPECT_EQ(open->at(0).kind, "flash-firmware");
}
