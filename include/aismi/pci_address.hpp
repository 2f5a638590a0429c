// PCI function addresses (domain:bus:device.function) and their routing-ID arithmetic.
#pragma once

#include <aismi/error.hpp>

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

namespace aismi {

class PciAddress {
public:
    PciAddress() = default;
    PciAddress(uint16_t domain, uint8_t bus, uint8_t device, uint8_t function);

    /// Parses the kernel's spelling "0000:3b:00.4" (lower or upper case hex).
    static Result<PciAddress> parse(std::string_view text);
    /// The address `offset` routing IDs after this one (PCIe SR-IOV 9.3.3.10: VF RIDs are
    /// PF RID + First VF Offset + (n-1) * VF Stride, and may spill onto the next buses).
    Result<PciAddress> plusRid(uint32_t offset) const;

    uint16_t domain() const { return domain_; }
    uint8_t bus() const { return bus_; }
    uint8_t device() const { return device_; }
    uint8_t function() const { return function_; }
    /// The 16-bit routing ID: bus << 8 | device << 3 | function.
    uint16_t rid() const { return static_cast<uint16_t>(bus_ << 8 | device_ << 3 | function_); }

    std::string str() const;
    auto operator<=>(const PciAddress&) const = default;

private:
    uint16_t domain_ = 0;
    uint8_t bus_ = 0;
    uint8_t device_ = 0;
    uint8_t function_ = 0;
};

}  // namespace aismi
