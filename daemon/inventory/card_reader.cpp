#include "card_reader.hpp"

#include <aismi/card.hpp>

namespace aismi {
namespace {

bool lost(const Error& e) { return e.code == Errc::DeviceLost; }

// A VF's identity and binding; its status and resources come from the card's bulk report.
void readVf(const Card& card, const SriovState& routing, unsigned k, VfSnapshot& vf, std::vector<std::string>& problems,
            const CarryOver* carry) {
    vf.card = card.index();
    vf.index = k;
    auto address = routing.vfAddress(card.address(), k);
    if (!address) return problems.push_back(address.error().message);
    vf.pciAddress = address->str();
    PciFunction fn = card.vfFunction(*address);
    if (carry && k < carry->drivers.size() && carry->drivers[k].first == vf.pciAddress) vf.driver = carry->drivers[k].second;
    else vf.driver = fn.driver().valueOr("");
    if (carry && k < carry->iommuGroups.size() && carry->iommuGroups[k].first == vf.pciAddress)
        vf.iommuGroup = carry->iommuGroups[k].second;
    else if (auto g = fn.iommuGroup())
        vf.iommuGroup = *g;
}

}  // namespace

CardInfo readCardInfo(const Card& card, unsigned index) {
    CardInfo s;
    s.index = index;
    s.address = card.address();
    s.pciAddress = card.address().str();
    s.genericMode = !card.hasVendorAbi();
    // numa_node is "-1" without NUMA; anything unreadable counts as none.
    if (auto numa = card.pf().readAttr("numa_node"); numa && !numa->empty() && numa->size() <= 4 && numa->find_first_not_of("0123456789") == std::string::npos)
        s.numaNode = std::stoi(*numa);
    if (auto id = card.identity()) {
        s.name = id->name;
        s.serial = id->serial;
        s.vendorId = id->vendor;
        s.deviceId = id->device;
    }
    if (s.serial.empty()) s.serial = s.pciAddress;  // a stable key for the store all the same
    s.key = s.serial;
    return s;
}

CardSnapshot readCardSnapshot(const Card& card, const CardInfo& info, const CarryOver* carry) {
    CardSnapshot s;
    s.info = info;
    const auto note = [&](const Error& e) {
        if (lost(e)) s.lost = true;
        else s.readProblems.push_back(e.message);
    };
    s.driver = card.pf().driver().valueOr("");
    if (auto cs = card.pf().config(); !cs && lost(cs.error())) {
        s.lost = true;  // the kernel still lists what it enumerated: read on
    } else if (!cs) {
        // No config space at all (not at its address, or unreadable): nothing else describes it.
        s.lost = true;
        s.lostReason = "cannot read its config space: " + cs.error().message;
        return s;
    }
    SriovState routing;
    if (auto sr = card.sriov()) {
        routing = *sr;
        s.vfTotal = sr->totalVfs;
        s.vfs.resize(sr->numVfs);
    } else if (sr.error().code != Errc::NotSupported) {  // a device without SR-IOV simply has no VFs
        note(sr.error());
    }
    if (auto t = card.telemetry()) s.telemetry = *t;
    else note(t.error());
    if (card.hasVendorAbi()) {
        if (auto fw = card.firmware()) s.firmware = *fw;
        else note(fw.error());
        if (auto cap = card.capacity()) s.capacity = *cap;
    }
    for (unsigned k = 0; k < s.vfs.size(); ++k) readVf(card, routing, k, s.vfs[k], s.readProblems, carry);
    if (card.hasVendorAbi() && !s.vfs.empty()) {
        // One read for every VF's status and resources. A VF count that changed between the
        // two reads shows as fewer or more lines: only the VFs both reads know are taken.
        if (auto reports = card.vfReports()) {
            for (const auto& r : *reports)
                if (r.vf < s.vfs.size()) s.vfs[r.vf].status = r.status, s.vfs[r.vf].resources = r.resources;
        } else {
            note(reports.error());
        }
    }
    return s;
}

}  // namespace aismi
