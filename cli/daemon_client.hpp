// The CLI's only way to the cards: aismid on the system bus (DBUS_SYSTEM_BUS_ADDRESS may
// point it at another bus). Failures come back as aismi Errors with a sentence to act on.
#pragma once

#include "inventory.hpp"

#include <aismi/error.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sdbus {
class IConnection;
}

namespace aismi::cli {

class DaemonClient {
public:
    static Result<std::unique_ptr<DaemonClient>> connect();
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
    Result<void> setVfCount(const std::string& cardPath, unsigned count, const std::function<void(unsigned)>& progress);

private:
    explicit DaemonClient(std::unique_ptr<sdbus::IConnection> c);
    std::unique_ptr<sdbus::IConnection> connection_;
};

}  // namespace aismi::cli
