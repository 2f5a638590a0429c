#include "snapshot.hpp"

namespace aismi {

std::string_view healthName(Health h) {
    switch (h) {
    case Health::Ok: return "ok";
    case Health::Unknown: return "unknown";
    case Health::Warning: return "warning";
    case Health::Critical: return "critical";
    case Health::Lost: return "lost";
    }
    return "unknown";
}

std::string_view thermalName(Thermal t) {
    switch (t) {
    case Thermal::Normal: return "normal";
    case Thermal::Warning: return "near its limit";
    case Thermal::Critical: return "at or above its critical limit";
    }
    return "normal";
}

}  // namespace aismi
