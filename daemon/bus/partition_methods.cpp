// The partition services' methods (polkit org.aismi.manage-vfs, org.aismi.manage-policy):
// Card1's SetVfCount (and its Async and WithOptions forms), PlanLayout, ApplyLayout,
// ListProfiles and SetOversubscription; VirtualFunction1's Provision and Unprovision.
#include "method_registration.hpp"

#include "inventory.hpp"
#include "layout_service.hpp"
#include "policy_service.hpp"
#include "provision_service.hpp"
#include "vf_count_service.hpp"

#include <cmath>
#include <map>

namespace aismi::bus {
namespace {

void setVfCount(BusContext& ctx, unsigned card, sdbus::MethodCall& call, bool async, bool withOptions) {
    uint32_t count = 0;
    readArguments(call, {"count"}, count);
    const bool force = withOptions && forceOption(call, "SetVfCountWithOptions");
    authorizeThen(ctx, call, kActionManageVfs, [&ctx, card, count, async, force](PendingCall pending) {
        std::function<void(Result<void>)> done;
        if (!async) done = answer(pending);
        auto job = ctx.vfCount.setVfCount(card, count, std::move(done), force);
        if (!job) return pending.fail(job.error());
        if (async) pending.reply(sdbus::ObjectPath(jobPath(*job)));
    });
}

void listProfiles(BusContext& ctx, unsigned cardIndex, sdbus::MethodCall& call) {
    // Each profile's shape on this card and how many more VFs of it fit now (0 and the reason
    // when it never fits). A read: open to everyone, no device access.
    std::vector<sdbus::Struct<std::string, uint32_t, uint32_t, uint64_t, uint32_t, uint32_t, uint32_t, std::string>> rows;
    const CardSnapshot& card = ctx.inventory.snapshot(cardIndex);
    for (const auto& p : ctx.provisioning.profiles()) {
        const auto fit = ctx.provisioning.fit(card, p);
        const Resources r = fit.shape.value_or(Resources{});
        rows.emplace_back(p.name, r.computeUnits, r.burstCap(), r.memoryMib, r.engines, r.weight, fit.more, fit.never);
    }
    auto reply = call.createReply();
    reply << rows;
    reply.send();
}

void setOversubscription(BusContext& ctx, unsigned card, sdbus::MethodCall& call) {
    std::map<std::string, sdbus::Variant> ratios;
    readArguments(call, {"ratios"}, ratios);
    std::optional<uint32_t> compute, memory;
    for (const auto& [name, value] : ratios) {
        const bool known = name == "compute" || name == "memory";
        if (!known || value.peekValueType() != "d")
            throw toBusError(makeError(Errc::InvalidArgument, "SetOversubscription: " +
                                                                  (known ? name + " must be a double" : "unknown ratio " + quoteInput(name)) +
                                                                  " (there are: compute and memory, doubles)"));
        // Hundredths exactly: 1.5 is 150; 1.333, NaN or infinity are refused.
        const double ratio = value.get<double>();
        const double hundredths = ratio * 100;
        if (!(hundredths >= 0 && hundredths <= 1e6) || std::fabs(hundredths - std::round(hundredths)) > 1e-6)
            throw toBusError(makeError(Errc::InvalidArgument, "SetOversubscription: " + name + " " + std::to_string(ratio) +
                                                                  " is not a ratio with at most two decimals"));
        (name == "compute" ? compute : memory) = static_cast<uint32_t>(std::lround(hundredths));
    }
    authorizeThen(ctx, call, kActionManagePolicy,
                  [&ctx, card, compute, memory](PendingCall pending) { ctx.policies.set(card, compute, memory, answer(std::move(pending))); });
}

}  // namespace

void registerPartitionMethods(sdbus::IObject& object, BusContext& ctx, unsigned card) {
    const auto method = [&](const char* name, const char* in, std::vector<std::string> inNames, const char* out, std::vector<std::string> outNames,
                            auto body) { addMethod(object, kCardInterface, ctx, card, name, in, std::move(inNames), out, std::move(outNames), body); };
    method("SetVfCount", "u", {"count"}, "", {}, [](BusContext& ctx, unsigned card, sdbus::MethodCall& call) { setVfCount(ctx, card, call, false, false); });
    method("SetVfCountAsync", "u", {"count"}, "o", {"job"},
           [](BusContext& ctx, unsigned card, sdbus::MethodCall& call) { setVfCount(ctx, card, call, true, false); });
    method("SetVfCountWithOptions", "ua{sv}", {"count", "options"}, "o", {"job"},
           [](BusContext& ctx, unsigned card, sdbus::MethodCall& call) { setVfCount(ctx, card, call, true, true); });
    method("PlanLayout", "s", {"layout"}, "s", {"plan"}, [](BusContext& ctx, unsigned card, sdbus::MethodCall& call) {
        std::string layout;
        readArguments(call, {"layout"}, layout);
        auto plan = ctx.layouts.plan(card, layout);
        if (!plan) throw toBusError(plan.error());
        auto reply = call.createReply();
        reply << plan->describe();
        reply.send();
    });
    method("ApplyLayout", "s", {"layout"}, "o", {"job"}, [](BusContext& ctx, unsigned card, sdbus::MethodCall& call) {
        std::string layout;
        readArguments(call, {"layout"}, layout);
        authorizeThen(ctx, call, kActionManageVfs, [&ctx, card, layout](PendingCall pending) {
            auto job = ctx.layouts.apply(card, layout);
            if (!job) return pending.fail(job.error());
            pending.reply(sdbus::ObjectPath(jobPath(*job)));
        });
    });
    method("ListProfiles", "", {}, "a(suutuuus)", {"profiles"}, listProfiles);
    method("SetOversubscription", "a{sv}", {"ratios"}, "", {}, setOversubscription);
}

void registerPartitionMethods(sdbus::IObject& object, BusContext& ctx, VfRef vf) {
    const auto method = [&](const char* name, const char* in, std::vector<std::string> inNames, auto body) {
        addMethod(object, kVfInterface, ctx, vf, name, in, std::move(inNames), "", {}, body);
    };
    method("Provision", "ss", {"profile", "tenant"}, [](BusContext& ctx, VfRef ref, sdbus::MethodCall& call) {
        std::string profile, tenant;
        readArguments(call, {"profile", "tenant"}, profile, tenant);
        authorizeThen(ctx, call, kActionManageVfs, ref, [&ctx, ref, profile, tenant](PendingCall pending) {
            ctx.provisioning.provision(ref, profile, tenant, answer(std::move(pending)));
        });
    });
    method("Unprovision", "", {}, [](BusContext& ctx, VfRef ref, sdbus::MethodCall& call) {
        authorizeThen(ctx, call, kActionManageVfs, ref,
                      [&ctx, ref](PendingCall pending) { ctx.provisioning.unprovision(ref, answer(std::move(pending))); });
    });
}

}  // namespace aismi::bus
