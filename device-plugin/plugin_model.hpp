// What aismi-device-plugin advertises, decided from what aismid reports (pure: no bus, no
// gRPC). One kubelet resource per VF profile, PREFIX/PROFILE; its devices are the VFs
// provisioned with that profile that are free (not given to a libvirt domain, held by nobody
// or by kubelet already: kubelet keeps counting what it allocated), each named by its PCI address, Unhealthy while aismid calls it critical or lost, or has quarantined it.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace aismi::deviceplugin {

/// One VF as aismid's VirtualFunction1 properties describe it.
struct VfView {
    std::string address;  // PciAddress
    unsigned card = 0;    // CardIndex
    std::string profile;  // "" when not provisioned
    std::string domain;   // the libvirt domain it is given to, "" when free
    std::string holder;   // who else holds it ("kubelet"), "" for nobody
    std::string health;   // ok, unknown, warning, critical, lost
    bool quarantined = false;
    bool scrubPending = false;
    std::optional<unsigned> iommuGroup;
    int numaNode = -1;    // the card's NUMA node, -1 when the platform has none
};

struct PluginDevice {
    std::string id;  // the VF's PCI address
    bool healthy = true;
    unsigned card = 0;
    int numaNode = -1;
    std::optional<unsigned> iommuGroup;
    bool operator==(const PluginDevice&) const = default;
};

/// By resource name ("aismi.io/quarter"), devices in address order.
using Resources = std::map<std::string, std::vector<PluginDevice>>;

inline constexpr const char* kKubeletHolder = "kubelet";

Resources resourcesOf(const std::vector<VfView>& vfs, const std::string& prefix);

/// A resource prefix kubelet accepts: a DNS subdomain ("aismi.io", "example.com").
bool validResourcePrefix(const std::string& prefix);

/// The socket name of a resource's plugin: "aismi-quarter.sock".
std::string socketNameOf(const std::string& resource);

/// The variable KubeVirt reads for externally provided PCI devices of `resource`:
/// PCI_RESOURCE_<RESOURCE_NAME uppercased, every other character an underscore>.
std::string pciResourceEnv(const std::string& resource);

/// GetPreferredAllocation: `size` devices from `available`, `mustInclude` first, then those on
/// the cards already chosen, then on their NUMA nodes, then the rest, in address order.
std::vector<std::string> preferredAllocation(const std::vector<std::string>& available, const std::vector<std::string>& mustInclude, size_t size,
                                             const std::map<std::string, PluginDevice>& known);

/// The VFs kubelet holds that no pod uses any more (kubelet's PodResources List, which the
/// device plugin API lacks a release call for). A VF is released only once it was missing from
/// `listsBeforeRelease` Lists in a row: kubelet records an allocation only after Allocate
/// returns, so one List may miss a pod that is starting.
class UnusedHolds {
public:
    explicit UnusedHolds(unsigned listsBeforeRelease = 2) : lists_(listsBeforeRelease) {}
    /// One List's outcome: `held`, the VFs aismid lists as kubelet's; `inUse`, the device IDs
    /// kubelet's pods use. Returns those to release now (each once: it leaves `held` after).
    std::vector<std::string> observe(const std::set<std::string>& held, const std::set<std::string>& inUse);

private:
    unsigned lists_;
    std::map<std::string, unsigned> missed_;  // VF -> Lists in a row it was missing from
};

}  // namespace aismi::deviceplugin
