#include "daemon_config.hpp"

#include "conf_dir.hpp"
#include "limits.hpp"
#include "version.hpp"

#include <aismi/option_errors.hpp>
#include <aismi/text.hpp>

#include <boost/program_options.hpp>

#include <arpa/inet.h>
#include <algorithm>
#include <map>
#include <sstream>

namespace po = boost::program_options;

namespace aismi {
namespace {

constexpr unsigned kMinPollMs = 100, kMaxPollMs = 3'600'000;

po::options_description settingOptions() {
    po::options_description o("Settings (command line or config file, as key = value)");
    o.add_options()
        ("backend", po::value<std::string>()->default_value("linux"), "linux: real cards under --sysfs-root; sim: simulated cards")
        ("match", po::value<std::vector<std::string>>()->composing(),
         "VENDOR:DEVICE of the physical functions to manage (repeatable; default a15e:0100, the aismi card)")
        ("sysfs-root", po::value<std::string>()->default_value("/sys"), "where sysfs is mounted (linux backend)")
        ("state-dir", po::value<std::string>()->default_value("/var/lib/aismi"), "directory of the state store")
        ("layouts-dir", po::value<std::string>(),
         "card layouts declared for fleet tooling, in *.conf files (default: layouts.d beside the config file)")
        ("profiles-dir", po::value<std::string>(),
         "VF profiles beyond the built-in ones, in *.conf files (default: profiles.d beside the config file; a missing directory adds none)")
        ("poll-interval", po::value<std::string>()->default_value("1000"), "telemetry polling interval in milliseconds (100 to 3600000)")
        ("sim-dir", po::value<std::string>(), "simulated cards' directory (default STATE-DIR/sim; the one aismi-sim --dir takes)")
        ("sim-cards", po::value<std::string>()->default_value("2"), "simulated cards to create when --sim-dir holds none")
        ("sim-vfs", po::value<std::string>()->default_value("16"), "TotalVFs of each new simulated card (1 to 256)")
        ("sim-compute-units", po::value<std::string>()->default_value("128"), "compute units of each new simulated card")
        ("sim-memory-mib", po::value<std::string>()->default_value("65536"), "device memory of each new simulated card, MiB")
        ("sim-engines", po::value<std::string>()->default_value("8"), "engines of each new simulated card")
        ("sim-time-factor", po::value<double>(), "scales simulated FLR times (0.01 makes a 100 ms FLR take 1 ms)")
        ("events-keep", po::value<std::string>()->default_value("10000"), "events the history keeps at most (100 to 10000000)")
        ("events-max-age-days", po::value<std::string>()->default_value("90"), "days the history keeps an event (1 to 3650)")
        ("events-repeat-window", po::value<std::string>()->default_value("300"),
         "seconds within which an identical warning is counted rather than recorded and logged again (0 to 86400; 0 records every one)")
        ("auto-reset", po::value<std::string>()->default_value("yes"), "reset hung VFs automatically (function-level): yes or no")
        ("reset-guard", po::value<std::string>()->default_value("3/600"),
         "N/SECONDS: at most N automatic resets of one VF within SECONDS, then it is quarantined (N 1 to 100, SECONDS 1 to 604800)")
        ("auto-card-reset", po::value<std::string>()->default_value("no"),
         "when the automatic reset of a hung VF fails, reset its whole card (every VF with it): yes or no")
        ("card-reset-budget", po::value<std::string>()->default_value("1/3600"),
         "N/SECONDS: at most N such card resets of one card within SECONDS (N 1 to 100, SECONDS 1 to 604800)")
        ("health-temperature-margin", po::value<std::string>()->default_value("10"), "warn this many degrees C below the card's critical temperature (0 to 100)")
        ("health-temperature-warning", po::value<std::string>()->default_value("85"), "warn at this many degrees C when the card reports no critical limit (1 to 200)")
        ("health-ecc-correctable-per-hour", po::value<std::string>()->default_value("1000"),
         "warn above this many correctable ECC errors within an hour (0 to 1000000000; uncorrectable ones are always critical)")
        ("health-aer-nonfatal-per-hour", po::value<std::string>()->default_value("0"), "warn above this many non-fatal PCIe errors within an hour (0 to 1000000000)")
        ("health-aer-correctable-per-hour", po::value<std::string>()->default_value("100"), "warn above this many correctable PCIe errors within an hour (0 to 1000000000)")
        ("health-link-degraded", po::value<std::string>()->default_value("warn"), "a PCIe link trained below its maximum: warn or ignore")
        ("health-stale-polls", po::value<std::string>()->default_value("3"), "a reading older than this many poll intervals makes health unknown (1 to 100)")
        ("hang-polls", po::value<std::string>()->default_value("3"), "a running VF whose progress does not move for this many polls is hung (1 to 1000)")
        ("metrics-address", po::value<std::string>()->default_value("127.0.0.1:9400"),
         "ADDR:PORT of the Prometheus endpoint (/metrics; [ADDR]:PORT for IPv6; port 0 picks a free one), or none")
        ("metrics-vf-owner-labels", po::value<std::string>()->default_value("no")->implicit_value("yes"),
         "label every VF series with the tenant of the VF (more series: the operator's choice): yes or no")
        ("libvirt-uri", po::value<std::string>()->default_value("qemu:///system"),
         "the libvirt that VFs are assigned through (qemu:///system, test+unix:///default?socket=PATH, ...), or none")
        ("firmware-keys", po::value<std::string>()->default_value("/etc/aismi/firmware-keys.d"),
         "directory of the PEM public keys (*.pem, Ed25519) firmware images must be signed with")
        ("firmware-check-seconds", po::value<std::string>()->default_value("10"),
         "after activation, how long new firmware must run healthy before it is committed (1 to 600; it gets 3 times as long, at least 30 s, to come up)");
    return o;
}

Error invalid(const std::string& what) { return makeError(Errc::ConfigInvalid, what); }

// A whole decimal number of the option: "-4294966296" or "1e3" are refused, never wrapped.
Result<unsigned> whole(const po::variables_map& vm, const std::string& name) {
    const std::string text = vm[name].as<std::string>();
    const bool digits = !text.empty() && text.size() <= 10 && text.find_first_not_of("0123456789") == std::string::npos;
    const unsigned long long v = digits ? std::stoull(text) : 0;
    if (!digits || v > 0xffffffffULL) return invalid("--" + name + " takes a whole number, not '" + text.substr(0, 40) + "'");
    return static_cast<unsigned>(v);
}

// "127.0.0.1:9400", "[::1]:9400": a numeric address (no name lookups in a daemon's start) and a port.
Result<DaemonConfig::Metrics> parseMetricsAddress(const std::string& text, DaemonConfig::Metrics m) {
    const auto bad = [&](const std::string& why) { return invalid("--metrics-address " + why + ", not '" + text.substr(0, 60) + "'"); };
    if (text == "none") {
        m.enabled = false;
        return m;
    }
    std::string host, port;
    if (!text.empty() && text[0] == '[') {
        const size_t close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') return bad("takes [IPV6]:PORT");
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
        in6_addr a6{};
        if (::inet_pton(AF_INET6, host.c_str(), &a6) != 1) return bad("takes an IPv6 address within [ ]");
    } else {
        const size_t colon = text.rfind(':');
        if (colon == std::string::npos) return bad("takes ADDR:PORT (or none)");
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        in_addr a4{};
        if (::inet_pton(AF_INET, host.c_str(), &a4) != 1) return bad("takes an IPv4 address (or [IPV6]) before the port");
    }
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) > 65535)
        return bad("takes a port of 0 to 65535");
    m.enabled = true;
    m.host = host;
    m.port = static_cast<uint16_t>(std::stoul(port));
    return m;
}

}  // namespace

