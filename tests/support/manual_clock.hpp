// A clock that moves only when told to, and remembers how long callers slept.
#pragma once

#include "sim/clock.hpp"

#include <vector>

namespace aismi::test {

class ManualClock final : public sim::Clock {
public:
    int64_t nowNs() override { return now; }
    void sleepNs(int64_t ns) override {
        sleeps.push_back(ns);
        now += ns;
    }
    void advanceMs(int64_t ms) { now += ms * 1000000; }

    int64_t now = 1'700'000'000'000'000'000;
    std::vector<int64_t> sleeps;
};

}  // namespace aismi::test
