#include <aismi/card.hpp>
#include <aismi/fs.hpp>

#include <aismi/text.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>

namespace aismi {
namespace {

// The vendor directory the aismi driver creates under its PF (docs/driver-abi.md).
constexpr std::string_view kVendorDir = "aismi";
constexpr uint64_t kVendorAbiVersion = 1;

std::string hex4(unsigned v) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04x", v & 0xffff);
    return buf;
}

std::string formatDsn(uint64_t dsn) {
    // The form lspci uses for the Device Serial Number: bytes high to low, dash separated.
    std::string s;
    for (int i = 7; i >= 0; --i) {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%02x", static_cast<unsigned>(dsn >> (i * 8)) & 0xff);
        s += buf;
        if (i) s += '-';
    }
    return s;
}

Result<uint16_t> readId(const PciFunction& f, std::string_view attr) {
    auto v = f.readNumber(attr);
    if (!v) return std::move(v).error();
    if (*v > 0xffff) return makeError(Errc::MalformedData, f.path(attr) + ": " + std::to_string(*v) + " is not a 16-bit ID");
    return static_cast<uint16_t>(*v);
}

Result<Resources> resourcesFrom(const text::KeyValues& kv, std::string_view what) {
    auto cu = text::requireUnsigned(kv, "compute_units", what);
    auto mem = text::requireUnsigned(kv, "memory_mib", what);
    auto eng = text::requireUnsigned(kv, "engines", what);
    if (!cu) return std::move(cu).error();
    if (!mem) return std::move(mem).error();
    if (!eng) return std::move(eng).error();
    if (*cu > UINT32_MAX || *eng > UINT32_MAX) return makeError(Errc::MalformedData, std::string(what) + ": value out of range");
    Resources r{static_cast<uint32_t>(*cu), *mem, static_cast<uint32_t>(*eng)};
    // The burst cap and weight are optional: a device without them gives no burst.
    for (auto [key, slot] : {std::pair{"burst_units", &r.burstUnits}, {"weight", &r.weight}}) {
        if (!kv.count(key)) continue;
        auto v = text::requireUnsigned(kv, key, what);
        if (!v) return std::move(v).error();
        if (*v > UINT32_MAX) return makeError(Errc::MalformedData, std::string(what) + ": " + key + " out of range");
        *slot = static_cast<uint32_t>(*v);
    }
    return r;
}

// Telemetry of oversubscription, optional in a status: the compute units the VF gets now and
// whether it is throttled.
Result<void> shareFrom(const text::KeyValues& kv, std::string_view p, VfStatus& st) {
    if (kv.count("compute_share")) {
        auto v = text::parseDouble(kv.at("compute_share"), std::string(p) + ": compute_share");
        if (!v) return std::move(v).error();
        if (!(*v >= 0 && *v <= UINT32_MAX)) return makeError(Errc::MalformedData, std::string(p) + ": compute_share is out of range");
        st.computeShare = *v;
    }
    if (kv.count("throttled")) {
        auto v = text::requireUnsigned(kv, "throttled", p);
        if (!v) return std::move(v).error();
        if (*v > 1) return makeError(Errc::MalformedData, std::string(p) + ": throttled must be 0 or 1");
        st.throttled = *v == 1;
    }
    return {};
}

Result<Resources> parseResources(std::string_view content, std::string_view what) {
    auto kv = text::parseKeyValues(content, what);
    if (!kv) return std::move(kv).error();
    return resourcesFrom(*kv, what);
}

Result<VfStatus> statusFrom(const text::KeyValues& kv, std::string_view p) {
    VfStatus st;
    auto state = text::requireString(kv, "state", p);
    if (!state) return std::move(state).error();
    bool known = false;
    for (VfState candidate : {VfState::Idle, VfState::Running, VfState::Hung, VfState::Resetting, VfState::Error})
        if (vfStateName(candidate) == *state) st.state = candidate, known = true;
    if (!known) return makeError(Errc::MalformedData, std::string(p) + ": unknown state '" + *state + "'");
    const std::pair<const char*, uint64_t*> numbers[] = {{"progress", &st.progress},
                                                         {"memory_used_mib", &st.memoryUsedMib},
                                                         {"ecc_corrected", &st.eccCorrected},
                                                         {"ecc_uncorrected", &st.eccUncorrected},
                                                         {"reset_count", &st.resetCount}};
    for (auto [key, slot] : numbers) {
        auto v = text::requireUnsigned(kv, key, p);
        if (!v) return std::move(v).error();
        *slot = *v;
    }
    auto util = text::requirePercent(kv, "utilization_pct", p);
    if (!util) return std::move(util).error();
    st.utilizationPct = *util;
    if (auto r = shareFrom(kv, p, st); !r) return std::move(r).error();
    return st;
}

// One line of `vfs`: "K key value key value ...". Parsed in place (a poll reads thousands):
// each key goes to its slot; a required key missing or given twice is an error, an unknown
// key is skipped (a newer driver may add some).
Result<VfReport> parseReportLine(std::string_view line, const std::string& where) {
    std::string_view words[48];
    size_t n = 0;
    for (size_t i = 0; i < line.size() && n < std::size(words);) {
        if (line[i] == ' ') {
            ++i;
            continue;
        }
        const size_t end = std::min(line.find(' ', i), line.size());  // memchr, not a byte loop: hundreds of lines a poll
        words[n++] = line.substr(i, end - i);
        i = end;
    }
    if (n == 0 || n % 2 == 0)
        return makeError(Errc::MalformedData, where + ": expected 'VF key value ...', got '" + std::string(line.substr(0, 64)) + "'");
    unsigned vf = 0;
    const auto [vfEnd, vfEc] = std::from_chars(words[0].data(), words[0].data() + words[0].size(), vf);
    if (vfEc != std::errc() || vfEnd != words[0].data() + words[0].size() || vf > 0xffff)
        return makeError(Errc::MalformedData, where + ": '" + std::string(words[0].substr(0, 32)) + "' is not a VF index");
    VfReport r;
    r.vf = vf;
    uint64_t utilization = 0, computeUnits = 0, engines = 0, burst = 0, weight = 1, throttled = 0;
    std::string_view state, share;
    struct Slot {
        std::string_view key;
        uint64_t* number;  // null: a word kept as it is
        std::string_view* word = nullptr;
        bool optional = false;
    };
    const Slot slots[] = {{"state", nullptr, &state},
                          {"progress", &r.status.progress},
                          {"utilization_pct", &utilization},
                          {"memory_used_mib", &r.status.memoryUsedMib},
                          {"ecc_corrected", &r.status.eccCorrected},
                          {"ecc_uncorrected", &r.status.eccUncorrected},
                          {"reset_count", &r.status.resetCount},
                          {"compute_units", &computeUnits},
                          {"memory_mib", &r.resources.memoryMib},
                          {"engines", &engines},
                          {"burst_units", &burst, nullptr, true},
                          {"weight", &weight, nullptr, true},
                          {"compute_share", nullptr, &share, true},
                          {"throttled", &throttled, nullptr, true}};
    unsigned seen = 0;
    const auto what = [&] { return where + " VF " + std::to_string(r.vf); };  // only for errors
    // Drivers write the keys in this order: the slot after the last one matched is tried first
    // (one comparison per key on a poll of hundreds of lines), then every slot.
    unsigned next = 0;
    for (size_t i = 1; i + 1 < n; i += 2) {
        for (unsigned j = 0; j < std::size(slots); ++j) {
            const unsigned k = (next + j) % std::size(slots);
            if (slots[k].key != words[i]) continue;
            next = k + 1;
            if (seen & (1u << k)) return makeError(Errc::MalformedData, what() + ": " + std::string(words[i]) + " given twice");
            seen |= 1u << k;
            if (!slots[k].number) {
                *slots[k].word = words[i + 1];
                break;
            }
            uint64_t v = 0;
            const auto [end, ec] = std::from_chars(words[i + 1].data(), words[i + 1].data() + words[i + 1].size(), v);
            if (ec != std::errc() || end != words[i + 1].data() + words[i + 1].size())
                return makeError(Errc::MalformedData, what() + ": " + std::string(words[i]) + " '" + std::string(words[i + 1].substr(0, 32)) +
                                                          "' is not a number");
            *slots[k].number = v;
            break;
        }
    }
    for (unsigned k = 0; k < std::size(slots); ++k)
        if (!(seen & (1u << k)) && !slots[k].optional) return makeError(Errc::MalformedData, what() + ": " + std::string(slots[k].key) + " is missing");
    bool known = false;
    for (VfState candidate : {VfState::Idle, VfState::Running, VfState::Hung, VfState::Resetting, VfState::Error})
        if (vfStateName(candidate) == state) r.status.state = candidate, known = true;
    if (!known) return makeError(Errc::MalformedData, what() + ": unknown state '" + std::string(state.substr(0, 32)) + "'");
    if (utilization > 100) return makeError(Errc::MalformedData, what() + ": utilization_pct " + std::to_string(utilization) + " is above 100");
    if (computeUnits > UINT32_MAX || engines > UINT32_MAX || burst > UINT32_MAX || weight > UINT32_MAX)
        return makeError(Errc::MalformedData, what() + ": value out of range");
    if (throttled > 1) return makeError(Errc::MalformedData, what() + ": throttled must be 0 or 1");
    if (!share.empty()) {
        double v = 0;
        const auto [end, ec] = std::from_chars(share.data(), share.data() + share.size(), v);
        if (ec != std::errc() || end != share.data() + share.size() || !(v >= 0 && v <= UINT32_MAX))
            return makeError(Errc::MalformedData, what() + ": compute_share '" + std::string(share.substr(0, 32)) + "' is not a number of compute units");
        r.status.computeShare = v;
    }
    r.status.throttled = throttled == 1;
    r.status.utilizationPct = static_cast<uint32_t>(utilization);
    r.resources.computeUnits = static_cast<uint32_t>(computeUnits);
    r.resources.engines = static_cast<uint32_t>(engines);
    r.resources.burstUnits = static_cast<uint32_t>(burst);
    r.resources.weight = static_cast<uint32_t>(weight);
    return r;
}

Result<std::optional<double>> readScaled(const Fs& fs, const std::string& path, double scale) {
    if (!fs.exists(path)) return std::optional<double>();
    auto s = fs.read(path);
    if (!s) return std::move(s).error();
    auto v = text::parseUnsigned(*s, path);
    if (!v) return std::move(v).error();
    return std::optional<double>(static_cast<double>(*v) / scale);
}

}  // namespace

