#include "database.hpp"
#include "limits.hpp"
#include "desired_state_repository.hpp"
#include "event_repository.hpp"
#include "journal_repository.hpp"

#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

using namespace aismi;
using aismi::test::TempDir;

namespace {

// The database with its repositories, as the daemon composes them.
struct Store {
    explicit Store(std::unique_ptr<Database> d) : db(std::move(d)), desired(*db), journal(*db), events(*db) {}
    Database* operator->() { return db.get(); }
    std::unique_ptr<Database> db;
    DesiredStateRepository desired;
    JournalRepository journal;
    EventRepository events;
};

std::unique_ptr<Store> openStore(const std::string& dir, int version = Database::kSchemaVersion) {
    auto s = Database::open(dir, version);
    EXPECT_TRUE(s.ok()) << s.error().message;
    return s.ok() ? std::make_unique<Store>(std::move(*s)) : nullptr;
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

Result<int64_t> appendEvent(Store& store, const std::string& message) {
    StoredEvent e{0, 0, EventType::Daemon, Severity::Info, 0u, std::nullopt, "", "card 0", message};
    return store.events.append(e);
}

TEST(Database, CreatesTheLatestSchemaInWalModeWithFullSync) {
    TempDir tmp;
    auto store = openStore(tmp.path());
    ASSERT_TRUE(store);
    EXPECT_EQ(store->db->schemaVersion().valueOr(-1), Database::kSchemaVersion);
    auto s = store->db->settings();
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->journalMode, "wal");
    EXPECT_EQ(s->synchronous, 2) << "FULL";
}

TEST(Database, MigratesAnOlderSchemaAndKeepsItsData) {
    TempDir tmp;
    {
        auto v1 = openStore(tmp.path(), 1);
        ASSERT_TRUE(v1);
        ASSERT_TRUE(v1->desired.setVfCount("AIS1", 8).ok());
        Statement old(*v1->db, "INSERT INTO events (at, severity, device, message) VALUES (1, 'warning', 'card 0', 'hot')");
        ASSERT_TRUE(old.run("insert").ok());
        EXPECT_FALSE(v1->journal.begin("x", "y", "z", "begin").ok()) << "version 1 has no journal";
    }
    auto store = openStore(tmp.path());
    ASSERT_TRUE(store);
    EXPECT_EQ(store->db->schemaVersion().valueOr(-1), Database::kSchemaVersion);
    EXPECT_EQ(store->desired.vfCount("AIS1").valueOr(std::nullopt), 8u);
    auto old = store->events.list({});
    ASSERT_TRUE(old.ok());
    ASSERT_EQ(old->size(), 1u);
    EXPECT_EQ(old->at(0).message, "hot");
    EXPECT_EQ(old->at(0).type, EventType::Daemon) << "an event from before types is a plain one";
    EXPECT_FALSE(old->at(0).card.has_value());
    EXPECT_TRUE(store->journal.begin("set-vf-count", "AIS1", "count 4\n", "begin").ok());
}

TEST(Database, RefusesASchemaNewerThanItKnows) {
    TempDir tmp;
    openStore(tmp.path()).reset();
    overwrite(tmp / "aismid.db", 60, std::string("\0\0\0\x63", 4));  // user_version = 99 (big-endian)
    auto s = Database::open(tmp.path());
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, Errc::StoreFailed);
    EXPECT_NE(s.error().message.find("newer"), std::string::npos);
}

TEST(Database, LeavesNoTraceOfATransactionACrashInterrupted) {
    TempDir tmp;
    openStore(tmp.path()).reset();
    inCrashingChild([&] {
        auto store = openStore(tmp.path());
        (void)store->db->transaction([&]() -> Result<void> {
            (void)store->desired.setVfCount("AIS1", 4);
            ::raise(SIGKILL);  // dies between the two writes
            return store->desired.setVfCount("AIS2", 4);
        });
    });
    auto store = openStore(tmp.path());
    ASSERT_TRUE(store);
    EXPECT_EQ(store->desired.vfCount("AIS1").valueOr(7u), std::nullopt);
    EXPECT_EQ(store->desired.vfCount("AIS2").valueOr(7u), std::nullopt);
}

