// Handing a function to vfio-pci for device assignment, and back to its host driver.
// VFIO assigns whole IOMMU groups: a group is usable only when every member is bound to
// vfio-pci or to no driver (Documentation/driver-api/vfio.rst, "viable" groups).
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

}  // namespace aismi::vfio
