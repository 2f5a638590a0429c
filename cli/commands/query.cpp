#include "query.hpp"

#include "client_api.hpp"
#include "command_parsing.hpp"
#include "events.hpp"
#include "json.hpp"
#include "selection.hpp"
#include "version.hpp"

#include <aismi/device_ref.hpp>

#include <boost/program_options.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <iomanip>
#include <set>
#include <sstream>
#include <thread>

namespace po = boost::program_options;

namespace aismi::cli {
namespace {

constexpr unsigned kMaxLoopSeconds = 86400;

// ISO 8601 in UTC with its offset, as JSON readers and log pipelines expect.
std::string timestamp() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::ostringstream s;
    s << std::put_time(&tm, "%Y-%m-%dT%H:%M:%S+00:00");
    return s.str();
}

// Prints `once` and, with -l, again every loopSeconds until the output fails or the user
// interrupts; with -l -j one JSON document per line. `blankLine`: a text report is followed by
// an empty line before the next.
Result<void> repeat(Session& s, const Shown& r, bool blankLine, const std::function<Result<std::string>(DaemonClient&, bool first)>& once) {
    auto client = s.client();
    if (!client) return std::move(client).error();
    for (bool first = true;; first = false) {
        auto text = once(**client, first);
        if (!text) return std::move(text).error();
        s.out << (r.json && r.loopSeconds ? json::oneLine(*text) : *text);
        if (auto ok = s.flushed(); !ok) return ok;
        if (!r.loopSeconds) return {};
        std::this_thread::sleep_for(std::chrono::seconds(r.loopSeconds));
        if (!r.json && blankLine) s.out << "\n";
    }
}

Result<void> summary(const SummaryRequest& r, Session& s) {
    return repeat(s, r, true, [&](DaemonClient& client, bool) -> Result<std::string> {
        auto inv = r.json ? client.fetch() : client.fetchSummary();
        if (!inv) return std::move(inv).error();
        auto cards = selectCards(*inv, r.ids);
        if (!cards) return std::move(cards).error();
        return r.json ? renderJsonInventory(*inv, *cards, {}, timestamp()) : renderSummary(*inv, *cards, timestamp());
    });
}

Result<void> report(const ReportRequest& r, Session& s) {
    return repeat(s, r, true, [&](DaemonClient& client, bool) -> Result<std::string> {
        auto inv = client.fetch();
        if (!inv) return std::move(inv).error();
        auto cards = selectCards(*inv, r.ids);
        if (!cards) return std::move(cards).error();
        if (r.json) return renderJsonInventory(*inv, *cards, r.sections, timestamp());
        if (!r.sections.empty() && std::find(r.sections.begin(), r.sections.end(), "RECOVERY") == r.sections.end())
            return renderReport(*inv, *cards, r.sections, timestamp());
        // The RECOVERY section's last resets come from the event history.
        LastResets last;
        for (const BusObject* card : *cards) {
            auto resets = client.listEvents({std::nullopt, static_cast<uint32_t>(card->number("Index")), {"reset"}, 100000});
            if (!resets) return std::move(resets).error();
            for (const auto& e : *resets)
                if (e.card && e.vf)
                    last[std::to_string(*e.card) + ":" + std::to_string(*e.vf)] = localTime(e.at) + (e.severity == "info" ? "" : ", failed");
        }
        return renderReport(*inv, *cards, r.sections, timestamp(), last);
    });
}

Result<void> listCards(const ListCardsRequest& r, Session& s) {
    return repeat(s, r, false, [&](DaemonClient& client, bool) -> Result<std::string> {
        Inventory inv;
        if (auto x = client.query(bus_names::kCardInterface, {"Index", "Name", "PciAddress", "Serial"}, inv.cards); !x) return std::move(x).error();
        auto cards = selectCards(inv, r.ids);
        if (!cards) return std::move(cards).error();
        std::ostringstream out;
        for (const auto* c : *cards)
            out << "card " << c->number("Index") << ": " << c->text("Name") << " (PCI " << c->text("PciAddress") << ", serial " << c->text("Serial")
                << ")\n";
        return out.str();
    });
}

// The properties a query needs: its fields plus what selecting by -i reads.
std::vector<std::string> propertiesFor(const std::vector<const Field*>& fields, std::set<std::string> base) {
    for (const auto* f : fields) base.insert(f->property);
    return {base.begin(), base.end()};
}

const std::set<std::string> kCardSelection{"Index", "PciAddress", "Serial"};
const std::set<std::string> kVfSelection{"CardIndex", "Index", "PciAddress"};

// Only what the query shows is fetched, typed, one Query per interface it needs.
Result<void> fieldQuery(const FieldQueryRequest& r, Session& s) {
    return repeat(s, r, false, [&](DaemonClient& client, bool first) -> Result<std::string> {
        CsvFormat csv = r.csv;
        csv.header = csv.header && first;  // -l: the header once, not every iteration
        Inventory inv;
        if (!r.vfs) {
            if (auto x = client.query(bus_names::kCardInterface, propertiesFor(r.fields, kCardSelection), inv.cards); !x) return std::move(x).error();
            auto cards = selectCards(inv, r.ids);
            if (!cards) return std::move(cards).error();
            return r.json ? renderJsonRows(*cards, r.fields) : renderCsv(*cards, r.fields, csv);
        }
        if (auto x = client.query(bus_names::kCardInterface, {kCardSelection.begin(), kCardSelection.end()}, inv.cards); !x) return std::move(x).error();
        if (auto x = client.query(bus_names::kVfInterface, propertiesFor(r.fields, kVfSelection), inv.vfs); !x) return std::move(x).error();
        auto vfs = selectVfs(inv, r.ids);
        if (!vfs) return std::move(vfs).error();
        return r.json ? renderJsonRows(*vfs, r.fields) : renderCsv(*vfs, r.fields, csv);
    });
}

struct VersionRequest {};

Result<void> version(const VersionRequest&, Session& s) {
    s.out << "aismi " << kAismiVersion << "\n";
    Inventory inv;
    auto client = s.client();
    if (client && (*client)->readManager(inv))
        s.out << "aismid " << inv.manager.text("Version") << " (backend " << inv.manager.text("Backend") << ")\n";
    else
        s.out << "aismid not running\n";
    return {};
}

struct FieldHelpRequest {
    bool vfs = false;
};

Result<void> fieldHelp(const FieldHelpRequest& r, Session& s) {
    s.out << (r.vfs ? renderFieldHelp(vfFields(), "--query-vf=") : renderFieldHelp(cardFields(), "--query-card="));
    return {};
}

Result<std::vector<const Field*>> resolveFields(const std::string& list, const std::vector<Field>& table, const std::string& kind) {
    std::vector<const Field*> out;
    for (const auto& name : splitComma(list)) {
        const Field* f = findField(table, name);
        if (!f) {
            std::string hint = didYouMean(name);
            if (hint.empty()) {
                std::vector<std::string> names;
                for (const auto& field : table) names.push_back(field.name);
                hint = didYouMean(name, names);
            }
            return usage("unknown " + kind + " field " + quoteInput(name) + hint, "aismi --help-query-" + kind + " lists them");
        }
        out.push_back(f);
    }
    if (out.empty()) return usage("--query-" + kind + " needs at least one field", "aismi --help-query-" + kind + " lists them");
    return out;
}

Result<CsvFormat> parseFormat(const std::string& spec) {
    CsvFormat f;
    bool csv = false;
    for (const auto& word : splitComma(spec)) {
        if (word == "csv") csv = true;
        else if (word == "noheader") f.header = false;
        else if (word == "nounits") f.units = false;
        else return usage("unknown --format word " + quoteInput(word) + " (use csv, noheader, nounits)");
    }
    if (!csv) return usage("--format must include csv (e.g. --format=csv,noheader)");
    return f;
}

// A request of kind R that shows what `shown` says.
template <class R>
R from(const Shown& shown) {
    R r;
    static_cast<Shown&>(r) = shown;
    return r;
}

Result<Command> parseQuery(const CommandLine& c) {
    // --version and the field lists take nothing else (-H aside): what they would ignore is refused.
    for (const char* alone : {"version", "help-query-card", "help-query-vf"})
        if (c.has(alone) && c.values.size() > 1) {
            std::string others;
            for (const auto& [name, value] : c.values)
                if (name != alone) others += (others.empty() ? "--" : ", --") + name;
            return usage(std::string("--") + alone + " goes alone, not with " + others);
        }
    if (c.has("version")) {
        return reading(makeCommand("", VersionRequest{}, version), false);
    }
    if (c.has("help-query-card") || c.has("help-query-vf")) {
        Command h = makeCommand("", FieldHelpRequest{!c.has("help-query-card")}, fieldHelp);
        h.local = true;
        return h;
    }
    Shown shown;
    shown.json = c.has("json");
    auto selected = ids(c);
    if (!selected) return std::move(selected).error();
    shown.ids = *selected;
    if (c.has("loop")) {
        auto s = number(c.text("loop"), "-l/--loop", 1, kMaxLoopSeconds, "aismi --help lists the options");
        if (!s) return std::move(s).error();
        shown.loopSeconds = *s;
    }
    const int modes = static_cast<int>(c.has("query") + c.has("query-card") + c.has("query-vf") + c.has("list-cards"));
    if (modes > 1) return usage("use only one of -q, -L, --query-card and --query-vf");
    if (c.has("display") && !c.has("query")) return usage("-d/--display goes with -q");
    if (c.has("format") && !c.has("query-card") && !c.has("query-vf")) return usage("--format goes with --query-card or --query-vf");
    if (c.has("format") && shown.json) return usage("use one of --format=csv and -j: CSV or JSON");
    if (c.has("list-cards")) {
        if (shown.json) return usage("-L prints lines; for JSON use -j alone or --query-card=... -j");
        return reading(makeCommand("", from<ListCardsRequest>(shown), listCards), shown.json, shown.loopSeconds == 0);
    }
    if (c.has("query")) {
        auto r = from<ReportRequest>(shown);
        if (c.has("display")) {
            if (splitComma(c.text("display")).empty())
                return usage("-d needs at least one section (PCI, FIRMWARE, SRIOV, TEMPERATURE, POWER, UTILIZATION, MEMORY, ECC, HEALTH, RECOVERY)");
            for (auto s : splitComma(c.text("display"))) {
                std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return std::toupper(ch); });
                if (s == "VF") s = "SRIOV";
                const auto& known = reportSections();
                if (std::find(known.begin(), known.end(), s) == known.end())
                    return usage("unknown -d section " + quoteInput(s) +
                                 " (PCI, FIRMWARE, SRIOV, TEMPERATURE, POWER, UTILIZATION, MEMORY, ECC, HEALTH, RECOVERY)");
                r.sections.push_back(s);
            }
        }
        return reading(makeCommand("", r, report), shown.json, shown.loopSeconds == 0);
    }
    const bool card = c.has("query-card");
    if (!card && !c.has("query-vf")) return reading(makeCommand("", from<SummaryRequest>(shown), summary), shown.json, shown.loopSeconds == 0);
    auto r = from<FieldQueryRequest>(shown);
    r.vfs = !card;
    auto fields = card ? resolveFields(c.text("query-card"), cardFields(), "card") : resolveFields(c.text("query-vf"), vfFields(), "vf");
    if (!fields) return std::move(fields).error();
    r.fields = *fields;
    if (!c.has("format") && !r.json) return usage(std::string("--query-") + (card ? "card" : "vf") + " needs --format=csv or -j");
    if (c.has("format")) {
        auto f = parseFormat(c.text("format"));
        if (!f) return std::move(f).error();
        r.csv = *f;
    }
    Command q = reading(makeCommand("", r, fieldQuery), shown.json, shown.loopSeconds == 0);
    if (!r.json) q.output = Output::Csv, q.csvHeader = r.csv.header;
    return q;
}

