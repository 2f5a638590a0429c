// After a crash or a power cut: what the card runs decides what the record says. An
// interrupted write is verified or failed; an interrupted activation is committed if the new
// firmware had passed its check, otherwise the card is put back on its committed bank and the
// update recorded as rolled back ("expected X, running Y"). Blocking at start-up; an entry the
// start could not settle (the card did not answer, its reset failed) is tried again at every
// poll, on the card's strand, until it is.
#include "firmware_internal.hpp"

#include "database.hpp"
#include "event_bus.hpp"
#include "events.hpp"
#include "inventory.hpp"
#include "journal_repository.hpp"
#include "log.hpp"
#include "poller.hpp"

#include <aismi/card.hpp>
#include <aismi/firmware_upload.hpp>
#include <aismi/text.hpp>

namespace aismi {

using namespace firmware_detail;

namespace firmware_detail {

std::string Payload::encode() const {
    PayloadWriter w;
    w.add("update", static_cast<uint64_t>(update)).add("from_bank", fromBank).add("from_version", fromVersion).add("to_bank", toBank).add("to_version", toVersion);
    if (!sha256.empty()) w.add("sha256", sha256);
    if (!reason.empty()) w.add("reason", reason);
    return w.str();
}

Result<Payload> Payload::decode(const std::string& text) {
    constexpr const char* what = "firmware journal payload";
    auto kv = text::parseKeyValues(text, what);
    if (!kv) return std::move(kv).error();
    Payload p;
    auto id = text::requireUnsigned(*kv, "update", what);
    auto from = text::requireUnsigned(*kv, "from_bank", what);
    auto to = text::requireUnsigned(*kv, "to_bank", what);
    auto fromVersion = text::requireString(*kv, "from_version", what);
    auto toVersion = text::requireString(*kv, "to_version", what);
    if (!id) return std::move(id).error();
    if (!from) return std::move(from).error();
    if (!to) return std::move(to).error();
    if (!fromVersion) return std::move(fromVersion).error();
    if (!toVersion) return std::move(toVersion).error();
    if (*from > 1 || *to > 1 || *id == 0 || *id > static_cast<uint64_t>(INT64_MAX))
        return makeError(Errc::MalformedData, std::string(what) + ": a bank is not 0 or 1, or the update number is out of range");
    p.update = static_cast<int64_t>(*id);
    p.fromBank = static_cast<unsigned>(*from);
    p.toBank = static_cast<unsigned>(*to);
    p.fromVersion = *fromVersion;
    p.toVersion = *toVersion;
    if (auto s = kv->find("sha256"); s != kv->end()) p.sha256 = s->second;
    if (auto r = kv->find("reason"); r != kv->end()) p.reason = r->second;
    return p;
}

Result<void> requireUpdatable(const CardSnapshot& card, const std::string& what) {
    if (card.lost) return makeError(Errc::DeviceLost, what + ": the card does not answer");
    if (card.info.genericMode || !card.firmware) return makeError(Errc::NotSupported, what + ": the card has no aismi vendor ABI (generic mode): its firmware is not ours to update");
    if (!card.firmware->updatable)
        return makeError(Errc::NotSupported, what + ": the card's driver reports no A/B firmware banks (boot_bank, try_bank): it cannot be updated safely");
    return {};
}

Result<void> requireIdleFirmware(const CardSnapshot& card, const std::string& what) {
    const FirmwareState& fw = *card.firmware;
    if (fw.activeBank != fw.bootBank || fw.tryBank)
        return makeError(Errc::Busy, what + ": the card is trying bank " + std::to_string(fw.tryBank.value_or(fw.activeBank)) +
                                         " and has not committed it; 'aismi firmware rollback' or a restart of aismid settles it first");
    return {};
}

Settled settledAs(FirmwareUpdate::State state, std::string reason) { return Settled{state, std::move(reason), false}; }

Result<Settled> settle(Card& device, Fs& fs, const PciAddress& address, const JournalRow& entry, const Payload& p) {
    auto fw = device.firmware();
    // A card that does not answer (still without power?) cannot say what it runs: tried again.
    if (!fw) return makeError(Errc::DeviceLost, "cannot tell what the card runs: " + fw.error().message);
    const std::string expected = bankText(p.toBank, p.toVersion);
    const std::string running = bankText(fw->activeBank, fw->activeVersion());

    if (entry.kind == kWriteKind) {
        // An upload the device may still be working on: stop it if it can, else let it end.
        if (auto upload = FirmwareUpload::find(fs, address)) {
            if (auto s = upload->status(); s && s->phase != "idle") {
                (void)upload->cancel();
                FirmwareUpload::Wait how;
                how.timeout = std::chrono::minutes(10);
                (void)upload->wait(how);
                if (auto again = device.firmware()) fw = std::move(again);
            }
        }
        const FirmwareBank& bank = fw->banks[p.toBank];
        if (bank.integrityOk && bank.version == p.toVersion && bank.sha256 == p.sha256 && fw->activeBank != p.toBank)
            return settledAs(FirmwareUpdate::State::Staged, "bank " + std::to_string(p.toBank) + " was written before the restart and reads back right; staged, not activated ('aismi firmware activate' runs it)");
        return settledAs(FirmwareUpdate::State::Failed, "writing bank " + std::to_string(p.toBank) + " did not finish; the card runs " + running);
    }

    const bool onNew = fw->activeBank == p.toBank && fw->activeVersion() == p.toVersion;
    if (onNew && fw->bootBank == p.toBank) return settledAs(FirmwareUpdate::State::Committed, "the card runs and boots " + expected);
    if (onNew && entry.step == kStepCommit) {
        // It had passed its health check; the commit may not have reached the card.
        if (auto c = device.commitFirmware(); !c) return std::move(c).error();
        return settledAs(FirmwareUpdate::State::Committed, "it had passed its health check; committed " + expected + " after the restart");
    }
    if (onNew) {
        // Its health check did not finish: back to the committed bank, as the check would have.
        (void)device.armFirmwareTry(std::nullopt);
        if (auto r = device.resetCard(); !r) return std::move(r).error().context("putting the card back on its committed bank");
        auto after = device.firmware();
        if (!after) return std::move(after).error();
        const std::string now = bankText(after->activeBank, after->activeVersion());
        Settled s = after->activeBank != p.fromBank
                        ? settledAs(FirmwareUpdate::State::Failed, "its health check did not finish; rolling back did not work: running " + now)
                        : settledAs(FirmwareUpdate::State::RolledBack, "its health check did not finish; expected " + expected + ", rolled back to " + now);
        s.cardReset = true;
        return s;
    }
    if (fw->tryBank) (void)device.armFirmwareTry(std::nullopt);  // a try armed before the reset: not wanted any more
    if (entry.step == kStepArm && fw->activeBank == p.fromBank) {
        // The card was never reset: the new firmware is still staged.
        if (p.sha256.empty()) return settledAs(FirmwareUpdate::State::Failed, "interrupted before the card was reset; it runs " + running);
        return settledAs(FirmwareUpdate::State::Staged, "its activation was interrupted before the card was reset; " + p.toVersion + " stays staged in bank " + std::to_string(p.toBank));
    }
    std::string reason = p.reason.empty() ? std::string() : p.reason + "; ";
    if (fw->lastTry == FirmwareTry::FellBack && entry.step != kStepRollback) reason += "the new firmware did not boot and the card fell back; ";
    return settledAs(FirmwareUpdate::State::RolledBack, reason + "expected " + expected + ", running " + running);
}

}  // namespace firmware_detail

namespace {
std::string recoveryWhat(const JournalRow& entry) {
    return (entry.kind == kWriteKind ? "a firmware write to " : "a firmware activation on ") + entry.target;
}
}  // namespace

Result<std::string> FirmwareService::record(const JournalRow& entry, int64_t update, const Settled& s) {
    if (auto r = d_.db.transaction([&]() -> Result<void> {
            if (auto u = d_.updates.set(update, s.state, s.reason); !u) return u;
            return d_.journal.finish(entry.id, std::string(firmwareStateName(s.state)) + ": " + s.reason);
        });
        !r)
        return std::move(r).error();
    return recoveryWhat(entry) + " (update " + std::to_string(update) + "): " + kFoundUnfinished + "; " + std::string(firmwareStateName(s.state)) + ": " + s.reason;
}

Result<std::string> FirmwareService::recover(const JournalRow& entry) {
    auto p = Payload::decode(entry.payload);
    if (!p) return abandon(d_.journal, entry, recoveryWhat(entry), "its entry is damaged (" + p.error().message + ")");
    const auto card = d_.inventory.findByKey(entry.target);
    if (!card) return record(entry, p->update, settledAs(FirmwareUpdate::State::Failed, kCardGoneAfterRestart));
    auto settled = settle(*d_.inventory.device(*card), d_.inventory.fs(), d_.inventory.info(*card).address, entry, *p);
    if (!settled) {
        // Not settled (the card does not answer, its reset fails): tried again at every poll,
        // and no firmware change starts on the card until it is (retryUnsettled).
        unsettled_[entry.target] = Unsettled{entry, p->update, settled.error().message, false};
        return std::move(settled).error().context("tried again at every poll");
    }
    if (settled->cardReset) resetByRecovery_.push_back(*card);
    return record(entry, p->update, *settled);
}

void FirmwareService::retryUnsettled(unsigned card, const CardSnapshot& now) {
    auto it = unsettled_.find(now.info.key);
    if (it == unsettled_.end() || it->second.retrying || now.lost || !retries_.attempt(now.info.key)) return;
    it->second.retrying = true;
    const JournalRow entry = it->second.entry;
    auto decoded = Payload::decode(entry.payload);  // it decoded at start
    if (!decoded) return;
    const Payload payload = *decoded;
    onCard<Settled>(
        now.info.key,
        [device = d_.inventory.device(card), fs = &d_.inventory.fs(), address = now.info.address, entry, payload] { return settle(*device, *fs, address, entry, payload); },
        [this, key = now.info.key, label = now.info.label(), card, entry, payload](Result<Settled> settled) {
            auto it = unsettled_.find(key);
            if (it == unsettled_.end()) return;
            if (!settled) {
                it->second.retrying = false;
                it->second.why = settled.error().message;
                return;
            }
            auto recorded = record(entry, payload.update, *settled);
            if (!recorded) {
                it->second.retrying = false;
                it->second.why = "the store did not take its end: " + recorded.error().message;
                return;
            }
            retries_.settled(key);
            log::info(label + ": " + *recorded);
            d_.events.publish(Notice{EventType::Firmware, Severity::Info, label, *recorded, card});
            // New changes wait until the card's snapshot shows what settled it (a reset).
            d_.poller.refresh(card, [this, key] { unsettled_.erase(key); });
        });
}

Result<void> FirmwareService::requireSettled(const std::string& cardKey, const std::string& what) const {
    auto it = unsettled_.find(cardKey);
    if (it == unsettled_.end()) return {};
    return makeError(Errc::Busy, what + ": " + recoveryWhat(it->second.entry) + " (update " + std::to_string(it->second.update) + "), " +
                                     kFoundUnfinished + ", is not settled yet (" + it->second.why + "); aismid tries again at every poll");
}

}  // namespace aismi
