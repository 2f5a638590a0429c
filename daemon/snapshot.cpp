#include "snapshot.hpp"

namespace aismi {
namespace {

bool same(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }
template <class T>
bool same(const T& a, const T& b) {
    return a == b;
}

}  // namespace

// The property names here are those of org.aismi.Card1.xml / org.aismi.VirtualFunction1.xml.
#define AISMI_DIFF(prop, expr) \
    if (!same(a.expr, b.expr)) out.emplace_back(prop)

std::vector<std::string> changedCardProperties(const CardSnapshot& a, const CardSnapshot& b) {
    std::vector<std::string> out;
    AISMI_DIFF("Name", name);
    AISMI_DIFF("Serial", serial);
    AISMI_DIFF("GenericMode", genericMode);
    AISMI_DIFF("Driver", driver);
    AISMI_DIFF("FirmwareVersion", firmwareVersion);
    AISMI_DIFF("FirmwareActiveBank", firmwareActiveBank);
    AISMI_DIFF("FirmwareBankVersions", firmwareBankVersions);
    AISMI_DIFF("FirmwareBankIntegrity", firmwareBankIntegrity);
    AISMI_DIFF("Health", health);
    AISMI_DIFF("HealthReasons", healthReasons);
    AISMI_DIFF("TemperatureC", temperatureC);
    AISMI_DIFF("TemperatureCriticalC", temperatureCritC);
    AISMI_DIFF("PowerW", powerW);
    AISMI_DIFF("PowerCapW", powerCapW);
    AISMI_DIFF("UtilizationPercent", utilizationPct);
    AISMI_DIFF("MemoryUsedMiB", memoryUsedMib);
    AISMI_DIFF("MemoryTotalMiB", memoryTotalMib);
    AISMI_DIFF("ComputeUnits", computeUnits);
    AISMI_DIFF("Engines", engines);
    AISMI_DIFF("EccCorrected", eccCorrected);
    AISMI_DIFF("EccUncorrected", eccUncorrected);
    AISMI_DIFF("AerCorrectable", aerCorrectable);
    AISMI_DIFF("AerNonFatal", aerNonFatal);
    AISMI_DIFF("AerFatal", aerFatal);
    AISMI_DIFF("LinkSpeed", linkSpeed);
    AISMI_DIFF("LinkWidth", linkWidth);
    AISMI_DIFF("LinkMaxSpeed", linkMaxSpeed);
    AISMI_DIFF("LinkMaxWidth", linkMaxWidth);
    AISMI_DIFF("VfTotal", vfTotal);
    if (a.vfs.size() != b.vfs.size()) {
        out.emplace_back("VfEnabled");
        out.emplace_back("VirtualFunctions");
    }
    return out;
}

std::vector<std::string> changedVfProperties(const VfSnapshot& a, const VfSnapshot& b) {
    std::vector<std::string> out;
    AISMI_DIFF("PciAddress", pciAddress);
    AISMI_DIFF("State", state);
    AISMI_DIFF("Health", health);
    AISMI_DIFF("Driver", driver);
    AISMI_DIFF("IommuGroup", iommuGroup);
    AISMI_DIFF("ComputeUnits", resources.computeUnits);
    AISMI_DIFF("MemoryMiB", resources.memoryMib);
    AISMI_DIFF("Engines", resources.engines);
    AISMI_DIFF("UtilizationPercent", utilizationPct);
    AISMI_DIFF("MemoryUsedMiB", memoryUsedMib);
    AISMI_DIFF("EccCorrected", eccCorrected);
    AISMI_DIFF("EccUncorrected", eccUncorrected);
    AISMI_DIFF("ResetCount", resetCount);
    AISMI_DIFF("Progress", progress);
    return out;
}

#undef AISMI_DIFF

}  // namespace aismi
