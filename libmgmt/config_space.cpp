#include <aismi/config_space.hpp>

#include <string>

namespace aismi {
namespace {

// PCI Local Bus 3.0 / PCIe Base 5.0 offsets and IDs.
constexpr size_t kHeaderSize = 64;
constexpr size_t kStatus = 0x06, kCapPtr = 0x34;
constexpr uint16_t kStatusCapList = 1u << 4;
constexpr uint8_t kCapIdPcie = 0x10;
constexpr size_t kExtStart = 0x100, kConfigSize = 4096;
constexpr uint16_t kExtIdSriov = 0x0010, kExtIdDsn = 0x0003;
// Each capability takes at least 4 bytes, so a longer chain must loop.
constexpr int kMaxCaps = 48, kMaxExtCaps = (kConfigSize - kExtStart) / 4;

class Bytes {
public:
    explicit Bytes(std::string_view b) : b_(b) {}
    bool has(size_t off, size_t len) const { return off + len <= b_.size(); }
    uint8_t u8(size_t o) const { return static_cast<uint8_t>(b_[o]); }
    uint16_t u16(size_t o) const { return static_cast<uint16_t>(u8(o) | u8(o + 1) << 8); }
    uint32_t u32(size_t o) const { return static_cast<uint32_t>(u16(o) | static_cast<uint32_t>(u16(o + 2)) << 16); }

private:
    std::string_view b_;
};

Error malformed(const std::string& what) { return makeError(Errc::MalformedData, "config space: " + what); }

Result<void> parseCapabilities(const Bytes& b, ConfigSpace& out) {
    if (!(b.u16(kStatus) & kStatusCapList)) return {};
    size_t ptr = b.u8(kCapPtr) & ~size_t{3};
    for (int n = 0; ptr != 0; ++n) {
        if (n >= kMaxCaps) return malformed("capability list loops");
        if (ptr < kHeaderSize || !b.has(ptr, 2)) {
            if (ptr >= kHeaderSize && ptr < 256) return {};  // unprivileged read: only 64 bytes
            return malformed("capability pointer 0x" + std::to_string(ptr) + " is outside the header");
        }
        if (b.u8(ptr) == kCapIdPcie) {
            if (!b.has(ptr, 0x14)) return malformed("PCI Express capability is truncated");
            PcieCapability pcie;
            pcie.flrSupported = (b.u32(ptr + 0x04) >> 28) & 1;
            const uint32_t linkCap = b.u32(ptr + 0x0c);
            pcie.maxLinkSpeed = linkCap & 0xf;
            pcie.maxLinkWidth = (linkCap >> 4) & 0x3f;
            const uint16_t linkStatus = b.u16(ptr + 0x12);
            pcie.linkSpeed = linkStatus & 0xf;
            pcie.linkWidth = (linkStatus >> 4) & 0x3f;
            out.pcie = pcie;
        }
        ptr = b.u8(ptr + 1) & ~size_t{3};
    }
    return {};
}

Result<void> parseExtendedCapabilities(const Bytes& b, ConfigSpace& out) {
    if (!b.has(kExtStart, 4)) return {};  // conventional device, or an unprivileged read
    size_t ptr = kExtStart;
    for (int n = 0; ptr != 0; ++n) {
        if (n >= kMaxExtCaps) return malformed("extended capability list loops");
        if (ptr < kExtStart || !b.has(ptr, 4)) return malformed("extended capability at 0x" + std::to_string(ptr) + " is out of range");
        const uint32_t header = b.u32(ptr);
        if (header == 0 || header == 0xffffffff) return {};  // no extended capabilities
        const uint16_t id = header & 0xffff;
        if (id == kExtIdSriov) {
            if (!b.has(ptr, 0x1c)) return malformed("SR-IOV capability is truncated");
            SriovCapability s;
            s.vfEnable = b.u16(ptr + 0x08) & 1;
            s.initialVfs = b.u16(ptr + 0x0c);
            s.totalVfs = b.u16(ptr + 0x0e);
            s.numVfs = b.u16(ptr + 0x10);
            s.firstVfOffset = b.u16(ptr + 0x14);
            s.vfStride = b.u16(ptr + 0x16);
            s.vfDeviceId = b.u16(ptr + 0x1a);
            out.sriov = s;
        } else if (id == kExtIdDsn) {
            if (!b.has(ptr, 0x0c)) return malformed("Device Serial Number capability is truncated");
            out.serialNumber = b.u32(ptr + 4) | static_cast<uint64_t>(b.u32(ptr + 8)) << 32;
        }
        ptr = (header >> 20) & ~size_t{3};
    }
    return {};
}

}  // namespace

Result<ConfigSpace> parseConfigSpace(std::string_view bytes) {
    Bytes b(bytes);
    if (!b.has(0, kHeaderSize))
        return malformed(std::to_string(bytes.size()) + " bytes is shorter than the 64-byte header");
    ConfigSpace cs;
    cs.vendorId = b.u16(0);
    cs.deviceId = b.u16(2);
    // A VF's Vendor and Device ID registers read 0xffff by design (SR-IOV 3.4.1.1); only a
    // header that is all ones, class code included, means the device stopped answering.
    if (b.u32(0) == 0xffffffff && b.u32(0x08) == 0xffffffff)
        return makeError(Errc::DeviceLost, "config space reads all ones: the device does not answer");
    cs.classCode = b.u32(0x08) >> 8;
    if (auto r = parseCapabilities(b, cs); !r) return std::move(r).error();
    if (auto r = parseExtendedCapabilities(b, cs); !r) return std::move(r).error();
    return cs;
}

std::string_view linkSpeedName(uint8_t code) {
    switch (code) {
    case 1: return "2.5 GT/s";
    case 2: return "5.0 GT/s";
    case 3: return "8.0 GT/s";
    case 4: return "16.0 GT/s";
    case 5: return "32.0 GT/s";
    case 6: return "64.0 GT/s";
    default: return "unknown";
    }
}

}  // namespace aismi
