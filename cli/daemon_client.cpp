#include "daemon_client.hpp"

#include "aismi-dbus/card1_proxy.h"

#include <sdbus-c++/sdbus-c++.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace aismi::cli {
namespace {

constexpr const char* kBusName = "org.aismi.Manager1";
constexpr const char* kManagerPath = "/org/aismi/Manager1";

Error fromBus(const sdbus::Error& e, const std::string& what) {
    const std::string& name = e.getName();
    if (name == "org.freedesktop.DBus.Error.ServiceUnknown" || name == "org.freedesktop.DBus.Error.NameHasNoOwner")
        return makeError(Errc::ServiceUnavailable,
                         "aismid is not running (nothing owns org.aismi.Manager1 on the system bus); start it with "
                         "'systemctl start aismid'");
    if (auto code = errcFromDbusName(name)) return makeError(*code, e.getMessage());
    if (name == "org.freedesktop.DBus.Error.AccessDenied")
        return makeError(Errc::PermissionDenied, what + ": the bus refused the call: " + e.getMessage());
    if (name == "org.freedesktop.DBus.Error.NoReply" || name == "org.freedesktop.DBus.Error.Timeout")
        return makeError(Errc::Timeout, what + ": aismid did not answer in time");
    return makeError(Errc::IoError, what + ": " + e.getMessage() + " (" + name + ")");
}

// Converts a bus value; integer maxima and NaN mean "the device does not report this".
Value toValue(const sdbus::Variant& v) {
    const std::string sig = v.peekValueType();
    if (sig == "s" || sig == "o") return sig == "s" ? v.get<std::string>() : std::string(v.get<sdbus::ObjectPath>());
    if (sig == "b") return v.get<bool>();
    if (sig == "d") {
        const double d = v.get<double>();
        return std::isnan(d) ? Value(NotAvailable{}) : Value(d);
    }
    if (sig == "u") {
        const uint32_t n = v.get<uint32_t>();
        return n == std::numeric_limits<uint32_t>::max() ? Value(NotAvailable{}) : Value(uint64_t{n});
    }
    if (sig == "q") return uint64_t{v.get<uint16_t>()};
    if (sig == "t") {
        const uint64_t n = v.get<uint64_t>();
        return n == std::numeric_limits<uint64_t>::max() ? Value(NotAvailable{}) : Value(n);
    }
    if (sig == "i") {
        const int32_t n = v.get<int32_t>();
        return n < 0 ? Value(NotAvailable{}) : Value(int64_t{n});
    }
    if (sig == "as") return v.get<std::vector<std::string>>();
    if (sig == "ao") {
        std::vector<std::string> out;
        for (const auto& p : v.get<std::vector<sdbus::ObjectPath>>()) out.emplace_back(p);
        return out;
    }
    return NotAvailable{};
}

BusObject toObject(const std::string& path, const std::map<std::string, sdbus::Variant>& props) {
    BusObject o{path, {}};
    for (const auto& [k, v] : props) o.props.emplace(k, toValue(v));
    return o;
}

}  // namespace

DaemonClient::DaemonClient(std::unique_ptr<sdbus::IConnection> c) : connection_(std::move(c)) {}
DaemonClient::~DaemonClient() = default;

Result<std::unique_ptr<DaemonClient>> DaemonClient::connect() {
    try {
        return std::unique_ptr<DaemonClient>(new DaemonClient(sdbus::createSystemBusConnection()));
    } catch (const sdbus::Error& e) {
        return makeError(Errc::ServiceUnavailable, "cannot connect to the system bus (" + e.getMessage() +
                                                       "); is dbus running, and DBUS_SYSTEM_BUS_ADDRESS right if set?");
    }
}

Result<Inventory> DaemonClient::fetch() {
    using Managed = std::map<sdbus::ObjectPath, std::map<std::string, std::map<std::string, sdbus::Variant>>>;
    Managed objects;
    std::map<std::string, sdbus::Variant> managerProps;
    try {
        auto proxy = sdbus::createProxy(*connection_, kBusName, kManagerPath);
        proxy->callMethod("GetManagedObjects").onInterface("org.freedesktop.DBus.ObjectManager").storeResultsTo(objects);
        proxy->callMethod("GetAll").onInterface("org.freedesktop.DBus.Properties").withArguments(std::string("org.aismi.Manager1")).storeResultsTo(managerProps);
    } catch (const sdbus::Error& e) {
        return fromBus(e, "read the cards");
    }
    Inventory inv;
    inv.manager = toObject(kManagerPath, managerProps);
    for (const auto& [path, interfaces] : objects) {
        if (auto card = interfaces.find("org.aismi.Card1"); card != interfaces.end()) inv.cards.push_back(toObject(path, card->second));
        if (auto vf = interfaces.find("org.aismi.VirtualFunction1"); vf != interfaces.end()) inv.vfs.push_back(toObject(path, vf->second));
    }
    std::sort(inv.cards.begin(), inv.cards.end(), [](auto& a, auto& b) { return a.number("Index") < b.number("Index"); });
    std::sort(inv.vfs.begin(), inv.vfs.end(), [](auto& a, auto& b) {
        return std::pair(a.number("CardIndex"), a.number("Index")) < std::pair(b.number("CardIndex"), b.number("Index"));
    });
    return inv;
}

Result<void> DaemonClient::setVfCount(const std::string& cardPath, unsigned count) {
    class CardProxy final : public sdbus::ProxyInterfaces<org::aismi::Card1_proxy> {
    public:
        CardProxy(sdbus::IConnection& c, std::string path) : ProxyInterfaces(c, kBusName, std::move(path)) { registerProxy(); }
        ~CardProxy() { unregisterProxy(); }
    };
    try {
        CardProxy card(*connection_, cardPath);
        card.SetVfCount(count);
    } catch (const sdbus::Error& e) {
        return fromBus(e, "set the VF count");
    }
    return {};
}

}  // namespace aismi::cli
