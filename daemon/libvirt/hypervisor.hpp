// The one seam between aismid and libvirt: the domains there are, and giving a domain a PCI
// hostdev or taking it away, live (a running guest) or in its persistent definition. The
// real implementation (libvirt_hypervisor.*) talks to libvirtd; tests use a faithful fake,
// since libvirt's test driver cannot attach devices to a running domain. Every call blocks:
// aismid makes them on a thread of their own, never on the loop.
#pragma once

#include "domain_xml.hpp"

#include <aismi/error.hpp>
#include <aismi/pci_address.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace aismi {

struct Domain {
    std::string name;
    std::string uuid;
    bool active = false;      // running (or paused): it has a live definition
    bool persistent = false;  // defined: it has a persistent definition
    vfio::DomainXml live;     // the running definition (the persistent one when not running)
    std::optional<vfio::DomainXml> config;  // the persistent definition, when it has one

    /// Every PCI function the domain has, live or in its definition.
    std::vector<PciAddress> hostdevs() const;
    /// The tenant named in its metadata (the persistent definition's first).
    std::string tenant() const { return config && !config->tenant.empty() ? config->tenant : live.tenant; }
};

/// Where a hostdev change applies: the running guest, or the definition it starts from.
enum class Scope { Live, Config };

/// What libvirt tells aismid about.
struct HypervisorEvent {
    enum class Kind { Connected, Disconnected, DomainDefined, DomainUndefined, DomainStarted, DomainStopped, DomainOther };
    Kind kind = Kind::DomainOther;
    std::string domain;  // the domain's name for the Domain* kinds
    std::string detail;  // why a connection closed
};

class Hypervisor {
public:
    virtual ~Hypervisor() = default;
    /// "qemu:///system", or what the fake calls itself.
    virtual std::string uri() const = 0;
    /// Connects if not connected (LibvirtFailed / ServiceUnavailable when it cannot).
    virtual Result<void> connect() = 0;
    virtual bool connected() const = 0;
    virtual Result<std::vector<Domain>> domains() = 0;
    /// NotFound when there is no domain of that name.
    virtual Result<Domain> domain(const std::string& name) = 0;
    virtual Result<void> attach(const std::string& domain, const PciAddress& address, Scope scope) = 0;
    virtual Result<void> detach(const std::string& domain, const PciAddress& address, Scope scope) = 0;
};

using HypervisorEvents = std::function<void(HypervisorEvent)>;

/// libvirt at `uri`. `events` is called on libvirt's event thread (post it to the loop);
/// lifecycle events are registered at each connect.
std::unique_ptr<Hypervisor> makeLibvirtHypervisor(const std::string& uri, HypervisorEvents events);

}  // namespace aismi
