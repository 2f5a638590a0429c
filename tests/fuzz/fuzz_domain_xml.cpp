// Domain XML from libvirt and from the hook's stdin (any caller of
// Manager1.CheckDomainStart): parsed, or refused as MalformedData; a hostdev added and removed
// again round-trips.
#include "domain_xml.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view xml(reinterpret_cast<const char*>(data), size);
    auto d = aismi::vfio::parseDomainXml(xml);
    if (!d) {
        if (d.error().code != aismi::Errc::MalformedData) __builtin_trap();
        return 0;
    }
    if (d->name.empty() || !aismi::vfio::validDomainName(d->name)) __builtin_trap();
    const aismi::PciAddress a(0, 0x3b, 0, 4);
    auto added = aismi::vfio::withHostdev(xml, a);
    if (!added) return 0;
    auto again = aismi::vfio::parseDomainXml(*added);
    if (!again) return 0;  // libxml2 may write back what it read leniently: not ours to judge
    bool has = false;
    for (const auto& h : again->pciHostdevs) has = has || h == a;
    if (!has) __builtin_trap();
    auto removed = aismi::vfio::withoutHostdev(*added, a);
    if (removed)
        if (auto back = aismi::vfio::parseDomainXml(*removed))
            for (const auto& h : back->pciHostdevs)
                if (h == a) __builtin_trap();
    return 0;
}
