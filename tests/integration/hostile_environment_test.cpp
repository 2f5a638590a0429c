// What aismid finds around it is not always what it expects (issue 26): files in its config
// directories that are not files, a umask that would share its state. Each is met here as a
// user meets it: the real aismid on a private bus, driven with aismi.
#include "stack.hpp"
#include "store_query.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sys/mount.h>
#include <sys/stat.h>
#include <thread>

using namespace aismi::test;
using namespace std::chrono_literals;

namespace {

const char* kProfile = "[profile small]\ncompute_units = 8\nmemory = 2G\nengines = 1\n";

std::vector<std::string> aismidArgs(const Stack& stack) {
    return {AISMID_PATH, "--backend=sim", "--state-dir=" + stack.stateDir(), "--profiles-dir=" + stack.profilesDir(),
            "--layouts-dir=" + stack.layoutsDir(), "--config=/dev/null", "--metrics-address=none", "--libvirt-uri=none"};
}

mode_t modeOf(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 0;
}

}  // namespace

TEST(HostileEnvironment, AFifoOrADeviceAmongTheConfigFilesIsRefusedAtStartNamingIt) {
    // A FIFO used to block aismid in open() for good (it ran, never took the bus name); a link
    // to /dev/zero grew it to gigabytes.
    Stack stack;
    std::filesystem::create_directories(stack.profilesDir());
    std::filesystem::create_directories(stack.layoutsDir());
    const std::string fifo = stack.layoutsDir() + "/stuck.conf";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    auto start = run(aismidArgs(stack), {{{"DBUS_SYSTEM_BUS_ADDRESS", stack.busAddress()}}, std::nullopt, "", ""}, 20000);
    EXPECT_EQ(start.exitCode, 1) << "it ends, and says why: " << start.err;
    EXPECT_NE(start.err.find(fifo + " is a FIFO, not a regular file"), std::string::npos) << start.err;
    std::filesystem::remove(fifo);

    std::filesystem::create_symlink("/dev/zero", stack.profilesDir() + "/zero.conf");
    start = run(aismidArgs(stack), {{{"DBUS_SYSTEM_BUS_ADDRESS", stack.busAddress()}}, std::nullopt, "", ""}, 20000);
    EXPECT_EQ(start.exitCode, 1) << start.err;
    EXPECT_NE(start.err.find(stack.profilesDir() + "/zero.conf is a character device, not a regular file"), std::string::npos) << start.err;
    std::filesystem::remove(stack.profilesDir() + "/zero.conf");

    {
        std::ofstream big(stack.profilesDir() + "/big.conf");
        big << kProfile << std::string(2 << 20, '#');
    }
    start = run(aismidArgs(stack), {{{"DBUS_SYSTEM_BUS_ADDRESS", stack.busAddress()}}, std::nullopt, "", ""}, 20000);
    EXPECT_EQ(start.exitCode, 1) << start.err;
    EXPECT_NE(start.err.find(stack.profilesDir() + "/big.conf is larger than 1024 KiB"), std::string::npos) << start.err;

    const std::string conf = stack.path("aismid.conf");
    ASSERT_EQ(::mkfifo(conf.c_str(), 0600), 0);
    auto args = aismidArgs(stack);
    std::replace(args.begin(), args.end(), std::string("--config=/dev/null"), "--config=" + conf);
    std::filesystem::remove(stack.profilesDir() + "/big.conf");
    start = run(args, {{{"DBUS_SYSTEM_BUS_ADDRESS", stack.busAddress()}}, std::nullopt, "", ""}, 20000);
    EXPECT_EQ(start.exitCode, 2) << "a bad command line or config file: " << start.err;
    EXPECT_NE(start.err.find(conf + " is a FIFO, not a regular file"), std::string::npos) << start.err;
}