TEST(Database, KeepsWhatWasCommittedBeforeACrash) {
    TempDir tmp;
    openStore(tmp.path()).reset();
    inCrashingChild([&] {
        auto store = openStore(tmp.path());
        (void)store->desired.setVfCount("AIS1", 4);
        auto op = store->journal.begin("set-vf-count", "AIS1", "count 4\n", "begin");
        (void)store->journal.advance(*op, "wrote-sriov-numvfs");
    });
    auto store = openStore(tmp.path());
    ASSERT_TRUE(store);
    EXPECT_EQ(store->desired.vfCount("AIS1").valueOr(std::nullopt), 4u);
    auto open = store->journal.open();
    ASSERT_TRUE(open.ok());
    ASSERT_EQ(open->size(), 1u);
    EXPECT_EQ(open->at(0).step, "wrote-sriov-numvfs") << "reconciliation knows where it stopped";
}

TEST(Database, RollsBackATransactionWhoseBodyFails) {
    TempDir tmp;
    auto store = openStore(tmp.path());
    auto r = store->db->transaction([&]() -> Result<void> {
        (void)store->desired.setVfCount("AIS1", 4);
        return makeError(Errc::Busy, "device busy");
    });
    EXPECT_EQ(r.error().code, Errc::Busy);
    EXPECT_EQ(store->desired.vfCount("AIS1").valueOr(7u), std::nullopt);
}

TEST(Database, ReportsADamagedFile) {
    TempDir tmp;
    {
        auto store = openStore(tmp.path());
        for (int i = 0; i < 300; ++i) ASSERT_TRUE(appendEvent(*store, std::string(200, 'x')).ok());
    }
    // Scribble over the b-tree page headers of pages 2 to 9 (page 1 holds the file header).
    for (long page = 1; page < 9; ++page) overwrite(tmp / "aismid.db", 4096 * page, std::string(12, '\x5a'));
    auto s = Database::open(tmp.path());
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, Errc::StoreCorrupt);
    EXPECT_NE(s.error().message.find(tmp / "aismid.db"), std::string::npos) << s.error().message;
    EXPECT_NE(s.error().message.find("move the file aside"), std::string::npos);
}

TEST(Database, ReportsAFileThatIsNotADatabase) {
    TempDir tmp;
    std::ofstream(tmp / "aismid.db") << "this is not a database, it is a text file that is long enough to matter\n";
    auto s = Database::open(tmp.path());
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, Errc::StoreCorrupt);
}

TEST(Database, JournalsOperationsUntilTheyFinish) {
    TempDir tmp;
    auto store = openStore(tmp.path());
    auto id = store->journal.begin("reset-vf", "AIS1:3", "", "begin");
    ASSERT_TRUE(id.ok());
    ASSERT_TRUE(store->journal.advance(*id, "flr-written").ok());
    EXPECT_EQ(store->journal.open()->size(), 1u);
    ASSERT_TRUE(store->journal.finish(*id, "ok").ok());
    EXPECT_TRUE(store->journal.open()->empty());
    EXPECT_EQ(store->journal.finish(*id, "ok").error().code, Errc::InvalidState) << "an operation finishes once";
    EXPECT_EQ(store->journal.advance(*id + 5, "x").error().code, Errc::InvalidState);
}

TEST(Database, KeepsOnlyTheNewestFinishedOperationsAndEveryOpenOne) {
    TempDir tmp;
    auto store = openStore(tmp.path());
    auto open = store->journal.begin("reset-vf", "AIS1:0", "", "begin");  // the oldest, still open
    ASSERT_TRUE(open.ok());
    ASSERT_TRUE(store->db->transaction([&]() -> Result<void> {
        for (size_t i = 0; i < limits::kMaxFinishedOperations + 20; ++i) {
            auto id = store->journal.begin("reset-vf", "AIS1:1", "", "begin");
            if (!id) return std::move(id).error();
            if (auto r = store->journal.finish(*id, "ok"); !r) return r;
        }
        return {};
    }).ok());
    Statement finished(*store->db, "SELECT COUNT(*) FROM operations WHERE finished_at IS NOT NULL");
    ASSERT_EQ(finished.step(), Statement::Step::Row);
    EXPECT_EQ(static_cast<size_t>(finished.integer(0)), limits::kMaxFinishedOperations) << "the store does not grow with every operation";
    ASSERT_EQ(store->journal.open()->size(), 1u) << "an open entry is never pruned";
    EXPECT_EQ(store->journal.open()->at(0).id, *open);
}

