// A clock that moves only when told to, and remembers how long callers slept. Safe to use from
// the device executor's workers and the test's thread at once (ThreadSanitizer runs these tests).
#pragma once

#include "sim/clock.hpp"

#include <atomic>
#include <mutex>
#include <vector>

namespace aismi::test {

class ManualClock final : public sim::Clock {
public:
    int64_t nowNs() override { return now; }
    void sleepNs(int64_t ns) override {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            sleeps.push_back(ns);
        }
        now += ns;
    }
    void advanceMs(int64_t ms) { now += ms * 1000000; }

    std::atomic<int64_t> now{1'700'000'000'000'000'000};
    std::vector<int64_t> sleeps;  // read it once the sleepers are done

private:
    std::mutex mutex_;
};

}  // namespace aismi::test