Result<DeviceMatch> DeviceMatch::parse(std::string_view text) {
    const auto fail = [&] {
        return makeError(Errc::InvalidArgument,
                         "'" + std::string(text) + "' is not a VENDOR:DEVICE match (expected two 4-digit hex IDs, e.g. 1ed5:0100)");
    };
    if (text.size() != 9 || text[4] != ':') return fail();
    unsigned ids[2];
    for (int i = 0; i < 2; ++i) {
        std::string_view part = text.substr(i * 5, 4);
        for (char c : part)
            if (!std::isxdigit(static_cast<unsigned char>(c))) return fail();
        std::from_chars(part.data(), part.data() + 4, ids[i], 16);
    }
    return DeviceMatch{static_cast<uint16_t>(ids[0]), static_cast<uint16_t>(ids[1])};
}

std::string_view firmwareTryName(FirmwareTry t) {
    switch (t) {
    case FirmwareTry::None: return "none";
    case FirmwareTry::Booted: return "booted";
    case FirmwareTry::FellBack: return "fell-back";
    }
    return "none";
}

std::optional<FirmwareTry> firmwareTryFromName(std::string_view name) {
    for (auto t : {FirmwareTry::None, FirmwareTry::Booted, FirmwareTry::FellBack})
        if (firmwareTryName(t) == name) return t;
    return std::nullopt;
}

