#include "options.hpp"

#include <boost/program_options.hpp>

#include <algorithm>
#include <cctype>
#include <sstream>

namespace po = boost::program_options;

namespace aismi::cli {
namespace {

constexpr const char* kUsage = R"(Usage: aismi [OPTIONS]
       aismi vf list|enable|disable [OPTIONS]

Shows and manages AI accelerator cards through aismid, the way nvidia-smi does for GPUs.
With no options: a summary of every card, then every enabled VF.

)";

constexpr const char* kVfUsage = R"(Usage: aismi vf list [-i ID[,ID...]] [-j]
       aismi vf enable -i ID --count N
       aismi vf disable -i ID

Lists SR-IOV virtual functions (of cards named by index, PCI address or serial, or single
VFs as CARD:VF or by PCI address), enables N of a card's VFs, or disables them all. The
kernel changes the count only from 0: disable before enabling a different number.

)";

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

Error usage(const std::string& what) { return makeError(Errc::InvalidArgument, what + " (aismi --help lists the options)"); }

Result<std::vector<const Field*>> resolveFields(const std::string& list, const std::vector<Field>& table, const std::string& kind) {
    std::vector<const Field*> out;
    for (const auto& name : splitComma(list)) {
        const Field* f = findField(table, name);
        if (!f) return usage("unknown " + kind + " field '" + name + "' (aismi --help-query-" + kind + " lists them)");
        out.push_back(f);
    }
    if (out.empty()) return usage("--query-" + kind + " needs at least one field");
    return out;
}

Result<CsvFormat> parseFormat(const std::string& spec) {
    CsvFormat f;
    bool csv = false;
    for (const auto& word : splitComma(spec)) {
        if (word == "csv") csv = true;
        else if (word == "noheader") f.header = false;
        else if (word == "nounits") f.units = false;
        else return usage("unknown --format word '" + word + "' (use csv, noheader, nounits)");
    }
    if (!csv) return usage("--format must include csv (e.g. --format=csv,noheader)");
    return f;
}

Result<CliRequest> parseVf(const std::vector<std::string>& args) {
    po::options_description o("Options");
    o.add_options()("help,h", "show this help")("id,i", po::value<std::string>(), "card index, PCI address or serial")(
        "count", po::value<unsigned>(), "number of VFs to enable (vf enable)")("json,j", "machine-readable output (vf list)");
    CliRequest r;
    if (args.empty()) return usage("'aismi vf' needs list, enable or disable");
    const std::string verb = args[0];
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(std::vector<std::string>(args.begin() + 1, args.end())).options(o).run(), vm);
    } catch (const po::error& e) {
        return usage(std::string("vf ") + verb + ": " + e.what());
    }
    if (vm.count("help") || verb == "--help" || verb == "-h") {
        std::ostringstream help;
        help << kVfUsage << o;
        r.mode = CliRequest::Mode::Help;
        r.helpText = help.str();
        return r;
    }
    if (vm.count("id")) r.ids = splitComma(vm["id"].as<std::string>());
    r.json = vm.count("json") > 0;
    if (verb == "list") {
        r.mode = CliRequest::Mode::VfList;
        if (vm.count("count")) return usage("vf list takes no --count");
        return r;
    }
    if (verb != "enable" && verb != "disable") return usage("unknown vf command '" + verb + "' (use list, enable or disable)");
    if (r.ids.size() != 1) return usage("vf " + verb + " needs exactly one card: -i ID");
    if (verb == "disable") {
        if (vm.count("count")) return usage("vf disable takes no --count; it disables every VF of the card");
        r.mode = CliRequest::Mode::VfDisable;
        return r;
    }
    if (!vm.count("count")) return usage("vf enable needs --count N");
    r.count = vm["count"].as<unsigned>();
    if (r.count == 0) return usage("vf enable --count must be at least 1; use 'aismi vf disable' to disable VFs");
    r.mode = CliRequest::Mode::VfEnable;
    return r;
}

}  // namespace

