#include "options.hpp"

#include "usage_texts.hpp"

#include <aismi/device_ref.hpp>
#include <aismi/option_errors.hpp>
#include <aismi/text.hpp>
#include <aismi/types.hpp>

#include <boost/program_options.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <tuple>
#include <set>
#include <sstream>

namespace po = boost::program_options;

namespace aismi::cli {
namespace {

constexpr unsigned kMaxLoopSeconds = 86400;
constexpr unsigned kMaxVfCount = 65535;

std::vector<std::string> splitComma(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream in(s);
    for (std::string item; std::getline(in, item, ',');) {
        item.erase(0, item.find_first_not_of(' '));
        item.erase(item.find_last_not_of(' ') + 1);
        if (!item.empty()) out.push_back(item);
    }
    return out;
}

Error usage(const std::string& what, const std::string& hint = "aismi --help lists the options") {
    return makeError(Errc::InvalidArgument, what + " (" + hint + ")");
}

// A whole number in [min, max]; "-1" and "1e3" are refused, never wrapped.
Result<unsigned> number(const std::string& text, const std::string& option, unsigned min, unsigned max, const std::string& hint) {
    const bool digits = !text.empty() && text.size() <= 10 && std::all_of(text.begin(), text.end(), ::isdigit);
    auto n = digits ? text::parseUnsigned(text, option) : Result<uint64_t>(makeError(Errc::InvalidArgument, ""));
    if (!n || *n < min || *n > max)
        return usage(option + " takes a whole number from " + std::to_string(min) + " to " + std::to_string(max) + ", not " + quoteInput(text),
                     hint);
    return static_cast<unsigned>(*n);
}

// nvidia-smi's words for what aismi calls otherwise: an unknown one gets "did you mean".
const std::map<std::string, std::string>& nvidiaSmiWords() {
    static const std::map<std::string, std::string> words{
        {"--query-gpu", "--query-card"}, {"--list-gpus", "-L (--list-cards)"}, {"-r", "aismi reset -i ID"}, {"--gpu-reset", "aismi reset -i ID"},
        {"-x", "-j (--json)"},           {"--xml-format", "-j (--json)"},      {"-pm", "nothing: aismid keeps cards initialised"},
        {"temperature.gpu", "temperature"}, {"utilization.gpu", "utilization"}, {"pci.bus", "pci.bus_id"}, {"gpu_name", "name"},
        {"gpu_serial", "serial"},           {"driver_version", "driver"}};
    return words;
}

std::string didYouMean(const std::string& word) {
    auto it = nvidiaSmiWords().find(word);
    return it == nvidiaSmiWords().end() ? "" : " (did you mean " + it->second + "?)";
}

// A typo of one of `candidates` (at most 2 letters added, dropped, changed or swapped, and
// fewer than a third of the word): " (did you mean X?)"; "" when none is that close.
std::string didYouMean(const std::string& word, const std::vector<std::string>& candidates) {
    const auto distance = [](const std::string& a, const std::string& b) {
        std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
        for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
        for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
        for (size_t i = 1; i <= a.size(); ++i)
            for (size_t j = 1; j <= b.size(); ++j) {
                d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
            }
        return d[a.size()][b.size()];
    };
    if (word.size() > 64) return "";
    std::string best;
    size_t bestDistance = 3;
    for (const auto& c : candidates)
        if (const size_t n = distance(word, c); n < bestDistance && n * 3 < std::max(word.size(), c.size())) best = c, bestDistance = n;
    return best.empty() ? "" : " (did you mean " + best + "?)";
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

po::options_description globalOptions() {
    po::options_description o("Options");
    o.add_options()
        ("help,h", "show this help")
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
        ("loop,l", po::value<std::string>()->value_name("SECONDS"), "repeat every SECONDS (1 to 86400) until interrupted")
        ("host,H", po::value<std::vector<std::string>>()->composing()->value_name("HOST"),
         "[USER@]HOST[:PORT]: run against aismid on that host over SSH (repeatable for commands that only read)");
    return o;
}

po::options_description vfOptions() {
    po::options_description o("vf options");
    o.add_options()
        ("count,c", po::value<std::string>()->value_name("N"), "number of VFs to enable (vf enable)")
        ("force", "vf enable, vf disable: replace VFs in use too (provisioned for a tenant, running a workload, held or bound to "
                  "vfio-pci); "
                  "vf reset: reset it also with a workload running or bound to vfio-pci")
        ("profile", po::value<std::string>()->value_name("NAME"), "the profile to provision with (vf provision)")
        ("tenant", po::value<std::string>()->value_name("TENANT"), "whom the VF is provisioned for (vf provision) or assigned for (vf assign)")
        ("driver", po::value<std::string>()->value_name("DRIVER"), "vfio-pci, or host: the driver the kernel picks (vf bind)")
        ("domain", po::value<std::string>()->value_name("NAME"), "the libvirt domain (vf assign); only the VFs of that domain (vf list)")
        ("reason", po::value<std::string>()->value_name("TEXT"), "why the VF is taken out of use (vf quarantine)");
    return o;
}

po::options_description policyOptions() {
    po::options_description o("policy options");
    o.add_options()
        ("compute-oversubscription", po::value<std::string>()->value_name("RATIO"), "the VFs' burst caps together, as a ratio of the card's compute units (1.0 to 16)")
        ("memory-oversubscription", po::value<std::string>()->value_name("RATIO"), "the VFs' memory together, as a ratio of the card's memory (1.0 to 4)")
        ("auto-reset", po::value<std::string>()->value_name("yes|no"), "reset hung VFs automatically: yes or no (host-wide, no -i)")
        ("reset-guard", po::value<std::string>()->value_name("N/SECONDS"), "N/SECONDS: at most N automatic resets of a VF in SECONDS, then quarantine")
        ("auto-card-reset", po::value<std::string>()->value_name("yes|no"), "when a hung VF's own reset fails, reset its whole card: yes or no")
        ("card-reset-budget", po::value<std::string>()->value_name("N/SECONDS"), "N/SECONDS: at most N such card resets of a card in SECONDS");
    return o;
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

po::options_description firmwareOptions() {
    po::options_description o("firmware options");
    o.add_options()
        ("activate", po::value<std::string>()->value_name("WHEN"), "firmware update: now, idle (default: once no VF is in use) or never (stage only)")
        ("allow-older", "firmware update: also an image older than the running firmware")
        ("allow-reinstall", "firmware update: also the version the card runs already")
        ("quiet", "firmware update|activate|rollback: no progress bar and no result line");
    return o;
}

po::options_description dmonOptions() {
    po::options_description o("dmon options");
    o.add_options()
        ("select,s", po::value<std::string>(), "column groups, letters of pumev (default all)")
        ("delay", po::value<std::string>(), "seconds between lines (1 to 86400; also -d)")
        ("vf", "a line per VF too");
    return o;
}

po::options_description partitionOptions() {
    po::options_description o("partition options");
    o.add_options()
        ("dry-run", "print what partition apply would do; change nothing")
        ("file", po::value<std::string>(), "read the LAYOUT from FILE: COUNTxPROFILE items, comma or newline separated, # comments");
    return o;
}

po::options_description quotaOptions() {
    po::options_description o("quota options");
    o.add_options()
        ("max-vfs", po::value<std::string>()->value_name("N"), "VFs the tenant may hold (quota set; 0 to 1000000)")
        ("max-compute", po::value<std::string>()->value_name("N"), "compute units the tenant may hold (quota set; default: no limit)")
        ("max-memory", po::value<std::string>()->value_name("SIZE"), "device memory the tenant may hold, SIZE (quota set; default: no limit)");
    return o;
}

// What was on the command line: the command words, and the options wherever they stood.
struct CommandLine {
    std::vector<std::string> words;
    std::vector<std::string> arguments;  // the words after the verb's own (a VF to provision)
    po::variables_map vm;
    bool has(const char* name) const { return vm.count(name) > 0; }
    std::string text(const char* name) const { return vm[name].as<std::string>(); }
};

using VerbParser = Result<CliRequest> (*)(const CommandLine&);

Result<CliRequest> parseQuery(const CommandLine& c);
Result<CliRequest> parseVfList(const CommandLine& c);
Result<CliRequest> parseVfEnable(const CommandLine& c);
Result<CliRequest> parseVfDisable(const CommandLine& c);
Result<CliRequest> parseVfProvision(const CommandLine& c);
Result<CliRequest> parseVfUnprovision(const CommandLine& c);
Result<CliRequest> parseVfReset(const CommandLine& c);
Result<CliRequest> parseVfUnquarantine(const CommandLine& c);
Result<CliRequest> parseVfQuarantine(const CommandLine& c);
Result<CliRequest> parseVfBind(const CommandLine& c);
Result<CliRequest> parseVfAssign(const CommandLine& c);
Result<CliRequest> parseVfRelease(const CommandLine& c);
Result<CliRequest> parseProfileList(const CommandLine& c);
Result<CliRequest> parseQuotaSet(const CommandLine& c);
Result<CliRequest> parseQuotaShow(const CommandLine& c);
Result<CliRequest> parseQuotaRemove(const CommandLine& c);
Result<CliRequest> parsePartitionApply(const CommandLine& c);
Result<CliRequest> parsePartitionShow(const CommandLine& c);
Result<CliRequest> parsePartitionExport(const CommandLine& c);
Result<CliRequest> parsePolicySet(const CommandLine& c);
Result<CliRequest> parsePolicyShow(const CommandLine& c);
Result<CliRequest> parseHealth(const CommandLine& c);
Result<CliRequest> parseEvents(const CommandLine& c);
Result<CliRequest> parseCardReset(const CommandLine& c);
Result<CliRequest> parseFirmwareShow(const CommandLine& c);
Result<CliRequest> parseFirmwareUpdate(const CommandLine& c);
Result<CliRequest> parseFirmwareActivate(const CommandLine& c);
Result<CliRequest> parseFirmwareRollback(const CommandLine& c);
Result<CliRequest> parseFirmwareJobs(const CommandLine& c);
Result<CliRequest> parseDmon(const CommandLine& c);

// The verb table: the words of a command, the options it takes besides -h, its parser, and
// how many words may follow it (a target).
struct Verb {
    std::vector<std::string> words;
    std::set<std::string> options;
    VerbParser parse;
    size_t arguments = 0;
};

const std::vector<Verb>& verbs() {
    static const std::vector<Verb> table{
        {{}, {"version", "list-cards", "id", "query", "display", "query-card", "query-vf", "format", "help-query-card", "help-query-vf", "json", "loop"},
         parseQuery},
        {{"vf", "list"}, {"id", "json", "domain"}, parseVfList},
        {{"vf", "enable"}, {"id", "count", "force"}, parseVfEnable},
        {{"vf", "disable"}, {"id", "force"}, parseVfDisable},
        {{"vf", "provision"}, {"profile", "tenant"}, parseVfProvision, 1},
        {{"vf", "unprovision"}, {}, parseVfUnprovision, 1},
        {{"vf", "reset"}, {"force"}, parseVfReset, 1},
        {{"vf", "unquarantine"}, {}, parseVfUnquarantine, 1},
        {{"vf", "quarantine"}, {"reason"}, parseVfQuarantine, 1},
        {{"vf", "bind"}, {"driver"}, parseVfBind, 1},
        {{"vf", "assign"}, {"domain", "tenant"}, parseVfAssign, 1},
        {{"vf", "release"}, {}, parseVfRelease, 1},
        {{"profile", "list"}, {"id", "json"}, parseProfileList},
        {{"quota", "set"}, {"max-vfs", "max-compute", "max-memory"}, parseQuotaSet, 1},
        {{"quota", "show"}, {"json"}, parseQuotaShow, 1},
        {{"quota", "remove"}, {}, parseQuotaRemove, 1},
        {{"partition", "apply"}, {"id", "dry-run", "file"}, parsePartitionApply, 1},
        {{"partition", "show"}, {"id", "json"}, parsePartitionShow},
        {{"partition", "export"}, {"id"}, parsePartitionExport},
        {{"policy", "set"},
         {"id", "compute-oversubscription", "memory-oversubscription", "auto-reset", "reset-guard", "auto-card-reset", "card-reset-budget"},
         parsePolicySet},
        {{"policy", "show"}, {"id", "json"}, parsePolicyShow},
        {{"health"}, {"id", "json"}, parseHealth},
        {{"reset"}, {"id", "force"}, parseCardReset},
        {{"events"}, {"id", "json", "since", "type", "lines", "follow"}, parseEvents},
        {{"dmon"}, {"id", "json", "select", "count", "display", "delay", "vf"}, parseDmon},
        {{"firmware", "show"}, {"id", "json"}, parseFirmwareShow},
        {{"firmware", "update"}, {"id", "activate", "allow-older", "allow-reinstall", "force", "quiet"}, parseFirmwareUpdate, 1},
        {{"firmware", "activate"}, {"id", "force", "quiet"}, parseFirmwareActivate},
        {{"firmware", "rollback"}, {"id", "force", "quiet"}, parseFirmwareRollback},
        {{"firmware", "jobs"}, {"id", "json"}, parseFirmwareJobs},
    };
    return table;
}

Result<std::vector<std::string>> ids(const CommandLine& c) {
    if (!c.has("id")) return std::vector<std::string>{};
    auto list = splitComma(c.text("id"));
    if (list.empty()) return usage("-i needs a card index, PCI address or serial");
    for (const auto& id : list)
        if (auto ref = DeviceRef::parse(id); !ref) return usage("-i: " + ref.error().message);
    return list;
}

// -H: [USER@]HOST[:PORT] as ssh takes it; nothing ssh could read as an option or a second word.
Result<void> checkHost(const std::string& host) {
    const auto bad = [&](const std::string& why) { return usage("-H " + quoteInput(host) + ": " + why); };
    if (host.empty()) return bad("needs [USER@]HOST[:PORT]");
    if (host.size() > 255) return bad("too long");
    if (host[0] == '-') return bad("a host does not start with '-'");
    for (unsigned char ch : host)
        if (!std::isalnum(ch) && std::string_view("._-@:[]%").find(static_cast<char>(ch)) == std::string_view::npos)
            return bad("a host name, IP address or [IPv6] with an optional user@ and :port, nothing else");
    const size_t at = host.find('@');
    if (at == 0 || at == host.size() - 1 || host.find('@', at + 1) != std::string::npos) return bad("one user before one '@'");
    const std::string target = at == std::string::npos ? host : host.substr(at + 1);
    std::string port;
    if (target[0] == '[') {
        const size_t close = target.find(']');
        if (close == std::string::npos || close == 1) return bad("an [IPv6] address needs its ']'");
        if (close + 1 < target.size()) {
            if (target[close + 1] != ':') return bad("only :PORT may follow ']'");
            port = target.substr(close + 2);
            if (port.empty()) return bad("a port after ':'");
        }
    } else if (const size_t colon = target.find(':'); colon != std::string::npos) {
        if (colon == 0) return bad("a host before ':'");
        port = target.substr(colon + 1);
        if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos) return bad("the port after ':' is a number (IPv6 goes in [ ])");
    }
    if (!port.empty()) {
        if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 || std::stoul(port) < 1 || std::stoul(port) > 65535)
            return bad("the port is 1 to 65535");
    }
    return {};
}

Result<CliRequest> parseQuery(const CommandLine& c) {
    CliRequest r;
    if (c.has("version")) return r.mode = CliRequest::Mode::Version, r;
    if (c.has("help-query-card")) return r.mode = CliRequest::Mode::HelpQueryCard, r;
    if (c.has("help-query-vf")) return r.mode = CliRequest::Mode::HelpQueryVf, r;
    r.json = c.has("json");
    auto selected = ids(c);
    if (!selected) return std::move(selected).error();
    r.ids = *selected;
    if (c.has("loop")) {
        auto s = number(c.text("loop"), "-l/--loop", 1, kMaxLoopSeconds, "aismi --help lists the options");
        if (!s) return std::move(s).error();
        r.loopSeconds = *s;
    }
    const int modes = static_cast<int>(c.has("query") + c.has("query-card") + c.has("query-vf") + c.has("list-cards"));
    if (modes > 1) return usage("use only one of -q, -L, --query-card and --query-vf");
    if (c.has("display") && !c.has("query")) return usage("-d/--display goes with -q");
    if (c.has("format") && !c.has("query-card") && !c.has("query-vf")) return usage("--format goes with --query-card or --query-vf");
    if (c.has("list-cards")) {
        if (r.json) return usage("-L prints lines; for JSON use -j alone or --query-card=... -j");
        return r.mode = CliRequest::Mode::ListCards, r;
    }
    if (c.has("query")) {
        r.mode = CliRequest::Mode::Report;
        if (c.has("display")) {
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
        return r;
    }
    const bool card = c.has("query-card");
    if (card || c.has("query-vf")) {
        r.mode = card ? CliRequest::Mode::QueryCard : CliRequest::Mode::QueryVf;
        auto fields = card ? resolveFields(c.text("query-card"), cardFields(), "card") : resolveFields(c.text("query-vf"), vfFields(), "vf");
        if (!fields) return std::move(fields).error();
        r.fields = *fields;
        if (!c.has("format") && !r.json) return usage(std::string("--query-") + (card ? "card" : "vf") + " needs --format=csv or -j");
        if (c.has("format")) {
            auto f = parseFormat(c.text("format"));
            if (!f) return std::move(f).error();
            r.csv = *f;
        }
    }
    return r;
}

Result<CliRequest> parseVfList(const CommandLine& c) {
    CliRequest r;
    r.mode = CliRequest::Mode::VfList;
    r.json = c.has("json");
    if (c.has("domain")) {
        r.domain = c.text("domain");
        if (r.domain.empty()) return usage("--domain needs a libvirt domain name", "aismi vf --help");
    }
    auto selected = ids(c);
    if (!selected) return std::move(selected).error();
    r.ids = *selected;
    return r;
}

Result<CliRequest> oneCard(const CommandLine& c, CliRequest::Mode mode, const std::string& command, const std::string& group = "vf") {
    CliRequest r;
    r.mode = mode;
    auto selected = ids(c);
    if (!selected) return std::move(selected).error();
    // group "": a command of its own ("reset").
    const std::string name = group.empty() ? command : group + " " + command;
    if (selected->size() != 1) return usage(name + " needs exactly one card: -i ID", "aismi " + (group.empty() ? command : group) + " --help");
    if (auto ref = DeviceRef::parse(selected->front()); group.empty() && ref && ref->kind != DeviceRef::Kind::Card)
        return usage(name + " -i takes a card, not " + quoteInput(selected->front()) + " (aismi vf reset resets one VF)", "aismi " + command + " --help");
    r.ids = *selected;
    r.force = c.has("force");
    return r;
}

Result<CliRequest> parseCardReset(const CommandLine& c) { return oneCard(c, CliRequest::Mode::CardReset, "reset", ""); }

Result<CliRequest> parseVfEnable(const CommandLine& c) {
    auto r = oneCard(c, CliRequest::Mode::VfEnable, "enable");
    if (!r) return r;
    if (!c.has("count")) return usage("vf enable needs --count N", "aismi vf --help");
    if (c.text("count") == "0") return usage("vf enable --count must be at least 1; use 'aismi vf disable' to disable VFs", "aismi vf --help");
    auto n = number(c.text("count"), "--count", 1, kMaxVfCount, "aismi vf --help");
    if (!n) return std::move(n).error();
    r->count = *n;
    return r;
}

Result<CliRequest> parseVfDisable(const CommandLine& c) { return oneCard(c, CliRequest::Mode::VfDisable, "disable"); }

// The VF a provisioning command works on: one word, CARD:VF or a VF's PCI address.
Result<CliRequest> oneVf(const CommandLine& c, CliRequest::Mode mode, const std::string& verb) {
    CliRequest r;
    r.mode = mode;
    if (c.arguments.size() != 1) return usage("vf " + verb + " needs one VF: CARD:VF (0:3) or its PCI address", "aismi vf --help");
    auto ref = DeviceRef::parse(c.arguments[0]);
    if (!ref) return usage("vf " + verb + ": " + ref.error().message, "aismi vf --help");
    if (ref->kind == DeviceRef::Kind::Card)
        return usage("vf " + verb + ": " + quoteInput(c.arguments[0]) + " names a card; name a VF as CARD:VF (0:3)", "aismi vf --help");
    r.target = c.arguments[0];
    return r;
}

Result<CliRequest> parseVfProvision(const CommandLine& c) {
    auto r = oneVf(c, CliRequest::Mode::VfProvision, "provision");
    if (!r) return r;
    if (!c.has("profile") || c.text("profile").empty())
        return usage("vf provision needs --profile NAME (aismi profile list shows them)", "aismi vf --help");
    r->profile = c.text("profile");
    if (c.has("tenant")) {
        r->tenant = c.text("tenant");
        if (r->tenant.empty()) return usage("--tenant needs a name", "aismi vf --help");
    }
    return r;
}

Result<CliRequest> parseVfUnprovision(const CommandLine& c) { return oneVf(c, CliRequest::Mode::VfUnprovision, "unprovision"); }

Result<CliRequest> parseVfUnquarantine(const CommandLine& c) { return oneVf(c, CliRequest::Mode::VfUnquarantine, "unquarantine"); }
Result<CliRequest> parseVfQuarantine(const CommandLine& c) {
    auto r = oneVf(c, CliRequest::Mode::VfQuarantine, "quarantine");
    if (r && c.has("reason")) {
        r->reason = c.text("reason");
        if (text::trim(r->reason).empty() || r->reason.size() > 200)
            return usage("--reason takes one line of 1 to 200 characters, not only spaces", "aismi vf --help");
    }
    return r;
}

Result<CliRequest> parseVfBind(const CommandLine& c) {
    auto r = oneVf(c, CliRequest::Mode::VfBind, "bind");
    if (!r) return r;
    if (!c.has("driver")) return usage("vf bind needs --driver vfio-pci or --driver host", "aismi vf --help");
    r->driver = c.text("driver");
    if (r->driver != "vfio-pci" && r->driver != "host")
        return usage("--driver takes vfio-pci or host, not " + quoteInput(r->driver), "aismi vf --help");
    return r;
}

Result<CliRequest> parseVfAssign(const CommandLine& c) {
    auto r = oneVf(c, CliRequest::Mode::VfAssign, "assign");
    if (!r) return r;
    if (!c.has("domain") || c.text("domain").empty()) return usage("vf assign needs --domain NAME (a libvirt domain)", "aismi vf --help");
    r->domain = c.text("domain");
    if (c.has("tenant")) {
        r->tenant = c.text("tenant");
        if (r->tenant.empty()) return usage("--tenant needs a name", "aismi vf --help");
    }
    return r;
}

Result<CliRequest> parseVfRelease(const CommandLine& c) { return oneVf(c, CliRequest::Mode::VfRelease, "release"); }

Result<CliRequest> parseVfReset(const CommandLine& c) {
    auto r = oneVf(c, CliRequest::Mode::VfReset, "reset");
    if (r) r->force = c.has("force");
    return r;
}

// The tenant word of a quota command (`optional`: quota show may go without).
Result<std::string> tenantWord(const CommandLine& c, const std::string& verb, bool optional) {
    if (c.arguments.empty() && optional) return std::string();
    if (c.arguments.size() != 1) return usage("quota " + verb + " needs one tenant name", "aismi quota --help");
    return c.arguments[0];
}

Result<CliRequest> parseQuotaSet(const CommandLine& c) {
    CliRequest r;
    r.mode = CliRequest::Mode::QuotaSet;
    auto tenant = tenantWord(c, "set", false);
    if (!tenant) return std::move(tenant).error();
    r.tenant = *tenant;
    // Only the limits given change (aismid merges them); `none` removes a compute or memory limit.
    if (!c.has("max-vfs") && !c.has("max-compute") && !c.has("max-memory"))
        return usage("quota set needs at least one of --max-vfs, --max-compute, --max-memory", "aismi quota --help");
    constexpr uint64_t kNone = ~uint64_t{0};
    if (c.has("max-vfs")) {
        auto vfs = number(c.text("max-vfs"), "--max-vfs", 0, 1000000, "aismi quota --help");
        if (!vfs) return std::move(vfs).error();
        r.maxVfs = *vfs;
    }
    if (c.has("max-compute")) {
        if (c.text("max-compute") == "none") {
            r.maxComputeUnits = kNone;
        } else {
            auto cu = number(c.text("max-compute"), "--max-compute", 0, 0xffffffffu, "none: no limit; aismi quota --help");
            if (!cu) return std::move(cu).error();
            r.maxComputeUnits = *cu;
        }
    }
    if (c.has("max-memory")) {
        if (c.text("max-memory") == "none") {
            r.maxMemoryMib = kNone;
        } else {
            // 0 (0M, 0G, ...) as --max-vfs 0 and --max-compute 0: the tenant may hold none. A size
            // parses from 1 MiB up, so a zero is checked as a one of the same spelling.
            const std::string& text = c.text("max-memory");
            const size_t digits = text.find_first_not_of('0');
            const bool zero = !text.empty() && digits != 0 && (digits == std::string::npos || !std::isdigit(static_cast<unsigned char>(text[digits])));
            auto mem = text::parseSizeMib(zero ? "1" + text.substr(std::min(digits, text.size())) : text, "--max-memory");
            if (!mem) return usage(text::parseSizeMib(text, "--max-memory").error().message, "none: no limit; aismi quota --help");
            r.maxMemoryMib = zero ? 0 : *mem;
        }
    }
    return r;
}

Result<CliRequest> parseQuotaShow(const CommandLine& c) {
    CliRequest r;
    r.mode = CliRequest::Mode::QuotaShow;
    r.json = c.has("json");
    auto tenant = tenantWord(c, "show", true);
    if (!tenant) return std::move(tenant).error();
    r.tenant = *tenant;
    return r;
}

Result<CliRequest> parseQuotaRemove(const CommandLine& c) {
    CliRequest r;
    r.mode = CliRequest::Mode::QuotaRemove;
    auto tenant = tenantWord(c, "remove", false);
    if (!tenant) return std::move(tenant).error();
    r.tenant = *tenant;
    return r;
}

Result<CliRequest> parsePartitionApply(const CommandLine& c) {
    auto r = oneCard(c, CliRequest::Mode::PartitionApply, "apply", "partition");
    if (!r) return r;
    if (c.has("file")) {
        if (!c.arguments.empty()) return usage("partition apply takes a LAYOUT or --file FILE, not both", "aismi partition --help");
        if (c.text("file").empty()) return usage("--file needs a file name", "aismi partition --help");
        r->layoutFile = c.text("file");
    } else if (c.arguments.size() != 1) {
        return usage("partition apply needs one LAYOUT, e.g. 4xquarter,8xeighth, or --file FILE", "aismi partition --help");
    } else {
        r->layout = c.arguments[0];
    }
    r->dryRun = c.has("dry-run");
    return r;
}

Result<CliRequest> parsePartitionShow(const CommandLine& c) {
    auto r = oneCard(c, CliRequest::Mode::PartitionShow, "show", "partition");
    if (!r) return r;
    r->json = c.has("json");
    return r;
}

Result<CliRequest> parsePartitionExport(const CommandLine& c) { return oneCard(c, CliRequest::Mode::PartitionExport, "export", "partition"); }

Result<CliRequest> parsePolicySet(const CommandLine& c) {
    const bool card = c.has("compute-oversubscription") || c.has("memory-oversubscription");
    const bool recovery = c.has("auto-reset") || c.has("reset-guard") || c.has("auto-card-reset") || c.has("card-reset-budget");
    if (!card && !recovery)
        return usage("policy set needs --compute-oversubscription R, --memory-oversubscription R (with -i), or a recovery option "
                     "(--auto-reset, --reset-guard, --auto-card-reset, --card-reset-budget)",
                     "aismi policy --help");
    if (!card && c.has("id")) return usage("the recovery policy is host-wide: -i goes only with the oversubscription options", "aismi policy --help");
    Result<CliRequest> r = CliRequest{};
    if (card) r = oneCard(c, CliRequest::Mode::PolicySet, "set", "policy");
    if (!r) return r;
    r->mode = CliRequest::Mode::PolicySet;
    for (auto [option, slot] : {std::pair{"auto-reset", &r->autoReset}, {"auto-card-reset", &r->autoCardReset}}) {
        if (!c.has(option)) continue;
        auto v = text::parseBoolean(c.text(option), std::string("--") + option);
        if (!v) return usage(v.error().message, "aismi policy --help");
        *slot = *v;
    }
    for (auto [option, example, slot] : {std::tuple{"reset-guard", "3/600", &r->resetGuard}, {"card-reset-budget", "1/3600", &r->cardResetBudget}}) {
        if (!c.has(option)) continue;
        auto b = text::parseBudget(c.text(option), std::string("--") + option, example);
        if (!b) return usage(b.error().message, "aismi policy --help");
        *slot = std::pair{b->count, b->seconds};
    }
    for (auto [option, max, slot] : {std::tuple{"compute-oversubscription", Oversubscription::kMaxCompute, &r->computeRatio},
                                     {"memory-oversubscription", Oversubscription::kMaxMemory, &r->memoryRatio}}) {
        if (!c.has(option)) continue;
        auto ratio = text::parseRatio(c.text(option), Oversubscription::kMin, max, std::string("--") + option);
        if (!ratio) return usage(ratio.error().message, "aismi policy --help");
        *slot = *ratio;
    }
    return r;
}

// A command that shows cards (-i names cards only) and may print JSON.
Result<CliRequest> cardsShown(const CommandLine& c, CliRequest::Mode mode, const std::string& command, const std::string& hint) {
    CliRequest r;
    r.mode = mode;
    r.json = c.has("json");
    auto selected = ids(c);
    if (!selected) return std::move(selected).error();
    for (const auto& id : *selected)
        // A PCI address may be the card's own (its PF): selectCards tells when it is a VF's.
        if (auto ref = DeviceRef::parse(id); ref && ref->kind == DeviceRef::Kind::Vf)
            return usage(command + " -i takes cards, not " + quoteInput(id), hint);
    r.ids = *selected;
    return r;
}

Result<CliRequest> parsePolicyShow(const CommandLine& c) { return cardsShown(c, CliRequest::Mode::PolicyShow, "policy show", "aismi policy --help"); }

Result<CliRequest> parseProfileList(const CommandLine& c) {
    return cardsShown(c, CliRequest::Mode::ProfileList, "profile list", "aismi profile --help");
}

Result<CliRequest> parseHealth(const CommandLine& c) { return cardsShown(c, CliRequest::Mode::Health, "health", "aismi health --help"); }

Result<CliRequest> parseEvents(const CommandLine& c) {
    auto r = cardsShown(c, CliRequest::Mode::Events, "events", "aismi events --help");
    if (!r) return r;
    r->follow = c.has("follow");
    if (c.has("since")) {
        auto at = text::parseTimePoint(c.text("since"), static_cast<int64_t>(std::time(nullptr)), "--since");
        if (!at) return usage(at.error().message, "aismi events --help");
        r->since = *at;
    }
    if (c.has("type")) {
        r->eventTypes = splitComma(c.text("type"));
        if (r->eventTypes.empty()) return usage("--type needs at least one event type", "aismi events --help lists them");
    }
    if (c.has("lines")) {
        auto n = number(c.text("lines"), "--lines", 1, 100000, "aismi events --help");
        if (!n) return std::move(n).error();
        r->lines = *n;
    }
    return r;
}

Result<CliRequest> parseDmon(const CommandLine& c) {
    auto r = cardsShown(c, CliRequest::Mode::Dmon, "dmon", "aismi dmon --help");
    if (!r) return r;
    r->dmonVfs = c.has("vf");
    r->dmonGroups = std::string(kDmonGroups);
    if (c.has("select")) {
        r->dmonGroups.clear();
        for (char g : c.text("select")) {
            if (std::string_view(kDmonGroups).find(g) == std::string_view::npos)
                return usage("-s takes letters of " + std::string(kDmonGroups) + ", not " + quoteInput(c.text("select")), "aismi dmon --help");
            if (r->dmonGroups.find(g) == std::string::npos) r->dmonGroups += g;
        }
        if (r->dmonGroups.empty()) return usage("-s needs at least one of " + std::string(kDmonGroups), "aismi dmon --help");
    }
    if (c.has("count")) {
        auto n = number(c.text("count"), "-c/--count", 1, 100'000'000, "aismi dmon --help");
        if (!n) return std::move(n).error();
        r->dmonCount = *n;
    }
    if (c.has("display") && c.has("delay")) return usage("give the interval once: -d or --delay", "aismi dmon --help");
    if (c.has("display") || c.has("delay")) {
        auto s = number(c.text(c.has("delay") ? "delay" : "display"), "-d/--delay", 1, 86400, "aismi dmon --help");
        if (!s) return std::move(s).error();
        r->dmonDelaySeconds = *s;
    }
    return r;
}

Result<CliRequest> parseFirmwareShow(const CommandLine& c) {
    return cardsShown(c, CliRequest::Mode::FirmwareShow, "firmware show", "aismi firmware --help");
}

Result<CliRequest> parseFirmwareJobs(const CommandLine& c) {
    return cardsShown(c, CliRequest::Mode::FirmwareJobs, "firmware jobs", "aismi firmware --help");
}

Result<CliRequest> firmwareChange(const CommandLine& c, CliRequest::Mode mode, const std::string& verb) {
    auto r = oneCard(c, mode, verb, "firmware");
    if (!r) return r;
    if (auto ref = DeviceRef::parse(r->ids.front()); ref && ref->kind != DeviceRef::Kind::Card)
        return usage("firmware " + verb + " -i takes a card, not " + quoteInput(r->ids.front()), "aismi firmware --help");
    r->quiet = c.has("quiet");
    return r;
}

Result<CliRequest> parseFirmwareActivate(const CommandLine& c) { return firmwareChange(c, CliRequest::Mode::FirmwareActivate, "activate"); }
Result<CliRequest> parseFirmwareRollback(const CommandLine& c) { return firmwareChange(c, CliRequest::Mode::FirmwareRollback, "rollback"); }

Result<CliRequest> parseFirmwareUpdate(const CommandLine& c) {
    auto r = firmwareChange(c, CliRequest::Mode::FirmwareUpdate, "update");
    if (!r) return r;
    if (c.arguments.empty()) return usage("firmware update needs one IMAGE file after -i ID", "aismi firmware --help");
    if (c.arguments.size() > 1)
        return usage("firmware update takes one IMAGE file, not " + std::to_string(c.arguments.size()) + " words (" + quoteInput(text::join(c.arguments, " ")) + ")",
                     "aismi firmware --help");
    r->image = c.arguments[0];
    if (c.has("activate")) {
        r->activate = c.text("activate");
        if (r->activate != "now" && r->activate != "idle" && r->activate != "never")
            return usage("--activate takes now, idle or never, not " + quoteInput(r->activate), "aismi firmware --help");
    }
    r->allowOlder = c.has("allow-older");
    r->allowReinstall = c.has("allow-reinstall");
    return r;
}

// The command groups: the first word, its usage text, the options its --help lists, what it
// needs after the first word, and its line in aismi --help.
struct CommandGroup {
    const char* word;
    const char* usage;
    std::string (*options)();
    const char* needs;
    const char* summary;
};

template <class T>
std::string printed(const T& x) {
    std::ostringstream o;
    o << x;
    return o.str();
}

// A command's options as its help lists them: under the help's one "Options:" heading, without
// the group's own caption line ("vf options:").
std::string optionLines(const po::options_description& options) {
    const std::string text = printed(options);
    const size_t firstLine = text.find('\n');
    return firstLine == std::string::npos ? text : text.substr(firstLine + 1);
}

const std::vector<CommandGroup>& commandGroups() {
    static const std::vector<CommandGroup> table{
        {"vf", kVfUsage,
         [] {
             return "  -i [ --id ] ID        card index, PCI address or serial (vf list: also VFs)\n"
                    "  -j [ --json ]         JSON output (vf list)\n" + optionLines(vfOptions());
         },
         "list, enable, disable, provision, unprovision, reset, quarantine, unquarantine, bind, assign or release",
         "vf list|enable|disable|provision|unprovision|reset|quarantine|unquarantine|bind|assign|release\n                             manage SR-IOV virtual functions (aismi vf --help)"},
        {"profile", kProfileUsage,
         [] { return std::string("  -i [ --id ] ID        only these cards (index, PCI address or serial)\n  -j [ --json ]         JSON output\n"); },
         "list", "profile list               the VF profiles and what fits (aismi profile --help)"},
        {"quota", kQuotaUsage, [] { return optionLines(quotaOptions()) + "  -j [ --json ]         JSON output (quota show)\n"; }, "set, show or remove",
         "quota set|show|remove      tenant quotas (aismi quota --help)"},
        {"partition", kPartitionUsage,
         [] {
             return std::string("  -i [ --id ] ID        the card (index, PCI address or serial)\n"
                                "  --dry-run             print the plan; change nothing (apply)\n"
                                "  --file FILE           read the LAYOUT from FILE (apply)\n  -j [ --json ]         JSON output (show)\n");
         },
         "apply, show or export", "partition apply|show|export  lay a card out in one step (aismi partition --help)"},
        {"policy", kPolicyUsage,
         [] {
             return "  -i [ --id ] ID        the card (set), or only these cards (show)\n" + optionLines(policyOptions()) +
                    "  -j [ --json ]         JSON output (show)\n";
         },
         "set or show", "policy set|show            oversubscription of a card's compute and memory; show also gives\n"
         "                             the recovery policy for hung VFs (aismi policy --help)"},
        {"health", kHealthUsage,
         [] { return std::string("  -i [ --id ] ID        only these cards (index, PCI address or serial)\n  -j [ --json ]         JSON output\n"); },
         "", "health                     health, reasons, data age, resets and quarantines (aismi health --help)"},
        {"reset", kResetUsage,
         [] {
             return std::string("  -i [ --id ] ID        the card (index, PCI address or serial)\n"
                                "  --force               reset it also while VFs are in use\n");
         },
         "", "reset -i ID [--force]      reset a whole card, every VF with it (aismi reset --help)"},
        {"events", kEventsUsage,
         [] {
             return "  -i [ --id ] ID        only events about these cards (index, PCI address or serial)\n" + optionLines(eventsOptions()) +
                    "  -j [ --json ]         JSON output (with --follow: one object per line)\n";
         },
         "", "events                     the event history, and new events as they happen (aismi events --help)"},
        {"dmon", kDmonUsage,
         [] {
             return std::string("  -i [ --id ] ID        only these cards (index, PCI address or serial)\n"
                    "  -s [ --select ] GROUPS column groups, letters of pumev (default all)\n"
                    "  -c [ --count ] COUNT  print COUNT intervals, then exit (default: until interrupted)\n"
                    "  -d [ --delay ] SECONDS seconds between lines (1 to 86400, default 1)\n"
                    "  --vf                  a line per VF too\n"
                    "  -j [ --json ]         one JSON object per line\n");
         },
         "", "dmon                       stream a line per card (and VF) every second, like nvidia-smi dmon (aismi dmon --help)"},
        {"firmware", kFirmwareUsage,
         [] {
             return "  -i [ --id ] ID        the card (update, activate, rollback), or only these cards (show, jobs)\n" + optionLines(firmwareOptions()) +
                    "  --force               activate at once although VFs are in use\n"
                    "  -j [ --json ]         JSON output (show, jobs)\n";
         },
         "show, update, activate, rollback or jobs",
         "firmware show|update|activate|rollback|jobs\n                             signed firmware updates with automatic rollback (aismi firmware --help)"},
    };
    return table;
}

std::string optionSpelling(const std::string& name) {
    static const std::map<std::string, std::string> shortForms{{"id", "-i"}, {"json", "-j"}, {"query", "-q"}, {"display", "-d"},
                                                               {"loop", "-l"}, {"list-cards", "-L"}, {"lines", "-n"}, {"follow", "-f"},
                                                               {"count", "-c"}, {"select", "-s"}, {"host", "-H"}};
    auto it = shortForms.find(name);
    return it == shortForms.end() ? "--" + name : it->second + "/--" + name;
}

}  // namespace

Result<CliRequest> parseCli(const std::vector<std::string>& args) {
    // Every word is printable UTF-8 text: aismid refuses anything else, and a string that is not
    // UTF-8 cannot even be sent (D-Bus). Said here, naming the option, as a usage error.
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        const bool valueOfPrevious = !a.starts_with("-") && i > 0 && args[i - 1].starts_with("--") && args[i - 1].find('=') == std::string::npos;
        const std::string where = a.starts_with("-")  ? quoteInput(a.substr(0, a.find('=')))
                                  : valueOfPrevious ? "the value of " + quoteInput(args[i - 1])
                                                    : "argument " + std::to_string(i + 1) + " (" + quoteInput(a) + ")";
        if (!text::validUtf8(a)) return usage(where + " is not valid UTF-8 text");
        if (auto bad = text::firstControlCharacter(a))
            return usage(where + " holds a control character (" + text::escapeControl(a.substr(*bad, 1)) + " at byte " + std::to_string(*bad) +
                         " of " + quoteInput(a) + "); only printable text is accepted");
    }
    po::options_description all;
    all.add(globalOptions()).add(vfOptions()).add(quotaOptions()).add(partitionOptions()).add(policyOptions()).add(eventsOptions()).add(dmonOptions()).add(firmwareOptions());
    po::options_description hidden;
    hidden.add_options()("words", po::value<std::vector<std::string>>()->composing(), "");
    po::options_description parser;
    parser.add(all).add(hidden);
    po::positional_options_description positional;
    positional.add("words", -1);
    CommandLine c;
    try {
        po::store(po::command_line_parser(args).options(parser).positional(positional).run(), c.vm);
    } catch (const po::error& e) {
        // An nvidia-smi habit (--query-gpu=..., -r, -x) gets a pointer to aismi's word.
        for (const auto& a : args)
            if (auto hint = didYouMean(a.substr(0, a.find('='))); !hint.empty()) return usage(optionErrorText(e) + hint);
        // A typo of one of aismi's own options.
        std::vector<std::string> spellings;
        for (const auto& o : parser.options())
            if (!o->long_name().empty() && o->long_name() != "words") spellings.push_back("--" + o->long_name());
        for (const auto& a : args) {
            const std::string spelled = a.substr(0, a.find('='));
            if (spelled.size() > 2 && spelled.rfind("--", 0) == 0 && std::find(spellings.begin(), spellings.end(), spelled) == spellings.end())
                if (auto hint = didYouMean(spelled, spellings); !hint.empty()) return usage(optionErrorText(e) + hint);
        }
        return usage(optionErrorText(e));
    }
    if (c.has("words")) c.words = c.vm["words"].as<std::vector<std::string>>();

