// What every adaptor needs: the connection, the pump, the authorizer and the services it
// decodes calls for. Adaptors do three things: authorize, decode, call the service.
#pragma once

#include "interfaces.hpp"

#include <aismi/device_ref.hpp>
#include <aismi/error.hpp>

#include <functional>
#include <string>

namespace sdbus {
class IConnection;
class MethodCall;
}  // namespace sdbus

namespace aismi {

class Authorizer;
class BusPump;
class Inventory;
class Jobs;
class VfCountService;
class ProvisionService;
class QuotaService;
class LayoutService;
class PolicyService;
class ResetService;
class RecoveryService;
class AssignmentService;
class FirmwareService;
class EventHistory;

namespace bus {

struct BusContext {
    sdbus::IConnection& connection;
    BusPump& pump;
    Authorizer& authorizer;
    Inventory& inventory;
    Jobs& jobs;
    VfCountService& vfCount;
    ProvisionService& provisioning;
    QuotaService& quotas;
    LayoutService& layouts;
    PolicyService& policies;
    ResetService& resets;
    RecoveryService& recovery;
    AssignmentService& assignments;
    FirmwareService& firmware;
    EventHistory& history;
    /// Reads a card again; `then` runs once its snapshot (and the bus) show it.
    std::function<void(unsigned, std::function<void()>)> refresh;
    ManagerState manager;
};

/// A job by its id, as a key a continuation can hold (the job itself can be trimmed meanwhile).
struct JobKey {
    int64_t id = 0;
};

/// The D-Bus error for one of ours: org.aismi.Error.<Name> with the message.
sdbus::Error toBusError(const Error& e);

/// Answers a call later: a reply with values, or an error; kicks the pump either way.
class PendingCall {
public:
    PendingCall(sdbus::MethodCall call, BusPump& pump);
    template <class... Args>
    void reply(const Args&... args) {
        auto r = call_.createReply();
        if constexpr (sizeof...(Args) > 0) (r << ... << args);
        send(r);
    }
    void fail(const Error& e);
    const sdbus::MethodCall& call() const { return call_; }

private:
    void send(sdbus::MethodReply& reply);
    sdbus::MethodCall call_;
    BusPump& pump_;
};

/// Authorizes the caller of `call` for `action`, then runs `body` (on the loop thread); an
/// unauthorized caller gets PermissionDenied and `body` never runs.
///
/// The polkit answer comes later, after any number of loop turns: `body` must not capture the
/// adaptor (`this`) or anything else that can go away meanwhile (a VF's object goes when its
/// card's VF count changes, a job's when it is trimmed). It captures the BusContext, which
/// outlives every call, and a key; the overloads below re-resolve the key when polkit answers.
void authorizeThen(BusContext& ctx, const sdbus::MethodCall& call, const std::string& action, std::function<void(PendingCall)> body);
/// ... and `body` runs only if the card still has VF `vf` when polkit answers; otherwise the
/// caller gets NotFound ("card 0 has no VF 3 any more").
void authorizeThen(BusContext& ctx, const sdbus::MethodCall& call, const std::string& action, VfRef vf, std::function<void(PendingCall)> body);
/// ... and `body` runs only if job `job` still exists when polkit answers; otherwise NotFound.
void authorizeThen(BusContext& ctx, const sdbus::MethodCall& call, const std::string& action, JobKey job, std::function<void(PendingCall)> body);

}  // namespace bus
}  // namespace aismi
