// Handing a function to vfio-pci for device assignment, and back to its host driver.
// VFIO assigns whole IOMMU groups: a group is usable only when every member is bound to
// vfio-pci, to pci-stub or to no driver, or is a PCI bridge (Documentation/driver-api/
// vfio.rst, "viable" groups).
#pragma once

#include <aismi/error.hpp>
#include <aismi/pci_address.hpp>

#include <string>
#include <vector>

namespace aismi {
class Fs;
}

namespace aismi::vfio {

inline constexpr const char* kVfioDriver = "vfio-pci";
inline constexpr const char* kStubDriver = "pci-stub";

struct GroupMember {
    PciAddress address;
    std::string driver;  // "" when unbound
};

/// The members of `fn`'s IOMMU group that keep the group from being viable for VFIO, with
/// the driver each is bound to. Empty means the group can be assigned.
Result<std::vector<GroupMember>> groupBlockers(Fs& fs, const PciAddress& fn);

/// Binds `fn` to vfio-pci and reads the binding back; refuses (changing nothing) when the
/// function has no IOMMU group or its group holds functions of other drivers.
Result<unsigned> bindToVfio(Fs& fs, const PciAddress& fn);

/// Returns `fn` from vfio-pci to `hostDriver` (for a VF of ours: "aismi").
Result<void> returnToHost(Fs& fs, const PciAddress& fn, const std::string& hostDriver);

/// Gives `fn` back to whatever driver the kernel picks for it, as `virsh nodedev-reattach`
/// does: clears driver_override, unbinds, and asks the kernel to probe. Returns the driver
/// bound afterwards ("" when the kernel has none for it).
Result<std::string> bindToHost(Fs& fs, const PciAddress& fn);

}  // namespace aismi::vfio
