#include "sim_model.hpp"

#include <aismi/firmware_image.hpp>
#include <aismi/text.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <sstream>

namespace aismi::sim {
namespace {

constexpr unsigned kMaxCards = 32;
constexpr unsigned kMaxTotalVfs = 256;  // the card's SR-IOV capability limit
constexpr int kFormat = 1;
constexpr uint64_t kFirmwareReserveMib = 512;
constexpr uint64_t kMemoryOvercommitLimit = 4;  // VFs may be given up to 4x the card's memory
constexpr uint32_t kMaxWeight = 1000;
constexpr double kIdlePowerW = 60, kPowerPerUtilW = 2.4;
constexpr double kAmbientC = 35, kDegreesPerWatt = 0.15, kThermalFaultC = 45;

struct FaultRow {
    Fault fault;
    std::string_view name;
    std::string_view description;
    bool vf;
    bool card;
};

constexpr FaultRow kFaults[] = {
    {Fault::VfHang, "vf-hang", "the VF stops making progress until it is reset", true, false},
    {Fault::FlrFail, "flr-fail", "a function level reset of the function fails with EIO", true, true},
    {Fault::FlrTimeout, "flr-timeout", "a function level reset never completes and times out", true, true},
    {Fault::EccCorrectable, "ecc-correctable", "one corrected ECC error (counted, no other effect)", true, true},
    {Fault::EccUncorrectable, "ecc-uncorrectable", "one uncorrectable ECC error; a VF stops until reset", true, true},
    {Fault::Thermal, "thermal", "the card runs 45 C hotter and throttles its VFs to half speed", false, true},
    {Fault::LinkDegrade, "link-degrade", "the PCIe link trains down to 8.0 GT/s x4", false, true},
    {Fault::DeviceLost, "device-lost", "the card stops answering: config reads all ones, vendor files fail", false, true},
    {Fault::FirmwareCorrupt, "fw-corrupt", "the inactive firmware bank fails its integrity check", false, true},
    {Fault::PowerCut, "power-cut", "the card loses power now (a flash write stops where it is); power-cycle brings it back", false, true},
    {Fault::FirmwareWriteError, "fw-write-error", "the next firmware upload fails while programming (read-write-error)", false, true},
    {Fault::FlashWearout, "flash-wearout", "the next firmware upload finds the flash worn out (flash-wearout)", false, true},
    {Fault::FirmwareNoBoot, "fw-no-boot", "the next firmware image written does not boot (the card falls back)", false, true},
    {Fault::FirmwareUnhealthy, "fw-unhealthy", "the next firmware image written boots but fails its self-test", false, true},
};

constexpr int64_t kPrepareMs = 50;  // the device readying the inactive bank for an upload

std::string_view bootName(FirmwareBoot b) {
    switch (b) {
    case FirmwareBoot::Ok: return "ok";
    case FirmwareBoot::NoBoot: return "no-boot";
    case FirmwareBoot::Unhealthy: return "unhealthy";
    }
    return "ok";
}

std::optional<FirmwareBoot> bootFromName(std::string_view n) {
    for (auto b : {FirmwareBoot::Ok, FirmwareBoot::NoBoot, FirmwareBoot::Unhealthy})
        if (bootName(b) == n) return b;
    return std::nullopt;
}


const FaultRow& row(Fault f) { return kFaults[static_cast<size_t>(f)]; }

std::string str(const std::string& s) { return s.empty() ? "-" : s; }
std::string unstr(const std::string& s) { return s == "-" ? "" : s; }

class Writer {
public:
    template <class T>
    Writer& put(std::string_view key, const T& value) {
        out_ << key << ' ' << value << '\n';
        return *this;
    }
    std::string str() const { return out_.str(); }

private:
    std::ostringstream out_;
};

// Reads typed fields out of parsed key/value lines, keeping the first error.
class Reader {
public:
    Reader(const text::KeyValues& kv, std::string_view what) : kv_(kv), what_(what) {}
    uint64_t u64(const std::string& key) {
        if (error_) return 0;
        auto v = text::requireUnsigned(kv_, key, what_);
        if (!v) return error_ = std::move(v).error(), 0;
        return *v;
    }
    // Times in ns: never negative, and within int64_t so that time arithmetic cannot overflow.
    int64_t i64(const std::string& key) {
        uint64_t v = u64(key);
        if (!error_ && v > static_cast<uint64_t>(INT64_MAX))
            error_ = makeError(Errc::MalformedData, std::string(what_) + ": " + key + " is out of range (at most " + std::to_string(INT64_MAX) + ")");
        return error_ ? 0 : static_cast<int64_t>(v);
    }
    unsigned u32(const std::string& key) {
        uint64_t v = u64(key);
        if (!error_ && v > UINT32_MAX) error_ = makeError(Errc::MalformedData, std::string(what_) + ": " + key + " is out of range");
        return static_cast<unsigned>(v);
    }
    bool flag(const std::string& key) {
        uint64_t v = u64(key);
        if (!error_ && v > 1) error_ = makeError(Errc::MalformedData, std::string(what_) + ": " + key + " must be 0 or 1");
        return v == 1;
    }
    std::string string(const std::string& key) {
        if (error_) return {};
        auto v = text::requireString(kv_, key, what_);
        if (!v) return error_ = std::move(v).error(), std::string();
        return unstr(*v);
    }
    double real(const std::string& key) {
        if (error_) return 0;
        auto s = text::requireString(kv_, key, what_);
        if (!s) return error_ = std::move(s).error(), 0;
        auto v = text::parseDouble(*s, std::string(what_) + ": " + key);
        if (!v) return error_ = std::move(v).error(), 0;
        return *v;
    }
    FirmwareBoot boot(const std::string& key) {
        const std::string v = string(key);
        if (error_) return FirmwareBoot::Ok;
        auto b = bootFromName(v);
        if (!b) error_ = makeError(Errc::MalformedData, std::string(what_) + ": " + key + " must be ok, no-boot or unhealthy");
        return b.value_or(FirmwareBoot::Ok);
    }
    std::optional<Error>& error() { return error_; }
    bool has(const std::string& key) const { return kv_.find(key) != kv_.end(); }

private:
    const text::KeyValues& kv_;
    std::string_view what_;
    std::optional<Error> error_;
};

void writeFunction(Writer& w, const std::string& p, const SimFunction& f, bool vf) {
    w.put(p + "driver", str(f.driver))
        .put(p + "driver_override", str(f.driverOverride))
        .put(p + "reset_method", str(f.resetMethod))
        .put(p + "flr_fail", f.flrFail)
        .put(p + "flr_timeout", f.flrTimeout)
        .put(p + "resetting_until_ns", f.resettingUntilNs)
        .put(p + "reset_count", f.resetCount)
        .put(p + "aer_correctable", f.aer.correctable)
        .put(p + "aer_nonfatal", f.aer.nonfatal)
        .put(p + "aer_fatal", f.aer.fatal);
    if (!vf) return;
    w.put(p + "compute_units", f.resources.computeUnits)
        .put(p + "memory_mib", f.resources.memoryMib)
        .put(p + "engines", f.resources.engines)
        .put(p + "burst_units", f.resources.burstCap())
        .put(p + "weight", f.resources.weight)
        .put(p + "load", f.loadOn)
        .put(p + "hung", f.hung)
        .put(p + "errored", f.errored)
        .put(p + "progress", f.progressBase)
        .put(p + "ecc_corrected", f.eccCorrected)
        .put(p + "ecc_uncorrected", f.eccUncorrected)
        .put(p + "memory", str(f.memory));
}

SimFunction readFunction(Reader& r, const std::string& p, bool vf) {
    SimFunction f;
    f.driver = r.string(p + "driver");
    f.driverOverride = r.string(p + "driver_override");
    f.resetMethod = r.string(p + "reset_method");
    f.flrFail = r.flag(p + "flr_fail");
    f.flrTimeout = r.flag(p + "flr_timeout");
    f.resettingUntilNs = r.i64(p + "resetting_until_ns");
    f.resetCount = r.u64(p + "reset_count");
    f.aer = AerCounters{r.u64(p + "aer_correctable"), r.u64(p + "aer_nonfatal"), r.u64(p + "aer_fatal")};
    if (!vf) return f;
    f.resources = Resources{r.u32(p + "compute_units"), r.u64(p + "memory_mib"), r.u32(p + "engines")};
    // Absent in state directories written before burst caps existed.
    if (r.has(p + "burst_units")) f.resources.burstUnits = r.u32(p + "burst_units");
    if (r.has(p + "weight")) f.resources.weight = r.u32(p + "weight");
    f.loadOn = r.flag(p + "load");
    f.hung = r.flag(p + "hung");
    f.errored = r.flag(p + "errored");
    f.progressBase = r.u64(p + "progress");
    f.eccCorrected = r.u64(p + "ecc_corrected");
    f.eccUncorrected = r.u64(p + "ecc_uncorrected");
    // Absent in state directories written before VF memory was modelled.
    if (r.has(p + "memory")) f.memory = r.string(p + "memory");
    if (!f.memory.empty() && !validMemoryPattern(f.memory)) f.memory.clear();
    return f;
}

}  // namespace

std::string_view faultName(Fault f) { return row(f).name; }
std::string_view faultDescription(Fault f) { return row(f).description; }
bool faultAppliesToVf(Fault f) { return row(f).vf; }
bool faultAppliesToCard(Fault f) { return row(f).card; }

std::optional<Fault> faultFromName(std::string_view name) {
    for (const auto& r : kFaults)
        if (r.name == name) return r.fault;
    return std::nullopt;
}

const std::vector<Fault>& allFaults() {
    static const std::vector<Fault> all = [] {
        std::vector<Fault> v;
        for (const auto& r : kFaults) v.push_back(r.fault);
        return v;
    }();
    return all;
}

Result<void> SimConfig::validate() const {
    const auto bad = [](std::string m) { return makeError(Errc::ConfigInvalid, "simulated card: " + std::move(m)); };
    if (cards < 1 || cards > kMaxCards) return bad("cards must be 1 to " + std::to_string(kMaxCards) + ", not " + std::to_string(cards));
    if (totalVfs < 1 || totalVfs > kMaxTotalVfs)
        return bad("TotalVFs must be 1 to " + std::to_string(kMaxTotalVfs) + ", not " + std::to_string(totalVfs));
    if (capacity.computeUnits < totalVfs)
        return bad("compute units (" + std::to_string(capacity.computeUnits) + ") must be at least TotalVFs (" +
                   std::to_string(totalVfs) + ") so every VF can get one");
    if (capacity.memoryMib < totalVfs) return bad("memory (MiB) must be at least TotalVFs");
    if (capacity.engines < 1) return bad("engines must be at least 1");
    if (flrMs > 60000 || flrTimeoutMs > 600000) return bad("FLR timings are limited to 60 s (FLR) and 600 s (timeout)");
    if (vfEnableUs > 100000) return bad("the time to enable one VF is limited to 100000 us");
    if (vfProvisionUs > 100000) return bad("the time to provision one VF is limited to 100000 us");
    if (!(timeFactor > 0 && timeFactor <= 1000)) return bad("time factor must be above 0 and at most 1000");
    if (flashKibPerS < 1 || flashKibPerS > 16777216) return bad("the flash bandwidth must be 1 to 16777216 KiB/s");
    if (flashProgramMs > 600000) return bad("the flash programming time is limited to 600000 ms");
    if (flashBankKib < 1 || flashBankKib > 262144) return bad("a flash bank holds 1 to 262144 KiB");
    if (vendorId == 0xffff || vendorId == 0) return bad("vendor ID 0x0000/0xffff are not valid PCI vendor IDs");
    return {};
}

std::string SimConfig::serialize() const {
    Writer w;
    w.put("format", kFormat)
        .put("cards", cards)
        .put("total_vfs", totalVfs)
        .put("compute_units", capacity.computeUnits)
        .put("memory_mib", capacity.memoryMib)
        .put("engines", capacity.engines)
        .put("flr_ms", flrMs)
        .put("flr_timeout_ms", flrTimeoutMs)
        .put("vf_enable_us", vfEnableUs)
        .put("vf_provision_us", vfProvisionUs)
        .put("flash_kib_per_s", flashKibPerS)
        .put("flash_program_ms", flashProgramMs)
        .put("flash_bank_kib", flashBankKib)
        .put("time_factor", timeFactor)
        .put("vendor_id", vendorId)
        .put("pf_device_id", pfDeviceId)
        .put("vf_device_id", vfDeviceId);
    return w.str();
}

Result<SimConfig> SimConfig::parse(std::string_view content, std::string_view what) {
    auto kv = text::parseKeyValues(content, what);
    if (!kv) return std::move(kv).error();
    Reader r(*kv, what);
    if (r.u64("format") != kFormat && !r.error())
        return makeError(Errc::MalformedData, std::string(what) + ": unknown format (this aismi-sim understands format 1)");
    SimConfig c;
    c.cards = r.u32("cards");
    c.totalVfs = r.u32("total_vfs");
    c.capacity = Resources{r.u32("compute_units"), r.u64("memory_mib"), r.u32("engines")};
    c.flrMs = r.u32("flr_ms");
    c.flrTimeoutMs = r.u32("flr_timeout_ms");
    if (r.has("vf_enable_us")) c.vfEnableUs = r.u32("vf_enable_us");  // absent in older state directories
    if (r.has("vf_provision_us")) c.vfProvisionUs = r.u32("vf_provision_us");
    if (r.has("flash_kib_per_s")) c.flashKibPerS = r.u32("flash_kib_per_s");  // absent before firmware updates
    if (r.has("flash_program_ms")) c.flashProgramMs = r.u32("flash_program_ms");
    if (r.has("flash_bank_kib")) c.flashBankKib = r.u32("flash_bank_kib");
    c.timeFactor = r.real("time_factor");
    const auto id16 = [&](const char* key) {
        unsigned v = r.u32(key);
        if (!r.error() && v > 0xffff) r.error() = makeError(Errc::MalformedData, std::string(what) + ": " + key + " is not a 16-bit ID");
        return static_cast<uint16_t>(v);
    };
    c.vendorId = id16("vendor_id");
    c.pfDeviceId = id16("pf_device_id");
    c.vfDeviceId = id16("vf_device_id");
    if (r.error()) return std::move(*r.error());
    if (auto v = c.validate(); !v) return std::move(v).error().context(what);
    return c;
}

SimCard SimCard::fresh(const SimConfig& config, unsigned index) {
    SimCard c;
    c.index = index;
    char serial[32];
    std::snprintf(serial, sizeof serial, "AIS%08u", 24110000u + index);
    c.serial = serial;
    c.pf.driver = "aismi";
    // The factory images' hashes stand for payloads no test has: what matters is that they
    // are reported and compared, as a real card's are.
    c.firmware.banks[0] = FirmwareBank{"1.4.2", true, std::string(64, 'a')};
    c.firmware.banks[1] = FirmwareBank{"1.3.7", true, std::string(64, 'b')};
    c.firmware.activeBank = 0;
    c.firmware.bootBank = 0;
    c.firmware.selftestOk = true;
    c.firmware.updatable = true;
    (void)config;
    return c;
}

std::string SimCard::serialize() const {
    Writer w;
    w.put("format", kFormat)
        .put("serial", serial)
        .put("settled_ns", settledNs)
        .put("thermal", thermal)
        .put("link_degraded", linkDegraded)
        .put("device_lost", deviceLost)
        .put("ecc_corrected", eccCorrected)
        .put("ecc_uncorrected", eccUncorrected);
    for (int b = 0; b < 2; ++b) {
        const std::string p = "fw_bank" + std::to_string(b) + "_";
        w.put(p + "version", str(firmware.banks[b].version))
            .put(p + "integrity", firmware.banks[b].integrityOk ? "ok" : "bad")
            .put(p + "sha256", str(firmware.banks[b].sha256))
            .put(p + "boot", bootName(bankBoot[b]));
    }
    w.put("fw_active_bank", firmware.activeBank)
        .put("fw_boot_bank", firmware.bootBank)
        .put("fw_try_bank", firmware.tryBank ? std::to_string(*firmware.tryBank) : "none")
        .put("fw_last_try", firmwareTryName(firmware.lastTry))
        .put("fw_selftest", firmware.selftestOk.value_or(true) ? "pass" : "fail")
        .put("fw_next_image", bootName(nextImage))
        .put("fw_next_write", str(nextWriteFault))
        .put("fw_loading", fwLoading)
        .put("fw_error", str(fwError));
    if (upload)
        w.put("fw_upload_start_ns", upload->startNs)
            .put("fw_upload_size", upload->size)
            .put("fw_upload_bank", upload->bank)
            .put("fw_upload_version", upload->version)
            .put("fw_upload_sha256", upload->sha256)
            .put("fw_upload_boot", bootName(upload->boot))
            .put("fw_upload_fail", str(upload->fail));
    w.put("num_vfs", vfs.size());
    writeFunction(w, "pf.", pf, false);
    for (size_t k = 0; k < vfs.size(); ++k) writeFunction(w, "vf" + std::to_string(k) + ".", vfs[k], true);
    return w.str();
}

Result<SimCard> SimCard::parse(std::string_view content, const SimConfig& config, std::string_view what) {
    auto kv = text::parseKeyValues(content, what);
    if (!kv) return std::move(kv).error();
    Reader r(*kv, what);
    if (r.u64("format") != kFormat && !r.error())
        return makeError(Errc::MalformedData, std::string(what) + ": unknown format (this aismi-sim understands format 1)");
    SimCard c;
    c.serial = r.string("serial");
    c.settledNs = r.i64("settled_ns");
    c.thermal = r.flag("thermal");
    c.linkDegraded = r.flag("link_degraded");
    c.deviceLost = r.flag("device_lost");
    c.eccCorrected = r.u64("ecc_corrected");
    c.eccUncorrected = r.u64("ecc_uncorrected");
    for (int b = 0; b < 2; ++b) {
        const std::string p = "fw_bank" + std::to_string(b) + "_";
        c.firmware.banks[b].version = r.string(p + "version");
        const std::string integrity = r.string(p + "integrity");
        if (!r.error() && integrity != "ok" && integrity != "bad")
            r.error() = makeError(Errc::MalformedData, std::string(what) + ": " + p + "integrity must be ok or bad");
        c.firmware.banks[b].integrityOk = integrity == "ok";
        // Absent in state directories written before firmware updates were modelled.
        if (r.has(p + "sha256")) c.firmware.banks[b].sha256 = r.string(p + "sha256");
        if (r.has(p + "boot")) c.bankBoot[b] = r.boot(p + "boot");
    }
    c.firmware.activeBank = r.u32("fw_active_bank");
    c.firmware.bootBank = r.has("fw_boot_bank") ? r.u32("fw_boot_bank") : c.firmware.activeBank;
    if (!r.error() && (c.firmware.activeBank > 1 || c.firmware.bootBank > 1))
        r.error() = makeError(Errc::MalformedData, std::string(what) + ": fw_active_bank and fw_boot_bank must be 0 or 1");
    c.firmware.updatable = true;
    c.firmware.selftestOk = true;
    if (r.has("fw_try_bank")) {
        const std::string t = r.string("fw_try_bank");
        if (t == "0" || t == "1") c.firmware.tryBank = static_cast<unsigned>(t[0] - '0');
        else if (t != "none" && !r.error()) r.error() = makeError(Errc::MalformedData, std::string(what) + ": fw_try_bank must be none, 0 or 1");
        const auto last = firmwareTryFromName(r.string("fw_last_try"));
        if (last) c.firmware.lastTry = *last;
        else if (!r.error()) r.error() = makeError(Errc::MalformedData, std::string(what) + ": fw_last_try is not none, booted or fell-back");
        c.firmware.selftestOk = r.string("fw_selftest") != "fail";
        c.nextImage = r.boot("fw_next_image");
        c.nextWriteFault = r.string("fw_next_write");
        c.fwLoading = r.flag("fw_loading");
        c.fwError = r.string("fw_error");
    }
    if (r.has("fw_upload_start_ns")) {
        SimUpload u;
        u.startNs = r.i64("fw_upload_start_ns");
        u.size = r.u64("fw_upload_size");
        u.bank = r.u32("fw_upload_bank");
        u.version = r.string("fw_upload_version");
        u.sha256 = r.string("fw_upload_sha256");
        u.boot = r.boot("fw_upload_boot");
        u.fail = r.string("fw_upload_fail");
        if (!r.error() && u.bank > 1) r.error() = makeError(Errc::MalformedData, std::string(what) + ": fw_upload_bank must be 0 or 1");
        // Bounded so that the upload's timeline cannot overflow: a bank and a margin, and a
        // start long before int64 nanoseconds run out (year 2116).
        if (!r.error() && u.size > (uint64_t{config.flashBankKib} + 1024) * 1024)
            r.error() = makeError(Errc::MalformedData, std::string(what) + ": fw_upload_size is larger than a flash bank");
        if (!r.error() && u.startNs > (int64_t{1} << 62)) r.error() = makeError(Errc::MalformedData, std::string(what) + ": fw_upload_start_ns is out of range");
        c.upload = u;
    }
    const unsigned numVfs = r.u32("num_vfs");
    if (!r.error() && numVfs > config.totalVfs)
        r.error() = makeError(Errc::MalformedData, std::string(what) + ": num_vfs " + std::to_string(numVfs) +
                                                       " exceeds TotalVFs " + std::to_string(config.totalVfs));
    c.pf = readFunction(r, "pf.", false);
    for (unsigned k = 0; k < numVfs && !r.error(); ++k) c.vfs.push_back(readFunction(r, "vf" + std::to_string(k) + ".", true));
    if (r.error()) return std::move(*r.error());
    return c;
}

PciAddress SimCardView::pfAddress() const { return pfAddressOf(card_.index); }

PciAddress SimCardView::pfAddressOf(unsigned index) {
    // Two buses per card: 4 + 256 VFs spill past one bus (SR-IOV VFs may use following buses).
    return PciAddress(0, static_cast<uint8_t>(0x3b + 2 * index), 0, 0);
}

Result<PciAddress> SimCardView::vfAddress(unsigned vf) const {
    return pfAddress().plusRid(kFirstVfOffset + vf * kVfStride);
}

std::optional<int> SimCardView::functionAt(const PciAddress& address) const {
    const PciAddress pf = pfAddress();
    if (address == pf) return -1;
    if (address.domain() != pf.domain() || address.rid() < pf.rid() + kFirstVfOffset) return std::nullopt;
    const unsigned offset = address.rid() - pf.rid() - kFirstVfOffset;
    if (offset % kVfStride != 0 || offset / kVfStride >= card_.vfs.size()) return std::nullopt;
    return static_cast<int>(offset / kVfStride);
}

uint64_t SimCardView::workDone(unsigned vf, int64_t elapsedNs, const std::vector<double>& shares) const {
    // One unit of work per millisecond at the VF's guarantee, more while it bursts; a
    // thermally throttled card runs at half speed.
    const uint32_t guaranteed = card_.vfs[vf].resources.computeUnits;
    if (!guaranteed || vf >= shares.size() || elapsedNs <= 0) return 0;
    const double units = static_cast<double>(elapsedNs) * shares[vf] / (guaranteed * 1e6);
    return static_cast<uint64_t>(units * (card_.thermal ? 0.5 : 1.0));
}

std::vector<double> SimCardView::computeShares() const {
    // Every working VF gets its guarantee; the compute no guarantee holds is shared by weight
    // among the VFs that may burst, each up to its cap (water-filling: what a capped VF does
    // not take goes round again to the others).
    std::vector<double> share(card_.vfs.size(), 0.0);
    double spare = config_.capacity.computeUnits;
    std::vector<unsigned> bursting;
    for (unsigned k = 0; k < card_.vfs.size(); ++k) {
        if (!vfWorking(k, card_.settledNs)) continue;
        const Resources& r = card_.vfs[k].resources;
        share[k] = r.computeUnits;
        spare -= r.computeUnits;
        if (r.burstCap() > r.computeUnits && r.weight > 0) bursting.push_back(k);
    }
    while (spare > 1e-9 && !bursting.empty()) {
        double weights = 0;
        for (unsigned k : bursting) weights += card_.vfs[k].resources.weight;
        double given = 0;
        std::vector<unsigned> uncapped;
        for (unsigned k : bursting) {
            const double offer = spare * card_.vfs[k].resources.weight / weights;
            const double room = card_.vfs[k].resources.burstCap() - share[k];
            const double take = std::min(offer, room);
            share[k] += take;
            given += take;
            if (offer < room) uncapped.push_back(k);
        }
        spare -= given;
        if (uncapped.size() == bursting.size()) break;  // nobody reached a cap: all was given
        bursting = std::move(uncapped);
    }
    return share;
}

bool SimCardView::throttled(unsigned vf, const std::vector<double>& shares) const {
    return vf < shares.size() && shares[vf] > 0 && shares[vf] + 1e-6 < card_.vfs[vf].resources.burstCap();
}

bool SimCardView::vfWorking(unsigned vf, int64_t nowNs) const {
    const SimFunction& f = card_.vfs.at(vf);
    return f.loadOn && !f.hung && !f.errored && !card_.deviceLost && !f.driver.empty() && f.resettingUntilNs <= nowNs &&
           f.resources.computeUnits > 0;
}

void SimCardModel::settle(int64_t nowNs) {
    settleFirmware(nowNs);
    // The working set changes only through a change, and every change settles first: the
    // shares were constant since the last settle.
    const int64_t elapsed = std::max<int64_t>(0, nowNs - mutable_.settledNs);
    const std::vector<double> shares = computeShares();
    for (unsigned k = 0; k < mutable_.vfs.size(); ++k)
        if (vfWorking(k, mutable_.settledNs))
            mutable_.vfs[k].progressBase += workDone(k, elapsed, shares);
    mutable_.settledNs = std::max(mutable_.settledNs, nowNs);
}

uint64_t SimCardView::progress(unsigned vf, int64_t nowNs, const std::vector<double>& shares) const {
    const SimFunction& f = card_.vfs.at(vf);
    if (!vfWorking(vf, card_.settledNs)) return f.progressBase;
    const int64_t elapsed = std::max<int64_t>(0, nowNs - card_.settledNs);
    return f.progressBase + workDone(vf, elapsed, shares);
}

uint64_t SimCardView::progress(unsigned vf, int64_t nowNs) const { return progress(vf, nowNs, computeShares()); }

VfState SimCardView::vfState(unsigned vf, int64_t nowNs) const {
    const SimFunction& f = card_.vfs.at(vf);
    if (f.resettingUntilNs > nowNs) return VfState::Resetting;
    if (f.errored || card_.deviceLost) return VfState::Error;
    if (f.hung) return VfState::Hung;
    return vfWorking(vf, nowNs) ? VfState::Running : VfState::Idle;
}

Resources SimCardModel::evenShare(unsigned count) const {
    const Resources& cap = config_.capacity;
    const uint64_t usableMib = cap.memoryMib > kFirmwareReserveMib * 2 ? cap.memoryMib - kFirmwareReserveMib : cap.memoryMib;
    return Resources{cap.computeUnits / count, usableMib / count, std::max(1u, cap.engines / count)};
}

int SimCardModel::setNumVfs(unsigned count, int64_t nowNs) {
    // drivers/pci/iov.c sriov_numvfs_store(): ENOENT without a driver, ERANGE above TotalVFs,
    // EBUSY when changing a non-zero count to another non-zero count.
    if (mutable_.pf.driver.empty()) return ENOENT;
    if (count > config_.totalVfs) return ERANGE;
    if (count == mutable_.vfs.size()) return 0;
    if (!mutable_.vfs.empty() && count != 0) return EBUSY;
    if (mutable_.deviceLost) return EIO;
    settle(nowNs);
    mutable_.vfs.clear();
    // Like a real PF driver, the card splits its resources evenly over the VFs it enables;
    // the VFs then bind to the host driver (sriov_drivers_autoprobe defaults to 1).
    const Resources share = count ? evenShare(count) : Resources{};
    for (unsigned k = 0; k < count; ++k) {
        SimFunction vf;
        vf.driver = "aismi";
        vf.resources = share;
        mutable_.vfs.push_back(vf);
    }
    return 0;
}

SimCardModel::FlrStart SimCardModel::beginFlr(int fn, int64_t nowNs) {
    if (mutable_.deviceLost || !hasFunction(fn)) return {ENODEV, 0, 0};
    SimFunction& f = function(fn);
    if (f.flrFail) return {EIO, 0, 0};
    settle(nowNs);
    const auto scaled = [&](unsigned ms) { return static_cast<int64_t>(ms * 1e6 * config_.timeFactor); };
    if (f.flrTimeout) {
        // The function never reports ready: the kernel waits, then gives up; the function is
        // left unusable until a reset succeeds.
        f.loadOn = false;
        f.errored = fn >= 0;
        f.resettingUntilNs = nowNs + scaled(config_.flrTimeoutMs);
        return {0, scaled(config_.flrTimeoutMs), ETIMEDOUT};
    }
    // FLR clears the function's own state only (PCIe 6.6.2): its workload, a hang, an error;
    // provisioning is held by the PF and survives. Sibling functions are not touched.
    const auto clear = [&](SimFunction& fn) {
        fn.loadOn = false;
        fn.hung = false;
        fn.errored = false;
        fn.progressBase = 0;
        fn.resetCount++;
        fn.resettingUntilNs = nowNs + scaled(config_.flrMs);
    };
    clear(f);
    if (fn < 0) {
        // The card's firmware restarts with its PF: an upload in flight is lost (the bank
        // keeps what it held), and it boots the armed try bank or its boot bank.
        settleFirmware(nowNs, true);
        mutable_.fwLoading = false;
        bootFirmware();
        // The PF's FLR is the whole card's: it clears VF Enable (SR-IOV 1.1 3.3.3.1) and the
        // kernel enables the same VFs again when it restores the PF's state, each holding the
        // even split a fresh enable gives (what aismid provisioned is gone).
        const Resources share = mutable_.vfs.empty() ? Resources{} : evenShare(static_cast<unsigned>(mutable_.vfs.size()));
        for (SimFunction& vf : mutable_.vfs) {
            clear(vf);
            vf.resources = share;
            vf.eccCorrected = vf.eccUncorrected = 0;
        }
        // Its ECC counts are volatile, as a GPU's are across a reset: they start again.
        mutable_.eccCorrected = mutable_.eccUncorrected = 0;
    }
    return {0, scaled(config_.flrMs), 0};
}

Result<void> SimCardModel::inject(std::optional<unsigned> vf, Fault fault, int64_t nowNs) {
    const std::string target = "card " + std::to_string(mutable_.index);
    if (vf && !faultAppliesToVf(fault))
        return makeError(Errc::InvalidArgument, std::string(faultName(fault)) + " applies to a card, not a VF; use '" +
                                                    std::to_string(mutable_.index) + "' as the target");
    if (!vf && !faultAppliesToCard(fault))
        return makeError(Errc::InvalidArgument, std::string(faultName(fault)) + " applies to a VF; use CARD:VF as the target");
    if (vf && *vf >= mutable_.vfs.size())
        return makeError(Errc::NotFound, target + ": VF " + std::to_string(*vf) + " is not enabled (" +
                                             std::to_string(mutable_.vfs.size()) + " VFs are)");
    settle(nowNs);
    SimFunction& f = vf ? mutable_.vfs[*vf] : mutable_.pf;
    switch (fault) {
    case Fault::VfHang: f.hung = true; break;
    case Fault::FlrFail: f.flrFail = true; break;
    case Fault::FlrTimeout: f.flrTimeout = true; break;
    case Fault::EccCorrectable:
        (vf ? f.eccCorrected : mutable_.eccCorrected)++;
        f.aer.correctable++;
        break;
    case Fault::EccUncorrectable:
        (vf ? f.eccUncorrected : mutable_.eccUncorrected)++;
        f.aer.nonfatal++;
        if (vf) f.errored = true;
        break;
    case Fault::Thermal: mutable_.thermal = true; break;
    case Fault::LinkDegrade: mutable_.linkDegraded = true; break;
    case Fault::DeviceLost: mutable_.deviceLost = true; break;
    case Fault::FirmwareCorrupt: mutable_.firmware.banks[1 - mutable_.firmware.activeBank].integrityOk = false; break;
    case Fault::PowerCut:
        settleFirmware(nowNs, true);
        mutable_.firmware.tryBank.reset();  // the one-shot try is held in the card's RAM
        mutable_.fwLoading = false;
        mutable_.deviceLost = true;
        break;
    case Fault::FirmwareWriteError: mutable_.nextWriteFault = "read-write-error"; break;
    case Fault::FlashWearout: mutable_.nextWriteFault = "flash-wearout"; break;
    case Fault::FirmwareNoBoot: mutable_.nextImage = FirmwareBoot::NoBoot; break;
    case Fault::FirmwareUnhealthy: mutable_.nextImage = FirmwareBoot::Unhealthy; break;
    }
    return {};
}

Result<void> SimCardModel::clear(std::optional<unsigned> vf, int64_t nowNs) {
    if (vf && *vf >= mutable_.vfs.size())
        return makeError(Errc::NotFound, "card " + std::to_string(mutable_.index) + ": VF " + std::to_string(*vf) + " is not enabled");
    settle(nowNs);
    SimFunction& f = vf ? mutable_.vfs[*vf] : mutable_.pf;
    f.hung = f.errored = f.flrFail = f.flrTimeout = false;
    if (!vf) {
        mutable_.thermal = mutable_.linkDegraded = mutable_.deviceLost = false;
        for (auto& bank : mutable_.firmware.banks)
            if (!bank.version.empty()) bank.integrityOk = true;  // as if re-flashed
        mutable_.nextImage = FirmwareBoot::Ok;
        mutable_.nextWriteFault.clear();
    }
    return {};
}

Result<void> SimCardModel::setLoad(unsigned vf, bool on, int64_t nowNs) {
    if (vf >= mutable_.vfs.size())
        return makeError(Errc::NotFound, "card " + std::to_string(mutable_.index) + ": VF " + std::to_string(vf) + " is not enabled (" +
                                             std::to_string(mutable_.vfs.size()) + " VFs are)");
    SimFunction& f = mutable_.vfs[vf];
    if (on && !f.loadOn) {
        // A workload's memory is committed when it starts: with the card's memory
        // oversubscribed, a start that would not fit is refused (nothing is evicted).
        uint64_t resident = kFirmwareReserveMib;
        for (unsigned k = 0; k < mutable_.vfs.size(); ++k) resident += vfMemoryUsedMib(k);
        const uint64_t need = f.resources.memoryMib * 3 / 4;
        if (resident + need > config_.capacity.memoryMib)
            return makeError(Errc::NoSpace, "card " + std::to_string(mutable_.index) + ": VF " + std::to_string(vf) +
                                                "'s workload needs " + std::to_string(need) + " MiB of device memory; " +
                                                std::to_string(config_.capacity.memoryMib - std::min(resident, config_.capacity.memoryMib)) +
                                                " MiB are free (the VFs are given more memory than the card has)");
    }
    settle(nowNs);
    f.loadOn = on;
    return {};
}

int SimCardModel::provision(unsigned vf, const Resources& r, int64_t nowNs) {
    if (mutable_.deviceLost) return ENODEV;
    if (vf >= mutable_.vfs.size()) return ENOENT;
    // All zero unprovisions the VF (it holds nothing and runs nothing); otherwise a VF needs
    // compute and memory.
    const bool none = r.computeUnits == 0 && r.memoryMib == 0 && r.engines == 0;
    if (!none && (r.computeUnits == 0 || r.memoryMib == 0 || r.weight == 0)) return EINVAL;
    if (r.weight > kMaxWeight) return EINVAL;
    // A VF's resources cannot move under a running workload.
    if (mutable_.vfs[vf].loadOn) return EBUSY;
    // Guarantees never exceed the card; memory may, up to the card's paging limit.
    uint64_t compute = 0, memory = 0;
    for (unsigned k = 0; k < mutable_.vfs.size(); ++k) {
        const Resources& x = k == vf ? r : mutable_.vfs[k].resources;
        compute += x.computeUnits;
        memory += x.memoryMib;
    }
    if (compute > config_.capacity.computeUnits || memory > config_.capacity.memoryMib * kMemoryOvercommitLimit) return ENOSPC;
    if (r.engines > config_.capacity.engines || r.burstCap() > config_.capacity.computeUnits) return ENOSPC;
    settle(nowNs);
    mutable_.vfs[vf].resources = r;
    return 0;
}

bool validMemoryPattern(std::string_view pattern) {
    if (pattern.empty() || pattern.size() > 64 || pattern == "-") return false;
    return std::all_of(pattern.begin(), pattern.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
    });
}

