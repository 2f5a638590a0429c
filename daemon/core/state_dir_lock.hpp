// One aismid per state directory: an exclusive flock(2) on <stateDir>/aismid.lock, taken
// before anything else is written there and held for the daemon's life.
#pragma once

#include <aismi/error.hpp>

#include <memory>
#include <string>

namespace aismi {

class StateDirLock {
public:
    static Result<std::unique_ptr<StateDirLock>> acquire(const std::string& stateDir);
    ~StateDirLock();
    StateDirLock(const StateDirLock&) = delete;
    StateDirLock& operator=(const StateDirLock&) = delete;

private:
    explicit StateDirLock(int fd) : fd_(fd) {}
    int fd_;
};

}  // namespace aismi
