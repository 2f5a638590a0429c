// The D-Bus face of the daemon: org.aismi.Manager1 (with ObjectManager), one org.aismi.Card1
// per card, one org.aismi.VirtualFunction1 per enabled VF and one org.aismi.Job1 per job. It
// subscribes to the event bus and keeps the objects and their signals in step.
#pragma once

#include "bus_context.hpp"

#include <map>
#include <memory>
#include <vector>

namespace aismi {

class EventBus;
struct RecoveryPolicy;

namespace bus {

class CardObject;
class JobObject;
class ManagerObject;

class BusObjects {
public:
    BusObjects(BusContext context, EventBus& events);
    ~BusObjects();
    void setPollInterval(unsigned ms);
    /// The recovery policy changed (SIGHUP): Manager1 says so.
    void setRecoveryPolicy(const RecoveryPolicy& p);

private:
    BusContext ctx_;
    std::unique_ptr<ManagerObject> manager_;
    std::vector<std::unique_ptr<CardObject>> cards_;
    std::map<int64_t, std::unique_ptr<JobObject>> jobs_;
};

}  // namespace bus
}  // namespace aismi