std::string_view vfStateName(VfState state) {
    switch (state) {
    case VfState::Idle: return "idle";
    case VfState::Running: return "running";
    case VfState::Hung: return "hung";
    case VfState::Resetting: return "resetting";
    case VfState::Error: return "error";
    }
    return "unknown";
}

Card::Card(Fs& fs, unsigned index, PciAddress pf, bool vendorAbi)
    : fs_(&fs), index_(index), pf_(fs, pf), vendorAbi_(vendorAbi) {}

std::string Card::vendorPath(std::string_view rel) const {
    return pf_.path(std::string(kVendorDir) + "/" + std::string(rel));
}

Result<void> Card::requireVendorAbi(std::string_view what) const {
    if (vendorAbi_) return {};
    return makeError(Errc::NotSupported, "card " + std::to_string(index_) + " (" + address().str() + "): " +
                                             std::string(what) + " needs the aismi vendor driver; this card is managed in generic mode");
}

Result<CardIdentity> Card::identity() const {
    const std::string where = "card " + std::to_string(index_);
    CardIdentity id;
    auto vendor = readId(pf_, "vendor");
    auto device = readId(pf_, "device");
    auto cls = pf_.readNumber("class");
    if (!vendor) return std::move(vendor).error().context(where);
    if (!device) return std::move(device).error().context(where);
    if (!cls) return std::move(cls).error().context(where);
    id.vendor = *vendor;
    id.device = *device;
    id.classCode = static_cast<uint32_t>(*cls);
    if (vendorAbi_) {
        auto name = fs_->read(vendorPath("name"));
        auto serial = fs_->read(vendorPath("serial"));
        if (!name) return std::move(name).error().context(where);
        if (!serial) return std::move(serial).error().context(where);
        id.name = text::trim(*name);
        id.serial = text::trim(*serial);
    } else {
        id.name = "PCI device " + hex4(id.vendor) + ":" + hex4(id.device);
        if (auto cs = pf_.config(); cs && cs->serialNumber) id.serial = formatDsn(*cs->serialNumber);
    }
    return id;
}

