#include "dmon.hpp"

#include "command_parsing.hpp"
#include "json.hpp"
#include "selection.hpp"

#include <aismi/device_ref.hpp>

#include <boost/program_options.hpp>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <functional>
#include <sstream>
#include <sys/ioctl.h>
#include <unistd.h>

namespace po = boost::program_options;

namespace aismi::cli {
namespace {

// What --help says before the options.
constexpr const char* kDmonUsage = R"(Usage: aismi dmon [-i ID[,ID...]] [-s GROUPS] [-c COUNT] [-d SECONDS] [--vf] [-j]

Streams one line per card (and per VF with --vf) every SECONDS (default 1), COUNT times
(default: until interrupted), as nvidia-smi dmon does; the header comes again every screenful.
The values are the latest aismid has, kept current from its PropertiesChanged signals (aismi
does not poll it). "-" is a value the card does not report. GROUPS, letters (default pumev):
  p  power (W) and temperature (C)
  u  utilisation (%)
  m  memory used and total, or given to a VF (MiB)
  e  ECC errors corrected and uncorrected; PCIe AER correctable, non-fatal, fatal (cards)
  v  VFs enabled, running, hung and quarantined (cards); state (VFs); health
With -j every line is one JSON object with the time, the card (and VF) and the columns.

)";

struct Row {
    const BusObject& object;
    bool vf;
    const std::vector<const BusObject*>* vfsOfCard;  // card rows: its VFs
};

// One column: its group, name, unit, JSON key, and what it shows for a card or a VF row.
struct Column {
    char group;
    const char* name;
    const char* unit;
    const char* key;
    std::function<Value(const Row&)> value;
};

Value prop(const Row& r, std::string_view card, std::string_view vf) {
    const std::string_view name = r.vf ? vf : card;
    return name.empty() ? Value(NotAvailable{}) : r.object.get(name);
}

uint64_t countVfs(const Row& r, const std::function<bool(const BusObject&)>& match) {
    uint64_t n = 0;
    for (const BusObject* v : *r.vfsOfCard) n += match(*v);
    return n;
}

Value cardOnly(const Row& r, uint64_t (*count)(const Row&)) { return r.vf ? Value(NotAvailable{}) : Value(count(r)); }

const std::vector<Column>& columns() {
    static const std::vector<Column> all{
        {'p', "pwr", "W", "power_w", [](const Row& r) { return prop(r, "PowerW", ""); }},
        {'p', "temp", "C", "temperature_c", [](const Row& r) { return prop(r, "TemperatureC", ""); }},
        {'u', "util", "%", "utilization_pct", [](const Row& r) { return prop(r, "UtilizationPercent", "UtilizationPercent"); }},
        {'m', "mused", "MiB", "memory_used_mib", [](const Row& r) { return prop(r, "MemoryUsedMiB", "MemoryUsedMiB"); }},
        {'m', "mtotal", "MiB", "memory_mib", [](const Row& r) { return prop(r, "MemoryTotalMiB", "MemoryMiB"); }},
        {'e', "eccc", "", "ecc_corrected", [](const Row& r) { return prop(r, "EccCorrected", "EccCorrected"); }},
        {'e', "eccu", "", "ecc_uncorrected", [](const Row& r) { return prop(r, "EccUncorrected", "EccUncorrected"); }},
        {'e', "aerc", "", "aer_correctable", [](const Row& r) { return prop(r, "AerCorrectable", ""); }},
        {'e', "aern", "", "aer_nonfatal", [](const Row& r) { return prop(r, "AerNonFatal", ""); }},
        {'e', "aerf", "", "aer_fatal", [](const Row& r) { return prop(r, "AerFatal", ""); }},
        {'v', "vfs", "", "vfs", [](const Row& r) { return cardOnly(r, [](const Row& c) { return c.object.number("VfEnabled"); }); }},
        {'v', "run", "", "vfs_running", [](const Row& r) {
             return cardOnly(r, [](const Row& c) { return countVfs(c, [](const BusObject& v) { return v.text("State") == "running"; }); });
         }},
        {'v', "hung", "", "vfs_hung", [](const Row& r) {
             return cardOnly(r, [](const Row& c) { return countVfs(c, [](const BusObject& v) { return v.text("State") == "hung"; }); });
         }},
        {'v', "quar", "", "quarantined", [](const Row& r) -> Value {
             if (r.vf) return std::get_if<bool>(&r.object.get("Quarantined")) ? Value(uint64_t{std::get<bool>(r.object.get("Quarantined"))}) : Value(NotAvailable{});
             return countVfs(r, [](const BusObject& v) { auto* q = std::get_if<bool>(&v.get("Quarantined")); return q && *q; });
         }},
        {'v', "state", "", "state", [](const Row& r) { return prop(r, "", "State"); }},
        {'v', "health", "", "health", [](const Row& r) { return prop(r, "Health", "Health"); }},
    };
    return all;
}

std::vector<const Column*> selected(const DmonRequest& r) {
    std::vector<const Column*> out;
    for (char g : kDmonGroups)
        if (r.groups.find(g) != std::string::npos)
            for (const Column& c : columns())
                if (c.group == g) out.push_back(&c);
    return out;
}

int widthOf(const Column& c) { return std::string_view(c.name) == "health" || std::string_view(c.name) == "state" ? 9 : 7; }

std::string cell(const Value& v) {
    if (std::holds_alternative<NotAvailable>(v)) return "-";
    if (auto* d = std::get_if<double>(&v)) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.0f", *d);
        return buf;
    }
    if (auto* u = std::get_if<uint64_t>(&v)) return std::to_string(*u);
    if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
    if (auto* b = std::get_if<bool>(&v)) return *b ? "1" : "0";
    if (auto* s = std::get_if<std::string>(&v)) return s->empty() ? "-" : *s;
    return "-";
}

