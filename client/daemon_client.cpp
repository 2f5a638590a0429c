#include "daemon_client.hpp"
#include "heap.hpp"

#include <cctype>
#include <poll.h>
#include <unordered_map>


#include <sdbus-c++/sdbus-c++.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <cmath>
#include <aismi/bus_names.hpp>

#include <limits>
#include <map>

namespace aismi::client {
namespace {

using namespace bus_names;
constexpr const char* kBusName = kService;

// aismid's bus edge names the method it refuses ("ListEvents: no event type 'RESET'"): what a
// D-Bus client wants, and not what an aismi user typed.
std::string withoutMethodName(const std::string& message) {
    size_t i = 0;
    if (message.empty() || !std::isupper(static_cast<unsigned char>(message[0]))) return message;
    while (i < message.size() && std::isalpha(static_cast<unsigned char>(message[i]))) ++i;
    return i + 1 < message.size() && message[i] == ':' && message[i + 1] == ' ' ? message.substr(i + 2) : message;
}

Error fromBus(const sdbus::Error& e, const std::string& what) {
    const std::string& name = e.getName();
    if (name == "org.freedesktop.DBus.Error.ServiceUnknown" || name == "org.freedesktop.DBus.Error.NameHasNoOwner")
        return makeError(Errc::ServiceUnavailable,
                         "aismid is not running (nothing owns org.aismi.Manager1 on the system bus); start it with "
                         "'systemctl start aismid'");
    if (auto code = errcFromDbusName(name)) return makeError(*code, withoutMethodName(e.getMessage()));
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
        if (target) target->set(internName(name), std::move(v));
        msg.exitDictEntry();
    }
    msg.clearFlags();
    msg.exitContainer();
}

}  // namespace

DaemonClient::DaemonClient(std::unique_ptr<sdbus::IConnection> c) : connection_(std::move(c)) {}
DaemonClient::~DaemonClient() = default;

Result<std::unique_ptr<DaemonClient>> DaemonClient::connect(const std::optional<std::string>& host) {
    try {
        if (host) return std::unique_ptr<DaemonClient>(new DaemonClient(sdbus::createRemoteSystemBusConnection(*host)));
        return std::unique_ptr<DaemonClient>(new DaemonClient(sdbus::createSystemBusConnection()));
    } catch (const sdbus::Error& e) {
        if (host)
            return makeError(Errc::HostUnreachable, "cannot reach its system bus over SSH (" + e.getMessage() +
                                                           "); does ssh reach it without a password, with systemd-stdio-bridge there? (docs/by-hand.md)");
        return makeError(Errc::ServiceUnavailable, "cannot connect to the system bus (" + e.getMessage() +
                                                       "); is dbus running, and DBUS_SYSTEM_BUS_ADDRESS right if set?");
    }
}

Result<Inventory> DaemonClient::fetch() {
    Inventory inv;
    if (auto r = query(kCardInterface, {}, inv.cards); !r) return std::move(r).error();
    if (auto r = query(kVfInterface, {}, inv.vfs); !r) return std::move(r).error();
    if (auto r = readManager(inv); !r) return std::move(r).error();
    return inv;
}

