#include "inventory.hpp"

#include "card_reader.hpp"

#include <aismi/card.hpp>

namespace aismi {

Inventory::Inventory(Fs& fs, std::vector<DeviceMatch> matches) : fs_(fs), matches_(std::move(matches)) {}
Inventory::~Inventory() = default;

Result<std::vector<Inventory::Found>> Inventory::scan() const {
    auto cards = discoverCards(fs_, matches_);
    if (!cards) return std::move(cards).error();
    std::vector<Found> out;
    for (auto& c : *cards) {
        CardInfo info = readCardInfo(c, c.index());
        out.push_back(Found{std::make_shared<Card>(std::move(c)), std::move(info)});
    }
    return out;
}

void Inventory::adopt(std::vector<Found> found) {
    cards_.clear();
    for (auto& f : found) {
        f.info.index = static_cast<unsigned>(cards_.size());
        CardSnapshot first;
        first.info = f.info;
        cards_.push_back(Entry{std::move(f.info), std::move(f.device), std::move(first)});
    }
}

Inventory::Merged Inventory::merge(std::vector<Found> found) {
    Merged out;
    for (auto& f : found) {
        Entry* known = nullptr;
        for (auto& e : cards_)
            if (e.info.key == f.info.key || e.info.address == f.info.address) known = &e;
        if (known && known->info.address == f.info.address) continue;  // where it was
        if (known) {
            // Same card (by serial) at another address: a new handle, same index and key.
            const unsigned index = known->info.index;
            known->info.address = f.info.address;
            known->info.pciAddress = f.info.pciAddress;
            known->device = std::make_shared<Card>(fs_, index, f.info.address, f.device->hasVendorAbi());
            out.moved.push_back(index);
            continue;
        }
        const unsigned index = static_cast<unsigned>(cards_.size());
        f.info.index = index;
        CardSnapshot first;
        first.info = f.info;
        auto device = std::make_shared<Card>(fs_, index, f.info.address, f.device->hasVendorAbi());
        cards_.push_back(Entry{std::move(f.info), std::move(device), std::move(first)});
        out.added.push_back(index);
    }
    return out;
}

CardSnapshot Inventory::replaceSnapshot(unsigned card, CardSnapshot fresh) {
    Entry& e = cards_.at(card);
    fresh.info = e.info;  // identity is the inventory's, whatever a stale read carried
    for (auto& vf : fresh.vfs) vf.card = card;
    CardSnapshot before = std::move(e.snapshot);
    e.snapshot = std::move(fresh);
    return before;
}

Result<unsigned> Inventory::resolve(const CardName& name, std::string_view asWritten) const {
    for (const auto& e : cards_) {
        switch (name.kind) {
        case CardName::Kind::Index:
            if (e.info.index == name.index) return e.info.index;
            break;
        case CardName::Kind::Address:
            if (e.info.address == name.address) return e.info.index;
            break;
        case CardName::Kind::Serial:
            if (e.info.serial == name.serial) return e.info.index;
            break;
        }
    }
    return makeError(Errc::NotFound, "no card " + quoteInput(asWritten) + " (" + std::to_string(cards_.size()) +
                                         " cards; name one by index, PCI address or serial)");
}

Result<unsigned> Inventory::findCard(std::string_view id) const {
    auto ref = DeviceRef::parse(id);
    if (!ref) return std::move(ref).error();
    switch (ref->kind) {
    case DeviceRef::Kind::Card: return resolve(ref->card, id);
    case DeviceRef::Kind::Address: {
        CardName byAddress;
        byAddress.kind = CardName::Kind::Address;
        byAddress.address = ref->address;
        return resolve(byAddress, id);
    }
    case DeviceRef::Kind::Vf: break;
    }
    return makeError(Errc::InvalidArgument, quoteInput(id) + " names a VF, not a card");
}

Result<VfRef> Inventory::findVf(std::string_view id) const {
    auto ref = DeviceRef::parse(id);
    if (!ref) return std::move(ref).error();
    if (ref->kind == DeviceRef::Kind::Address) {
        for (const auto& e : cards_)
            for (const auto& vf : e.snapshot.vfs)
                if (vf.pciAddress == ref->address.str()) return VfRef{e.info.index, vf.index};
        return makeError(Errc::NotFound, "no enabled VF has PCI address " + ref->address.str());
    }
    if (ref->kind != DeviceRef::Kind::Vf)
        return makeError(Errc::InvalidArgument, quoteInput(id) + " is not a VF (write CARD:VF, e.g. 0:3, or a PCI address)");
    auto card = resolve(ref->card, id.substr(0, id.rfind(':')));
    if (!card) return std::move(card).error();
    const auto& vfs = cards_[*card].snapshot.vfs;
    if (ref->vf >= vfs.size())
        return makeError(Errc::NotFound, "card " + std::to_string(*card) + " has no VF " + std::to_string(ref->vf) + " (" +
                                             std::to_string(vfs.size()) + " enabled)");
    return VfRef{*card, ref->vf};
}

const VfSnapshot* Inventory::vf(const VfRef& ref) const {
    if (ref.card >= cards_.size()) return nullptr;
    const auto& vfs = cards_[ref.card].snapshot.vfs;
    return ref.vf < vfs.size() ? &vfs[ref.vf] : nullptr;
}

}  // namespace aismi
