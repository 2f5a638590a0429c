// Why a VF is in use, as far as aismid knows it, for refusals. Said once here rather than in
// each refusal ("(assigned to a VM?)" when aismid knows the domain; a VF listed twice when two
// reasons apply).
#pragma once

#include "snapshot.hpp"

#include <string>
#include <vector>

namespace aismi {

/// Whether someone other than aismid has the VF: a consumer that uses it (a domain it is
/// assigned to, adopted ones too, whatever driver they are on; a holder such as kubelet), or
/// whoever bound it to vfio-pci.
inline bool vfTakenByConsumer(const VfSnapshot& vf) { return vf.user() || vf.driver == "vfio-pci"; }

/// Who has the VF (vfTakenByConsumer): "the VF is assigned to domain web", "the VF is held by
/// kubelet", or nobody aismid knows of (bound to vfio-pci outside aismid).
inline std::string vfioBindingText(const VfSnapshot& vf) {
    const std::string binding = vf.driver == "vfio-pci" ? " (bound to vfio-pci)" : "";
    if (const VfConsumer* user = vf.user()) return "the VF is " + user->describe() + binding;
    return "the VF is bound to vfio-pci outside aismid (no domain or holder it knows of)";
}

/// The VFs of `card` a change that takes them away (a card reset, a firmware activation, VFs
/// disabled) would take from someone, each once with the first reason that applies: "0:1 is
/// assigned to domain web", "0:1 runs a workload", "0:1 is held by kubelet", "0:1 is bound to
/// vfio-pci", and, when `tenants` count, "0:1 is provisioned for tenant acme".
inline std::vector<std::string> vfsInUse(const CardSnapshot& card, bool tenants) {
    std::vector<std::string> out;
    for (const auto& vf : card.vfs) {
        const std::string name = std::to_string(card.info.index) + ":" + std::to_string(vf.index);
        const VfConsumer* user = vf.user();
        if (user && user->kind == ConsumerKind::Domain) out.push_back(name + " is " + user->describe());
        else if (vf.state() == VfState::Running) out.push_back(name + " runs a workload");
        else if (user) out.push_back(name + " is " + user->describe());
        else if (vf.driver == "vfio-pci") out.push_back(name + " is bound to vfio-pci");
        else if (tenants && !vf.tenant.empty()) out.push_back(name + " is provisioned for tenant " + vf.tenant);
    }
    return out;
}

}  // namespace aismi