namespace {

// One column: an array of the property's type; "not reported" values become NotAvailable.
template <class T, class Convert>
void readColumn(sdbus::Message& msg, const std::string& sig, const std::string& name, std::vector<BusObject>& rows, Convert convert) {
    std::vector<T> values;
    msg.enterVariant(sig);
    msg >> values;
    msg.exitVariant();
    const std::string_view column = internName(name);
    for (size_t i = 0; i < values.size() && i < rows.size(); ++i) rows[i].props.emplace_back(column, convert(values[i]));
}

void readColumns(sdbus::Message& msg, std::vector<BusObject>& rows) {
    const auto same = [](const auto& v) { return Value(v); };
    msg.enterContainer("{sv}");
    while (msg.enterDictEntry("sv")) {
        std::string name, type, contents;
        msg >> name;
        msg.peekType(type, contents);
        if (contents == "as") readColumn<std::string>(msg, contents, name, rows, same);
        else if (contents == "ad") readColumn<double>(msg, contents, name, rows, [](double v) { return std::isnan(v) ? Value(NotAvailable{}) : Value(v); });
        else if (contents == "au")
            readColumn<uint32_t>(msg, contents, name, rows, [](uint32_t v) {
                return v == std::numeric_limits<uint32_t>::max() ? Value(NotAvailable{}) : Value(uint64_t{v});
            });
        else if (contents == "at")
            readColumn<uint64_t>(msg, contents, name, rows,
                                 [](uint64_t v) { return v == std::numeric_limits<uint64_t>::max() ? Value(NotAvailable{}) : Value(v); });
        else if (contents == "aq") readColumn<uint16_t>(msg, contents, name, rows, [](uint16_t v) { return Value(uint64_t{v}); });
        else if (contents == "ai") readColumn<int32_t>(msg, contents, name, rows, [](int32_t v) { return v < 0 ? Value(NotAvailable{}) : Value(int64_t{v}); });
        else if (contents == "ab") readColumn<bool>(msg, contents, name, rows, same);
        else if (contents == "ao")
            readColumn<sdbus::ObjectPath>(msg, contents, name, rows, [](const sdbus::ObjectPath& v) { return Value(std::string(v)); });
        else if (contents == "aas") readColumn<std::vector<std::string>>(msg, contents, name, rows, same);
        else if (contents == "aao")
            readColumn<std::vector<sdbus::ObjectPath>>(msg, contents, name, rows, [](const std::vector<sdbus::ObjectPath>& v) {
                return Value(std::vector<std::string>(v.begin(), v.end()));
            });
        else {
            sdbus::Variant skipped;  // a type this aismi does not know: read past it
            msg >> skipped;
        }
        msg.exitDictEntry();
    }
    msg.clearFlags();
    msg.exitContainer();
}

}  // namespace

// What reading a row costs on the heap, to prepare it (prepareHeap): a row's object and its
// properties (a name and a value each), its line of output, its place in the selection.
constexpr size_t kBytesPerColumn = sizeof(std::pair<std::string_view, Value>) + 16;
constexpr size_t kBytesPerSummaryRow = sizeof(BusObject) + 9 * kBytesPerColumn + 128;

Result<void> DaemonClient::query(const std::string& interface, const std::vector<std::string>& properties, std::vector<BusObject>& into) {
    try {
        auto proxy = sdbus::createProxy(*connection_, kBusName, kManagerPath);
        auto call = proxy->createMethodCall(kManagerInterface, "Query");
        call << interface << properties;
        auto reply = proxy->callMethod(call);
        std::vector<sdbus::ObjectPath> paths;
        reply >> paths;
        into.clear();
        const size_t columns = properties.empty() ? 32 : properties.size();
        prepareHeap(paths.size() * (sizeof(BusObject) + columns * kBytesPerColumn));
        into.reserve(paths.size());
        for (auto& p : paths) {
            into.push_back(BusObject{std::move(p), {}});
            into.back().props.reserve(properties.empty() ? 32 : properties.size());  // every column, no regrowth
        }
        readColumns(reply, into);
    } catch (const sdbus::Error& e) {
        return fromBus(e, "read the cards");
    }
    return {};
}

Result<void> DaemonClient::readManager(Inventory& inv) {
    try {
        auto proxy = sdbus::createProxy(*connection_, kBusName, kManagerPath);
        auto getAll = proxy->createMethodCall("org.freedesktop.DBus.Properties", "GetAll");
        getAll << std::string(kManagerInterface);
        auto props = proxy->callMethod(getAll);
        inv.manager.path = kManagerPath;
        readProperties(props, &inv.manager);
    } catch (const sdbus::Error& e) {
        return fromBus(e, "read the manager");
    }
    return {};
}

