// Setting how many VFs a card has (SR-IOV enable/disable), as a journaled job: the kernel's
// rules are checked against the snapshot; the desired count and a journal entry are written
// in one transaction before the device is touched; the write runs on the card's strand and is
// read back; a failure restores desired state exactly. Also the partition phase of
// reconciliation: finishing interrupted changes, restoring counts a host reboot cleared.
#pragma once

#include "desired_state_repository.hpp"
#include "operation_kind.hpp"
#include "repair_backoff.hpp"
#include "service.hpp"

#include <aismi/error.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <set>
#include <vector>

namespace aismi {

class CardChanges;
class Database;
class DesiredStateRepository;
class DeviceExecutor;
class EventBus;
class Inventory;
class Jobs;
class JournalRepository;
class Poller;
struct CardSnapshot;

inline constexpr const char* kActionManageVfs = "org.aismi.manage-vfs";

class VfCountService : public ReconcileParticipant, public Service {
public:
    struct Deps {
        Database& db;
        DesiredStateRepository& desired;
        JournalRepository& journal;
        Inventory& inventory;
        DeviceExecutor& executor;
        Poller& poller;
        Jobs& jobs;
        EventBus& events;
        CardChanges& changes;
    };
    explicit VfCountService(Deps deps) : d_(deps) {}

    /// The journal payload of a set-vf-count entry.
    struct Payload {
        unsigned count = 0;
        std::optional<unsigned> previousDesired;  // restored if the change fails
        /// The provisioning of the VFs being replaced: forgotten, put back if the change fails.
        std::vector<std::pair<unsigned, DesiredStateRepository::Provisioned>> cleared = {};
        std::string encode() const;
        static Result<Payload> decode(const std::string& text);
    };

    /// Starts a job that sets card's VF count; returns its number at once. `done` (optional)
    /// runs on the loop thread when the job finishes and the snapshot shows the outcome.
    /// With `force`, VFs provisioned for a tenant or bound to vfio-pci do not stop it (they are
    /// destroyed with the others); without, they do.
    Result<int64_t> setVfCount(unsigned card, unsigned count, std::function<void(Result<void>)> done = nullptr, bool force = false);

    /// Checks `count` against the card as last read; nothing is written. Loop thread.
    static Result<void> check(const CardSnapshot& card, unsigned count);

    // ReconcileParticipant
    Phase phase() const override;
    std::vector<std::string> kinds() const override;
    Result<std::string> recover(const JournalRow& entry) override;
    std::vector<std::string> converge() override;

    /// The desired VF count of a card, unless a change of it is under way (health compares
    /// it with what the device has).
    std::optional<unsigned> expectedVfCount(const std::string& cardKey);

    /// A card came back (power cycle, rediscovery): restores its desired count if the device
    /// lost it, as a job, and says so.
    void convergeLive(unsigned card);
    /// Watches every poll: a card that answers with none of its desired VFs (a power cycle, a
    /// reset, a driver reload) gets them back once no change of it is under way (RepairBackoff
    /// spaces out attempts that do not hold).
    void watch(unsigned card, const CardSnapshot& before, const CardSnapshot& now);

    // Service
    ReconcileParticipant* reconcileParticipant() override { return this; }
    void cardUpdated(const CardUpdated& poll) override { watch(poll.card, poll.before, poll.now); }
    void cardReturned(unsigned card) override { convergeLive(card); }

private:
    struct Plan {
        int64_t operation = 0;
        std::string key;
        Payload payload;
    };
    Result<Plan> plan(const CardSnapshot& card, unsigned count, bool force);
    /// Records the outcome (Database::recordEnd); when the store refuses it, the card stays
    /// claimed until the store takes it. Returns whether it landed now.
    bool finish(const Plan& plan, const Result<void>& outcome);

    Deps d_;
    std::vector<std::string> interrupted_;  // keys whose change a crash interrupted (recover -> converge)
    RepairBackoff restores_;
    std::map<std::string, unsigned> noted_;  // cards said to differ from their desired count -> the count seen
};

}  // namespace aismi
