#include "objects.hpp"
#include "arguments.hpp"
#include "assignment_service.hpp"
#include "inventory.hpp"
#include "provision_service.hpp"
#include "recovery_service.hpp"
#include "reset_service.hpp"
#include "vf_count_service.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <map>

namespace aismi::bus {

namespace {

std::function<void(Result<void>)> answer(PendingCall pending) {
    return [pending](Result<void> r) mutable {
        if (r) pending.reply();
        else pending.fail(r.error());
    };
}

}  // namespace

VfObject::VfObject(BusContext& ctx, unsigned card, unsigned vf)
    : ctx_(ctx), card_(card), vf_(vf), object_(sdbus::createObject(ctx.connection, vfPath(card, vf))) {
    registerProperties(*object_, kVfInterface, vfProperties(), this);
    // A handler runs while this object exists; what it leaves for later (after polkit answers)
    // holds only the context and the VF's key, and authorizeThen re-resolves the key: the
    // VF can be gone by then (its card's VF count changed).
    const VfRef ref{card, vf};
    const auto method = [&object = *object_, &ctx = ctx_, ref](const char* name, const char* in, std::vector<std::string> names,
                                                               const char* out, std::vector<std::string> outNames, auto body) {
        object.registerMethod(kVfInterface, name, in, names, out, outNames,
                              [&ctx, ref, body](sdbus::MethodCall call) { guarded(call, [&] { body(ctx, ref, call); }); });
    };
    method("Provision", "ss", {"profile", "tenant"}, "", {}, [](BusContext& ctx, VfRef ref, sdbus::MethodCall& call) {
        std::string profile, tenant;
        readArguments(call, {"profile", "tenant"}, profile, tenant);
        authorizeThen(ctx, call, kActionManageVfs, ref, [&ctx, ref, profile, tenant](PendingCall pending) {
            ctx.provisioning.provision(ref, profile, tenant, answer(std::move(pending)));
        });
    });
    method("Unprovision", "", {}, "", {}, [](BusContext& ctx, VfRef ref, sdbus::MethodCall& call) {
        authorizeThen(ctx, call, kActionManageVfs, ref,
                      [&ctx, ref](PendingCall pending) { ctx.provisioning.unprovision(ref, answer(std::move(pending))); });
    });
    method("Unquarantine", "", {}, "", {}, [](BusContext& ctx, VfRef ref, sdbus::MethodCall& call) {
        authorizeThen(ctx, call, kActionReset, ref, [&ctx, ref](PendingCall pending) {
            if (auto r = ctx.recovery.unquarantine(ref); !r) return pending.fail(r.error());
            ctx.refresh(ref.card, [pending]() mutable { pending.reply(); });
        });
    });
    method("Quarantine", "s", {"reason"}, "", {}, [](BusContext& ctx, VfRef ref, sdbus::MethodCall& call) {
        std::string reason;
        readArguments(call, {"reason"}, reason);
        authorizeThen(ctx, call, kActionReset, ref, [&ctx, ref, reason](PendingCall pending) {
            if (auto r = ctx.recovery.quarantine(ref, reason); !r) return pending.fail(r.error());
            ctx.refresh(ref.card, [pending]() mutable { pending.reply(); });
        });
    });
    method("BindDriver", "s", {"driver"}, "", {}, [](BusContext& ctx, VfRef ref, sdbus::MethodCall& call) {
        std::string driver;
        readArguments(call, {"driver"}, driver);
        auto choice = AssignmentService::parseDriverChoice(driver);
        if (!choice)
            throw toBusError(makeError(Errc::InvalidArgument, "BindDriver: driver must be vfio-pci or host, not " + quoteInput(driver)));
        authorizeThen(ctx, call, kActionAssignVfs, ref,
                      [&ctx, ref, choice](PendingCall pending) { ctx.assignments.bind(ref, *choice, answer(std::move(pending))); });
    });
    method("Assign", "ss", {"domain", "tenant"}, "", {}, [](BusContext& ctx, VfRef ref, sdbus::MethodCall& call) {
        std::string domain, tenant;
        readArguments(call, {"domain", "tenant"}, domain, tenant);
        authorizeThen(ctx, call, kActionAssignVfs, ref, [&ctx, ref, domain, tenant](PendingCall pending) {
            ctx.assignments.assign(ref, domain, tenant, answer(std::move(pending)));
        });
    });
    method("Release", "", {}, "", {}, [](BusContext& ctx, VfRef ref, sdbus::MethodCall& call) {
        authorizeThen(ctx, call, kActionAssignVfs, ref,
                      [&ctx, ref](PendingCall pending) { ctx.assignments.release(ref, answer(std::move(pending))); });
    });
    method("Hold", "s", {"holder"}, "", {}, [](BusContext& ctx, VfRef ref, sdbus::MethodCall& call) {
        std::string holder;
        readArguments(call, {"holder"}, holder);
        authorizeThen(ctx, call, kActionAssignVfs, ref,
                      [&ctx, ref, holder](PendingCall pending) { ctx.assignments.hold(ref, holder, answer(std::move(pending))); });
    });
    method("Scrub", "", {}, "", {}, [](BusContext& ctx, VfRef ref, sdbus::MethodCall& call) {
        authorizeThen(ctx, call, kActionAssignVfs, ref, [&ctx, ref](PendingCall pending) { ctx.assignments.scrub(ref, answer(std::move(pending))); });
    });
    method("Reset", "a{sv}", {"options"}, "t", {"took_us"}, [](BusContext& ctx, VfRef ref, sdbus::MethodCall& call) {
        const bool force = forceOption(call, "Reset");
        authorizeThen(ctx, call, kActionReset, ref, [&ctx, ref, force](PendingCall pending) {
            ctx.resets.resetVf(ref, force, [pending](Result<ResetService::Outcome> r) mutable {
                if (r) pending.reply(static_cast<uint64_t>(r->took.count()));
                else pending.fail(r.error());
            });
        });
    });
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