std::string_view backendName(DaemonConfig::Backend b) { return b == DaemonConfig::Backend::Sim ? "sim" : "linux"; }

Result<ParsedCommandLine> parseDaemonConfig(const std::vector<std::string>& args) {
    po::options_description generic("Options");
    generic.add_options()("help,h", "show this help and exit")("version", "show the version and exit")(
        "config", po::value<std::string>(), "config file (default /etc/aismi/aismid.conf; a missing default file is fine)");
    po::options_description settings = settingOptions();
    po::options_description all;
    all.add(generic).add(settings);

    ParsedCommandLine out;
    po::variables_map vm;
    std::string configPath = kDefaultConfigFile;  // the file read, or the default looked for
    try {
        po::store(po::command_line_parser(args).options(all).run(), vm);
        if (vm.count("help")) {
            std::ostringstream help;
            help << "Usage: aismid [OPTIONS]\n\nThe aismi daemon: manages accelerator cards (SR-IOV partitioning, resets,\n"
                    "telemetry, health) and serves them on the system bus as org.aismi.Manager1.\n\n"
                 << generic << "\n" << settings;
            out.exitNow = true;
            out.output = help.str();
            return out;
        }
        if (vm.count("version")) {
            out.exitNow = true;
            out.output = std::string("aismid ") + kAismiVersion + "\n";
            return out;
        }
        const bool explicitFile = vm.count("config") > 0;
        const std::string file = explicitFile ? vm["config"].as<std::string>() : kDefaultConfigFile;
        configPath = file;
        // /dev/null (what tests and `--config=/dev/null` mean by "no file") is empty; anything
        // else is read as conf_dir.hpp reads every file it is given.
        Result<std::string> text = file == "/dev/null" ? Result<std::string>(std::string()) : readConfigFile(file, limits::kMaxConfigFileBytes);
        if (!text && text.error().code == Errc::NotFound && !explicitFile) {
            // The default file is optional.
        } else if (!text) {
            return invalid("config file " + text.error().message);
        } else {
            std::istringstream in(*text);
            try {
                po::store(po::parse_config_file(in, settings), vm);
            } catch (const po::error& e) {
                return invalid("config file " + file + ": " + optionErrorText(e));
            }
            out.config.configFile = file;
        }
        po::notify(vm);
    } catch (const po::error& e) {
        return invalid(optionErrorText(e) + " (aismid --help lists the options)");
    }

    DaemonConfig& c = out.config;
    const std::string backend = vm["backend"].as<std::string>();
    if (backend == "sim") c.backend = DaemonConfig::Backend::Sim;
    else if (backend != "linux") return invalid("--backend must be 'linux' or 'sim', not '" + backend + "'");
    if (vm.count("match")) {
        for (const auto& m : vm["match"].as<std::vector<std::string>>()) {
            auto parsed = DeviceMatch::parse(m);
            if (!parsed) return invalid("--match: " + parsed.error().message);
            c.matches.push_back(*parsed);
        }
    }
    c.sysfsRoot = vm["sysfs-root"].as<std::string>();
    c.stateDir = vm["state-dir"].as<std::string>();
    if (c.stateDir.empty()) return invalid("--state-dir must not be empty");
    if (vm.count("profiles-dir")) {
        c.profilesDir = vm["profiles-dir"].as<std::string>();
        if (c.profilesDir.empty()) return invalid("--profiles-dir must not be empty");
    }
    // Beside the config file by default, so an install under another prefix finds its own.
    const size_t slash = configPath.rfind('/');
    const std::string configDir = slash == std::string::npos ? std::string(".") : configPath.substr(0, slash);
    if (!vm.count("profiles-dir")) c.profilesDir = configDir + "/profiles.d";
    c.layoutsDir = vm.count("layouts-dir") ? vm["layouts-dir"].as<std::string>() : configDir + "/layouts.d";
    if (c.layoutsDir.empty()) return invalid("--layouts-dir must not be empty");
    std::map<std::string, unsigned> n;
    for (const char* name : {"poll-interval", "sim-cards", "sim-vfs", "sim-compute-units", "sim-memory-mib", "sim-engines", "events-keep",
                             "events-max-age-days", "events-repeat-window"}) {
        auto v = whole(vm, name);
        if (!v) return std::move(v).error();
        n[name] = *v;
    }
    c.pollIntervalMs = n["poll-interval"];
    if (c.pollIntervalMs < kMinPollMs || c.pollIntervalMs > kMaxPollMs)
        return invalid("--poll-interval must be " + std::to_string(kMinPollMs) + " to " + std::to_string(kMaxPollMs) + " ms, not " +
                       std::to_string(c.pollIntervalMs));
    c.simDir = vm.count("sim-dir") ? vm["sim-dir"].as<std::string>() : c.stateDir + "/sim";
    c.sim.cards = n["sim-cards"];
    c.sim.totalVfs = n["sim-vfs"];
    c.sim.capacity = Resources{n["sim-compute-units"], n["sim-memory-mib"], n["sim-engines"]};
    if (vm.count("sim-time-factor")) c.sim.timeFactor = vm["sim-time-factor"].as<double>();
    if (c.matches.empty()) c.matches.push_back(kAismiCardMatch);
    c.eventsKeep = n["events-keep"];
    if (c.eventsKeep < 100 || c.eventsKeep > limits::kMaxEventsKept)
        return invalid("--events-keep must be 100 to " + std::to_string(limits::kMaxEventsKept) + ", not " + std::to_string(c.eventsKeep));
    c.eventsMaxAgeDays = n["events-max-age-days"];
    if (c.eventsMaxAgeDays < 1 || c.eventsMaxAgeDays > 3650)
        return invalid("--events-max-age-days must be 1 to 3650, not " + std::to_string(c.eventsMaxAgeDays));
    c.eventsRepeatWindowS = n["events-repeat-window"];
    if (c.eventsRepeatWindowS > 86400) return invalid("--events-repeat-window must be 0 to 86400 seconds, not " + std::to_string(c.eventsRepeatWindowS));
    const std::string autoReset = vm["auto-reset"].as<std::string>();
    auto autoResetOn = text::parseBoolean(autoReset, "--auto-reset");
    if (!autoResetOn) return invalid(autoResetOn.error().message);
    c.autoReset = *autoResetOn;
    const auto budget = [&](const char* name, const char* example, unsigned& n, unsigned& window) -> Result<void> {
        auto b = text::parseBudget(vm[name].as<std::string>(), "--" + std::string(name), example);
        if (!b) return invalid(b.error().message);
        n = b->count;
        window = b->seconds;
        return {};
    };
    if (auto r = budget("reset-guard", "3/600", c.resetGuardResets, c.resetGuardWindowS); !r) return std::move(r).error();
    if (auto r = budget("card-reset-budget", "1/3600", c.cardResetBudget, c.cardResetWindowS); !r) return std::move(r).error();
    const std::string cardReset = vm["auto-card-reset"].as<std::string>();
    auto cardResetOn = text::parseBoolean(cardReset, "--auto-card-reset");
    if (!cardResetOn) return invalid(cardResetOn.error().message);
    c.autoCardReset = *cardResetOn;
    struct Range {
        const char* name;
        unsigned min, max;
        unsigned DaemonConfig::HealthLimits::*field;
    };
    for (const Range& r : {Range{"health-temperature-margin", 0, 100, &DaemonConfig::HealthLimits::temperatureMarginC},
                           Range{"health-temperature-warning", 1, 200, &DaemonConfig::HealthLimits::temperatureWarningC},
                           Range{"health-ecc-correctable-per-hour", 0, 1'000'000'000, &DaemonConfig::HealthLimits::eccCorrectablePerHour},
                           Range{"health-aer-nonfatal-per-hour", 0, 1'000'000'000, &DaemonConfig::HealthLimits::aerNonfatalPerHour},
                           Range{"health-aer-correctable-per-hour", 0, 1'000'000'000, &DaemonConfig::HealthLimits::aerCorrectablePerHour},
                           Range{"health-stale-polls", 1, 100, &DaemonConfig::HealthLimits::stalePolls},
                           Range{"hang-polls", 1, 1000, &DaemonConfig::HealthLimits::hangPolls}}) {
        auto v = whole(vm, r.name);
        if (!v) return std::move(v).error();
        if (*v < r.min || *v > r.max)
            return invalid("--" + std::string(r.name) + " must be " + std::to_string(r.min) + " to " + std::to_string(r.max) + ", not " + std::to_string(*v));
        c.health.*r.field = *v;
    }
    const std::string link = vm["health-link-degraded"].as<std::string>();
    if (link != "warn" && link != "ignore") return invalid("--health-link-degraded takes warn or ignore, not '" + link.substr(0, 40) + "'");
    c.health.warnDegradedLink = link == "warn";
    auto metrics = parseMetricsAddress(vm["metrics-address"].as<std::string>(), c.metrics);
    if (!metrics) return std::move(metrics).error();
    c.metrics = *metrics;
    const std::string ownerLabels = vm["metrics-vf-owner-labels"].as<std::string>();
    auto ownerLabelsOn = text::parseBoolean(ownerLabels, "--metrics-vf-owner-labels");
    if (!ownerLabelsOn) return invalid(ownerLabelsOn.error().message);
    c.metrics.vfOwnerLabels = *ownerLabelsOn;
    c.libvirtUri = vm["libvirt-uri"].as<std::string>();
    if (c.libvirtUri.empty() || c.libvirtUri.size() > 1024 || c.libvirtUri.find(':') == std::string::npos ||
        std::any_of(c.libvirtUri.begin(), c.libvirtUri.end(), [](char ch) { return static_cast<unsigned char>(ch) <= ' ' || ch == 0x7f; }))
        if (c.libvirtUri != "none")
            return invalid("--libvirt-uri takes a libvirt URI (qemu:///system) of at most 1024 characters without spaces, or none; not '" +
                           c.libvirtUri.substr(0, 60) + "'");
    c.firmwareKeys = vm["firmware-keys"].as<std::string>();
    if (c.firmwareKeys.empty() || c.firmwareKeys.size() > 4096) return invalid("--firmware-keys takes a directory");
    auto check = whole(vm, "firmware-check-seconds");
    if (!check) return std::move(check).error();
    if (*check < 1 || *check > 600) return invalid("--firmware-check-seconds must be 1 to 600, not " + std::to_string(*check));
    c.firmwareCheckSeconds = *check;
    if (auto v = validateSimCards(c.sim); !v) return invalid(v.error().message);
    return out;
}

}  // namespace aismi
