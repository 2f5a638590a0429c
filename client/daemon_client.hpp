// The CLI's only way to the cards: aismid on the system bus (DBUS_SYSTEM_BUS_ADDRESS may
// point it at another bus). Failures come back as aismi Errors with a sentence to act on.
#pragma once

#include "bus_inventory.hpp"

#include <aismi/error.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sdbus {
class IConnection;
}

namespace aismi::client {

class DaemonClient {
public:
    /// The local system bus, or with `host` ("[USER@]HOST[:PORT]") the system bus of another
    /// machine over SSH (sd-bus' remote transport: ssh there runs systemd-stdio-bridge), where
    /// that machine's polkit decides what the SSH user may change.
    static Result<std::unique_ptr<DaemonClient>> connect(const std::optional<std::string>& host = std::nullopt);
    ~DaemonClient();

    /// Everything in one round trip (ObjectManager.GetManagedObjects) plus the manager's own
    /// properties.
    Result<Inventory> fetch();
    /// Only what the summary table shows (Manager1.GetSummary: typed rows, one round trip),
    /// as the same property bags fetch() gives.
    Result<Inventory> fetchSummary();
    /// Typed columns (Manager1.Query) for the objects of `interface`: only `properties` (all
    /// when empty), one round trip, into `into` as property bags in the daemon's order.
    Result<void> query(const std::string& interface, const std::vector<std::string>& properties, std::vector<BusObject>& into);
    /// The manager's own properties (version, backend, ...).
    Result<void> readManager(Inventory& inv);

    /// Starts a VF count change as a job; `progress` is told the job's percentage as it moves.
    /// Returns when the job has finished, with its outcome.
    /// `force`: VFs in use (provisioned for a tenant, bound to vfio-pci) are replaced too.
    Result<void> setVfCount(const std::string& cardPath, unsigned count, const std::function<void(unsigned)>& progress, bool force = false);
    /// What applying a layout would do (Card1.PlanLayout); nothing changes.
    Result<std::string> planLayout(const std::string& cardPath, const std::string& layout);
    /// Applies a layout as a job and waits for it, like setVfCount.
    Result<void> applyLayout(const std::string& cardPath, const std::string& layout, const std::function<void(unsigned)>& progress);

    /// The object path of a VF named as CARD:VF or by PCI address (aismid resolves it).
    Result<std::string> findVf(const std::string& id);
    /// Provisions (or, with an empty profile, unprovisions) a VF; returns once the device has it.
    Result<void> provision(const std::string& vfPath, const std::string& profile, const std::string& tenant);
    Result<void> unprovision(const std::string& vfPath);
    /// A function-level reset of one VF (VirtualFunction1.Reset); how long it took, in us.
    Result<uint64_t> resetVf(const std::string& vfPath, bool force);
    /// A reset of a whole card (Card1.Reset); how long it took, in us.
    Result<uint64_t> resetCard(const std::string& cardPath, bool force);
    /// Takes a VF out of use (VirtualFunction1.Quarantine).
    Result<void> quarantine(const std::string& vfPath, const std::string& reason);
    /// Takes a VF out of quarantine (VirtualFunction1.Unquarantine).
    Result<void> unquarantine(const std::string& vfPath);
    /// VirtualFunction1.BindDriver: "vfio-pci" or "host".
    Result<void> bindDriver(const std::string& vfPath, const std::string& driver);
    /// VirtualFunction1.Assign: gives the VF to a libvirt domain.
    Result<void> assign(const std::string& vfPath, const std::string& domain, const std::string& tenant);
    /// VirtualFunction1.Release: takes it back, reset and scrubbed.
    Result<void> release(const std::string& vfPath);
    /// VirtualFunction1.Scrub: resets and scrubs the VF where it is (its holder keeps it).
    Result<void> scrub(const std::string& vfPath);
    /// VirtualFunction1.Hold: records the VF as held by `holder`, bound to vfio-pci.
    Result<void> hold(const std::string& vfPath, const std::string& holder);