Result<void> SimCardModel::writeMemory(unsigned vf, const std::string& pattern) {
    if (!validMemoryPattern(pattern))
        return makeError(Errc::InvalidArgument, "a memory pattern is 1 to 64 letters, digits, '-', '_' or '.'; not '" + pattern + "'");
    if (mutable_.deviceLost) return makeError(Errc::InvalidState, "card " + std::to_string(mutable_.index) + " is lost");
    if (vf >= mutable_.vfs.size())
        return makeError(Errc::NotFound, "card " + std::to_string(mutable_.index) + " has no VF " + std::to_string(vf) + " enabled");
    SimFunction& f = mutable_.vfs[vf];
    if (f.errored || f.hung) return makeError(Errc::InvalidState, "VF " + std::to_string(vf) + " does not answer (hung or in error)");
    f.memory = pattern;
    return {};
}

int SimCardModel::scrub(unsigned vf) {
    if (mutable_.deviceLost) return ENODEV;
    if (vf >= mutable_.vfs.size()) return ENOENT;
    SimFunction& f = mutable_.vfs[vf];
    if (f.loadOn) return EBUSY;  // the firmware will not zero memory a workload is using
    f.memory.clear();
    return 0;
}

void SimCardModel::powerCycle(int64_t nowNs) {
    settleFirmware(nowNs, true);  // the flash keeps what it held at the instant power went
    SimCard fresh = SimCard::fresh(config_, mutable_.index);
    fresh.serial = mutable_.serial;
    fresh.firmware = mutable_.firmware;
    for (int b = 0; b < 2; ++b) fresh.bankBoot[b] = mutable_.bankBoot[b];
    fresh.nextImage = mutable_.nextImage;
    fresh.nextWriteFault = mutable_.nextWriteFault;
    fresh.firmware.tryBank.reset();  // the one-shot try is held in the card's RAM
    fresh.settledNs = nowNs;
    mutable_ = std::move(fresh);
    bootFirmware();
}