Result<SriovState> Card::sriov() const {
    const std::string where = "card " + std::to_string(index_) + ": SR-IOV";
    if (!fs_->exists(pf_.path("sriov_totalvfs")))
        return makeError(Errc::NotSupported, "card " + std::to_string(index_) + " (" + address().str() +
                                                 ") has no SR-IOV capability (the kernel shows no sriov_totalvfs)");
    SriovState s;
    const std::pair<const char*, unsigned*> numbers[] = {{"sriov_totalvfs", &s.totalVfs},
                                                         {"sriov_numvfs", &s.numVfs},
                                                         {"sriov_offset", &s.firstVfOffset},
                                                         {"sriov_stride", &s.vfStride}};
    for (auto [attr, slot] : numbers) {
        auto v = pf_.readNumber(attr);
        if (!v) return std::move(v).error().context(where);
        if (*v > 0xffff) return makeError(Errc::MalformedData, where + ": " + pf_.path(attr) + " is out of range");
        *slot = static_cast<unsigned>(*v);
    }
    // sriov_vf_device is printed as bare hex ("%x") by the kernel.
    auto vfDev = pf_.readAttr("sriov_vf_device");
    if (!vfDev) return std::move(vfDev).error().context(where);
    auto vfDevNum = text::parseUnsigned("0x" + *vfDev, pf_.path("sriov_vf_device"));
    if (!vfDevNum || *vfDevNum > 0xffff)
        return makeError(Errc::MalformedData, where + ": " + pf_.path("sriov_vf_device") + ": '" + *vfDev + "' is not a device ID");
    s.vfDevice = static_cast<uint16_t>(*vfDevNum);
    if (s.numVfs > s.totalVfs)
        return makeError(Errc::MalformedData, where + ": sriov_numvfs " + std::to_string(s.numVfs) + " exceeds sriov_totalvfs " +
                                                  std::to_string(s.totalVfs));
    return s;
}

Result<void> Card::setVfCount(unsigned count) {
    const std::string where = "card " + std::to_string(index_) + " (" + address().str() + "): set VF count to " + std::to_string(count);
    auto s = sriov();
    if (!s) return std::move(s).error();
    if (count > s->totalVfs)
        return makeError(Errc::OutOfRange, where + ": the card supports at most " + std::to_string(s->totalVfs) + " VFs");
    if (count == s->numVfs) return {};
    if (s->numVfs != 0 && count != 0)
        return makeError(Errc::InvalidState, where + ": " + std::to_string(s->numVfs) +
                                                 " VFs are enabled and the kernel changes the count only from 0; disable VFs first");
    if (auto r = pf_.writeAttr("sriov_numvfs", std::to_string(count)); !r) return std::move(r).error().context(where);
    // Read back what the kernel made of it: the count, and one virtfn link per VF.
    auto after = pf_.readNumber("sriov_numvfs");
    if (!after) return std::move(after).error().context(where);
    if (*after != count)
        return makeError(Errc::VerifyFailed, where + ": sriov_numvfs reads " + std::to_string(*after) + " afterwards");
    for (unsigned k = 0; k <= count && k < s->totalVfs; ++k) {
        const bool present = fs_->exists(pf_.path("virtfn" + std::to_string(k)));
        if (present != (k < count))
            return makeError(Errc::VerifyFailed, where + ": virtfn" + std::to_string(k) + (present ? " still exists" : " did not appear"));
    }
    return {};
}

