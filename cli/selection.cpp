#include "selection.hpp"

#include <aismi/device_ref.hpp>

#include <algorithm>
#include <map>

namespace aismi::cli {
namespace {

// Every name a user writes goes through DeviceRef::parse, the one parser aismid uses too: an
// address in any case, with or without its domain, or nvidia-smi's 8-digit domain.
bool isAddress(const BusObject& o, const PciAddress& a) {
    auto own = PciAddress::parse(o.text("PciAddress"));
    return own && *own == a;
}

bool isCard(const BusObject& c, const CardName& name) {
    switch (name.kind) {
    case CardName::Kind::Index: return c.number("Index") == name.index;
    case CardName::Kind::Address: return isAddress(c, name.address);
    case CardName::Kind::Serial: return c.text("Serial") == name.serial;
    }
    return false;
}

Error noCard(const Inventory& inv, const std::string& id) {
    return makeError(Errc::NotFound, "no card " + quoteInput(id) + " (" + std::to_string(inv.cards.size()) +
                                         " cards; name one by index, PCI address or serial, as 'aismi' lists them)");
}

}  // namespace

Result<std::vector<const BusObject*>> selectCards(const Inventory& inv, const std::vector<std::string>& ids) {
    std::vector<const BusObject*> out;
    if (ids.empty()) {
        for (const auto& c : inv.cards) out.push_back(&c);
        return out;
    }
    for (const auto& id : ids) {
        auto ref = DeviceRef::parse(id);
        if (!ref) return std::move(ref).error();
        const BusObject* found = nullptr;
        for (const auto& c : inv.cards)
            if ((ref->kind == DeviceRef::Kind::Card && isCard(c, ref->card)) || (ref->kind == DeviceRef::Kind::Address && isAddress(c, ref->address)))
                found = &c;
        if (!found && ref->kind == DeviceRef::Kind::Address && std::any_of(inv.vfs.begin(), inv.vfs.end(), [&](const BusObject& vf) { return isAddress(vf, ref->address); }))
            return makeError(Errc::InvalidArgument, quoteInput(id) + " is a VF's address; this takes cards");
        if (!found) return noCard(inv, id);
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
        auto ref = DeviceRef::parse(id);
        if (!ref) return std::move(ref).error();
        const BusObject* found = nullptr;
        if (ref->kind == DeviceRef::Kind::Address)
            for (const auto& vf : inv.vfs)
                if (isAddress(vf, ref->address)) found = &vf;
        if (ref->kind == DeviceRef::Kind::Vf) {
            const BusObject* card = nullptr;
            for (const auto& c : inv.cards)
                if (isCard(c, ref->card)) card = &c;
            if (card)
                for (const auto& vf : inv.vfs)
                    if (vf.number("CardIndex") == card->number("Index") && vf.number("Index") == ref->vf) found = &vf;
        }
        if (!found && ref->kind != DeviceRef::Kind::Vf) {
            if (auto card = selectCards(inv, {id})) {  // a card: all its VFs
                for (const auto* vf : vfsOf(inv, *card)) add(vf);
                continue;
            }
        }
        if (!found)
            return makeError(Errc::NotFound, "no card or enabled VF " + quoteInput(id) + " (name a card by index, PCI address or serial, or a VF as "
                                                 "CARD:VF or by its PCI address)");
        add(found);
    }
    return out;
}

}  // namespace aismi::cli
