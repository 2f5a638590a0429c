// A managed card: its physical function, its SR-IOV virtual functions and, where the vendor
// driver provides it, the vendor ABI (docs/driver-abi.md). Cards of unknown vendors are
// managed in generic mode: vendor-only features answer NotSupported.
#pragma once

#include <aismi/error.hpp>
#include <aismi/pci_address.hpp>
#include <aismi/pci_function.hpp>
#include <aismi/types.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace aismi {

class Fs;

/// A "VENDOR:DEVICE" pair from the configuration that selects which devices are cards.
struct DeviceMatch {
    uint16_t vendor = 0;
    uint16_t device = 0;
    static Result<DeviceMatch> parse(std::string_view text);  // "1ed5:0100"
    bool operator==(const DeviceMatch&) const = default;
};

/// The aismi card's physical function (docs/driver-abi.md); the simulated card has the same IDs.
inline constexpr DeviceMatch kAismiCardMatch{0xa15e, 0x0100};

struct CardIdentity {
    uint16_t vendor = 0;
    uint16_t device = 0;
    uint32_t classCode = 0;
    std::string name;    // vendor ABI product name, or "PCI device 1ed5:0100"
    std::string serial;  // vendor ABI serial, else the PCIe Device Serial Number, else ""
};

struct SriovState {
    unsigned totalVfs = 0;
    unsigned numVfs = 0;
    unsigned firstVfOffset = 0;
    unsigned vfStride = 0;
    uint16_t vfDevice = 0;
    /// Where VF `vf` of `pf` is: Routing ID = PF + First VF Offset + vf * VF Stride (SR-IOV
    /// 1.1, 3.3.9 and 3.3.10), as the kernel places it. No sysfs read.
    Result<PciAddress> vfAddress(const PciAddress& pf, unsigned vf) const {
        return pf.plusRid(firstVfOffset + vf * vfStride);
    }
};

/// One line of the vendor `vfs` file: a VF's status and resources.
struct VfReport {
    unsigned vf = 0;
    VfStatus status;
    Resources resources;
};

class Card {
public:
    Card(Fs& fs, unsigned index, PciAddress pf, bool vendorAbi);

    unsigned index() const { return index_; }
    const PciAddress& address() const { return pf_.address(); }
    PciFunction& pf() { return pf_; }
    const PciFunction& pf() const { return pf_; }
    /// False in generic mode: the device matched, but it has no aismi vendor directory.
    bool hasVendorAbi() const { return vendorAbi_; }

    Result<CardIdentity> identity() const;
    Result<SriovState> sriov() const;
    /// Sets the number of enabled VFs following the kernel's rules (only from 0, never above
    /// TotalVFs), then reads back sriov_numvfs and the virtfn links.
    Result<void> setVfCount(unsigned count);
    Result<PciAddress> vfAddress(unsigned vf) const;
    Result<std::vector<PciAddress>> vfAddresses() const;
    /// A VF's own PCI function (driver, IOMMU group, reset).
    PciFunction vfFunction(const PciAddress& address) const { return PciFunction(*fs_, address); }
    /// The VF index of `address` if it is one of this card's enabled VFs.
    std::optional<unsigned> vfIndexOf(const PciAddress& address) const;
    Result<void> resetVf(unsigned vf);
    /// A reset of the whole card: the PF's function-level reset, which takes every VF with it
    /// (the kernel enables them again when it restores the PF; what they held is gone). Never
    /// a bus reset (which would reach other devices below the bridge).
    Result<void> resetCard();

    // Vendor ABI (NotSupported in generic mode).
    Result<Resources> capacity() const;
    Result<Resources> vfResources(unsigned vf) const;
    Result<void> setVfResources(unsigned vf, const Resources& resources);
    Result<VfStatus> vfStatus(unsigned vf) const;
    /// Zeroes VF `vf`'s memory through the vendor `scrub` file and reads back that it is
    /// clean (VerifyFailed if not). An FLR alone does not clear device memory.
    Result<void> scrubVf(unsigned vf);
    /// Status and resources of every enabled VF in one read (`aismi/vfs`): what a poll uses,
    /// rather than two files per VF.
    Result<std::vector<VfReport>> vfReports() const;
    Result<FirmwareState> firmware() const;
    /// Arms (or, with nullopt, disarms) a one-shot try of `bank` at the next card reset, and
    /// reads it back. The bank is booted once; without a commit the reset after boots the
    /// boot bank again.
    Result<void> armFirmwareTry(std::optional<unsigned> bank);
    /// Makes the bank the card runs its boot bank, and reads it back.
    Result<void> commitFirmware();

    /// hwmon, link and AER from generic sysfs, plus vendor counters where present.
    Result<CardTelemetry> telemetry() const;

private:
    Result<void> requireVendorAbi(std::string_view what) const;
    Result<std::string> readVfFile(unsigned vf, std::string_view file) const;
    std::string vendorPath(std::string_view rel) const;

    Fs* fs_;
    unsigned index_;
    PciFunction pf_;
    bool vendorAbi_;
};

/// Finds the physical functions matching `matches` (VFs are never cards), sorted by address
/// and numbered from 0.
Result<std::vector<Card>> discoverCards(Fs& fs, std::span<const DeviceMatch> matches);

}  // namespace aismi