std::string_view uploadPhaseName(UploadPhase p) {
    switch (p) {
    case UploadPhase::Idle: return "idle";
    case UploadPhase::Preparing: return "preparing";
    case UploadPhase::Transferring: return "transferring";
    case UploadPhase::Programming: return "programming";
    }
    return "idle";
}

namespace {

int64_t scaledNs(double ns, const SimConfig& c) { return static_cast<int64_t>(ns * c.timeFactor); }

int64_t transferNs(uint64_t size, const SimConfig& c) {
    return scaledNs(static_cast<double>(size) * 1e9 / (static_cast<double>(c.flashKibPerS) * 1024.0), c);
}

}  // namespace

int64_t SimCardView::programmingStartNs() const {
    const SimUpload& u = *card_.upload;
    return u.startNs + scaledNs(kPrepareMs * 1e6, config_) + transferNs(u.size, config_);
}

int64_t SimCardView::uploadEndNs() const {
    const SimUpload& u = *card_.upload;
    // Worn-out flash fails as programming starts; everything else at its end.
    if (u.fail == "flash-wearout") return programmingStartNs();
    return programmingStartNs() + scaledNs(config_.flashProgramMs * 1e6, config_);
}

SimCardView::UploadView SimCardView::uploadAt(int64_t nowNs) const {
    if (!card_.upload || nowNs >= uploadEndNs()) return {};
    const SimUpload& u = *card_.upload;
    const int64_t transferStart = u.startNs + scaledNs(kPrepareMs * 1e6, config_);
    if (nowNs < transferStart) return {UploadPhase::Preparing, u.size};
    if (nowNs < programmingStartNs()) {
        const double done = static_cast<double>(nowNs - transferStart) / static_cast<double>(std::max<int64_t>(1, transferNs(u.size, config_)));
        return {UploadPhase::Transferring, u.size - std::min(u.size, static_cast<uint64_t>(done * static_cast<double>(u.size)))};
    }
    return {UploadPhase::Programming, 0};
}

