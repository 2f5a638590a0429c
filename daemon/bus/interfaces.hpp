// The aismi D-Bus API's names as the bus code uses them (from include/aismi/bus_names.hpp,
// shared with the clients; docs/dbus-api.md), and the property table of each interface.
#pragma once

#include "property_table.hpp"

#include <aismi/bus_names.hpp>

#include <string>

namespace aismi {
struct CardSnapshot;
struct VfSnapshot;
struct Job;
}  // namespace aismi

namespace aismi::bus {

using bus_names::kCardInterface;
using bus_names::kJobInterface;
using bus_names::kManagerInterface;
using bus_names::kManagerPath;
using bus_names::kVfInterface;
inline constexpr const char* kBusName = bus_names::kService;
using bus_names::cardPath;
using bus_names::jobPath;
using bus_names::vfPath;

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
