#include "policy.hpp"

#include "command_parsing.hpp"

#include "client_api.hpp"
#include "json.hpp"
#include "selection.hpp"

#include <aismi/text.hpp>
#include <aismi/types.hpp>

#include <boost/program_options.hpp>

#include <cmath>
#include <cstdio>
#include <sstream>
#include <tuple>

namespace po = boost::program_options;

namespace aismi::cli {
namespace {

// What --help says before the options.
constexpr const char* kPolicyUsage = R"(Usage: aismi policy set -i ID [--compute-oversubscription R] [--memory-oversubscription R]
       aismi policy set [--auto-reset yes|no] [--reset-guard N/SECONDS] [--auto-card-reset yes|no] [--card-reset-budget N/SECONDS]
       aismi policy show [-i ID[,ID...]] [-j]

Sets how far a card may be oversubscribed. A VF's profile guarantees it compute units and may
let it burst higher when the card has idle compute; the guarantees never exceed the card, the
burst caps together may reach R times the card's compute units, and the memory the VFs are
given together R times the card's memory (R: 1.0, the default, is none; compute up to 16,
memory up to 4; at most two decimals). A policy below what the VFs hold already is refused.
show prints each card's policy with what its VFs hold against it (docs/oversubscription.md),
and the recovery policy for hung VFs. The recovery policy is host-wide: whether hung VFs are
reset automatically, at most N times in SECONDS (then quarantined), and whether a VF whose own
reset fails has its whole card reset, at most N times in SECONDS. aismid.conf sets it; set
here, it is kept and wins over aismid.conf's from then on.

)";

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

// policy show, and policy set with the changes it asks for made first.
Result<std::string> policy(DaemonClient& client, const PolicyRequest& r) {
    Inventory inv;
    if (auto q = client.query(bus_names::kCardInterface,
                              {"Index", "PciAddress", "Serial", "ComputeUnits", "MemoryTotalMiB", "ComputeOversubscription", "MemoryOversubscription"},
                              inv.cards);
        !q)
        return std::move(q).error();
    auto cards = selectCards(inv, r.ids);
    if (!cards) return std::move(cards).error();
    if ((r.autoReset || r.autoCardReset || r.resetGuard || r.cardResetBudget))
        if (auto s = client.setRecoveryPolicy({r.autoReset, r.autoCardReset, r.resetGuard, r.cardResetBudget}); !s) return std::move(s).error();
    if ((r.computeRatio || r.memoryRatio)) {
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

Result<Command> parsePolicySet(const CommandLine& c) {
    const bool card = c.has("compute-oversubscription") || c.has("memory-oversubscription");
    const bool recovery = c.has("auto-reset") || c.has("reset-guard") || c.has("auto-card-reset") || c.has("card-reset-budget");
    if (!card && !recovery)
        return usage("policy set needs --compute-oversubscription R, --memory-oversubscription R (with -i), or a recovery option "
                     "(--auto-reset, --reset-guard, --auto-card-reset, --card-reset-budget)",
                     "aismi policy --help");
    if (!card && c.has("id")) return usage("the recovery policy is host-wide: -i goes only with the oversubscription options", "aismi policy --help");
    PolicyRequest r;
    if (card) {
        auto one = oneCard(c, "set", "policy");
        if (!one) return std::move(one).error();
        r.ids = {*one};
    }
    for (auto [option, slot] : {std::pair{"auto-reset", &r.autoReset}, {"auto-card-reset", &r.autoCardReset}}) {
        if (!c.has(option)) continue;
        auto v = text::parseBoolean(c.text(option), std::string("--") + option);
        if (!v) return usage(v.error().message, "aismi policy --help");
        *slot = *v;
    }
    for (auto [option, example, slot] : {std::tuple{"reset-guard", "3/600", &r.resetGuard}, {"card-reset-budget", "1/3600", &r.cardResetBudget}}) {
        if (!c.has(option)) continue;
        auto b = text::parseBudget(c.text(option), std::string("--") + option, example);
        if (!b) return usage(b.error().message, "aismi policy --help");
        *slot = std::pair{b->count, b->seconds};
    }
    for (auto [option, max, slot] : {std::tuple{"compute-oversubscription", Oversubscription::kMaxCompute, &r.computeRatio},
                                     {"memory-oversubscription", Oversubscription::kMaxMemory, &r.memoryRatio}}) {
        if (!c.has(option)) continue;
        auto ratio = text::parseRatio(c.text(option), Oversubscription::kMin, max, std::string("--") + option);
        if (!ratio) return usage(ratio.error().message, "aismi policy --help");
        *slot = *ratio;
    }
    return makeCommand("policy set", r, policy);
}

Result<Command> parsePolicyShow(const CommandLine& c) {
    auto cards = cardIds(c, "policy show", "aismi policy --help");
    if (!cards) return std::move(cards).error();
    PolicyRequest r;
    r.ids = *cards;
    r.json = c.has("json");
    return reading(makeCommand("policy show", r, policy), r.json);
}

po::options_description policyOptions() {
    po::options_description o("policy options");
    o.add_options()
        ("compute-oversubscription", po::value<std::string>()->value_name("RATIO"), "the VFs' burst caps together, as a ratio of the card's compute units (1.0 to 16)")
        ("memory-oversubscription", po::value<std::string>()->value_name("RATIO"), "the VFs' memory together, as a ratio of the card's memory (1.0 to 4)")
        ("auto-reset", po::value<std::string>()->value_name("yes|no"), "reset hung VFs automatically: yes or no (host-wide, no -i)")
        ("reset-guard", po::value<std::string>()->value_name("N/SECONDS"), "N/SECONDS: at most N automatic resets of a VF in SECONDS, then quarantine")
        ("auto-card-reset", po::value<std::string>()->value_name("yes|no"), "when a hung VF's own reset fails, reset its whole card: yes or no")
        ("card-reset-budget", po::value<std::string>()->value_name("N/SECONDS"), "N/SECONDS: at most N such card resets of a card in SECONDS");
    return o;
}

}  // namespace

CommandSet policyCommands() {
    return {{
                {{"policy", "set"},
                 {"id", "compute-oversubscription", "memory-oversubscription", "auto-reset", "reset-guard", "auto-card-reset", "card-reset-budget"},
                 parsePolicySet},
                {{"policy", "show"}, {"id", "json"}, parsePolicyShow},
            },
            {{"policy", kPolicyUsage,
              [] {
                  return "  -i [ --id ] ID        the card (set), or only these cards (show)\n" + optionLines(policyOptions()) +
                         "  -j [ --json ]         JSON output (show)\n";
              },
              "set or show",
              "policy set|show            oversubscription of a card's compute and memory; show also gives\n"
              "                             the recovery policy for hung VFs (aismi policy --help)"}},
            [](po::options_description& o) { o.add(policyOptions()); }};
}

}  // namespace aismi::cli