FirmwareState SimCardView::firmwareAt(int64_t nowNs) const {
    FirmwareState fw = card_.firmware;
    if (!card_.upload || nowNs < programmingStartNs()) return fw;
    const SimUpload& u = *card_.upload;
    FirmwareBank& bank = fw.banks[u.bank];
    if (nowNs >= uploadEndNs() && u.fail.empty()) bank = FirmwareBank{u.version, true, u.sha256};
    else bank = FirmwareBank{"", false, ""};  // erased, or left half-written by a failure
    return fw;
}

std::string SimCardView::uploadErrorAt(int64_t nowNs) const {
    if (!card_.upload || nowNs < uploadEndNs()) return card_.fwError;
    return card_.upload->fail.empty() ? std::string() : "programming:" + card_.upload->fail;
}

void SimCardModel::settleFirmware(int64_t nowNs, bool cut) {
    if (!mutable_.upload) return;
    const bool ended = nowNs >= uploadEndNs();
    if (!ended && !cut) return;
    // Stopped before its end (power lost, the firmware restarted): the device reports it.
    const std::string error = ended ? uploadErrorAt(nowNs) : std::string(uploadPhaseName(uploadAt(nowNs).phase)) + ":hw-error";
    mutable_.firmware = firmwareAt(nowNs);
    mutable_.bankBoot[mutable_.upload->bank] = ended ? mutable_.upload->boot : FirmwareBoot::Ok;
    mutable_.upload.reset();
    mutable_.fwError = error;
}

