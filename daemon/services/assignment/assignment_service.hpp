// VFs for virtual machines: binding a VF to vfio-pci or back to its host driver, giving it
// to a libvirt domain (a <hostdev managed='no'>) for a tenant within quota, taking it back
// with a function-level reset and a scrub of its memory, and keeping aismid's record and
// libvirt's domains in agreement: lifecycle events, adoption of hostdevs added outside
// aismid, and conflicts reported, never "fixed" by destroying something.
//
// Each VF's assignment row (docs/libvirt.md) is written before anything is touched and
// carries its state: 'assigning' is rolled back and 'releasing' finished by the next
// reconciliation with libvirt, so a crash at any step leaves nothing half-done for long. A
// VF a tenant used is marked for scrubbing in the same transaction that frees it, and
// nobody gets it until the scrub is done. libvirt calls run on a thread of their own, device
// I/O on the card's strand; decisions are made on the loop. Loop thread.
#pragma once

#include "event_type.hpp"
#include "hypervisor.hpp"
#include "assignment_repository.hpp"
#include "operation_kind.hpp"
#include "repair_backoff.hpp"
#include "service.hpp"

#include <aismi/device_ref.hpp>
#include <aismi/error.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace aismi {

class AssignmentRepository;
class CardChanges;
class Database;
class DesiredStateRepository;
class DeviceExecutor;
class EventBus;
class Inventory;
class JournalRepository;
class Poller;
class QuotaRepository;
struct CardSnapshot;

inline constexpr const char* kActionAssignVfs = "org.aismi.assign-vfs";

class AssignmentService : public ReconcileParticipant, public Service {
public:
    struct Deps {
        Database& db;
        DesiredStateRepository& desired;
        AssignmentRepository& assignments;
        QuotaRepository& quotas;
        JournalRepository& journal;
        Inventory& inventory;
        DeviceExecutor& executor;      // device I/O, one strand per card
        DeviceExecutor& libvirtCalls;  // libvirt calls, a thread of their own
        Poller& poller;
        EventBus& events;
        CardChanges& changes;
        boost::asio::io_context& loop;
        std::string managedVfsFile;  // where the VFs aismid manages are listed for the libvirt hook ("" none)
    };
    /// `hypervisor` null: libvirt disabled (--libvirt-uri=none); binding still works. Its
    /// events come in through onHypervisorEvent() on the loop; its calls run on
    /// `Deps::libvirtCalls`, which must be stopped and joined before it is destroyed.
    AssignmentService(Deps deps, Hypervisor* hypervisor);
    ~AssignmentService() override;

    using Done = std::function<void(Result<void>)>;

    enum class DriverChoice { Vfio, Host };
    static std::optional<DriverChoice> parseDriverChoice(const std::string& name);  // "vfio-pci", "host"
    /// Binds `vf` to vfio-pci (its IOMMU group must be viable) or back to the driver the kernel
    /// picks; refused while the VF is assigned. `done` once the snapshot shows the binding.
    void bind(const VfRef& vf, DriverChoice driver, Done done);
    /// Gives `vf` to libvirt domain `domain` for `tenant` ("" : the domain's metadata, else the
    /// VF's provisioning).
    void assign(const VfRef& vf, const std::string& domain, const std::string& tenant, Done done);
    /// Takes `vf` back from its domain (or its holder), resets and scrubs it, returns it to its
    /// host driver; on a VF waiting for a scrub, retries the scrub.
    void release(const VfRef& vf, Done done);
    /// Records `vf` as held by `holder` ("kubelet": aismi-device-plugin's allocations) and
    /// binds it to vfio-pci: it must be provisioned, free, scrubbed, not quarantined and not
    /// critical or lost. Holding it again for the same holder only makes sure of the binding.
    /// Nobody else gets it (assign, bind, another holder) until it is released.
    void hold(const VfRef& vf, const std::string& holder, Done done);
    /// Resets (FLR) and scrubs `vf` where it is: its driver and holder stay. What a holder does
    /// between two consumers (aismi-device-plugin before every container start: handover.hpp).
    /// Refused while a domain has it (its stop or release scrubs it) or a workload runs on it.
    void scrub(const VfRef& vf, Done done);
    static bool validHolderName(const std::string& name);

    /// Whether a domain with this XML may start (the libvirt hook asks at prepare/begin):
    /// "" when it may, else the sentence why not. MalformedData for XML that is not a domain.
    Result<std::string> checkStart(const std::string& domainXml) const;

    /// Connects to libvirt (off the loop) and keeps reconnecting while it is away.
    void start();
    /// An event from the Hypervisor, on the loop thread.
    void onHypervisorEvent(const HypervisorEvent& event);
    bool libvirtEnabled() const { return hypervisor_ != nullptr; }
    bool libvirtConnected() const { return connected_; }
    std::string libvirtUri() const { return hypervisor_ ? hypervisor_->uri() : "none"; }
    /// Runs a full reconciliation with libvirt now (tests, and after a reconnect).
    void reconcileAll();

