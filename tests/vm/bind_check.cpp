// Runs inside a QEMU guest (tests/vm/real-kernel-check): libmgmt and vfio/ against a real
// Linux kernel's sysfs, on an emulated SR-IOV device in generic mode (QEMU's NVMe controller,
// 1b36:0010): enable VFs, hand one to vfio-pci and back to the driver the kernel picks, read
// every step back, and check the other VF is not touched. Prints one line per step and
// "REAL-KERNEL-CHECK: PASS" or "...: FAIL".
#include "vfio_binding.hpp"

#include <aismi/card.hpp>
#include <aismi/fs.hpp>
#include <aismi/pci_function.hpp>

#include <cstdio>
#include <string>

using namespace aismi;

namespace {

int failures = 0;
void check(bool ok, const std::string& what) {
    std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
    if (!ok) ++failures;
}

}  // namespace

int main() {
    auto fs = makeHostFs("/sys");
    const DeviceMatch nvme{0x1b36, 0x0010};
    auto cards = discoverCards(*fs, std::span<const DeviceMatch>(&nvme, 1));
    check(cards && cards->size() == 1, "one QEMU NVMe controller found, in generic mode");
    if (!cards || cards->empty()) return 1;
    Card& card = cards->front();
    check(!card.hasVendorAbi(), "generic mode (no aismi vendor directory)");
    auto sriov = card.sriov();
    check(sriov && sriov->totalVfs >= 2, "SR-IOV capability: TotalVFs " + std::to_string(sriov ? sriov->totalVfs : 0));
    // Keep the host driver off the VFs while they are created, as a cloud host does.
    (void)fs->write(card.pf().path("sriov_drivers_autoprobe"), "0");
    auto enabled = card.setVfCount(2);
    check(enabled.ok(), "enable 2 VFs" + (enabled ? std::string() : ": " + enabled.error().message));
    if (!enabled) return 1;
    auto a0 = card.vfAddress(0), a1 = card.vfAddress(1);
    check(a0 && a1, "VF addresses from the SR-IOV routing: " + (a0 ? a0->str() : "?") + ", " + (a1 ? a1->str() : "?"));
    if (!a0 || !a1) return 1;
    PciFunction vf0(*fs, *a0), vf1(*fs, *a1);
    check(vf0.present() && vf1.present(), "both VFs present in sysfs");
    auto group = vf0.iommuGroup();
    check(group.ok(), "VF 0 has an IOMMU group" + (group ? " (" + std::to_string(*group) + ")" : ": " + group.error().message));
    auto blockers = vfio::groupBlockers(*fs, *a0);
    check(blockers && blockers->empty(), "VF 0's group is viable");
    const std::string before1 = vf1.driver().valueOr("?");
    auto bound = vfio::bindToVfio(*fs, *a0);
    check(bound.ok(), "bind VF 0 to vfio-pci" + (bound ? std::string() : ": " + bound.error().message));
    check(vf0.driver().valueOr("") == "vfio-pci", "read back: VF 0 on vfio-pci");
    check(fs->read(vf0.path("driver_override")).valueOr("") == "vfio-pci\n", "driver_override is vfio-pci");
    check(vf1.driver().valueOr("?") == before1, "VF 1 not touched (" + (before1.empty() ? std::string("no driver") : before1) + ")");
    auto host = vfio::bindToHost(*fs, *a0);
    check(host.ok(), "return VF 0 to the driver the kernel picks: " + (host ? (host->empty() ? std::string("none") : *host) : host.error().message));
    check(vf0.driver().valueOr("vfio-pci") != "vfio-pci", "read back: VF 0 off vfio-pci");
    check(fs->read(vf0.path("driver_override")).valueOr("") == "(null)\n", "no driver_override left behind");
    // What a release does to a VF on a generic device: its function-level reset (no vendor scrub).
    auto methods = vf0.resetMethods();
    std::string list;
    for (const auto& m : methods.valueOr({})) list += " " + m;
    auto flr = vf0.functionLevelReset();
    check(flr.ok(), "function-level reset of VF 0 (reset_method:" + list + ")" + (flr ? std::string() : ": " + flr.error().message));
    check(vf1.present(), "VF 1 still there after VF 0's reset");
    auto disabled = card.setVfCount(0);
    check(disabled.ok(), "disable the VFs");
    std::printf("REAL-KERNEL-CHECK: %s\n", failures ? "FAIL" : "PASS");
    return failures ? 1 : 0;
}
