#include "objects.hpp"

#include <sdbus-c++/sdbus-c++.h>

namespace aismi::bus {

ManagerObject::ManagerObject(BusContext& ctx) : ctx_(ctx), object_(sdbus::createObject(ctx.connection, kManagerPath)) {
    registerProperties(*object_, kManagerInterface, managerProperties(), this);
    registerQueryMethods(*object_, ctx);
    registerAssignmentMethods(*object_, ctx);
    registerQuotaMethods(*object_, ctx);
    registerEventMethods(*object_, ctx);
    registerRecoveryMethods(*object_, ctx, *this);
    object_->addObjectManager();
    object_->finishRegistration();
}

const ManagerState& ManagerObject::subject() const { return ctx_.manager; }

ManagerObject::~ManagerObject() { object_->unregister(); }

void ManagerObject::event(const StoredEvent& e) { emitEvent(*object_, e); }

void ManagerObject::changed(const std::vector<std::string>& properties) {
    object_->emitPropertiesChangedSignal(kManagerInterface, properties);
}

}  // namespace aismi::bus
