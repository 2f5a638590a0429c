#include "state_store.hpp"

#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

using namespace aismi;
using aismi::test::TempDir;

namespace {

std::unique_ptr<StateStore> openStore(const std::string& dir, int version = StateStore::kSchemaVersion) {
    auto s = StateStore::open(dir, version);
    EXPECT_TRUE(s.ok()) << s.error().message;
    return s.ok() ? std::move(*s) : nullptr;
}

// Runs `body` in a child process that dies the way a crashed daemon does; returns once it has.
template <class F>
void inCrashingChild(F body) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        body();
        ::raise(SIGKILL);
        ::_exit(99);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
}

void overwrite(const std::string& path, long offset, const std::string& bytes) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(offset);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

TEST(StateStore, CreatesTheLatestSchemaInWalModeWithFullSync) {
    TempDir tmp;
    auto store = openStore(tmp.path());
    ASSERT_TRUE(store);
    EXPECT_EQ(store->schemaVersion().valueOr(-1), StateStore::kSchemaVersion);
    auto s = store->settings();
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->journalMode, "wal");
    EXPECT_EQ(s->synchronous, 2) << "FULL";
}

TEST(StateStore, MigratesAnOlderSchemaAndKeepsItsData) {
    TempDir tmp;
    {
        auto v1 = openStore(tmp.path(), 1);
        ASSERT_TRUE(v1);
        ASSERT_TRUE(v1->setDesiredVfCount("AIS1", 8).ok());
        ASSERT_TRUE(v1->appendEvent("warning", "card 0", "hot").ok());
        EXPECT_FALSE(v1->beginOperation("x", "y", "z").ok()) << "version 1 has no journal";
    }
    auto store = openStore(tmp.path());
    ASSERT_TRUE(store);
    EXPECT_EQ(store->schemaVersion().valueOr(-1), 2);
    EXPECT_EQ(store->desiredVfCount("AIS1").valueOr(std::nullopt), 8u);
    EXPECT_EQ(store->recentEvents(10)->at(0).message, "hot");
    EXPECT_TRUE(store->beginOperation("set-vf-count", "AIS1", "4").ok());
}

TEST(StateStore, RefusesASchemaNewerThanItKnows) {
    TempDir tmp;
    openStore(tmp.path()).reset();
    overwrite(tmp / "aismid.db", 60, std::string("\0\0\0\x63", 4));  // user_version = 99 (big-endian)
    auto s = StateStore::open(tmp.path());
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, Errc::StoreFailed);
    EXPECT_NE(s.error().message.find("newer"), std::string::npos);
}

TEST(StateStore, LeavesNoTraceOfATransactionACrashInterrupted) {
    TempDir tmp;
    openStore(tmp.path()).reset();
    inCrashingChild([&] {
        auto store = StateStore::open(tmp.path());
        (void)(*store)->transaction([&]() -> Result<void> {
            (void)(*store)->setDesiredVfCount("AIS1", 4);
            ::raise(SIGKILL);  // dies between the two writes
            return (*store)->setDesiredVfCount("AIS2", 4);
        });
    });
    auto store = openStore(tmp.path());
    ASSERT_TRUE(store);
    EXPECT_EQ(store->desiredVfCount("AIS1").valueOr(7u), std::nullopt);
    EXPECT_EQ(store->desiredVfCount("AIS2").valueOr(7u), std::nullopt);
}

TEST(StateStore, KeepsWhatWasCommittedBeforeACrash) {
    TempDir tmp;
    openStore(tmp.path()).reset();
    inCrashingChild([&] {
        auto store = StateStore::open(tmp.path());
        (void)(*store)->setDesiredVfCount("AIS1", 4);
        auto op = (*store)->beginOperation("set-vf-count", "AIS1", "4");
        (void)(*store)->advanceOperation(*op, "wrote-sriov-numvfs");
    });
    auto store = openStore(tmp.path());
    ASSERT_TRUE(store);
    EXPECT_EQ(store->desiredVfCount("AIS1").valueOr(std::nullopt), 4u);
    auto open = store->unfinishedOperations();
    ASSERT_TRUE(open.ok());
    ASSERT_EQ(open->size(), 1u);
    EXPECT_EQ(open->at(0).step, "wrote-sriov-numvfs") << "reconciliation knows where it stopped";
}