TEST(Database, StoresProvisionedVfs) {
    TempDir tmp;
    auto store = openStore(tmp.path());
    using P = DesiredStateRepository::Provisioned;
    ASSERT_TRUE(store->desired.setProvisioned("AIS1", 2, P{"half", "acme", Resources{8, 4096, 1}}).ok());
    ASSERT_TRUE(store->desired.setProvisioned("AIS1", 2, P{"quarter", "", Resources{4, 2048, 1}}).ok());
    ASSERT_TRUE(store->desired.setProvisioned("AIS1", 5, P{"eighth", "acme", Resources{2, 1024, 0}}).ok());
    auto all = store->desired.provisionedVfs("AIS1");
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all->size(), 2u);
    EXPECT_EQ(all->at(2), (P{"quarter", "", Resources{4, 2048, 1}}));
    EXPECT_EQ(store->desired.provisioned("AIS1", 5).value(), (P{"eighth", "acme", Resources{2, 1024, 0}}));
    EXPECT_FALSE(store->desired.provisioned("AIS1", 3).value().has_value());
    EXPECT_EQ(store->desired.setProvisioned("AIS1", 3, P{"x", "", Resources{0, 1, 1}}).error().code, Errc::StoreFailed)
        << "the schema's CHECK refuses zero compute units";
    ASSERT_TRUE(store->desired.clearProvisioned("AIS1", 2).ok());
    EXPECT_EQ(store->desired.provisionedVfs("AIS1")->size(), 1u);
}

TEST(Database, KeepsTheEventHistoryWithinItsCountAndAge) {
    TempDir tmp;
    auto store = openStore(tmp.path());
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(appendEvent(*store, "event " + std::to_string(i)).ok());
    ASSERT_TRUE(store->events.prune(20, 3600).ok());
    auto kept = store->events.list({});
    ASSERT_EQ(kept->size(), 20u);
    EXPECT_EQ(kept->back().message, "event 49") << "the newest stay";
    EXPECT_EQ(kept->front().message, "event 30") << "oldest first";
    ASSERT_TRUE(store->events.prune(100, -10).ok()) << "an age limit in the future's past removes everything";
    EXPECT_TRUE(store->events.list({})->empty());
}

TEST(Database, ListsEventsByCardTypeTimeAndId) {
    TempDir tmp;
    auto store = openStore(tmp.path());
    const auto add = [&](EventType type, std::optional<unsigned> card, std::optional<unsigned> vf, int64_t at) {
        StoredEvent e{0, at, type, Severity::Warning, card, vf, card ? "0000:3b:00.0" : "", "dev", "m"};
        auto id = store->events.append(e);
        EXPECT_TRUE(id.ok());
        return id.valueOr(0);
    };
    const int64_t a = add(EventType::Reset, 0u, 2u, 1000);
    add(EventType::Quota, std::nullopt, std::nullopt, 1001);
    const int64_t c = add(EventType::Reset, 1u, 0u, 1002);
    const int64_t d = add(EventType::Health, 0u, std::nullopt, 1003);
    EXPECT_LT(a, c);
    auto card0 = store->events.list(EventFilter{.card = 0u});
    ASSERT_EQ(card0->size(), 2u);
    EXPECT_EQ(card0->at(0).vf, 2u);
    EXPECT_EQ(card0->at(0).address, "0000:3b:00.0");
    EXPECT_EQ(card0->at(1).id, d);
    EXPECT_EQ(store->events.list(EventFilter{.types = {EventType::Reset}})->size(), 2u);
    EXPECT_EQ(store->events.list(EventFilter{.since = 1002})->size(), 2u);
    EXPECT_EQ(store->events.list(EventFilter{.afterId = c})->size(), 1u);
    auto newest = store->events.list(EventFilter{.limit = 2});
    ASSERT_EQ(newest->size(), 2u);
    EXPECT_EQ(newest->back().id, d) << "the newest, oldest first";
    EXPECT_EQ(newest->front().id, c);
    EXPECT_TRUE(store->events.list(EventFilter{.card = 0u, .types = {EventType::Quota}})->empty());
}

TEST(Database, RefusesANegativeSchemaVersionAsDamage) {
    TempDir tmp;
    openStore(tmp.path()).reset();
    overwrite(tmp / "aismid.db", 60, std::string("\xff\xff\xff\xfe", 4));  // user_version = -2
    auto s = Database::open(tmp.path());
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, Errc::StoreCorrupt);
    EXPECT_NE(s.error().message.find("schema version -2"), std::string::npos) << s.error().message;
}

