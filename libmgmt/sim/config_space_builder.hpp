#pragma once

#include "sim_model.hpp"

#include <string>

namespace aismi::sim {

/// The 4 KiB configuration space of function `fn` (-1 = PF) as the card would answer it:
/// header, PM and PCIe capabilities, and on the PF the SR-IOV and Device Serial Number
/// extended capabilities. A lost device answers all ones.
std::string buildConfigSpace(const SimCardView& model, int fn);

}  // namespace aismi::sim
