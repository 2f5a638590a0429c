// A private system bus, aismid on simulated cards, and helpers to run aismi and aismi-sim
// against them: the whole product as a user meets it, in a temporary directory.
#pragma once

#include "process.hpp"
#include "temp_dir.hpp"

#include <map>
#include <string>
#include <vector>

namespace aismi::test {

/// Whether the long tests (label `long`: crash matrix, soak, load, D-Bus fuzzing, races) run
/// brief: AISMI_LONG_TESTS=brief, which scripts/test sets in every build but the one that runs
/// them at full length (the ASan build, where they find the most). Unset: full length.
bool longTestsBrief();
/// A long test's size: `name` from the environment when set (the bench/ scripts run a test
/// longer), else `brief` or `full` as longTestsBrief() says; never below `min`.
int testSize(const char* name, int full, int brief, int min);

/// A process's resident memory (VmRSS, KiB; -1 if it is gone) and its open file descriptors.
long rssKib(pid_t pid);
long openFds(pid_t pid);

/// What `path` holds now ("" when it does not exist).
std::string fileText(const std::string& path);
/// Waits up to `timeoutMs` for `path` to contain `text`.
bool waitForText(const std::string& path, const std::string& text, int timeoutMs = 10000);

class Stack {
public:
    struct Options {
        unsigned cards = 2;
        unsigned vfs = 8;
        unsigned pollMs = 200;
        std::vector<std::string> extraArgs;
        /// Run polkitd on the private bus, with aismi's actions installed for the test's life.
        bool withPolkit = false;
        std::string configFile = "/dev/null";
        std::map<std::string, std::string> env;  // extra environment for aismid
    };
    explicit Stack(Options options);
    Stack() : Stack(Options{}) {}
    ~Stack();

    /// Starts aismid and waits for its READY=1 (fails the test after 20 s).
    void startDaemon();
    /// Starts aismid without waiting: it may still be recovering when this returns.
    void spawnDaemon();
    /// aismid's extra environment for the next startDaemon().
    std::map<std::string, std::string>& daemonEnv() { return options_.env; }
    /// Sends `sig` to aismid and waits for it to exit; returns its wait status.
    int stopDaemon(int sig = 15);
    /// Waits up to `timeoutMs` for aismid to exit by itself; its wait status (SIGKILLed if not).
    int waitForDaemonExit(int timeoutMs);
    /// Kills the private bus's dbus-daemon (what a crashed or restarted dbus does to aismid).
    void killBus() { bus_.stop(9); }  // SIGKILL

    RunResult aismi(const std::vector<std::string>& args, std::optional<uid_t> uid = std::nullopt);
    /// Runs another client `program` of aismid's bus (as `uid`, from a copy that uid can run).
    RunResult client(const std::string& program, const std::vector<std::string>& args, std::optional<uid_t> uid = std::nullopt, int timeoutMs = 600000);
    RunResult sim(const std::vector<std::string>& args);
    /// Waits until aismi's `--query-card=FIELD` for card 0 prints `value` (up to 10 s).
    bool waitForCardField(const std::string& field, const std::string& value, unsigned card = 0);
    /// One VF's `--query-vf=FIELDS` as CSV without units or newline ("running, 0").
    std::string vfField(const std::string& vf, const std::string& fields);
    /// Waits until vfField(vf, fields) is `value` (up to 10 s; aismid polls the cards).
    bool waitForVf(const std::string& vf, const std::string& fields, const std::string& value);

    /// Everything aismid said through NOTIFY_SOCKET so far.
    std::vector<std::string> notifications();
    /// Waits for a notification that contains `text`.
    bool waitForNotification(const std::string& text, int timeoutMs = 20000);
    std::string daemonLog() const;
    /// Whether aismid still runs, or how it ended; with its log: for a failure's message.
    std::string daemonState() { return daemon_.describe(); }
    std::string daemonReport() { return "aismid " + daemonState() + "; its log:\n" + daemonLog(); }

    const std::string& busAddress() const { return address_; }
    /// Where aismid's metrics endpoint listens ("127.0.0.1:PORT"; "" when it does not).
    std::string metricsAddress();
    bool polkitRunning() const { return !policyFile_.empty(); }
    pid_t polkitPid() const { return polkit_.pid(); }
    /// Starts aismi without waiting for it (its output goes to files in the test directory).
    Process spawnAismi(const std::vector<std::string>& args, std::optional<uid_t> uid, const std::string& name);
    const std::string& dir() const { return dir_.path(); }
    std::string simDir() const { return dir_ / "state/sim"; }
    std::string stateDir() const { return dir_ / "state"; }
    /// aismid's --profiles-dir (absent until a test writes profiles there).
    std::string profilesDir() const { return dir_ / "profiles.d"; }
    std::string layoutsDir() const { return dir_ / "layouts.d"; }
    std::string path(const std::string& rel) const { return dir_ / rel; }
    pid_t daemonPid() const { return daemon_.pid(); }

private:
    void startPolkit();
    /// A copy of aismi another uid can execute: the checkout may live where only root may
    /// go (a clone under /root), and a uid can only run a binary whose every parent it may
    /// traverse.
    std::string aismiFor(std::optional<uid_t> uid);
    std::string runnableBy(const std::string& program, std::optional<uid_t> uid);
    std::string publicBinDir_;
    Options options_;
    TempDir dir_;
    std::string address_;
    Process bus_;
    Process daemon_;
    Process polkit_;
    std::string policyFile_;
    int notifyFd_ = -1;
    std::vector<std::string> received_;
};

}  // namespace aismi::test
