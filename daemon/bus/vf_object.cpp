#include "objects.hpp"

#include "inventory.hpp"

#include <sdbus-c++/sdbus-c++.h>

namespace aismi::bus {

VfObject::VfObject(BusContext& ctx, unsigned card, unsigned vf)
    : ctx_(ctx), card_(card), vf_(vf), object_(sdbus::createObject(ctx.connection, vfPath(card, vf))) {
    registerProperties(*object_, kVfInterface, vfProperties(), this);
    object_->finishRegistration();
}

const VfSnapshot& VfObject::subject() const {
    static const VfSnapshot gone{};  // between a snapshot without it and the object's removal
    const VfSnapshot* v = ctx_.inventory.vf(VfRef{card_, vf_});
    return v ? *v : gone;
}

VfObject::~VfObject() {
    withdraw(*object_);
}

void VfObject::announce() { object_->emitInterfacesAddedSignal(); }

void VfObject::changed(const VfSnapshot& before, const VfSnapshot& now) {
    if (before == now) return;  // most VFs of a large host, most polls: no per-property diff
    if (auto names = changedProperties(vfProperties(), before, now); !names.empty())
        object_->emitPropertiesChangedSignal(kVfInterface, names);
}

}  // namespace aismi::bus