TEST(HostileEnvironment, AFifoAddedBeforeAReloadKeepsTheLoopRunningAndTheProfilesItHad) {
    Stack stack;
    std::filesystem::create_directories(stack.profilesDir());
    std::ofstream(stack.profilesDir() + "/small.conf") << kProfile;
    stack.startDaemon();
    ASSERT_NE(stack.aismi({"profile", "list", "-i", "0"}).out.find("small"), std::string::npos);
    const std::string fifo = stack.profilesDir() + "/zz-stuck.conf";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    ::kill(stack.daemonPid(), SIGHUP);
    for (int i = 0; i < 100 && stack.daemonLog().find("zz-stuck.conf") == std::string::npos; ++i) std::this_thread::sleep_for(50ms);
    EXPECT_NE(stack.daemonLog().find(fifo + " is a FIFO, not a regular file; keeping the profiles loaded before"), std::string::npos)
        << stack.daemonLog();
    auto list = stack.aismi({"profile", "list", "-i", "0"});
    EXPECT_EQ(list.exitCode, 0) << "the loop answers: " << list.err;
    EXPECT_NE(list.out.find("small"), std::string::npos) << list.out;
    EXPECT_EQ(stack.aismi({"vf", "enable", "-i", "0", "--count", "2"}).exitCode, 0) << "and changes";
}

TEST(HostileEnvironment, EveryFileAismidWritesIsPrivateWhateverTheUmask) {
    // Outside systemd, under umask 022, the store and its WAL were 0644 (world-readable).
    const mode_t old = ::umask(022);
    Stack stack;
    stack.startDaemon();
    ::umask(old);
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "0", "--count", "2"}).exitCode, 0);
    ASSERT_EQ(stack.aismi({"vf", "provision", "0:1", "--profile", "eighth", "--tenant", "acme"}).exitCode, 0);
    for (const char* name : {"aismid.db", "aismid.db-wal", "aismid.db-shm", "managed-vfs"}) {
        const std::string path = stack.stateDir() + "/" + name;
        ASSERT_TRUE(std::filesystem::exists(path)) << path;
        EXPECT_EQ(modeOf(path), 0600u) << path;
    }
}

TEST(HostileEnvironment, AStoreDeletedOrReplacedUnderAismidRefusesChangesInsteadOfLosingThem) {
    // Every change after the store was deleted used to be acknowledged (rc 0) and lost at the
    // next start.
    for (const bool replace : {false, true}) {
        Stack stack;
        stack.startDaemon();
        ASSERT_EQ(stack.aismi({"quota", "set", "acme", "--max-vfs", "3"}).exitCode, 0);
        const std::string db = stack.stateDir() + "/aismid.db";
        if (replace) {
            std::filesystem::copy_file(db, db + ".copy");
            std::filesystem::rename(db + ".copy", db);  // a restore from backup, under a running aismid
        } else {
            for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
        }
        auto refused = stack.aismi({"quota", "set", "beta", "--max-vfs", "2"});
        EXPECT_EQ(refused.exitCode, 17) << refused.out << refused.err;
        EXPECT_NE(refused.err.find("state store " + db + (replace ? " was replaced by another file" : " was deleted")), std::string::npos)
            << refused.err;
        EXPECT_EQ(stack.aismi({"vf", "enable", "-i", "0", "--count", "2"}).exitCode, 17) << "every change";
        auto read = stack.aismi({"-L"});
        EXPECT_EQ(read.exitCode, 0) << "reads go on: " << read.err;
        // Every card says it too: nothing about it can change (automatic resets included).
        std::string health;
        for (int i = 0; i < 100 && (health = stack.aismi({"health", "-i", "0"}).out).find("state store") == std::string::npos; ++i)
            std::this_thread::sleep_for(50ms);
        EXPECT_NE(health.find("state store " + db), std::string::npos) << health;
        EXPECT_EQ(stack.daemonState(), "running");
    }
}

