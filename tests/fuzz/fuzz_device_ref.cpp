// How users name cards and VFs ("0", "0:3", "0000:3b:00.4", "3B:00.4", a serial).
#include <aismi/device_ref.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    (void)aismi::DeviceRef::parse(text);
    (void)aismi::PciAddress::parse(text);
    return 0;
}
