// What every adaptor needs: the connection, the pump, the authorizer and the services it
// decodes calls for. Adaptors do three things: authorize, decode, call the service.
#pragma once

#include "interfaces.hpp"

#include <aismi/device_ref.hpp>
#include <aismi/error.hpp>

#include <functional>
#include <map>
#include <memory>
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

/// The calls waiting for their answer, by the object path that took them. sd-bus checks a
/// reply against the method table of the object that took the call, and that table goes with
/// the object: an object with calls in flight stays registered until they are answered (a
/// VF's object, when the VF goes away meanwhile: CardObject retires it instead of deleting it).
class CallsInFlight {
public:
    bool any(const std::string& path) const { return byPath_.count(path) != 0; }

private:
    friend class PendingCall;
    void opened(const std::string& path) { ++byPath_[path]; }
    void closed(const std::string& path) {
        if (auto it = byPath_.find(path); it != byPath_.end() && --it->second == 0) byPath_.erase(it);
    }
    std::map<std::string, unsigned> byPath_;
};

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
    std::shared_ptr<CallsInFlight> calls = std::make_shared<CallsInFlight>();
};

/// A job by its id, as a key a continuation can hold (the job itself can be trimmed meanwhile).
struct JobKey {
    int64_t id = 0;
};

/// The D-Bus error for one of ours: org.aismi.Error.<Name> with the message.
sdbus::Error toBusError(const Error& e);

/// Answers a call later: a reply with values, or an error; kicks the pump either way. Copies
/// share one entry in CallsInFlight, closed by the first answer (or when the last copy goes).
class PendingCall {
public:
    PendingCall(sdbus::MethodCall call, BusPump& pump, std::shared_ptr<CallsInFlight> calls);
    template <class... Args>
    void reply(const Args&... args) {
        auto r = call_.createReply();
        if constexpr (sizeof...(Args) > 0) (r << ... << args);
        send(r);
    }
    void fail(const Error& e);
    const sdbus::MethodCall& call() const { return call_; }

private:
    struct InFlight;
    void send(sdbus::MethodReply& reply);
    sdbus::MethodCall call_;
    BusPump& pump_;
    std::shared_ptr<InFlight> inFlight_;
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
