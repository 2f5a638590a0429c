#include <aismi/pci_address.hpp>

#include <charconv>

namespace aismi {
namespace {

bool parseHex(std::string_view text, size_t digits, unsigned& out) {
    if (text.size() != digits) return false;
    for (char c : text)
        if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out, 16);
    return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

PciAddress::PciAddress(uint16_t domain, uint8_t bus, uint8_t device, uint8_t function)
    : domain_(domain), bus_(bus), device_(device & 0x1f), function_(function & 0x7) {}

Result<PciAddress> PciAddress::parse(std::string_view text) {
    // DDDD:BB:DD.F
    unsigned domain = 0, bus = 0, device = 0, function = 0;
    const bool ok = text.size() == 12 && text[4] == ':' && text[7] == ':' && text[10] == '.' &&
                    parseHex(text.substr(0, 4), 4, domain) && parseHex(text.substr(5, 2), 2, bus) &&
                    parseHex(text.substr(8, 2), 2, device) && parseHex(text.substr(11, 1), 1, function) &&
                    device < 32 && function < 8;
    if (!ok)
        return makeError(Errc::InvalidArgument, "'" + std::string(text) +
                                                    "' is not a PCI address (expected DDDD:BB:DD.F, e.g. 0000:3b:00.4)");
    return PciAddress(static_cast<uint16_t>(domain), static_cast<uint8_t>(bus), static_cast<uint8_t>(device),
                      static_cast<uint8_t>(function));
}

Result<PciAddress> PciAddress::plusRid(uint32_t offset) const {
    const uint32_t rid = static_cast<uint32_t>(this->rid()) + offset;
    if (rid > 0xffff)
        return makeError(Errc::OutOfRange, str() + " + " + std::to_string(offset) + " routing IDs leaves the PCI domain");
    return PciAddress(domain_, static_cast<uint8_t>(rid >> 8), static_cast<uint8_t>((rid >> 3) & 0x1f),
                      static_cast<uint8_t>(rid & 0x7));
}

std::string PciAddress::str() const {
    // Hand-rolled: addresses are formatted on every sysfs path, snprintf showed in profiles.
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s(12, '0');
    for (int i = 0; i < 4; ++i) s[static_cast<size_t>(i)] = kHex[(domain_ >> (12 - 4 * i)) & 0xf];
    s[4] = ':';
    s[5] = kHex[bus_ >> 4], s[6] = kHex[bus_ & 0xf];
    s[7] = ':';
    s[8] = kHex[device_ >> 4], s[9] = kHex[device_ & 0xf];
    s[10] = '.';
    s[11] = kHex[function_ & 0xf];
    return s;
}

}  // namespace aismi
