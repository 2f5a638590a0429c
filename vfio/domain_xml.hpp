// What aismi reads from and writes into a libvirt domain's XML: the PCI functions it is given
// as <hostdev mode='subsystem' type='pci'>, and the tenant named in aismi's metadata element
// (docs/libvirt.md). The daemon, the start hook and the fuzzer share this one parser; it
// never loads a DTD, an external entity or anything from the network.
#pragma once

#include <aismi/error.hpp>
#include <aismi/pci_address.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace aismi::vfio {

/// The namespace of <aismi:vm> in a domain's <metadata>.
inline constexpr const char* kMetadataNamespace = "https://aismi.org/xmlns/libvirt/1";
/// Domain XML larger than this is refused (libvirt's own limit for a domain is 10 MiB; ours
/// only ever need a few KiB).
inline constexpr size_t kMaxDomainXmlBytes = 1 << 20;

struct DomainXml {
    std::string name;
    std::string uuid;                     // "" when the XML has none (before libvirt defines it)
    std::vector<PciAddress> pciHostdevs;  // <source><address .../></source> of each PCI hostdev, in order
    std::string tenant;                   // <aismi:vm><aismi:tenant>, "" when absent
};

/// Reads a domain's XML; MalformedData naming what was wrong.
Result<DomainXml> parseDomainXml(std::string_view xml);

/// The <hostdev> aismid gives a domain for one VF: managed='no', since aismid binds the VF
/// to vfio-pci itself.
std::string hostdevXml(const PciAddress& address);

/// `xml` with a hostdev for `address` added to <devices> (unchanged if it already has one).
Result<std::string> withHostdev(std::string_view xml, const PciAddress& address);
/// `xml` without the hostdev of `address` (unchanged if it has none).
Result<std::string> withoutHostdev(std::string_view xml, const PciAddress& address);

/// Whether `name` can be a libvirt domain name: 1 to 200 bytes, no '/', no control characters
/// and not only digits (libvirt would take it for an ID).
bool validDomainName(std::string_view name);

}  // namespace aismi::vfio
