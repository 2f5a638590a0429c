#include "firmware.hpp"

#include "command_parsing.hpp"
#include "client_api.hpp"
#include "json.hpp"
#include "selection.hpp"

#include <aismi/device_ref.hpp>
#include <aismi/firmware_image.hpp>
#include <aismi/text.hpp>

#include <boost/program_options.hpp>

#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace po = boost::program_options;

namespace aismi::cli {
namespace {

// What --help says before the options.
constexpr const char* kFirmwareUsage = R"(Usage: aismi firmware show [-i ID[,ID...]] [-j]
       aismi firmware update -i ID IMAGE [--activate=now|idle|never] [--allow-older] [--allow-reinstall] [--force] [--quiet]
       aismi firmware activate -i ID [--force] [--quiet]
       aismi firmware rollback -i ID [--force] [--quiet]
       aismi firmware jobs [-i ID[,ID...]] [-j]

Firmware updates that cannot brick a card (docs/firmware.md). Each card has two firmware
banks: the one it runs and a spare.
  show      both banks (version, integrity, hash), the bank it runs and boots, the last
            one-shot try, the self-test, the last update and the one staged or under way.
  update    checks IMAGE (signed by a key in aismid's firmware-keys directory, for this card,
            not older than what runs unless --allow-older, not what runs already unless
            --allow-reinstall) before anything touches the card,
            writes the spare bank, reads it back, then activates it: the card is reset into
            the new firmware once, which must come up and stay healthy before it is committed;
            otherwise the card goes back to the firmware it ran and the update is reported as
            rolled back (exit code 23). --activate=now resets the card at once (refused while
            VFs are assigned, bound to vfio-pci or running, unless --force); idle (the
            default) waits until none is; never only stages it. A progress bar is shown on a
            terminal; --quiet prints nothing but errors.
  activate  runs the staged update (written with --activate=never).
  rollback  switches to the other bank's firmware, checked and committed the same way.
  jobs      the updates, activations and rollbacks of each card, newest first.

Images are made and signed with aismi-firmware-pack(1). The image goes to aismid as an open file descriptor, never a path: aismid reads only what
you could open. That needs the local bus (not -H).

)";

const std::vector<std::string> kProperties{"Index", "PciAddress", "FirmwareVersion", "FirmwareActiveBank", "FirmwareBootBank", "FirmwareBankVersions",
                                           "FirmwareBankIntegrity", "FirmwareBankHashes", "FirmwareLastTry", "FirmwareSelfTest"};

std::vector<std::string> listOf(const BusObject& o, std::string_view name) {
    const auto* v = std::get_if<std::vector<std::string>>(&o.get(name));
    return v ? *v : std::vector<std::string>{};
}

std::string orDash(const std::string& s) { return s.empty() ? "-" : s; }

std::string when(uint64_t unixSeconds) {
    if (!unixSeconds) return "-";
    const std::time_t t = static_cast<std::time_t>(unixSeconds);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", std::localtime(&t));
    return buf;
}

std::string rowJson(const DaemonClient::FirmwareUpdateRow& u) {
    std::ostringstream o;
    o << "{\"id\": " << u.id << ", \"job\": " << u.job << ", \"kind\": " << json::quote(u.kind) << ", \"from_version\": " << json::quote(u.fromVersion)
      << ", \"from_bank\": " << u.fromBank << ", \"to_version\": " << json::quote(u.toVersion) << ", \"to_bank\": " << u.toBank
      << ", \"activate\": " << json::quote(u.activate) << ", \"state\": " << json::quote(u.state) << ", \"reason\": " << json::quote(u.reason)
      << ", \"started\": " << u.started << ", \"finished\": " << (u.finished ? std::to_string(u.finished) : "null") << "}";
    return o.str();
}

std::string cardLabel(const BusObject& card) { return "card " + std::to_string(card.number("Index")) + " (" + card.text("PciAddress") + ")"; }

Result<std::vector<const BusObject*>> cards(DaemonClient& client, Inventory& inv, const std::vector<std::string>& ids) {
    if (auto q = client.query(bus_names::kCardInterface, kProperties, inv.cards); !q) return std::move(q).error();
    return selectCards(inv, ids);
}

Result<std::string> show(DaemonClient& client, const FirmwareListRequest& r) {
    Inventory inv;
    auto selected = cards(client, inv, r.ids);
    if (!selected) return std::move(selected).error();
    std::ostringstream out;
    if (r.json) out << "[";
    bool first = true;
    for (const BusObject* card : *selected) {
        auto rows = client.listFirmwareUpdates(card->path, 20);
        if (!rows) return std::move(rows).error();
        const DaemonClient::FirmwareUpdateRow* pending = nullptr;
        const DaemonClient::FirmwareUpdateRow* last = nullptr;
        for (const auto& u : *rows) {
            if (!pending && !u.finished) pending = &u;
            if (!last && u.finished) last = &u;
        }
        const auto versions = listOf(*card, "FirmwareBankVersions"), integrity = listOf(*card, "FirmwareBankIntegrity"),
                   hashes = listOf(*card, "FirmwareBankHashes");
        const bool boots = std::holds_alternative<uint64_t>(card->get("FirmwareBootBank"));
        if (r.json) {
            out << (first ? "\n " : ",\n ") << "{\"card\": " << card->number("Index") << ", \"pci.bus_id\": " << json::quote(card->text("PciAddress"))
                << ", \"version\": " << json::quote(card->text("FirmwareVersion")) << ", \"active_bank\": " << card->number("FirmwareActiveBank")
                << ", \"boot_bank\": " << (boots ? std::to_string(card->number("FirmwareBootBank")) : "null") << ", \"banks\": [";
            for (size_t b = 0; b < versions.size(); ++b)
                out << (b ? ", " : "") << "{\"bank\": " << b << ", \"version\": " << json::quote(versions[b])
                    << ", \"integrity\": " << json::quote(b < integrity.size() ? integrity[b] : "") << ", \"sha256\": " << json::quote(b < hashes.size() ? hashes[b] : "")
                    << "}";
            out << "], \"last_try\": " << json::quote(card->text("FirmwareLastTry")) << ", \"self_test\": " << json::quote(card->text("FirmwareSelfTest"))
                << ", \"pending\": " << (pending ? rowJson(*pending) : "null") << ", \"last\": " << (last ? rowJson(*last) : "null") << "}";
        } else {
            out << cardLabel(*card) << "\n";
            out << "  running      " << orDash(card->text("FirmwareVersion")) << " (bank " << card->number("FirmwareActiveBank") << ")\n";
            out << "  boots        " << (boots ? "bank " + std::to_string(card->number("FirmwareBootBank")) + " (committed)" : std::string("- (no A/B update ABI)")) << "\n";
            for (size_t b = 0; b < versions.size(); ++b) {
                char line[200];
                const std::string hash = b < hashes.size() && !hashes[b].empty() ? hashes[b].substr(0, 16) + "..." : "-";
                std::snprintf(line, sizeof line, "  bank %zu       %-12s %-4s sha256 %s\n", b, orDash(versions[b]).c_str(), b < integrity.size() ? integrity[b].c_str() : "-",
                              hash.c_str());
                out << line;
            }
            out << "  last try     " << orDash(card->text("FirmwareLastTry")) << "\n";
            out << "  self-test    " << orDash(card->text("FirmwareSelfTest")) << "\n";
            out << "  pending      "
                << (pending ? pending->kind + " " + std::to_string(pending->id) + ": " + pending->state + " " + pending->toVersion + " (bank " +
                                  std::to_string(pending->toBank) + "): " + pending->reason
                            : std::string("-"))
                << "\n";
            out << "  last result  "
                << (last ? last->kind + " " + std::to_string(last->id) + " " + last->state + " at " + when(last->finished) + ": " + last->reason : std::string("-"))
                << "\n";
        }
        first = false;
    }
    if (r.json) out << (first ? "]\n" : "\n]\n");
    return out.str();
}

Result<std::string> jobs(DaemonClient& client, const FirmwareListRequest& r) {
    Inventory inv;
    auto selected = cards(client, inv, r.ids);
    if (!selected) return std::move(selected).error();
    std::ostringstream out;
    if (r.json) out << "[";
    else out << "CARD  ID    KIND      FROM           TO             STATE        STARTED              REASON\n";
    bool first = true;
    for (const BusObject* card : *selected) {
        auto rows = client.listFirmwareUpdates(card->path, 1000);
        if (!rows) return std::move(rows).error();
        for (const auto& u : *rows) {
            if (r.json) {
                out << (first ? "\n " : ",\n ") << "{\"card\": " << card->number("Index") << ", \"update\": " << rowJson(u) << "}";
            } else {
                char line[256];
                std::snprintf(line, sizeof line, "%-5llu %-5llu %-9s %-14s %-14s %-12s %-20s ", static_cast<unsigned long long>(card->number("Index")),
                              static_cast<unsigned long long>(u.id), u.kind.c_str(), (u.fromVersion + "/" + std::to_string(u.fromBank)).c_str(),
                              (u.toVersion + "/" + std::to_string(u.toBank)).c_str(), u.state.c_str(), when(u.started).c_str());
                out << line << u.reason << "\n";
            }
            first = false;
        }
    }
    if (r.json) out << (first ? "]\n" : "\n]\n");
    return out.str();
}

std::string stageOf(unsigned percent) {
    if (percent < 85) return "writing";
    if (percent == 86) return "staged, waiting for the VFs to be idle";
    if (percent < 92) return "activating";
    if (percent < 100) return "checking the new firmware";
    return "done";
}

// The job to its end with a bar on a terminal, then the card's record of it.
Result<std::string> follow(DaemonClient& client, const BusObject& card, const std::string& job, bool quiet, const std::string& what) {
    const bool tty = !quiet && ::isatty(STDERR_FILENO) == 1;
    auto done = client.waitForJob(job, [&](unsigned percent) {
        if (!tty) return;
        const unsigned filled = percent * 30 / 100;
        std::cerr << "\r" << what << " [" << std::string(filled, '#') << std::string(30 - filled, '.') << "] " << percent << "% " << stageOf(percent) << "\033[K"
                  << std::flush;
    });
    if (tty) std::cerr << "\r\033[K" << std::flush;
    if (!done) return std::move(done).error();
    if (quiet) return std::string();
    auto rows = client.listFirmwareUpdates(card.path, 1);
    if (!rows) return std::move(rows).error();
    if (rows->empty()) return cardLabel(card) + ": done\n";
    const auto& u = rows->front();
    return cardLabel(card) + ": " + u.kind + " " + std::to_string(u.id) + " " + u.state + ": " + u.reason + "\n";
}

// The card a change goes to.
Result<BusObject> cardOf(DaemonClient& client, const std::string& id) {
    Inventory inv;
    auto selected = cards(client, inv, {id});
    if (!selected) return std::move(selected).error();
    return *selected->front();
}

Result<std::string> update(DaemonClient& client, const FirmwareUpdateRequest& r) {
    auto card = cardOf(client, r.card);
    if (!card) return std::move(card).error();
    // Non-blocking: a FIFO named as the image must not hang aismi before it is refused.
    const int fd = ::open(r.image.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        const int err = errno;
        return makeError(Errc::FileUnreadable, "cannot open the image " + r.image + ": " + std::strerror(err));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return makeError(Errc::FileUnreadable, "cannot read the image " + r.image + ": not a regular file");
    }
    auto job = client.updateFirmware(card->path, fd, {r.activate, r.allowOlder, r.force, r.allowReinstall});
    ::close(fd);  // sent: aismid holds its own copy of the descriptor
    if (!job) return std::move(job).error();
    return follow(client, *card, *job, r.quiet, "updating " + cardLabel(*card));
}

Result<std::string> activate(DaemonClient& client, const FirmwareActivateRequest& r) {
    auto card = cardOf(client, r.card);
    if (!card) return std::move(card).error();
    auto job = client.activateFirmware(card->path, r.force, r.rollback);
    if (!job) return std::move(job).error();
    return follow(client, *card, *job, r.quiet, (r.rollback ? "rolling back " : "activating ") + cardLabel(*card));
}

Result<Command> listing(const CommandLine& c, const std::string& verb, Result<std::string> (*run)(DaemonClient&, const FirmwareListRequest&)) {
    auto selected = cardIds(c, "firmware " + verb, "aismi firmware --help");
    if (!selected) return std::move(selected).error();
    return reading(makeCommand("firmware " + verb, FirmwareListRequest{*selected, c.has("json")}, run), c.has("json"));
}

Result<Command> parseShow(const CommandLine& c) { return listing(c, "show", show); }
Result<Command> parseJobs(const CommandLine& c) { return listing(c, "jobs", jobs); }

// The card a change goes to: -i, one card, not a VF.
Result<std::string> changedCard(const CommandLine& c, const std::string& verb) {
    auto card = oneCard(c, verb, "firmware");
    if (!card) return std::move(card).error();
    if (auto ref = DeviceRef::parse(*card); ref && ref->kind != DeviceRef::Kind::Card)
        return usage("firmware " + verb + " -i takes a card, not " + quoteInput(*card), "aismi firmware --help");
    return card;
}

Result<Command> parseActivate(const CommandLine& c, bool rollback) {
    auto card = changedCard(c, rollback ? "rollback" : "activate");
    if (!card) return std::move(card).error();
    return makeCommand(rollback ? "firmware rollback" : "firmware activate", FirmwareActivateRequest{*card, rollback, c.has("force"), c.has("quiet")}, activate);
}

Result<Command> parseUpdate(const CommandLine& c) {
    auto card = changedCard(c, "update");
    if (!card) return std::move(card).error();
    if (c.arguments.empty()) return usage("firmware update needs one IMAGE file after -i ID", "aismi firmware --help");
    if (c.arguments.size() > 1)
        return usage("firmware update " + tooManyWords(c, "one IMAGE file"), "aismi firmware --help");
    FirmwareUpdateRequest r;
    r.card = *card;
    r.image = c.arguments[0];
    if (c.has("activate")) {
        r.activate = c.text("activate");
        if (r.activate != "now" && r.activate != "idle" && r.activate != "never")
            return usage("--activate takes now, idle or never, not " + quoteInput(r.activate), "aismi firmware --help");
    }
    r.allowOlder = c.has("allow-older");
    r.allowReinstall = c.has("allow-reinstall");
    r.force = c.has("force");
    r.quiet = c.has("quiet");
    Command update_ = makeCommand("firmware update", r, update);
    // The image goes to aismid as an open file descriptor, which -H's SSH bridge cannot carry.
    update_.localOnly = "firmware update goes to the local aismid only (the image is passed as an open file, which -H's SSH bridge cannot carry); "
                        "copy the image to the host and run 'aismi firmware update' there, e.g. scp fw.img HOST: && ssh HOST aismi firmware update -i ID fw.img";
    return update_;
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

}  // namespace

CommandSet firmwareCommands() {
    return {{
                {{"firmware", "show"}, {"id", "json"}, parseShow},
                {{"firmware", "update"}, {"id", "activate", "allow-older", "allow-reinstall", "force", "quiet"}, parseUpdate, true},
                {{"firmware", "activate"}, {"id", "force", "quiet"}, [](const CommandLine& c) { return parseActivate(c, false); }},
                {{"firmware", "rollback"}, {"id", "force", "quiet"}, [](const CommandLine& c) { return parseActivate(c, true); }},
                {{"firmware", "jobs"}, {"id", "json"}, parseJobs},
            },
            {{"firmware", kFirmwareUsage,
              [] {
                  return "  -i [ --id ] ID        the card (update, activate, rollback), or only these cards (show, jobs)\n" +
                         optionLines(firmwareOptions()) +
                         "  --force               activate at once although VFs are in use\n"
                         "  -j [ --json ]         JSON output (show, jobs)\n";
              },
              "show, update, activate, rollback or jobs",
              "firmware show|update|activate|rollback|jobs\n                             signed firmware updates with automatic rollback (aismi firmware --help)"}},
            [](po::options_description& o) { o.add(firmwareOptions()); }};
}

}  // namespace aismi::cli
