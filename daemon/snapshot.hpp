// What aismid knows of a card at one poll: plain values the bus objects serve from, so a
// D-Bus read never touches a device.
#pragma once

#include <aismi/card.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace aismi {

// "Not reported" on the bus: NaN for doubles, the type's maximum for integers.
inline constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();
inline constexpr uint32_t kNoU32 = std::numeric_limits<uint32_t>::max();
inline constexpr uint64_t kNoU64 = std::numeric_limits<uint64_t>::max();

enum class Health { Ok, Warning, Critical, Lost };
std::string_view healthName(Health h);

struct VfSnapshot {
    unsigned index = 0;
    std::string pciAddress;
    std::string state = "unknown";  // idle, running, hung, resetting, error, unknown
    Health health = Health::Ok;
    std::string driver;
    int32_t iommuGroup = -1;
    Resources resources{kNoU32, kNoU64, kNoU32};
    uint32_t utilizationPct = kNoU32;
    uint64_t memoryUsedMib = kNoU64;
    uint64_t eccCorrected = kNoU64;
    uint64_t eccUncorrected = kNoU64;
    uint64_t resetCount = kNoU64;
    uint64_t progress = kNoU64;
    bool operator==(const VfSnapshot&) const = default;
};

struct CardSnapshot {
    unsigned index = 0;
    std::string pciAddress;
    std::string name;
    std::string serial;
    uint16_t vendorId = 0;
    uint16_t deviceId = 0;
    bool genericMode = false;
    std::string driver;
    std::string firmwareVersion;
    uint32_t firmwareActiveBank = kNoU32;
    std::vector<std::string> firmwareBankVersions;
    std::vector<std::string> firmwareBankIntegrity;  // "ok" / "bad"
    Health health = Health::Ok;
    std::vector<std::string> healthReasons;
    double temperatureC = kNoValue;
    double temperatureCritC = kNoValue;
    double powerW = kNoValue;
    double powerCapW = kNoValue;
    uint32_t utilizationPct = kNoU32;
    uint64_t memoryUsedMib = kNoU64;
    uint64_t memoryTotalMib = kNoU64;
    uint32_t computeUnits = kNoU32;
    uint32_t engines = kNoU32;
    uint64_t eccCorrected = kNoU64;
    uint64_t eccUncorrected = kNoU64;
    uint64_t aerCorrectable = kNoU64;
    uint64_t aerNonFatal = kNoU64;
    uint64_t aerFatal = kNoU64;
    std::string linkSpeed;
    uint32_t linkWidth = kNoU32;
    std::string linkMaxSpeed;
    uint32_t linkMaxWidth = kNoU32;
    uint32_t vfTotal = 0;
    std::vector<VfSnapshot> vfs;  // the enabled VFs, by index

    uint32_t vfEnabled() const { return static_cast<uint32_t>(vfs.size()); }
};

/// Names of the org.aismi.Card1 / VirtualFunction1 properties whose values differ.
std::vector<std::string> changedCardProperties(const CardSnapshot& a, const CardSnapshot& b);
std::vector<std::string> changedVfProperties(const VfSnapshot& a, const VfSnapshot& b);

}  // namespace aismi