TEST(HostileEnvironment, ControlCharactersAreRefusedAndNeverReachATerminal) {
    // A reason with an escape sequence used to be stored, and `aismi events` printed it raw to
    // every reader.
    Stack stack;
    stack.startDaemon();
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "0", "--count", "2"}).exitCode, 0);
    const std::string hostile = "ab\x1b[31mRED\x07";
    auto cli = stack.aismi({"vf", "quarantine", "0:1", "--reason", hostile});
    EXPECT_EQ(cli.exitCode, 2) << cli.err;
    EXPECT_NE(cli.err.find("the value of '--reason' holds a control character (\\x1b at byte 2"), std::string::npos) << cli.err;
    cli = stack.aismi({"quota", "set", "\xff", "--max-vfs", "1"});
    EXPECT_EQ(cli.exitCode, 2) << "not UTF-8: a usage error, not 'Failed to serialize': " << cli.err;
    EXPECT_NE(cli.err.find("is not valid UTF-8 text"), std::string::npos) << cli.err;
    // Straight over D-Bus, as any client could.
    auto bus = run({BUSCTL_PATH, "--address=" + stack.busAddress(), "call", "org.aismi.Manager1", "/org/aismi/Manager1/card0/vf1",
                    "org.aismi.VirtualFunction1", "Quarantine", "s", hostile});
    EXPECT_NE(bus.exitCode, 0);
    EXPECT_NE(bus.err.find("Quarantine: reason holds a control character"), std::string::npos) << bus.err;
    EXPECT_EQ(stack.vfField("0:1", "quarantined"), "false") << "nothing changed";
    // Text that reached the store some other way is escaped on output.
    stack.stopDaemon();
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2((stack.stateDir() + "/aismid.db").c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    const int rc = sqlite3_exec(db, "UPDATE events SET message = message || char(27) || '[31mRED' || char(7) WHERE id = (SELECT MAX(id) FROM events)",
                                nullptr, nullptr, nullptr);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK);
    stack.startDaemon();
    auto events = stack.aismi({"events"});
    ASSERT_EQ(events.exitCode, 0) << events.err;
    EXPECT_EQ(events.out.find('\x1b'), std::string::npos) << events.out;
    EXPECT_NE(events.out.find("\\x1b[31mRED\\x07"), std::string::npos) << events.out;
}

namespace {

// A filesystem mounted for a test's life (root only): detached on the way out even if busy.
struct Mount {
    std::string target;
    bool mounted = false;
    Mount(const std::string& source, const std::string& where, const char* type, unsigned long flags, const std::string& data) : target(where) {
        std::filesystem::create_directories(where);
        mounted = ::mount(source.c_str(), where.c_str(), type, flags, data.empty() ? nullptr : data.c_str()) == 0;
    }
    ~Mount() {
        if (mounted) ::umount2(target.c_str(), MNT_DETACH);
    }
};

// Fills the filesystem `dir` is on, to the last block; returns the filler's path.
std::string fill(const std::string& dir) {
    const std::string path = dir + "/filler";
    std::ofstream out(path, std::ios::binary);
    const std::string block(4096, 'x');
    while (out.write(block.data(), static_cast<std::streamsize>(block.size())) && out.flush()) {
    }
    return path;
}

}  // namespace