Result<Inventory> DaemonClient::fetchSummary() {
    Inventory inv;
    try {
        // A plain proxy: the generated one would subscribe to Manager1's signals (a bus round trip).
        auto manager = sdbus::createProxy(*connection_, kBusName, kManagerPath);
        std::vector<sdbus::Struct<uint32_t, std::string, std::string, std::string, std::string, double, double, uint32_t, uint64_t, uint64_t,
                                  uint32_t, uint32_t, std::string>>
            cards;
        auto reply = manager->callMethod(manager->createMethodCall(kManagerInterface, "GetSummary"));
        reply >> cards;
        const auto u32 = [](uint32_t v) { return v == std::numeric_limits<uint32_t>::max() ? Value(NotAvailable{}) : Value(uint64_t{v}); };
        const auto u64 = [](uint64_t v) { return v == std::numeric_limits<uint64_t>::max() ? Value(NotAvailable{}) : Value(v); };
        const auto dbl = [](double v) { return std::isnan(v) ? Value(NotAvailable{}) : Value(v); };
        inv.cards.reserve(cards.size());
        for (auto& c : cards) {
            BusObject& o = inv.cards.emplace_back(BusObject{cardPath(c.get<0>()), {}});
            o.props = {{"Index", uint64_t{c.get<0>()}},
                       {"Name", std::move(c.get<1>())},
                       {"PciAddress", std::move(c.get<2>())},
                       {"Serial", std::move(c.get<3>())},
                       {"FirmwareVersion", std::move(c.get<4>())},
                       {"TemperatureC", dbl(c.get<5>())},
                       {"PowerW", dbl(c.get<6>())},
                       {"UtilizationPercent", u32(c.get<7>())},
                       {"MemoryUsedMiB", u64(c.get<8>())},
                       {"MemoryTotalMiB", u64(c.get<9>())},
                       {"VfEnabled", u32(c.get<10>())},
                       {"VfTotal", u32(c.get<11>())},
                       {"Health", std::move(c.get<12>())}};
        }
        // Thousands of rows, read straight from the message into their rows (no intermediate
        // array of structs to grow and copy: at 4,096 VFs its page faults were a third of the
        // command's time); no object paths, since the summary never addresses a VF.
        size_t enabled = 0;
        for (const auto& c : cards) enabled += c.get<10>() == std::numeric_limits<uint32_t>::max() ? 0 : c.get<10>();
        prepareHeap(enabled * kBytesPerSummaryRow);
        inv.vfs.reserve(enabled);
        reply.enterContainer("(uussssutu)");
        while (reply.enterStruct("uussssutu")) {
            uint32_t card = 0, index = 0, units = 0, utilization = 0;
            uint64_t memory = 0;
            std::string address, state, health, driver;
            reply >> card >> index >> address >> state >> health >> driver >> units >> memory >> utilization;
            reply.exitStruct();
            BusObject& o = inv.vfs.emplace_back();
            o.props = {{"CardIndex", uint64_t{card}},       {"Index", uint64_t{index}},
                       {"PciAddress", std::move(address)}, {"State", std::move(state)},
                       {"Health", std::move(health)},      {"Driver", std::move(driver)},
                       {"ComputeUnits", u32(units)},       {"MemoryMiB", u64(memory)},
                       {"UtilizationPercent", u32(utilization)}};
        }
        reply.clearFlags();
        reply.exitContainer();
    } catch (const sdbus::Error& e) {
        return fromBus(e, "read the summary");
    }
    if (auto r = readManager(inv); !r) return std::move(r).error();
    return inv;
}

