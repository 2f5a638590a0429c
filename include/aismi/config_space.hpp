// A parser for the PCI configuration space as sysfs `config` returns it: the standard header,
// the capability list (PCIe capability) and the extended capability list (SR-IOV).
#pragma once

#include <aismi/error.hpp>

#include <cstdint>
#include <optional>
#include <string_view>

namespace aismi {

struct SriovCapability {
    uint16_t totalVfs = 0;
    uint16_t initialVfs = 0;
    uint16_t numVfs = 0;
    bool vfEnable = false;
    uint16_t firstVfOffset = 0;
    uint16_t vfStride = 0;
    uint16_t vfDeviceId = 0;
};

struct PcieCapability {
    bool flrSupported = false;  // Device Capabilities bit 28: Function Level Reset Capability
    uint8_t maxLinkSpeed = 0;   // 1 = 2.5 GT/s ... 5 = 32 GT/s (Link Capabilities)
    uint8_t maxLinkWidth = 0;
    uint8_t linkSpeed = 0;  // Link Status
    uint8_t linkWidth = 0;
};

struct ConfigSpace {
    uint16_t vendorId = 0;  // 0xffff on a VF: VFs take their IDs from the PF's SR-IOV capability
    uint16_t deviceId = 0;
    uint32_t classCode = 0;  // base class, subclass, prog-if
    std::optional<PcieCapability> pcie;
    std::optional<SriovCapability> sriov;
    std::optional<uint64_t> serialNumber;  // Device Serial Number extended capability
};

/// Parses raw config space bytes. An all-ones header means the device no longer answers
/// (DeviceLost); short or looping capability lists give MalformedData, never a crash. Only the
/// first 64 bytes are readable to unprivileged users, so capabilities may be absent then.
Result<ConfigSpace> parseConfigSpace(std::string_view bytes);

/// "2.5 GT/s" ... "32.0 GT/s" for a PCIe link speed code, or "unknown".
std::string_view linkSpeedName(uint8_t code);

}  // namespace aismi
