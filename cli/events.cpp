#include "events.hpp"

#include "json.hpp"
#include "selection.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <set>

namespace aismi::cli {
namespace {

constexpr uint32_t kDefaultLines = 1000;
constexpr uint32_t kFollowLines = 10;  // like tail -f and journalctl -f
constexpr uint32_t kSinceLines = 100000;

std::string optionalNumber(const std::optional<uint32_t>& v) { return v ? std::to_string(*v) : "null"; }

}  // namespace

std::string localTime(int64_t unixSeconds) {
    const std::time_t t = static_cast<std::time_t>(unixSeconds);
    std::tm tm{};
    char buf[32] = "?";
    if (localtime_r(&t, &tm)) std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

std::string eventLine(const DaemonClient::EventRow& e) {
    char head[96];
    std::snprintf(head, sizeof head, "%s  %-8s  %-13s  ", localTime(e.at).c_str(), e.severity.c_str(), e.type.c_str());
    return head + e.device + ": " + e.message + "\n";
}

std::string eventJson(const DaemonClient::EventRow& e) {
    std::string o = "{\"id\": " + std::to_string(e.id) + ", \"time\": " + json::quote(localTime(e.at)) + ", \"at\": " + std::to_string(e.at) +
                    ", \"type\": " + json::quote(e.type) + ", \"severity\": " + json::quote(e.severity) + ", \"card\": " + optionalNumber(e.card) +
                    ", \"vf\": " + optionalNumber(e.vf) + ", \"pci.bus_id\": " + (e.address.empty() ? "null" : json::quote(e.address)) +
                    ", \"device\": " + json::quote(e.device) + ", \"message\": " + json::quote(e.message) + "}";
    return o;
}

Result<void> runEvents(DaemonClient& client, const CliRequest& r, std::ostream& out) {
    // -i names cards by index, address or serial: aismid filters by index.
    std::set<uint32_t> cards;
    if (!r.ids.empty()) {
        Inventory inv;
        if (auto q = client.query(bus_names::kCardInterface, {"Index", "PciAddress", "Serial"}, inv.cards); !q) return q;
        auto selected = selectCards(inv, r.ids);
        if (!selected) return std::move(selected).error();
        for (const BusObject* c : *selected) cards.insert(static_cast<uint32_t>(c->number("Index")));
    }
    const uint32_t lines = r.lines ? r.lines : r.since ? kSinceLines : r.follow ? kFollowLines : kDefaultLines;
    uint64_t lastId = 0;
    bool first = true;
    const auto print = [&](const DaemonClient::EventRow& e) {
        if (e.id != 0 && e.id <= lastId) return;  // listed already, or signalled before the listing
        lastId = std::max(lastId, e.id);
        if (!r.json) out << eventLine(e);
        else if (r.follow) out << eventJson(e) << "\n";
        else out << (first ? "[\n " : ",\n ") << eventJson(e);
        first = false;
        out.flush();
    };
    const auto history = [&]() -> Result<void> {
        std::vector<DaemonClient::EventRow> rows;
        DaemonClient::EventQuery q{r.since, std::nullopt, r.eventTypes, lines};
        if (cards.empty()) cards.insert(UINT32_MAX);  // one query, about every card
        for (uint32_t card : cards) {
            q.card = card == UINT32_MAX ? std::nullopt : std::optional(card);
            auto some = client.listEvents(q);
            if (!some) return std::move(some).error();
            rows.insert(rows.end(), some->begin(), some->end());
        }
        cards.erase(UINT32_MAX);
        std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
        if (rows.size() > lines) rows.erase(rows.begin(), rows.end() - lines);
        for (const auto& e : rows) print(e);
        return {};
    };
    if (!r.follow) {
        if (auto h = history(); !h) return h;
        if (r.json) out << (first ? "[]\n" : "\n]\n");
        return {};
    }
    return client.followEvents(history, [&](const DaemonClient::EventRow& e) {
        if (r.since && e.at < *r.since) return;
        if (!cards.empty() && (!e.card || !cards.count(*e.card))) return;
        if (!r.eventTypes.empty() && std::find(r.eventTypes.begin(), r.eventTypes.end(), e.type) == r.eventTypes.end()) return;
        print(e);
    });
}

}  // namespace aismi::cli
