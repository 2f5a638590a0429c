// Provisioning one VF with a profile, and unprovisioning it (the VF then holds nothing): the
// profile is admitted against the card as last read (its capacity less what the other VFs
// hold); desired state and a journal entry are written in one transaction before the device
// is touched; the write runs on the card's strand and is read back; a failure restores
// desired state exactly. Neighbouring VFs are not touched. Also the provisioning phase of
// reconciliation: finishing interrupted changes and re-applying provisioning a card lost (a
// power cycle clears it).
#pragma once

#include "repair_backoff.hpp"

#include "desired_state_repository.hpp"
#include "operation_kind.hpp"
#include "profiles.hpp"
#include "service.hpp"

#include <aismi/device_ref.hpp>
#include <aismi/error.hpp>

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace aismi {

class AssignmentRepository;
class CardChanges;
struct CardInfo;
struct PciAddress;
class Database;
class DeviceExecutor;
class EventBus;
class Inventory;
class JournalRepository;
class PolicyService;
class Poller;
class QuotaRepository;
struct CardSnapshot;

class ProvisionService : public ReconcileParticipant, public Service {
public:
    struct Deps {
        Database& db;
        DesiredStateRepository& desired;
        JournalRepository& journal;
        Inventory& inventory;
        DeviceExecutor& executor;
        Poller& poller;
        EventBus& events;
        CardChanges& changes;
        QuotaRepository& quotas;
        const PolicyService& policies;
        AssignmentRepository& scrubMarks;  // a VF that changes hands waits for its scrub (handover.hpp)
    };
    ProvisionService(Deps deps, std::vector<Profile> profiles) : d_(deps), profiles_(std::move(profiles)) {}

    const std::vector<Profile>& profiles() const { return profiles_; }
    /// The oversubscription policy admission applies to the card with key `cardKey`.
    Oversubscription policy(const std::string& cardKey) const;
    void setProfiles(std::vector<Profile> profiles) { profiles_ = std::move(profiles); }

    using Done = std::function<void(Result<void>)>;
    /// Provisions `vf` with `profile` for `tenant` ("" for none). `done` runs on the loop
    /// thread once the device has it and the snapshot shows it (or with the refusal).
    void provision(const VfRef& vf, const std::string& profile, const std::string& tenant, Done done);
    /// Takes everything back from `vf` (it keeps existing, holding nothing).
    void unprovision(const VfRef& vf, Done done);
    /// Gives several VFs of `card` a profile each ("" empties the VF; no tenant) as one
    /// change: admitted together, desired state and one journal entry in one transaction,
    /// the device writes in one task on the card's strand (VFs that shrink first, then those
    /// that grow, emptied and given their shapes), each read back, then one refresh. If a
    /// write fails, every VF of the batch goes back to what it held: all or nothing.
    void provisionBatch(unsigned card, const std::vector<std::pair<unsigned, std::string>>& profiles, Done done);

    /// How `profile` fits on `card` now: its shape there, and how many more VFs of it the card
    /// admits under its oversubscription policy; `never` says why it can never fit.
    struct Fit {
        std::optional<Resources> shape;
        unsigned more = 0;
        std::string never;
    };
    Fit fit(const CardSnapshot& card, const Profile& profile) const;

    /// The journal payload of a provision-vfs entry: per VF what it gets, the row it had,
    /// and what the device held (restored if the batch fails).
    struct BatchPayload {
        struct Vf {
            unsigned vf = 0;
            DesiredStateRepository::Provisioned next;
            std::optional<DesiredStateRepository::Provisioned> previous;
            Resources before;
        };
        std::vector<Vf> vfs;
        std::string encode() const;
        static Result<BatchPayload> decode(const std::string& text);
    };

    /// The journal payload of a provision-vf entry.
    struct Payload {
        unsigned vf = 0;
        std::optional<DesiredStateRepository::Provisioned> next;      // none: unprovision
        std::optional<DesiredStateRepository::Provisioned> previous;  // restored if it fails
        std::string encode() const;
        static Result<Payload> decode(const std::string& text);
    };

    /// The provisioning aismid keeps for a card's VFs (profile and tenant for the bus).
    std::map<unsigned, DesiredStateRepository::Provisioned> provisionedVfs(const std::string& cardKey);

    /// Adds each VF's profile and tenant to a fresh snapshot (a Poller annotator).
    void annotate(CardSnapshot& card) override;
    /// Watches every poll: when a card's VFs hold other resources than their provisioning
    /// (they came back from a power cycle, a VF count restore) and no change is under way,
    /// re-applies what they lost (RepairBackoff spaces out attempts that do not hold).
    void watch(unsigned card, const CardSnapshot& now);
    /// Re-applies what the card's VFs lost, as one change on its strand. Loop thread.
    void convergeLive(unsigned card);
    /// The VFs of `card` whose resources, as last read, differ from their provisioning.
    std::vector<unsigned> unrestoredVfs(unsigned card);

    // Service
    ReconcileParticipant* reconcileParticipant() override { return this; }
    void cardUpdated(const CardUpdated& poll) override { watch(poll.card, poll.now); }
    void cardReturned(unsigned card) override { convergeLive(card); }
    /// The profiles of profiles.d, read again.
    void reload(const DaemonConfig& config) override;

    // ReconcileParticipant
    Phase phase() const override { return Phase::Provisioning; }
    std::vector<std::string> kinds() const override;
    Result<std::string> recover(const JournalRow& entry) override;
    std::vector<std::string> converge() override;

private:
    void change(const VfRef& vf, std::optional<DesiredStateRepository::Provisioned> next, const std::string& what, Done done);
    Result<void> admit(const CardSnapshot& card, unsigned vf, const Resources& want, const std::string& what) const;
    /// The tenant's quota, counted from desired state without `vf` (in the caller's transaction).
    Result<void> withinQuota(const std::string& cardKey, unsigned vf, const DesiredStateRepository::Provisioned& next);
    /// The device writes that make `card` match desired state: unprovisions first (they free
    /// capacity), then provisions. Blocking (worker or start-up).
    std::vector<std::string> applyDesired(unsigned card);
    Result<std::string> recoverBatch(const JournalRow& entry);
    /// Where each VF that changed hands is (for its scrub on the card's strand), from the
    /// snapshot; VFs whose address does not parse are scrubbed by the next start instead.
    std::map<unsigned, PciAddress> scrubTargets(unsigned card, const std::set<unsigned>& vfs) const;
    /// After the card's strand reset and scrubbed VFs that changed hands (`outcomes`): clears
    /// the marks of those scrubbed and tells what happened; a VF whose scrub failed stays
    /// marked, out of use. Loop thread.
    /// The first failure, for the caller: the change stands, the VF is out of use.
    Result<void> scrubbed(const CardInfo& info, const std::map<unsigned, Result<std::string>>& outcomes);

    Deps d_;
    std::vector<Profile> profiles_;
    RepairBackoff restores_;
};

}  // namespace aismi
