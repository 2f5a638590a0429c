#include "reset_service.hpp"

#include "card_changes.hpp"
#include "device_executor.hpp"
#include "event_bus.hpp"
#include "event_repository.hpp"
#include "events.hpp"
#include "inventory.hpp"
#include "journal_repository.hpp"
#include "poller.hpp"
#include "snapshot.hpp"
#include "vf_in_use.hpp"

#include <aismi/card.hpp>
#include <aismi/pci_function.hpp>
#include <aismi/text.hpp>

#include <optional>
#include <sstream>

namespace aismi {
namespace {

constexpr const char* kKind = "reset-vf";
constexpr const char* kCardKind = "reset-card";
constexpr const char* kStepReset = "function-level-reset";


std::string ms(std::chrono::microseconds us) {
    const auto tenths = (us.count() + 50) / 100;
    return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " ms";
}

}  // namespace

std::vector<std::string> ResetService::kinds() const { return {kKind, kCardKind}; }

void ResetService::resetCard(unsigned cardIndex, bool force, CardDone done) {
    if (cardIndex >= d_.inventory.size()) return done(makeError(Errc::NotFound, "no card " + std::to_string(cardIndex)));
    const CardSnapshot& card = d_.inventory.snapshot(cardIndex);
    const CardInfo info = card.info;
    const std::string what = info.label() + ": reset";
    if (card.lost) return done(makeError(Errc::DeviceLost, what + ": the device does not answer"));
    if (const auto used = vfsInUse(card, true); !used.empty() && !force) {
        std::string list;
        for (const auto& u : used) list += (list.empty() ? "" : ", ") + u;
        return done(makeError(Errc::Busy, what + ": VFs in use (" + list + ") would lose their work; --force resets the card anyway"));
    }
    if (auto claimed = d_.changes.begin(info.key, what); !claimed) return done(std::move(claimed).error());
    // libmgmt narrows the PF's reset_method for the reset and puts it back after: what it is
    // goes into the journal first, so that a restart in between puts it back too.
    d_.executor.runOnCard<std::vector<std::string>>(
        info.key, [device = d_.inventory.device(cardIndex)] { return device->pf().resetMethods(); },
        [this, cardIndex, info, vfs = card.vfEnabled(), done = std::move(done)](Result<std::vector<std::string>> methods) mutable {
            startCardReset(cardIndex, info, vfs, methods ? text::join(*methods, " ") : std::string(), std::move(done));
        });
}

void ResetService::startCardReset(unsigned cardIndex, const CardInfo& info, unsigned vfs, const std::string& resetMethods, CardDone done) {
    const std::string what = info.label() + ": reset";
    PayloadWriter payload;
    payload.add("vfs", vfs).add("address", info.pciAddress);
    if (!resetMethods.empty()) payload.add("reset_method", resetMethods);
    auto operation = d_.journal.begin(kCardKind, info.key, payload.str(), kStepReset);
    if (!operation) {
        d_.changes.end(info.key);
        return done(std::move(operation).error().context(what));
    }
    // Clients hear of it before the device is touched.
    d_.events.publish(Notice{EventType::CardReset, Severity::Warning, info.label(),
                             "resetting the whole card (" + std::to_string(vfs) + " VFs: their workloads stop; aismid puts their count and provisioning back)",
                             cardIndex});
    d_.executor.runOnCard<CardOutcome>(
        info.key,
        [device = d_.inventory.device(cardIndex)]() -> Result<CardOutcome> {
            const auto start = std::chrono::steady_clock::now();
            if (auto r = device->resetCard(); !r) return std::move(r).error();
            CardOutcome o;
            o.took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
            if (auto s = device->sriov()) o.vfs = s->numVfs;
            return o;
        },
        [this, info, cardIndex, vfs, id = *operation, what, done = std::move(done)](Result<CardOutcome> outcome) mutable {
            if (!outcome) outcome = std::move(outcome).error().context(what);
            // The card was reset or not, whatever the store says: an end it refuses keeps the card
            // claimed until it takes it.
            auto recorded = d_.journal.recordEnd(id, outcome ? "ok in " + ms(outcome->took) : "failed: " + outcome.error().message, what,
                                                 [this, key = info.key] { d_.changes.end(key); });
            if (!recorded) d_.changes.waitForRecord(info.key, recorded.error());
            d_.events.publish(Notice{EventType::CardReset, outcome ? Severity::Info : Severity::Warning, info.label(),
                                     outcome ? "reset in " + ms(outcome->took) + "; " + std::to_string(outcome->vfs) + " of " + std::to_string(vfs) +
                                                   " VFs enabled after it"
                                             : outcome.error().message,
                                     cardIndex});
            d_.poller.refresh(cardIndex, [this, key = info.key, cardIndex, outcome, what, recorded = bool(recorded), done = std::move(done)]() mutable {
                if (recorded) d_.changes.end(key);
                // As after any return of a card: the VF count and the provisioning are put back,
                // and the reset is done once they are (or says what is still missing).
                d_.events.publish(CardReturned{cardIndex});
                if (!outcome || !unrestored) return done(outcome);
                awaiting_.push_back({cardIndex, std::chrono::steady_clock::now() + kRestoreWait, *outcome, what + " in " + ms(outcome->took), std::move(done)});
                watchRestore(cardIndex);
            });
        });
}

void ResetService::watchRestore(unsigned card) {
    // Answers are collected first: a `done` may start another reset, which adds to awaiting_.
    std::vector<std::function<void()>> answers;
    const auto now = std::chrono::steady_clock::now();
    for (auto it = awaiting_.begin(); it != awaiting_.end();) {
        if (it->card != card) {
            ++it;
            continue;
        }
        const CardSnapshot& s = d_.inventory.snapshot(card);
        const std::string missing = s.lost ? "the card does not answer"
                                    : d_.changes.busy(s.info.key) ? "a change of it is under way"
                                                                  : unrestored(card);
        if (!missing.empty() && !s.lost && now < it->deadline) {
            ++it;
            continue;
        }
        if (missing.empty()) answers.push_back([done = std::move(it->done), o = it->outcome] { done(o); });
        else
            answers.push_back([done = std::move(it->done), e = makeError(s.lost ? Errc::DeviceLost : Errc::Timeout,
                                                                       it->what + ", but its VFs are not back as desired" +
                                                                           (s.lost ? "" : " after " + std::to_string(kRestoreWait.count()) + " s") + ": " + missing)] {
                done(e);
            });
        it = awaiting_.erase(it);
    }
    for (auto& answer : answers) answer();
}

void ResetService::resetVf(const VfRef& ref, bool force, Done done) {
    if (ref.card >= d_.inventory.size()) return done(makeError(Errc::NotFound, "no card " + std::to_string(ref.card)));
    const CardSnapshot& card = d_.inventory.snapshot(ref.card);
    const CardInfo info = card.info;
    const std::string what = info.vfLabel(ref.vf) + ": reset";
    if (card.lost) return done(makeError(Errc::DeviceLost, what + ": the device does not answer"));
    if (ref.vf >= card.vfs.size())
        return done(makeError(Errc::NotFound, what + ": the card has no VF " + std::to_string(ref.vf) + " (" + std::to_string(card.vfs.size()) + " enabled)"));
    const VfSnapshot& vf = card.vfs[ref.vf];
    if (!force && vf.state() == VfState::Running)
        return done(makeError(Errc::Busy, what + ": a workload runs on the VF and would be lost; --force resets it anyway"));
    if (!force && vf.driver == "vfio-pci")
        return done(makeError(Errc::InvalidState, what + ": " + vfioBindingText(vf) + "; --force resets it anyway"));
    // Mid-operation (provisioning, another reset, a VF count change): refused, not queued.
    if (auto claimed = d_.changes.begin(info.key, ref.vf, what); !claimed) return done(std::move(claimed).error());
    PayloadWriter payload;
    payload.add("vf", ref.vf).add("address", vf.pciAddress);
    auto operation = d_.journal.begin(kKind, info.key, payload.str(), kStepReset);
    if (!operation) {
        d_.changes.end(info.key, ref.vf);
        return done(std::move(operation).error().context(what));
    }
    struct Work {
        std::chrono::microseconds took{0};
        std::string provisioning = "kept";
    };
    const unsigned index = ref.vf, cardIndex = ref.card;
    d_.executor.runOnCard<Work>(
        info.key,
        [device = d_.inventory.device(ref.card), index, vendor = card.capacity.has_value()]() -> Result<Work> {
            Work w;
            std::optional<Resources> before;
            if (vendor)
                if (auto r = device->vfResources(index)) before = *r;
            const auto start = std::chrono::steady_clock::now();
            if (auto r = device->resetVf(index); !r) return std::move(r).error();  // FLR; identity checked after it
            w.took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
            if (!before) return w;
            // Provisioning is held by the PF and survives an FLR; should a device lose it, the
            // VF gets it back before it is handed on.
            auto after = device->vfResources(index);
            if (after && *after == *before) return w;
            if (auto r = device->setVfResources(index, *before); !r)
                return std::move(r).error().context("the VF lost its provisioning in the reset, and putting it back failed");
            w.provisioning = "lost in the reset and put back";
            return w;
        },
        [this, info, cardIndex, index, id = *operation, what, done = std::move(done)](Result<Work> work) mutable {
            Result<Outcome> outcome = work ? Result<Outcome>(Outcome{work->took, work->provisioning})
                                           : Result<Outcome>(std::move(work).error().context(what));
            auto recorded = d_.journal.recordEnd(id, outcome ? "ok in " + ms(outcome->took) : "failed: " + outcome.error().message, what,
                                                 [this, key = info.key, index] { d_.changes.end(key, index); });
            if (!recorded) d_.changes.waitForRecord(info.key, index, recorded.error());
            d_.events.publish(Notice{EventType::Reset, outcome ? Severity::Info : Severity::Warning, info.vfLabel(index),
                                     outcome ? "function-level reset in " + ms(outcome->took) + "; provisioning " + outcome->provisioning
                                             : outcome.error().message,
                                     cardIndex, index});
            d_.poller.refresh(cardIndex, [this, key = info.key, index, outcome, recorded = bool(recorded), done = std::move(done)] {
                if (recorded) d_.changes.end(key, index);
                done(outcome);
            });
        });
}

std::string ResetService::restoreResetMethods(unsigned card, const std::string& payload) {
    auto kv = text::parseKeyValues(payload, "reset-card journal payload");
    if (!kv || !kv->count("reset_method")) return "";
    std::vector<std::string> recorded;
    std::istringstream words(kv->at("reset_method"));
    for (std::string w; words >> w;) recorded.push_back(w);
    PciFunction& pf = d_.inventory.device(card)->pf();
    auto now = pf.resetMethods();
    if (now && *now == recorded) return "";
    if (auto r = pf.setResetMethods(recorded); !r) return "; its reset_method could not be put back: " + r.error().message;
    return "; its reset_method is '" + kv->at("reset_method") + "' again";
}

Result<std::string> ResetService::recover(const JournalRow& entry) {
    if (entry.kind == kCardKind) {
        // The card is read at start like every other, and its VF count and provisioning are
        // converged there; the PF's reset_method, which the reset narrows, is put back here.
        const auto card = d_.inventory.findByKey(entry.target);
        std::string outcome = card ? "finished: the card is read again and its VFs put back at start" : "abandoned: the card is not present after restart";
        if (card) outcome += restoreResetMethods(*card, entry.payload);
        if (auto r = d_.journal.finish(entry.id, outcome); !r) return std::move(r).error();
        return "a reset of card " + entry.target + ": " + kFoundUnfinished + "; " + outcome;
    }
    // An FLR completes in the hardware whether or not aismid saw it: what is left to do is to
    // see whether the VF answers as itself again, and say so.
    auto kv = text::parseKeyValues(entry.payload, "reset-vf journal payload");
    auto vf = kv ? text::requireUnsigned(*kv, "vf", "reset-vf journal payload") : Result<uint64_t>(kv.error());
    const auto card = d_.inventory.findByKey(entry.target);
    std::string outcome;
    if (!vf || *vf > 65535) outcome = "abandoned: the entry is damaged";
    else if (!card) outcome = "abandoned: the card is not present after restart";
    else {
        auto address = d_.inventory.device(*card)->vfAddress(static_cast<unsigned>(*vf));
        auto config = address ? PciFunction(d_.inventory.fs(), *address).config() : Result<ConfigSpace>(address.error());
        outcome = config ? "finished: the VF answers after the restart" : "the VF does not answer after the restart: " + config.error().message;
    }
    if (auto r = d_.journal.finish(entry.id, outcome); !r) return std::move(r).error();
    return "a reset of VF " + (vf ? std::to_string(*vf) : std::string("?")) + " of " + entry.target + ": " + kFoundUnfinished + "; " + outcome;
}

}  // namespace aismi
