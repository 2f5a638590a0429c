// What a service takes part in besides the calls made to it: the hooks the composition root
// (daemon.cpp) loops over, in the order it lists the services. Each hook does nothing unless a
// service overrides it, so adding a service is its folder and one line in daemon.cpp.
// Loop thread only.
#pragma once

#include "events.hpp"

namespace aismi {

struct CardSnapshot;
struct DaemonConfig;
class ReconcileParticipant;

class Service {
public:
    virtual ~Service() = default;

    /// The service's part of start-up recovery (docs/architecture.md, "Crash safety"): the
    /// journal kinds it owns and desired state it converges. nullptr: none.
    virtual ReconcileParticipant* reconcileParticipant() { return nullptr; }
    /// Adds what the service knows to a fresh snapshot of a card before anyone sees it.
    virtual void annotate(CardSnapshot& /*card*/) {}
    /// After every poll of a card: the levels the service keeps (desired against actual,
    /// retries), checked whether or not this poll saw a change.
    virtual void cardUpdated(const CardUpdated& /*poll*/) {}
    /// A card is back (reset, power cycle, device returned): put back what it lost.
    virtual void cardReturned(unsigned /*card*/) {}
    /// SIGHUP: the configuration read again (daemon/reload.cpp). A part that does not load
    /// keeps what was loaded before and says so in the log.
    virtual void reload(const DaemonConfig& /*config*/) {}
    /// Every housekeeping period (a minute): pruning, sweeping.
    virtual void housekeeping() {}
};

}  // namespace aismi
