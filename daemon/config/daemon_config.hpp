// aismid's configuration: the command line and /etc/aismi/aismid.conf (every option can be
// given in either place; the command line wins).
#pragma once

#include <aismi/card.hpp>
#include <aismi/error.hpp>

#include <optional>
#include <string>
#include <vector>


namespace aismi {

struct DaemonConfig {
    enum class Backend { Linux, Sim };
    Backend backend = Backend::Linux;
    std::vector<DeviceMatch> matches;  // defaults to the aismi card's IDs
    std::string sysfsRoot = "/sys";
    std::string stateDir = "/var/lib/aismi";
    std::string profilesDir = "/etc/aismi/profiles.d";  // default: profiles.d beside the config file
    std::string layoutsDir = "/etc/aismi/layouts.d";    // default: layouts.d beside the config file
    std::string simDir;  // default: <stateDir>/sim
    /// What new simulated cards look like (the sim backend turns it into the simulator's own
    /// configuration; the daemon's settings do not depend on the simulator's types).
    struct SimCards {
        unsigned cards = 2;
        unsigned totalVfs = 16;
        Resources capacity{128, 65536, 8};
        std::optional<double> timeFactor;  // given: also applied to existing simulated cards
    };
    SimCards sim;
    unsigned pollIntervalMs = 1000;
    unsigned eventsKeep = 10000;      // the event history keeps at most this many events
    unsigned eventsMaxAgeDays = 90;   // and none older than this
    unsigned eventsRepeatWindowS = 300;  // an identical warning within this long is counted, not recorded (0: never)
    bool autoReset = true;            // reset hung VFs automatically
    unsigned resetGuardResets = 3;    // at most this many automatic resets of one VF
    unsigned resetGuardWindowS = 600; // within this many seconds; then the VF is quarantined
    bool autoCardReset = false;       // escalate to a whole-card reset when a hung VF's own reset fails
    unsigned cardResetBudget = 1;     // at most this many such card resets of one card
    unsigned cardResetWindowS = 3600; // within this many seconds
    /// The health monitor's thresholds (inventory/health_assessor.hpp applies them).
    struct HealthLimits {
        unsigned temperatureMarginC = 10;     // warn this close to the card's critical temperature
        unsigned temperatureWarningC = 85;    // or at this, when the card reports no critical limit
        unsigned eccCorrectablePerHour = 1000;  // warn above this many correctable ECC errors in an hour
        unsigned aerNonfatalPerHour = 0;      // warn above this many non-fatal PCIe errors in an hour
        unsigned aerCorrectablePerHour = 100; // and above this many correctable ones
        bool warnDegradedLink = true;         // warn when the link trains below its maximum
        unsigned stalePolls = 3;              // a reading older than this many intervals makes health unknown
        unsigned hangPolls = 3;               // a running VF without progress for this many polls is hung
        bool operator==(const HealthLimits&) const = default;
    };
    HealthLimits health;
    /// The Prometheus endpoint (daemon/http): where it listens, if anywhere.
    struct Metrics {
        bool enabled = true;
        std::string host = "127.0.0.1";  // an IPv4 or IPv6 address
        uint16_t port = 9400;            // 0: any free port (Manager1.MetricsAddress tells which)
        bool vfOwnerLabels = false;      // the tenant of assigned VFs as a label of every VF series
    };
    Metrics metrics;
    std::string libvirtUri = "qemu:///system";  // "none": no libvirt (VFs can still be bound to vfio-pci)
    std::string firmwareKeys = "/etc/aismi/firmware-keys.d";  // trusted public keys of firmware images
    unsigned firmwareCheckSeconds = 10;  // new firmware runs healthy this long before it is committed
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

/// Whether new simulated cards can be made as configured (the simulator's own rules).
Result<void> validateSimCards(const DaemonConfig::SimCards& sim);

}  // namespace aismi
