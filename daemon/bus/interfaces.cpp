#include "interfaces.hpp"

#include "jobs.hpp"
#include "snapshot.hpp"

namespace aismi::bus {
namespace {

// Microseconds since the epoch, systemd's convention for timestamps on the bus; 0 for never.
uint64_t usec(std::optional<int64_t> unixSeconds) { return unixSeconds ? static_cast<uint64_t>(*unixSeconds) * 1'000'000u : 0; }

std::string vfStateText(const VfSnapshot& v) {
    auto s = v.state();
    return s ? std::string(vfStateName(*s)) : "unknown";
}

template <class T>
std::optional<T> fromStatus(const VfSnapshot& v, T VfStatus::*field) {
    return v.status ? std::optional<T>((*v.status).*field) : std::nullopt;
}

std::vector<std::string> bankField(const CardSnapshot& c, std::string (*field)(const FirmwareBank&)) {
    std::vector<std::string> out;
    if (!c.firmware) return out;
    for (const auto& bank : c.firmware->banks) out.push_back(field(bank));
    return out;
}


template <class T>
std::optional<T> linkField(const CardSnapshot& c, T LinkState::*field) {
    return c.telemetry.link ? std::optional<T>((*c.telemetry.link).*field) : std::nullopt;
}

std::optional<uint64_t> aerField(const CardSnapshot& c, uint64_t AerCounters::*field) {
    return c.telemetry.aer ? std::optional<uint64_t>((*c.telemetry.aer).*field) : std::nullopt;
}

std::optional<uint32_t> capacityField(const CardSnapshot& c, uint32_t Resources::*field) {
    return c.capacity ? std::optional<uint32_t>((*c.capacity).*field) : std::nullopt;
}

// A row with a cheap sameness test (see PropertyRow::same).
template <class Subject, class Same>
PropertyRow<Subject> withSame(PropertyRow<Subject> row, Same same) {
    row.same = same;
    return row;
}

}  // namespace

const PropertyTable<ManagerState>& managerProperties() {
    using M = ManagerState;
    static const PropertyTable<M> t{
        property<M>("Version", [](const M& m) { return m.version; }, Change::Const),
        property<M>("Backend", [](const M& m) { return m.backend; }, Change::Const),
        property<M>("Cards", [](const M& m) { return m.cards; }),
        property<M>("PollIntervalMs", [](const M& m) { return m.pollIntervalMs; }),
        property<M>("MetricsAddress", [](const M& m) { return m.metricsAddress; }, Change::Const),
        property<M>("LibvirtUri", [](const M& m) { return m.libvirtUri; }, Change::Const),
        property<M>("AutoReset", [](const M& m) { return m.autoReset; }),
        property<M>("ResetGuardResets", [](const M& m) { return m.resetGuardResets; }),
        property<M>("ResetGuardWindowSeconds", [](const M& m) { return m.resetGuardWindowSeconds; }),
        property<M>("AutoCardReset", [](const M& m) { return m.autoCardReset; }),
        property<M>("CardResetBudget", [](const M& m) { return m.cardResetBudget; }),
        property<M>("CardResetWindowSeconds", [](const M& m) { return m.cardResetWindowSeconds; }),
    };
    return t;
}

const PropertyTable<CardSnapshot>& cardProperties() {
    using C = CardSnapshot;
    static const PropertyTable<C> t{
        property<C>("Index", [](const C& c) { return uint32_t{c.info.index}; }, Change::Const),
        property<C>("Name", [](const C& c) { return c.info.name; }),
        property<C>("PciAddress", [](const C& c) { return c.info.pciAddress; }),
        property<C>("Serial", [](const C& c) { return c.info.serial; }),
        property<C>("VendorId", [](const C& c) { return c.info.vendorId; }),
        property<C>("DeviceId", [](const C& c) { return c.info.deviceId; }),
        property<C>("GenericMode", [](const C& c) { return c.info.genericMode; }),
        property<C>("Driver", [](const C& c) { return c.driver; }),
        property<C>("NumaNode", [](const C& c) { return static_cast<int32_t>(c.info.numaNode); }),
        property<C>("FirmwareVersion", [](const C& c) { return c.firmware ? c.firmware->activeVersion() : std::string(); }),
        property<C>("FirmwareActiveBank", [](const C& c) { return c.firmware ? std::optional<uint32_t>(c.firmware->activeBank) : std::nullopt; }),
        property<C>("FirmwareBankVersions", [](const C& c) { return bankField(c, [](const FirmwareBank& b) { return b.version; }); }),
        property<C>("FirmwareBankIntegrity", [](const C& c) { return bankField(c, [](const FirmwareBank& b) { return std::string(b.integrityOk ? "ok" : "bad"); }); }),
        property<C>("FirmwareBankHashes", [](const C& c) { return bankField(c, [](const FirmwareBank& b) { return b.sha256; }); }),
        property<C>("FirmwareBootBank", [](const C& c) {
            return c.firmware && c.firmware->updatable ? std::optional<uint32_t>(c.firmware->bootBank) : std::nullopt;
        }),
        property<C>("FirmwareLastTry", [](const C& c) { return c.firmware && c.firmware->updatable ? std::string(firmwareTryName(c.firmware->lastTry)) : std::string(); }),
        property<C>("FirmwareSelfTest", [](const C& c) {
            return c.firmware && c.firmware->selftestOk ? std::string(*c.firmware->selftestOk ? "pass" : "fail") : std::string();
        }),
        property<C>("Health", [](const C& c) { return healthName(c.health); }),
        property<C>("HealthReasons", [](const C& c) { return c.healthReasons; }),
        property<C>("ReadTimestamp", [](const C& c) { return static_cast<uint64_t>(c.readAtUs); }, Change::Silent),
        property<C>("TemperatureC", [](const C& c) { return c.telemetry.temperatureC; }),
        property<C>("TemperatureCriticalC", [](const C& c) { return c.telemetry.temperatureCritC; }),
        property<C>("PowerW", [](const C& c) { return c.telemetry.powerW; }),
        property<C>("PowerCapW", [](const C& c) { return c.telemetry.powerCapW; }),
        property<C>("UtilizationPercent", [](const C& c) { return c.telemetry.utilizationPct; }),
        property<C>("MemoryUsedMiB", [](const C& c) { return c.telemetry.memoryUsedMib; }),
        property<C>("MemoryTotalMiB", [](const C& c) { return c.telemetry.memoryTotalMib; }),
        property<C>("ComputeUnits", [](const C& c) { return capacityField(c, &Resources::computeUnits); }),
        property<C>("Engines", [](const C& c) { return capacityField(c, &Resources::engines); }),
        property<C>("ComputeOversubscription", [](const C& c) { return c.policy.compute / 100.0; }),
        property<C>("MemoryOversubscription", [](const C& c) { return c.policy.memory / 100.0; }),
        property<C>("EccCorrected", [](const C& c) { return c.telemetry.eccCorrected; }),
        property<C>("EccUncorrected", [](const C& c) { return c.telemetry.eccUncorrected; }),
        property<C>("AerCorrectable", [](const C& c) { return aerField(c, &AerCounters::correctable); }),
        property<C>("AerNonFatal", [](const C& c) { return aerField(c, &AerCounters::nonfatal); }),
        property<C>("AerFatal", [](const C& c) { return aerField(c, &AerCounters::fatal); }),
        property<C>("LinkSpeed", [](const C& c) { return linkField(c, &LinkState::speed).value_or(""); }),
        property<C>("LinkWidth", [](const C& c) { return linkField(c, &LinkState::width); }),
        property<C>("LinkMaxSpeed", [](const C& c) { return linkField(c, &LinkState::maxSpeed).value_or(""); }),
        property<C>("LinkMaxWidth", [](const C& c) { return linkField(c, &LinkState::maxWidth); }),
        property<C>("VfTotal", [](const C& c) { return c.vfTotal; }),
        property<C>("VfEnabled", [](const C& c) { return c.vfEnabled(); }),
        withSame(property<C>("VirtualFunctions",
                             [](const C& c) {
                                 std::vector<sdbus::ObjectPath> paths;
                                 for (const auto& vf : c.vfs) paths.emplace_back(vfPath(c.info.index, vf.index));
                                 return paths;
                             }),
                 [](const C& a, const C& b) { return a.info.index == b.info.index && a.vfs.size() == b.vfs.size(); }),
    };
    return t;
}

const PropertyTable<VfSnapshot>& vfProperties() {
    using V = VfSnapshot;
    static const PropertyTable<V> t{
        property<V>("Card", [](const V& v) { return sdbus::ObjectPath(cardPath(v.card)); }, Change::Const),
        property<V>("CardIndex", [](const V& v) { return uint32_t{v.card}; }, Change::Const),
        property<V>("Index", [](const V& v) { return uint32_t{v.index}; }, Change::Const),
        property<V>("PciAddress", [](const V& v) { return v.pciAddress; }),
        property<V>("State", [](const V& v) { return vfStateText(v); }),
        property<V>("Health", [](const V& v) { return healthName(v.health); }),
        property<V>("Driver", [](const V& v) { return v.driver; }),
        property<V>("IommuGroup", [](const V& v) { return v.iommuGroup ? static_cast<int32_t>(*v.iommuGroup) : int32_t{-1}; }),
        property<V>("ComputeUnits", [](const V& v) { return v.resources ? std::optional<uint32_t>(v.resources->computeUnits) : std::nullopt; }),
        property<V>("MemoryMiB", [](const V& v) { return v.resources ? std::optional<uint64_t>(v.resources->memoryMib) : std::nullopt; }),
        property<V>("Engines", [](const V& v) { return v.resources ? std::optional<uint32_t>(v.resources->engines) : std::nullopt; }),
        property<V>("BurstComputeUnits", [](const V& v) { return v.resources ? std::optional<uint32_t>(v.resources->burstCap()) : std::nullopt; }),
        property<V>("Weight", [](const V& v) { return v.resources ? std::optional<uint32_t>(v.resources->weight) : std::nullopt; }),
        property<V>("ComputeShare", [](const V& v) { return fromStatus(v, &VfStatus::computeShare); }),
        property<V>("Throttled", [](const V& v) { return v.status && v.status->throttled; }),
        property<V>("UtilizationPercent", [](const V& v) { return fromStatus(v, &VfStatus::utilizationPct); }),
        property<V>("MemoryUsedMiB", [](const V& v) { return fromStatus(v, &VfStatus::memoryUsedMib); }),
        property<V>("EccCorrected", [](const V& v) { return fromStatus(v, &VfStatus::eccCorrected); }),
        property<V>("EccUncorrected", [](const V& v) { return fromStatus(v, &VfStatus::eccUncorrected); }),
        property<V>("ResetCount", [](const V& v) { return fromStatus(v, &VfStatus::resetCount); }),
        property<V>("Progress", [](const V& v) { return fromStatus(v, &VfStatus::progress); }),
        property<V>("Profile", [](const V& v) { return v.profile; }),
        property<V>("Tenant", [](const V& v) { return v.tenant; }),
        property<V>("Quarantined", [](const V& v) { return v.quarantined(); }),
        property<V>("QuarantineReason", [](const V& v) { return v.quarantineReason(); }),
        property<V>("HealthReasons", [](const V& v) { return v.healthReasons; }),
        property<V>("GuardResetsLeft", [](const V& v) { return v.guardResetsLeft; }),
        property<V>("Domain", [](const V& v) { return v.domain(); }),
        property<V>("Assignment", [](const V& v) { return v.assignment(); }),
        property<V>("ScrubPending", [](const V& v) { return v.scrubPending; }),
        property<V>("Holder", [](const V& v) { return v.holder(); }),
        property<V>("UsedBy", [](const V& v) { return v.usedBy(); }),
    };
    return t;
}

const PropertyTable<Job>& jobProperties() {
    using J = Job;
    static const PropertyTable<J> t{
        property<J>("Id", [](const J& j) { return static_cast<uint64_t>(j.id); }, Change::Const),
        property<J>("Kind", [](const J& j) { return j.kind; }, Change::Const),
        property<J>("Target", [](const J& j) { return j.target; }, Change::Const),
        property<J>("State", [](const J& j) { return jobStateName(j.state); }),
        property<J>("Progress", [](const J& j) { return uint32_t{j.progress}; }),
        property<J>("Error", [](const J& j) { return j.error; }),
        property<J>("ErrorName", [](const J& j) { return j.errorName; }),
        property<J>("StartedAt", [](const J& j) { return usec(j.startedAt); }, Change::Const),
        property<J>("FinishedAt", [](const J& j) { return usec(j.finishedAt); }),
    };
    return t;
}

}  // namespace aismi::bus
