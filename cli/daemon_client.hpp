// The CLI's only way to the cards: aismid on the system bus (DBUS_SYSTEM_BUS_ADDRESS may
// point it at another bus). Failures come back as aismi Errors with a sentence to act on.
#pragma once

#include "inventory.hpp"

#include <aismi/error.hpp>

#include <memory>

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
    Result<void> setVfCount(const std::string& cardPath, unsigned count);

private:
    Result<void> readManager(Inventory& inv);
    explicit DaemonClient(std::unique_ptr<sdbus::IConnection> c);
    std::unique_ptr<sdbus::IConnection> connection_;
};

}  // namespace aismi::cli
