#include "selection.hpp"

#include <algorithm>
#include <map>

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
    // The VFs come grouped by card (the daemon's order): find each card's run once, rather
    // than testing every VF against every card (16 cards x 4,096 VFs).
    std::map<uint64_t, std::pair<size_t, size_t>> runs;  // card index -> [first, last)
    for (size_t i = 0; i < inv.vfs.size();) {
        const uint64_t card = inv.vfs[i].number("CardIndex");
        size_t j = i + 1;
        while (j < inv.vfs.size() && inv.vfs[j].number("CardIndex") == card) ++j;
        auto [it, fresh] = runs.emplace(card, std::make_pair(i, j));
        if (!fresh) it->second.second = j;  // not grouped after all: widen (filtered below)
        i = j;
    }
    std::vector<const BusObject*> out;
    for (const auto* c : cards) {
        const uint64_t index = c->number("Index");
        auto it = runs.find(index);
        if (it == runs.end()) continue;
        for (size_t k = it->second.first; k < it->second.second; ++k)
            if (inv.vfs[k].number("CardIndex") == index) out.push_back(&inv.vfs[k]);
    }
    return out;
}

Result<std::vector<const BusObject*>> selectVfs(const Inventory& inv, const std::vector<std::string>& ids) {
    if (ids.empty()) return vfsOf(inv, *selectCards(inv, {}));
    std::vector<const BusObject*> out;
    const auto add = [&](const BusObject* vf) {
        if (std::find(out.begin(), out.end(), vf) == out.end()) out.push_back(vf);
    };
    for (const auto& id : ids) {
        if (auto card = selectCards(inv, {id})) {
            for (const auto* vf : vfsOf(inv, *card)) add(vf);
            continue;
        }
        const BusObject* found = nullptr;
        for (const auto& vf : inv.vfs) {
            const std::string pci = vf.text("PciAddress");
            if (pci == id || pci == "0000:" + id) found = &vf;
        }
        const size_t colon = id.rfind(':');
        if (!found && colon != std::string::npos && colon > 0) {
            auto card = selectCards(inv, {id.substr(0, colon)});
            const std::string vfIndex = id.substr(colon + 1);
            if (card && !vfIndex.empty() && std::all_of(vfIndex.begin(), vfIndex.end(), ::isdigit))
                for (const auto& vf : inv.vfs)
                    if (vf.number("CardIndex") == card->front()->number("Index") && std::to_string(vf.number("Index")) == vfIndex)
                        found = &vf;
        }
        if (!found)
            return makeError(Errc::NotFound, "no card or enabled VF '" + id + "' (name a card by index, PCI address or serial, or a VF as "
                                                 "CARD:VF or by its PCI address)");
        add(found);
    }
    return out;
}

}  // namespace aismi::cli
