#include "hypervisor.hpp"

#include <algorithm>

namespace aismi {

std::vector<PciAddress> Domain::hostdevs() const {
    std::vector<PciAddress> all = live.pciHostdevs;
    if (config)
        for (const auto& a : config->pciHostdevs)
            if (std::find(all.begin(), all.end(), a) == all.end()) all.push_back(a);
    return all;
}

}  // namespace aismi
