// Simulated card files and the simulator's config (state shared with aismi-sim on disk).
#include "sim/sim_model.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    (void)aismi::sim::SimConfig::parse(text, "fuzz.conf");
    aismi::sim::SimConfig config;
    config.totalVfs = 8;
    if (auto card = aismi::sim::SimCard::parse(text, config, "card0.state")) {
        (void)card->serialize();
        // What the simulated sysfs computes from a card file: no overflow, whatever it holds.
        const aismi::sim::SimCardView view(config, *card);
        for (int64_t now : {int64_t{0}, card->settledNs, card->upload ? card->upload->startNs + 1000000 : 0, INT64_MAX / 2}) {
            (void)view.uploadAt(now);
            (void)view.firmwareAt(now);
            (void)view.uploadErrorAt(now);
        }
    }
    return 0;
}
