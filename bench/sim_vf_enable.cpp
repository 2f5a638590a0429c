// The simulated device's own time to enable VFs, without aismid: libmgmt's Card::setVfCount
// (the same calls aismid makes: write sriov_numvfs, read back the count and every virtfn
// link) on card 0 of an existing simulated state directory; with CU and MIB also each VF
// provisioned with that shape (Card::setVfResources: write, read back). bench/core-scale and
// bench/layout-256 compare the daemon's whole change against this, measured in the same run.
//   aismi-bench-sim-enable DIR COUNT RUNS [CU MIB]  -> prints the median microseconds
#include <aismi/card.hpp>

#include "sim/clock.hpp"
#include "sim/sim_state_dir.hpp"
#include "sim/simulated_sysfs.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 4 && argc != 6) {
        std::fprintf(stderr, "usage: aismi-bench-sim-enable DIR COUNT RUNS [CU MIB]\n");
        return 2;
    }
    const std::optional<aismi::Resources> shape =
        argc == 6 ? std::optional(aismi::Resources{static_cast<uint32_t>(std::stoul(argv[4])), std::stoull(argv[5]), 0}) : std::nullopt;
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
        if (!on) return std::fprintf(stderr, "%s\n", on.error().message.c_str()), 1;
        for (unsigned vf = 0; shape && vf < count; ++vf)
            if (auto p = card.setVfResources(vf, *shape); !p) return std::fprintf(stderr, "%s\n", p.error().message.c_str()), 1;
        const auto end = std::chrono::steady_clock::now();
        us.push_back(std::chrono::duration<double, std::micro>(end - start).count());
    }
    (void)card.setVfCount(0);
    std::sort(us.begin(), us.end());
    std::printf("%.0f\n", us[us.size() / 2]);
    return 0;
}
