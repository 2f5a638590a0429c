#include "daemon_client.hpp"

#include "aismi-dbus/card1_proxy.h"
#include "aismi-dbus/manager1_proxy.h"

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

// Reads one property value in place. Decoding straight from the message, rather than into
// sdbus::Variant (which copies a message per value), keeps a 500-VF inventory fast to read.
// Integer maxima and NaN mean "the device does not report this".
Value readValue(sdbus::Message& msg, const std::string& sig) {
    Value out = NotAvailable{};
    msg.enterVariant(sig);
    if (sig == "s") {
        std::string x;
        msg >> x;
        out = std::move(x);
    } else if (sig == "o") {
        sdbus::ObjectPath x;
        msg >> x;
        out = std::string(std::move(x));
    } else if (sig == "b") {
        bool x = false;
        msg >> x;
        out = x;
    } else if (sig == "d") {
        double x = 0;
        msg >> x;
        if (!std::isnan(x)) out = x;
    } else if (sig == "u") {
        uint32_t x = 0;
        msg >> x;
        if (x != std::numeric_limits<uint32_t>::max()) out = uint64_t{x};
    } else if (sig == "q") {
        uint16_t x = 0;
        msg >> x;
        out = uint64_t{x};
    } else if (sig == "t") {
        uint64_t x = 0;
        msg >> x;
        if (x != std::numeric_limits<uint64_t>::max()) out = x;
    } else if (sig == "i") {
        int32_t x = 0;
        msg >> x;
        if (x >= 0) out = int64_t{x};
    } else if (sig == "as") {
        std::vector<std::string> x;
        msg >> x;
        out = std::move(x);
    } else if (sig == "ao") {
        std::vector<sdbus::ObjectPath> x;
        msg >> x;
        out = std::vector<std::string>(x.begin(), x.end());
    } else {
        sdbus::Variant skipped;  // a type this aismi does not know: read past it
        msg.exitVariant();
        msg >> skipped;
        return out;
    }
    msg.exitVariant();
    return out;
}

// a{sv} into `target` (or past it when target is null).
void readProperties(sdbus::Message& msg, BusObject* target) {
    msg.enterContainer("{sv}");
    while (msg.enterDictEntry("sv")) {
        std::string name, type, contents;
        msg >> name;
        msg.peekType(type, contents);
        Value v = readValue(msg, contents);
        if (target) target->props.emplace(std::move(name), std::move(v));
        msg.exitDictEntry();
    }
    msg.clearFlags();
    msg.exitContainer();
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
    Inventory inv;
    try {
        auto proxy = sdbus::createProxy(*connection_, kBusName, kManagerPath);
        auto call = proxy->createMethodCall("org.freedesktop.DBus.ObjectManager", "GetManagedObjects");
        auto reply = proxy->callMethod(call);
        reply.enterContainer("{oa{sa{sv}}}");
        while (reply.enterDictEntry("oa{sa{sv}}")) {
            sdbus::ObjectPath path;
            reply >> path;
            reply.enterContainer("{sa{sv}}");
            while (reply.enterDictEntry("sa{sv}")) {
                std::string iface;
                reply >> iface;
                BusObject* target = nullptr;
                if (iface == "org.aismi.Card1") target = &inv.cards.emplace_back(BusObject{path, {}});
                else if (iface == "org.aismi.VirtualFunction1") target = &inv.vfs.emplace_back(BusObject{path, {}});
                readProperties(reply, target);
                reply.exitDictEntry();
            }
            reply.clearFlags();
            reply.exitContainer();
            reply.exitDictEntry();
        }
        reply.clearFlags();
        reply.exitContainer();

    } catch (const sdbus::Error& e) {
        return fromBus(e, "read the cards");
    }
    if (auto r = readManager(inv); !r) return std::move(r).error();
    std::sort(inv.cards.begin(), inv.cards.end(), [](auto& a, auto& b) { return a.number("Index") < b.number("Index"); });
    std::sort(inv.vfs.begin(), inv.vfs.end(), [](auto& a, auto& b) {
        return std::pair(a.number("CardIndex"), a.number("Index")) < std::pair(b.number("CardIndex"), b.number("Index"));
    });
    return inv;
}

Result<void> DaemonClient::readManager(Inventory& inv) {
    try {
        auto proxy = sdbus::createProxy(*connection_, kBusName, kManagerPath);
        auto getAll = proxy->createMethodCall("org.freedesktop.DBus.Properties", "GetAll");
        getAll << std::string("org.aismi.Manager1");
        auto props = proxy->callMethod(getAll);
        inv.manager.path = kManagerPath;
        readProperties(props, &inv.manager);
    } catch (const sdbus::Error& e) {
        return fromBus(e, "read the manager");
    }
    return {};
}

Result<Inventory> DaemonClient::fetchSummary() {
    class ManagerProxy final : public sdbus::ProxyInterfaces<org::aismi::Manager1_proxy> {
    public:
        explicit ManagerProxy(sdbus::IConnection& c) : ProxyInterfaces(c, kBusName, kManagerPath) { registerProxy(); }
        ~ManagerProxy() { unregisterProxy(); }
    };
    Inventory inv;
    try {
        ManagerProxy manager(*connection_);
        auto [cards, vfs] = manager.GetSummary();
        const auto u32 = [](uint32_t v) { return v == std::numeric_limits<uint32_t>::max() ? Value(NotAvailable{}) : Value(uint64_t{v}); };
        const auto u64 = [](uint64_t v) { return v == std::numeric_limits<uint64_t>::max() ? Value(NotAvailable{}) : Value(v); };
        const auto dbl = [](double v) { return std::isnan(v) ? Value(NotAvailable{}) : Value(v); };
        for (auto& c : cards) {
            BusObject& o = inv.cards.emplace_back(BusObject{"/org/aismi/Manager1/card" + std::to_string(c.get<0>()), {}});
            o.props = {{"Index", uint64_t{c.get<0>()}},     {"Name", c.get<1>()},           {"PciAddress", c.get<2>()},
                       {"Serial", c.get<3>()},              {"FirmwareVersion", c.get<4>()}, {"TemperatureC", dbl(c.get<5>())},
                       {"PowerW", dbl(c.get<6>())},         {"UtilizationPercent", u32(c.get<7>())},
                       {"MemoryUsedMiB", u64(c.get<8>())},  {"MemoryTotalMiB", u64(c.get<9>())},
                       {"VfEnabled", u32(c.get<10>())},     {"VfTotal", u32(c.get<11>())},   {"Health", c.get<12>()}};
        }
        for (auto& v : vfs) {
            BusObject& o = inv.vfs.emplace_back(
                BusObject{"/org/aismi/Manager1/card" + std::to_string(v.get<0>()) + "/vf" + std::to_string(v.get<1>()), {}});
            o.props = {{"CardIndex", uint64_t{v.get<0>()}}, {"Index", uint64_t{v.get<1>()}},   {"PciAddress", v.get<2>()},
                       {"State", v.get<3>()},               {"Health", v.get<4>()},            {"Driver", v.get<5>()},
                       {"ComputeUnits", u32(v.get<6>())},   {"MemoryMiB", u64(v.get<7>())},    {"UtilizationPercent", u32(v.get<8>())}};
        }
    } catch (const sdbus::Error& e) {
        return fromBus(e, "read the summary");
    }
    if (auto r = readManager(inv); !r) return std::move(r).error();
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
