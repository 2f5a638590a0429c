// Names and object paths of the aismi D-Bus API (docs/dbus-api.md), and the property table
// of each interface.
#pragma once

#include "property_table.hpp"

#include <string>

namespace aismi {
struct CardSnapshot;
struct VfSnapshot;
struct Job;
}  // namespace aismi

namespace aismi::bus {

inline constexpr const char* kBusName = "org.aismi.Manager1";
inline constexpr const char* kManagerPath = "/org/aismi/Manager1";
inline constexpr const char* kManagerInterface = "org.aismi.Manager1";
inline constexpr const char* kCardInterface = "org.aismi.Card1";
inline constexpr const char* kVfInterface = "org.aismi.VirtualFunction1";
inline constexpr const char* kJobInterface = "org.aismi.Job1";

std::string cardPath(unsigned card);
std::string vfPath(unsigned card, unsigned vf);
std::string jobPath(int64_t job);

/// What Manager1's own properties read.
struct ManagerState {
    std::string version;
    std::string backend;
    std::vector<sdbus::ObjectPath> cards;
    uint32_t pollIntervalMs = 0;
    bool autoReset = true;  // the recovery policy (aismid.conf)
    uint32_t resetGuardResets = 0;
    uint32_t resetGuardWindowSeconds = 0;
    bool autoCardReset = false;
    uint32_t cardResetBudget = 0;
    uint32_t cardResetWindowSeconds = 0;
    std::string metricsAddress;  // where /metrics is served ("" when it is not)
    std::string libvirtUri;      // "none" when libvirt is turned off
};

const PropertyTable<ManagerState>& managerProperties();
const PropertyTable<CardSnapshot>& cardProperties();
const PropertyTable<VfSnapshot>& vfProperties();
const PropertyTable<Job>& jobProperties();

}  // namespace aismi::bus
