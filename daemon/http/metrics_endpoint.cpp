#include "metrics_endpoint.hpp"

#include "event_bus.hpp"
#include "events.hpp"
#include "inventory.hpp"
#include "poller.hpp"
#include "snapshot.hpp"

#include <chrono>
#include <cstdio>
#include <optional>

namespace aismi {
namespace {

using metrics::appendLabel;
using metrics::Exposition;
using metrics::Kind;

constexpr double kMib = 1024.0 * 1024.0;
constexpr Health kHealthStates[] = {Health::Ok, Health::Unknown, Health::Warning, Health::Critical, Health::Lost};
constexpr VfState kVfStates[] = {VfState::Idle, VfState::Running, VfState::Hung, VfState::Resetting, VfState::Error};
constexpr Thermal kThermalLevels[] = {Thermal::Normal, Thermal::Warning, Thermal::Critical};
constexpr Severity kSeverities[] = {Severity::Info, Severity::Warning, Severity::Critical};

template <class T>
std::optional<double> real(const std::optional<T>& v) {
    return v ? std::optional<double>(static_cast<double>(*v)) : std::nullopt;
}
std::optional<double> mibToBytes(const std::optional<uint64_t>& v) { return v ? std::optional<double>(static_cast<double>(*v) * kMib) : std::nullopt; }
std::optional<double> pctToRatio(const std::optional<uint32_t>& v) { return v ? std::optional<double>(*v / 100.0) : std::nullopt; }
double flag(bool b) { return b ? 1 : 0; }

/// "16.0 GT/s PCIe" -> 1.6e10 transfers per second; nullopt when the kernel said something else.
std::optional<double> transfersPerSecond(const std::string& speed) {
    double gts = 0;
    char unit[8] = {};
    if (std::sscanf(speed.c_str(), "%lf %7s", &gts, unit) != 2 || std::string_view(unit) != "GT/s" || gts <= 0) return std::nullopt;
    return gts * 1e9;
}

// One value per card or VF: a row each (name, kind, help, unit, how to read it from a snapshot).
template <class Snapshot>
struct ValueRow {
    std::string_view name;
    Kind kind;
    std::string_view help;
    std::string_view unit;
    std::optional<double> (*read)(const Snapshot&);
};
using CardValue = ValueRow<CardSnapshot>;
using VfValue = ValueRow<VfSnapshot>;

const CardValue kCardValues[] = {
    {"aismi_card_temperature_celsius", Kind::Gauge, "Card temperature.", "celsius", [](const CardSnapshot& c) { return c.telemetry.temperatureC; }},
    {"aismi_card_temperature_critical_celsius", Kind::Gauge, "Temperature at which the card is critical, as it reports it.", "celsius",
     [](const CardSnapshot& c) { return c.telemetry.temperatureCritC; }},
    {"aismi_card_power_watts", Kind::Gauge, "Card power draw.", "watts", [](const CardSnapshot& c) { return c.telemetry.powerW; }},
    {"aismi_card_power_limit_watts", Kind::Gauge, "Card power cap.", "watts", [](const CardSnapshot& c) { return c.telemetry.powerCapW; }},
    {"aismi_card_utilization_ratio", Kind::Gauge, "Card compute utilisation, 0 to 1.", "ratio", [](const CardSnapshot& c) { return pctToRatio(c.telemetry.utilizationPct); }},
    {"aismi_card_memory_used_bytes", Kind::Gauge, "Device memory in use.", "bytes", [](const CardSnapshot& c) { return mibToBytes(c.telemetry.memoryUsedMib); }},
    {"aismi_card_memory_total_bytes", Kind::Gauge, "Device memory of the card.", "bytes", [](const CardSnapshot& c) { return mibToBytes(c.telemetry.memoryTotalMib); }},
    {"aismi_card_ecc_corrected_errors_total", Kind::Counter, "Correctable ECC errors the card counted.", "",
     [](const CardSnapshot& c) { return real(c.telemetry.eccCorrected); }},
    {"aismi_card_ecc_uncorrected_errors_total", Kind::Counter, "Uncorrectable ECC errors the card counted.", "",
     [](const CardSnapshot& c) { return real(c.telemetry.eccUncorrected); }},
    {"aismi_card_pcie_link_width", Kind::Gauge, "PCIe lanes the link trained to.", "",
     [](const CardSnapshot& c) { return c.telemetry.link ? std::optional<double>(c.telemetry.link->width) : std::nullopt; }},
    {"aismi_card_pcie_link_max_width", Kind::Gauge, "PCIe lanes the link can train to.", "",
     [](const CardSnapshot& c) { return c.telemetry.link ? std::optional<double>(c.telemetry.link->maxWidth) : std::nullopt; }},
    {"aismi_card_pcie_link_speed_transfers_per_second", Kind::Gauge, "PCIe link speed per lane, transfers per second.", "",
     [](const CardSnapshot& c) { return c.telemetry.link ? transfersPerSecond(c.telemetry.link->speed) : std::nullopt; }},
    {"aismi_card_pcie_link_max_speed_transfers_per_second", Kind::Gauge, "Fastest PCIe link speed per lane the card supports.", "",
     [](const CardSnapshot& c) { return c.telemetry.link ? transfersPerSecond(c.telemetry.link->maxSpeed) : std::nullopt; }},
    {"aismi_card_pcie_link_degraded", Kind::Gauge, "1 when the link trained below its maximum width or speed.", "",
     [](const CardSnapshot& c) { return c.telemetry.link ? std::optional<double>(flag(c.telemetry.link->degraded())) : std::nullopt; }},
    {"aismi_card_vfs_supported", Kind::Gauge, "VFs the card can enable (SR-IOV TotalVFs).", "", [](const CardSnapshot& c) -> std::optional<double> {
         return c.lost ? std::nullopt : std::optional<double>(c.vfTotal);
     }},
    {"aismi_card_vfs_enabled", Kind::Gauge, "VFs enabled now.", "", [](const CardSnapshot& c) -> std::optional<double> {
         return c.lost ? std::nullopt : std::optional<double>(c.vfEnabled());
     }},
    {"aismi_card_vfs_desired", Kind::Gauge, "VFs an operator asked for (absent when none was asked for, or while a change is under way).", "",
     [](const CardSnapshot& c) { return real(c.desiredVfs); }},
    {"aismi_card_compute_units", Kind::Gauge, "Compute units of the card.", "",
     [](const CardSnapshot& c) { return c.capacity ? std::optional<double>(c.capacity->computeUnits) : std::nullopt; }},
    {"aismi_card_engines", Kind::Gauge, "Engines of the card.", "",
     [](const CardSnapshot& c) { return c.capacity ? std::optional<double>(c.capacity->engines) : std::nullopt; }},
    {"aismi_card_oversubscription_compute_ratio", Kind::Gauge, "What the VFs' burst caps may add up to, relative to the card's compute.", "ratio",
     [](const CardSnapshot& c) -> std::optional<double> { return c.policy.compute / 100.0; }},
    {"aismi_card_oversubscription_memory_ratio", Kind::Gauge, "What the VFs' memory may add up to, relative to the card's memory.", "ratio",
     [](const CardSnapshot& c) -> std::optional<double> { return c.policy.memory / 100.0; }},
    {"aismi_card_firmware_active_bank", Kind::Gauge, "The firmware bank the card runs from (0 or 1).", "",
     [](const CardSnapshot& c) { return c.firmware ? std::optional<double>(c.firmware->activeBank) : std::nullopt; }},
    {"aismi_card_firmware_boot_bank", Kind::Gauge, "The committed firmware bank a reset or power-up boots (0 or 1).", "",
     [](const CardSnapshot& c) { return c.firmware && c.firmware->updatable ? std::optional<double>(c.firmware->bootBank) : std::nullopt; }},
    {"aismi_card_firmware_selftest_ok", Kind::Gauge, "1 when the running firmware passes its self-test, 0 when it fails it.", "",
     [](const CardSnapshot& c) { return c.firmware && c.firmware->selftestOk ? std::optional<double>(flag(*c.firmware->selftestOk)) : std::nullopt; }},
    {"aismi_card_data_stale", Kind::Gauge, "1 when no fresh reading came in time: the card's values are old.", "",
     [](const CardSnapshot& c) -> std::optional<double> { return c.readAtUs ? std::optional<double>(flag(!c.staleReason.empty())) : std::nullopt; }},
};

const VfValue kVfValues[] = {
    {"aismi_vf_utilization_ratio", Kind::Gauge, "VF compute utilisation, 0 to 1.", "ratio",
     [](const VfSnapshot& v) { return v.status ? std::optional<double>(v.status->utilizationPct / 100.0) : std::nullopt; }},
    {"aismi_vf_memory_used_bytes", Kind::Gauge, "Device memory the VF uses.", "bytes",
     [](const VfSnapshot& v) { return v.status ? std::optional<double>(v.status->memoryUsedMib * kMib) : std::nullopt; }},
    {"aismi_vf_memory_bytes", Kind::Gauge, "Device memory the VF is given.", "bytes",
     [](const VfSnapshot& v) { return v.resources ? std::optional<double>(v.resources->memoryMib * kMib) : std::nullopt; }},
    {"aismi_vf_compute_units", Kind::Gauge, "Compute units guaranteed to the VF.", "",
     [](const VfSnapshot& v) { return v.resources ? std::optional<double>(v.resources->computeUnits) : std::nullopt; }},
    {"aismi_vf_compute_burst_units", Kind::Gauge, "Compute units the VF may burst to.", "",
     [](const VfSnapshot& v) { return v.resources ? std::optional<double>(v.resources->burstCap()) : std::nullopt; }},
    {"aismi_vf_engines", Kind::Gauge, "Engines given to the VF.", "",
     [](const VfSnapshot& v) { return v.resources ? std::optional<double>(v.resources->engines) : std::nullopt; }},
    {"aismi_vf_weight", Kind::Gauge, "The VF's share of idle compute when VFs burst together.", "",
     [](const VfSnapshot& v) { return v.resources ? std::optional<double>(v.resources->weight) : std::nullopt; }},
    {"aismi_vf_compute_share_units", Kind::Gauge, "Compute units the VF's workload gets now.", "",
     [](const VfSnapshot& v) { return v.status ? std::optional<double>(v.status->computeShare) : std::nullopt; }},
    {"aismi_vf_throttled", Kind::Gauge, "1 when the VF wants more compute than it gets (the card is oversubscribed).", "",
     [](const VfSnapshot& v) { return v.status ? std::optional<double>(flag(v.status->throttled)) : std::nullopt; }},
    {"aismi_vf_progress_total", Kind::Counter, "Work the VF's workload completed (stops moving when the VF hangs).", "",
     [](const VfSnapshot& v) { return v.status ? std::optional<double>(v.status->progress) : std::nullopt; }},
    {"aismi_vf_ecc_corrected_errors_total", Kind::Counter, "Correctable ECC errors the VF counted.", "",
     [](const VfSnapshot& v) { return v.status ? std::optional<double>(v.status->eccCorrected) : std::nullopt; }},
    {"aismi_vf_ecc_uncorrected_errors_total", Kind::Counter, "Uncorrectable ECC errors the VF counted.", "",
     [](const VfSnapshot& v) { return v.status ? std::optional<double>(v.status->eccUncorrected) : std::nullopt; }},
    {"aismi_vf_resets_total", Kind::Counter, "Function-level resets the VF went through, as the card counts them.", "",
     [](const VfSnapshot& v) { return v.status ? std::optional<double>(v.status->resetCount) : std::nullopt; }},
    {"aismi_vf_hung", Kind::Gauge, "1 when the VF is hung: it says so, or its workload stopped making progress.", "",
     [](const VfSnapshot& v) { return v.status ? std::optional<double>(flag(v.hung())) : std::nullopt; }},
    {"aismi_vf_quarantined", Kind::Gauge, "1 when the VF is quarantined (out of use until an operator releases it).", "",
     [](const VfSnapshot& v) -> std::optional<double> { return flag(v.quarantined()); }},
    {"aismi_vf_assigned", Kind::Gauge, "1 when the VF is given to a libvirt domain (docs/libvirt.md).", "",
     [](const VfSnapshot& v) -> std::optional<double> { return flag(v.assignment() == "assigned"); }},
    {"aismi_vf_scrub_pending", Kind::Gauge, "1 while a tenant's data may be in the VF's memory: nobody gets it until it is scrubbed.", "",
     [](const VfSnapshot& v) -> std::optional<double> { return flag(v.scrubPending); }},
    {"aismi_vf_guard_resets_left", Kind::Gauge, "Automatic resets the VF's reset guard still allows in its window.", "",
     [](const VfSnapshot& v) -> std::optional<double> { return v.guardResetsLeft; }},
};

std::string hex4(uint16_t v) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04x", v);
    return buf;
}

std::string stateLabel(std::string_view name, std::string_view value) {
    std::string out;
    appendLabel(out, name, value);
    return out;
}

}  // namespace

