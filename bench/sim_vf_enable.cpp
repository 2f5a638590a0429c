// The simulated device's own time to enable VFs, without aismid: libmgmt's Card::setVfCount
// (the same calls aismid makes: write sriov_numvfs, read back the count and every virtfn
// link) on card 0 of an existing simulated state directory. bench/core-scale compares the
// daemon's whole SetVfCount against this, measured in the same run.
//   aismi-bench-sim-enable DIR COUNT RUNS   -> prints the median microseconds of enabling
#include <aismi/card.hpp>

#include "sim/clock.hpp"
#include "sim/sim_state_dir.hpp"
#include "sim/simulated_sysfs.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: aismi-bench-sim-enable DIR COUNT RUNS\n");
        return 2;
    }
    const unsigned count = static_cast<unsigned>(std::stoul(argv[2]));
    const int runs = std::stoi(argv[3]);
    auto dir = aismi::sim::SimStateDir::open(argv[1]);
    if (!dir) {
        std::fprintf(stderr, "%s\n", dir.error().message.c_str());
        return 1;
    }
    auto fs = aismi::sim::makeSimulatedSysfs(**dir, aismi::sim::systemClock());
    const aismi::DeviceMatch match[] = {aismi::kAismiCardMatch};
    auto cards = aismi::discoverCards(*fs, match);
    if (!cards || cards->empty()) {
        std::fprintf(stderr, "no simulated card in %s\n", argv[1]);
        return 1;
    }
    aismi::Card& card = cards->front();
    std::vector<double> us;
    for (int i = 0; i < runs; ++i) {
        if (auto off = card.setVfCount(0); !off) return std::fprintf(stderr, "%s\n", off.error().message.c_str()), 1;
        const auto start = std::chrono::steady_clock::now();
        auto on = card.setVfCount(count);
        const auto end = std::chrono::steady_clock::now();
        if (!on) return std::fprintf(stderr, "%s\n", on.error().message.c_str()), 1;
        us.push_back(std::chrono::duration<double, std::micro>(end - start).count());
    }
    (void)card.setVfCount(0);
    std::sort(us.begin(), us.end());
    std::printf("%.0f\n", us[us.size() / 2]);
    return 0;
}
