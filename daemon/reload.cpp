#include "reload.hpp"

#include "bus_objects.hpp"
#include "log.hpp"
#include "metrics_endpoint.hpp"
#include "poller.hpp"
#include "recovery_service.hpp"
#include "service.hpp"

namespace aismi {

HealthThresholds healthThresholdsIn(const DaemonConfig::HealthLimits& h) {
    HealthThresholds t;
    t.temperatureWarningBelowCritC = h.temperatureMarginC;
    t.temperatureWarningC = h.temperatureWarningC;
    t.eccCorrectablePerHour = h.eccCorrectablePerHour;
    t.aerNonfatalPerHour = h.aerNonfatalPerHour;
    t.aerCorrectablePerHour = h.aerCorrectablePerHour;
    t.warnDegradedLink = h.warnDegradedLink;
    t.stalledPolls = h.hangPolls;
    return t;
}

Reload::Reload(std::vector<std::string> args, const DaemonConfig& started, std::string metricsAddress, Parts parts)
    : args_(std::move(args)), healthLimits_(started.health), startedMetrics_(started.metrics), metricsAddress_(std::move(metricsAddress)), parts_(parts) {}

void Reload::run() {
    auto reloaded = parseDaemonConfig(args_);
    if (!reloaded) return log::error("reload: " + reloaded.error().message + "; keeping the running configuration");
    const DaemonConfig& config = reloaded->config;
    if (config.pollIntervalMs != parts_.poller.intervalMs()) {
        parts_.poller.start(config.pollIntervalMs);
        parts_.objects.setPollInterval(config.pollIntervalMs);
        log::info("reload: polling every " + std::to_string(config.pollIntervalMs) + " ms");
    }
    if (!(config.health == healthLimits_)) {
        healthLimits_ = config.health;
        parts_.health.setThresholds(healthThresholdsIn(healthLimits_));
        parts_.poller.setStalePolls(config.health.stalePolls);
        log::info("reload: new health thresholds");
    }
    if (const bool owners = config.metrics.vfOwnerLabels; owners != parts_.metrics.ownerLabels()) {
        parts_.metrics.setOwnerLabels(owners);
        log::info(std::string("reload: VF series ") + (owners ? "carry" : "no longer carry") + " their tenant");
    }
    const auto& m = config.metrics;
    if (m.enabled != startedMetrics_.enabled || m.host != startedMetrics_.host || m.port != startedMetrics_.port)
        log::info("reload: the metrics address changes at the next start; serving at " + (metricsAddress_.empty() ? std::string("none") : metricsAddress_) +
                  " until then");
    const RecoveryPolicy before = parts_.recovery.policy();
    for (Service* service : parts_.services) service->reload(config);
    if (!(parts_.recovery.policy() == before)) parts_.objects.setRecoveryPolicy(parts_.recovery.policy());
}

}  // namespace aismi