MetricsEndpoint::MetricsEndpoint(EventBus& events, const Inventory& inventory, const Poller& poller, Options options)
    : inventory_(inventory), poller_(poller), options_(std::move(options)), events_(allEventTypes().size(), std::array<uint64_t, 3>{}) {
    // Every occurrence, also the repeats the event history only counts.
    events.subscribe<Notice>([this](const Notice& n) { ++events_[static_cast<size_t>(n.type)][static_cast<size_t>(n.severity)]; });
}

HttpReply MetricsEndpoint::handle(const HttpRequest& request) {
    const std::string_view target = request.target;
    const std::string_view path = target.substr(0, target.find('?'));
    if (path == "/metrics") {
        const auto format = metrics::negotiate(request.accept);
        const auto started = std::chrono::steady_clock::now();
        const int64_t nowUs = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
        HttpReply reply{200, std::string(metrics::contentType(format)), render(format, nowUs)};
        ++scrapes_;
        scrapeSeconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        return reply;
    }
    if (path == "/")
        return {200, "text/html; charset=utf-8",
                "<!DOCTYPE html>\n<html><head><title>aismid</title></head><body><h1>aismid</h1>"
                "<p><a href=\"/metrics\">Metrics</a> (docs/metrics.md)</p></body></html>\n"};
    return {404, "text/plain; charset=utf-8", "not found: aismid serves /metrics\n"};
}

