#include "objects.hpp"
#include "inventory.hpp"

#include <sdbus-c++/sdbus-c++.h>

namespace aismi::bus {

void sayRemoved(sdbus::IObject& object) {
    try {
        object.emitInterfacesRemovedSignal();
    } catch (const sdbus::Error&) {
    }
}

void withdraw(sdbus::IObject& object) {
    sayRemoved(object);
    object.unregister();
}

CardObject::CardObject(BusContext& ctx, unsigned card) : ctx_(ctx), card_(card), object_(sdbus::createObject(ctx.connection, cardPath(card))) {
    registerProperties(*object_, kCardInterface, cardProperties(), this);
    registerPartitionMethods(*object_, ctx_, card_);
    registerRecoveryMethods(*object_, ctx_, card_);
    registerFirmwareMethods(*object_, ctx_, card_);
    object_->finishRegistration();
    for (const auto& vf : ctx.inventory.snapshot(card).vfs) vfs_.push_back(std::make_unique<VfObject>(ctx, card, vf.index));
}

CardObject::~CardObject() {
    vfs_.clear();
    retired_.clear();
    object_->unregister();
}

void CardObject::announce() { object_->emitInterfacesAddedSignal(); }

const CardSnapshot& CardObject::subject() const { return ctx_.inventory.snapshot(card_); }

void CardObject::updated(const CardSnapshot& before, const CardSnapshot& now) {
    if (auto names = changedProperties(cardProperties(), before, now); !names.empty())
        object_->emitPropertiesChangedSignal(kCardInterface, names);
    // VFs that vanished (their destructor says InterfacesRemoved; one whose calls wait for their
    // answer is retired instead, and goes at a later poll once they have it), then VFs that
    // changed or appeared (a retired object comes back for its VF).
    while (vfs_.size() > now.vfs.size()) {
        if (vfs_.back()->answering()) {
            vfs_.back()->retire();
            retired_[static_cast<unsigned>(vfs_.size() - 1)] = std::move(vfs_.back());
        }
        vfs_.pop_back();
    }
    std::erase_if(retired_, [](const auto& entry) { return !entry.second->answering(); });
    for (size_t k = 0; k < now.vfs.size(); ++k) {
        if (k == vfs_.size()) {
            const auto back = retired_.find(static_cast<unsigned>(k));
            if (back != retired_.end()) {
                vfs_.push_back(std::move(back->second));
                retired_.erase(back);
            } else {
                vfs_.push_back(std::make_unique<VfObject>(ctx_, card_, static_cast<unsigned>(k)));
            }
            vfs_.back()->announce();
        } else if (k < before.vfs.size()) {
            vfs_[k]->changed(before.vfs[k], now.vfs[k]);
        }
    }
}

}  // namespace aismi::bus