int SimCardModel::beginLoading(int64_t nowNs) {
    if (mutable_.deviceLost) return ENODEV;
    settleFirmware(nowNs);
    if (mutable_.upload) return EBUSY;
    mutable_.fwLoading = true;
    return 0;
}

int SimCardModel::startUpload(std::span<const uint8_t> bytes, int64_t nowNs) {
    if (mutable_.deviceLost) return ENODEV;
    settleFirmware(nowNs);
    if (mutable_.upload) return EBUSY;
    if (!mutable_.fwLoading) return EINVAL;
    mutable_.fwLoading = false;
    // The device checks what it can without the vendor's keys: the image's layout, that it
    // fits a bank, that it is for this device, and the payload's hash.
    auto image = firmware::parse(bytes);
    FirmwareState& fw = mutable_.firmware;
    if (!image || image->payload.size() > uint64_t{config_.flashBankKib} * 1024)
        return mutable_.fwError = "preparing:invalid-file-size", 0;
    if (image->vendor != config_.vendorId || image->device != config_.pfDeviceId) return mutable_.fwError = "preparing:hw-error", 0;
    // During a try both banks are in use (the one it runs, the one it falls back to).
    if (fw.activeBank != fw.bootBank || fw.tryBank) return mutable_.fwError = "preparing:device-busy", 0;
    SimUpload u;
    u.startNs = nowNs;
    u.size = bytes.size();
    u.bank = 1 - fw.activeBank;
    u.version = image->version;
    u.sha256 = text::hex(image->sha256);
    u.boot = mutable_.nextImage;
    u.fail = mutable_.nextWriteFault;
    mutable_.nextImage = FirmwareBoot::Ok;
    mutable_.nextWriteFault.clear();
    mutable_.upload = u;
    mutable_.fwError.clear();
    return 0;
}