Result<CliRequest> parseCli(const std::vector<std::string>& args) {
    if (!args.empty() && args[0] == "vf") return parseVf(std::vector<std::string>(args.begin() + 1, args.end()));
    po::options_description o("Options");
    o.add_options()
        ("help,h", "show this help")
        ("version", "show the version")
        ("id,i", po::value<std::string>(), "cards to show: index, PCI address or serial, comma separated (with --query-vf "
                                           "also VFs as CARD:VF or PCI address)")
        ("query,q", "full report of each card")
        ("display,d", po::value<std::string>(), "with -q: only these sections (PCI, FIRMWARE, SRIOV, TEMPERATURE, POWER, "
                                                "UTILIZATION, MEMORY, ECC, HEALTH), comma separated")
        ("query-card", po::value<std::string>(), "card fields to print, comma separated (see --help-query-card)")
        ("query-vf", po::value<std::string>(), "VF fields to print, comma separated (see --help-query-vf)")
        ("format", po::value<std::string>(), "for --query-*: csv[,noheader][,nounits]")
        ("help-query-card", "list the card fields")
        ("help-query-vf", "list the VF fields")
        ("json,j", "machine-readable JSON output")
        ("loop,l", po::value<unsigned>(), "repeat every SECONDS until interrupted");
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(o).run(), vm);
    } catch (const po::error& e) {
        return usage(e.what());
    }
    CliRequest r;
    if (vm.count("help")) {
        std::ostringstream help;
        help << kUsage << o << "\nSubcommands:\n  vf list|enable|disable     manage SR-IOV virtual functions (aismi vf --help)\n";
        r.mode = CliRequest::Mode::Help;
        r.helpText = help.str();
        return r;
    }
    if (vm.count("version")) return r.mode = CliRequest::Mode::Version, r;
    if (vm.count("help-query-card")) return r.mode = CliRequest::Mode::HelpQueryCard, r;
    if (vm.count("help-query-vf")) return r.mode = CliRequest::Mode::HelpQueryVf, r;
    r.json = vm.count("json") > 0;
    if (vm.count("id")) {
        r.ids = splitComma(vm["id"].as<std::string>());
        if (r.ids.empty()) return usage("-i needs a card index, PCI address or serial");
    }
    if (vm.count("loop")) {
        r.loopSeconds = vm["loop"].as<unsigned>();
        if (r.loopSeconds == 0) return usage("-l/--loop needs at least 1 second");
    }
    const int modes = static_cast<int>(vm.count("query") + vm.count("query-card") + vm.count("query-vf"));
    if (modes > 1) return usage("use only one of -q, --query-card and --query-vf");
    if (vm.count("display") && !vm.count("query")) return usage("-d/--display goes with -q");
    if (vm.count("format") && !vm.count("query-card") && !vm.count("query-vf")) return usage("--format goes with --query-card or --query-vf");
    if (vm.count("query")) {
        r.mode = CliRequest::Mode::Report;
        if (vm.count("display")) {
            for (auto s : splitComma(vm["display"].as<std::string>())) {
                std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
                if (s == "VF") s = "SRIOV";
                const auto& known = reportSections();
                if (std::find(known.begin(), known.end(), s) == known.end())
                    return usage("unknown -d section '" + s + "' (PCI, FIRMWARE, SRIOV, TEMPERATURE, POWER, UTILIZATION, MEMORY, ECC, HEALTH)");
                r.sections.push_back(s);
            }
        }
        return r;
    }
    const bool card = vm.count("query-card") > 0;
    if (card || vm.count("query-vf")) {
        r.mode = card ? CliRequest::Mode::QueryCard : CliRequest::Mode::QueryVf;
        auto fields = card ? resolveFields(vm["query-card"].as<std::string>(), cardFields(), "card")
                           : resolveFields(vm["query-vf"].as<std::string>(), vfFields(), "vf");
        if (!fields) return std::move(fields).error();
        r.fields = *fields;
        if (!vm.count("format") && !r.json) return usage(std::string("--query-") + (card ? "card" : "vf") + " needs --format=csv or -j");
        if (vm.count("format")) {
            auto f = parseFormat(vm["format"].as<std::string>());
            if (!f) return std::move(f).error();
            r.csv = *f;
        }
    }
    return r;
}

}  // namespace aismi::cli
