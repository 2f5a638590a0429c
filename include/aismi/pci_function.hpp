// One PCI function (PF or VF) as the kernel shows it in sysfs: attributes, driver binding,
// IOMMU group and function reset. Everything goes through the Fs seam.
#pragma once

#include <aismi/config_space.hpp>
#include <aismi/error.hpp>
#include <aismi/pci_address.hpp>
#include <aismi/types.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace aismi {

class Fs;

class PciFunction {
public:
    PciFunction(Fs& fs, PciAddress address);

    const PciAddress& address() const { return address_; }
    /// "bus/pci/devices/<address>/<attr>" relative to the seam's root.
    std::string path(std::string_view attr = {}) const;

    bool present() const;
    Result<std::string> readAttr(std::string_view attr) const;  // trimmed of trailing newline
    Result<uint64_t> readNumber(std::string_view attr) const;   // "0x1ed5", "16", ...
    Result<void> writeAttr(std::string_view attr, std::string_view value);
    Result<ConfigSpace> config() const;

    /// The bound driver's name, or "" when no driver is bound.
    Result<std::string> driver() const;
    /// Binds to `driverName` the way the kernel documents it (driver_override, unbind from the
    /// current driver, drivers_probe) and reads the binding back.
    Result<void> bindDriver(const std::string& driverName);
    Result<void> unbindDriver();
    /// The IOMMU group number, or NotFound when the IOMMU is off.
    Result<unsigned> iommuGroup() const;
    Result<std::vector<PciAddress>> iommuGroupMembers() const;

    /// Methods the kernel offers in `reset_method` ("flr", "pm", "bus", ...).
    Result<std::vector<std::string>> resetMethods() const;
    /// Sets `reset_method`: the methods the kernel may use, in order.
    Result<void> setResetMethods(const std::vector<std::string>& methods);
    /// A Function Level Reset through sysfs `reset`, refusing any method that could reach
    /// beyond this function, then a read-back that the function answers again. When the
    /// kernel lists such methods, `reset_method` is narrowed for the write and put back after
    /// it: a caller that may be killed in between records resetMethods() first.
    Result<void> functionLevelReset();
    Result<AerCounters> aerCounters() const;

private:
    Fs* fs_;
    PciAddress address_;
};

}  // namespace aismi