int SimCardModel::cancelUpload(int64_t nowNs) {
    if (mutable_.deviceLost) return ENODEV;
    settleFirmware(nowNs);
    const UploadPhase phase = uploadAt(nowNs).phase;
    if (phase == UploadPhase::Idle) return ENODEV;
    if (phase == UploadPhase::Programming) return EBUSY;  // flash is being written
    mutable_.upload.reset();  // the bank was not touched yet
    mutable_.fwError = std::string(uploadPhaseName(phase)) + ":user-abort";
    return 0;
}

int SimCardModel::armTry(std::optional<unsigned> bank, int64_t nowNs) {
    if (mutable_.deviceLost) return ENODEV;
    settleFirmware(nowNs);
    if (bank && (*bank > 1 || !mutable_.firmware.banks[*bank].integrityOk)) return EINVAL;
    if (mutable_.upload && bank && *bank == mutable_.upload->bank) return EBUSY;
    mutable_.firmware.tryBank = bank;
    return 0;
}

int SimCardModel::commitFirmware(int64_t nowNs) {
    if (mutable_.deviceLost) return ENODEV;
    settleFirmware(nowNs);
    mutable_.firmware.bootBank = mutable_.firmware.activeBank;
    return 0;
}

void SimCardModel::bootFirmware() {
    FirmwareState& fw = mutable_.firmware;
    const bool trying = fw.tryBank.has_value();
    const unsigned want = trying ? *fw.tryBank : fw.bootBank;
    fw.tryBank.reset();
    const auto boots = [&](unsigned b) { return fw.banks[b].integrityOk && !fw.banks[b].version.empty() && mutable_.bankBoot[b] != FirmwareBoot::NoBoot; };
    if (boots(want)) fw.activeBank = want;
    else if (boots(1 - want)) fw.activeBank = 1 - want;
    else {
        mutable_.deviceLost = true;  // neither bank boots: the card is bricked
        return;
    }
    if (trying) fw.lastTry = fw.activeBank == want ? FirmwareTry::Booted : FirmwareTry::FellBack;
    fw.selftestOk = mutable_.bankBoot[fw.activeBank] != FirmwareBoot::Unhealthy;
}