    /// Adds each VF's domain, assignment state, scrub mark and conflicts to a fresh snapshot.
    void annotate(CardSnapshot& card) override;
    /// Every poll (reconcile on levels): a VF that still waits for its scrub (one failed, or
    /// could not run) and that no domain has, no change is under way on and no workload runs
    /// on is scrubbed again where it is, at once and then after 1, 2, 4 ... 60 s while it fails;
    /// and a reconciliation with libvirt that left work undone runs again, with the same backoff;
    /// and a VF a domain or holder has that is off vfio-pci is bound back to it (rebindConsumed).
    void watch(unsigned card, const CardSnapshot& now);

    // Service
    ReconcileParticipant* reconcileParticipant() override { return this; }
    void cardUpdated(const CardUpdated& poll) override { watch(poll.card, poll.now); }

    // ReconcileParticipant
    Phase phase() const override { return Phase::Assignments; }
    std::vector<std::string> kinds() const override;
    Result<std::string> recover(const JournalRow& entry) override;
    /// Scrubs every VF left waiting for a scrub (a crash between freeing and scrubbing).
    std::vector<std::string> converge() override;

private:
    struct Pending;
    void assignInDomain(std::shared_ptr<Pending> p, Domain domain);
    void finishAssign(std::shared_ptr<Pending> p, Result<void> outcome, bool bound);
    void releaseWith(std::shared_ptr<Pending> p);
    void releaseHeld(const VfRef& ref, std::string holder, Done done);  // by value: reload() replaces held_
    /// Frees a VF its domain no longer has (undefined, or the hostdev removed): scrub, host
    /// driver, row gone. Takes the VF's change claim itself; skips a VF that is busy.
    void freeVf(const Assignment& row, const std::string& why, Done done);
    /// Scrubs a VF in place (its domain stopped; it stays assigned).
    void scrubInPlace(const std::string& cardKey, unsigned vf, const std::string& why);
    /// The one scrub of a VF that is present: claims it, marks it, resets and scrubs it on its
    /// strand (then `toHost`: back to its host driver), clears the mark if that worked.
    /// By value: callers pass text from dirty_, which it reloads.
    void scrubNow(VfRef vf, std::string why, bool toHost, std::string what, Done done);
    void reconcileWith(std::vector<Domain> domains);
    void rebindConsumed(unsigned card, const CardSnapshot& now);
    void rollBackInterrupted(const Assignment& row);
    void completeInterrupted(std::shared_ptr<Pending> p, Assignment row);
    std::vector<std::string> problemsOf(const Assignment& row, const Domain& domain, const std::vector<std::string>& holders);
    std::optional<unsigned> cardOf(const std::string& cardKey) const;
    void scheduleReconnect();
    /// What a step of reconciliation ends with: a failure leaves work for the next one.
    Done leftWorkIfFailed();
    void noteProblems(const std::string& cardKey, unsigned vf, std::vector<std::string> problems);
    /// The card index and VF of an address aismid manages, if it is one.
    std::optional<std::pair<unsigned, unsigned>> ownerOf(const PciAddress& address) const;
    void writeManagedList(const CardSnapshot& fresh);
    void publish(unsigned card, unsigned vf, EventType type, Severity severity, const std::string& message);
    /// Reads card `card` again, then `then` on the loop unless the service is gone by then.
    void afterRefresh(unsigned card, std::function<void()> then);
    /// `work` on the libvirt thread, then `then` on the loop unless the service is gone by then.
    template <class T>
    void viaLibvirt(std::function<Result<T>()> work, std::function<void(Result<T>)> then);
    /// `work` on card `key`'s strand, then `then` on the loop unless the service is gone by then.
    template <class T>
    void onDevice(const std::string& key, std::function<Result<T>()> work, std::function<void(Result<T>)> then);
    /// Re-reads the rows and scrub marks annotate() shows (after every write).
    void reload();
    void refreshCardOf(const std::string& cardKey);

    Deps d_;
    Hypervisor* hypervisor_;
    bool connected_ = false;
    bool connecting_ = false;
    bool reconciling_ = false;     // a listing of the domains is under way
    bool reconcileAgain_ = false;  // and another was asked for meanwhile
    // The last reconciliation left an assignment it could not settle (its VF busy, its card
    // lost, a free, roll-back or scrub that failed): watch() reconciles again, with backoff, until
    // one leaves nothing — a level, not the libvirt event that happened to come.
    bool reconcileLeftWork_ = false;
    RepairBackoff reconcileRetries_;
    unsigned reconnectDelayS_ = 1;
    std::unique_ptr<struct ReconnectTimer> timer_;
    std::map<std::pair<std::string, unsigned>, std::vector<std::string>> problems_;
    std::map<std::string, std::vector<std::string>> managedVfs_;  // card key -> its VFs' addresses, as last written
    std::map<std::pair<std::string, unsigned>, Assignment> rows_;
    std::map<std::pair<std::string, unsigned>, std::string> dirty_;  // -> why it waits for a scrub
    std::map<std::pair<std::string, unsigned>, std::string> held_;   // -> its holder
    RepairBackoff scrubRetries_;   // by "card key/VF"
    RepairBackoff rebindRetries_;  // by "card key/VF"
    std::set<std::pair<std::string, unsigned>> scrubFailed_;  // the last scrub failed: shown even while one is retried
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace aismi
