// PCI config space as sysfs gives it (binary, up to 4096 bytes): capabilities, SR-IOV, DSN.
#include <aismi/config_space.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    (void)aismi::parseConfigSpace(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