std::string jsonValue(const Value& v) {
    if (std::holds_alternative<NotAvailable>(v)) return "null";
    if (auto* d = std::get_if<double>(&v)) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.1f", *d);
        return buf;
    }
    if (auto* s = std::get_if<std::string>(&v)) return json::quote(*s);
    return cell(v);
}

std::string pad(const std::string& s, int width) { return s.size() >= static_cast<size_t>(width) ? " " + s : std::string(width - s.size(), ' ') + s; }


}  // namespace

std::string dmonHeader(const DmonRequest& r) {
    std::string names = "#    idx", units = "#       ";
    for (const Column* c : selected(r)) {
        names += pad(c->name, widthOf(*c));
        units += pad(*c->unit ? c->unit : "", widthOf(*c));
    }
    // No trailing blanks.
    while (!units.empty() && units.back() == ' ') units.pop_back();
    return names + "\n" + units + "\n";
}

Result<std::string> dmonLines(const Inventory& inv, const DmonRequest& r, int64_t unixSeconds) {
    auto cards = selectCards(inv, r.ids);
    if (!cards) return std::move(cards).error();
    const auto cols = selected(r);
    std::string out;
    for (const BusObject* card : *cards) {
        const auto vfs = vfsOf(inv, {card});
        std::vector<Row> rows{Row{*card, false, &vfs}};
        if (r.vfs)
            for (const BusObject* v : vfs) rows.push_back(Row{*v, true, nullptr});
        for (const Row& row : rows) {
            const std::string idx = row.vf ? std::to_string(row.object.number("CardIndex")) + ":" + std::to_string(row.object.number("Index"))
                                           : std::to_string(row.object.number("Index"));
            if (r.json) {
                out += "{\"time\":" + std::to_string(unixSeconds) + ",\"card\":" + std::to_string(row.vf ? row.object.number("CardIndex") : row.object.number("Index"));
                if (row.vf) out += ",\"vf\":" + std::to_string(row.object.number("Index"));
                for (const Column* c : cols) out += ",\"" + std::string(c->key) + "\":" + jsonValue(c->value(row));
                out += "}\n";
                continue;
            }
            std::string line = pad(idx, 8);
            for (const Column* c : cols) line += pad(cell(c->value(row)), widthOf(*c));
            out += line + "\n";
        }
    }
    return out;
}

