#include "objects.hpp"

#include "jobs.hpp"

#include <sdbus-c++/sdbus-c++.h>

namespace aismi::bus {

JobObject::JobObject(BusContext& ctx, int64_t id) : ctx_(ctx), id_(id), object_(sdbus::createObject(ctx.connection, jobPath(id))) {
    registerProperties(*object_, kJobInterface, jobProperties(), this);
    registerJobMethods(*object_, ctx_, id);
    object_->finishRegistration();
}

const Job& JobObject::subject() const {
    static const Job gone{};
    const Job* j = ctx_.jobs.find(id_);
    return j ? *j : gone;
}

JobObject::~JobObject() {
    withdraw(*object_);
}

void JobObject::announce() { object_->emitInterfacesAddedSignal(); }

void JobObject::changed(const std::vector<std::string>& properties) {
    if (!properties.empty()) object_->emitPropertiesChangedSignal(kJobInterface, properties);
}

}  // namespace aismi::bus
