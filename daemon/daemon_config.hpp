// aismid's configuration: the command line and /etc/aismi/aismid.conf (every option can be
// given in either place; the command line wins).
#pragma once

#include <aismi/card.hpp>
#include <aismi/error.hpp>

#include <optional>
#include <string>
#include <vector>

#include "sim/sim_model.hpp"

namespace aismi {

struct DaemonConfig {
    enum class Backend { Linux, Sim };
    Backend backend = Backend::Linux;
    std::vector<DeviceMatch> matches;  // defaults to the aismi card's IDs
    std::string sysfsRoot = "/sys";
    std::string stateDir = "/var/lib/aismi";
    std::string simDir;  // default: <stateDir>/sim
    sim::SimConfig sim;                   // used when the simulated cards are created
    std::optional<double> simTimeFactor;  // given: also applied to existing simulated cards
    unsigned pollIntervalMs = 1000;
    std::string configFile;  // the file that was read, if any
};

struct ParsedCommandLine {
    DaemonConfig config;
    bool exitNow = false;  // --help or --version was answered
    std::string output;    // what to print when exitNow
};

inline constexpr const char* kDefaultConfigFile = "/etc/aismi/aismid.conf";

/// Parses aismid's arguments (argv[0] excluded) and the config file they name. Bad values
/// give ConfigInvalid with a sentence naming the option and where it came from.
Result<ParsedCommandLine> parseDaemonConfig(const std::vector<std::string>& args);

std::string_view backendName(DaemonConfig::Backend b);

}  // namespace aismi
