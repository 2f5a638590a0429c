#include "clock.hpp"

#include <ctime>

namespace aismi::sim {
namespace {

class SystemClock final : public Clock {
public:
    int64_t nowNs() override {
        timespec ts{};
        ::clock_gettime(CLOCK_REALTIME, &ts);
        return ts.tv_sec * 1000000000LL + ts.tv_nsec;
    }
    void sleepNs(int64_t ns) override {
        if (ns <= 0) return;
        timespec req{static_cast<time_t>(ns / 1000000000LL), static_cast<long>(ns % 1000000000LL)};
        while (::nanosleep(&req, &req) != 0) {}
    }
};

}  // namespace

Clock& systemClock() {
    static SystemClock clock;
    return clock;
}

}  // namespace aismi::sim
