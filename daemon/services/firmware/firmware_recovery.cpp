// After a crash or a power cut: what the card runs decides what the record says. An
// interrupted write is verified or failed; an interrupted activation is committed if the new
// firmware had passed its check, otherwise the card is put back on its committed bank and the
// update recorded as rolled back ("expected X, running Y"). Blocking: start-up only.
#include "firmware_internal.hpp"

#include "database.hpp"
#include "inventory.hpp"
#include "journal_repository.hpp"

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

}  // namespace firmware_detail

Result<std::string> FirmwareService::recover(const JournalRow& entry) {
    const std::string what = (entry.kind == kWriteKind ? "a firmware write to " : "a firmware activation on ") + entry.target;
    auto p = Payload::decode(entry.payload);
    if (!p) return abandon(d_.journal, entry, what, "its entry is damaged (" + p.error().message + ")");
    const auto record = [&](FirmwareUpdate::State state, const std::string& reason) -> Result<std::string> {
        if (auto r = d_.db.transaction([&]() -> Result<void> {
                if (auto s = d_.updates.set(p->update, state, reason); !s) return s;
                return d_.journal.finish(entry.id, std::string(firmwareStateName(state)) + ": " + reason);
            });
            !r)
            return std::move(r).error();
        return what + " (update " + std::to_string(p->update) + "): " + kFoundUnfinished + "; " + std::string(firmwareStateName(state)) + ": " + reason;
    };
    const auto card = d_.inventory.findByKey(entry.target);
    if (!card) return record(FirmwareUpdate::State::Failed, kCardGoneAfterRestart);
    auto device = d_.inventory.device(*card);
    auto fw = device->firmware();
    // A card that does not answer (still without power?) cannot say what it runs: the entry
    // stays open for the next start.
    if (!fw) return makeError(Errc::DeviceLost, "cannot tell what the card runs: " + fw.error().message);
    const std::string expected = bankText(p->toBank, p->toVersion);
    const std::string running = bankText(fw->activeBank, fw->activeVersion());

    if (entry.kind == kWriteKind) {
        // An upload the device may still be working on: stop it if it can, else let it end.
        if (auto upload = FirmwareUpload::find(d_.inventory.fs(), d_.inventory.info(*card).address)) {
            if (auto s = upload->status(); s && s->phase != "idle") {
                (void)upload->cancel();
                FirmwareUpload::Wait how;
                how.timeout = std::chrono::minutes(10);
                (void)upload->wait(how);
                if (auto again = device->firmware()) fw = std::move(again);
            }
        }
        const FirmwareBank& bank = fw->banks[p->toBank];
        if (bank.integrityOk && bank.version == p->toVersion && bank.sha256 == p->sha256 && fw->activeBank != p->toBank)
            return record(FirmwareUpdate::State::Staged, "bank " + std::to_string(p->toBank) + " was written before the restart and reads back right; staged, not activated ('aismi firmware activate' runs it)");
        return record(FirmwareUpdate::State::Failed, "writing bank " + std::to_string(p->toBank) + " did not finish; the card runs " + running);
    }

    const bool onNew = fw->activeBank == p->toBank && fw->activeVersion() == p->toVersion;
    if (onNew && fw->bootBank == p->toBank) return record(FirmwareUpdate::State::Committed, "the card runs and boots " + expected);
    if (onNew && entry.step == kStepCommit) {
        // It had passed its health check; the commit may not have reached the card.
        if (auto c = device->commitFirmware(); !c) return std::move(c).error();
        return record(FirmwareUpdate::State::Committed, "it had passed its health check; committed " + expected + " after the restart");
    }
    if (onNew) {
        // Its health check did not finish: back to the committed bank, as the check would have.
        (void)device->armFirmwareTry(std::nullopt);
        if (auto r = device->resetCard(); !r) return std::move(r).error().context("putting the card back on its committed bank");
        resetByRecovery_.push_back(*card);
        auto after = device->firmware();
        if (!after) return std::move(after).error();
        const std::string now = bankText(after->activeBank, after->activeVersion());
        if (after->activeBank != p->fromBank) return record(FirmwareUpdate::State::Failed, "its health check did not finish; rolling back did not work: running " + now);
        return record(FirmwareUpdate::State::RolledBack, "its health check did not finish; expected " + expected + ", rolled back to " + now);
    }
    if (fw->tryBank) (void)device->armFirmwareTry(std::nullopt);  // a try armed before the reset: not wanted any more
    if (entry.step == kStepArm && fw->activeBank == p->fromBank) {
        // The card was never reset: the new firmware is still staged.
        if (p->sha256.empty()) return record(FirmwareUpdate::State::Failed, "interrupted before the card was reset; it runs " + running);
        return record(FirmwareUpdate::State::Staged, "its activation was interrupted before the card was reset; " + p->toVersion + " stays staged in bank " + std::to_string(p->toBank));
    }
    std::string reason = p->reason.empty() ? std::string() : p->reason + "; ";
    if (fw->lastTry == FirmwareTry::FellBack && entry.step != kStepRollback) reason += "the new firmware did not boot and the card fell back; ";
    return record(FirmwareUpdate::State::RolledBack, reason + "expected " + expected + ", running " + running);
}

}  // namespace aismi