std::string MetricsEndpoint::render(metrics::Format format, int64_t nowUs) {
    size_t vfs = 0;
    for (unsigned i = 0; i < inventory_.size(); ++i) vfs += inventory_.snapshot(i).vfs.size();
    Exposition out(format, 16384 + inventory_.size() * 6000 + vfs * 3000);
    renderCards(out, nowUs);
    renderVfs(out);
    renderDaemon(out);
    return std::move(out).finish();
}

void MetricsEndpoint::renderCards(Exposition& out, int64_t nowUs) const {
    std::vector<std::string> labels(inventory_.size());
    for (unsigned i = 0; i < inventory_.size(); ++i) {
        const CardInfo& info = inventory_.snapshot(i).info;
        appendLabel(labels[i], "card", std::to_string(i));
        appendLabel(labels[i], "pci_address", info.pciAddress);
        appendLabel(labels[i], "serial", info.serial);
    }
    const auto card = [this](unsigned i) -> const CardSnapshot& { return inventory_.snapshot(i); };

    out.family("aismi_card_info", Kind::Info, "The card: name, driver, IDs, mode and firmware (always 1).");
    for (unsigned i = 0; i < inventory_.size(); ++i) {
        const CardSnapshot& c = card(i);
        std::string extra;
        appendLabel(extra, "name", c.info.name);
        appendLabel(extra, "driver", c.driver);
        appendLabel(extra, "vendor_id", hex4(c.info.vendorId));
        appendLabel(extra, "device_id", hex4(c.info.deviceId));
        appendLabel(extra, "mode", c.info.genericMode ? "generic" : "vendor");
        if (c.firmware) appendLabel(extra, "firmware_version", c.firmware->activeVersion());
        out.sample(labels[i], 1.0, extra);
    }
    out.family("aismi_card_health", Kind::Gauge, "1 for the card's health state (ok, unknown, warning, critical, lost), 0 for the others.");
    for (unsigned i = 0; i < inventory_.size(); ++i)
        for (Health h : kHealthStates) out.sample(labels[i], flag(card(i).health == h), stateLabel("state", healthName(h)));
    out.family("aismi_card_thermal", Kind::Gauge, "1 for where the temperature stands (normal, warning, critical), 0 for the others.");
    for (unsigned i = 0; i < inventory_.size(); ++i) {
        if (!card(i).telemetry.temperatureC) continue;
        for (Thermal t : kThermalLevels) out.sample(labels[i], flag(card(i).thermal == t), stateLabel("level", thermalName(t)));
    }
    out.family("aismi_card_data_age_seconds", Kind::Gauge, "How old the card's values are: time since its last reading.", "seconds");
    for (unsigned i = 0; i < inventory_.size(); ++i)
        if (card(i).readAtUs > 0) out.sample(labels[i], std::max<int64_t>(0, nowUs - card(i).readAtUs) / 1e6);
    out.family("aismi_card_last_read_timestamp_seconds", Kind::Gauge, "When the card was last read (Unix time).", "seconds");
    for (unsigned i = 0; i < inventory_.size(); ++i)
        if (card(i).readAtUs > 0) out.sample(labels[i], card(i).readAtUs / 1e6);
    for (const CardValue& v : kCardValues) {
        out.family(v.name, v.kind, v.help, v.unit);
        for (unsigned i = 0; i < inventory_.size(); ++i)
            if (const auto value = v.read(card(i))) out.sample(labels[i], *value);
    }
    out.family("aismi_card_firmware_bank_info", Kind::Info, "The firmware version in each bank of the card (always 1).");
    for (unsigned i = 0; i < inventory_.size(); ++i) {
        if (!card(i).firmware) continue;
        for (unsigned bank = 0; bank < 2; ++bank) {
            std::string extra;
            appendLabel(extra, "bank", std::to_string(bank));
            appendLabel(extra, "version", card(i).firmware->banks[bank].version);
            out.sample(labels[i], 1.0, extra);
        }
    }
    out.family("aismi_card_firmware_bank_integrity_ok", Kind::Gauge, "1 when the bank's image passes its integrity check, 0 when it does not.");
    for (unsigned i = 0; i < inventory_.size(); ++i) {
        if (!card(i).firmware) continue;
        for (unsigned bank = 0; bank < 2; ++bank)
            out.sample(labels[i], flag(card(i).firmware->banks[bank].integrityOk), stateLabel("bank", std::to_string(bank)));
    }
    out.family("aismi_card_pcie_aer_errors_total", Kind::Counter, "PCIe AER errors the card reported, by severity.");
    for (unsigned i = 0; i < inventory_.size(); ++i) {
        const auto& aer = card(i).telemetry.aer;
        if (!aer) continue;
        out.sample(labels[i], static_cast<double>(aer->correctable), stateLabel("severity", "correctable"));
        out.sample(labels[i], static_cast<double>(aer->nonfatal), stateLabel("severity", "nonfatal"));
        out.sample(labels[i], static_cast<double>(aer->fatal), stateLabel("severity", "fatal"));
    }
}

