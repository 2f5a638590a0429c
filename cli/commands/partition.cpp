#include "partition.hpp"

#include "client_api.hpp"
#include "command_parsing.hpp"
#include "json.hpp"
#include "selection.hpp"

#include <aismi/text.hpp>

#include <boost/program_options.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <unistd.h>

namespace po = boost::program_options;

namespace aismi::cli {
namespace {

// What --help says before the options.
constexpr const char* kPartitionUsage = R"(Usage: aismi partition apply -i ID LAYOUT|--file FILE [--dry-run]
       aismi partition show -i ID [-j]
       aismi partition export -i ID

apply lays a card out in one step: LAYOUT is COUNTxPROFILE items, comma separated
(4xquarter,8xeighth; aismi profile list shows the profiles). The VFs are enabled (replacing
the card's VFs if the count differs), then each is provisioned with its profile, in order. It
runs as one job with a progress line on a terminal; a failed step rolls the card back to the
layout it had. --dry-run prints the plan and changes nothing. --file reads the layout from a
file instead: the same items, comma or newline separated, with # comments. show prints each
VF's profile and what the device holds. export prints the card's layout as a layouts.d
section, which aismid applies at start and on reload (docs/partitioning.md).

)";

// The card a partition command works on, with its path, index and serial.
Result<BusObject> cardOf(DaemonClient& client, const std::string& id) {
    Inventory inv;
    if (auto q = client.query(bus_names::kCardInterface, {"Index", "PciAddress", "Serial"}, inv.cards); !q) return std::move(q).error();
    auto cards = selectCards(inv, {id});
    if (!cards) return std::move(cards).error();
    return *cards->front();
}

Result<std::string> showPartition(DaemonClient& client, const BusObject& card, bool json) {
    std::vector<BusObject> vfs;
    if (auto q = client.query(bus_names::kVfInterface, {"CardIndex", "Index", "PciAddress", "Profile", "Tenant", "ComputeUnits", "BurstComputeUnits", "Weight", "MemoryMiB", "Engines"}, vfs); !q)
        return std::move(q).error();
    auto profiles = client.listProfiles(card.path);
    if (!profiles) return std::move(profiles).error();
    std::ostringstream out;
    std::string doc = "[";
    bool first = true;
    if (!json) out << "card " << card.number("Index") << " (" << card.text("PciAddress") << ")\n  VF     Profile           Tenant           Device holds                          State\n";
    for (const auto& vf : vfs) {
        if (vf.number("CardIndex") != card.number("Index")) continue;
        const std::string& profile = vf.text("Profile");
        // As desired when the device holds the profile's shape (or nothing, for an emptied VF).
        std::string state = "as desired";
        if (!profile.empty()) {
            for (const auto& p : *profiles)
                if (p.name == profile && (p.computeUnits != vf.number("ComputeUnits") || p.burstUnits != vf.number("BurstComputeUnits") ||
                                          p.weight != vf.number("Weight") || p.memoryMib != vf.number("MemoryMiB") || p.engines != vf.number("Engines")))
                    state = "differs from the profile";
        } else if (vf.number("ComputeUnits") != 0) {
            state = "no profile (driver's share)";
        } else {
            state = "empty";
        }
        const uint64_t burst = vf.number("BurstComputeUnits");
        const std::string holds = std::to_string(vf.number("ComputeUnits")) + (burst > vf.number("ComputeUnits") ? "-" + std::to_string(burst) : "") +
                                  " CUs, " + std::to_string(vf.number("MemoryMiB")) + " MiB, " + text::counted(vf.number("Engines"), "engine");
        if (json) {
            doc += std::string(first ? "\n " : ",\n ") + "{\"card\": " + std::to_string(vf.number("CardIndex")) + ", \"vf\": " +
                   std::to_string(vf.number("Index")) + ", \"profile\": " + json::quote(profile) + ", \"tenant\": " + json::quote(vf.text("Tenant")) +
                   ", \"compute_units\": " + std::to_string(vf.number("ComputeUnits")) + ", \"burst_units\": " + std::to_string(burst) +
                   ", \"weight\": " + std::to_string(vf.number("Weight")) + ", \"memory_mib\": " + std::to_string(vf.number("MemoryMiB")) +
                   ", \"engines\": " + std::to_string(vf.number("Engines")) + ", \"state\": " + json::quote(state) + "}";
            first = false;
            continue;
        }
        const std::string id = std::to_string(vf.number("CardIndex")) + ":" + std::to_string(vf.number("Index"));
        const auto col = [](const std::string& t, size_t w) { return t.size() >= w ? t.substr(0, w - 1) + " " : t + std::string(w - t.size(), ' '); };
        out << "  " << col(id, 7) << col(profile.empty() ? "-" : profile, 18) << col(vf.text("Tenant").empty() ? "-" : vf.text("Tenant"), 17)
            << col(holds, 38) << state << "\n";
    }
    if (json) return doc + (first ? "]\n" : "\n]\n");
    return out.str();
}

// The card's layout as a layouts.d section: consecutive VFs of one profile become COUNTxPROFILE.
Result<std::string> exportPartition(DaemonClient& client, const BusObject& card) {
    std::vector<BusObject> vfs;
    if (auto q = client.query(bus_names::kVfInterface, {"CardIndex", "Index", "Profile"}, vfs); !q) return std::move(q).error();
    std::string layout, last;
    unsigned run = 0;
    const auto flush = [&] {
        if (run) layout += (layout.empty() ? "" : ",") + std::to_string(run) + "x" + last;
    };
    for (const auto& vf : vfs) {
        if (vf.number("CardIndex") != card.number("Index")) continue;
        const std::string& profile = vf.text("Profile");
        if (profile.empty())
            return makeError(Errc::InvalidState, "VF " + std::to_string(card.number("Index")) + ":" + std::to_string(vf.number("Index")) +
                                                     " has no profile; a layout gives every VF one (aismi partition apply)");
        if (profile != last) {
            flush();
            last = profile;
            run = 0;
        }
        ++run;
    }
    flush();
    if (layout.empty()) return makeError(Errc::InvalidState, "card " + std::to_string(card.number("Index")) + " has no VFs to export");
    const std::string serial = card.text("Serial");
    return "# card " + std::to_string(card.number("Index")) + " (" + card.text("PciAddress") + "), exported by aismi partition export\n[layout card-" +
           serial + "]\ncards = serial:" + serial + "\nlayout = " + layout + "\n";
}

// A layout file: COUNTxPROFILE items, comma or newline separated, '#' comments; the items
// joined with commas (aismid checks them as it checks a LAYOUT word).
Result<std::string> readLayoutFile(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        return makeError(Errc::FileUnreadable, "--file: cannot read " + path + ": " + (ec ? ec.message() : std::string("not a regular file")));
    std::ifstream in(path);
    if (!in) return makeError(Errc::FileUnreadable, "--file: cannot read " + path + ": " + std::strerror(errno));
    std::string layout, line;
    size_t bytes = 0;
    while (std::getline(in, line)) {
        if ((bytes += line.size() + 1) > 65536) return makeError(Errc::InvalidArgument, "--file " + path + ": larger than 64 KiB, not a layout");
        line = line.substr(0, line.find('#'));
        for (char& c : line)
            if (c == '\r' || c == '\t') c = ' ';
        const size_t first = line.find_first_not_of(' '), last = line.find_last_not_of(' ');
        if (first == std::string::npos) continue;
        const std::string item = line.substr(first, last - first + 1);
        layout += (layout.empty() || item.front() == ',' || layout.back() == ',' ? "" : ",") + item;
    }
    if (in.bad()) return Error::fromErrno(errno, "--file: cannot read " + path);
    if (layout.empty()) return makeError(Errc::InvalidArgument, "--file " + path + ": holds no layout (COUNTxPROFILE items, e.g. 4xquarter)");
    return layout;
}

Result<std::string> show(DaemonClient& client, const PartitionShowRequest& r) {
    auto card = cardOf(client, r.card);
    if (!card) return std::move(card).error();
    return showPartition(client, *card, r.json);
}

Result<std::string> exportLayout(DaemonClient& client, const PartitionExportRequest& r) {
    auto card = cardOf(client, r.card);
    if (!card) return std::move(card).error();
    return exportPartition(client, *card);
}

Result<void> apply(const PartitionApplyRequest& original, Session& s) {
    auto client = s.client();
    if (!client) return std::move(client).error();
    PartitionApplyRequest r = original;
    if (!r.layoutFile.empty()) {
        auto layout = readLayoutFile(r.layoutFile);
        if (!layout) return std::move(layout).error();
        r.layout = *layout;
    }
    auto card = cardOf(**client, r.card);
    if (!card) return std::move(card).error();
    if (r.dryRun) {
        auto plan = (*client)->planLayout(card->path, r.layout);
        if (!plan) return std::move(plan).error();
        s.out << "would " << *plan;
        return {};
    }
    // No plan first: aismid authorizes the change, then plans it (the same refusals as
    // --dry-run's), so an unauthorized caller hears "not authorized" before anything else.
    const bool tty = ::isatty(STDERR_FILENO) == 1 && &s.err == &std::cerr;
    auto done = (*client)->applyLayout(card->path, r.layout, [&](unsigned percent) {
        if (tty) s.err << "\rapplying layout " << r.layout << " on card " << card->number("Index") << ": " << percent << "%" << std::flush;
    });
    if (tty) s.err << "\r\033[K" << std::flush;
    if (!done) return std::move(done).error();
    auto shown = showPartition(**client, *card, false);
    if (!shown) return std::move(shown).error();
    s.out << "layout " << r.layout << " applied\n" << *shown;
    return {};
}

Result<Command> parsePartitionApply(const CommandLine& c) {
    auto card = oneCard(c, "apply", "partition");
    if (!card) return std::move(card).error();
    PartitionApplyRequest r;
    r.card = *card;
    if (c.has("file")) {
        if (!c.arguments.empty()) return usage("partition apply takes a LAYOUT or --file FILE, not both", "aismi partition --help");
        if (c.text("file").empty()) return usage("--file needs a file name", "aismi partition --help");
        r.layoutFile = c.text("file");
    } else if (c.arguments.size() > 1) {
        return usage("partition apply " + tooManyWords(c, "one LAYOUT (quoted if it holds spaces: '4xquarter, 8xeighth')"),
                     "aismi partition --help");
    } else if (c.arguments.empty()) {
        return usage("partition apply needs one LAYOUT, e.g. 4xquarter,8xeighth, or --file FILE", "aismi partition --help");
    } else {
        r.layout = c.arguments[0];
    }
    r.dryRun = c.has("dry-run");
    return makeCommand("partition apply", r, apply);
}

Result<Command> parsePartitionShow(const CommandLine& c) {
    auto card = oneCard(c, "show", "partition");
    if (!card) return std::move(card).error();
    return reading(makeCommand("partition show", PartitionShowRequest{*card, c.has("json")}, show), c.has("json"));
}

Result<Command> parsePartitionExport(const CommandLine& c) {
    auto card = oneCard(c, "export", "partition");
    if (!card) return std::move(card).error();
    return reading(makeCommand("partition export", PartitionExportRequest{*card}, exportLayout), false);
}

po::options_description partitionOptions() {
    po::options_description o("partition options");
    o.add_options()
        ("dry-run", "print what partition apply would do; change nothing")
        ("file", po::value<std::string>(), "read the LAYOUT from FILE: COUNTxPROFILE items, comma or newline separated, # comments");
    return o;
}

}  // namespace

CommandSet partitionCommands() {
    return {{
                {{"partition", "apply"}, {"id", "dry-run", "file"}, parsePartitionApply, true},
                {{"partition", "show"}, {"id", "json"}, parsePartitionShow},
                {{"partition", "export"}, {"id"}, parsePartitionExport},
            },
            {{"partition", kPartitionUsage,
              [] {
                  return std::string("  -i [ --id ] ID        the card (index, PCI address or serial)\n"
                                     "  --dry-run             print the plan; change nothing (apply)\n"
                                     "  --file FILE           read the LAYOUT from FILE (apply)\n  -j [ --json ]         JSON output (show)\n");
              },
              "apply, show or export", "partition apply|show|export  lay a card out in one step (aismi partition --help)"}},
            [](po::options_description& o) { o.add(partitionOptions()); }};
}

}  // namespace aismi::cli
