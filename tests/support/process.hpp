// Starting the project's programs from tests: each child is tracked by PID and killed and
// reaped when its handle goes away, so no test leaves a process behind.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace aismi::test {

struct SpawnOptions {
    std::map<std::string, std::string> env;  // added to (or replacing in) the test's environment
    std::optional<uid_t> uid;                // run as this uid (and its gid), e.g. 65534
    std::string stdoutFile;                  // "" = /dev/null
    std::string stderrFile;
};

class Process {
public:
    Process() = default;
    static Process spawn(const std::vector<std::string>& argv, const SpawnOptions& options = {});
    Process(Process&& other) noexcept;
    Process& operator=(Process&& other) noexcept;
    ~Process();

    pid_t pid() const { return pid_; }
    bool running();
    /// "running", "exited with status N" or "killed by signal N" (for a failure's message).
    std::string describe();
    /// Sends `sig` and waits up to `timeoutMs` for the exit; then SIGKILL. Returns the wait status.
    int stop(int sig = 15, int timeoutMs = 10000);

private:
    pid_t pid_ = -1;
    std::optional<int> status_;
};

struct RunResult {
    int exitCode = -1;  // -1: killed by a signal or timed out
    std::string out;
    std::string err;
};

/// Runs a program to completion (killed after `timeoutMs`), capturing its output.
RunResult run(const std::vector<std::string>& argv, const SpawnOptions& options = {}, int timeoutMs = 60000);

}  // namespace aismi::test
