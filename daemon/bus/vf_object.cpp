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
    object_->registerMethod(kVfInterface, "Provision", "ss", {"profile", "tenant"}, "", {},
                            [this](sdbus::MethodCall call) { guarded(call, [&] { provision(call); }); });
    object_->registerMethod(kVfInterface, "Unprovision", "", {}, "", {},
                            [this](sdbus::MethodCall call) { guarded(call, [&] { unprovision(call); }); });
    object_->registerMethod(kVfInterface, "Unquarantine", "", {}, "", {}, [this](sdbus::MethodCall call) {
        guarded(call, [&] {
            authorizeThen(ctx_, call, kActionReset, [this](PendingCall pending) {
                if (auto r = ctx_.recovery.unquarantine(VfRef{card_, vf_}); !r) return pending.fail(r.error());
                ctx_.refresh(card_, [pending]() mutable { pending.reply(); });
            });
        });
    });
    object_->registerMethod(kVfInterface, "Quarantine", "s", {"reason"}, "", {}, [this](sdbus::MethodCall call) {
        guarded(call, [&] {
            std::string reason;
            readArguments(call, {"reason"}, reason);
            authorizeThen(ctx_, call, kActionReset, [this, reason](PendingCall pending) {
                if (auto r = ctx_.recovery.quarantine(VfRef{card_, vf_}, reason); !r) return pending.fail(r.error());
                ctx_.refresh(card_, [pending]() mutable { pending.reply(); });
            });
        });
    });
    object_->registerMethod(kVfInterface, "BindDriver", "s", {"driver"}, "", {}, [this](sdbus::MethodCall call) {
        guarded(call, [&] {
            std::string driver;
            readArguments(call, {"driver"}, driver);
            auto choice = AssignmentService::parseDriverChoice(driver);
            if (!choice)
                throw toBusError(makeError(Errc::InvalidArgument, "BindDriver: driver must be vfio-pci or host, not " + quoteInput(driver)));
            authorizeThen(ctx_, call, kActionAssignVfs, [this, choice](PendingCall pending) {
                ctx_.assignments.bind(VfRef{card_, vf_}, *choice, answer(std::move(pending)));
            });
        });
    });
    object_->registerMethod(kVfInterface, "Assign", "ss", {"domain", "tenant"}, "", {}, [this](sdbus::MethodCall call) {
        guarded(call, [&] {
            std::string domain, tenant;
            readArguments(call, {"domain", "tenant"}, domain, tenant);
            authorizeThen(ctx_, call, kActionAssignVfs, [this, domain, tenant](PendingCall pending) {
                ctx_.assignments.assign(VfRef{card_, vf_}, domain, tenant, answer(std::move(pending)));
            });
        });
    });
    object_->registerMethod(kVfInterface, "Release", "", {}, "", {}, [this](sdbus::MethodCall call) {
        guarded(call, [&] {
            authorizeThen(ctx_, call, kActionAssignVfs,
                          [this](PendingCall pending) { ctx_.assignments.release(VfRef{card_, vf_}, answer(std::move(pending))); });
        });
    });
    object_->registerMethod(kVfInterface, "Hold", "s", {"holder"}, "", {}, [this](sdbus::MethodCall call) {
        guarded(call, [&] {
            std::string holder;
            readArguments(call, {"holder"}, holder);
            authorizeThen(ctx_, call, kActionAssignVfs,
                          [this, holder](PendingCall pending) { ctx_.assignments.hold(VfRef{card_, vf_}, holder, answer(std::move(pending))); });
        });
    });
    object_->registerMethod(kVfInterface, "Reset", "a{sv}", {"options"}, "t", {"took_us"},
                            [this](sdbus::MethodCall call) { guarded(call, [&] { reset(call); }); });
    object_->finishRegistration();
}

void VfObject::provision(sdbus::MethodCall call) {
    std::string profile, tenant;
    readArguments(call, {"profile", "tenant"}, profile, tenant);
    authorizeThen(ctx_, call, kActionManageVfs, [this, profile, tenant](PendingCall pending) {
        ctx_.provisioning.provision(VfRef{card_, vf_}, profile, tenant, answer(std::move(pending)));
    });
}

void VfObject::unprovision(sdbus::MethodCall call) {
    authorizeThen(ctx_, call, kActionManageVfs,
                  [this](PendingCall pending) { ctx_.provisioning.unprovision(VfRef{card_, vf_}, answer(std::move(pending))); });
}

void VfObject::reset(sdbus::MethodCall call) {
    const bool force = forceOption(call, "Reset");
    authorizeThen(ctx_, call, kActionReset, [this, force](PendingCall pending) {
        ctx_.resets.resetVf(VfRef{card_, vf_}, force, [pending](Result<ResetService::Outcome> r) mutable {
            if (r) pending.reply(static_cast<uint64_t>(r->took.count()));
            else pending.fail(r.error());
        });
    });
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
