#include "inventory.hpp"

#include "card_reader.hpp"
#include "known_card_repository.hpp"

#include <aismi/card.hpp>

namespace aismi {

Inventory::Inventory(Fs& fs, std::vector<DeviceMatch> matches, KnownCardRepository* memory)
    : fs_(fs), matches_(std::move(matches)), memory_(memory) {}
Inventory::~Inventory() = default;

Result<std::vector<Inventory::Found>> Inventory::scan() const {
    auto cards = discoverCards(fs_, matches_);
    if (!cards) return std::move(cards).error();
    std::vector<Found> out;
    for (auto& c : *cards) {
        CardInfo info = readCardInfo(c, c.index());
        const bool identified = info.key != info.pciAddress;  // readCardInfo's fallback key
        out.push_back(Found{std::make_shared<Card>(std::move(c)), std::move(info), identified});
    }
    return out;
}

std::shared_ptr<Card> Inventory::handle(const CardInfo& info) const {
    return std::make_shared<Card>(fs_, info.index, info.address, !info.genericMode);
}

void Inventory::remember(const CardInfo& info, Merged& out) {
    if (!memory_) return;
    KnownCard k{info.index, info.key, info.serial, info.pciAddress, info.name, info.vendorId, info.deviceId, info.genericMode};
    if (auto r = memory_->remember(k); !r) out.problems.push_back(r.error().message);
}

Result<Inventory::Merged> Inventory::adopt(std::vector<Found> found) {
    cards_.clear();
    std::vector<unsigned> renumbered;
    if (memory_) {
        auto known = memory_->load();
        if (!known) return std::move(known).error();
        for (const auto& k : *known) {
            CardInfo info;
            info.index = static_cast<unsigned>(cards_.size());  // rows are 0..n-1; a gap closes up
            info.key = k.key;
            info.serial = k.serial;
            info.pciAddress = k.pciAddress;
            auto address = PciAddress::parse(k.pciAddress);
            if (!address) return makeError(Errc::MalformedData, "known card " + std::to_string(k.index) + ": " + address.error().message);
            info.address = *address;
            info.name = k.name;
            info.vendorId = k.vendorId;
            info.deviceId = k.deviceId;
            info.genericMode = k.generic;
            if (k.index != info.index) renumbered.push_back(info.index);
            CardSnapshot first;
            first.info = info;
            first.lost = true;  // until a scan finds it
            first.lostReason = "not found at " + info.pciAddress + " when aismid started";
            auto device = handle(info);
            cards_.push_back(Entry{std::move(info), std::move(device), std::move(first)});
        }
    }
    Merged merged = merge(std::move(found));
    for (unsigned i : renumbered) remember(cards_[i].info, merged);
    return merged;
}

Inventory::Merged Inventory::merge(std::vector<Found> found) {
    Merged out;
    constexpr size_t kNone = SIZE_MAX;
    std::vector<size_t> match(found.size(), kNone);  // indexes, not pointers: new cards grow cards_
    std::vector<bool> taken(cards_.size(), false);
    for (size_t i = 0; i < found.size(); ++i) {  // 1. by serial, wherever it is now
        if (!found[i].identified) continue;
        for (size_t e = 0; e < cards_.size(); ++e)
            if (!taken[e] && cards_[e].info.key == found[i].info.key) {
                match[i] = e;
                taken[e] = true;
                break;
            }
    }
    for (size_t i = 0; i < found.size(); ++i) {  // 2. by address
        if (match[i] != kNone) continue;
        for (size_t e = 0; e < cards_.size(); ++e)
            if (!taken[e] && cards_[e].info.address == found[i].info.address) {
                match[i] = e;
                taken[e] = true;
                break;
            }
    }
    for (size_t i = 0; i < found.size(); ++i) {
        Found& f = found[i];
        if (match[i] == kNone) {  // 3. a card never seen: the next index
            f.info.index = static_cast<unsigned>(cards_.size());
            CardSnapshot first;
            first.info = f.info;
            auto device = handle(f.info);
            cards_.push_back(Entry{f.info, std::move(device), std::move(first)});
            remember(f.info, out);
            out.added.push_back(f.info.index);
            continue;
        }
        Entry* known = &cards_[match[i]];
        CardInfo& info = known->info;
        const unsigned index = info.index;
        if (f.identified && f.info.key != info.key) {  // another card in this one's slot
            info = f.info;
            info.index = index;
            known->device = handle(info);
            remember(info, out);
            out.replaced.push_back(index);
        } else if (f.info.address != info.address) {  // the same card, moved
            info.address = f.info.address;
            info.pciAddress = f.info.pciAddress;
            known->device = handle(info);
            remember(info, out);
            out.moved.push_back(index);
        } else if (f.identified && f.info.genericMode != info.genericMode) {  // its driver came or went
            info.genericMode = f.info.genericMode;
            known->device = handle(info);
            remember(info, out);
        }
        info.numaNode = f.info.numaNode;  // the slot's, as read now (not remembered in the store)
        // Unidentified at its own address: it keeps the identity it had (its polls say why
        // it cannot be read).
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

std::optional<unsigned> Inventory::findByKey(const std::string& key) const {
    for (const auto& e : cards_)
        if (e.info.key == key) return e.info.index;
    return std::nullopt;
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
