#include "policy_service.hpp"

#include "admission.hpp"
#include "card_changes.hpp"
#include "event_bus.hpp"
#include "event_repository.hpp"
#include "events.hpp"
#include "inventory.hpp"
#include "policy_repository.hpp"
#include "poller.hpp"
#include "snapshot.hpp"

#include <aismi/text.hpp>

namespace aismi {

Result<void> PolicyService::load() {
    auto all = d_.repository.all();
    if (!all) return std::move(all).error();
    policies_ = std::move(*all);
    return {};
}

Oversubscription PolicyService::of(const std::string& cardKey) const {
    const auto it = policies_.find(cardKey);
    return it == policies_.end() ? Oversubscription{} : it->second;
}

void PolicyService::annotate(CardSnapshot& card) { card.policy = of(card.info.key); }

void PolicyService::set(unsigned card, std::optional<uint32_t> compute, std::optional<uint32_t> memory, std::function<void(Result<void>)> done) {
    auto r = change(card, compute, memory);
    if (!r) return done(std::move(r).error());
    d_.poller.refresh(card, [done = std::move(done)] { done(Result<void>()); });
}

Result<void> PolicyService::change(unsigned card, std::optional<uint32_t> compute, std::optional<uint32_t> memory) {
    if (card >= d_.inventory.size()) return makeError(Errc::NotFound, "no card " + std::to_string(card));
    const CardSnapshot& s = d_.inventory.snapshot(card);
    const std::string what = s.info.label() + ": oversubscription policy";
    const auto range = [&](const char* name, uint32_t v, uint32_t max) -> Result<void> {
        if (v < Oversubscription::kMin || v > max)
            return makeError(Errc::InvalidArgument, what + ": the " + name + " ratio " + text::ratioText(v) + " is out of range (" +
                                                        text::ratioText(Oversubscription::kMin) + " to " + text::ratioText(max) + ")");
        return {};
    };
    if (!compute && !memory) return makeError(Errc::InvalidArgument, what + ": give a compute or a memory ratio");
    if (compute)
        if (auto r = range("compute", *compute, Oversubscription::kMaxCompute); !r) return r;
    if (memory)
        if (auto r = range("memory", *memory, Oversubscription::kMaxMemory); !r) return r;
    if (auto ok = requireProvisionable(s, what); !ok) return ok;
    if (d_.changes.busy(s.info.key)) return makeError(Errc::Busy, what + ": a change to the card is under way; try again when it ends");
    Oversubscription next = of(s.info.key);
    if (compute) next.compute = *compute;
    if (memory) next.memory = *memory;
    if (next == of(s.info.key)) return {};  // the same again: nothing changes, nothing to tell
    // What the VFs hold stays admitted: the new policy must allow it.
    Usage held;
    for (const auto& vf : s.vfs)
        if (vf.resources) held.add(*vf.resources);
    const Limits limits = Limits::of(*s.capacity, next);
    if (held.burst > limits.burst)
        return makeError(Errc::NoSpace, what + ": the VFs hold burst caps of " + std::to_string(held.burst) + " compute units; compute ratio " +
                                            text::ratioText(next.compute) + " allows " + std::to_string(limits.burst) + " (unprovision some first)");
    if (held.memoryMib > limits.memoryMib)
        return makeError(Errc::NoSpace, what + ": the VFs hold " + std::to_string(held.memoryMib) + " MiB; memory ratio " +
                                            text::ratioText(next.memory) + " allows " + std::to_string(limits.memoryMib) + " (unprovision some first)");
    if (auto w = d_.repository.set(s.info.key, next); !w) return std::move(w).error().context(what);
    policies_[s.info.key] = next;
    d_.events.publish(Notice{EventType::Policy, Severity::Info, s.info.label(),
                             "oversubscription policy: compute " + text::ratioText(next.compute) + ", memory " + text::ratioText(next.memory), s.info.index});
    return {};
}

}  // namespace aismi