namespace {

unsigned terminalRows() {
    winsize w{};
    if (::isatty(STDOUT_FILENO) && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_row > 4) return w.ws_row;
    return 0;  // not a terminal: one header
}

// aismi dmon: streams until the count is reached, the user interrupts, or aismid leaves the bus.
Result<void> dmon(const DmonRequest& r, Session& s) {
    auto client = s.client();
    if (!client) return std::move(client).error();
    std::ostream& out = s.out;
    const unsigned rows = terminalRows();
    unsigned printed = 0, intervals = 0;
    bool headerShown = false;
    Result<void> failure;
    auto watched = (*client)->watch(std::chrono::seconds(r.delaySeconds), [&](const Inventory& inv) {
        auto lines = dmonLines(inv, r, static_cast<int64_t>(std::time(nullptr)));
        if (!lines) {
            failure = std::move(lines).error();
            return false;
        }
        const unsigned n = static_cast<unsigned>(std::count(lines->begin(), lines->end(), '\n'));
        if (!r.json && (!headerShown || (rows && printed + n + 2 > rows - 1))) {
            out << dmonHeader(r);
            headerShown = true;
            printed = 2;
        }
        out << *lines;
        out.flush();
        printed += n;
        return !out.fail() && (r.count == 0 || ++intervals < r.count);
    });
    if (!failure) return failure;
    return watched;
}

Result<Command> parseDmon(const CommandLine& c) {
    auto cards = cardIds(c, "dmon", "aismi dmon --help");
    if (!cards) return std::move(cards).error();
    DmonRequest r;
    r.ids = *cards;
    r.json = c.has("json");
    r.vfs = c.has("vf");
    if (c.has("select")) {
        r.groups.clear();
        for (char g : c.text("select")) {
            if (std::string_view(kDmonGroups).find(g) == std::string_view::npos)
                return usage("-s takes letters of " + std::string(kDmonGroups) + ", not " + quoteInput(c.text("select")), "aismi dmon --help");
            if (r.groups.find(g) == std::string::npos) r.groups += g;
        }
        if (r.groups.empty()) return usage("-s needs at least one of " + std::string(kDmonGroups), "aismi dmon --help");
    }
    if (c.has("count")) {
        auto n = number(c.text("count"), "-c/--count", 1, 100'000'000, "aismi dmon --help");
        if (!n) return std::move(n).error();
        r.count = *n;
    }
    if (c.has("display") && c.has("delay")) return usage("give the interval once: -d or --delay", "aismi dmon --help");
    if (c.has("display") || c.has("delay")) {
        auto s = number(c.text(c.has("delay") ? "delay" : "display"), "-d/--delay", 1, 86400, "aismi dmon --help");
        if (!s) return std::move(s).error();
        r.delaySeconds = *s;
    }
    return makeCommand("dmon", r, dmon);
}

po::options_description dmonOptions() {
    po::options_description o("dmon options");
    o.add_options()
        ("select,s", po::value<std::string>(), "column groups, letters of pumev (default all)")
        ("delay", po::value<std::string>(), "seconds between lines (1 to 86400; also -d)")
        ("vf", "a line per VF too");
    return o;
}

}  // namespace

CommandSet dmonCommands() {
    return {{{{"dmon"}, {"id", "json", "select", "count", "display", "delay", "vf"}, parseDmon}},
            {{"dmon", kDmonUsage,
              [] {
                  return std::string("  -i [ --id ] ID        only these cards (index, PCI address or serial)\n"
                                     "  -s [ --select ] GROUPS column groups, letters of pumev (default all)\n"
                                     "  -c [ --count ] COUNT  print COUNT intervals, then exit (default: until interrupted)\n"
                                     "  -d [ --delay ] SECONDS seconds between lines (1 to 86400, default 1)\n"
                                     "  --vf                  a line per VF too\n"
                                     "  -j [ --json ]         one JSON object per line\n");
              },
              "", "dmon                       stream a line per card (and VF) every second, like nvidia-smi dmon (aismi dmon --help)"}},
            [](po::options_description& o) { o.add(dmonOptions()); }};
}

}  // namespace aismi::cli
