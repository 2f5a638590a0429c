// The assignment service's methods (polkit org.aismi.assign-vfs): VirtualFunction1's
// BindDriver, Assign, Release, Hold and Scrub; Manager1.CheckDomainStart, the libvirt hook's
// question (a read: open to everyone).
#include "method_registration.hpp"

#include "assignment_service.hpp"
#include "limits.hpp"

namespace aismi::bus {

void registerAssignmentMethods(sdbus::IObject& object, BusContext& ctx, VfRef vf) {
    const auto method = [&](const char* name, const char* in, std::vector<std::string> inNames, auto body) {
        addMethod(object, kVfInterface, ctx, vf, name, in, std::move(inNames), "", {}, body);
    };
    method("BindDriver", "s", {"driver"}, [](BusContext& ctx, VfRef ref, sdbus::MethodCall& call) {
        std::string driver;
        readArguments(call, {"driver"}, driver);
        auto choice = AssignmentService::parseDriverChoice(driver);
        if (!choice)
            throw toBusError(makeError(Errc::InvalidArgument, "BindDriver: driver must be vfio-pci or host, not " + quoteInput(driver)));
        authorizeThen(ctx, call, kActionAssignVfs, ref,
                      [&ctx, ref, choice](PendingCall pending) { ctx.assignments.bind(ref, *choice, answer(std::move(pending))); });
    });
    method("Assign", "ss", {"domain", "tenant"}, [](BusContext& ctx, VfRef ref, sdbus::MethodCall& call) {
        std::string domain, tenant;
        readArguments(call, {"domain", "tenant"}, domain, tenant);
        authorizeThen(ctx, call, kActionAssignVfs, ref, [&ctx, ref, domain, tenant](PendingCall pending) {
            ctx.assignments.assign(ref, domain, tenant, answer(std::move(pending)));
        });
    });
    method("Release", "", {}, [](BusContext& ctx, VfRef ref, sdbus::MethodCall& call) {
        authorizeThen(ctx, call, kActionAssignVfs, ref, [&ctx, ref](PendingCall pending) { ctx.assignments.release(ref, answer(std::move(pending))); });
    });
    method("Hold", "s", {"holder"}, [](BusContext& ctx, VfRef ref, sdbus::MethodCall& call) {
        std::string holder;
        readArguments(call, {"holder"}, holder);
        authorizeThen(ctx, call, kActionAssignVfs, ref,
                      [&ctx, ref, holder](PendingCall pending) { ctx.assignments.hold(ref, holder, answer(std::move(pending))); });
    });
    method("Scrub", "", {}, [](BusContext& ctx, VfRef ref, sdbus::MethodCall& call) {
        authorizeThen(ctx, call, kActionAssignVfs, ref, [&ctx, ref](PendingCall pending) { ctx.assignments.scrub(ref, answer(std::move(pending))); });
    });
}

void registerAssignmentMethods(sdbus::IObject& object, BusContext& ctx) {
    object.registerMethod(kManagerInterface, "CheckDomainStart", "s", {"domain_xml"}, "bs", {"allowed", "reason"}, [&ctx](sdbus::MethodCall call) {
        guarded(call, [&] {
            std::string xml;
            call >> xml;
            checkArgument(call, "domain_xml", xml, limits::kMaxDomainXml, Lines::Many);
            auto verdict = ctx.assignments.checkStart(xml);
            if (!verdict) throw toBusError(verdict.error());
            auto reply = call.createReply();
            reply << verdict->empty() << *verdict;
            reply.send();
        });
    });
}

}  // namespace aismi::bus
