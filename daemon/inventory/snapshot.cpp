#include "snapshot.hpp"

namespace aismi {

std::string_view healthName(Health h) {
    switch (h) {
    case Health::Ok: return "ok";
    case Health::Warning: return "warning";
    case Health::Critical: return "critical";
    case Health::Lost: return "lost";
    }
    return "unknown";
}

}  // namespace aismi
