// Firmware updates you can trust (docs/firmware.md). An image is refused before anything
// touches the card unless it parses, is signed by a trusted key, fits the card and is not
// older than what runs. Then, as a journaled job: the inactive bank is written through the
// firmware-upload class with progress and read back (hash, version, integrity); activation
// arms a one-shot try of that bank and resets the card; the card must come back running the
// new version and stay healthy for a while before the bank is committed. Otherwise the card is
// reset once more onto its committed bank (the try is one-shot: it falls back by itself) and
// the update is recorded as rolled back, with the reason. After a crash or a power cut,
// recovery compares the device with the journal and records what the card really runs.
// Loop thread.
#pragma once

#include "firmware_repository.hpp"
#include "journal_repository.hpp"
#include "operation_kind.hpp"
#include "repair_backoff.hpp"
#include "service.hpp"

#include <aismi/error.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace aismi {

class CardChanges;
class Database;
class DeviceExecutor;
class EventBus;
class Inventory;
class Jobs;
class JournalRepository;
class Poller;
class ResetService;
struct CardSnapshot;
namespace firmware_detail {
struct Settled;
}

inline constexpr const char* kActionUpdateFirmware = "org.aismi.update-firmware";

/// The trusted public keys in `dir` (every *.pem): ConfigInvalid when there are none or one
/// cannot be read.
Result<std::vector<std::string>> loadTrustedKeys(const std::string& dir);

class FirmwareService : public ReconcileParticipant, public Service {
public:
    struct Deps {
        Database& db;
        FirmwareRepository& updates;
        JournalRepository& journal;
        Inventory& inventory;
        DeviceExecutor& executor;
        Poller& poller;
        Jobs& jobs;
        EventBus& events;
        ResetService& resets;
        boost::asio::io_context& io;
    };
    struct Settings {
        std::string keysDir = "/etc/aismi/firmware-keys.d";
        /// How long new firmware must run healthy before it is committed; it gets
        /// max(3 x this, 30 s) to come up at all.
        std::chrono::milliseconds check{std::chrono::seconds(10)};
        std::chrono::milliseconds checkEvery{std::chrono::milliseconds(250)};
    };
    FirmwareService(Deps deps, Settings settings);
    ~FirmwareService() override;

    /// What the checks of an image found (checkImage): its identity and the hash its header
    /// states and its payload has. The checks read every byte (a SHA-256, an Ed25519
    /// verification): ~180 ms for 256 MiB, so they run on a worker, never the loop.
    struct CheckedImage {
        uint16_t vendor = 0, device = 0;
        std::string version;
        std::string sha256;  // hex
    };
    /// Parses `bytes` and verifies their signature against the keys in `keysDir`; blocking.
    static Result<CheckedImage> checkImage(const std::vector<uint8_t>& bytes, const std::string& keysDir);

    struct UpdateRequest {
        unsigned card = 0;
        std::vector<uint8_t> image;
        FirmwareUpdate::Activation activate = FirmwareUpdate::Activation::Idle;
        bool allowOlder = false;
        bool force = false;  // activate now although VFs are in use
        bool allowReinstall = false;  // the version that runs already (fwupd's word)
        std::optional<CheckedImage> checked = {};  // when a worker checked `image` already
    };
    using Done = std::function<void(Result<void>)>;
    /// Checks the image and starts the update job; returns the job's number at once. `done`
    /// (optional) runs on the loop when the job ends.
    Result<int64_t> update(UpdateRequest request, Done done = nullptr);
    /// Reads the image from `fd` (a regular file the caller opened; this takes it and closes
    /// it) and checks it on a worker of its own per card, so that a large image never stalls the
    /// loop and a read that never returns (a FUSE file) holds up no other card, then update().
    /// `started` gets the job's number or why the image was refused.
    void updateFromFd(int fd, UpdateRequest request, std::function<void(Result<int64_t>)> started, Done done = nullptr);
    /// Activates the card's staged update (written with --activate=never, or waiting for idle).
    Result<int64_t> activate(unsigned card, bool force, Done done = nullptr);
    /// Switches the card to its other bank (which must hold a valid image), the same way.
    Result<int64_t> rollback(unsigned card, bool force, Done done = nullptr);

