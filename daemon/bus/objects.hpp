// The adaptors, one per object kind (manager_object.cpp, card_object.cpp, vf_object.cpp,
// job_object.cpp): each registers its interface from the property table, has each service
// register its methods (*_methods.cpp), and turns what happened into PropertiesChanged /
// InterfacesAdded / InterfacesRemoved.
#pragma once

#include "bus_context.hpp"

#include <map>
#include <memory>
#include <vector>

namespace sdbus {
class IObject;
class MethodCall;
}  // namespace sdbus

namespace aismi {
struct CardSnapshot;
struct VfSnapshot;
struct Job;
struct StoredEvent;
}  // namespace aismi

namespace aismi::bus {
struct ManagerState;
class ManagerObject;
}  // namespace aismi::bus

namespace aismi::bus {

/// Runs a method body; anything it throws that is not already a D-Bus error becomes
/// org.aismi.Error.Internal, so no exception leaves a handler.
void guarded(sdbus::MethodCall& call, const std::function<void()>& body);

/// Reads an options dictionary whose only option is `force` (a boolean): its value, false when
/// absent; anything else is InvalidArgument naming `method`.
bool forceOption(sdbus::MethodCall& call, const std::string& method);

/// Says InterfacesRemoved (unless the bus is gone).
void sayRemoved(sdbus::IObject& object);
/// Says InterfacesRemoved and unregisters the object.
void withdraw(sdbus::IObject& object);

// Each service's methods, registered by its one file on the objects it has methods on
// (method_registration.hpp). The adaptors call them; they register no method themselves.

/// Manager1's FindCard, FindVirtualFunction, GetSummary, Query and ListJobs (query_methods.cpp).
void registerQueryMethods(sdbus::IObject& manager, BusContext& ctx);
/// Card1's SetVfCount (and Async, WithOptions), PlanLayout, ApplyLayout, ListProfiles,
/// SetOversubscription; VirtualFunction1's Provision and Unprovision (partition_methods.cpp).
void registerPartitionMethods(sdbus::IObject& card, BusContext& ctx, unsigned cardIndex);
void registerPartitionMethods(sdbus::IObject& vf, BusContext& ctx, VfRef ref);
/// Manager1's SetQuota, UpdateQuota, RemoveQuota and ListQuotas (quota_methods.cpp).
void registerQuotaMethods(sdbus::IObject& manager, BusContext& ctx);
/// Manager1's SetRecoveryPolicy; Card1.Reset; VirtualFunction1's Reset, Quarantine and
/// Unquarantine (recovery_methods.cpp).
void registerRecoveryMethods(sdbus::IObject& manager, BusContext& ctx, ManagerObject& adaptor);
void registerRecoveryMethods(sdbus::IObject& card, BusContext& ctx, unsigned cardIndex);
void registerRecoveryMethods(sdbus::IObject& vf, BusContext& ctx, VfRef ref);
/// VirtualFunction1's BindDriver, Assign, Release, Hold and Scrub; Manager1.CheckDomainStart
/// (assignment_methods.cpp).
void registerAssignmentMethods(sdbus::IObject& vf, BusContext& ctx, VfRef ref);
void registerAssignmentMethods(sdbus::IObject& manager, BusContext& ctx);
/// Card1's UpdateFirmware, ActivateFirmware, RollbackFirmware, ListFirmwareUpdates (firmware_methods.cpp).
void registerFirmwareMethods(sdbus::IObject& card, BusContext& ctx, unsigned cardIndex);
/// Manager1's ListEvents and its Event signal (event_methods.cpp).
void registerEventMethods(sdbus::IObject& manager, BusContext& ctx);
void emitEvent(sdbus::IObject& object, const StoredEvent& event);
/// Job1.Cancel (job_methods.cpp).
void registerJobMethods(sdbus::IObject& job, BusContext& ctx, int64_t id);

// Each adaptor's subject() is what its properties read (registerProperties keeps a pointer to
// the adaptor, so a property costs no allocation of its own: thousands of VFs).

class VfObject {
public:
    VfObject(BusContext& ctx, unsigned card, unsigned vf);
    ~VfObject();
    /// Says InterfacesAdded (again, for a retired object whose VF came back).
    void announce();
    void changed(const VfSnapshot& before, const VfSnapshot& now);
    const VfSnapshot& subject() const;
    /// The VF went away while calls on it wait for their answer: says InterfacesRemoved now and
    /// stays registered (so the answers can be sent) until the card object lets it go.
    void retire();
    /// Whether calls on this object still wait for their answer.
    bool answering() const;

private:
    BusContext& ctx_;
    unsigned card_, vf_;
    std::unique_ptr<sdbus::IObject> object_;
    bool retired_ = false;
};

class CardObject {
public:
    CardObject(BusContext& ctx, unsigned card);
    ~CardObject();
    void announce();
    /// Emits what changed and adds/removes VF objects to match `now`.
    void updated(const CardSnapshot& before, const CardSnapshot& now);
    const CardSnapshot& subject() const;

private:
    BusContext& ctx_;
    unsigned card_;
    std::unique_ptr<sdbus::IObject> object_;
    std::vector<std::unique_ptr<VfObject>> vfs_;  // by VF index
    std::map<unsigned, std::unique_ptr<VfObject>> retired_;  // gone VFs whose calls wait for their answer, by index
};

class JobObject {
public:
    JobObject(BusContext& ctx, int64_t id);
    ~JobObject();
    void announce();
    void changed(const std::vector<std::string>& properties);
    const Job& subject() const;

private:
    BusContext& ctx_;
    int64_t id_;
    std::unique_ptr<sdbus::IObject> object_;
};

class ManagerObject {
public:
    explicit ManagerObject(BusContext& ctx);
    ~ManagerObject();
    void changed(const std::vector<std::string>& properties);
    /// Signals a recorded event (Manager1.Event).
    void event(const StoredEvent& e);
    const ManagerState& subject() const;

private:
    BusContext& ctx_;
    std::unique_ptr<sdbus::IObject> object_;
};

}  // namespace aismi::bus
