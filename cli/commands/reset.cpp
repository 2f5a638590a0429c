#include "reset.hpp"

#include "command_parsing.hpp"
#include "client_api.hpp"
#include "selection.hpp"

#include <aismi/text.hpp>

#include <cstdio>

namespace aismi::cli {
namespace {

// What --help says before the options.
constexpr const char* kResetUsage = R"(Usage: aismi reset -i ID [--force]

Resets a whole card: the PF's function-level reset, which takes every VF with it (never a bus
reset, which would reach other devices). Refused while a VF is in use (a workload runs on it,
it is provisioned for a tenant, or bound to vfio-pci) unless --force. Clients are told first
(an event of type card-reset); afterwards aismid reads the card again and puts its VF count
and provisioning back. To reset one VF without touching the others: aismi vf reset CARD:VF.

)";

Result<std::string> reset(DaemonClient& client, const CardResetRequest& r) {
    Inventory inv;
    if (auto q = client.query(bus_names::kCardInterface, {"Index", "PciAddress", "Serial", "VfEnabled"}, inv.cards); !q) return std::move(q).error();
    auto cards = selectCards(inv, {r.card});
    if (!cards) return std::move(cards).error();
    const BusObject& card = *cards->front();
    auto took = client.resetCard(card.path, r.force);
    if (!took) return std::move(took).error();
    const uint64_t index = card.number("Index"), vfs = card.number("VfEnabled");
    char line[320];
    std::snprintf(line, sizeof line,
                  "card %llu (%s): reset in %.1f ms%s\n", static_cast<unsigned long long>(index), card.text("PciAddress").c_str(),
                  static_cast<double>(*took) / 1000,
                  vfs ? ("; its " + text::counted(vfs, "VF") + (vfs == 1 ? " was" : " were") + " reset with it, and aismid puts their count and provisioning back "
                         "(aismi partition show -i " + std::to_string(index) + ")").c_str()
                      : "");
    return std::string(line);
}

Result<Command> parseReset(const CommandLine& c) {
    auto card = oneCard(c, "reset", "");
    if (!card) return std::move(card).error();
    return makeCommand("reset", CardResetRequest{*card, c.has("force")}, reset);
}

}  // namespace

CommandSet resetCommands() {
    return {{{{"reset"}, {"id", "force"}, parseReset}},
            {{"reset", kResetUsage,
              [] {
                  return std::string("  -i [ --id ] ID        the card (index, PCI address or serial)\n"
                                     "  --force               reset it also while VFs are in use\n");
              },
              "", "reset -i ID [--force]      reset a whole card, every VF with it (aismi reset --help)"}}};
}

}  // namespace aismi::cli
