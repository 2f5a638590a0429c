#include "config_space_builder.hpp"

namespace aismi::sim {
namespace {

constexpr size_t kSize = 4096;
constexpr uint32_t kClassAccelerator = 0x120000;  // base class 0x12: processing accelerator
constexpr uint8_t kPmCap = 0x40, kPcieCap = 0x50;
constexpr uint16_t kSriovCap = 0x100, kDsnCap = 0x140;
constexpr uint8_t kSpeed16GT = 4, kSpeed8GT = 3;

class Builder {
public:
    Builder() : b_(kSize, '\0') {}
    void u8(size_t o, uint8_t v) { b_[o] = static_cast<char>(v); }
    void u16(size_t o, uint16_t v) { u8(o, v & 0xff), u8(o + 1, v >> 8); }
    void u32(size_t o, uint32_t v) { u16(o, v & 0xffff), u16(o + 2, static_cast<uint16_t>(v >> 16)); }
    std::string take() { return std::move(b_); }

private:
    std::string b_;
};

}  // namespace

std::string buildConfigSpace(const SimCardView& model, int fn) {
    if (model.card().deviceLost) return std::string(kSize, '\xff');
    const SimConfig& cfg = model.config();
    const bool pf = fn < 0;
    Builder b;
    b.u16(0x00, pf ? cfg.vendorId : 0xffff);
    b.u16(0x02, pf ? cfg.pfDeviceId : 0xffff);
    b.u16(0x04, 0x0006);  // memory space + bus master
    b.u16(0x06, 0x0010);  // capabilities list present
    b.u32(0x08, kClassAccelerator << 8 | 0x01);
    b.u16(0x2c, cfg.vendorId);
    b.u16(0x2e, pf ? cfg.pfDeviceId : cfg.vfDeviceId);
    b.u8(0x34, kPmCap);
    // Power Management capability (ID 0x01), version 3.
    b.u8(kPmCap, 0x01), b.u8(kPmCap + 1, kPcieCap), b.u16(kPmCap + 2, 0x0003);
    // PCI Express capability (ID 0x10), v2 endpoint; FLR capable (Device Capabilities bit 28).
    b.u8(kPcieCap, 0x10), b.u8(kPcieCap + 1, 0x00), b.u16(kPcieCap + 2, 0x0002);
    b.u32(kPcieCap + 0x04, 1u << 28);
    if (pf) {  // link registers are reserved in a VF
        const bool degraded = model.card().linkDegraded;
        b.u32(kPcieCap + 0x0c, 16u << 4 | kSpeed16GT);
        b.u16(kPcieCap + 0x12, static_cast<uint16_t>((degraded ? 4u : 16u) << 4 | (degraded ? kSpeed8GT : kSpeed16GT)));
        // SR-IOV extended capability (ID 0x0010), version 1.
        const auto numVfs = static_cast<uint16_t>(model.card().vfs.size());
        b.u32(kSriovCap, 0x0010 | 1u << 16 | static_cast<uint32_t>(kDsnCap) << 20);
        b.u16(kSriovCap + 0x08, numVfs ? 0x0009 : 0);  // VF Enable + VF MSE
        b.u16(kSriovCap + 0x0c, static_cast<uint16_t>(cfg.totalVfs));
        b.u16(kSriovCap + 0x0e, static_cast<uint16_t>(cfg.totalVfs));
        b.u16(kSriovCap + 0x10, numVfs);
        b.u16(kSriovCap + 0x14, kFirstVfOffset);
        b.u16(kSriovCap + 0x16, kVfStride);
        b.u16(kSriovCap + 0x1a, cfg.vfDeviceId);
        // Device Serial Number extended capability (ID 0x0003), version 1, last in the list.
        const uint64_t dsn = static_cast<uint64_t>(cfg.vendorId) << 40 | (0x2411000000ull + model.card().index);
        b.u32(kDsnCap, 0x0003 | 1u << 16);
        b.u32(kDsnCap + 4, static_cast<uint32_t>(dsn));
        b.u32(kDsnCap + 8, static_cast<uint32_t>(dsn >> 32));
    }
    return b.take();
}

}  // namespace aismi::sim