void addOptions(po::options_description& o) {
    o.add_options()
        ("version", "show the version of aismi and of the running aismid")
        ("list-cards,L", "one line per card: index, name, PCI address, serial")
        ("id,i", po::value<std::string>()->value_name("ID[,ID...]"), "cards to show: index, PCI address or serial, comma separated (with --query-vf "
                                           "and vf list also VFs as CARD:VF or PCI address)")
        ("query,q", "full report of each card")
        ("display,d", po::value<std::string>()->value_name("SECTIONS"), "with -q: only these sections (PCI, FIRMWARE, SRIOV, TEMPERATURE, POWER, "
                                                "UTILIZATION, MEMORY, ECC, HEALTH, RECOVERY), comma separated")
        ("query-card", po::value<std::string>()->value_name("FIELDS"), "card fields to print, comma separated (see --help-query-card)")
        ("query-vf", po::value<std::string>()->value_name("FIELDS"), "VF fields to print, comma separated (see --help-query-vf)")
        ("format", po::value<std::string>()->value_name("FORMAT"), "for --query-*: csv[,noheader][,nounits]")
        ("help-query-card", "list the card fields")
        ("help-query-vf", "list the VF fields")
        ("json,j", "machine-readable JSON output")
        ("loop,l", po::value<std::string>()->value_name("SECONDS"), "repeat every SECONDS (1 to 86400) until interrupted");
}

}  // namespace

CommandSet queryCommands() {
    return {{{{}, {"version", "list-cards", "id", "query", "display", "query-card", "query-vf", "format", "help-query-card", "help-query-vf", "json", "loop"},
               parseQuery}},
            {},
            addOptions};
}

}  // namespace aismi::cli
