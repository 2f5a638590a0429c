#include "events.hpp"

#include "command_parsing.hpp"
#include "json.hpp"
#include "selection.hpp"

#include <aismi/text.hpp>

#include <boost/program_options.hpp>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <set>

namespace po = boost::program_options;

namespace aismi::cli {
namespace {

// What --help says before the options.
constexpr const char* kEventsUsage = R"(Usage: aismi events [--since TIME] [-i ID[,ID...]] [--type TYPE[,TYPE...]] [--lines N] [--follow] [-j]

The event history aismid keeps: state changes, health transitions, resets, quarantines,
policy actions and every change made through it, oldest first. Without --since, the newest
N events (--lines, 1000 by default; 10 with --follow). --follow then prints each new event
as aismid signals it, until interrupted; with -j each event is one JSON object on a line of
its own. TIME: "2026-11-24 18:00[:SS]", "18:00" (today), "today", "yesterday", "10m ago",
"-2h", "3d ago" or "@UNIXSECONDS". Types: daemon, reconcile, card-added, card-moved,
card-replaced, discovery, poll-failed, health, vf-state, vf-health, ecc, thermal, vf-count,
provision, layout, policy, quota, reset, auto-reset, quarantine, unquarantine, card-reset,
driver, assignment, scrub, assignment-conflict, libvirt, firmware.

)";

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

namespace {

// Writes as it goes (--follow runs until aismid leaves or the user interrupts).
Result<void> events(const EventsRequest& r, Session& s) {
    auto connected = s.client();
    if (!connected) return std::move(connected).error();
    DaemonClient& client = **connected;
    std::ostream& out = s.out;
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
        DaemonClient::EventQuery q{r.since, std::nullopt, r.types, lines};
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
        if (!out) return makeError(Errc::IoError, "cannot write to standard output");
        return {};
    };
    if (!r.follow) {
        if (auto h = history(); !h) return h;
        if (r.json) out << (first ? "[]\n" : "\n]\n");
        return {};
    }
    // Until aismid leaves, the user interrupts, or stdout fails (a full disk; a closed pipe ends
    // aismi by SIGPIPE).
    auto followed = client.followEvents(history, [&](const DaemonClient::EventRow& e) {
        if (r.since && e.at < *r.since) return true;
        if (!cards.empty() && (!e.card || !cards.count(*e.card))) return true;
        if (!r.types.empty() && std::find(r.types.begin(), r.types.end(), e.type) == r.types.end()) return true;
        print(e);
        return static_cast<bool>(out);
    });
    if (followed && !out) return makeError(Errc::IoError, "cannot write to standard output");
    return followed;
}

Result<Command> parseEvents(const CommandLine& c) {
    auto cards = cardIds(c, "events", "aismi events --help");
    if (!cards) return std::move(cards).error();
    EventsRequest r;
    r.ids = *cards;
    r.json = c.has("json");
    r.follow = c.has("follow");
    if (c.has("since")) {
        auto at = text::parseTimePoint(c.text("since"), static_cast<int64_t>(std::time(nullptr)), "--since");
        if (!at) return usage(at.error().message, "aismi events --help");
        r.since = *at;
    }
    if (c.has("type")) {
        r.types = splitComma(c.text("type"));
        if (r.types.empty()) return usage("--type needs at least one event type", "aismi events --help lists them");
    }
    if (c.has("lines")) {
        auto n = number(c.text("lines"), "--lines", 1, 100000, "aismi events --help");
        if (!n) return std::move(n).error();
        r.lines = *n;
    }
    return reading(makeCommand("events", r, events), r.json, !r.follow);
}

po::options_description eventsOptions() {
    po::options_description o("events options");
    o.add_options()
        ("since", po::value<std::string>()->value_name("TIME"), "only events at or after TIME")
        ("type", po::value<std::string>()->value_name("TYPES"), "only events of these types, comma separated")
        ("lines,n", po::value<std::string>()->value_name("N"), "the newest N events (1 to 100000)")
        ("follow,f", "then print new events as they happen, until interrupted");
    return o;
}

}  // namespace

CommandSet eventsCommands() {
    return {{{{"events"}, {"id", "json", "since", "type", "lines", "follow"}, parseEvents}},
            {{"events", kEventsUsage,
              [] {
                  return "  -i [ --id ] ID        only events about these cards (index, PCI address or serial)\n" + optionLines(eventsOptions()) +
                         "  -j [ --json ]         JSON output (with --follow: one object per line)\n";
              },
              "", "events                     the event history, and new events as they happen (aismi events --help)"}},
            [](po::options_description& o) { o.add(eventsOptions()); }};
}

}  // namespace aismi::cli