Result<PciAddress> Card::vfAddress(unsigned vf) const {
    const std::string link = "virtfn" + std::to_string(vf);
    if (!fs_->exists(pf_.path(link)))
        return makeError(Errc::NotFound, "card " + std::to_string(index_) + " has no VF " + std::to_string(vf) + " enabled");
    auto target = fs_->readLink(pf_.path(link));
    if (!target) return std::move(target).error();
    const size_t slash = target->rfind('/');
    auto a = PciAddress::parse(slash == std::string::npos ? *target : target->substr(slash + 1));
    if (!a) return std::move(a).error().context(pf_.path(link));
    return a;
}

Result<std::vector<PciAddress>> Card::vfAddresses() const {
    auto s = sriov();
    if (!s) return std::move(s).error();
    std::vector<PciAddress> out;
    out.reserve(s->numVfs);
    for (unsigned k = 0; k < s->numVfs; ++k) {
        auto a = vfAddress(k);
        if (!a) return std::move(a).error();
        out.push_back(*a);
    }
    return out;
}

std::optional<unsigned> Card::vfIndexOf(const PciAddress& address) const {
    auto all = vfAddresses();
    if (!all) return std::nullopt;
    for (unsigned k = 0; k < all->size(); ++k)
        if ((*all)[k] == address) return k;
    return std::nullopt;
}

Result<std::string> Card::readVfFile(unsigned vf, std::string_view file) const {
    const std::string p = vendorPath("vf" + std::to_string(vf) + "/" + std::string(file));
    auto s = fs_->read(p);
    if (s) return s;
    // No pre-check on the hot path: a VF that is not enabled has no vendor directory.
    if (s.error().code == Errc::NotFound && !fs_->exists(pf_.path("virtfn" + std::to_string(vf))))
        return makeError(Errc::NotFound, "card " + std::to_string(index_) + " has no VF " + std::to_string(vf) + " enabled");
    return std::move(s).error().context("card " + std::to_string(index_) + " VF " + std::to_string(vf));
}

Result<void> Card::resetVf(unsigned vf) {
    auto a = vfAddress(vf);
    if (!a) return std::move(a).error();
    PciFunction fn(*fs_, *a);
    if (auto r = fn.functionLevelReset(); !r)
        return std::move(r).error().context("card " + std::to_string(index_) + " VF " + std::to_string(vf));
    return {};
}

Result<void> Card::resetCard() {
    if (auto r = pf_.functionLevelReset(); !r) return std::move(r).error().context("card " + std::to_string(index_));
    return {};
}

Result<Resources> Card::capacity() const {
    if (auto r = requireVendorAbi("capacity"); !r) return std::move(r).error();
    auto s = fs_->read(vendorPath("capacity"));
    if (!s) return std::move(s).error().context("card " + std::to_string(index_));
    return parseResources(*s, vendorPath("capacity"));
}

Result<Resources> Card::vfResources(unsigned vf) const {
    if (auto r = requireVendorAbi("VF resources"); !r) return std::move(r).error();
    auto s = readVfFile(vf, "resources");
    if (!s) return std::move(s).error();
    return parseResources(*s, vendorPath("vf" + std::to_string(vf) + "/resources"));
}

Result<void> Card::setVfResources(unsigned vf, const Resources& r) {
    if (auto v = requireVendorAbi("VF provisioning"); !v) return std::move(v).error();
    if (auto v = vfAddress(vf); !v) return std::move(v).error();
    const std::string where = "card " + std::to_string(index_) + " VF " + std::to_string(vf) + ": provision";
    const std::string content = "compute_units " + std::to_string(r.computeUnits) + "\nmemory_mib " + std::to_string(r.memoryMib) +
                                "\nengines " + std::to_string(r.engines) + "\nburst_units " + std::to_string(r.burstCap()) + "\nweight " +
                                std::to_string(r.weight) + "\n";
    if (auto w = fs_->write(vendorPath("vf" + std::to_string(vf) + "/resources"), content); !w)
        return std::move(w).error().context(where);
    auto after = vfResources(vf);
    if (!after) return std::move(after).error().context(where);
    if (!(*after == r)) return makeError(Errc::VerifyFailed, where + ": the device reports different resources afterwards");
    return {};
}

