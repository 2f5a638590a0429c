// What a bus client sees happen: PropertiesChanged and InterfacesAdded/Removed, watchdog
// pings, and a reload on SIGHUP.
#include "stack.hpp"

#include <gtest/gtest.h>
#include <sdbus-c++/sdbus-c++.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <mutex>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace aismi::test;

namespace {

// Collects the signals aismid emits, on a connection of the test's own.
class SignalRecorder {
public:
    explicit SignalRecorder(const std::string& address)
        : connection_(sdbus::createSessionBusConnectionWithAddress(address)),
          manager_(sdbus::createProxy(*connection_, "org.aismi.Manager1", "/org/aismi/Manager1")),
          card_(sdbus::createProxy(*connection_, "org.aismi.Manager1", "/org/aismi/Manager1/card1")) {
        card_->uponSignal("PropertiesChanged")
            .onInterface("org.freedesktop.DBus.Properties")
            .call([this](const std::string& iface, const std::map<std::string, sdbus::Variant>& changed, const std::vector<std::string>&) {
                std::lock_guard g(m_);
                for (const auto& [name, v] : changed) events_.push_back(iface + "." + name);
            });
        manager_->uponSignal("InterfacesAdded")
            .onInterface("org.freedesktop.DBus.ObjectManager")
            .call([this](const sdbus::ObjectPath& path, const std::map<std::string, std::map<std::string, sdbus::Variant>>&) {
                std::lock_guard g(m_);
                events_.push_back("added " + std::string(path));
            });
        manager_->uponSignal("InterfacesRemoved")
            .onInterface("org.freedesktop.DBus.ObjectManager")
            .call([this](const sdbus::ObjectPath& path, const std::vector<std::string>&) {
                std::lock_guard g(m_);
                events_.push_back("removed " + std::string(path));
            });
        card_->finishRegistration();
        manager_->finishRegistration();
        connection_->enterEventLoopAsync();
    }
    ~SignalRecorder() { connection_->leaveEventLoop(); }

    bool waitFor(const std::string& event, int timeoutMs = 10000) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
        while (std::chrono::steady_clock::now() < deadline) {
            {
                std::lock_guard g(m_);
                for (const auto& e : events_)
                    if (e == event) return true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return false;
    }

private:
    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<sdbus::IProxy> manager_, card_;
    std::mutex m_;
    std::vector<std::string> events_;
};

}  // namespace

TEST(BusSignals, AnnounceChangedPropertiesAndNewAndRemovedVfs) {
    Stack stack;
    stack.startDaemon();
    SignalRecorder recorder(stack.busAddress());
    ASSERT_EQ(stack.sim({"inject", "1", "thermal"}).exitCode, 0);
    EXPECT_TRUE(recorder.waitFor("org.aismi.Card1.TemperatureC"));
    EXPECT_TRUE(recorder.waitFor("org.aismi.Card1.Health"));
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "1", "--count", "2"}).exitCode, 0);
    EXPECT_TRUE(recorder.waitFor("org.aismi.Card1.VfEnabled"));
    EXPECT_TRUE(recorder.waitFor("added /org/aismi/Manager1/card1/vf1"));
    ASSERT_EQ(stack.aismi({"vf", "disable", "-i", "1"}).exitCode, 0);
    EXPECT_TRUE(recorder.waitFor("removed /org/aismi/Manager1/card1/vf0"));
}

TEST(Watchdog, PingsSystemdWhenAWatchdogIsSet) {
    Stack::Options o;
    o.env["WATCHDOG_USEC"] = "200000";  // no WATCHDOG_PID: meant for whoever reads it
    Stack stack(o);
    stack.startDaemon();
    EXPECT_TRUE(stack.waitForNotification("WATCHDOG=1", 3000)) << stack.daemonLog();
}

TEST(Reload, RereadsThePollingIntervalOnSighup) {
    Stack::Options o;
    TempDir configDir;
    o.configFile = configDir / "aismid.conf";
    std::ofstream(o.configFile) << "poll-interval = 700\n";
    Stack stack(o);
    stack.startDaemon();
    auto interval = [&] {
        return run({BUSCTL_PATH, "--address=" + stack.busAddress(), "get-property", "org.aismi.Manager1", "/org/aismi/Manager1",
                    "org.aismi.Manager1", "PollIntervalMs"})
            .out;
    };
    EXPECT_EQ(interval(), "u 700\n");
    std::ofstream(o.configFile) << "poll-interval = 300\n";
    ::kill(stack.daemonPid(), SIGHUP);
    for (int i = 0; i < 100 && interval() != "u 300\n"; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(interval(), "u 300\n") << stack.daemonLog();
    EXPECT_TRUE(stack.waitForNotification("RELOADING=1", 1000));
}

TEST(Signals, AismidOutlivesTheReaderOfItsOutputGoingAway) {
    // Its output is a pipe (as journald's stream is under systemd); the reader goes away, as
    // journald does when it restarts: the next log line meets a broken pipe, which is an error
    // to aismid, never SIGPIPE's death.
    Stack stack;
    const std::string fifo = stack.path("aismid.log");
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    ASSERT_GE(reader, 0);
    stack.startDaemon();
    ::close(reader);
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "0", "--count", "2"}).exitCode, 0);  // logged
    ASSERT_EQ(stack.aismi({"vf", "disable", "-i", "0"}).exitCode, 0);
    EXPECT_EQ(stack.aismi({"-L"}).exitCode, 0) << "aismid " << stack.daemonState();
}

TEST(Reload, ManyReloadsWhoseNotificationsNobodyReadsNeverStopTheLoop) {
    // aismi-chaos finding: sd_notify blocks while the notify socket's queue is full (10
    // datagrams by default), and each reload sends two; after a handful of SIGHUPs nobody had
    // read, aismid's loop hung in sd_notify and no call was answered again.
    Stack stack;
    stack.startDaemon();
    for (int i = 0; i < 12; ++i) {
        ::kill(stack.daemonPid(), SIGHUP);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    auto answered = stack.aismi({"-L"});
    EXPECT_EQ(answered.exitCode, 0) << answered.err << stack.daemonLog();
    // What waited is sent once read, in order: the last reload's READY=1 comes last.
    std::vector<std::string> said;
    for (int i = 0; i < 100 && (said.empty() || said.back() != "READY=1"); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        said = stack.notifications();
    }
    ASSERT_FALSE(said.empty());
    EXPECT_EQ(said.back(), "READY=1");
    // (SIGHUPs that arrive together are one reload.) Each reload said both, more than the queue holds.
    const auto reloads = std::count(said.begin(), said.end(), "RELOADING=1");
    EXPECT_EQ(reloads, std::count(said.begin(), said.end(), "READY=1")) << "no notification is lost";
    EXPECT_GE(reloads, 6);
}