void MetricsEndpoint::renderVfs(Exposition& out) const {
    struct Row {
        const VfSnapshot* vf;
        std::string labels;
    };
    std::vector<Row> rows;
    for (unsigned i = 0; i < inventory_.size(); ++i)
        for (const VfSnapshot& vf : inventory_.snapshot(i).vfs) {
            Row r{&vf, {}};
            appendLabel(r.labels, "card", std::to_string(i));
            appendLabel(r.labels, "vf", std::to_string(vf.index));
            appendLabel(r.labels, "pci_address", vf.pciAddress);
            if (options_.ownerLabels && !vf.tenant.empty()) appendLabel(r.labels, "tenant", vf.tenant);
            if (options_.ownerLabels && !vf.domain().empty()) appendLabel(r.labels, "domain", vf.domain());
            rows.push_back(std::move(r));
        }

    out.family("aismi_vf_info", Kind::Info, "The VF: its driver, profile and IOMMU group (always 1).");
    for (const Row& r : rows) {
        std::string extra;
        appendLabel(extra, "driver", r.vf->driver);
        appendLabel(extra, "profile", r.vf->profile);
        if (r.vf->iommuGroup) appendLabel(extra, "iommu_group", std::to_string(*r.vf->iommuGroup));
        out.sample(r.labels, 1.0, extra);
    }
    out.family("aismi_vf_health", Kind::Gauge, "1 for the VF's health state (ok, unknown, warning, critical, lost), 0 for the others.");
    for (const Row& r : rows)
        for (Health h : kHealthStates) out.sample(r.labels, flag(r.vf->health == h), stateLabel("state", healthName(h)));
    out.family("aismi_vf_state", Kind::Gauge, "1 for the VF's state (idle, running, hung, resetting, error), 0 for the others.");
    for (const Row& r : rows) {
        const auto state = r.vf->state();
        if (!state) continue;
        for (VfState s : kVfStates) out.sample(r.labels, flag(*state == s), stateLabel("state", vfStateName(s)));
    }
    for (const VfValue& v : kVfValues) {
        out.family(v.name, v.kind, v.help, v.unit);
        for (const Row& r : rows)
            if (const auto value = v.read(*r.vf)) out.sample(r.labels, *value);
    }
}

