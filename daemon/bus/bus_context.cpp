#include "bus_context.hpp"

#include "authorizer.hpp"
#include "bus_pump.hpp"
#include "inventory.hpp"
#include "jobs.hpp"

#include <sdbus-c++/sdbus-c++.h>

namespace aismi::bus {

sdbus::Error toBusError(const Error& e) { return sdbus::Error(std::string(errcInfo(e.code).dbusName), e.message); }

struct PendingCall::InFlight {
    InFlight(std::shared_ptr<CallsInFlight> calls, std::string path) : calls(std::move(calls)), path(std::move(path)) { this->calls->opened(this->path); }
    ~InFlight() { close(); }
    void close() {
        if (open) calls->closed(path);
        open = false;
    }
    std::shared_ptr<CallsInFlight> calls;
    std::string path;
    bool open = true;
};

PendingCall::PendingCall(sdbus::MethodCall call, BusPump& pump, std::shared_ptr<CallsInFlight> calls)
    : call_(std::move(call)), pump_(pump), inFlight_(std::make_shared<InFlight>(std::move(calls), call_.getPath())) {}

void PendingCall::send(sdbus::MethodReply& reply) {
    try {
        reply.send();
    } catch (const sdbus::Error&) {
        // The caller is gone: nobody to tell.
    }
    inFlight_->close();
    pump_.kick();
}

void PendingCall::fail(const Error& e) {
    auto r = call_.createErrorReply(toBusError(e));
    send(r);
}

void authorizeThen(BusContext& ctx, const sdbus::MethodCall& call, const std::string& action, std::function<void(PendingCall)> body) {
    PendingCall pending(call, ctx.pump, ctx.calls);
    ctx.authorizer.authorize(call.getSender(), action, [pending, body = std::move(body)](Result<void> allowed) mutable {
        if (!allowed) return pending.fail(allowed.error());
        body(std::move(pending));
    });
}

void authorizeThen(BusContext& ctx, const sdbus::MethodCall& call, const std::string& action, VfRef vf, std::function<void(PendingCall)> body) {
    authorizeThen(ctx, call, action, [&ctx, vf, body = std::move(body)](PendingCall pending) {
        if (!ctx.inventory.vf(vf))
            return pending.fail(makeError(Errc::NotFound, "card " + std::to_string(vf.card) + " has no VF " + std::to_string(vf.vf) + " any more"));
        body(std::move(pending));
    });
}

void authorizeThen(BusContext& ctx, const sdbus::MethodCall& call, const std::string& action, JobKey job, std::function<void(PendingCall)> body) {
    authorizeThen(ctx, call, action, [&ctx, job, body = std::move(body)](PendingCall pending) {
        if (!ctx.jobs.find(job.id)) return pending.fail(makeError(Errc::NotFound, "no job " + std::to_string(job.id) + " any more"));
        body(std::move(pending));
    });
}

}  // namespace aismi::bus