TEST(Database, CallsAHealthyStoreItCannotWriteReadOnlyNotDamaged) {
    // Issue 7 #7: a healthy database on a read-only mount was called damaged ("move the file
    // aside"). Root writes through permissions, so the open runs as uid 65534 in a child.
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch to uid 65534";
    TempDir tmp;
    openStore(tmp.path()).reset();
    ASSERT_EQ(::chmod(tmp.path().c_str(), 0755), 0);
    int out[2];
    ASSERT_EQ(::pipe(out), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::close(out[0]);
        if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(3);
        auto s = Database::open(tmp.path());
        const std::string said = s.ok() ? "opened" : std::string(errcInfo(s.error().code).name) + ": " + s.error().message;
        (void)!::write(out[1], said.data(), said.size());
        ::_exit(0);
    }
    ::close(out[1]);
    std::string said;
    char buf[512];
    for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) said.append(buf, static_cast<size_t>(n));
    ::close(out[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_EQ(said.rfind("StoreFailed: ", 0), 0u) << "not StoreCorrupt: " << said;
    EXPECT_NE(said.find("read-only"), std::string::npos) << said;
    EXPECT_EQ(said.find("damaged"), std::string::npos) << said;
    EXPECT_EQ(said.find("aside"), std::string::npos) << said;
}

// Issue 26 (4): the end of a change the store refuses (a full disk) is kept and written again,
// in order, until the store takes it; only then is the caller's claim released.
TEST(Database, KeepsAnEndTheStoreRefusedAndWritesItOnceItTakesWrites) {
    TempDir dir;
    auto store = openStore(dir.path());
    ASSERT_TRUE(store);
    Database& db = *store->db;
    auto first = store->journal.begin("set-vf-count", "S0", "count 4\n", "write");
    auto second = store->journal.begin("provision-vf", "S1", "vf 0\n", "write");
    ASSERT_TRUE(first.ok() && second.ok());
    std::vector<std::string> refused, landed, released;
    db.onEndRefused = [&](const std::string& what, const Error&) { refused.push_back(what); };
    db.onEndRecorded = [&](const std::string& what) { landed.push_back(what); };
    ASSERT_TRUE(Statement(db, "PRAGMA query_only = 1").run("refuse writes").ok());
    auto r1 = store->journal.recordEnd(*first, "ok", "set VF count on S0", [&] { released.push_back("S0"); });
    ASSERT_FALSE(r1.ok());
    EXPECT_NE(r1.error().message.find("set VF count on S0: the store did not record its end; aismid writes it again at every poll"),
              std::string::npos)
        << r1.error().message;
    ASSERT_TRUE(Statement(db, "PRAGMA query_only = 0").run("take writes").ok());
    // A later end waits behind the earlier one, which goes first once the store takes writes.
    ASSERT_TRUE(Statement(db, "PRAGMA query_only = 1").run("refuse writes").ok());
    EXPECT_FALSE(store->journal.recordEnd(*second, "ok", "provision S1", [&] { released.push_back("S1"); }).ok());
    EXPECT_EQ(db.unrecordedEnds(), (std::vector<std::string>{"set VF count on S0", "provision S1"}));
    db.retryEnds();
    EXPECT_EQ(db.unrecordedEnds().size(), 2u) << "still refused: both kept";
    EXPECT_TRUE(released.empty());
    EXPECT_EQ(store->journal.open()->size(), 2u);
    ASSERT_TRUE(Statement(db, "PRAGMA query_only = 0").run("take writes").ok());
    db.retryEnds();
    EXPECT_TRUE(db.unrecordedEnds().empty());
    EXPECT_TRUE(store->journal.open()->empty()) << "both entries closed";
    EXPECT_EQ(released, (std::vector<std::string>{"S0", "S1"})) << "in order";
    EXPECT_EQ(landed, (std::vector<std::string>{"set VF count on S0", "provision S1"}));
    EXPECT_EQ(refused.size(), 2u);
    // An end the store takes at once is no news: the caller releases its own claim.
    auto third = store->journal.begin("reset-vf", "S2", "vf 1\n", "reset");
    ASSERT_TRUE(third.ok());
    EXPECT_TRUE(store->journal.recordEnd(*third, "ok", "reset S2", [&] { released.push_back("S2"); }).ok());
    EXPECT_EQ(released.size(), 2u);
}
