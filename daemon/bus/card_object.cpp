#include "objects.hpp"
#include "arguments.hpp"
#include "bus_pump.hpp"
#include "inventory.hpp"
#include "layout_service.hpp"
#include "policy_service.hpp"
#include "provision_service.hpp"
#include "reset_service.hpp"
#include "vf_count_service.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <cmath>
#include <map>

namespace aismi::bus {

void guarded(sdbus::MethodCall& call, const std::function<void()>& body) {
    try {
        body();
    } catch (const sdbus::Error&) {
        throw;  // sdbus-c++ turns it into the error reply
    } catch (const std::exception& e) {
        throw toBusError(makeError(Errc::Internal, call.getMemberName() + ": " + e.what()));
    }
}

bool forceOption(sdbus::MethodCall& call, const std::string& method) {
    std::map<std::string, sdbus::Variant> options;
    readArguments(call, {"options"}, options);
    bool force = false;
    for (const auto& [name, value] : options) {
        if (name != "force" || value.peekValueType() != "b")
            throw toBusError(makeError(Errc::InvalidArgument, method + ": unknown option " + quoteInput(name) + " (there is: force, a boolean)"));
        force = value.get<bool>();
    }
    return force;
}

void sayRemoved(sdbus::IObject& object) {
    try {
        object.emitInterfacesRemovedSignal();
    } catch (const sdbus::Error&) {
    }
}

void withdraw(sdbus::IObject& object) {
    sayRemoved(object);
    object.unregister();
}

CardObject::CardObject(BusContext& ctx, unsigned card) : ctx_(ctx), card_(card), object_(sdbus::createObject(ctx.connection, cardPath(card))) {
    registerProperties(*object_, kCardInterface, cardProperties(), this);
    object_->registerMethod(kCardInterface, "SetVfCount", "u", {"count"}, "", {},
                            [this](sdbus::MethodCall call) { guarded(call, [&] { setVfCount(call, false); }); });
    object_->registerMethod(kCardInterface, "SetVfCountAsync", "u", {"count"}, "o", {"job"},
                            [this](sdbus::MethodCall call) { guarded(call, [&] { setVfCount(call, true); }); });
    object_->registerMethod(kCardInterface, "SetVfCountWithOptions", "ua{sv}", {"count", "options"}, "o", {"job"},
                            [this](sdbus::MethodCall call) { guarded(call, [&] { setVfCount(call, true, true); }); });
    object_->registerMethod(kCardInterface, "PlanLayout", "s", {"layout"}, "s", {"plan"}, [this](sdbus::MethodCall call) {
        guarded(call, [&] {
            std::string layout;
            readArguments(call, {"layout"}, layout);
            auto plan = ctx_.layouts.plan(card_, layout);
            if (!plan) throw toBusError(plan.error());
            auto reply = call.createReply();
            reply << plan->describe();
            reply.send();
        });
    });
    object_->registerMethod(kCardInterface, "ApplyLayout", "s", {"layout"}, "o", {"job"}, [this](sdbus::MethodCall call) {
        guarded(call, [&] {
            std::string layout;
            readArguments(call, {"layout"}, layout);
            authorizeThen(ctx_, call, kActionManageVfs, [&ctx = ctx_, card = card_, layout](PendingCall pending) {
                auto job = ctx.layouts.apply(card, layout);
                if (!job) return pending.fail(job.error());
                pending.reply(sdbus::ObjectPath(jobPath(*job)));
            });
        });
    });
    object_->registerMethod(kCardInterface, "ListProfiles", "", {}, "a(suutuuus)", {"profiles"},
                            [this](sdbus::MethodCall call) { guarded(call, [&] { listProfiles(call); }); });
    object_->registerMethod(kCardInterface, "SetOversubscription", "a{sv}", {"ratios"}, "", {},
                            [this](sdbus::MethodCall call) { guarded(call, [&] { setOversubscription(call); }); });
    object_->registerMethod(kCardInterface, "Reset", "a{sv}", {"options"}, "t", {"took_us"},
                            [this](sdbus::MethodCall call) { guarded(call, [&] { reset(call); }); });
    registerFirmwareMethods(*object_, ctx_, card_);
    object_->finishRegistration();
    for (const auto& vf : ctx.inventory.snapshot(card).vfs) vfs_.push_back(std::make_unique<VfObject>(ctx, card, vf.index));
}

CardObject::~CardObject() {
    vfs_.clear();
    retired_.clear();
    object_->unregister();
}

void CardObject::announce() { object_->emitInterfacesAddedSignal(); }

void CardObject::setVfCount(sdbus::MethodCall call, bool async, bool withOptions) {
    uint32_t count = 0;
    readArguments(call, {"count"}, count);
    const bool force = withOptions && forceOption(call, "SetVfCountWithOptions");
    // Cards are never removed, but a continuation holds keys, not the adaptor (bus_context.hpp).
    authorizeThen(ctx_, call, kActionManageVfs, [&ctx = ctx_, card = card_, count, async, force](PendingCall pending) {
        std::function<void(Result<void>)> done;
        if (!async)
            done = [pending](Result<void> r) mutable {
                if (r) pending.reply();
                else pending.fail(r.error());
            };
        auto job = ctx.vfCount.setVfCount(card, count, std::move(done), force);
        if (!job) return pending.fail(job.error());
        if (async) pending.reply(sdbus::ObjectPath(jobPath(*job)));
    });
}

void CardObject::listProfiles(sdbus::MethodCall call) {
    // Each profile's shape on this card and how many more VFs of it fit now (0 and the reason
    // when it never fits). A read: open to everyone, no device access.
    std::vector<sdbus::Struct<std::string, uint32_t, uint32_t, uint64_t, uint32_t, uint32_t, uint32_t, std::string>> rows;
    const CardSnapshot& card = subject();
    for (const auto& p : ctx_.provisioning.profiles()) {
        const auto fit = ctx_.provisioning.fit(card, p);
        const Resources r = fit.shape.value_or(Resources{});
        rows.emplace_back(p.name, r.computeUnits, r.burstCap(), r.memoryMib, r.engines, r.weight, fit.more, fit.never);
    }
    auto reply = call.createReply();
    reply << rows;
    reply.send();
}

void CardObject::reset(sdbus::MethodCall call) {
    const bool force = forceOption(call, "Reset");
    authorizeThen(ctx_, call, kActionReset, [&ctx = ctx_, card = card_, force](PendingCall pending) {
        ctx.resets.resetCard(card, force, [pending](Result<ResetService::CardOutcome> r) mutable {
            if (r) pending.reply(static_cast<uint64_t>(r->took.count()));
            else pending.fail(r.error());
        });
    });
}

void CardObject::setOversubscription(sdbus::MethodCall call) {
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
    authorizeThen(ctx_, call, kActionManagePolicy, [&ctx = ctx_, card = card_, compute, memory](PendingCall pending) {
        ctx.policies.set(card, compute, memory, [pending](Result<void> r) mutable {
            if (r) pending.reply();
            else pending.fail(r.error());
        });
    });
}

const CardSnapshot& CardObject::subject() const { return ctx_.inventory.snapshot(card_); }

void CardObject::updated(const CardSnapshot& before, const CardSnapshot& now) {
    if (auto names = changedProperties(cardProperties(), before, now); !names.empty())
        object_->emitPropertiesChangedSignal(kCardInterface, names);
    // VFs that vanished (their destructor says InterfacesRemoved; one whose calls wait for their
    // answer is retired instead, and goes at a later poll once they have it), then VFs that
    // changed or appeared (a retired object comes back for its VF).
    while (vfs_.size() > now.vfs.size()) {
        if (vfs_.back()->answering()) {
            vfs_.back()->retire();
            retired_[static_cast<unsigned>(vfs_.size() - 1)] = std::move(vfs_.back());
        }
        vfs_.pop_back();
    }
    std::erase_if(retired_, [](const auto& entry) { return !entry.second->answering(); });
    for (size_t k = 0; k < now.vfs.size(); ++k) {
        if (k == vfs_.size()) {
            const auto back = retired_.find(static_cast<unsigned>(k));
            if (back != retired_.end()) {
                vfs_.push_back(std::move(back->second));
                retired_.erase(back);
            } else {
                vfs_.push_back(std::make_unique<VfObject>(ctx_, card_, static_cast<unsigned>(k)));
            }
            vfs_.back()->announce();
        } else if (k < before.vfs.size()) {
            vfs_[k]->changed(before.vfs[k], now.vfs[k]);
        }
    }
}

}  // namespace aismi::bus