    // The longest run of leading words that names a verb; a group name alone ("vf") is a
    // verb only for --help.
    const Verb* verb = nullptr;
    for (const auto& v : verbs())
        if (v.words.size() <= c.words.size() && std::equal(v.words.begin(), v.words.end(), c.words.begin()) &&
            (!verb || v.words.size() > verb->words.size()))
            verb = &v;
    // A command group's first word ("vf"): its usage, --help and what it needs.
    const CommandGroup* group = nullptr;
    for (const auto& g : commandGroups())
        if (!c.words.empty() && c.words[0] == g.word) group = &g;
    const std::string hint = group ? "aismi " + std::string(group->word) + " --help" : "aismi --help lists the commands and options";
    if (c.has("help")) {
        CliRequest r;
        r.mode = CliRequest::Mode::Help;
        if (group) {
            r.helpText = std::string(group->usage) + "Options:\n" + group->options() + "  -h [ --help ]         show this help\n";
            return r;
        }
        std::ostringstream help;
        help << kUsage << globalOptions() << "\nCommands:\n";
        for (const auto& g : commandGroups()) help << "  " << g.summary << "\n";
        r.helpText = help.str();
        return r;
    }
    if (verb && verb->arguments && c.words.size() > verb->words.size())
        c.arguments.assign(c.words.begin() + static_cast<long>(verb->words.size()), c.words.end());
    if (!verb || verb->words.size() + c.arguments.size() < c.words.size()) {
        const size_t known = verb && !verb->words.empty() ? verb->words.size() : (group ? 1 : 0);  // "vf lst": both words
        if (group && c.words.size() == 1) return usage("'aismi " + std::string(group->word) + "' needs " + group->needs, hint);
        const std::string typed = text::join(std::vector<std::string>(c.words.begin(), c.words.begin() + static_cast<long>(known) + 1), " ");
        std::vector<std::string> commands;
        for (const auto& v : verbs())
            if (!v.words.empty()) commands.push_back(text::join(v.words, " "));
        for (const auto& g : commandGroups()) commands.push_back(g.word);
        return usage("unknown command " + quoteInput(typed) + didYouMean(typed, commands), hint);
    }
    for (const auto& [name, value] : c.vm) {
        if (name == "words" || name == "host" || verb->options.count(name)) continue;
        const std::string where = verb->words.empty() ? "without a command" : "with '" + text::join(verb->words, " ") + "'";
        return usage(optionSpelling(name) + " does not go " + where, hint);
    }
    auto request = verb->parse(c);
    if (!request || !c.has("host")) return request;
    for (const auto& host : c.vm["host"].as<std::vector<std::string>>()) {
        if (auto ok = checkHost(host); !ok) return std::move(ok).error();
        if (std::find(request->hosts.begin(), request->hosts.end(), host) == request->hosts.end()) request->hosts.push_back(host);
    }
    // The image goes to aismid as an open file descriptor, which the SSH bridge cannot carry:
    // said before connecting, with the way that works.
    if (request->mode == CliRequest::Mode::FirmwareUpdate)
        return usage("firmware update goes to the local aismid only (the image is passed as an open file, which -H's SSH bridge cannot carry); "
                     "copy the image to the host and run 'aismi firmware update' there, e.g. scp fw.img HOST: && ssh HOST aismi firmware update -i ID fw.img",
                     "docs/by-hand.md");
    if (request->hosts.size() > 1 && !readsOnce(*request))
        return usage("several -H hosts go only with commands that read once (queries, lists, show, health, events without --follow); "
                     "changes, --loop, dmon and --follow go to one host at a time");
    return request;
}

bool readsOnce(const CliRequest& r) {
    using M = CliRequest::Mode;
    switch (r.mode) {
    case M::Summary:
    case M::ListCards:
    case M::Report:
    case M::QueryCard:
    case M::QueryVf:
    case M::VfList:
    case M::ProfileList:
    case M::QuotaShow:
    case M::PartitionShow:
    case M::PartitionExport:
    case M::PolicyShow:
    case M::Health:
    case M::FirmwareShow:
    case M::FirmwareJobs:
    case M::Version: return r.loopSeconds == 0;
    case M::Events: return !r.follow;
    default: return false;
    }
}

}  // namespace aismi::cli
