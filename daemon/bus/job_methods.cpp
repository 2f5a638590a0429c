// Job1.Cancel (polkit: the action of the change the job carries out).
#include "method_registration.hpp"

#include "jobs.hpp"

namespace aismi::bus {

void registerJobMethods(sdbus::IObject& object, BusContext& ctx, int64_t id) {
    // The job can be trimmed (and its object with it) before polkit answers: the continuation
    // holds the context and the job's id, which authorizeThen looks up again.
    addMethod(object, kJobInterface, ctx, JobKey{id}, "Cancel", "", {}, "", {}, [](BusContext& ctx, JobKey key, sdbus::MethodCall& call) {
        const Job* job = ctx.jobs.find(key.id);
        if (!job) throw toBusError(makeError(Errc::NotFound, "no job " + std::to_string(key.id)));
        authorizeThen(ctx, call, job->action, key, [&ctx, key](PendingCall pending) {
            if (auto r = ctx.jobs.cancel(key.id); !r) return pending.fail(r.error());
            pending.reply();
        });
    });
}

}  // namespace aismi::bus
