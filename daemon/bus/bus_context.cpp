#include "bus_context.hpp"

#include "authorizer.hpp"
#include "bus_pump.hpp"

#include <sdbus-c++/sdbus-c++.h>

namespace aismi::bus {

sdbus::Error toBusError(const Error& e) { return sdbus::Error(std::string(errcInfo(e.code).dbusName), e.message); }

PendingCall::PendingCall(sdbus::MethodCall call, BusPump& pump) : call_(std::move(call)), pump_(pump) {}

void PendingCall::send(sdbus::MethodReply& reply) {
    try {
        reply.send();
    } catch (const sdbus::Error&) {
        // The caller is gone: nobody to tell.
    }
    pump_.kick();
}

void PendingCall::fail(const Error& e) {
    auto r = call_.createErrorReply(toBusError(e));
    send(r);
}

void authorizeThen(BusContext& ctx, const sdbus::MethodCall& call, const std::string& action, std::function<void(PendingCall)> body) {
    PendingCall pending(call, ctx.pump);
    ctx.authorizer.authorize(call.getSender(), action, [pending, body = std::move(body)](Result<void> allowed) mutable {
        if (!allowed) return pending.fail(allowed.error());
        body(std::move(pending));
    });
}

}  // namespace aismi::bus
