// aismi-libvirt-hook: libvirt's qemu hook (installed in /etc/libvirt/hooks/qemu.d/). At
// "prepare begin" libvirt hands it the domain's XML on stdin; it asks aismid over D-Bus
// whether the domain may start with its hostdevs (Manager1.CheckDomainStart) and exits 1
// with a sentence on stderr when it may not, which makes libvirt refuse the start. It never
// calls libvirt (libvirtd waits for its hooks: that would deadlock) and gives up on aismid
// after a bounded time. Without aismid it lets domains start that have none of the VFs
// aismid manages (the list aismid keeps in its state directory) and refuses the others.
#include "domain_xml.hpp"

#include <aismi/bus_names.hpp>
#include <aismi/error.hpp>

#include <sdbus-c++/sdbus-c++.h>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <set>
#include <string>

namespace {

constexpr auto kAnswerTimeout = std::chrono::seconds(10);

const char* kHelp = R"(Usage: aismi-libvirt-hook DOMAIN OPERATION SUB-OPERATION [EXTRA] < DOMAIN-XML

libvirt's qemu hook for aismi (install it in /etc/libvirt/hooks/qemu.d/). At "prepare begin"
it reads the domain's XML from stdin and asks aismid whether the domain may start: every PCI
hostdev that is one of aismid's VFs must be assigned to this domain, scrubbed, not
quarantined, healthy, bound to vfio-pci, and its tenant within quota. It exits 1 with the
reason on stderr when not, so libvirt refuses the start; every other operation passes.

When aismid does not answer within 10 s, a domain with none of the VFs aismid manages may
start (aismid lists them in $AISMI_STATE_DIR/managed-vfs, default /var/lib/aismi) and one
with any of them may not. The hook never calls libvirt. docs/libvirt.md.
)";

// The VFs aismid manages, as it last listed them ("" lines and comments skipped).
std::set<std::string> managedVfs() {
    const char* dir = std::getenv("AISMI_STATE_DIR");
    std::ifstream in(std::string(dir && *dir ? dir : "/var/lib/aismi") + "/managed-vfs");
    std::set<std::string> out;
    for (std::string line; std::getline(in, line);)
        if (!line.empty() && line[0] != '#') out.insert(line);
    return out;
}

int refuse(const std::string& domain, const std::string& why) {
    std::cerr << "aismi-libvirt-hook: domain '" << domain << "' may not start: " << why << "\n";
    return 1;
}

bool aismidAway(const sdbus::Error& e) {
    const std::string name = e.getName();
    return name == "org.freedesktop.DBus.Error.ServiceUnknown" || name == "org.freedesktop.DBus.Error.NameHasNoOwner" ||
           name == "org.freedesktop.DBus.Error.NoReply" || name == "org.freedesktop.DBus.Error.Timeout" ||
           name == "org.freedesktop.DBus.Error.TimedOut" || name == "org.freedesktop.DBus.Error.Disconnected" ||
           name == "org.freedesktop.DBus.Error.FileNotFound" || name == "org.freedesktop.DBus.Error.NoServer" ||
           name.starts_with("System.Error.");
}

int run(int argc, char** argv) {
    if (argc == 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
        std::cout << kHelp;
        return 0;
    }
    if (argc < 4) {
        std::cerr << "aismi-libvirt-hook: libvirt runs it as: DOMAIN OPERATION SUB-OPERATION [EXTRA] (see --help)\n";
        return 2;
    }
    const std::string domain = argv[1], operation = argv[2], sub = argv[3];
    if (operation != "prepare" || sub != "begin") return 0;  // only the start is ours to judge
    std::string xml;
    char buf[65536];
    while (std::cin.read(buf, sizeof buf) || std::cin.gcount() > 0) {
        xml.append(buf, static_cast<size_t>(std::cin.gcount()));
        if (xml.size() > aismi::vfio::kMaxDomainXmlBytes) return refuse(domain, "its XML is larger than 1 MiB");
    }
    auto parsed = aismi::vfio::parseDomainXml(xml);
    if (!parsed) return refuse(domain, parsed.error().message);
    try {
        auto bus = sdbus::createSystemBusConnection();
        auto manager = sdbus::createProxy(*bus, aismi::bus_names::kService, aismi::bus_names::kManagerPath);
        bool allowed = false;
        std::string reason;
        manager->callMethod("CheckDomainStart")
            .onInterface(aismi::bus_names::kManagerInterface)
            .withTimeout(kAnswerTimeout)
            .withArguments(xml)
            .storeResultsTo(allowed, reason);
        return allowed ? 0 : refuse(domain, reason);
    } catch (const sdbus::Error& e) {
        if (!aismidAway(e)) return refuse(domain, "aismid: " + e.getMessage());
    }
    // aismid is not there to ask: none of its VFs may go to a domain it cannot vouch for.
    const auto ours = managedVfs();
    for (const auto& a : parsed->pciHostdevs)
        if (ours.count(a.str()))
            return refuse(domain, "it has " + a.str() + ", a VF aismid manages, and aismid is not running to check it");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "aismi-libvirt-hook: " << e.what() << "\n";
    } catch (...) {
        std::cerr << "aismi-libvirt-hook: unexpected failure\n";
    }
    return 1;  // when in doubt, a VF is not handed out
}
