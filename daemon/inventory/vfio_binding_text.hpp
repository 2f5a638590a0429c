// Why a VF is bound to vfio-pci, as far as aismid knows it, for refusals: a domain it is
// assigned to, a holder (kubelet), or nobody aismid knows of (bound outside aismid). Said once
// here rather than "(assigned to a VM?)" in each refusal when aismid knows the answer.
#pragma once

#include "snapshot.hpp"

#include <string>

namespace aismi {

inline std::string vfioBindingText(const VfSnapshot& vf) {
    if (!vf.domain.empty()) return "the VF is assigned to domain " + vf.domain + " (bound to vfio-pci)";
    if (!vf.holder.empty()) return "the VF is held by " + vf.holder + " (bound to vfio-pci)";
    return "the VF is bound to vfio-pci outside aismid (no domain or holder it knows of)";
}

}  // namespace aismi
