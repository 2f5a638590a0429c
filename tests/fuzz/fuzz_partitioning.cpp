// What operators write for partitioning: profiles.d files, layouts ("4xquarter,8xeighth") and
// layouts.d files.
#include "declared_layouts.hpp"
#include "layout_service.hpp"
#include "profiles.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (auto profiles = aismi::parseProfiles(text, "fuzz.conf"))
        for (const auto& p : *profiles) (void)p.on(aismi::Resources{128, 65536, 8});
    (void)aismi::parseLayout(text);
    (void)aismi::parseDeclaredLayouts(text, "fuzz.conf");
    return 0;
}
