// The D-Bus face of the engine: org.aismi.Manager1 (with ObjectManager), one org.aismi.Card1
// per card and one org.aismi.VirtualFunction1 per enabled VF. A thin table over Engine: the
// getters read snapshots, the methods authorize the caller and call the engine.
#pragma once

#include <memory>
#include <string>

namespace sdbus {
class IConnection;
}

namespace aismi {

class Authorizer;
class BusPump;
class Engine;
struct CardSnapshot;

inline constexpr const char* kBusName = "org.aismi.Manager1";
inline constexpr const char* kManagerPath = "/org/aismi/Manager1";

std::string cardPath(unsigned card);
std::string vfPath(unsigned card, unsigned vf);

struct ManagerInfo {
    std::string version;
    std::string backend;
    unsigned pollIntervalMs = 0;
};

class BusObjects {
public:
    BusObjects(sdbus::IConnection& connection, Engine& engine, Authorizer& authorizer, BusPump& pump, ManagerInfo info);
    ~BusObjects();

    /// Brings the VF objects and properties of `card` in line with its new snapshot and emits
    /// PropertiesChanged / InterfacesAdded / InterfacesRemoved.
    void cardUpdated(unsigned card, const CardSnapshot& before);
    void setPollInterval(unsigned ms);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace aismi
