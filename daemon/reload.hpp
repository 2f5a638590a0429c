// SIGHUP: aismid.conf and its directories read again, live. The daemon's own settings (the
// polling interval, the health thresholds, the metrics' owner labels) are applied here; each
// service applies its part (Service::reload: profiles, declared layouts, the recovery policy).
// Backend, state dir and the metrics address need a restart; a configuration that does not
// parse changes nothing. Loop thread.
#pragma once

#include "daemon_config.hpp"
#include "health_assessor.hpp"

#include <string>
#include <vector>

namespace aismi {

class MetricsEndpoint;
class Poller;
class RecoveryService;
class Service;
namespace bus {
class BusObjects;
}

/// The thresholds aismid.conf's health limits set.
HealthThresholds healthThresholdsIn(const DaemonConfig::HealthLimits& limits);

class Reload {
public:
    struct Parts {
        Poller& poller;
        HealthAssessor& health;
        MetricsEndpoint& metrics;
        bus::BusObjects& objects;
        RecoveryService& recovery;  // its policy is on the bus too
        const std::vector<Service*>& services;
    };
    /// `args`: aismid's command line, parsed again at each reload; `started`: the configuration
    /// aismid started with; `metricsAddress`: where it serves /metrics ("" none).
    Reload(std::vector<std::string> args, const DaemonConfig& started, std::string metricsAddress, Parts parts);
    void run();

private:
    std::vector<std::string> args_;
    DaemonConfig::HealthLimits healthLimits_;
    DaemonConfig::Metrics startedMetrics_;
    std::string metricsAddress_;
    Parts parts_;
};

}  // namespace aismi
