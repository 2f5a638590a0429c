#include "objects.hpp"

#include "jobs.hpp"

#include <sdbus-c++/sdbus-c++.h>

namespace aismi::bus {

JobObject::JobObject(BusContext& ctx, int64_t id) : ctx_(ctx), id_(id), object_(sdbus::createObject(ctx.connection, jobPath(id))) {
    registerProperties(*object_, kJobInterface, jobProperties(), this);
    // The job can be trimmed (and this object with it) before polkit answers: the continuation
    // holds the context and the job's id, which authorizeThen looks up again.
    object_->registerMethod(kJobInterface, "Cancel", "", {}, "", {}, [&ctx = ctx_, key = JobKey{id}](sdbus::MethodCall call) {
        guarded(call, [&] {
            const Job* job = ctx.jobs.find(key.id);
            if (!job) throw toBusError(makeError(Errc::NotFound, "no job " + std::to_string(key.id)));
            authorizeThen(ctx, call, job->action, key, [&ctx, key](PendingCall pending) {
                if (auto r = ctx.jobs.cancel(key.id); !r) return pending.fail(r.error());
                pending.reply();
            });
        });
    });
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
