#include "vfio_binding.hpp"

#include <aismi/fs.hpp>
#include <aismi/pci_function.hpp>

namespace aismi::vfio {

Result<std::vector<GroupMember>> groupBlockers(Fs& fs, const PciAddress& fn) {
    PciFunction self(fs, fn);
    auto members = self.iommuGroupMembers();
    if (!members) return std::move(members).error();
    std::vector<GroupMember> blockers;
    for (const auto& m : *members) {
        if (m == fn) continue;
        auto driver = PciFunction(fs, m).driver();
        if (!driver) return std::move(driver).error();
        if (driver->empty() || *driver == kVfioDriver || *driver == kStubDriver) continue;
        // A bridge in the group (a PCIe root or switch port) is not given to the guest.
        auto classCode = PciFunction(fs, m).readNumber("class");
        if (classCode && (*classCode >> 8) == 0x0604) continue;
        blockers.push_back(GroupMember{m, *driver});
    }
    return blockers;
}

Result<unsigned> bindToVfio(Fs& fs, const PciAddress& fn) {
    PciFunction self(fs, fn);
    if (!self.present()) return makeError(Errc::NotFound, fn.str() + ": no such PCI function");
    auto group = self.iommuGroup();
    if (!group) return std::move(group).error().context("assign to vfio-pci");
    auto blockers = groupBlockers(fs, fn);
    if (!blockers) return std::move(blockers).error().context("assign to vfio-pci");
    if (!blockers->empty()) {
        std::string list;
        for (const auto& b : *blockers) list += (list.empty() ? "" : ", ") + b.address.str() + " (" + b.driver + ")";
        return makeError(Errc::InvalidState, fn.str() + ": assign to vfio-pci: IOMMU group " + std::to_string(*group) +
                                                 " also holds " + list + "; VFIO can only assign a whole group");
    }
    if (auto r = self.bindDriver(kVfioDriver); !r) return std::move(r).error();
    return *group;
}

Result<void> returnToHost(Fs& fs, const PciAddress& fn, const std::string& hostDriver) {
    PciFunction self(fs, fn);
    if (!self.present()) return makeError(Errc::NotFound, fn.str() + ": no such PCI function");
    auto driver = self.driver();
    if (!driver) return std::move(driver).error();
    if (*driver == hostDriver) return {};
    // Unbinding clears driver_override, so the kernel's own matching picks the host driver
    // again; no override is left behind to surprise the next user of the function.
    if (auto r = self.unbindDriver(); !r) return std::move(r).error().context("return to " + hostDriver);
    if (auto r = fs.write("bus/pci/drivers_probe", fn.str()); !r) return std::move(r).error().context(fn.str() + ": return to " + hostDriver);
    auto after = self.driver();
    if (!after) return std::move(after).error();
    if (*after != hostDriver)
        return makeError(Errc::VerifyFailed, fn.str() + ": return to " + hostDriver + ": bound to '" + *after + "' afterwards");
    return {};
}

Result<std::string> bindToHost(Fs& fs, const PciAddress& fn) {
    PciFunction self(fs, fn);
    if (!self.present()) return makeError(Errc::NotFound, fn.str() + ": no such PCI function");
    // unbindDriver also clears driver_override, so the probe uses the kernel's own matching.
    if (auto r = self.unbindDriver(); !r) return std::move(r).error().context("return to the host driver");
    // An unbound function may still carry an override (a bind that stopped half-way).
    if (fs.exists(self.path("driver_override")))
        if (auto r = fs.write(self.path("driver_override"), "\n"); !r) return std::move(r).error().context(fn.str());
    if (auto r = fs.write("bus/pci/drivers_probe", fn.str()); !r)
        return std::move(r).error().context(fn.str() + ": return to the host driver");
    auto after = self.driver();
    if (!after) return std::move(after).error();
    if (*after == kVfioDriver)
        return makeError(Errc::VerifyFailed, fn.str() + ": return to the host driver: still bound to vfio-pci afterwards");
    return *after;
}

}  // namespace aismi::vfio
