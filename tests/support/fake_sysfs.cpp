#include "fake_sysfs.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace aismi::test {
namespace {

std::string hex4(unsigned v) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%04x", v);
    return buf;
}

std::string configSpace(unsigned vendor, unsigned device, unsigned classCode) {
    std::string b(256, '\0');  // a conventional 256-byte space, no capabilities
    const auto put16 = [&](size_t o, unsigned v) { b[o] = static_cast<char>(v & 0xff), b[o + 1] = static_cast<char>(v >> 8); };
    put16(0, vendor);
    put16(2, device);
    put16(0x0a, classCode >> 8);
    b[0x09] = static_cast<char>(classCode & 0xff);
    return b;
}

}  // namespace

void FakeSysfs::write(const std::string& rel, const std::string& content) {
    const fs::path p = fs::path(root_) / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
}

std::string FakeSysfs::read(const std::string& rel) const {
    std::ifstream in(fs::path(root_) / rel, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

void FakeSysfs::remove(const std::string& rel) { fs::remove_all(fs::path(root_) / rel); }

void FakeSysfs::symlink(const std::string& target, const std::string& linkRel) {
    const fs::path link = fs::path(root_) / linkRel;
    fs::create_directories(link.parent_path());
    fs::remove(link);
    fs::create_symlink(target, link);
}

void FakeSysfs::addFunction(const std::string& address, unsigned vendor, unsigned device, unsigned classCode) {
    const std::string dev = devicePath(address);
    write(dev + "/vendor", hex4(vendor) + "\n");
    write(dev + "/device", hex4(device) + "\n");
    char cls[16];
    std::snprintf(cls, sizeof cls, "0x%06x\n", classCode);
    write(dev + "/class", cls);
    write(dev + "/config", configSpace(vendor, device, classCode));
    write(dev + "/reset", "");
    write(dev + "/reset_method", "flr\n");
    write(dev + "/driver_override", "(null)\n");
    symlink("../../../" + dev, "bus/pci/devices/" + address);
}

void FakeSysfs::addSriov(const std::string& pf, unsigned totalVfs, unsigned numVfs, unsigned vfDevice) {
    const std::string dev = devicePath(pf);
    write(dev + "/sriov_totalvfs", std::to_string(totalVfs) + "\n");
    write(dev + "/sriov_numvfs", std::to_string(numVfs) + "\n");
    write(dev + "/sriov_offset", "4\n");
    write(dev + "/sriov_stride", "1\n");
    char vfd[16];
    std::snprintf(vfd, sizeof vfd, "%x\n", vfDevice);
    write(dev + "/sriov_vf_device", vfd);
    const unsigned vendor = std::stoul(read(dev + "/vendor"), nullptr, 16);
    const auto base = PciAddress::parse(pf).value();
    for (unsigned k = 0; k < numVfs; ++k) {
        const std::string vf = base.plusRid(4 + k).value().str();
        addFunction(vf, vendor, vfDevice);
        symlink("../" + vf, dev + "/virtfn" + std::to_string(k));
        symlink("../" + pf, devicePath(vf) + "/physfn");
    }
}

void FakeSysfs::bindDriver(const std::string& address, const std::string& driver) {
    symlink("../../../bus/pci/drivers/" + driver, devicePath(address) + "/driver");
    fs::create_directories(fs::path(root_) / "bus/pci/drivers" / driver);
    write("bus/pci/drivers/" + driver + "/unbind", "");
    write("bus/pci/drivers/" + driver + "/bind", "");
    write("bus/pci/drivers_probe", "");
}

void FakeSysfs::setIommuGroup(const std::string& address, unsigned group) {
    const std::string g = "kernel/iommu_groups/" + std::to_string(group);
    symlink("../../../" + g, devicePath(address) + "/iommu_group");
    symlink("../../../../" + devicePath(address), g + "/devices/" + address);
}

}  // namespace aismi::test