    /// Updates, newest first (`card` nullopt: every card).
    Result<std::vector<FirmwareUpdate>> history(std::optional<unsigned> card, unsigned limit);
    /// The card's staged or running update, if any.
    std::optional<FirmwareUpdate> pending(unsigned card);

    /// Polls: a staged update waiting for the card to be idle starts when it is; an entry found
    /// unfinished at start that could not be settled then is tried again (retryUnsettled).
    void watch(unsigned card, const CardSnapshot& now);

    // Service
    ReconcileParticipant* reconcileParticipant() override { return this; }
    void cardUpdated(const CardUpdated& poll) override { watch(poll.card, poll.now); }

    // ReconcileParticipant
    Phase phase() const override { return Phase::FirmwareJobs; }
    std::vector<std::string> kinds() const override;
    Result<std::string> recover(const JournalRow& entry) override;
    std::vector<std::string> converge() override { return {}; }
    /// Cards recovery reset (to put them back on their committed bank): their VFs and
    /// provisioning need putting back, as after any card reset.
    const std::vector<unsigned>& cardsResetByRecovery() const { return resetByRecovery_; }

private:
    struct Run;  // one update, activation or rollback under way
    /// An entry found unfinished at start whose recovery failed (the card did not answer, its
    /// reset failed): level-triggered, it is settled by a later poll, on the card's strand
    /// (RepairBackoff spaces the attempts); until then no firmware change starts on the card.
    struct Unsettled {
        JournalRow entry;
        int64_t update = 0;
        std::string why;  // the last attempt's error
        bool retrying = false;
    };
    void retryUnsettled(unsigned card, const CardSnapshot& now);
    /// Busy, naming the entry, while one of the card's is unsettled.
    Result<void> requireSettled(const std::string& cardKey, const std::string& what) const;
    /// The settled entry's end: its update's state and the journal entry closed, together.
    Result<std::string> record(const JournalRow& entry, int64_t update, const firmware_detail::Settled& s);
    Result<int64_t> startActivation(unsigned card, FirmwareUpdate row, bool force, Done done, const char* jobKind);
    void write(std::shared_ptr<Run> run, std::vector<uint8_t> image);
    void staged(std::shared_ptr<Run> run);
    void arm(std::shared_ptr<Run> run);
    void resetCard(std::shared_ptr<Run> run, std::function<void()> then, unsigned attempt = 0);
    void check(std::shared_ptr<Run> run);
    void commit(std::shared_ptr<Run> run);
    void rollBack(std::shared_ptr<Run> run, std::string reason);
    void finishRolledBack(std::shared_ptr<Run> run, const std::string& reason);
    /// Records the run (a new row, or its row moved on) and opens its journal entry, in one transaction.
    Result<void> begin(Run& run, const char* kind, const char* step);
    void end(std::shared_ptr<Run> run, FirmwareUpdate::State state, const std::string& reason, Result<void> outcome);
    /// Ends the run's job (and calls its `done`) once the card's snapshot is read again.
    void finishJob(std::shared_ptr<Run> run, Result<void> outcome);
    void after(std::chrono::milliseconds delay, std::function<void()> then);
    template <class T>
    void onCard(const std::string& key, std::function<Result<T>()> work, std::function<void(Result<T>)> then);

    Deps d_;
    Settings s_;
    std::map<std::string, std::shared_ptr<Run>> runs_;  // by card key: one at a time per card
    std::vector<unsigned> resetByRecovery_;
    std::map<std::string, Unsettled> unsettled_;  // by card key
    RepairBackoff retries_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace aismi
