// The strict text parsers sysfs and vendor files go through: numbers, "key value" files, sizes,
// ratios, times.
#include <aismi/text.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    (void)aismi::text::parseUnsigned(text, "fuzz");
    (void)aismi::text::parseDouble(text, "fuzz");
    (void)aismi::text::parseSizeMib(text, "fuzz");
    // A ratio that parses is in range and prints back as it was meant.
    if (auto r = aismi::text::parseRatio(text, 100, 1600, "fuzz")) {
        if (*r < 100 || *r > 1600) __builtin_trap();
        if (aismi::text::parseRatio(aismi::text::ratioText(*r), 100, 1600, "fuzz").valueOr(0) != *r) __builtin_trap();
    }
    // A time ago never lies in the future, nor more than 3650 days back.
    constexpr int64_t kNow = 1'800'000'000;
    if (auto t = aismi::text::parseTimePoint(text, kNow, "fuzz"); t && (text.find("ago") != std::string_view::npos || text.starts_with("-")))
        if (*t > kNow || *t < kNow - 3650LL * 86400) __builtin_trap();
    if (auto b = aismi::text::parseBudget(text, "fuzz", "1/60"); b && (b->count < 1 || b->count > 100 || b->seconds < 1 || b->seconds > 604800))
        __builtin_trap();
    if (auto kv = aismi::text::parseKeyValues(text, "fuzz")) {
        (void)aismi::text::requireUnsigned(*kv, "a", "fuzz");
        (void)aismi::text::requirePercent(*kv, "b", "fuzz");
    }
    return 0;
}
