// What the firmware service's files share: the journal kinds and steps, the journal payload,
// one run's state, and the checks every entry point makes.
#pragma once

#include "device_executor.hpp"
#include "firmware_service.hpp"
#include "snapshot.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace aismi {
namespace firmware_detail {

// Journal kinds: writing the inactive bank, then activating it (try, reset, check, commit or
// roll back). Each is its own entry; a staged update has none open.
inline constexpr const char* kWriteKind = "firmware-write";
inline constexpr const char* kActivateKind = "firmware-activate";
inline constexpr const char* kStepWrite = "write";
inline constexpr const char* kStepArm = "arm";
inline constexpr const char* kStepReset = "reset";
inline constexpr const char* kStepCheck = "check";
inline constexpr const char* kStepCommit = "commit";
inline constexpr const char* kStepRollback = "rollback";

inline constexpr const char* kJobUpdate = "firmware-update";
inline constexpr const char* kJobActivate = "firmware-activate";
inline constexpr const char* kJobRollback = "firmware-rollback";

inline std::vector<std::string> kinds() { return {kWriteKind, kActivateKind}; }

/// "2.0.0 (bank 1)", "nothing (bank 1)" for an erased one.
inline std::string bankText(unsigned bank, const std::string& version) {
    return (version.empty() ? "nothing" : version) + " (bank " + std::to_string(bank) + ")";
}

/// The journal payload: which update, and what the card should run before and after.
struct Payload {
    int64_t update = 0;
    unsigned fromBank = 0, toBank = 0;
    std::string fromVersion, toVersion, sha256;
    std::string reason;  // why a roll-back started, once it has

    static Payload of(const FirmwareUpdate& row, std::string reason = {}) {
        return Payload{row.id, row.fromBank, row.toBank, row.fromVersion, row.toVersion, row.sha256, std::move(reason)};
    }
    std::string encode() const;
    static Result<Payload> decode(const std::string& text);
};

/// The card has the A/B update ABI and answers.
Result<void> requireUpdatable(const CardSnapshot& card, const std::string& what);
/// No try is under way on the card (it runs its committed bank, nothing is armed).
Result<void> requireIdleFirmware(const CardSnapshot& card, const std::string& what);

/// What settles an entry found unfinished at start, by what the card says.
struct Settled {
    FirmwareUpdate::State state = FirmwareUpdate::State::Failed;
    std::string reason;
    bool cardReset = false;  // the card was reset to settle it
};
/// Reads the card (and resets or commits it when that settles the entry): device work only,
/// blocking (start-up, or the card's strand), no store access. An error: not settled.
Result<Settled> settle(Card& device, Fs& fs, const PciAddress& address, const JournalRow& entry, const Payload& p);

}  // namespace firmware_detail

struct FirmwareService::Run {
    enum class Stage { Writing, Staged, Waiting, Activating };
    unsigned card = 0;
    CardInfo info;
    bool force = false;
    FirmwareService::Done done;
    FirmwareUpdate row;
    int64_t job = 0;
    int64_t journal = 0;  // the open journal entry, 0 when none
    Stage stage = Stage::Writing;
    std::shared_ptr<std::atomic<bool>> cancel = std::make_shared<std::atomic<bool>>(false);
    bool cancelWaiting = false;
    std::chrono::steady_clock::time_point checkStarted;
    std::optional<std::chrono::steady_clock::time_point> healthySince;
    std::string lastProblem;
    std::string resetError;  // the last card reset's failure, "" when it worked
    double writeSeconds = 0;
    uint64_t bytes = 0;

    /// "update 3 (writing 2.0.0 to bank 1)".
    std::string describe() const {
        static constexpr const char* kStages[] = {"writing", "staged", "waiting for the card to be idle to activate", "activating"};
        return std::string(firmwareKindName(row.kind)) + " " + std::to_string(row.id) + " (" + kStages[static_cast<int>(stage)] + " " + row.toVersion +
               ", bank " + std::to_string(row.toBank) + ")";
    }
};

// Runs `work` on the card's strand; `then` on the loop, unless the service is gone by then.
template <class T>
void FirmwareService::onCard(const std::string& key, std::function<Result<T>()> work, std::function<void(Result<T>)> then) {
    std::weak_ptr<bool> alive = alive_;
    d_.executor.runOnCard<T>(key, std::move(work), [alive, then = std::move(then)](Result<T> r) {
        if (auto a = alive.lock(); a && *a) then(std::move(r));
    });
}

}  // namespace aismi
