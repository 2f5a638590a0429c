#include "event_type.hpp"

#include <array>

namespace aismi {
namespace {

struct TypeRow {
    EventType type;
    std::string_view name;
    std::string_view messageId;
};

// Shipped names and IDs are part of the interface: append, never edit.
constexpr std::array kTypes{
    TypeRow{EventType::Daemon, "daemon", "e2c14e300f644dbd9d6f694481b4e44d"},
    TypeRow{EventType::Reconcile, "reconcile", "0329cae4ee464fc0adeb88bc6e26caf8"},
    TypeRow{EventType::CardAdded, "card-added", "096fcce8761944d7b8565481e18a0d2f"},
    TypeRow{EventType::CardMoved, "card-moved", "8835574025b24c18961cb42b6510db87"},
    TypeRow{EventType::CardReplaced, "card-replaced", "85c28c71228944f597485aee99bea86a"},
    TypeRow{EventType::Discovery, "discovery", "9b367fd929904667b075b24296ae8027"},
    TypeRow{EventType::PollFailed, "poll-failed", "16891cd911fc4e23a3fa9263d52e1d09"},
    TypeRow{EventType::Health, "health", "6ae5c5081a0b4bc0ac481f5c53577e1b"},
    TypeRow{EventType::VfState, "vf-state", "a80adf08700f4fe4bf3f4e51830de858"},
    TypeRow{EventType::VfHealth, "vf-health", "da73dcd86a5e4c08965b97129e3c8333"},
    TypeRow{EventType::Ecc, "ecc", "6ab790bee0a941c99885db42bdbe95cf"},
    TypeRow{EventType::Thermal, "thermal", "46414ac29e59417bac0386db94245fb2"},
    TypeRow{EventType::VfCount, "vf-count", "28ac6c6a98af4648bef3084626ca8e4d"},
    TypeRow{EventType::Provision, "provision", "20abf403a4c64a4bb2984159f98676de"},
    TypeRow{EventType::Layout, "layout", "6203f09a11fd443984b1387c460080dc"},
    TypeRow{EventType::Policy, "policy", "a18782a04d3e4c2ab1bac5c72c5639da"},
    TypeRow{EventType::Quota, "quota", "f013b083d0fc410cb08df270aa996895"},
    TypeRow{EventType::Reset, "reset", "a20785772d5d4d6b9450e3a2bcccfde2"},
    TypeRow{EventType::AutoReset, "auto-reset", "ef94d592843f41d1a3e401beeeb880b3"},
    TypeRow{EventType::Quarantine, "quarantine", "8bfabacb436b4091b4d78d3272fb6ae8"},
    TypeRow{EventType::Unquarantine, "unquarantine", "e75ecb0776c646f08f0e60f4b23a7a5e"},
    TypeRow{EventType::CardReset, "card-reset", "55564d7a6994496c927cf9555f7f732d"},
    TypeRow{EventType::Driver, "driver", "c1cc1f6e99874e06977e87d563450bf5"},
    TypeRow{EventType::Assignment, "assignment", "7096575f04a844b99ddb89f46887a55a"},
    TypeRow{EventType::Scrub, "scrub", "45aa46ee01a7413abf9fa0ed46923879"},
    TypeRow{EventType::Conflict, "assignment-conflict", "f4e7db0b8c6e4553b7019f38c802f3d0"},
    TypeRow{EventType::Libvirt, "libvirt", "3b776135430f4e13a6421b4142ae5c5c"},
    TypeRow{EventType::Firmware, "firmware", "6298330262a74067a6c3ceaa5cd22de7"},
};

constexpr std::array<EventType, kTypes.size()> typesInOrder() {
    std::array<EventType, kTypes.size()> out{};
    for (size_t i = 0; i < kTypes.size(); ++i) out[i] = kTypes[i].type;
    return out;
}
constexpr auto kAll = typesInOrder();

const TypeRow& row(EventType t) { return kTypes[static_cast<size_t>(t)]; }
static_assert([] {
    for (size_t i = 0; i < kTypes.size(); ++i)
        if (static_cast<size_t>(kTypes[i].type) != i || kTypes[i].messageId.size() != 32) return false;
    return true;
}());

}  // namespace

std::string_view severityName(Severity s) {
    switch (s) {
    case Severity::Info: return "info";
    case Severity::Warning: return "warning";
    case Severity::Critical: return "critical";
    }
    return "info";
}

std::string_view eventTypeName(EventType t) { return row(t).name; }
std::string_view eventMessageId(EventType t) { return row(t).messageId; }

std::optional<EventType> parseEventType(std::string_view name) {
    for (const auto& r : kTypes)
        if (r.name == name) return r.type;
    return std::nullopt;
}

std::span<const EventType> allEventTypes() { return kAll; }

}  // namespace aismi
