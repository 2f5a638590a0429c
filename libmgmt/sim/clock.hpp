// Time for the simulated card. The card's state is shared between processes (the daemon and
// aismi-sim), so "now" is wall-clock nanoseconds; tests substitute a manual clock.
#pragma once

#include <cstdint>

namespace aismi::sim {

class Clock {
public:
    virtual ~Clock() = default;
    virtual int64_t nowNs() = 0;
    /// Blocks the calling thread, as a sysfs write blocks in the kernel during an FLR.
    virtual void sleepNs(int64_t ns) = 0;
};

Clock& systemClock();

}  // namespace aismi::sim
