#include "card_reader.hpp"

#include "health.hpp"

#include <aismi/card.hpp>

namespace aismi {
namespace {

bool lost(const Error& e) { return e.code == Errc::DeviceLost; }

void readVf(const Card& card, unsigned k, VfSnapshot& vf, std::vector<std::string>& problems) {
    vf.index = k;
    auto address = card.vfAddress(k);
    if (!address) return problems.push_back(address.error().message);
    vf.pciAddress = address->str();
    PciFunction fn = card.vfFunction(*address);
    vf.driver = fn.driver().valueOr("");
    if (auto g = fn.iommuGroup()) vf.iommuGroup = static_cast<int32_t>(*g);
    if (!card.hasVendorAbi()) {
        vf.state = "unknown";
        return;
    }
    if (auto st = card.vfStatus(k)) {
        vf.state = std::string(vfStateName(st->state));
        vf.utilizationPct = st->utilizationPct;
        vf.memoryUsedMib = st->memoryUsedMib;
        vf.eccCorrected = st->eccCorrected;
        vf.eccUncorrected = st->eccUncorrected;
        vf.resetCount = st->resetCount;
        vf.progress = st->progress;
    } else if (!lost(st.error())) {
        problems.push_back(st.error().message);
    }
    if (auto r = card.vfResources(k)) vf.resources = *r;
}

}  // namespace

CardSnapshot readCardIdentity(const Card& card) {
    CardSnapshot s;
    s.index = card.index();
    s.pciAddress = card.address().str();
    s.genericMode = !card.hasVendorAbi();
    if (auto id = card.identity()) {
        s.name = id->name;
        s.serial = id->serial;
        s.vendorId = id->vendor;
        s.deviceId = id->device;
    }
    if (s.serial.empty()) s.serial = s.pciAddress;  // a stable key for the store all the same
    return s;
}

CardSnapshot readCardSnapshot(const Card& card, const CardSnapshot& identity) {
    CardSnapshot s;
    s.index = identity.index;
    s.pciAddress = identity.pciAddress;
    s.name = identity.name;
    s.serial = identity.serial;
    s.vendorId = identity.vendorId;
    s.deviceId = identity.deviceId;
    s.genericMode = identity.genericMode;
    std::vector<std::string> problems;
    bool deviceLost = false;
    const auto note = [&](const Error& e) {
        if (lost(e)) deviceLost = true;
        else problems.push_back(e.message);
    };

    s.driver = card.pf().driver().valueOr("");
    if (auto cs = card.pf().config(); !cs) note(cs.error());
    if (auto sr = card.sriov()) {
        s.vfTotal = sr->totalVfs;
        s.vfs.resize(sr->numVfs);
    } else if (sr.error().code != Errc::NotSupported) {  // a device without SR-IOV simply has no VFs
        note(sr.error());
    }
    if (auto t = card.telemetry()) {
        s.temperatureC = t->temperatureC.value_or(kNoValue);
        s.temperatureCritC = t->temperatureCritC.value_or(kNoValue);
        s.powerW = t->powerW.value_or(kNoValue);
        s.powerCapW = t->powerCapW.value_or(kNoValue);
        s.utilizationPct = t->utilizationPct.value_or(kNoU32);
        s.memoryUsedMib = t->memoryUsedMib.value_or(kNoU64);
        s.memoryTotalMib = t->memoryTotalMib.value_or(kNoU64);
        s.eccCorrected = t->eccCorrected.value_or(kNoU64);
        s.eccUncorrected = t->eccUncorrected.value_or(kNoU64);
        if (t->aer) s.aerCorrectable = t->aer->correctable, s.aerNonFatal = t->aer->nonfatal, s.aerFatal = t->aer->fatal;
        if (t->link) {
            s.linkSpeed = t->link->speed;
            s.linkWidth = t->link->width;
            s.linkMaxSpeed = t->link->maxSpeed;
            s.linkMaxWidth = t->link->maxWidth;
        }
    } else {
        note(t.error());
    }
    if (card.hasVendorAbi()) {
        if (auto fw = card.firmware()) {
            s.firmwareVersion = fw->activeVersion();
            s.firmwareActiveBank = fw->activeBank;
            for (const auto& bank : fw->banks) {
                s.firmwareBankVersions.push_back(bank.version);
                s.firmwareBankIntegrity.push_back(bank.integrityOk ? "ok" : "bad");
            }
        } else {
            note(fw.error());
        }
        if (auto cap = card.capacity()) s.computeUnits = cap->computeUnits, s.engines = cap->engines;
    }
    for (unsigned k = 0; k < s.vfs.size(); ++k) readVf(card, k, s.vfs[k], problems);

    if (deviceLost) {
        s.health = Health::Lost;
        s.healthReasons = {"the device does not answer (config space reads all ones)"};
        for (auto& vf : s.vfs) vf.state = "error";
        assessHealth(s);
        return s;
    }
    assessHealth(s);
    for (auto& p : problems) {
        s.health = std::max(s.health, Health::Warning);
        s.healthReasons.push_back("cannot read: " + p);
    }
    return s;
}

}  // namespace aismi