TEST(StateStore, RollsBackATransactionWhoseBodyFails) {
    TempDir tmp;
    auto store = openStore(tmp.path());
    auto r = store->transaction([&]() -> Result<void> {
        (void)store->setDesiredVfCount("AIS1", 4);
        return makeError(Errc::Busy, "device busy");
    });
    EXPECT_EQ(r.error().code, Errc::Busy);
    EXPECT_EQ(store->desiredVfCount("AIS1").valueOr(7u), std::nullopt);
}

TEST(StateStore, ReportsADamagedFile) {
    TempDir tmp;
    {
        auto store = openStore(tmp.path());
        for (int i = 0; i < 300; ++i) ASSERT_TRUE(store->appendEvent("info", "card 0", std::string(200, 'x')).ok());
    }
    // Scribble over the b-tree page headers of pages 2 to 9 (page 1 holds the file header).
    for (long page = 1; page < 9; ++page) overwrite(tmp / "aismid.db", 4096 * page, std::string(12, '\x5a'));
    auto s = StateStore::open(tmp.path());
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, Errc::StoreCorrupt);
    EXPECT_NE(s.error().message.find(tmp / "aismid.db"), std::string::npos) << s.error().message;
    EXPECT_NE(s.error().message.find("move the file aside"), std::string::npos);
}

TEST(StateStore, ReportsAFileThatIsNotADatabase) {
    TempDir tmp;
    std::ofstream(tmp / "aismid.db") << "this is not a database, it is a text file that is long enough to matter\n";
    auto s = StateStore::open(tmp.path());
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, Errc::StoreCorrupt);
}

TEST(StateStore, JournalsOperationsUntilTheyFinish) {
    TempDir tmp;
    auto store = openStore(tmp.path());
    auto id = store->beginOperation("reset-vf", "AIS1:3", "");
    ASSERT_TRUE(id.ok());
    ASSERT_TRUE(store->advanceOperation(*id, "flr-written").ok());
    EXPECT_EQ(store->unfinishedOperations()->size(), 1u);
    ASSERT_TRUE(store->finishOperation(*id, "ok").ok());
    EXPECT_TRUE(store->unfinishedOperations()->empty());
    EXPECT_EQ(store->finishOperation(*id, "ok").error().code, Errc::InvalidState) << "an operation finishes once";
    EXPECT_EQ(store->advanceOperation(*id + 5, "x").error().code, Errc::InvalidState);
}

TEST(StateStore, StoresDesiredVfResources) {
    TempDir tmp;
    auto store = openStore(tmp.path());
    ASSERT_TRUE(store->setDesiredVfResources("AIS1", 2, Resources{8, 4096, 1}).ok());
    ASSERT_TRUE(store->setDesiredVfResources("AIS1", 2, Resources{4, 2048, 1}).ok());
    auto all = store->desiredVfResources("AIS1");
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all->size(), 1u);
    EXPECT_EQ(all->at(2), (Resources{4, 2048, 1}));
    EXPECT_EQ(store->setDesiredVfResources("AIS1", 3, Resources{0, 1, 1}).error().code, Errc::StoreFailed)
        << "the schema's CHECK refuses zero compute units";
    ASSERT_TRUE(store->clearDesiredVfResources("AIS1").ok());
    EXPECT_TRUE(store->desiredVfResources("AIS1")->empty());
}

TEST(StateStore, RejectsAnUnknownEventSeverity) {
    TempDir tmp;
    auto store = openStore(tmp.path());
    EXPECT_EQ(store->appendEvent("fatal", "card 0", "x").error().code, Errc::InvalidArgument);
    EXPECT_TRUE(store->recentEvents(5)->empty());
}
