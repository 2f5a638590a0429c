// aismid's names on the bus, in one place for the daemon and every client (aismi, the device
// plugin, the libvirt hook, the tests): the service, the object paths, the interfaces.
// daemon/dbus/org.aismi.*.xml declares what each interface has; tests check aismid against it.
#pragma once

#include <cstdint>
#include <string>

namespace aismi::bus_names {

inline constexpr const char* kService = "org.aismi.Manager1";
inline constexpr const char* kManagerPath = "/org/aismi/Manager1";
inline constexpr const char* kManagerInterface = "org.aismi.Manager1";
inline constexpr const char* kCardInterface = "org.aismi.Card1";
inline constexpr const char* kVfInterface = "org.aismi.VirtualFunction1";
inline constexpr const char* kJobInterface = "org.aismi.Job1";

inline std::string cardPath(unsigned card) { return std::string(kManagerPath) + "/card" + std::to_string(card); }
inline std::string vfPath(unsigned card, unsigned vf) { return cardPath(card) + "/vf" + std::to_string(vf); }
inline std::string jobPath(int64_t job) { return std::string(kManagerPath) + "/job" + std::to_string(job); }

}  // namespace aismi::bus_names