uint32_t SimCardView::utilizationPct(const std::vector<double>& shares) const {
    double busy = 0;
    for (double s : shares) busy += s;
    return static_cast<uint32_t>(std::min(100.0, busy * 100 / config_.capacity.computeUnits));
}

uint64_t SimCardView::vfMemoryUsedMib(unsigned vf) const {
    // A loaded workload holds three quarters of its VF's memory, hung or not.
    const SimFunction& f = card_.vfs.at(vf);
    return f.loadOn ? f.resources.memoryMib * 3 / 4 : 0;
}

uint64_t SimCardView::memoryUsedMib() const {
    uint64_t used = kFirmwareReserveMib;
    for (unsigned k = 0; k < card_.vfs.size(); ++k) used += vfMemoryUsedMib(k);
    return std::min(used, config_.capacity.memoryMib);
}

double SimCardView::powerW(int64_t) const { return kIdlePowerW + kPowerPerUtilW * utilizationPct(computeShares()); }

double SimCardView::temperatureC(int64_t nowNs) const {
    return kAmbientC + kDegreesPerWatt * powerW(nowNs) + (card_.thermal ? kThermalFaultC : 0);
}

uint64_t SimCardView::eccCorrectedTotal() const {
    uint64_t n = card_.eccCorrected;
    for (const auto& f : card_.vfs) n += f.eccCorrected;
    return n;
}

uint64_t SimCardView::eccUncorrectedTotal() const {
    uint64_t n = card_.eccUncorrected;
    for (const auto& f : card_.vfs) n += f.eccUncorrected;
    return n;
}

}  // namespace aismi::sim
