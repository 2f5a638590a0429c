// A fake sysfs tree laid out the way the kernel lays it out: functions live under
// devices/pci0000:00/, bus/pci/devices/<addr> are symlinks to them, and driver, virtfnN,
// physfn and iommu_group are relative symlinks. Files hold what the kernel would print.
#pragma once

#include <aismi/pci_address.hpp>

#include <string>

namespace aismi::test {

class FakeSysfs {
public:
    explicit FakeSysfs(std::string root) : root_(std::move(root)) {}

    /// A function with vendor/device/class/config, reset and reset_method.
    void addFunction(const std::string& address, unsigned vendor, unsigned device, unsigned classCode = 0x120000);
    /// SR-IOV attributes of a PF, with `numVfs` VFs (offset 4, stride 1) already enabled.
    void addSriov(const std::string& pf, unsigned totalVfs, unsigned numVfs, unsigned vfDevice);
    void bindDriver(const std::string& address, const std::string& driver);
    void setIommuGroup(const std::string& address, unsigned group);
    void write(const std::string& rel, const std::string& content);
    std::string read(const std::string& rel) const;
    void remove(const std::string& rel);
    std::string devicePath(const std::string& address) const { return "devices/pci0000:00/" + address; }

private:
    void symlink(const std::string& target, const std::string& linkRel);
    std::string root_;
};

}  // namespace aismi::test