Result<void> Card::scrubVf(unsigned vf) {
    if (auto v = requireVendorAbi("VF scrub"); !v) return std::move(v).error();
    const std::string where = "card " + std::to_string(index_) + " VF " + std::to_string(vf) + ": scrub";
    if (auto w = fs_->write(vendorPath("vf" + std::to_string(vf) + "/scrub"), "1"); !w) {
        if (w.error().code == Errc::NotFound || w.error().sysErrno == ENODEV)
            if (!fs_->exists(pf_.path("virtfn" + std::to_string(vf))))
                return makeError(Errc::NotFound, "card " + std::to_string(index_) + " has no VF " + std::to_string(vf) + " enabled");
        return std::move(w).error().context(where);
    }
    auto after = readVfFile(vf, "scrub");
    if (!after) return std::move(after).error().context(where);
    if (text::trim(*after) != "clean")
        return makeError(Errc::VerifyFailed, where + ": the device reports '" + std::string(text::trim(*after)) + "' afterwards, not 'clean'");
    return {};
}

Result<VfStatus> Card::vfStatus(unsigned vf) const {
    if (auto r = requireVendorAbi("VF status"); !r) return std::move(r).error();
    const std::string p = vendorPath("vf" + std::to_string(vf) + "/status");
    auto s = readVfFile(vf, "status");
    if (!s) return std::move(s).error();
    auto kv = text::parseKeyValues(*s, p);
    if (!kv) return std::move(kv).error();
    return statusFrom(*kv, p);
}

Result<std::vector<VfReport>> Card::vfReports() const {
    if (auto r = requireVendorAbi("VF status"); !r) return std::move(r).error();
    const std::string p = vendorPath("vfs");
    auto s = fs_->read(p);
    if (!s) return std::move(s).error().context("card " + std::to_string(index_));
    std::vector<VfReport> out;
    std::string_view rest = *s;
    while (!rest.empty()) {
        const size_t nl = rest.find('\n');
        const std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        if (line.empty()) continue;
        auto report = parseReportLine(line, p);
        if (!report) return std::move(report).error();
        if (report->vf != out.size())
            return makeError(Errc::MalformedData, p + ": VF " + std::to_string(report->vf) + " where VF " + std::to_string(out.size()) +
                                                      " was expected (one line per enabled VF, in order)");
        out.push_back(std::move(*report));
    }
    return out;
}

