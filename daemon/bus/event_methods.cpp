// Manager1's event history: ListEvents (open to everyone, like every read) and the Event
// signal, one per recorded event, with the same fields as a ListEvents row.
#include "objects.hpp"
#include "arguments.hpp"
#include "event_history.hpp"
#include "event_repository.hpp"
#include "limits.hpp"

#include <aismi/device_ref.hpp>
#include <sdbus-c++/sdbus-c++.h>

#include <limits>

namespace aismi::bus {
namespace {

constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();  // no card / no VF
constexpr uint32_t kMaxLimit = limits::kMaxEventsListed;

using EventRow = sdbus::Struct<uint64_t, int64_t, std::string, std::string, uint32_t, uint32_t, std::string, std::string, std::string>;

EventRow rowOf(const StoredEvent& e) {
    return EventRow{static_cast<uint64_t>(e.id), e.at, std::string(eventTypeName(e.type)), std::string(severityName(e.severity)),
                    e.card.value_or(kNone), e.vf.value_or(kNone), e.address, e.device, e.message};
}

Error badFilter(const std::string& why) {
    return makeError(Errc::InvalidArgument, "ListEvents: " + why +
                                                " (filters: since (x, unix seconds), card (u), types (as), after_id (t), limit (u, 1 to " +
                                                std::to_string(kMaxLimit) + "))");
}

EventFilter filterOf(const std::map<std::string, sdbus::Variant>& options) {
    EventFilter f;
    for (const auto& [name, value] : options) {
        const std::string type = value.peekValueType();
        const auto want = [&](const char* sig) {
            if (type != sig) throw toBusError(badFilter(name + " must be of type " + sig + ", not " + type));
        };
        if (name == "since") {
            want("x");
            f.since = value.get<int64_t>();
        } else if (name == "card") {
            want("u");
            f.card = value.get<uint32_t>();
        } else if (name == "after_id") {
            want("t");
            const auto id = value.get<uint64_t>();
            if (id > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) throw toBusError(badFilter("after_id is out of range"));
            f.afterId = static_cast<int64_t>(id);
        } else if (name == "limit") {
            want("u");
            f.limit = value.get<uint32_t>();
            if (f.limit < 1 || f.limit > kMaxLimit) throw toBusError(badFilter("limit " + std::to_string(f.limit) + " is out of range"));
        } else if (name == "types") {
            want("as");
            for (const auto& t : value.get<std::vector<std::string>>()) {
                auto parsed = parseEventType(t);
                if (!parsed) {
                    std::string known;
                    for (EventType k : allEventTypes()) known += (known.empty() ? "" : ", ") + std::string(eventTypeName(k));
                    throw toBusError(makeError(Errc::InvalidArgument, "ListEvents: no event type " + quoteInput(t) + " (there are: " + known + ")"));
                }
                f.types.push_back(*parsed);
            }
        } else {
            throw toBusError(badFilter("unknown filter " + quoteInput(name)));
        }
    }
    return f;
}

}  // namespace

void registerEventMethods(sdbus::IObject& object, BusContext& ctx) {
    object.registerMethod(kManagerInterface, "ListEvents", "a{sv}", {"filters"}, "a(txssuusss)", {"events"}, [&ctx](sdbus::MethodCall call) {
        guarded(call, [&] {
            std::map<std::string, sdbus::Variant> options;
            readArguments(call, {"filters"}, options);
            auto events = ctx.history.list(filterOf(options));
            if (!events) throw toBusError(events.error());
            std::vector<EventRow> rows;
            rows.reserve(events->size());
            for (const auto& e : *events) rows.push_back(rowOf(e));
            auto reply = call.createReply();
            reply << rows;
            reply.send();
        });
    });
    object.registerSignal(kManagerInterface, "Event", "txssuusss",
                          {"id", "at", "type", "severity", "card", "vf", "pci_address", "device", "message"});
}

void emitEvent(sdbus::IObject& object, const StoredEvent& e) {
    auto signal = object.createSignal(kManagerInterface, "Event");
    signal << static_cast<uint64_t>(e.id) << e.at << std::string(eventTypeName(e.type)) << std::string(severityName(e.severity))
           << e.card.value_or(kNone) << e.vf.value_or(kNone) << e.address << e.device << e.message;
    object.emitSignal(signal);
}

}  // namespace aismi::bus
