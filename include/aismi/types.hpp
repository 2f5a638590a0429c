// The vocabulary of aismi: plain value types that libmgmt returns, the daemon keeps in its
// snapshots and the store persists. No behaviour beyond naming and comparing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace aismi {

/// PCIe Advanced Error Reporting counters of one function (sysfs aer_dev_*).
struct AerCounters {
    uint64_t correctable = 0;
    uint64_t nonfatal = 0;
    uint64_t fatal = 0;
    bool operator==(const AerCounters&) const = default;
};

/// What a VF is given of the card (vendor ABI `vf<K>/resources`), or a card's capacity.
/// computeUnits are guaranteed; when the card has idle compute a busy VF may use up to its
/// burst cap, idle compute being shared by weight (docs/oversubscription.md).
struct Resources {
    uint32_t computeUnits = 0;
    uint64_t memoryMib = 0;
    uint32_t engines = 0;
    uint32_t burstUnits = 0;  // the burst cap; below computeUnits (0: not given) it is computeUnits
    uint32_t weight = 1;      // share of idle compute when VFs burst together

    uint32_t burstCap() const { return burstUnits > computeUnits ? burstUnits : computeUnits; }
    /// Same shape: a burst cap not given equals one of computeUnits.
    bool operator==(const Resources& o) const {
        return computeUnits == o.computeUnits && memoryMib == o.memoryMib && engines == o.engines && burstCap() == o.burstCap() &&
               weight == o.weight;
    }
};

/// A card's oversubscription policy, ratios in hundredths (100: none; 150: 1.5 times the card).
struct Oversubscription {
    uint32_t compute = 100;  // the VFs' burst caps together, relative to the card's compute units
    uint32_t memory = 100;   // the memory the VFs are given together, relative to the card's
    bool operator==(const Oversubscription&) const = default;

    static constexpr uint32_t kMin = 100;
    static constexpr uint32_t kMaxCompute = 1600;
    static constexpr uint32_t kMaxMemory = 400;  // the simulated card pages at most 4x its memory
};

enum class VfState { Idle, Running, Hung, Resetting, Error };
std::string_view vfStateName(VfState state);

struct VfStatus {
    VfState state = VfState::Idle;
    uint64_t progress = 0;  // work completed by the VF's workload; stalls when the VF stops
    uint32_t utilizationPct = 0;
    uint64_t memoryUsedMib = 0;
    uint64_t eccCorrected = 0;
    uint64_t eccUncorrected = 0;
    uint64_t resetCount = 0;
    double computeShare = 0;  // compute units the VF's workload gets now (its guarantee, more when bursting)
    bool throttled = false;   // it wants more than it gets: the card's compute is oversubscribed
    bool operator==(const VfStatus&) const = default;
};

struct LinkState {
    std::string speed;  // "16.0 GT/s PCIe" as the kernel reports it
    unsigned width = 0;
    std::string maxSpeed;
    unsigned maxWidth = 0;
    bool degraded() const { return width < maxWidth || speed != maxSpeed; }
    bool operator==(const LinkState&) const = default;
};

/// Card telemetry; a field is empty when neither hwmon nor the vendor ABI provides it.
struct CardTelemetry {
    std::optional<double> temperatureC;
    std::optional<double> temperatureCritC;
    std::optional<double> powerW;
    std::optional<double> powerCapW;
    std::optional<uint32_t> utilizationPct;
    std::optional<uint64_t> memoryUsedMib;
    std::optional<uint64_t> memoryTotalMib;
    std::optional<uint64_t> eccCorrected;
    std::optional<uint64_t> eccUncorrected;
    std::optional<LinkState> link;
    std::optional<AerCounters> aer;
};

struct FirmwareBank {
    std::string version;  // "" when the bank is erased
    bool integrityOk = false;
    std::string sha256;   // hex SHA-256 of the image payload the bank holds; "" when not reported
    bool operator==(const FirmwareBank&) const = default;
};

/// How the last one-shot try of a bank ended (vendor ABI `firmware`, `last_try`).
enum class FirmwareTry { None, Booted, FellBack };
/// "none", "booted", "fell-back": the vendor ABI's words, also on the bus.
std::string_view firmwareTryName(FirmwareTry t);
std::optional<FirmwareTry> firmwareTryFromName(std::string_view name);

/// A card's two firmware banks (docs/driver-abi.md, "Firmware banks").
struct FirmwareState {
    FirmwareBank banks[2];
    unsigned activeBank = 0;          // the bank the card runs now
    unsigned bootBank = 0;            // committed: the bank a reset or power-up boots
    std::optional<unsigned> tryBank;  // armed: the bank the next reset boots, once
    FirmwareTry lastTry = FirmwareTry::None;
    std::optional<bool> selftestOk;   // the running firmware's power-on self-test, when reported
    /// Whether the card reports the A/B update ABI (boot bank, try, hashes); older cards
    /// report only versions, integrity and the active bank.
    bool updatable = false;
    const std::string& activeVersion() const { return banks[activeBank].version; }
    bool operator==(const FirmwareState&) const = default;
};

}  // namespace aismi
