#include "card_reset.hpp"

#include "client_api.hpp"
#include "selection.hpp"

#include <aismi/text.hpp>

#include <cstdio>

namespace aismi::cli {

Result<std::string> runCardReset(DaemonClient& client, const CliRequest& r) {
    Inventory inv;
    if (auto q = client.query(bus_names::kCardInterface, {"Index", "PciAddress", "Serial", "VfEnabled"}, inv.cards); !q) return std::move(q).error();
    auto cards = selectCards(inv, r.ids);
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

}  // namespace aismi::cli