Result<FirmwareState> Card::firmware() const {
    if (auto r = requireVendorAbi("firmware state"); !r) return std::move(r).error();
    const std::string p = vendorPath("firmware");
    auto s = fs_->read(p);
    if (!s) return std::move(s).error().context("card " + std::to_string(index_));
    auto kv = text::parseKeyValues(*s, p);
    if (!kv) return std::move(kv).error();
    FirmwareState fw;
    for (int b = 0; b < 2; ++b) {
        const std::string prefix = "bank" + std::to_string(b) + "_";
        auto version = text::requireString(*kv, prefix + "version", p);
        auto integrity = text::requireString(*kv, prefix + "integrity", p);
        if (!version) return std::move(version).error();
        if (!integrity) return std::move(integrity).error();
        if (*integrity != "ok" && *integrity != "bad")
            return makeError(Errc::MalformedData, p + ": " + prefix + "integrity is '" + *integrity + "', expected ok or bad");
        fw.banks[b] = FirmwareBank{*version == "-" ? "" : *version, *integrity == "ok", ""};
        if (auto hash = kv->find(prefix + "sha256"); hash != kv->end() && hash->second != "-") {
            if (hash->second.size() != 64 || hash->second.find_first_not_of("0123456789abcdef") != std::string::npos)
                return makeError(Errc::MalformedData, p + ": " + prefix + "sha256 is not 64 lower-case hex digits");
            fw.banks[b].sha256 = hash->second;
        }
    }
    const auto bank = [&](const std::string& key) -> Result<unsigned> {
        auto v = text::requireUnsigned(*kv, key, p);
        if (!v) return std::move(v).error();
        if (*v > 1) return makeError(Errc::MalformedData, p + ": " + key + " " + std::to_string(*v) + " is not 0 or 1");
        return static_cast<unsigned>(*v);
    };
    auto active = bank("active_bank");
    if (!active) return std::move(active).error();
    fw.activeBank = fw.bootBank = *active;
    // The A/B update keys (docs/driver-abi.md); a card without them can be read, not updated.
    if (!kv->count("boot_bank")) return fw;
    auto boot = bank("boot_bank");
    if (!boot) return std::move(boot).error();
    fw.bootBank = *boot;
    auto tryBank = text::requireString(*kv, "try_bank", p);
    auto lastTry = text::requireString(*kv, "last_try", p);
    auto selftest = text::requireString(*kv, "selftest", p);
    if (!tryBank) return std::move(tryBank).error();
    if (!lastTry) return std::move(lastTry).error();
    if (!selftest) return std::move(selftest).error();
    if (*tryBank == "0" || *tryBank == "1") fw.tryBank = static_cast<unsigned>((*tryBank)[0] - '0');
    else if (*tryBank != "none") return makeError(Errc::MalformedData, p + ": try_bank is '" + *tryBank + "', expected none, 0 or 1");
    const auto last = firmwareTryFromName(*lastTry);
    if (!last) return makeError(Errc::MalformedData, p + ": last_try is '" + *lastTry + "', expected none, booted or fell-back");
    fw.lastTry = *last;
    if (*selftest != "pass" && *selftest != "fail") return makeError(Errc::MalformedData, p + ": selftest is '" + *selftest + "', expected pass or fail");
    fw.selftestOk = *selftest == "pass";
    fw.updatable = true;
    return fw;
}

Result<void> Card::armFirmwareTry(std::optional<unsigned> bank) {
    if (auto r = requireVendorAbi("firmware banks"); !r) return std::move(r).error();
    const std::string what = "card " + std::to_string(index_) + ": " + (bank ? "arming a try of firmware bank " + std::to_string(*bank) : "disarming the firmware try");
    if (auto r = fs_->write(vendorPath("firmware_try"), bank ? std::to_string(*bank) : "none"); !r) return std::move(r).error().context(what);
    auto fw = firmware();
    if (!fw) return std::move(fw).error().context(what);
    if (fw->tryBank != bank) return makeError(Errc::VerifyFailed, what + ": the card reports try_bank " + (fw->tryBank ? std::to_string(*fw->tryBank) : "none") + " after the write");
    return {};
}

Result<void> Card::commitFirmware() {
    if (auto r = requireVendorAbi("firmware banks"); !r) return std::move(r).error();
    const std::string what = "card " + std::to_string(index_) + ": committing the running firmware";
    if (auto r = fs_->write(vendorPath("firmware_commit"), "1"); !r) return std::move(r).error().context(what);
    auto fw = firmware();
    if (!fw) return std::move(fw).error().context(what);
    if (fw->bootBank != fw->activeBank)
        return makeError(Errc::VerifyFailed, what + ": the card still boots bank " + std::to_string(fw->bootBank) + " after the write");
    return {};
}

