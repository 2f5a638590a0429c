// What every adaptor needs: the connection, the pump, the authorizer and the services it
// decodes calls for. Adaptors do three things: authorize, decode, call the service.
#pragma once

#include "interfaces.hpp"

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
void authorizeThen(BusContext& ctx, const sdbus::MethodCall& call, const std::string& action, std::function<void(PendingCall)> body);

}  // namespace bus
}  // namespace aismi