TEST(HostileEnvironment, ADiskThatFillsDuringALayoutLosesNoEndAndLeavesNothingForARestart) {
    // With the state dir on a 3 MB tmpfs filled during `partition apply`, journal entries stayed
    // open and store jobs 'running' while Job1.State said failed, until a restart, which then
    // said "interrupted by a restart" (false) and "reapplying".
    Stack stack;
    const std::string outside = stack.path("sim-outside-the-tmpfs");
    std::filesystem::create_directories(outside);
    Mount tmpfs("tmpfs", stack.stateDir(), "tmpfs", 0, "size=3m,mode=0700");
    if (!tmpfs.mounted) GTEST_SKIP() << "needs to mount a tmpfs (root): " << std::strerror(errno);
    // The simulated cards are the hardware: they do not live on the disk that fills.
    Mount sim(outside, stack.simDir(), nullptr, MS_BIND, "");
    ASSERT_TRUE(sim.mounted) << std::strerror(errno);
    stack.startDaemon();
    const std::string db = stack.stateDir() + "/aismid.db";
    const auto openEntries = [&] { return queryStore(db, "SELECT id FROM operations WHERE finished_at IS NULL").size(); };
    const auto runningJobs = [&] { return queryStore(db, "SELECT id FROM jobs WHERE state IN ('queued','running')").size(); };

    // The layout's first device write (the VF count) stalls; the disk fills meanwhile.
    ASSERT_EQ(stack.sim({"freeze", "before", "1"}).exitCode, 0);
    Process client = stack.spawnAismi({"partition", "apply", "-i", "1", "8xeighth"}, std::nullopt, "layout");
    std::string frozen;
    for (int i = 0; i < 400 && (frozen = stack.sim({"freeze", "status"}).out).rfind("frozen", 0) != 0; ++i) std::this_thread::sleep_for(25ms);
    ASSERT_EQ(frozen.rfind("frozen", 0), 0u) << frozen << stack.daemonLog();
    const std::string filler = fill(stack.stateDir());
    ASSERT_EQ(stack.sim({"thaw"}).exitCode, 0);
    const int status = client.stop(0, 60000);  // signal 0: only waits
    EXPECT_NE(status, 0) << "the layout could not be recorded: it fails, saying why";
    const std::string said = fileText(stack.path("layout.err"));
    EXPECT_NE(said.find("the store did not record its end"), std::string::npos) << said << stack.daemonLog();
    EXPECT_EQ(openEntries(), 1u) << "the VF count's end waits to be recorded";
    std::string health;
    for (int i = 0; i < 100 && (health = stack.aismi({"health", "-i", "1"}).out).find("the state store refuses writes") == std::string::npos; ++i)
        std::this_thread::sleep_for(50ms);
    EXPECT_NE(health.find("the state store refuses writes"), std::string::npos) << health << stack.daemonLog();
    auto busy = stack.aismi({"vf", "disable", "-i", "1", "--force"});
    EXPECT_NE(busy.exitCode, 0) << "no change is planned against a store that still shows one under way";
    EXPECT_NE(busy.err.find("the store did not record its end"), std::string::npos) << busy.err;

    // Space again: the ends land at the next poll, without a restart.
    std::filesystem::remove(filler);
    for (int i = 0; i < 200 && (openEntries() != 0 || runningJobs() != 0); ++i) std::this_thread::sleep_for(50ms);
    EXPECT_EQ(openEntries(), 0u) << stack.daemonLog();
    EXPECT_EQ(runningJobs(), 0u) << "the store says what the bus said: failed";
    EXPECT_NE(stack.daemonLog().find("its end is recorded now that the store takes writes again"), std::string::npos) << stack.daemonLog();
    for (int i = 0; i < 100 && stack.aismi({"health", "-i", "1"}).out.find("the state store refuses writes") != std::string::npos; ++i)
        std::this_thread::sleep_for(50ms);
    EXPECT_EQ(stack.aismi({"health", "-i", "1"}).out.find("the state store refuses writes"), std::string::npos);
    auto again = stack.aismi({"partition", "apply", "-i", "1", "8xeighth"});
    EXPECT_EQ(again.exitCode, 0) << "the card takes changes again: " << again.err;

    // A restart finds nothing unfinished: nothing to say it was interrupted, nothing reapplied.
    stack.stopDaemon();
    stack.startDaemon();
    EXPECT_EQ(stack.daemonLog().find("found unfinished at start"), std::string::npos) << stack.daemonLog();
    EXPECT_EQ(stack.daemonLog().find("still running at start"), std::string::npos) << stack.daemonLog();
    EXPECT_EQ(stack.vfField("1:7", "profile"), "eighth");
    stack.stopDaemon();
}