    /// Card1.UpdateFirmware: the image as the file descriptor `fd` (the caller keeps it);
    /// returns the job's path once aismid has checked the image.
    struct FirmwareOptions {
        std::string activate;  // now, idle, never; "" for aismid's default
        bool allowOlder = false;
        bool force = false;
        bool allowReinstall = false;
    };
    Result<std::string> updateFirmware(const std::string& cardPath, int fd, const FirmwareOptions& options);
    /// Card1.ActivateFirmware / RollbackFirmware: the job's path.
    Result<std::string> activateFirmware(const std::string& cardPath, bool force, bool rollback);
    struct FirmwareUpdateRow {
        uint64_t id = 0, job = 0;
        std::string kind, fromVersion;
        uint32_t fromBank = 0;
        std::string toVersion;
        uint32_t toBank = 0;
        std::string activate, state, reason;
        uint64_t started = 0, finished = 0;
    };
    Result<std::vector<FirmwareUpdateRow>> listFirmwareUpdates(const std::string& cardPath, uint32_t limit);
    /// Follows a job until it ends; `progress` is told its percentage as it moves.
    Result<void> waitForJob(const std::string& jobPath, const std::function<void(unsigned)>& progress);

    /// One profile as it stands on a card (Card1.ListProfiles).
    struct ProfileFit {
        std::string name;
        uint32_t computeUnits = 0;
        uint32_t burstUnits = 0;  // the burst cap (computeUnits when it does not burst)
        uint64_t memoryMib = 0;
        uint32_t engines = 0;
        uint32_t weight = 1;
        uint32_t more = 0;   // VFs of it that fit now
        std::string never;   // why it never fits this card ("" when it can)
    };
    Result<std::vector<ProfileFit>> listProfiles(const std::string& cardPath);
    /// Card1.SetOversubscription: either ratio in hundredths (nullopt: unchanged).
    Result<void> setOversubscription(const std::string& cardPath, std::optional<uint32_t> compute, std::optional<uint32_t> memory);

    /// Manager1.SetRecoveryPolicy: what is given changes, the rest stays.
    struct RecoveryChange {
        std::optional<bool> autoReset, autoCardReset;
        std::optional<std::pair<unsigned, unsigned>> resetGuard, cardResetBudget;
    };
    Result<void> setRecoveryPolicy(const RecoveryChange& change);

    /// Tenant quotas (Manager1.UpdateQuota/RemoveQuota/ListQuotas).
    struct QuotaRow {
        std::string tenant;
        uint64_t maxVfs = 0;
        std::optional<uint64_t> maxComputeUnits, maxMemoryMib;  // nullopt: no limit
        uint64_t vfs = 0, computeUnits = 0, memoryMib = 0;      // what the tenant holds
    };
    /// The limits to change (the others stay): a value, or kRemoveLimit for compute and memory.
    struct QuotaChange {
        std::optional<uint64_t> maxVfs, maxComputeUnits, maxMemoryMib;
    };
    static constexpr uint64_t kRemoveLimit = ~uint64_t{0};
    Result<void> updateQuota(const std::string& tenant, const QuotaChange& change);
    Result<void> removeQuota(const std::string& tenant);
    Result<std::vector<QuotaRow>> listQuotas();

    /// One row of the event history (Manager1.ListEvents, or an Event signal).
    struct EventRow {
        uint64_t id = 0;
        int64_t at = 0;  // unix seconds
        std::string type, severity;
        std::optional<uint32_t> card, vf;  // nullopt: not about one
        std::string address, device, message;
    };
    struct EventQuery {
        std::optional<int64_t> since;
        std::optional<uint32_t> card;
        std::vector<std::string> types;
        uint32_t limit = 0;  // 0: aismid's default
    };
    Result<std::vector<EventRow>> listEvents(const EventQuery& q);
    /// Subscribes to Manager1.Event, runs `subscribed` (what happened before: signals that
    /// arrive meanwhile wait), then hands every event to `onEvent` until aismid leaves the
    /// bus, which is an error.
    Result<void> followEvents(const std::function<Result<void>()>& subscribed, const std::function<bool(const EventRow&)>& onEvent);

    /// Reads every card and VF once, then keeps them current from aismid's PropertiesChanged
    /// signals (no polling; cards or VFs added or removed are read again). Every `interval`
    /// hands the current state to `onTick`, until it returns false. aismid leaving the bus is
    /// an error. With `eachChange`, `onTick` also runs as soon as a signal changed something.
    Result<void> watch(std::chrono::milliseconds interval, const std::function<bool(const Inventory&)>& onTick, bool eachChange = false);

private:
    /// Calls a method of VirtualFunction1 that returns nothing; `what` names it in errors.
    template <class... Args>
    Result<void> callVf(const std::string& vfPath, const char* method, const char* what, const Args&... args);
    Result<uint64_t> reset(const std::string& path, const char* interface, bool force);
    explicit DaemonClient(std::unique_ptr<sdbus::IConnection> c);
    std::unique_ptr<sdbus::IConnection> connection_;
};

}  // namespace aismi::client
