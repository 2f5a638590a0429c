#include "objects.hpp"
#include "inventory.hpp"

#include <sdbus-c++/sdbus-c++.h>

namespace aismi::bus {

VfObject::VfObject(BusContext& ctx, unsigned card, unsigned vf)
    : ctx_(ctx), card_(card), vf_(vf), object_(sdbus::createObject(ctx.connection, vfPath(card, vf))) {
    registerProperties(*object_, kVfInterface, vfProperties(), this);
    // Handlers hold the context and the VF's key, never this object: the VF can be gone by the
    // time polkit answers (its card's VF count changed), and authorizeThen re-resolves the key.
    const VfRef ref{card, vf};
    registerPartitionMethods(*object_, ctx, ref);
    registerRecoveryMethods(*object_, ctx, ref);
    registerAssignmentMethods(*object_, ctx, ref);
    object_->finishRegistration();
}

const VfSnapshot& VfObject::subject() const {
    static const VfSnapshot gone{};  // between a snapshot without it and the object's removal
    const VfSnapshot* v = ctx_.inventory.vf(VfRef{card_, vf_});
    return v ? *v : gone;
}

VfObject::~VfObject() {
    if (!retired_) sayRemoved(*object_);
    object_->unregister();
}

void VfObject::announce() {
    retired_ = false;
    object_->emitInterfacesAddedSignal();
}

void VfObject::retire() {
    if (!retired_) sayRemoved(*object_);
    retired_ = true;
}

bool VfObject::answering() const { return ctx_.calls->any(vfPath(card_, vf_)); }

void VfObject::changed(const VfSnapshot& before, const VfSnapshot& now) {
    if (before == now) return;  // most VFs of a large host, most polls: no per-property diff
    if (auto names = changedProperties(vfProperties(), before, now); !names.empty())
        object_->emitPropertiesChangedSignal(kVfInterface, names);
}

}  // namespace aismi::bus
