#include "fields.hpp"

#include <cstdio>

namespace aismi::cli {

const std::vector<Field>& cardFields() {
    static const std::vector<Field> fields{
        {"index", "Index", "", "Index of the card, as aismid numbers them (PCI address order at the first start, then kept per card)"},
        {"name", "Name", "", "Product name"},
        {"pci.bus_id", "PciAddress", "", "PCI address of the physical function (domain:bus:device.function)"},
        {"serial", "Serial", "", "Board serial number (the PCIe Device Serial Number in generic mode)"},
        {"vendor_id", "VendorId", "", "PCI vendor ID", 0, true, "PCI"},
        {"device_id", "DeviceId", "", "PCI device ID of the physical function", 0, true, "PCI"},
        {"driver", "Driver", "", "Kernel driver bound to the physical function"},
        {"generic_mode", "GenericMode", "", "True when the card is managed without the aismi vendor driver"},
        {"numa_node", "NumaNode", "", "NUMA node the card is attached to (-1: the platform has none)"},
        {"firmware.version", "FirmwareVersion", "", "Version of the firmware in the active bank", 0, false, "FIRMWARE"},
        {"firmware.active_bank", "FirmwareActiveBank", "", "Firmware bank the card runs from (0 or 1)", 0, false, "FIRMWARE"},
        {"firmware.banks", "FirmwareBankVersions", "", "Firmware version in each bank", 0, false, "FIRMWARE"},
        {"firmware.integrity", "FirmwareBankIntegrity", "", "Integrity check result of each firmware bank (ok or bad)", 0, false, "FIRMWARE"},
        {"temperature", "TemperatureC", "C", "Card temperature in degrees Celsius", 0, false, "TEMPERATURE"},
        {"temperature.critical", "TemperatureCriticalC", "C", "Temperature at which the card is critical", 0, false, "TEMPERATURE"},
        {"power.draw", "PowerW", "W", "Average power draw in watts", 2, false, "POWER"},
        {"power.limit", "PowerCapW", "W", "Power cap in watts", 2, false, "POWER"},
        {"utilization", "UtilizationPercent", "%", "Share of the card's compute units busy with VF work", 0, false, "UTILIZATION"},
        {"memory.used", "MemoryUsedMiB", "MiB", "Device memory in use, MiB", 0, false, "MEMORY"},
        {"memory.total", "MemoryTotalMiB", "MiB", "Device memory, MiB", 0, false, "MEMORY"},
        {"compute_units", "ComputeUnits", "", "Compute units on the card", 0, false, "MEMORY"},
        {"engines", "Engines", "", "Engines on the card", 0, false, "MEMORY"},
        {"oversubscription.compute", "ComputeOversubscription", "", "How far the VFs' burst caps together may exceed the card's compute units (1.0: not at all)", 2, false, "SRIOV"},
        {"oversubscription.memory", "MemoryOversubscription", "", "How far the memory given to the VFs together may exceed the card's (1.0: not at all)", 2, false, "SRIOV"},
        {"ecc.corrected", "EccCorrected", "", "Corrected ECC errors since the card was last reset or power-cycled (card and VFs)", 0, false, "ECC"},
        {"ecc.uncorrected", "EccUncorrected", "", "Uncorrectable ECC errors since the card was last reset or power-cycled (card and VFs)", 0, false, "ECC"},
        {"aer.correctable", "AerCorrectable", "", "PCIe AER correctable errors of the physical function", 0, false, "PCI"},
        {"aer.nonfatal", "AerNonFatal", "", "PCIe AER non-fatal errors of the physical function", 0, false, "PCI"},
        {"aer.fatal", "AerFatal", "", "PCIe AER fatal errors of the physical function", 0, false, "PCI"},
        {"pcie.link.speed.current", "LinkSpeed", "GT/s", "Current PCIe link speed", 0, false, "PCI"},
        {"pcie.link.width.current", "LinkWidth", "", "Current PCIe link width (lanes)", 0, false, "PCI"},
        {"pcie.link.speed.max", "LinkMaxSpeed", "GT/s", "Maximum PCIe link speed of the card", 0, false, "PCI"},
        {"pcie.link.width.max", "LinkMaxWidth", "", "Maximum PCIe link width of the card", 0, false, "PCI"},
        {"vf.enabled", "VfEnabled", "", "SR-IOV virtual functions enabled", 0, false, "SRIOV"},
        {"vf.total", "VfTotal", "", "SR-IOV virtual functions the card supports (TotalVFs)", 0, false, "SRIOV"},
        {"health", "Health", "", "ok, unknown (not readable, or stale), warning, critical, or lost (the device does not answer)", 0, false, "HEALTH"},
        {"health.reasons", "HealthReasons", "", "Why health is not ok", 0, false, "HEALTH"},
    };
    return fields;
}

const std::vector<Field>& vfFields() {
    static const std::vector<Field> fields{
        {"card", "CardIndex", "", "Index of the card the VF belongs to"},
        {"vf", "Index", "", "Index of the VF on its card (virtfnN)"},
        {"pci.bus_id", "PciAddress", "", "PCI address of the VF"},
        {"state", "State", "", "idle, running, hung, resetting, error, or unknown (generic mode)"},
        {"health", "Health", "", "ok, unknown (not readable, or stale), warning (hung), critical (error, uncorrectable ECC) or lost"},
        {"driver", "Driver", "", "Kernel driver bound to the VF (aismi on the host, vfio-pci when assigned)"},
        {"iommu_group", "IommuGroup", "", "IOMMU group of the VF"},
        {"compute_units", "ComputeUnits", "", "Compute units provisioned to the VF"},
        {"memory.total", "MemoryMiB", "MiB", "Device memory provisioned to the VF, MiB"},
        {"engines", "Engines", "", "Engines provisioned to the VF"},
        {"compute_units.burst", "BurstComputeUnits", "", "Compute units the VF may use when the card has idle compute (its burst cap)"},
        {"weight", "Weight", "", "The VF's share of idle compute when several VFs burst"},
        {"compute_share", "ComputeShare", "", "Compute units the VF's workload gets now", 1},
        {"throttled", "Throttled", "", "True when the VF's workload gets less than its burst cap (the card is oversubscribed)"},
        {"utilization", "UtilizationPercent", "%", "Share of the VF's compute units busy"},
        {"memory.used", "MemoryUsedMiB", "MiB", "Device memory the VF's workload uses, MiB"},
        {"ecc.corrected", "EccCorrected", "", "Corrected ECC errors attributed to the VF"},
        {"ecc.uncorrected", "EccUncorrected", "", "Uncorrectable ECC errors attributed to the VF"},
        {"reset_count", "ResetCount", "", "Function level resets of the VF"},
        {"progress", "Progress", "", "Work completed by the VF's workload since its last reset"},
        {"profile", "Profile", "", "Profile aismid provisioned the VF with ([N/A] in CSV when none)"},
        {"tenant", "Tenant", "", "Tenant the VF is provisioned for ([N/A] in CSV when none)"},
        {"quarantined", "Quarantined", "", "True when the VF is out of use: too many automatic resets, or an operator's quarantine (aismi vf unquarantine)"},
        {"quarantine_reason", "QuarantineReason", "", "Why the VF is quarantined: the recovery policy's words or the operator's reason"},
        {"health.reasons", "HealthReasons", "", "Why the VF's health is not ok"},
        {"guard_resets_left", "GuardResetsLeft", "", "Automatic resets the VF's reset guard still allows in its window (0 when quarantined)"},
        {"domain", "Domain", "", "libvirt domain the VF is assigned to ([N/A] in CSV when none)"},
        {"assignment", "Assignment", "", "assigning, assigned or releasing; none ([N/A] in CSV) when free"},
        {"scrub_pending", "ScrubPending", "", "True while a tenant's data may still be in the VF's memory: nobody gets it until it is scrubbed"},
        {"holder", "Holder", "", "Who holds the VF besides libvirt domains (kubelet); none ([N/A] in CSV) for nobody"},
        {"used_by", "UsedBy", "", "Every consumer of the VF: domain:NAME, holder:NAME, quarantine (None in CSV for nobody)"},
    };
    return fields;
}

const Field* findField(const std::vector<Field>& table, const std::string& name) {
    for (const auto& f : table)
        if (f.name == name) return &f;
    return nullptr;
}

std::string formatValue(const Value& v, const Field& f, bool withUnit) {
    const std::string unit = withUnit && !f.unit.empty() ? " " + f.unit : "";
    return std::visit(
        [&](const auto& x) -> std::string {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, NotAvailable>) return "[N/A]";
            else if constexpr (std::is_same_v<T, bool>) return x ? "true" : "false";
            // A string that carries its unit ("16.0 GT/s PCIe", as the kernel prints a link
            // speed) loses it with nounits, like the numbers do.
            else if constexpr (std::is_same_v<T, std::string>) return !withUnit && !f.unit.empty() ? x.substr(0, x.find(' ')) : x;
            else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
                if (x.empty()) return "None";  // a field, not a trailing separator
                std::string s;
                for (const auto& e : x) s += (s.empty() ? "" : "; ") + e;
                return s;
            } else if constexpr (std::is_same_v<T, double>) {
                char buf[64];
                std::snprintf(buf, sizeof buf, "%.*f", f.decimals, x);
                return buf + unit;
            } else {
                if (f.hex) {
                    char buf[16];
                    std::snprintf(buf, sizeof buf, "0x%04llx", static_cast<unsigned long long>(x));
                    return buf;
                }
                return std::to_string(x) + unit;
            }
        },
        v);
}

}  // namespace aismi::cli
