#include "policy.hpp"

#include "client_api.hpp"
#include "json.hpp"
#include "selection.hpp"

#include <aismi/text.hpp>

#include <cmath>
#include <cstdio>
#include <sstream>

namespace aismi::cli {
namespace {

// One card's policy and what its VFs hold against it.
struct Standing {
    uint64_t card = 0;
    std::string address;
    bool supported = false;  // generic mode has no provisioning, so no policy
    uint32_t computeRatio = 100, memoryRatio = 100;
    uint64_t computeUnits = 0, memoryMib = 0;
    uint64_t guaranteed = 0, burst = 0, provisionedMib = 0;
    uint64_t burstAllowed() const { return computeUnits * computeRatio / 100; }
    uint64_t memoryAllowed() const { return memoryMib * memoryRatio / 100; }
};

uint32_t hundredths(const Value& v) {
    const double* d = std::get_if<double>(&v);
    return d && std::isfinite(*d) ? static_cast<uint32_t>(std::lround(*d * 100)) : 100;
}

// The recovery policy (aismid.conf), the same for every card.
struct Recovery {
    bool autoReset = false;
    uint64_t resets = 0, windowS = 0;
    bool autoCardReset = false;
    uint64_t cardResets = 0, cardWindowS = 0;
};

std::string render(const std::vector<Standing>& rows, const Recovery& recovery, bool json) {
    if (json) {
        const std::string rec = std::string(", \"auto_reset\": ") + (recovery.autoReset ? "true" : "false") +
                                ", \"reset_guard_resets\": " + std::to_string(recovery.resets) +
                                ", \"reset_guard_window_s\": " + std::to_string(recovery.windowS) +
                                ", \"auto_card_reset\": " + (recovery.autoCardReset ? "true" : "false") +
                                ", \"card_reset_budget\": " + std::to_string(recovery.cardResets) +
                                ", \"card_reset_window_s\": " + std::to_string(recovery.cardWindowS);
        std::string doc = "[";
        for (size_t i = 0; i < rows.size(); ++i) {
            const Standing& s = rows[i];
            doc += (i ? ",\n " : "\n ") + std::string("{\"card\": ") + std::to_string(s.card) + ", \"pci.bus_id\": " + json::quote(s.address);
            if (!s.supported) {
                doc += ", \"supported\": false" + rec + "}";
                continue;
            }
            doc += ", \"supported\": true, \"compute_oversubscription\": " + text::ratioText(s.computeRatio) +
                   ", \"memory_oversubscription\": " + text::ratioText(s.memoryRatio) + ", \"compute_units\": " + std::to_string(s.computeUnits) +
                   ", \"guaranteed_units\": " + std::to_string(s.guaranteed) + ", \"burst_units\": " + std::to_string(s.burst) +
                   ", \"burst_units_allowed\": " + std::to_string(s.burstAllowed()) + ", \"memory_mib\": " + std::to_string(s.memoryMib) +
                   ", \"memory_provisioned_mib\": " + std::to_string(s.provisionedMib) +
                   ", \"memory_allowed_mib\": " + std::to_string(s.memoryAllowed()) + rec + "}";
        }
        return doc + (rows.empty() ? "]\n" : "\n]\n");
    }
    std::ostringstream out;
    out << "Card  Compute  Guaranteed units  Burst caps     Memory  Memory MiB\n"
        << "      ratio    (held/card)       (held/allowed) ratio   (held/allowed)\n";
    for (const Standing& s : rows) {
        char line[200];
        if (!s.supported) {
            std::snprintf(line, sizeof line, "%-5llu not supported: the card has no provisioning (generic mode)\n", static_cast<unsigned long long>(s.card));
        } else {
            const std::string g = std::to_string(s.guaranteed) + "/" + std::to_string(s.computeUnits);
            const std::string b = std::to_string(s.burst) + "/" + std::to_string(s.burstAllowed());
            const std::string m = std::to_string(s.provisionedMib) + "/" + std::to_string(s.memoryAllowed());
            std::snprintf(line, sizeof line, "%-5llu %-8s %-17s %-14s %-7s %s\n", static_cast<unsigned long long>(s.card),
                          text::ratioText(s.computeRatio).c_str(), g.c_str(), b.c_str(), text::ratioText(s.memoryRatio).c_str(), m.c_str());
        }
        out << line;
    }
    if (recovery.autoReset)
        out << "Recovery: a hung VF is reset automatically, at most " << recovery.resets << " times in " << recovery.windowS
            << " s, then quarantined\n";
    else
        out << "Recovery: hung VFs are not reset automatically (auto-reset no)\n";
    if (recovery.autoCardReset)
        out << "Escalation: when a hung VF's own reset fails, its whole card is reset, at most " << recovery.cardResets
            << " time(s) in " << recovery.cardWindowS << " s\n";
    else
        out << "Escalation: a whole card is never reset automatically (auto-card-reset no)\n";
    return out.str();
}

}  // namespace

Result<std::string> runPolicy(DaemonClient& client, const CliRequest& r) {
    Inventory inv;
    if (auto q = client.query(bus_names::kCardInterface,
                              {"Index", "PciAddress", "Serial", "ComputeUnits", "MemoryTotalMiB", "ComputeOversubscription", "MemoryOversubscription"},
                              inv.cards);
        !q)
        return std::move(q).error();
    auto cards = selectCards(inv, r.ids);
    if (!cards) return std::move(cards).error();
    if (r.mode == CliRequest::Mode::PolicySet && (r.autoReset || r.autoCardReset || r.resetGuard || r.cardResetBudget))
        if (auto s = client.setRecoveryPolicy({r.autoReset, r.autoCardReset, r.resetGuard, r.cardResetBudget}); !s) return std::move(s).error();
    if (r.mode == CliRequest::Mode::PolicySet && (r.computeRatio || r.memoryRatio)) {
        if (auto s = client.setOversubscription(cards->front()->path, r.computeRatio, r.memoryRatio); !s) return std::move(s).error();
        inv.cards.clear();  // read back what aismid keeps now
        if (auto q = client.query(bus_names::kCardInterface, {"Index", "PciAddress", "Serial", "ComputeUnits", "MemoryTotalMiB", "ComputeOversubscription",
                                                      "MemoryOversubscription"},
                                  inv.cards);
            !q)
            return std::move(q).error();
        cards = selectCards(inv, r.ids);
        if (!cards) return std::move(cards).error();
    }
    std::vector<BusObject> vfs;
    if (auto q = client.query(bus_names::kVfInterface, {"CardIndex", "ComputeUnits", "BurstComputeUnits", "MemoryMiB"}, vfs); !q)
        return std::move(q).error();
    std::vector<Standing> rows;
    for (const BusObject* card : *cards) {
        Standing s;
        s.card = card->number("Index");
        s.address = card->text("PciAddress");
        s.supported = std::holds_alternative<uint64_t>(card->get("ComputeUnits"));
        s.computeRatio = hundredths(card->get("ComputeOversubscription"));
        s.memoryRatio = hundredths(card->get("MemoryOversubscription"));
        s.computeUnits = card->number("ComputeUnits");
        s.memoryMib = card->number("MemoryTotalMiB");
        for (const auto& vf : vfs) {
            if (vf.number("CardIndex") != s.card) continue;
            s.guaranteed += vf.number("ComputeUnits");
            s.burst += vf.number("BurstComputeUnits");
            s.provisionedMib += vf.number("MemoryMiB");
        }
        rows.push_back(s);
    }
    Inventory manager;
    if (auto m = client.readManager(manager); !m) return std::move(m).error();
    const auto flag = [&](std::string_view name) {
        const auto* b = std::get_if<bool>(&manager.manager.get(name));
        return b && *b;
    };
    const Recovery recovery{flag("AutoReset"),     manager.manager.number("ResetGuardResets"), manager.manager.number("ResetGuardWindowSeconds"),
                            flag("AutoCardReset"), manager.manager.number("CardResetBudget"),  manager.manager.number("CardResetWindowSeconds")};
    return render(rows, recovery, r.json);
}

}  // namespace aismi::cli
