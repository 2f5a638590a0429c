#include "health.hpp"

#include "command_parsing.hpp"
#include "client_api.hpp"
#include "events.hpp"
#include "json.hpp"
#include "render.hpp"
#include "selection.hpp"

#include <aismi/text.hpp>

#include <chrono>
#include <cstdio>

namespace aismi::cli {
namespace {

// What --help says before the options.
constexpr const char* kHealthUsage = R"(Usage: aismi health [-i ID[,ID...]] [-j]

The health of each card and of its VFs: ok, unknown (the data could not be read, or is
stale), warning, critical or lost, each with its reasons and how old the reading is; which
VFs are quarantined and how many automatic resets their guard has left; and the card's
recent resets and quarantines from the event history.

)";

constexpr uint32_t kRecentResets = 5;

const std::vector<std::string>& listOf(const BusObject& o, std::string_view name) {
    static const std::vector<std::string> none;
    const auto* v = std::get_if<std::vector<std::string>>(&o.get(name));
    return v ? *v : none;
}

bool flag(const BusObject& o, std::string_view name) {
    const auto* b = std::get_if<bool>(&o.get(name));
    return b && *b;
}

std::string jsonList(const std::vector<std::string>& items) {
    std::string out = "[";
    for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + json::quote(items[i]);
    return out + "]";
}

// Seconds since the reading, or a negative number when there is none.
double ageOf(const BusObject& card) {
    const uint64_t at = card.number("ReadTimestamp");
    if (at == 0) return -1;
    const auto now = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    return static_cast<double>(now - static_cast<int64_t>(at)) / 1e6;
}

std::string ageText(double age) {
    if (age < 0) return "never read";
    char buf[48];
    std::snprintf(buf, sizeof buf, "read %.1f s ago", age < 0.05 ? 0.0 : age);
    return buf;
}

// A VF worth a line in the text view: anything but ok and untouched.
bool notable(const BusObject& vf, uint64_t guard) {
    return vf.text("Health") != "ok" || flag(vf, "Quarantined") || vf.number("GuardResetsLeft") < guard;
}

Result<std::string> health(DaemonClient& client, const HealthRequest& r) {
    Inventory inv;
    if (auto q = client.query(bus_names::kCardInterface, {"Index", "PciAddress", "Serial", "Health", "HealthReasons", "ReadTimestamp"}, inv.cards); !q)
        return std::move(q).error();
    auto cards = selectCards(inv, r.ids);
    if (!cards) return std::move(cards).error();
    if (auto q = client.query(bus_names::kVfInterface,
                              {"CardIndex", "Index", "PciAddress", "State", "Health", "HealthReasons", "Quarantined", "QuarantineReason", "GuardResetsLeft",
                               "ResetCount"},
                              inv.vfs);
        !q)
        return std::move(q).error();
    if (auto m = client.readManager(inv); !m) return std::move(m).error();
    const uint64_t guard = inv.manager.number("ResetGuardResets");
    const auto* autoReset = std::get_if<bool>(&inv.manager.get("AutoReset"));
    std::string out = r.json ? "[" : "";
    bool firstCard = true;
    for (const BusObject* card : *cards) {
        const uint64_t index = card->number("Index");
        auto resets = client.listEvents({std::nullopt, static_cast<uint32_t>(index), {"reset", "auto-reset", "quarantine", "unquarantine"}, kRecentResets});
        if (!resets) return std::move(resets).error();
        std::vector<const BusObject*> vfs;
        for (const auto& vf : inv.vfs)
            if (vf.number("CardIndex") == index) vfs.push_back(&vf);
        const double age = ageOf(*card);
        if (r.json) {
            out += (firstCard ? "\n " : ",\n ") + std::string("{\"card\": ") + std::to_string(index) +
                   ", \"pci.bus_id\": " + json::quote(card->text("PciAddress")) + ", \"health\": " + json::quote(card->text("Health")) +
                   ", \"reasons\": " + jsonList(listOf(*card, "HealthReasons")) +
                   ", \"data_age_s\": " + (age < 0 ? std::string("null") : std::to_string(age)) + ", \"vfs\": [";
            for (size_t i = 0; i < vfs.size(); ++i) {
                const BusObject& vf = *vfs[i];
                out += (i ? ", " : "") + std::string("{\"vf\": ") + std::to_string(vf.number("Index")) + ", \"pci.bus_id\": " +
                       json::quote(vf.text("PciAddress")) + ", \"state\": " + json::quote(vf.text("State")) + ", \"health\": " +
                       json::quote(vf.text("Health")) + ", \"reasons\": " + jsonList(listOf(vf, "HealthReasons")) +
                       ", \"quarantined\": " + (flag(vf, "Quarantined") ? "true" : "false") +
                       ", \"guard_resets_left\": " + std::to_string(vf.number("GuardResetsLeft")) + ", \"reset_count\": " + json::value(vf.get("ResetCount")) +
                       ", \"recommended_action\": " + json::quote(recommendedAction(vf, autoReset && *autoReset)) + "}";
            }
            out += "], \"recent_resets\": [";
            for (size_t i = 0; i < resets->size(); ++i) out += (i ? ", " : "") + eventJson((*resets)[i]);
            out += "]}";
            firstCard = false;
            continue;
        }
        out += "Card " + std::to_string(index) + "  " + card->text("PciAddress") + "  " + card->text("Health") + "  (" + ageText(age) + ")\n";
        for (const auto& why : listOf(*card, "HealthReasons")) out += "    " + why + "\n";
        size_t shown = 0;
        for (const BusObject* vf : vfs) {
            if (!notable(*vf, guard)) continue;
            ++shown;
            out += "  VF " + std::to_string(vf->number("Index")) + "  " + vf->text("PciAddress") + "  " + vf->text("State") + "  " + vf->text("Health") +
                   (flag(*vf, "Quarantined") ? "  QUARANTINED" : "") + "  (automatic resets left: " + std::to_string(vf->number("GuardResetsLeft")) +
                   " of " + std::to_string(guard) + ")\n";
            for (const auto& why : listOf(*vf, "HealthReasons")) out += "      " + why + "\n";
            if (const std::string action = recommendedAction(*vf, autoReset && *autoReset); action != "none")
                out += "      recommended: " + action + "\n";
        }
        if (!vfs.empty() && shown < vfs.size())
            out += "  " + std::string(shown ? "the other " : "") + text::counted(vfs.size() - shown, "VF") + ": ok\n";
        if (!resets->empty()) {
            out += "  Recent resets and quarantines:\n";
            for (const auto& e : *resets) out += "    " + eventLine(e);
        }
    }
    if (r.json) out += firstCard ? "]\n" : "\n]\n";
    return out;
}

Result<Command> parseHealth(const CommandLine& c) {
    auto cards = cardIds(c, "health", "aismi health --help");
    if (!cards) return std::move(cards).error();
    return reading(makeCommand("health", HealthRequest{*cards, c.has("json")}, health), c.has("json"));
}

}  // namespace

CommandSet healthCommands() {
    return {{{{"health"}, {"id", "json"}, parseHealth}},
            {{"health", kHealthUsage,
              [] { return std::string("  -i [ --id ] ID        only these cards (index, PCI address or serial)\n  -j [ --json ]         JSON output\n"); }, "",
              "health                     health, reasons, data age, resets and quarantines (aismi health --help)"}}};
}

}  // namespace aismi::cli