void MetricsEndpoint::renderDaemon(Exposition& out) const {
    std::string build;
    appendLabel(build, "version", options_.version);
    appendLabel(build, "backend", options_.backend);
    out.family("aismi_build_info", Kind::Info, "aismid's version and backend (always 1).");
    out.sample(build, 1.0);
    out.family("aismi_cards", Kind::Gauge, "Cards aismid manages.");
    out.sample({}, static_cast<double>(inventory_.size()));
    out.family("aismi_poll_interval_seconds", Kind::Gauge, "How often aismid reads every card.", "seconds");
    out.sample({}, poller_.intervalMs() / 1000.0);
    out.family("aismi_card_read_duration_seconds", Kind::Summary, "Card reads (polls and refreshes): their number and time together.", "seconds");
    const PollStats& polls = poller_.stats();
    out.sample({}, polls.readSeconds, {}, "_sum");
    out.sample({}, polls.reads, {}, "_count");
    out.family("aismi_card_read_failures_total", Kind::Counter, "Card reads that failed.");
    out.sample({}, polls.failures);
    if (options_.storeBytes)
        if (const auto bytes = options_.storeBytes()) {
            out.family("aismi_state_store_bytes", Kind::Gauge, "What the state store's content takes (its SQLite pages in use).", "bytes");
            out.sample({}, *bytes);
        }
    out.family("aismi_scrape_duration_seconds", Kind::Summary, "Renderings of /metrics before this one: their number and time together.", "seconds");
    out.sample({}, scrapeSeconds_, {}, "_sum");
    out.sample({}, scrapes_, {}, "_count");
    out.family("aismi_events_total", Kind::Counter, "Events by type and severity, every occurrence (docs/dbus-api.md lists the types).");
    for (EventType t : allEventTypes()) {
        std::string labels;
        appendLabel(labels, "type", eventTypeName(t));
        for (Severity s : kSeverities)
            out.sample(labels, events_[static_cast<size_t>(t)][static_cast<size_t>(s)], stateLabel("severity", severityName(s)));
    }
    if (!http_) return;
    out.family("aismi_http_replies_total", Kind::Counter, "HTTP replies by status code.");
    for (const auto& [code, n] : http_->replies) out.sample(stateLabel("code", std::to_string(code)), n);
    out.family("aismi_http_connections_open", Kind::Gauge, "HTTP connections open now.");
    out.sample({}, uint64_t{http_->open});
    out.family("aismi_http_connections_accepted_total", Kind::Counter, "HTTP connections accepted.");
    out.sample({}, http_->accepted);
    out.family("aismi_http_connections_evicted_total", Kind::Counter,
               "HTTP connections closed to stay within the connection limit (the oldest one still waiting for its request).");
    out.sample({}, http_->evicted);
    out.family("aismi_http_connections_timed_out_total", Kind::Counter, "HTTP connections closed because a request or a reply took too long.");
    out.sample({}, http_->timedOut);
    out.family("aismi_http_requests_malformed_total", Kind::Counter, "HTTP requests refused as malformed or too large.");
    out.sample({}, http_->malformed);
}

}  // namespace aismi
