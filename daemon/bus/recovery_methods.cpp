// The recovery services' methods: Manager1.SetRecoveryPolicy (polkit org.aismi.manage-policy),
// the recovery policy set at run time — every key is optional; the ones not given keep the
// value they have when the change is applied, after polkit answers (RecoveryPolicyChange);
// Card1.Reset, and VirtualFunction1's Reset, Quarantine and Unquarantine (org.aismi.reset).
#include "method_registration.hpp"

#include "policy_service.hpp"
#include "recovery_service.hpp"
#include "reset_service.hpp"

#include <map>

namespace aismi::bus {
namespace {

RecoveryPolicyChange decode(const std::map<std::string, sdbus::Variant>& options) {
    RecoveryPolicyChange p;
    for (const auto& [name, value] : options) {
        const std::string type = value.peekValueType();
        const auto want = [&](const char* sig) {
            if (type != sig)
                throw toBusError(makeError(Errc::InvalidArgument, "SetRecoveryPolicy: " + name + " must be of type " + sig + ", not " + type));
        };
        if (name == "auto_reset") want("b"), p.autoReset = value.get<bool>();
        else if (name == "reset_guard_resets") want("u"), p.guardResets = value.get<uint32_t>();
        else if (name == "reset_guard_window_s") want("u"), p.guardWindow = std::chrono::seconds(value.get<uint32_t>());
        else if (name == "auto_card_reset") want("b"), p.autoCardReset = value.get<bool>();
        else if (name == "card_reset_budget") want("u"), p.cardResetBudget = value.get<uint32_t>();
        else if (name == "card_reset_window_s") want("u"), p.cardResetWindow = std::chrono::seconds(value.get<uint32_t>());
        else
            throw toBusError(makeError(Errc::InvalidArgument, "SetRecoveryPolicy: unknown key " + quoteInput(name) +
                                                                  " (there are: auto_reset, reset_guard_resets, reset_guard_window_s, "
                                                                  "auto_card_reset, card_reset_budget, card_reset_window_s)"));
    }
    return p;
}

}  // namespace

void registerRecoveryMethods(sdbus::IObject& object, BusContext& ctx, ManagerObject& manager) {
    object.registerMethod(kManagerInterface, "SetRecoveryPolicy", "a{sv}", {"policy"}, "", {}, [&ctx, &manager](sdbus::MethodCall call) {
        guarded(call, [&] {
            std::map<std::string, sdbus::Variant> options;
            readArguments(call, {"policy"}, options);
            if (options.empty()) throw toBusError(makeError(Errc::InvalidArgument, "SetRecoveryPolicy: nothing to set"));
            const RecoveryPolicyChange change = decode(options);
            authorizeThen(ctx, call, kActionManagePolicy, [&ctx, &manager, change](PendingCall pending) {
                if (auto r = ctx.recovery.setAtRunTime(change); !r) return pending.fail(r.error().context("SetRecoveryPolicy"));
                const RecoveryPolicy& wanted = ctx.recovery.policy();
                ManagerState& m = ctx.manager;
                m.autoReset = wanted.autoReset;
                m.resetGuardResets = wanted.guardResets;
                m.resetGuardWindowSeconds = static_cast<uint32_t>(wanted.guardWindow.count());
                m.autoCardReset = wanted.autoCardReset;
                m.cardResetBudget = wanted.cardResetBudget;
                m.cardResetWindowSeconds = static_cast<uint32_t>(wanted.cardResetWindow.count());
                manager.changed({"AutoReset", "ResetGuardResets", "ResetGuardWindowSeconds", "AutoCardReset", "CardResetBudget", "CardResetWindowSeconds"});
                pending.reply();
            });
        });
    });
}

void registerRecoveryMethods(sdbus::IObject& object, BusContext& ctx, unsigned card) {
    addMethod(object, kCardInterface, ctx, card, "Reset", "a{sv}", {"options"}, "t", {"took_us"}, [](BusContext& ctx, unsigned card, sdbus::MethodCall& call) {
        const bool force = forceOption(call, "Reset");
        authorizeThen(ctx, call, kActionReset, [&ctx, card, force](PendingCall pending) {
            ctx.resets.resetCard(card, force, [pending](Result<ResetService::CardOutcome> r) mutable {
                if (r) pending.reply(static_cast<uint64_t>(r->took.count()));
                else pending.fail(r.error());
            });
        });
    });
}

void registerRecoveryMethods(sdbus::IObject& object, BusContext& ctx, VfRef vf) {
    const auto method = [&](const char* name, const char* in, std::vector<std::string> inNames, const char* out, std::vector<std::string> outNames,
                            auto body) { addMethod(object, kVfInterface, ctx, vf, name, in, std::move(inNames), out, std::move(outNames), body); };
    method("Quarantine", "s", {"reason"}, "", {}, [](BusContext& ctx, VfRef ref, sdbus::MethodCall& call) {
        std::string reason;
        readArguments(call, {"reason"}, reason);
        authorizeThen(ctx, call, kActionReset, ref, [&ctx, ref, reason](PendingCall pending) {
            if (auto r = ctx.recovery.quarantine(ref, reason); !r) return pending.fail(r.error());
            ctx.refresh(ref.card, [pending]() mutable { pending.reply(); });
        });
    });
    method("Unquarantine", "", {}, "", {}, [](BusContext& ctx, VfRef ref, sdbus::MethodCall& call) {
        authorizeThen(ctx, call, kActionReset, ref, [&ctx, ref](PendingCall pending) {
            if (auto r = ctx.recovery.unquarantine(ref); !r) return pending.fail(r.error());
            ctx.refresh(ref.card, [pending]() mutable { pending.reply(); });
        });
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
}

}  // namespace aismi::bus
