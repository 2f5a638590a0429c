#include "selection.hpp"

#include <algorithm>

namespace aismi::cli {

Result<std::vector<const BusObject*>> selectCards(const Inventory& inv, const std::vector<std::string>& ids) {
    std::vector<const BusObject*> out;
    if (ids.empty()) {
        for (const auto& c : inv.cards) out.push_back(&c);
        return out;
    }
    for (const auto& id : ids) {
        const BusObject* found = nullptr;
        for (const auto& c : inv.cards) {
            const std::string pci = c.text("PciAddress");
            const bool byIndex = !id.empty() && std::all_of(id.begin(), id.end(), ::isdigit) && std::to_string(c.number("Index")) == id;
            if (byIndex || pci == id || pci == "0000:" + id || c.text("Serial") == id) found = &c;
        }
        if (!found)
            return makeError(Errc::NotFound, "no card '" + id + "' (" + std::to_string(inv.cards.size()) +
                                                 " cards; name one by index, PCI address or serial, as 'aismi' lists them)");
        if (std::find(out.begin(), out.end(), found) == out.end()) out.push_back(found);
    }
    return out;
}

std::vector<const BusObject*> vfsOf(const Inventory& inv, const std::vector<const BusObject*>& cards) {
    std::vector<const BusObject*> out;
    for (const auto* c : cards)
        for (const auto& vf : inv.vfs)
            if (vf.number("CardIndex") == c->number("Index")) out.push_back(&vf);
    return out;
}

}  // namespace aismi::cli