Result<CardTelemetry> Card::telemetry() const {
    const std::string where = "card " + std::to_string(index_) + ": telemetry";
    CardTelemetry t;
    // hwmon (Documentation/hwmon/sysfs-interface): millidegrees Celsius and microwatts.
    if (fs_->exists(pf_.path("hwmon"))) {
        auto dirs = fs_->list(pf_.path("hwmon"));
        if (!dirs) return std::move(dirs).error().context(where);
        if (!dirs->empty()) {
            const std::string hw = pf_.path("hwmon/" + dirs->front() + "/");
            const std::pair<const char*, std::optional<double>*> sensors[] = {{"temp1_input", &t.temperatureC},
                                                                              {"temp1_crit", &t.temperatureCritC}};
            for (auto [file, slot] : sensors) {
                auto v = readScaled(*fs_, hw + file, 1000.0);
                if (!v) return std::move(v).error().context(where);
                *slot = *v;
            }
            for (const char* file : {"power1_average", "power1_input"}) {
                if (t.powerW) break;
                auto v = readScaled(*fs_, hw + file, 1e6);
                if (!v) return std::move(v).error().context(where);
                t.powerW = *v;
            }
            auto cap = readScaled(*fs_, hw + "power1_cap", 1e6);
            if (!cap) return std::move(cap).error().context(where);
            t.powerCapW = *cap;
        }
    }
    if (fs_->exists(pf_.path("current_link_width"))) {
        LinkState link;
        auto speed = pf_.readAttr("current_link_speed");
        auto maxSpeed = pf_.readAttr("max_link_speed");
        auto width = pf_.readNumber("current_link_width");
        auto maxWidth = pf_.readNumber("max_link_width");
        if (!speed) return std::move(speed).error().context(where);
        if (!maxSpeed) return std::move(maxSpeed).error().context(where);
        if (!width) return std::move(width).error().context(where);
        if (!maxWidth) return std::move(maxWidth).error().context(where);
        link.speed = *speed;
        link.maxSpeed = *maxSpeed;
        link.width = static_cast<unsigned>(*width);
        link.maxWidth = static_cast<unsigned>(*maxWidth);
        t.link = link;
    }
    if (fs_->exists(pf_.path("aer_dev_correctable"))) {
        auto aer = pf_.aerCounters();
        if (!aer) return std::move(aer).error().context(where);
        t.aer = *aer;
    }
    if (vendorAbi_) {
        const std::string p = vendorPath("telemetry");
        auto s = fs_->read(p);
        if (!s) return std::move(s).error().context(where);
        auto kv = text::parseKeyValues(*s, p);
        if (!kv) return std::move(kv).error();
        const std::pair<const char*, std::optional<uint64_t>*> counters[] = {{"memory_used_mib", &t.memoryUsedMib},
                                                                             {"memory_total_mib", &t.memoryTotalMib},
                                                                             {"ecc_corrected", &t.eccCorrected},
                                                                             {"ecc_uncorrected", &t.eccUncorrected}};
        for (auto [key, slot] : counters) {
            auto v = text::requireUnsigned(*kv, key, p);
            if (!v) return std::move(v).error();
            *slot = *v;
        }
        auto util = text::requirePercent(*kv, "utilization_pct", p);
        if (!util) return std::move(util).error();
        t.utilizationPct = *util;
    }
    return t;
}

Result<std::vector<Card>> discoverCards(Fs& fs, std::span<const DeviceMatch> matches) {
    auto names = fs.list("bus/pci/devices");
    if (!names) return std::move(names).error().context("discover cards in " + fs.describe());
    std::vector<PciAddress> pfs;
    for (const auto& name : *names) {
        auto address = PciAddress::parse(name);
        if (!address) return std::move(address).error().context("discover cards: bus/pci/devices");
        PciFunction fn(fs, *address);
        // The device ID first: most functions (a card's own VFs among them) fail on it, and
        // a large host has thousands, read at every rescan.
        auto device = readId(fn, "device");
        if (!device) return std::move(device).error().context("discover cards");
        if (std::none_of(matches.begin(), matches.end(), [&](const DeviceMatch& m) { return m.device == *device; })) continue;
        auto vendor = readId(fn, "vendor");
        if (!vendor) return std::move(vendor).error().context("discover cards");
        const DeviceMatch id{*vendor, *device};
        bool matched = false;
        for (const auto& m : matches) matched = matched || m == id;
        // A VF (it has a physfn link) is managed through its PF, never as a card of its own.
        if (matched && !fs.exists(fn.path("physfn"))) pfs.push_back(*address);
    }
    std::sort(pfs.begin(), pfs.end());
    std::vector<Card> cards;
    for (const auto& pf : pfs) {
        PciFunction fn(fs, pf);
        const std::string abi = fn.path(std::string(kVendorDir) + "/abi_version");
        bool vendorAbi = false;
        if (fs.exists(abi)) {
            auto v = fs.read(abi);
            vendorAbi = v && text::parseUnsigned(*v, abi).valueOr(0) == kVendorAbiVersion;
        }
        cards.emplace_back(fs, static_cast<unsigned>(cards.size()), pf, vendorAbi);
    }
    return cards;
}

}  // namespace aismi