Result<void> DaemonClient::waitForJob(const std::string& jobPath, const std::function<void(unsigned)>& progress) {
    try {
        auto job = sdbus::createProxy(*connection_, kBusName, jobPath);
        const auto get = [&](const char* name) { return job->getProperty(name).onInterface(kJobInterface); };
        // Poll the job (cheap: one property read) until it finishes; a job that has already
        // finished and been forgotten cannot happen within its retention of minutes.
        for (unsigned last = 101;;) {
            const std::string state = get("State").get<std::string>();
            const unsigned percent = get("Progress").get<uint32_t>();
            if (percent != last && progress) progress(last = percent);
            if (state == "done") return {};
            if (state == "failed" || state == "cancelled") {
                const std::string name = get("ErrorName").get<std::string>();
                const std::string message = get("Error").get<std::string>();
                return makeError(errcFromDbusName(name).value_or(Errc::IoError), message);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    } catch (const sdbus::Error& e) {
        return fromBus(e, "follow job " + jobPath);
    }
}

Result<void> DaemonClient::setVfCount(const std::string& cardPath, unsigned count, const std::function<void(unsigned)>& progress, bool force) {
    try {
        auto card = sdbus::createProxy(*connection_, kBusName, cardPath);
        sdbus::ObjectPath jobPath;
        if (force)
            card->callMethod("SetVfCountWithOptions").onInterface(kCardInterface).withArguments(uint32_t{count}, std::map<std::string, sdbus::Variant>{{"force", sdbus::Variant(true)}}).storeResultsTo(jobPath);
        else
            card->callMethod("SetVfCountAsync").onInterface(kCardInterface).withArguments(uint32_t{count}).storeResultsTo(jobPath);
        return waitForJob(jobPath, progress);
    } catch (const sdbus::Error& e) {
        return fromBus(e, "set the VF count");
    }
}

Result<std::string> DaemonClient::planLayout(const std::string& cardPath, const std::string& layout) {
    try {
        auto card = sdbus::createProxy(*connection_, kBusName, cardPath);
        std::string plan;
        card->callMethod("PlanLayout").onInterface(kCardInterface).withArguments(layout).storeResultsTo(plan);
        return plan;
    } catch (const sdbus::Error& e) {
        return fromBus(e, "plan the layout");
    }
}

Result<void> DaemonClient::applyLayout(const std::string& cardPath, const std::string& layout, const std::function<void(unsigned)>& progress) {
    try {
        auto card = sdbus::createProxy(*connection_, kBusName, cardPath);
        sdbus::ObjectPath jobPath;
        card->callMethod("ApplyLayout").onInterface(kCardInterface).withArguments(layout).storeResultsTo(jobPath);
        return waitForJob(jobPath, progress);
    } catch (const sdbus::Error& e) {
        return fromBus(e, "apply the layout");
    }
}

Result<std::string> DaemonClient::findVf(const std::string& id) {
    try {
        auto manager = sdbus::createProxy(*connection_, kBusName, kManagerPath);
        sdbus::ObjectPath path;
        manager->callMethod("FindVirtualFunction").onInterface(kManagerInterface).withArguments(id).storeResultsTo(path);
        return std::string(path);
    } catch (const sdbus::Error& e) {
        return fromBus(e, "find VF " + id);
    }
}

template <class... Args>
Result<void> DaemonClient::callVf(const std::string& vfPath, const char* method, const char* what, const Args&... args) {
    try {
        auto vf = sdbus::createProxy(*connection_, kBusName, vfPath);
        // The call is made when the invoker goes, at the end of each full expression.
        if constexpr (sizeof...(Args) > 0) vf->callMethod(method).onInterface(kVfInterface).withArguments(args...);
        else vf->callMethod(method).onInterface(kVfInterface);
        return {};
    } catch (const sdbus::Error& e) {
        return fromBus(e, what);
    }
}

Result<void> DaemonClient::provision(const std::string& vfPath, const std::string& profile, const std::string& tenant) { return callVf(vfPath, "Provision", "provision", profile, tenant); }

Result<void> DaemonClient::unprovision(const std::string& vfPath) { return callVf(vfPath, "Unprovision", "unprovision"); }

Result<void> DaemonClient::quarantine(const std::string& vfPath, const std::string& reason) { return callVf(vfPath, "Quarantine", "quarantine", reason); }

Result<void> DaemonClient::unquarantine(const std::string& vfPath) { return callVf(vfPath, "Unquarantine", "unquarantine"); }


Result<void> DaemonClient::hold(const std::string& vfPath, const std::string& holder) { return callVf(vfPath, "Hold", "hold", holder); }
Result<void> DaemonClient::bindDriver(const std::string& vfPath, const std::string& driver) { return callVf(vfPath, "BindDriver", "bind", driver); }
Result<void> DaemonClient::assign(const std::string& vfPath, const std::string& domain, const std::string& tenant) {
    return callVf(vfPath, "Assign", "assign", domain, tenant);
}
Result<void> DaemonClient::release(const std::string& vfPath) { return callVf(vfPath, "Release", "release"); }
Result<void> DaemonClient::scrub(const std::string& vfPath) { return callVf(vfPath, "Scrub", "scrub"); }

namespace {

constexpr uint32_t kNotAbout = std::numeric_limits<uint32_t>::max();

std::optional<uint32_t> about(uint32_t v) { return v == kNotAbout ? std::nullopt : std::optional(v); }

}  // namespace

Result<std::vector<DaemonClient::EventRow>> DaemonClient::listEvents(const EventQuery& q) {
    try {
        auto manager = sdbus::createProxy(*connection_, kBusName, kManagerPath);
        std::map<std::string, sdbus::Variant> filters;
        if (q.since) filters["since"] = sdbus::Variant(*q.since);
        if (q.card) filters["card"] = sdbus::Variant(*q.card);
        if (!q.types.empty()) filters["types"] = sdbus::Variant(q.types);
        if (q.limit) filters["limit"] = sdbus::Variant(q.limit);
        std::vector<sdbus::Struct<uint64_t, int64_t, std::string, std::string, uint32_t, uint32_t, std::string, std::string, std::string>> rows;
        manager->callMethod("ListEvents").onInterface(kManagerInterface).withArguments(filters).storeResultsTo(rows);
        std::vector<EventRow> out;
        out.reserve(rows.size());
        for (auto& r : rows)
            out.push_back(EventRow{r.get<0>(), r.get<1>(), std::move(r.get<2>()), std::move(r.get<3>()), about(r.get<4>()), about(r.get<5>()),
                                   std::move(r.get<6>()), std::move(r.get<7>()), std::move(r.get<8>())});
        return out;
    } catch (const sdbus::Error& e) {
        return fromBus(e, "list events");
    }
}

Result<void> DaemonClient::followEvents(const std::function<Result<void>()>& subscribed, const std::function<bool(const EventRow&)>& onEvent) {
    try {
        bool gone = false;
        auto manager = sdbus::createProxy(*connection_, kBusName, kManagerPath);
        manager->uponSignal("Event").onInterface(kManagerInterface).call(
            [&](uint64_t id, int64_t at, const std::string& type, const std::string& severity, uint32_t card, uint32_t vf, const std::string& address,
                const std::string& device, const std::string& message) {
                if (!onEvent(EventRow{id, at, type, severity, about(card), about(vf), address, device, message})) connection_->leaveEventLoop();
            });
        manager->finishRegistration();
        auto bus = sdbus::createProxy(*connection_, "org.freedesktop.DBus", "/org/freedesktop/DBus");
        bus->uponSignal("NameOwnerChanged").onInterface("org.freedesktop.DBus").call([&](const std::string& name, const std::string&, const std::string& owner) {
            if (name != kBusName || !owner.empty()) return;
            gone = true;
            connection_->leaveEventLoop();
        });
        bus->finishRegistration();
        if (auto r = subscribed(); !r) return r;
        connection_->enterEventLoop();
        if (gone) return makeError(Errc::ServiceUnavailable, "aismid left the bus (stopped or restarted); no more events");
        return {};
    } catch (const sdbus::Error& e) {
        return fromBus(e, "follow events");
    }
}

Result<void> DaemonClient::watch(std::chrono::milliseconds interval, const std::function<bool(const Inventory&)>& onTick, bool eachChange) {
    using Clock = std::chrono::steady_clock;
    try {
        bool gone = false, reread = true, changedSinceTick = false;
        Inventory inv;
        std::unordered_map<std::string, BusObject*> byPath;
        // Subscribed before the first read: nothing that changes meanwhile is missed.
        const std::string from = std::string("type='signal',sender='") + kBusName + "',";
        auto changed = connection_->addMatch(
            from + "interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',path_namespace='" + kManagerPath + "'",
            [&](sdbus::Message& msg) {
                auto it = byPath.find(msg.getPath());
                if (it == byPath.end()) return;
                std::string interface;
                msg >> interface;
                readProperties(msg, it->second);
                changedSinceTick = true;
            });
        auto added = connection_->addMatch(from + "interface='org.freedesktop.DBus.ObjectManager',path='" + kManagerPath + "'",
                                           [&](sdbus::Message&) { reread = true; });
        auto owner = connection_->addMatch(
            "type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" + std::string(kBusName) + "'", [&](sdbus::Message& msg) {
                std::string name, before, after;
                msg >> name >> before >> after;
                if (after.empty()) gone = true;
            });
        auto next = Clock::now();  // the first lines at once, as nvidia-smi does
        for (;;) {
            while (connection_->processPendingRequest()) {
            }
            if (gone) return makeError(Errc::ServiceUnavailable, "aismid left the bus (stopped or restarted)");
            if (reread) {
                reread = false;
                auto fresh = fetch();
                if (!fresh) return std::move(fresh).error();
                inv = std::move(*fresh);
                byPath.clear();
                for (auto* list : {&inv.cards, &inv.vfs})
                    for (auto& o : *list) byPath[o.path] = &o;
                changedSinceTick = true;
            }
            const auto now = Clock::now();
            if (now >= next || (eachChange && changedSinceTick)) {
                changedSinceTick = false;
                if (!onTick(inv)) return {};
                if (now >= next) next += interval;
                if (next < now) next = now + interval;  // suspended, or a slow terminal: no burst of lines
                continue;
            }
            const auto poll = connection_->getEventLoopPollData();
            auto waitMs = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count() + 1;
            if (const auto busWants = poll.getRelativeTimeout())
                waitMs = std::min<int64_t>(waitMs, std::chrono::duration_cast<std::chrono::milliseconds>(*busWants).count());
            pollfd fd{poll.fd, poll.events, 0};
            ::poll(&fd, 1, static_cast<int>(waitMs));
        }
    } catch (const sdbus::Error& e) {
        return fromBus(e, "watch the cards");
    }
}

Result<void> DaemonClient::setRecoveryPolicy(const RecoveryChange& c) {
    try {
        auto manager = sdbus::createProxy(*connection_, kBusName, kManagerPath);
        std::map<std::string, sdbus::Variant> policy;
        if (c.autoReset) policy["auto_reset"] = sdbus::Variant(*c.autoReset);
        if (c.autoCardReset) policy["auto_card_reset"] = sdbus::Variant(*c.autoCardReset);
        if (c.resetGuard) {
            policy["reset_guard_resets"] = sdbus::Variant(uint32_t{c.resetGuard->first});
            policy["reset_guard_window_s"] = sdbus::Variant(uint32_t{c.resetGuard->second});
        }
        if (c.cardResetBudget) {
            policy["card_reset_budget"] = sdbus::Variant(uint32_t{c.cardResetBudget->first});
            policy["card_reset_window_s"] = sdbus::Variant(uint32_t{c.cardResetBudget->second});
        }
        manager->callMethod("SetRecoveryPolicy").onInterface(kManagerInterface).withArguments(policy);
        return {};
    } catch (const sdbus::Error& e) {
        return fromBus(e, "set the recovery policy");
    }
}

Result<uint64_t> DaemonClient::reset(const std::string& path, const char* interface, bool force) {
    try {
        auto object = sdbus::createProxy(*connection_, kBusName, path);
        std::map<std::string, sdbus::Variant> options;
        if (force) options["force"] = sdbus::Variant(true);
        uint64_t took = 0;
        object->callMethod("Reset").onInterface(interface).withArguments(options).storeResultsTo(took);
        return took;
    } catch (const sdbus::Error& e) {
        return fromBus(e, "reset");
    }
}

Result<uint64_t> DaemonClient::resetVf(const std::string& vfPath, bool force) { return reset(vfPath, kVfInterface, force); }
Result<uint64_t> DaemonClient::resetCard(const std::string& cardPath, bool force) { return reset(cardPath, kCardInterface, force); }

Result<std::string> DaemonClient::updateFirmware(const std::string& cardPath, int fd, const FirmwareOptions& o) {
    try {
        auto card = sdbus::createProxy(*connection_, kBusName, cardPath);
        std::map<std::string, sdbus::Variant> options;
        if (!o.activate.empty()) options["activate"] = sdbus::Variant(o.activate);
        if (o.allowOlder) options["allow_older"] = sdbus::Variant(true);
        if (o.allowReinstall) options["allow_reinstall"] = sdbus::Variant(true);
        if (o.force) options["force"] = sdbus::Variant(true);
        sdbus::ObjectPath job;
        card->callMethod("UpdateFirmware").onInterface(kCardInterface).withArguments(sdbus::UnixFd(fd), options).storeResultsTo(job);
        return std::string(job);
    } catch (const sdbus::Error& e) {
        return fromBus(e, "update the firmware");
    }
}

Result<std::string> DaemonClient::activateFirmware(const std::string& cardPath, bool force, bool rollback) {
    try {
        auto card = sdbus::createProxy(*connection_, kBusName, cardPath);
        std::map<std::string, sdbus::Variant> options;
        if (force) options["force"] = sdbus::Variant(true);
        sdbus::ObjectPath job;
        card->callMethod(rollback ? "RollbackFirmware" : "ActivateFirmware").onInterface(kCardInterface).withArguments(options).storeResultsTo(job);
        return std::string(job);
    } catch (const sdbus::Error& e) {
        return fromBus(e, rollback ? "roll the firmware back" : "activate the firmware");
    }
}

Result<std::vector<DaemonClient::FirmwareUpdateRow>> DaemonClient::listFirmwareUpdates(const std::string& cardPath, uint32_t limit) {
    try {
        auto card = sdbus::createProxy(*connection_, kBusName, cardPath);
        std::vector<sdbus::Struct<uint64_t, uint64_t, std::string, std::string, uint32_t, std::string, uint32_t, std::string, std::string, std::string, uint64_t, uint64_t>> rows;
        card->callMethod("ListFirmwareUpdates").onInterface(kCardInterface).withArguments(limit).storeResultsTo(rows);
        std::vector<FirmwareUpdateRow> out;
        for (auto& r : rows)
            out.push_back(FirmwareUpdateRow{r.get<0>(), r.get<1>(), r.get<2>(), r.get<3>(), r.get<4>(), r.get<5>(), r.get<6>(), r.get<7>(), r.get<8>(),
                                            r.get<9>(), r.get<10>(), r.get<11>()});
        return out;
    } catch (const sdbus::Error& e) {
        return fromBus(e, "list the firmware updates");
    }
}

Result<std::vector<DaemonClient::ProfileFit>> DaemonClient::listProfiles(const std::string& cardPath) {
    try {
        auto card = sdbus::createProxy(*connection_, kBusName, cardPath);
        std::vector<sdbus::Struct<std::string, uint32_t, uint32_t, uint64_t, uint32_t, uint32_t, uint32_t, std::string>> rows;
        card->callMethod("ListProfiles").onInterface(kCardInterface).storeResultsTo(rows);
        std::vector<ProfileFit> out;
        for (auto& r : rows)
            out.push_back(ProfileFit{r.get<0>(), r.get<1>(), r.get<2>(), r.get<3>(), r.get<4>(), r.get<5>(), r.get<6>(), r.get<7>()});
        return out;
    } catch (const sdbus::Error& e) {
        return fromBus(e, "list the profiles of " + cardPath);
    }
}

Result<void> DaemonClient::setOversubscription(const std::string& cardPath, std::optional<uint32_t> compute, std::optional<uint32_t> memory) {
    try {
        auto card = sdbus::createProxy(*connection_, kBusName, cardPath);
        std::map<std::string, sdbus::Variant> ratios;
        if (compute) ratios["compute"] = sdbus::Variant(*compute / 100.0);
        if (memory) ratios["memory"] = sdbus::Variant(*memory / 100.0);
        card->callMethod("SetOversubscription").onInterface(kCardInterface).withArguments(ratios);
        return {};
    } catch (const sdbus::Error& e) {
        return fromBus(e, "set the oversubscription policy of " + cardPath);
    }
}

namespace {

constexpr uint64_t kNoLimit = std::numeric_limits<uint64_t>::max();

}  // namespace

Result<void> DaemonClient::updateQuota(const std::string& tenant, const QuotaChange& change) {
    try {
        std::map<std::string, sdbus::Variant> limits;
        if (change.maxVfs) limits["max_vfs"] = sdbus::Variant(*change.maxVfs);
        if (change.maxComputeUnits) limits["max_compute_units"] = sdbus::Variant(*change.maxComputeUnits);
        if (change.maxMemoryMib) limits["max_memory_mib"] = sdbus::Variant(*change.maxMemoryMib);
        auto manager = sdbus::createProxy(*connection_, kBusName, kManagerPath);
        manager->callMethod("UpdateQuota").onInterface(kManagerInterface).withArguments(tenant, limits);
        return {};
    } catch (const sdbus::Error& e) {
        return fromBus(e, "set the quota of " + tenant);
    }
}

Result<void> DaemonClient::removeQuota(const std::string& tenant) {
    try {
        auto manager = sdbus::createProxy(*connection_, kBusName, kManagerPath);
        manager->callMethod("RemoveQuota").onInterface(kManagerInterface).withArguments(tenant);
        return {};
    } catch (const sdbus::Error& e) {
        return fromBus(e, "remove the quota of " + tenant);
    }
}

Result<std::vector<DaemonClient::QuotaRow>> DaemonClient::listQuotas() {
    try {
        auto manager = sdbus::createProxy(*connection_, kBusName, kManagerPath);
        std::vector<sdbus::Struct<std::string, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t>> rows;
        manager->callMethod("ListQuotas").onInterface(kManagerInterface).storeResultsTo(rows);
        std::vector<QuotaRow> out;
        const auto limit = [](uint64_t v) { return v == kNoLimit ? std::nullopt : std::optional<uint64_t>(v); };
        for (auto& r : rows)
            out.push_back(QuotaRow{r.get<0>(), r.get<1>(), limit(r.get<2>()), limit(r.get<3>()), r.get<4>(), r.get<5>(), r.get<6>()});
        return out;
    } catch (const sdbus::Error& e) {
        return fromBus(e, "read the quotas");
    }
}

}  // namespace aismi::client
